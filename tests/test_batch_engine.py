"""The batched engine against the per-user engine on the bundled test journeys (the
differential harness covers random journeys; this is its quick, always-on sibling)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import END, JOURNEYS, START, cohort

from journeylab.engine.batch import _truthy_table
from journeylab.engine.core import is_set_and_true
from journeylab.sim import simulate
from journeylab.sim.simulator import _loop_class, as_definitions
from journeylab.trace import trace_rows


def test_reachability_table_is_the_core_rule_value_by_value():
    values = [None, float("nan"), np.nan, True, False, 0, 1, -2, 0.0, 2.5, "", "x", "nan", [], [1], {}, {"a": 1}]
    col = np.empty(len(values), dtype=object)
    col[:] = values
    assert _truthy_table(col).tolist() == [is_set_and_true(v) for v in values]
    assert _truthy_table(col).tolist() == [False, False, False, True, False, False, True, True, False, True, False,
                                           True, True, False, True, False, True]


@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_batched_equals_per_user(name):
    """Trace, messages, responses and profile changes identical, three cohorts per journey."""
    journey = JOURNEYS[name]()
    for k in range(3):
        prof, ev = cohort(seed=sorted(JOURNEYS).index(name) + 10 * k)
        a = simulate(journey, (prof, ev), START, END, seed=7 + k, engine="per-user", workers=1)
        b = simulate(journey, (prof, ev), START, END, seed=7 + k, engine="auto", workers=1)
        assert len(a.trace) > 0
        assert trace_rows(a.trace) == trace_rows(b.trace)
        assert a.sends.equals(b.sends)
        assert a.responses.equals(b.responses)
        assert a.profile_changes.equals(b.profile_changes)


def test_the_batched_engine_runs_most_test_journeys():
    """``auto`` must pick the batched engine for the single-journey cases it supports (else the
    equality above would compare the per-user engine with itself)."""
    from journeylab.engine import JourneySet
    from journeylab.sim import BehaviourModel
    from journeylab.sim.batched import BatchedLoop

    batched = [n for n in JOURNEYS
               if _loop_class(JourneySet(as_definitions(JOURNEYS[n]())), BehaviourModel.default(), "auto") is BatchedLoop]
    assert len(batched) >= len(JOURNEYS) // 2, batched
