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
    assert _truthy_table(col).tolist() == [
        False,
        False,
        False,
        True,
        False,
        False,
        True,
        True,
        False,
        True,
        False,
        True,
        True,
        False,
        True,
        False,
        True,
    ]


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

    batched = [
        n
        for n in JOURNEYS
        if _loop_class(JourneySet(as_definitions(JOURNEYS[n]())), BehaviourModel.default(), "auto") is BatchedLoop
    ]
    assert len(batched) >= len(JOURNEYS) // 2, batched


def test_the_experiment_rules_run_on_the_batched_engine():
    """Issue 17's rules in the batched engine: control branches (held users), attribution
    windows (conversions after exit), fatigue and opted-out profiles; ``auto`` picks it and
    the trace is the per-user engine's, row for row."""
    import datetime as dt

    import pandas as pd

    from journeylab.engine.batch import unsupported
    from journeylab.model import Action, ActionGoal, Journey, Push, Split, SplitBranch
    from journeylab.sim import BehaviourModel

    j = Journey("Hold", id="hold", journey_timeout=dt.timedelta(days=1), attribution_window=dt.timedelta(days=2))
    j.add(Action(id="go", event="App Launched"))
    j.then(
        "go",
        "yes",
        Split(id="s", branches=[SplitBranch(name="A", percent=80), SplitBranch(name="hold", percent=20, control=True)]),
    )
    j.then("s", "A", Push(id="p"))
    j.add_goal(ActionGoal(name="Buy", event="Charged"))
    assert unsupported([j.definition]) is None
    prof, ev = cohort(80, seed=4)
    fatigue = BehaviourModel.default().with_fatigue(["push"], intercept=-2.0)
    bare = Journey("Bare", id="bare")
    bare.add(Action(id="go", event="App Launched"))
    bare.then("go", "yes", Push(id="p"))
    # users opted out of push (the account policy's consent)
    opted = prof.assign(push_opt_out=pd.Series([True] * 10 + [None] * (len(prof) - 10), dtype=object))
    runs = ((j, (prof, ev), {}), (bare, (opted, ev), {}), (bare, (prof, ev), {"behaviour": fatigue}))
    acted = set()
    for journey, coh, kw in runs:
        auto = simulate(journey, coh, START, END, seed=2, **kw)
        per_user = simulate(journey, coh, START, END, seed=2, engine="per-user", **kw)
        assert auto.timings["batched"] == 1.0
        assert trace_rows(auto.trace) == trace_rows(per_user.trace)
        acted |= set(auto.trace["event"].astype(str)) | set(auto.trace["detail"].astype(str))
    assert {"held", "converted", "unsubscribed", "consent"} <= acted


def test_fatigue_counts_of_the_batched_responder_are_the_per_user_lists():
    """The ring of send times per user (``sim.batched._Received``) against the per-user loop's
    list per user: the same day and week counts for every message, also once it has grown."""
    from bisect import bisect_right

    from journeylab.sim.batched import _Received

    rng = np.random.default_rng(3)
    n = 40
    ring = _Received(n, slots=2)  # small, so that it grows
    lists: dict[int, list[int]] = {u: [] for u in range(n)}
    clock = np.zeros(n, dtype=np.int64)
    for _ in range(300):
        u = rng.choice(n, size=int(rng.integers(1, 15)), replace=False)
        clock[u] += rng.integers(0, 36 * 3600, len(u))  # each user's messages in time order
        ts = clock[u].copy()
        n_day, n_week = ring.add(u, ts)
        for x, t, d, w in zip(u.tolist(), ts.tolist(), n_day.tolist(), n_week.tolist(), strict=True):
            hist = lists[x]
            hist.append(t)
            while hist[0] <= t - 7 * 86400:
                hist.pop(0)
            assert (d, w) == (len(hist) - bisect_right(hist, t - 86400), len(hist))
    assert ring.t.shape[1] > 2


def test_users_who_tire_of_many_messages_are_the_same_in_both_engines():
    """Fatigue through the batched engine on a bundled cohort: a journey entered at every app
    launch sends two pushes and an email; thousands of opt-outs (consent changes), then refusals
    for consent — trace, sends, responses and profile changes equal to the per-user engine's."""
    import datetime as dt

    import pandas as pd

    from journeylab.model import Action, Delay, Email, Journey, Push
    from journeylab.sim import BehaviourModel

    j = Journey("Nag", id="nag", reentry=True)
    j.add(Action(id="go", event="App Launched"))
    j.then("go", "yes", Push(id="p1"))
    j.then("p1", "next", Delay(id="w", duration=dt.timedelta(hours=2)))
    j.then("w", "next", Push(id="p2"))
    j.then("p2", "next", Email(id="e"))
    tired = BehaviourModel.default().with_fatigue(intercept=-2.5, per_day=0.7, per_week=0.3)
    a, b = (simulate(j, "ecommerce", seed=5, behaviour=tired, engine=e) for e in ("batched", "per-user"))
    assert a.timings["batched"] == 1.0 and b.timings["batched"] == 0.0
    assert (a.trace["event"] == "unsubscribed").sum() > 1000
    assert (a.trace["detail"].astype(str) == "consent").sum() > 10000
    pd.testing.assert_frame_equal(a.trace, b.trace)
    for frame in ("sends", "responses", "profile_changes"):
        pd.testing.assert_frame_equal(
            getattr(a, frame).reset_index(drop=True), getattr(b, frame).reset_index(drop=True)
        )
