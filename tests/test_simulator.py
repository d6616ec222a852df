"""The simulator: cohorts, parity with the reference driver, determinism, behaviour draws."""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd
import pytest
from helpers import END, JOURNEYS, START, cohort, sim_rows

from journeylab import examples
from journeylab.engine import Control, ReferenceDriver
from journeylab.errors import CohortError, JourneyDefinitionError
from journeylab.sim import BehaviourModel, ChannelBehaviour, Cohort, GoalLift, Latency, simulate
from journeylab.sim.replay import replay_inputs
from journeylab.sim.simulator import PERIOD
from journeylab.trace import as_trace, trace_rows


def reference_trace(defs, prof, ev, res):
    ids = {d.id for d in defs}
    drv = ReferenceDriver(
        defs,
        controls={i: Control.running_from(int(START.timestamp())) for i in ids},
        profiles={
            r["user_id"]: {k: v for k, v in r.items() if k != "user_id" and v is not None and v == v}
            for r in prof.to_dict("records")
        },
        created=int(START.timestamp()) - 30 * 86400,
    )
    drv.feed([i for i in replay_inputs(ev[ev["ts"] < END], res.responses)])
    drv.run_until(int(END.timestamp()) - 1)
    return [tuple(r) for r in drv.canonical_trace()]


@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_simulator_trace_equals_reference_driver_row_for_row(name):
    journeys = JOURNEYS[name]()
    defs = [j.definition for j in journeys]
    prof, ev = cohort(seed=sorted(JOURNEYS).index(name))
    res = simulate(journeys, (prof, ev), START, END, seed=7)
    assert len(res.trace) > 50
    assert sim_rows(res) == reference_trace(defs, prof, ev, res)


def test_same_seed_same_trace_and_independent_of_cohort_order():
    prof, ev = cohort()
    a = simulate(examples.reference_journey(), (prof, ev), START, END, seed=3)
    b = simulate(examples.reference_journey(), (prof.sample(frac=1, random_state=1), ev), START, END, seed=3)
    pd.testing.assert_frame_equal(a.trace, b.trace)
    # a user's outcome does not depend on who else is in the cohort
    some = prof["user_id"].iloc[:100]
    c = simulate(
        examples.reference_journey(), (prof[prof.user_id.isin(some)], ev[ev.user_id.isin(some)]), START, END, seed=3
    )
    sub = a.trace[a.trace["user_id"].isin(some)].reset_index(drop=True)
    assert sim_rows(c) == list(map(tuple, [r for r in sim_rows(a) if r[0] in set(some)]))
    assert len(sub) == len(c.trace)
    d = simulate(examples.reference_journey(), (prof, ev), START, END, seed=4)
    assert not a.responses.equals(d.responses)


def test_callers_frames_are_not_modified():
    prof, ev = cohort()
    p0, e0 = prof.copy(), ev.copy()
    simulate(examples.ride_tier(), (prof, ev), START, END)
    pd.testing.assert_frame_equal(prof, p0)
    pd.testing.assert_frame_equal(ev, e0)


def test_cohort_schema_errors_say_what_and_where():
    prof, ev = cohort(20)
    with pytest.raises(CohortError, match=r"^events: missing column 'event'"):
        Cohort(prof, ev.drop(columns="event"))
    with pytest.raises(CohortError, match=r"events.ts: timestamps have no timezone"):
        Cohort(prof, ev.assign(ts=ev["ts"].dt.tz_localize(None)))
    naive = Cohort(
        prof, ev.assign(ts=ev["ts"].dt.tz_convert("Asia/Kolkata").dt.tz_localize(None)), timezone="Asia/Kolkata"
    )
    assert (naive.events["ts"] == ev["ts"]).all()
    bad = ev.copy()
    bad.loc[5, "user_id"] = "ghost"
    with pytest.raises(CohortError, match=r"events\[\d+\].user_id: user 'ghost' is not in profiles"):
        Cohort(prof, bad)
    assert Cohort(prof, bad, unknown_users="drop").n_events == len(ev) - 1
    with pytest.raises(CohortError, match=r"profiles\[1\].user_id: user_id 'u0000' appears twice"):
        Cohort(pd.concat([prof.iloc[:1], prof]), ev)
    ids = [f"x{i}" for i in range(len(ev))]
    ids[3] = ids[0]
    with pytest.raises(CohortError, match=r"events\[3\].event_id: event_id 'x0' appears twice"):
        Cohort(prof, ev.assign(event_id=ids), check_ids=True)
    # the simulator always checks the events a journey acts on
    rel = ev.index[(ev["event"] == "Added To Cart") & (ev["ts"] >= START)]  # entry triggers: always acted on
    ids = [f"x{i}" for i in range(len(ev))]
    ids[rel[5]] = ids[rel[1]]
    for workers in (1, 2):  # with workers, checked while they run: the error stops them
        with pytest.raises(CohortError, match=rf"events\[{rel[5]}\].event_id: event_id 'x{rel[1]}' appears twice"):
            simulate(examples.reference_journey(), (prof, ev.assign(event_id=ids)), START, END, workers=workers)
    shuffled = ev.sample(frac=1, random_state=0)
    assert Cohort(prof, shuffled).events["ts"].is_monotonic_increasing
    with pytest.raises(JourneyDefinitionError, match="^end:"):
        simulate(examples.ride_tier(), (prof, ev), END, START)


def test_behaviour_model_drives_views_and_goal_lift():
    prof, ev = cohort(400)
    push_only = BehaviourModel.default().with_channel(
        "push",
        view=0.5,
        click=0.5,
        view_latency=Latency.exponential(minutes=10),
        lift=GoalLift(event="Charged", probability=1.0, latency=Latency.fixed(minutes=1)),
    )
    res = simulate(examples.reference_journey(), (prof, ev), START, END, seed=1, behaviour=push_only)
    ns = res.node_stats
    sent = ns.loc["push", "sent"]
    assert 0.4 < ns.loc["push", "viewed"] / sent < 0.6
    assert 0.15 < ns.loc["push", "clicked"] / sent < 0.35
    lifted = res.responses[res.responses["kind"] == "event"]
    assert len(lifted) == ns.loc["push", "clicked"] - int(
        (res.responses.query("kind == 'clicked'")["ts"] >= END - pd.Timedelta(minutes=1)).sum()
    )
    silent = simulate(examples.reference_journey(), (prof, ev), START, END, seed=1, behaviour=BehaviourModel.silent())
    assert silent.node_stats.loc["push", "viewed"] == 0
    assert res.journey_stats["conversions"] > silent.journey_stats["conversions"]


@pytest.mark.parametrize(
    ("kind", "sigma"), [("exponential", 1.0), ("lognormal", 0.4), ("lognormal", 1.0), ("lognormal", 2.5)]
)
def test_latency_tables_are_the_distributions_quantiles_at_every_grid_point(kind, sigma):
    """The tables are built in numpy; each of their 65,537 points is the quantile the standard
    library gives (AS241 for the normal, as NormalDist.inv_cdf), and a draw near 0 or 1 reads the
    table's ends."""
    import math
    from statistics import NormalDist

    from journeylab.sim.behaviour import _N, _U_MAX, _U_MIN, _quantile_list, _quantiles

    def q(p: float) -> float:
        return -math.log1p(-p) if kind == "exponential" else math.exp(sigma * NormalDist().inv_cdf(p))

    table, arr = _quantile_list(kind, sigma), _quantiles(kind, sigma)
    expected = np.array([q(_U_MIN), *(q(k / _N) for k in range(1, _N)), q(_U_MAX)])
    assert table == arr.tolist() and len(table) == _N + 1
    np.testing.assert_allclose(arr, expected, rtol=4e-16, atol=0)
    lat = Latency.exponential(minutes=1) if kind == "exponential" else Latency.lognormal(median_minutes=1, sigma=sigma)
    ends = lat.sample_array(np.array([_U_MIN, _U_MAX]))
    assert (
        ends.tolist() == [lat.sample(_U_MIN), lat.sample(_U_MAX)] == [max(1, round(60 * e)) for e in expected[[0, -1]]]
    )


def test_fit_behaviour_from_message_history():
    rng = np.random.default_rng(0)
    n = 2000
    t = pd.Timestamp("2026-09-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 86400 * 20, n), unit="s")
    viewed = rng.random(n) < 0.25
    hist = pd.DataFrame(
        {
            "channel": "email",
            "ts": t,
            "delivered": rng.random(n) < 0.97,
            "viewed_ts": t.where(viewed) + pd.to_timedelta(np.exp(rng.normal(np.log(3600), 0.8, n)), unit="s"),
            "clicked_ts": pd.NaT,
        }
    )
    m = BehaviourModel.fit(hist)
    b = m.channels["email"]
    assert 0.95 < b.delivery < 0.99 and 0.2 < b.view < 0.3
    assert 2400 < b.view_latency.median < 5400 and b.view_latency.kind == "lognormal"
    with pytest.raises(JourneyDefinitionError):
        BehaviourModel.fit(hist.drop(columns="delivered"))
    with pytest.raises(JourneyDefinitionError):
        ChannelBehaviour(view=1.5)


def test_waiting_over_time_ends_at_the_users_still_waiting_and_never_goes_negative():
    prof, ev = cohort(300, seed=3)
    res = simulate(examples.cart_abandonment(), (prof, ev), START, END, seed=2)
    w = res.waiting_over_time
    assert (w["users"] >= 0).all()
    last = w[w["ts"] == w["ts"].max()].set_index("node")["users"]
    waiting = res.node_stats["waiting"]
    assert last.reindex(waiting.index, fill_value=0).tolist() == waiting.tolist()
    assert waiting.sum() == res.journey_stats["active"]


@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_worker_processes_give_the_same_result_as_one_process(name):
    """Users split over forked workers (u % workers) come back as the very same result."""
    prof, ev = cohort(400, seed=sorted(JOURNEYS).index(name) + 10)
    beh = BehaviourModel.default().with_channel("push", view=0.6, click=0.3, lift=GoalLift("Charged", 0.5))
    one = simulate(JOURNEYS[name](), (prof, ev), START, END, seed=5, behaviour=beh, workers=1)
    assert len(one.trace) > 100
    for workers in (2, 3):
        many = simulate(JOURNEYS[name](), (prof, ev), START, END, seed=5, behaviour=beh, workers=workers)
        pd.testing.assert_frame_equal(one.trace, many.trace)
        # the merged categoricals are the trace schema's (as_trace would redo any other)
        pd.testing.assert_frame_equal(as_trace(many.trace), many.trace)
        pd.testing.assert_frame_equal(one.sends, many.sends)
        pd.testing.assert_frame_equal(one.responses, many.responses)
        pd.testing.assert_frame_equal(one.all_node_stats, many.all_node_stats)
        pd.testing.assert_frame_equal(one.all_journey_stats, many.all_journey_stats)


@pytest.mark.parametrize("engine", ["batched", "per-user"])
def test_the_result_does_not_depend_on_the_period(engine):
    """Periods only group the engine's steps: from 15 minutes to the whole run, in both loops, the
    trace, sends and responses are the same (the default is a month: fewer, larger steps)."""
    prof, ev = cohort(400, seed=21)
    beh = BehaviourModel.default().with_channel("push", view=0.6, click=0.3, lift=GoalLift("Charged", 0.5))
    runs = {
        period: simulate(
            examples.reference_journey(), (prof, ev), START, END, seed=3, behaviour=beh, period=period, engine=engine
        )
        for period in (dt.timedelta(minutes=15), dt.timedelta(days=1), dt.timedelta(days=7), PERIOD)
    }
    base = runs[PERIOD]
    assert dt.timedelta(days=31) == PERIOD > END - START and len(base.trace) > 100 and len(base.responses) > 10
    for period, res in runs.items():
        pd.testing.assert_frame_equal(res.trace, base.trace, obj=f"trace in {period} periods")
        pd.testing.assert_frame_equal(res.sends, base.sends, obj=f"sends in {period} periods")
        pd.testing.assert_frame_equal(res.responses, base.responses, obj=f"responses in {period} periods")


def test_large_per_user_runs_use_every_core_by_default_and_the_rest_stay_in_process():
    from journeylab.engine.multi import JourneySet
    from journeylab.sim.pool import PARALLEL_FROM, auto_workers
    from journeylab.sim.prepare import Prepared

    s0, e0 = int(START.timestamp()), int(END.timestamp())

    def run_of(n_users):
        prof, ev = cohort(n_users, seed=1, per_user=40)
        defs = [examples.reference_journey().definition]
        js = JourneySet(defs, controls={defs[0].id: Control.running_from(s0)})
        return Prepared(js, Cohort(prof, ev), s0, e0, 0, BehaviourModel.default(), 86400)

    small, large = run_of(50), run_of(8000)
    assert small.n_events < PARALLEL_FROM <= large.n_events
    assert auto_workers(small) == 1
    import os
    import sys

    expected = min(len(os.sched_getaffinity(0)), 8) if sys.platform == "linux" else 1
    assert auto_workers(large) == expected
    assert auto_workers(large, batched=True) == 1  # array steps: one process is as fast
    prof, ev = cohort(8000, seed=1, per_user=40)
    batched = simulate(examples.reference_journey(), (prof, ev), START, END)
    per_user = simulate(examples.reference_journey(), (prof, ev), START, END, engine="per-user")
    assert (batched.timings["workers"], per_user.timings["workers"]) == (1, expected)
    pd.testing.assert_frame_equal(batched.trace, per_user.trace)


def test_an_error_in_a_worker_is_raised_in_the_caller_with_the_workers_traceback():
    class Broken(BehaviourModel):
        def for_node(self, channel, node):
            raise ValueError(f"no behaviour for {channel}")

    prof, ev = cohort(200, seed=3)
    with pytest.raises(ValueError, match="no behaviour for push") as info:
        simulate(examples.reference_journey(), (prof, ev), START, END, behaviour=Broken.default(), workers=2)
    assert any("in simulation worker" in n and "for_node" in n for n in getattr(info.value, "__notes__", []))
    for bad in (0, -1, 1.5, "2", True):
        with pytest.raises(JourneyDefinitionError, match="workers") as err:
            simulate(examples.reference_journey(), (prof, ev), START, END, workers=bad)
        assert err.value.path == "workers"


def test_progress_bar_follows_the_workers_to_the_last_period():
    from tqdm.auto import tqdm

    seen = []
    orig = tqdm.close

    def close(self):
        seen.append((self.n, self.total))
        orig(self)

    prof, ev = cohort(300, seed=4)
    tqdm.close = close
    week = dt.timedelta(days=7)
    bars = {}
    try:
        for workers, period in ((1, week), (2, week), (1, PERIOD), (2, PERIOD)):
            seen.clear()
            # the span runs 10 days past the last event: idle periods are skipped
            simulate(
                examples.reference_journey(),
                (prof, ev),
                START,
                END + pd.Timedelta(days=10),
                progress=True,
                workers=workers,
                period=period,
            )
            bars[workers, period.days] = set(seen)
    finally:
        tqdm.close = orig
    weeks = -(-(END - START + pd.Timedelta(days=10)) // week)  # the last one partial
    assert weeks >= 3 and bars[1, 7] == bars[2, 7] == {(weeks, weeks)}
    assert bars[1, 31] == bars[2, 31] == {(1, 1)}  # the default: one month, one step


def test_workers_without_fork_run_in_one_process_and_say_so(monkeypatch):
    import os

    prof, ev = cohort(200, seed=6)
    one = simulate(examples.reference_journey(), (prof, ev), START, END, seed=2, workers=1)
    monkeypatch.delattr(os, "fork")
    with pytest.warns(RuntimeWarning, match="needs os.fork"):
        res = simulate(examples.reference_journey(), (prof, ev), START, END, seed=2, workers=2)
    pd.testing.assert_frame_equal(one.trace, res.trace)


def test_workers_are_reaped_after_the_run():
    import time

    import psutil

    prof, ev = cohort(200, seed=8)
    before = {p.pid for p in psutil.Process().children()}  # e.g. a browser other tests started
    simulate(examples.reference_journey(), (prof, ev), START, END, workers=2)
    deadline = time.monotonic() + 30  # the pool reaps its finished workers in the background
    while [p for p in psutil.Process().children() if p.pid not in before] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.pid for p in psutil.Process().children() if p.pid not in before] == []  # none running, no zombie


def test_scheduled_and_date_time_entries_reach_every_user_in_any_number_of_workers():
    """Journeys whose entries come from the clock (a daily Past Behavior run, a profile date)
    evaluate users who have no events at all; one process and workers agree with the
    reference driver."""
    import datetime as dt

    from journeylab.model import DateTime, Journey, Push

    prof, ev = cohort(300, seed=9)
    ev = ev.copy()
    ev["event"] = ev["event"].replace({"App Launched": "Email Sent", "Page Viewed": "Email Opened"})
    rng = np.random.default_rng(9)
    prof = prof.copy()
    prof["renewal"] = START + pd.to_timedelta(rng.integers(-24, 16 * 24, len(prof)), unit="h")
    silent = prof["user_id"].iloc[::7]  # users with no events: only the clock can bring them in
    ev = ev[~ev["user_id"].isin(silent)].reset_index(drop=True)
    renewal = Journey("Renewal", id="renewal")
    renewal.add(DateTime(id="due", property="renewal", offset=-dt.timedelta(days=1)))
    renewal.then("due", "yes", Push(id="remind", content={"title": "Renews tomorrow"}))
    for journeys in ([examples.email_sunsetting()], [renewal]):
        defs = [j.definition for j in journeys]
        one = simulate(journeys, (prof, ev), START, END, seed=4, workers=1)
        assert len(one.trace) > 100
        assert set(silent) & set(one.trace["user_id"]) or defs[0].id == "email-sunsetting"
        assert sim_rows(one) == reference_trace(defs, prof, ev, one)
        two = simulate(journeys, (prof, ev), START, END, seed=4, workers=2)
        pd.testing.assert_frame_equal(one.trace, two.trace)


def test_an_unsorted_cohort_kept_in_its_order_simulates_like_the_sorted_one():
    """Grouped by user (as Parquet buckets are), not by time: the run orders events itself."""
    prof, ev = cohort(300, seed=11)
    by_user = ev.sort_values("user_id", kind="stable", ignore_index=True)  # each user's events keep their order
    kept = Cohort(prof, by_user, sort=False)
    assert not kept.events["ts"].is_monotonic_increasing
    a = simulate(examples.cart_abandonment(), (prof, ev), seed=2)  # span from the cohort itself
    b = simulate(examples.cart_abandonment(), kept, seed=2)
    assert (a.start, a.end) == (b.start, b.end)
    assert len(a.trace) > 100
    pd.testing.assert_frame_equal(a.trace, b.trace)


def test_cli_simulate_workers(tmp_path, capsys):
    from pathlib import Path

    from journeylab import cli

    src = str(Path(__file__).resolve().parent.parent / "examples" / "cart_abandonment.json")
    outs = {}
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}"
        assert (
            cli.main(
                ["simulate", src, "--dataset", "ecommerce", "--seed", "3", "--workers", workers, "--out", str(out)]
            )
            == 0
        )
        outs[workers] = pd.read_parquet(out / "trace.parquet")
    assert len(outs["1"]) > 1000
    pd.testing.assert_frame_equal(outs["1"], outs["2"])
    assert cli.main(["simulate", src, "--dataset", "ecommerce", "--workers", "0"]) == 2
    assert "workers must be a whole number >= 1" in capsys.readouterr().err


def test_timings_say_where_the_time_went():
    prof, ev = cohort(200, seed=12)
    res = simulate(examples.reference_journey(), (prof, ev), START, END, workers=2)
    t = res.timings
    assert set(t) == {"cohort_s", "prepare_s", "run_s", "results_s", "workers", "batched"}
    assert t["workers"] == 2 and t["batched"] == 1.0 and all(v >= 0 for v in t.values())
    per_user = simulate(examples.reference_journey(), (prof, ev), START, END, engine="per-user").timings
    assert per_user["batched"] == 0.0


def test_property_names_that_are_not_identifiers_are_read_like_the_reference_driver():
    """Regression: profile and event properties named "Customer Type", "plan-tier" or "Ürün" used
    to be pruned by the simulator (a regex over the journey JSON), which then entered nobody."""
    from journeylab.engine import Event
    from journeylab.model import Action, Journey, PropertyFilter, Push

    j = Journey("Odd names", id="odd")
    j.add(
        Action(
            id="bought",
            event="Bought",
            filters=[
                PropertyFilter(property="plan-tier", value="gold"),
                PropertyFilter(property="Ürün", op="contains", value="ayakkabı"),
            ],
            profile=[PropertyFilter(property="Customer Type", value="VIP")],
        )
    )
    j.then("bought", "yes", Push(id="push", content={"title": "Hi {{First Name|there}}"}))
    prof = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3"],
            "Customer Type": ["VIP", "VIP", "new"],
            "push_token": ["t", "t", "t"],
            "First Name": ["Ana", None, "Bo"],
        }
    )
    t0 = pd.Timestamp("2026-10-01 09:00", tz="UTC")
    ev = pd.DataFrame(
        {
            "user_id": ["u1", "u2", "u3"],
            "ts": [t0, t0, t0],
            "event": "Bought",
            "plan-tier": ["gold", "silver", "gold"],
            "Ürün": ["kırmızı ayakkabı"] * 3,
        }
    )
    res = simulate(j, (prof, ev), START, END)
    assert res.node_stats.loc["bought", "entered"] == 1
    assert res.trace.loc[res.trace["event"] == "sent", "user_id"].tolist() == ["u1"]
    drv = ReferenceDriver(
        [j.definition],
        controls={j.id: Control.running_from(int(START.timestamp()))},
        profiles={r.pop("user_id"): {k: v for k, v in r.items() if v is not None} for r in prof.to_dict("records")},
    )
    drv.feed(
        [
            Event(u, int(t0.timestamp()), "Bought", {"plan-tier": p, "Ürün": "kırmızı ayakkabı"})
            for u, p in zip(ev["user_id"], ev["plan-tier"], strict=True)
        ]
    )
    drv.run_until(int(END.timestamp()))
    assert sim_rows(res) == [tuple(r) for r in drv.canonical_trace()]
    assert drv.sends[0].content == {"title": "Hi Ana"}
    # the engine says what the journey reads; the simulator keeps exactly those columns
    from journeylab.engine import Engine

    inputs = Engine(j.definition).inputs
    # ...and, for the push it sends, the default account policy's consent properties of push
    assert inputs.profile == {
        "Customer Type",
        "push_token",
        "First Name",
        "push_opt_out",
        "unsubscribed",
        "push_enabled",
    }
    assert (
        inputs.event_props == {"Bought": {"plan-tier", "Ürün"}, "Unsubscribed": {"channel"}, "Subscribed": {"channel"}}
        and inputs.lead == 0
    )


@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_reference_has_the_simulators_shape_and_gives_its_result(name):
    """One driver shape: ``reference`` takes what ``simulate`` takes (time forms, cohort forms,
    half-open span) and returns the same result: trace, sends, statistics, final profiles."""
    from journeylab.sim import reference

    journeys = JOURNEYS[name]()
    prof, ev = cohort(seed=sorted(JOURNEYS).index(name))
    res = simulate(journeys, (prof, ev), START, END, seed=7)
    ref = reference(
        journeys, Cohort(prof, ev), START.isoformat(), int(END.timestamp()), seed=7, responses=res.responses
    )
    assert trace_rows(ref.trace) == trace_rows(res.trace) and len(res.trace) > 50
    pd.testing.assert_frame_equal(ref.sends, res.sends)
    pd.testing.assert_frame_equal(ref.node_stats, res.node_stats)
    pd.testing.assert_frame_equal(ref.profile_changes, res.profile_changes)
    pd.testing.assert_frame_equal(ref.final_profiles, res.final_profiles)
    if name == "ride_tier":  # the Profile Update node's changes are in the final profiles
        changed = res.profile_changes.groupby(["user_id", "property"])["value"].last()
        fp = res.final_profiles.set_index("user_id")
        assert len(changed) > 20 and all(fp.at[u, p] == v for (u, p), v in changed.items())


def test_responses_can_name_the_node_instead_of_the_message():
    from journeylab.model import Action, Email, Journey, Push
    from journeylab.sim import reference

    j = Journey("Clicks", id="clicks")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="push", response_window=dt.timedelta(hours=2)))
    j.then("push", "clicked", Email(id="thanks"))
    j.then("push", "timeout", Email(id="nudge"))
    prof = pd.DataFrame({"user_id": ["a", "b"], "push_token": "t", "email": "e"})
    ev = pd.DataFrame({"user_id": ["a", "b"], "ts": [START + pd.Timedelta(hours=9)] * 2, "event": "Go"})
    clicks = pd.DataFrame(
        {"user_id": ["a"], "ts": [START + pd.Timedelta(hours=9, minutes=5)], "kind": ["clicked"], "node": ["push"]}
    )
    res = reference(j, (prof, ev), START, START + pd.Timedelta(days=1), responses=clicks)
    sent = res.trace[res.trace["event"] == "sent"]
    assert dict(zip(sent["user_id"], sent["node"].astype(str), strict=False)) == {"a": "thanks", "b": "nudge"}
    by_id = clicks.drop(columns="node").assign(message_id=["clicks:1:a:1:push:1"])
    assert trace_rows(
        reference(j, (prof, ev), START, START + pd.Timedelta(days=1), responses=by_id).trace
    ) == trace_rows(res.trace)


def test_cohort_values_that_cannot_be_used_say_which_row():
    """#16 finding 8: a missing event name (an IndexError deep in the simulator), timestamps past
    what a run can hold (year 9999), a missing user_id (taken for a user) are refused up front."""
    prof, ev = cohort(20)
    for missing in (np.nan, None):
        bad = ev.copy()
        bad.loc[12, "event"] = missing
        with pytest.raises(CohortError, match=r"^events\[12\]\.event: missing event name$"):
            simulate(examples.cart_abandonment(), (prof, bad), START, END)
        bad = ev.copy()
        bad.loc[7, "user_id"] = missing
        with pytest.raises(CohortError, match=r"^events\[7\]\.user_id: missing user_id$"):
            Cohort(prof, bad)
        with pytest.raises(CohortError, match=r"^profiles\[3\]\.user_id: missing user_id$"):
            Cohort(prof.assign(user_id=[*prof["user_id"][:3], missing, *prof["user_id"][4:]]), ev)
    iso = ev["ts"].map(lambda t: t.isoformat()).tolist()
    for ts, reason in (
        ("9999-01-01T00:00:00Z", "timestamp 9999-01-01T00:00:00+00:00 is out of range (1970 to 2200)"),
        ("2262-04-12T00:00:00Z", "timestamp 2262-04-12T00:00:00+00:00 is out of range (1970 to 2200)"),
        ("1969-12-31T23:59:59Z", "timestamp 1969-12-31T23:59:59+00:00 is out of range (1970 to 2200)"),
        ("soon", "cannot read timestamp 'soon': give an ISO 8601 instant such as '2026-10-01T09:00:00+05:30'"),
    ):
        with pytest.raises(CohortError, match=rf"^events\[12\]\.ts: {re.escape(reason)}$"):
            simulate(examples.cart_abandonment(), (prof, ev.assign(ts=[*iso[:12], ts, *iso[13:]])), START, END)
    far = ev.assign(ts=ev["ts"].astype("datetime64[s, UTC]"))  # a unit that can hold year 9999
    far.loc[4, "ts"] = pd.Timestamp("9999-12-31T00:00:00Z")
    with pytest.raises(CohortError, match=r"^events\[4\]\.ts: timestamp 9999-12-31T00:00:00\+00:00 is out of range"):
        Cohort(prof, far)
    assert Cohort(prof, ev.assign(ts=ev["ts"].astype("datetime64[s, UTC]"))).n_events == len(ev)
