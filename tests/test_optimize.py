"""The optimiser (issue 17): optuna's samplers over a journey's settings, each candidate
simulated with common random numbers; a synthetic cohort where the best delay is known in
closed form."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from journeylab.errors import JourneyDefinitionError
from journeylab.model import Action, ActionGoal, Delay, Journey, Push, Split, SplitBranch, from_json
from journeylab.sim import BehaviourModel, GoalLift, Latency
from journeylab.sim.optimize import Objective, apply_params, optimize, weight_grid
from journeylab.validate import validate

START = pd.Timestamp("2026-10-01", tz="UTC")
END = pd.Timestamp("2026-10-04", tz="UTC")
N = 96  # users per group
STEP = dt.timedelta(minutes=30)
GRID = [k * STEP for k in range(1, 49)]  # 30 min ... 24 h


def _journey() -> Journey:
    # users leave at the push; a purchase within a day after it still counts (attribution window)
    j = Journey("Nudge", id="nudge", journey_timeout=dt.timedelta(days=2), attribution_window=dt.timedelta(days=1))
    j.add(Action(id="browse", event="Browse"))
    j.then("browse", "yes", Delay(id="wait", duration=dt.timedelta(hours=1)))
    j.then("wait", "next", Push(id="nudge"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    j.add_goal(ActionGoal(name="Churn", event="Churned"))
    return j


def _cohort() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Everyone browses at 09:00. Buyers buy anyway, spread evenly over the next 12 h;
    the others give up (churn), spread evenly over 24 h, unless a push reaches them first."""
    t0 = START + pd.Timedelta(hours=9)
    buyers = [f"b{i:02d}" for i in range(N)]
    others = [f"c{i:02d}" for i in range(N)]
    rows = [(u, t0, "Browse") for u in buyers + others]
    rows += [(u, t0 + (i + 0.5) * pd.Timedelta(hours=12) / N, "Charged") for i, u in enumerate(buyers)]
    rows += [(u, t0 + (i + 0.5) * pd.Timedelta(hours=24) / N, "Churned") for i, u in enumerate(others)]
    ev = pd.DataFrame(rows, columns=["user_id", "ts", "event"]).sort_values("ts", kind="stable", ignore_index=True)
    return pd.DataFrame({"user_id": buyers + others, "push_token": "t"}), ev


#: a push is always clicked and makes the user buy 3 minutes after it is sent
BEHAVIOUR = BehaviourModel.default().with_channel(
    "push",
    delivery=1.0,
    view=1.0,
    click=1.0,
    view_latency=Latency.fixed(minutes=1),
    click_latency=Latency.fixed(minutes=1),
    lift=GoalLift("Charged", 1.0, Latency.fixed(minutes=1)),
)
#: a conversion is worth 1, a message costs 0.5
PROFIT = Objective("profit", lambda s: s["conversions_Purchase"] - 0.5 * s["messages"])


def closed_form_profit(wait: dt.timedelta) -> float:
    """After a wait of ``m`` half-hours the push reaches the buyers who have not bought yet,
    ``max(0, N - 4m)`` (wasted: they buy anyway), and the others still there, ``N - 2m``
    (each one a conversion): profit = N + (N - 2m) - 0.5 (max(0, N - 4m) + N - 2m), which
    rises by 1 per half-hour up to 12 h (while buyers still get pushes) and falls by 1 after."""
    m = wait / STEP
    return N + (N - 2 * m) - 0.5 * (max(0.0, N - 4 * m) + N - 2 * m)


BEST = max(GRID, key=closed_form_profit)


def test_the_closed_form_has_one_best_wait():
    assert dt.timedelta(hours=12) == BEST
    assert closed_form_profit(BEST) == 120 and closed_form_profit(BEST - STEP) == closed_form_profit(BEST + STEP) == 119


def test_the_optimiser_finds_the_best_wait_within_one_grid_step():
    trials = 20  # of 48 candidates
    r = optimize(
        _journey(),
        _cohort(),
        START,
        END,
        space={"nodes.wait.duration": GRID},
        objective=PROFIT,
        n_trials=trials,
        seed=0,
        replications=2,
        behaviour=BEHAVIOUR,
        workers=1,
    )
    t = r.trials
    # every simulated figure is the closed form's (all probabilities are 1: the intervals have no width)
    by_label = {
        f"{w.total_seconds() / 3600:g} h" if w.total_seconds() % 3600 == 0 else f"{w.total_seconds() / 60:g} min": w
        for w in GRID
    }
    for _, row in t.iterrows():
        assert row["profit"] == closed_form_profit(by_label[row["nodes.wait.duration"]])
        assert row["profit_ci_low"] == row["profit"] == row["profit_ci_high"]
    chosen = r.journey.node("wait").duration
    assert abs(chosen - BEST) <= STEP
    assert r.n_trials == trials and r.evaluations <= trials
    first = next(
        int(row["trial"]) for _, row in t.iterrows() if abs(by_label[row["nodes.wait.duration"]] - BEST) <= STEP
    )
    print(
        f"\noptimiser: within one step of the best wait (12 h) at trial {first + 1}; chosen "
        f"{chosen.total_seconds() / 3600:g} h after {trials} trials, {r.evaluations} of {len(GRID)} candidates simulated"
    )
    # the chosen journey is returned as validated JSON
    d = from_json(r.to_json())
    assert validate(d).errors == [] and d.node("wait").duration == chosen


def test_the_search_is_reproducible_by_seed():
    kw = dict(
        space={"nodes.wait.duration": GRID[::4]},
        objective=PROFIT,
        n_trials=6,
        replications=1,
        behaviour=BEHAVIOUR,
        workers=1,
    )
    a = optimize(_journey(), _cohort(), START, END, seed=3, **kw)
    b = optimize(_journey(), _cohort(), START, END, seed=3, **kw)
    pd.testing.assert_frame_equal(a.trials, b.trials)


def test_two_objectives_give_a_pareto_frontier_and_constraints_are_kept():
    r = optimize(
        _journey(),
        _cohort(),
        START,
        END,
        space={"nodes.wait.duration": GRID[::3]},
        objective={"conversions_Purchase": "maximize", "messages_per_user": "minimize"},
        constraints={"messages_per_user": ("<=", 0.6)},
        n_trials=12,
        seed=1,
        replications=1,
        behaviour=BEHAVIOUR,
        workers=1,
    )
    t = r.trials
    assert (t["feasible"] == (t["messages_per_user"] <= 0.6)).all() and (~t["feasible"]).any()
    for i, a in t.iterrows():  # on the frontier exactly when feasible and no feasible candidate dominates it
        dominated = any(
            b["feasible"]
            and b["conversions_Purchase"] >= a["conversions_Purchase"]
            and b["messages_per_user"] <= a["messages_per_user"]
            and (
                b["conversions_Purchase"] > a["conversions_Purchase"] or b["messages_per_user"] < a["messages_per_user"]
            )
            for j, b in t.iterrows()
            if j != i
        )
        assert a["pareto"] == (a["feasible"] and not dominated)
    assert r.best["conversions_Purchase"] == r.pareto["conversions_Purchase"].max()
    fig = r.chart()
    assert fig.data[0].name == "Pareto frontier" and len(fig.data[0].x) == int(t["pareto"].sum())


def test_split_weights_settings_and_bad_targets():
    j = Journey("Ab", id="ab", journey_timeout=dt.timedelta(days=1))
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Split(id="s", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="B", percent=50)]))
    d = apply_params(j.definition, {"nodes.s.branches": [20, 80], "settings.journey_timeout": dt.timedelta(hours=6)})
    assert [b.percent for b in d.node("s").branches] == [20.0, 80.0] and d.settings.journey_timeout == dt.timedelta(
        hours=6
    )
    assert weight_grid(3, step=50) == [
        [0.0, 0.0, 100.0],
        [0.0, 50.0, 50.0],
        [0.0, 100.0, 0.0],
        [50.0, 0.0, 50.0],
        [50.0, 50.0, 0.0],
        [100.0, 0.0, 0.0],
    ]
    with pytest.raises(JourneyDefinitionError, match=r"\$\.nodes\[1\]\.branches: Split node 's' has 2 branches"):
        apply_params(j.definition, {"nodes.s.branches": [20, 30, 50]})
    with pytest.raises(JourneyDefinitionError, match="there is no node 'nope'"):
        apply_params(j.definition, {"nodes.nope.window": dt.timedelta(hours=1)})
    with pytest.raises(JourneyDefinitionError, match="a search target is"):
        apply_params(j.definition, {"wait": dt.timedelta(hours=1)})
    with pytest.raises(JourneyDefinitionError, match=r"constraints\.messages"):
        optimize(
            j,
            _cohort(),
            START,
            END,
            space={"nodes.s.branches": [[50, 50]]},
            objective="conversions",
            constraints={"messages": ("<", 1)},
        )


def test_candidates_that_do_not_validate_are_refused_with_the_reason():
    r = optimize(
        _journey(),
        _cohort(),
        START,
        END,
        space={"nodes.wait.duration": [dt.timedelta(0), dt.timedelta(hours=12)]},
        objective=PROFIT,
        n_trials=6,
        seed=0,
        replications=1,
        behaviour=BEHAVIOUR,
        workers=1,
    )
    bad = r.trials[r.trials["nodes.wait.duration"] == "0 h"]
    assert len(bad) == 1 and "$.nodes[1].duration" in bad["error"].iloc[0] and not bad["feasible"].iloc[0]
    assert r.best["nodes.wait.duration"] == "12 h"
    assert json.loads(r.to_json())["nodes"][1]["duration"] == "PT12H"
