"""Monte Carlo replications, sweeps and comparisons."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import END, START, cohort
from scipy import stats as st

from journeylab import examples
from journeylab.errors import JourneyDefinitionError
from journeylab.sim.experiments import compare, replicate, sweep, vary

COHORT = cohort(300, seed=11)


def test_replications_give_t_intervals_over_the_draws():
    raw = replicate(examples.reference_journey(), COHORT, START, END, n=6, seed=2, raw=True)
    views = raw.query("scope == 'node' and node == 'push' and stat == 'viewed'")["value"].to_numpy()
    assert len(views) == 6 and views.std() > 0  # the behaviour model's draws differ per seed
    summ = replicate(examples.reference_journey(), COHORT, START, END, n=6, seed=2)
    row = summ.query("scope == 'node' and node == 'push' and stat == 'viewed'").iloc[0]
    half = st.t.ppf(0.975, 5) * views.std(ddof=1) / np.sqrt(6)
    assert row["mean"] == pytest.approx(views.mean())
    assert row["ci_low"] == pytest.approx(views.mean() - half)
    assert row["ci_high"] == pytest.approx(views.mean() + half)
    # deterministic figures of a replay have a zero-width interval
    ent = summ.query("scope == 'journey' and stat == 'entered'").iloc[0]
    assert ent["ci_low"] == ent["mean"] == ent["ci_high"]


def test_sweep_over_a_node_window_and_a_setting():
    hours = [1, 24, 72]
    s = sweep(examples.reference_journey(), COHORT, START, END, node="launched", field="window",
              values=[dt.timedelta(hours=h) for h in hours], replications=2)
    yes = s.query("node == 'launched' and stat == 'left_yes'").set_index("value")["mean"]
    assert list(yes.index) == ["1 h", "24 h", "72 h"]
    assert yes["1 h"] <= yes["24 h"] <= yes["72 h"]
    t = sweep(examples.reference_journey(), COHORT, START, END, setting="journey_timeout",
              values=[dt.timedelta(days=1), dt.timedelta(days=3)], replications=1)
    to = t.query("scope == 'journey' and stat == 'exits_journey_timeout'").set_index("value")["mean"]
    assert to["24 h"] > to["72 h"]


def test_compare_uses_common_random_numbers():
    a = examples.reference_journey().definition
    b = vary(a, dt.timedelta(hours=72), node="launched", field="window")
    c = compare(a, a, COHORT, START, END, replications=3)
    assert (c["diff"] == 0).all() and (c["diff_ci_low"] == 0).all()  # same variant, same draws
    c = compare(a, b, COHORT, START, END, replications=3)
    row = c.query("node == 'email' and stat == 'entered'").iloc[0]
    assert row["diff"] == row["mean_B"] - row["mean_A"] and row["diff"] > 0


def test_vary_reports_bad_targets_with_a_path():
    a = examples.reference_journey().definition
    with pytest.raises(JourneyDefinitionError, match=r"\$\.nodes\[\d+\]\.colour: node 'launched' has no field"):
        vary(a, 1, node="launched", field="colour")
    with pytest.raises(JourneyDefinitionError, match="no node 'nope'"):
        vary(a, 1, node="nope", field="window")
    with pytest.raises(JourneyDefinitionError, match=r"\$\.settings\.colour"):
        vary(a, 1, setting="colour")
