"""The runtime gives exactly the simulator's trace: replaying a cohort's events and the
simulation's recorded responses through the runtime with a replay clock (SQLite and
PostgreSQL), row for row in canonical order."""

from __future__ import annotations

import pandas as pd
import pytest
from runtime_helpers import END, JOURNEYS, START, _slow_only_when_asked, cohort, db_url, profiles_of, rows  # noqa: F401 - fixtures

from journeylab import stats
from journeylab.runtime import ReplayClock, Runtime
from journeylab.sim import simulate
from journeylab.sim.replay import replay_inputs

END_S = int(END.timestamp()) - 1


def _setup(name: str, seed: int, n: int = 150, per_user: int = 20):
    journeys = JOURNEYS[name]()
    prof, ev = cohort(n=n, per_user=per_user, seed=seed)
    res = simulate(journeys, (prof, ev), START, END, seed=7)
    inputs = replay_inputs(ev[ev["ts"] < END], res.responses)
    return [j.definition for j in journeys], prof, res, inputs


def _runtime(defs, url, prof):
    return Runtime(
        defs, url, clock=ReplayClock(START), profiles=profiles_of(prof), created=START - pd.Timedelta(days=30), seed=7
    )


@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_runtime_trace_equals_simulator_row_for_row(name, db_url):  # noqa: F811
    defs, prof, res, inputs = _setup(name, seed=sorted(JOURNEYS).index(name))
    rt = _runtime(defs, db_url, prof)
    if db_url.startswith("sqlite"):
        # the plain API: move the clock to each input's instant, then ingest it (one transaction each)
        for inp in inputs:
            rt.advance_to(inp.ts)
            rt.ingest(inp)
        rt.advance_to(END_S)
    else:
        rt.replay(inputs, until=END_S, batch=250)  # the same, 250 inputs per transaction
    assert len(res.trace) > 300
    assert rows(rt.trace()) == rows(res.trace)
    # the statistics from the stored trace are the simulator's
    for d in defs:
        s = rt.stats(d.id)
        pd.testing.assert_frame_equal(s.nodes, res.node_stats_of(d.id))
        pd.testing.assert_series_equal(s.journey, res.journey_stats_of(d.id), check_names=False)
    # every message the simulator sent is in the outbox, once
    out = {m["id"]: m for m in rt.outbox.rows()}
    assert sorted(out) == sorted(res.sends["message_id"])
    rt.close()


def test_parity_holds_across_restarts_mid_replay(tmp_path):
    defs, prof, res, inputs = _setup("trigger_pair", seed=11, n=120)
    url = f"sqlite:///{tmp_path / 'rt.db'}"
    cuts = [0, len(inputs) // 3, len(inputs) // 2, 2 * len(inputs) // 3, len(inputs)]
    for a, b in zip(cuts, cuts[1:], strict=False):
        rt = _runtime(defs, url, prof)  # a new process would do the same: everything comes from the database
        rt.replay(inputs[a:b], batch=50)
        rt.close()
    rt = _runtime(defs, url, prof)
    rt.advance_to(END_S)
    assert rows(rt.trace()) == rows(res.trace)
    rt.close()


@pytest.mark.slow
@pytest.mark.parametrize("seed", [101, 202])
@pytest.mark.parametrize("name", sorted(JOURNEYS))
def test_runtime_parity_larger_cohorts(name, seed, db_url):  # noqa: F811
    defs, prof, res, inputs = _setup(name, seed=seed, n=400, per_user=25)
    rt = _runtime(defs, db_url, prof)
    rt.replay(inputs, until=END_S, batch=100)
    assert rows(rt.trace()) == rows(res.trace)
    for d in defs:
        pd.testing.assert_frame_equal(
            rt.stats(d.id).nodes, stats.node_stats(res.trace, d.id, nodes=[n.id for n in d.nodes])
        )
    rt.close()


def test_goal_lift_properties_are_replayed(tmp_path):
    """A simulated goal-lift event keeps its properties in ``responses``, so the runtime (and
    the reference driver) replaying them meet the same property-filtered goal."""
    import datetime as dt

    from journeylab.engine import Control, ReferenceDriver
    from journeylab.model import Action, ActionGoal, Delay, Journey, PropertyFilter, Push
    from journeylab.sim import BehaviourModel, GoalLift, Latency

    j = Journey("Promo", id="promo")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="p"))
    j.then("p", "next", Delay(id="wait", duration=dt.timedelta(days=1)))
    j.add_goal(
        ActionGoal(name="Big order", event="Charged", filters=[PropertyFilter(property="amount", op=">", value=50)])
    )
    beh = BehaviourModel.default().with_channel(
        "push",
        delivery=1.0,
        view=1.0,
        view_latency=Latency.fixed(minutes=1),
        click=1.0,
        click_latency=Latency.fixed(minutes=1),
        lift=GoalLift("Charged", 1.0, Latency.fixed(minutes=5), props={"amount": 80}),
    )
    prof = pd.DataFrame({"user_id": ["u"], "push_token": ["t"]})
    ev = pd.DataFrame({"user_id": ["u"], "ts": [START + pd.Timedelta(hours=1)], "event": ["Go"]})
    res = simulate(j, (prof, ev), START, END, behaviour=beh)
    lift = res.responses[res.responses["kind"] == "event"]
    assert lift["props"].tolist() == [{"amount": 80}]
    assert res.journey_stats["conversions"] == 1
    inputs = replay_inputs(ev, res.responses)
    rt = Runtime(
        [j.definition], f"sqlite:///{tmp_path / 'rt.db'}", clock=ReplayClock(START), profiles=profiles_of(prof)
    )
    rt.replay(inputs, until=END_S)
    assert rows(rt.trace()) == rows(res.trace)
    rt.close()
    drv = ReferenceDriver(
        [j.definition], controls={"promo": Control.running_from(int(START.timestamp()))}, profiles=profiles_of(prof)
    )
    drv.feed(inputs)
    drv.run_until(END_S)
    assert [tuple(r) for r in drv.canonical_trace()] == rows(res.trace)


def test_simulator_and_runtime_report_one_stats_type_and_one_trace_schema(tmp_path):
    """Both drivers give the trace with the schema of journeylab.trace (names, order, dtypes)
    and statistics of the one type journeylab.stats.Stats, equal figure for figure."""
    from journeylab.trace import empty_trace

    defs, prof, res, inputs = _setup("reference", seed=5, n=80)
    rt = _runtime(defs, f"sqlite:///{tmp_path / 'rt.db'}", prof)
    rt.replay(inputs, until=END_S, batch=100)
    schema = empty_trace().dtypes.astype(str)
    for trace in (res.trace, rt.trace(), empty_trace()):
        assert list(trace.columns) == list(schema.index)
        assert trace.dtypes.astype(str).tolist() == schema.tolist()
    a, b = res.stats(defs[0].id), rt.stats(defs[0].id)
    assert type(a) is type(b) is stats.Stats
    pd.testing.assert_frame_equal(a.nodes, b.nodes)
    pd.testing.assert_series_equal(a.journey, b.journey, check_names=False)
    pd.testing.assert_frame_equal(a.goals, b.goals)
    assert a.to_dict() == b.to_dict() and int(a.journey["entered"]) > 0
    rt.close()


def test_branches_control_and_attribution_statistics_agree_between_simulator_and_runtime(tmp_path):
    """Issue 17: a Split with a control branch and an attribution window; the runtime's
    statistics (branches, conversions after exit, opt-outs) are the simulator's."""
    import datetime as dt

    from journeylab.model import Action, ActionGoal, Journey, Push, Split, SplitBranch
    from journeylab.sim import BehaviourModel, GoalLift, Latency

    j = Journey(
        "Promo test",
        id="promo-test",
        journey_timeout=dt.timedelta(days=2),
        reentry=True,
        attribution_window=dt.timedelta(hours=12),
    )
    j.add(Action(id="cart", event="Added To Cart"))
    j.then(
        "cart",
        "yes",
        Split(
            id="ab", branches=[SplitBranch(name="push", percent=60), SplitBranch(name="hold", percent=40, control=True)]
        ),
    )
    j.then("ab", "push", Push(id="promo"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    behaviour = (
        BehaviourModel.default()
        .with_channel("push", view=0.6, click=0.5, lift=GoalLift("Charged", 0.5, Latency.fixed(minutes=30)))
        .with_fatigue(["push"], intercept=-3.0, per_day=0.5)
    )
    prof, ev = cohort(n=150, per_user=20, seed=5)
    res = simulate([j], (prof, ev), START, END, seed=7, behaviour=behaviour)
    inputs = replay_inputs(ev[ev["ts"] < END], res.responses)
    rt = Runtime(
        [j.definition],
        f"sqlite:///{tmp_path / 'rt.db'}",
        clock=ReplayClock(START),
        profiles=profiles_of(prof),
        created=START - pd.Timedelta(days=30),
        seed=7,
    )
    rt.replay(inputs, until=END_S, batch=200)
    assert rows(rt.trace()) == rows(res.trace)
    got, want = rt.stats("promo-test"), res.stats("promo-test")
    pd.testing.assert_series_equal(got.journey, want.journey, check_names=False)
    pd.testing.assert_frame_equal(got.branches, want.branches)
    pd.testing.assert_frame_equal(got.goals, want.goals)
    js = want.journey
    assert js["conversions_attributed"] > 0 and js["unsubscribes"] > 0  # both rules acted
    b = want.branches.set_index("branch")
    assert b.loc["hold", "messages"] == 0 and b.loc["hold", "conversions"] > 0 and b.loc["push", "messages"] > 0
    rt.close()
