"""Monte Carlo replications, sweeps and comparisons."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from helpers import END, START, cohort
from scipy import stats as st

from journeylab import examples
from journeylab.errors import JourneyDefinitionError
from journeylab.sim.experiments import compare, replicate, summarize, sweep, vary

COHORT = cohort(300, seed=11)


def test_replications_give_t_intervals_over_the_draws():
    raw = replicate(examples.reference_journey(), COHORT, START, END, n=6, seed=2, raw=True)
    views = raw.query("scope == 'node' and node == 'push' and stat == 'viewed'")["value"].to_numpy()
    assert len(views) == 6 and views.std() > 0  # the behaviour model's draws differ per seed
    from journeylab.sim import simulate
    from journeylab.sim.experiments import run_stats

    for r in (0, 5):  # each replication's figures are those of a whole run with its seed
        whole = run_stats(simulate(examples.reference_journey(), COHORT, START, END, seed=2 + r))
        got = raw[raw["replication"] == r].drop(columns="replication").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, whole)
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
    s = sweep(
        examples.reference_journey(),
        COHORT,
        START,
        END,
        node="launched",
        field="window",
        values=[dt.timedelta(hours=h) for h in hours],
        replications=2,
    )
    yes = s.query("node == 'launched' and stat == 'left_yes'").set_index("value")["mean"]
    assert list(yes.index) == ["1 h", "24 h", "72 h"]
    assert yes["1 h"] <= yes["24 h"] <= yes["72 h"]
    t = sweep(
        examples.reference_journey(),
        COHORT,
        START,
        END,
        setting="journey_timeout",
        values=[dt.timedelta(days=1), dt.timedelta(days=3)],
        replications=1,
    )
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


# ------------------------------------------------------------------ issue 17: branches, uplift, planning


def _holdout(q: float = 0.5, n: int = 400):
    """A Split with a push branch and a control branch; 20 % of users buy anyway 5 h after the
    visit, a push makes a user who clicks buy within 30 min with probability ``q``."""
    from journeylab.model import Action, ActionGoal, Journey, Push, Split, SplitBranch
    from journeylab.sim import BehaviourModel, GoalLift, Latency

    j = Journey("Holdout", id="holdout", journey_timeout=dt.timedelta(days=1), attribution_window=dt.timedelta(days=1))
    j.add(Action(id="visit", event="Visit"))
    j.then(
        "visit",
        "yes",
        Split(
            id="ab",
            branches=[SplitBranch(name="push", percent=50), SplitBranch(name="control", percent=50, control=True)],
        ),
    )
    j.then("ab", "push", Push(id="promo"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    users = [f"u{i:04d}" for i in range(n)]
    t0 = START + pd.Timedelta(hours=9)
    ev = pd.DataFrame({"user_id": users, "ts": t0, "event": "Visit"})
    buyers = pd.DataFrame({"user_id": users[::5], "ts": t0 + pd.Timedelta(hours=5), "event": "Charged"})
    ev = pd.concat([ev, buyers], ignore_index=True).sort_values("ts", kind="stable", ignore_index=True)
    prof = pd.DataFrame({"user_id": users, "push_token": "t"})
    behaviour = BehaviourModel.default().with_channel(
        "push",
        delivery=1.0,
        view=1.0,
        click=1.0,
        view_latency=Latency.fixed(minutes=1),
        click_latency=Latency.fixed(minutes=1),
        lift=GoalLift("Charged", q, Latency.fixed(minutes=30)),
    )
    return j, (prof, ev), behaviour


def test_branch_results_and_uplift_against_the_control_branch():
    from journeylab.charts import uplift as uplift_figure
    from journeylab.sim.experiments import branch_results, uplift

    j, coh, behaviour = _holdout()
    raw = replicate(j, coh, START, END, n=8, seed=1, raw=True, behaviour=behaviour)
    b = branch_results(j, raw=raw).set_index(["branch", "stat"])
    assert b.loc[("control", "messages"), "mean"] == 0 and b.loc[("control", "messages"), "ci_high"] == 0
    assert bool(b.loc[("control", "users"), "control"]) and not bool(b.loc[("push", "users"), "control"])
    assert b.loc[("push", "users"), "mean"] + b.loc[("control", "users"), "mean"] == 400
    # control: only the natural 20 % convert; push: 20 % + 80 % x 50 %
    assert b.loc[("control", "conversion_rate"), "mean"] == pytest.approx(0.2, abs=0.04)
    assert b.loc[("push", "conversion_rate"), "mean"] == pytest.approx(0.6, abs=0.05)
    u = uplift(j, raw=raw).set_index("stat")
    row = u.loc["conversion_rate"]
    assert row["branch"] == "push" and row["control"] == "control" and row["n"] == 8
    assert row["diff_ci_low"] > 0 and row["diff_ci_low"] <= row["diff"] <= row["diff_ci_high"]
    assert row["diff"] == pytest.approx(0.4, abs=0.05) and row["relative"] == pytest.approx(2.0, abs=0.4)
    assert row["diff"] == pytest.approx(row["mean_branch"] - row["mean_control"])
    assert u.loc["messages_per_user", "diff"] == pytest.approx(1.0)  # one push per user of the branch, none in control
    fig = uplift_figure(u.reset_index(), ["conversion_rate"])
    assert list(fig.data[0].y) == ["ab: push"] and fig.data[0].marker.color[0] == "#15803d"
    with pytest.raises(JourneyDefinitionError, match="no Split has a branch named 'nope'"):
        uplift(j, raw=raw, control="nope")


def test_a_replicate_frame_has_branch_rows_and_compare_differences_them():
    j, coh, behaviour = _holdout(n=100)
    weaker = vary(j.definition, None, setting="journey_timeout")
    c = compare(j.definition, weaker, coh, START, END, replications=2, behaviour=behaviour)
    br = c[c["scope"] == "branch"]
    assert set(br["branch"]) == {"push", "control"} and (br["node"] == "ab").all()


def test_sample_sizes_match_cohens_table():
    """Cohen (1988), Statistical Power Analysis, table 6.4.1: n per group for the effect size h
    of two proportions at a two-sided alpha of .05 and power .80 (rounded to the nearest user)."""
    from statsmodels.stats.proportion import proportion_effectsize

    from journeylab.sim.experiments import sample_size, sample_size_table

    cohen = {0.10: 1570, 0.20: 392, 0.30: 174, 0.40: 98, 0.50: 63, 0.60: 44, 0.70: 32, 0.80: 25}
    base = 0.5
    for h, n in cohen.items():
        # the rate p2 that is h away from p1 = 0.5: 2 asin(sqrt(p2)) = 2 asin(sqrt(0.5)) + h
        p2 = np.sin(np.arcsin(np.sqrt(base)) + h / 2) ** 2
        assert proportion_effectsize(p2, base) == pytest.approx(h)
        got = sample_size(base, p2 - base)
        assert got - 1 <= n <= got  # ours rounds up, Cohen's table to the nearest
    # a 10 % baseline, +2 points, 80 % power: the figure usually quoted (about 3,800 per branch)
    assert sample_size(0.10, 0.02) == 3835
    assert sample_size(0.10, 0.02, power=0.9) > 3835 > sample_size(0.10, 0.02, alpha=0.1)
    assert sample_size(0.10, 0.02, ratio=2) < 3835  # a bigger treatment branch: a smaller control
    t = sample_size_table(0.10, [0.01, 0.02], powers=[0.8])
    assert t["users_per_branch"].tolist() == [sample_size(0.1, 0.01), 3835] and t["users_total"].tolist()[1] == 7670
    with pytest.raises(JourneyDefinitionError, match="mde: the effect must move the rate"):
        sample_size(0.95, 0.1)
    with pytest.raises(JourneyDefinitionError, match="power must be strictly between"):
        sample_size(0.1, 0.02, power=1.0)


def test_replicate_intervals_cover_the_true_value_about_95_percent_of_the_time():
    """A push viewed with probability 0.3 by each of 60 users: the expected views are 18. Over
    60 experiments of 4 replications each (distinct seeds), the share of 95 % t-intervals that
    contain 18 is close to 0.95 (binomial sd over 60 experiments: 0.028; a longer run over 400
    experiments gave 0.953, see docs/decisions.md)."""
    from journeylab.model import Action, Journey, Push
    from journeylab.sim import BehaviourModel

    j = Journey("Coverage", id="cov")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="push"))
    users = [f"u{i}" for i in range(60)]
    coh = (
        pd.DataFrame({"user_id": users, "push_token": "t"}),
        pd.DataFrame({"user_id": users, "ts": START + pd.Timedelta(hours=9), "event": "Go"}),
    )
    behaviour = BehaviourModel.default().with_channel("push", delivery=1.0, view=0.3)
    experiments, reps = 60, 4
    raw = replicate(
        j, coh, START, START + pd.Timedelta(days=1), n=experiments * reps, seed=1000, raw=True, behaviour=behaviour
    )
    views = raw.query("scope == 'node' and node == 'push' and stat == 'viewed'").sort_values("replication")
    assert len(views) == experiments * reps and views["value"].std() > 0
    groups = views.assign(replication=views["replication"] // reps)  # experiment k: seeds 1000 + 4k ... 1000 + 4k + 3
    s = summarize(groups.assign(scope="node", journey="cov", node="push", branch="", stat="viewed"), by=["replication"])
    covered = float(((s["ci_low"] <= 18.0) & (s["ci_high"] >= 18.0)).mean())
    print(f"\ninterval coverage: {covered:.3f} of {experiments} 95 % intervals contain the true value")
    assert 0.87 <= covered < 1.0  # not too narrow, and not so wide that every one covers (0.95^60: 5 %)


def test_conversions_after_exit_are_credited_to_the_branch_and_the_last_message():
    from journeylab import stats
    from journeylab.sim import simulate

    j, coh, behaviour = _holdout(n=200)
    res = simulate(j, coh, START, END, seed=4, behaviour=behaviour)
    b = res.branch_stats.set_index("branch")
    m = stats.message_conversions(res.trace, "holdout").set_index("node")
    en = res.enrollments
    # push-branch users leave at the push (completed): all their conversions are attributed, to the push
    assert en.loc[en["branch"] == "push", "reason"].eq("completed").all()
    assert (
        m.loc["promo", "conversions"]
        == b.loc["push", "conversions"]
        == en.query("branch == 'push'")["attributed"].sum()
    )
    assert m.loc["promo", "sent"] == b.loc["push", "messages"] == b.loc["push", "users"]
    # control users are held at the Split: their conversions are goal exits there, credited to no message
    held = en[en["branch"] == "control"]
    assert not held["attributed"].any() and held["last_message"].isna().all()
    assert set(held["reason"].dropna()) <= {"goal:Purchase", "journey_timeout"}
    g = stats.goal_stats(res.trace, "holdout", by_branch=True, splits=["ab"]).set_index("branch")
    assert g.loc["push", "attributed"] == g.loc["push", "conversions"] and g.loc["control", "attributed"] == 0


def _enrollments_by_hand(trace: pd.DataFrame, journey: str) -> pd.DataFrame:
    """What :func:`journeylab.stats.enrollments` says, computed the plain way: row by row, user
    by user (the oracle for the array code)."""
    from journeylab.stats import SPLIT_PORTS

    out: list[dict] = []
    current: dict[str, dict] = {}
    for r in trace[trace["journey"] == journey].itertuples(index=False):
        ev, detail = str(r.event), str(r.detail)
        if ev == "entered" and detail == "entry":
            n = current[r.user_id]["n"] + 1 if r.user_id in current else 1
            current[r.user_id] = e = {
                "user_id": r.user_id,
                "n": n,
                "entered_at": r.ts,
                "entry_node": str(r.node),
                "exited_at": pd.NaT,
                "reason": None,
                "split": None,
                "branch": None,
                "messages": 0,
                "unsubscribes": 0,
                "goal": None,
                "converted_at": pd.NaT,
                "attributed": False,
                "last_sent": None,
                "last_message": None,
            }
            out.append(e)
            continue
        e = current.get(r.user_id)
        if e is None:
            continue
        if ev == "exited" and e["reason"] is None:
            e["exited_at"], e["reason"] = r.ts, detail
        if e["branch"] is None and ((ev == "left" and str(r.port) not in SPLIT_PORTS) or ev == "held"):
            e["split"], e["branch"] = str(r.node), str(r.port)
        if ev == "sent":
            e["messages"] += 1
            e["last_sent"] = str(r.node)
        if ev == "unsubscribed":
            e["unsubscribes"] += 1
        if e["goal"] is None and ((ev == "exited" and detail.startswith("goal:")) or ev == "converted"):
            e["goal"], e["converted_at"], e["attributed"] = detail[5:], r.ts, ev == "converted"
            e["last_message"] = e["last_sent"]
    for e in out:
        sent = e.pop("last_sent")
        if e["goal"] is None:
            e["last_message"] = sent
    cols = [
        "user_id",
        "n",
        "entered_at",
        "entry_node",
        "exited_at",
        "reason",
        "split",
        "branch",
        "messages",
        "unsubscribes",
        "goal",
        "converted_at",
        "attributed",
        "last_message",
    ]
    frame = pd.DataFrame(out, columns=cols)
    for c in ("entered_at", "exited_at", "converted_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    for c in ("reason", "split", "branch", "goal", "last_message"):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


def _assert_figures_of(js: pd.Series, en: pd.DataFrame) -> None:
    """``journey_stats`` (counted from codes, no frame) against the same figures read off an
    enrollments frame."""
    conv = en[en["goal"].notna()]
    minutes = (conv["converted_at"] - conv["entered_at"]).dt.total_seconds() / 60.0
    reasons = Counter(str(r).split(":")[0] for r in en["reason"].dropna())
    want: dict[str, float] = {
        "entered": len(en),
        "users": en["user_id"].nunique(),
        "active": int(en["reason"].isna().sum()),
        **{f"exits_{r}": reasons[r] for r in ("goal", "journey_timeout", "force_exit", "completed", "stopped")},
        **{f"conversions_{g}": int((conv["goal"] == g).sum()) for g in set(conv["goal"])},
        "conversions": len(conv),
        "conversions_attributed": int(conv["attributed"].sum()),
        "conversion_rate": len(conv) / len(en) if len(en) else 0.0,
        "time_to_goal_median_min": float(minutes.median()) if len(conv) else float("nan"),
        "time_to_goal_mean_min": float(minutes.mean()) if len(conv) else float("nan"),
        "messages": int(en["messages"].sum()),
        "unsubscribes": int(en["unsubscribes"].sum()),
    }
    assert {k for k in js.index if k.startswith("conversions_") and k != "conversions_attributed"} == {
        k for k in want if k.startswith("conversions_") and k != "conversions_attributed"
    }
    for k, v in want.items():
        assert js[k] == pytest.approx(v, rel=1e-12, nan_ok=True), k


def test_enrollments_agree_with_a_row_by_row_reading_of_the_trace():
    """The array code of ``enrollments`` (what every experiment statistic reads) against the
    plain row-by-row reading, on random journeys with control branches, re-entries, opt-outs
    and conversions after the exit (the differential harness's experiment cases)."""
    from drivers import run, scenario_of
    from hypothesis import HealthCheck, Phase, given, settings
    from strategies import batches

    from journeylab import stats

    seen = {"enrollments": 0, "conversions": 0, "branches": 0, "attributed": 0, "unsubscribes": 0, "reentries": 0}

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate),
    )  # a failure shows the case as drawn (shrinking them is slow)
    @given(batches(min_size=3, max_size=3, experiment=True))
    def check(batch):
        for case in batch.cases:
            rows = run(scenario_of(case), "simulate").rows
            if not rows:
                continue
            t = pd.DataFrame(rows, columns=["user_id", "ts", "journey", "version", "node", "event", "port", "detail"])
            t["ts"] = pd.to_datetime(t["ts"], unit="s", utc=True)
            for c in ("journey", "node", "event", "port", "detail"):
                t[c] = t[c].astype("category")
            for j in t["journey"].unique():
                got = stats.enrollments(t, j)
                want = _enrollments_by_hand(t, j)
                pd.testing.assert_frame_equal(got.astype(object), want.astype(object), check_dtype=False)
                _assert_figures_of(stats.journey_stats(t, j), want)
                seen["enrollments"] += len(got)
                seen["conversions"] += int(got["goal"].notna().sum())
                seen["branches"] += int(got["branch"].notna().sum())
                seen["attributed"] += int(got["attributed"].sum())
                seen["unsubscribes"] += int(got["unsubscribes"].sum())
                seen["reentries"] += int((got["n"] > 1).sum())  # a user's rows split between enrollments

    check()
    assert seen["enrollments"] > 30 and seen["conversions"] > 0 and seen["branches"] > 0, seen
    assert seen["reentries"] > 0, seen


def test_statistics_from_the_run_user_codes_equal_those_from_the_trace_strings():
    """A simulation keeps each trace row's user as a code and the statistics read it instead of
    factorizing the user ids again: the same figures, per journey of a two-journey run too, and
    nothing stale once the trace is replaced."""
    import dataclasses

    import msgspec

    from journeylab.sim import simulate
    from journeylab.sim.experiments import run_stats

    j, coh, behaviour = _holdout(n=200)
    other = vary(j.definition, dt.timedelta(hours=2), setting="journey_timeout")
    other = msgspec.structs.replace(other, id="holdout-2", name="Holdout 2")
    for journeys in ([j], [j.definition, other]):
        res = simulate(journeys, coh, START, END, seed=3, behaviour=behaviour)
        assert res._user_codes() is not None
        plain = dataclasses.replace(res, _coded=None)
        assert plain._user_codes() is None
        got, want = run_stats(res), run_stats(plain)
        pd.testing.assert_frame_equal(got, want)
        assert set(got["journey"]) == {d.id for d in res.journeys}
        assert got.loc[got["stat"] == "users", "value"].min() > 0
    res.trace = res.trace.iloc[::-1].reset_index(drop=True)  # another trace: its codes are not the run's
    assert res._user_codes() is None
    assert int(res.journey_stats_of("holdout-2")["entered"]) == int(plain.journey_stats_of("holdout-2")["entered"])


def test_enrollments_of_a_trace_with_a_missing_user_id():
    """A row without a user id (code -1) is one more user, not an error of the entries' lookup."""
    from journeylab import stats

    t = pd.DataFrame(
        {
            "user_id": ["a", None, None, "a", "a"],
            "ts": pd.to_datetime([0, 1, 2, 3, 4], unit="s", utc=True),
            "journey": "j",
            "version": 1,
            "node": "in",
            "event": ["entered", "entered", "exited", "exited", "entered"],
            "port": "",
            "detail": ["entry", "entry", "completed", "completed", "entry"],
        }
    )
    en = stats.enrollments(t)
    assert en[["n", "reason"]].values.tolist() == [[1, "completed"], [1, "completed"], [2, None]]
    js = stats.journey_stats(t)
    assert (js["entered"], js["users"], js["exits_completed"], js["active"]) == (3, 2, 2, 1)
