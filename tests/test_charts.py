"""Figures: the numbers drawn are the numbers in the trace.

Every test recomputes what a figure should show straight from ``result.trace`` (plain
pandas filters and loops, not :mod:`journeylab.stats`) on a real simulation of the example
journeys over a generated cohort, and compares it with the figure's data.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import msgspec
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from journeylab import charts, examples, stats
from journeylab.charts._data import main_line, source, waiting_over_time
from journeylab.datasets import generate_cohort
from journeylab.model import DayRange, Dnd
from journeylab.sim import BehaviourModel, GoalLift, simulate
from journeylab.sim.experiments import compare, replicate, sweep

START, END = "2026-10-01T00:00Z", "2026-10-15T00:00Z"
BEHAVIOUR = BehaviourModel.default().with_channel("push", view=0.4, click=0.5, lift=GoalLift("Charged", 0.5))
NIGHT = Dnd(ranges=[DayRange(start=dt.time(21, 0), end=dt.time(9, 0))])


def with_dnd(j):
    d = j.definition
    return msgspec.structs.replace(d, settings=msgspec.structs.replace(d.settings, dnd=NIGHT))


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(300, days=14, seed=1)


@pytest.fixture(scope="module")
def ref(cohort):
    """The reference journey with night DND: entry, inaction, push, delay, action, email, force exit, a goal."""
    return simulate(with_dnd(examples.reference_journey()), cohort, START, END, seed=3, behaviour=BEHAVIOUR)


@pytest.fixture(scope="module")
def cart(cohort):
    """Cart abandonment (Asia/Kolkata, a timeout port to an email) with night DND."""
    return simulate(with_dnd(examples.cart_abandonment()), cohort, START, END, seed=5, behaviour=BEHAVIOUR)


@pytest.fixture(scope="module", params=["ref", "cart"])
def res(request):
    return request.getfixturevalue(request.param)


def rows(t, **eq):
    m = np.ones(len(t), dtype=bool)
    for k, v in eq.items():
        m &= (t[k].astype(str) == v).to_numpy()
    return t[m]


def count(t, **eq) -> int:
    return len(rows(t, **eq))


def final_positions(t, until=None):
    """{user: node} of users inside the journey (their last entered/left/exited row is 'entered')."""
    t = t if until is None else t[t["ts"] <= until]
    last = {}
    for u, n, e in zip(t["user_id"], t["node"].astype(str), t["event"].astype(str), strict=True):
        if e in ("entered", "left", "exited"):
            last[u] = (n, e)
    return {u: n for u, (n, e) in last.items() if e == "entered"}


def test_the_fixtures_exercise_every_figure(ref, cart):
    for r in (ref, cart):
        ev = Counter(r.trace["event"].astype(str))
        assert ev["sent"] and ev["deferred"] and ev["viewed"] and ev["clicked"] and ev["discarded"]
        assert any(d.startswith("goal:") for d in r.trace["detail"].astype(str))
        assert 50 < int(r.journey_stats["entered"]) < 300


# ----------------------------------------------------------------------------- funnel


def test_funnel_follows_the_main_line_with_trace_counts(ref):
    t = ref.trace
    fig = charts.funnel(ref, stages=True)
    assert isinstance(fig, go.Figure)
    bar = fig.data[0]
    expected = [
        ("Entered", count(t, event="entered", detail="entry")),
        ("No Charged within 15 min: qualified", count(t, node="no_purchase", event="left", port="yes")),
        ("push: sent", count(t, node="push", event="sent")),
        ("push: viewed", count(t, node="push", event="viewed")),
        ("push: clicked", count(t, node="push", event="clicked")),
        ("Did App Launched?: qualified", count(t, node="launched", event="left", port="yes")),
        ("email: sent", count(t, node="email", event="sent")),
        ("email: viewed", count(t, node="email", event="viewed")),
        ("email: clicked", count(t, node="email", event="clicked")),
        ("Goal: Purchase", count(t, event="exited", detail="goal:Purchase")),
    ]
    assert list(bar.y) == [e[0] for e in expected]
    assert list(bar.x) == [float(e[1]) for e in expected]
    assert [c[2] for c in bar.customdata] == [
        "entered",
        "left_yes",
        "sent",
        "viewed",
        "clicked",
        "left_yes",
        "sent",
        "viewed",
        "clicked",
        "conversions_Purchase",
    ]
    # the shares in the labels are of the first stage
    assert bar.text[2].endswith(f"{expected[2][1] / expected[0][1]:.0%}")


def test_funnel_takes_the_port_that_leads_on(cart):
    """Cart abandonment's action segment leads on by ``timeout``: that is its stage."""
    t = cart.trace
    fig = charts.funnel(cart, responses=False, stages=True)
    assert list(fig.data[0].y) == [
        "Entered",
        "Reminder push: sent",
        "Did Charged?: timed out",
        "Reminder email: sent",
        "Goal: Purchase",
    ]
    assert list(fig.data[0].x) == [
        float(x)
        for x in (
            count(t, event="entered", detail="entry"),
            count(t, node="push", event="sent"),
            count(t, node="charged", event="left", port="timeout"),
            count(t, node="reminder", event="sent"),
            count(t, event="exited", detail="goal:Purchase"),
        )
    ]
    assert main_line(source(cart)) == ["cart", "push", "wait", "charged", "reminder"]


def test_funnel_explicit_path(ref):
    t = ref.trace
    fig = charts.funnel(ref, ["entry", "wait", ("launched", "left_timeout"), "exit", "goal"])
    assert list(fig.data[0].y) == [
        "Entered",
        "Wait 1 day: reached",
        "Did App Launched?: left timeout",
        "exit: reached",
        "Converted (any goal)",
    ]
    assert list(fig.data[0].x) == [
        float(x)
        for x in (
            count(t, event="entered", detail="entry"),
            count(t, node="wait", event="entered"),
            count(t, node="launched", event="left", port="timeout"),
            count(t, node="exit", event="entered"),
            sum(d.startswith("goal:") for d in rows(t, event="exited")["detail"].astype(str)),
        )
    ]
    with pytest.raises(KeyError, match="no node"):
        charts.funnel(ref, ["nope"])


def test_funnel_error_bars_from_monte_carlo_intervals(ref):
    stages = [(c[0], c[1], c[2]) for c in charts.funnel(ref, stages=True).data[0].customdata]
    ci = pd.DataFrame(
        [
            {
                "scope": s,
                "journey": ref.journey.id,
                "node": n,
                "stat": st,
                "mean": 10.0 + i,
                "std": 1.0,
                "n": 8,
                "ci_low": 10.0 + i - 2,
                "ci_high": 10.0 + i + 3,
            }
            for i, (s, n, st) in enumerate(stages)
        ]
    )
    fig = charts.funnel(ref, ci=ci, stages=True)
    bar = fig.data[0]
    assert list(bar.x) == [10.0 + i for i in range(len(stages))]
    assert list(bar.error_x.array) == [3.0] * len(stages)
    assert list(bar.error_x.arrayminus) == [2.0] * len(stages)
    # this run's values stay in the hover data
    assert [c[3] for c in bar.customdata] == list(charts.funnel(ref, stages=True).data[0].x)
    assert "8 runs" in fig.layout.title.subtitle.text


def test_funnel_with_real_replications(cohort):
    j = with_dnd(examples.reference_journey())
    reps = replicate(j, cohort, START, END, n=3, behaviour=BEHAVIOUR)
    runs = [simulate(j, cohort, START, END, seed=s, behaviour=BEHAVIOUR) for s in range(3)]
    from journeylab.charts._data import busiest_path

    path = [n for n, _ in busiest_path(source(runs[0])) if n != "exit"]  # one path for every run
    fig = charts.funnel(runs[0], path, ci=reps)  # error bars at the end of each step's bar
    per_run = np.array(
        [
            [a + b for a, b in zip(charts.funnel(r, path).data[0].x, charts.funnel(r, path).data[1].x, strict=True)]
            for r in runs
        ]
    )
    drawn = np.asarray(fig.data[0].x) + np.asarray(fig.data[1].x)
    assert np.allclose(drawn, per_run.mean(axis=0))
    lo = per_run.mean(axis=0) - np.asarray(fig.data[1].error_x.arrayminus)
    hi = per_run.mean(axis=0) + np.asarray(fig.data[1].error_x.array)
    assert (lo <= per_run.min(axis=0) + 1e-9).all() and (hi >= per_run.max(axis=0) - 1e-9).all()


def test_funnel_from_a_bare_trace(ref):
    """Without a definition the connectors are read off the trace."""
    src = source(ref.trace)
    flows = stats.edge_flows(ref.trace, ref.journey)
    assert set(src.connectors) == {(r.source, r.port, r.target) for r in flows.itertuples() if r.users}
    fig = charts.funnel(ref.trace)
    assert fig.data[0].x[0] + fig.data[1].x[0] == count(ref.trace, event="entered", detail="entry")
    assert list(fig.data[0].x) == list(charts.funnel(ref.trace, definition=ref.journey).data[0].x)


# ----------------------------------------------------------------------------- node statistics


def test_node_stats_chart_matches_the_trace(res):
    t = res.trace
    fig = charts.node_stats(res)
    nodes = [n.id for n in res.journey.nodes]
    by = {tr.name: tr for tr in fig.data}
    for tr in fig.data:
        assert list(tr.customdata) == nodes
    ports = sorted({p for p in rows(t, event="left")["port"].astype(str)})
    for p in ports:
        assert list(by[f"left by {p}"].x) == [count(t, node=n, event="left", port=p) for n in nodes]
    ex = rows(t, event="exited")
    for reason in set(ex["detail"].astype(str)) - {"completed"}:
        name = "exit: goal: " + reason[5:] if reason.startswith("goal:") else f"exit: {reason.replace('_', ' ')}"
        assert list(by[name].x) == [count(t, node=n, event="exited", detail=reason) for n in nodes]
    pos = Counter(final_positions(t).values())
    assert list(by["still waiting"].x) == [pos.get(n, 0) for n in nodes]
    assert list(by["entered"].x) == [count(t, node=n, event="entered") for n in nodes]
    assert list(by["timed out"].x) == [count(t, node=n, event="timed_out") for n in nodes]
    # the left panel's bars add up to the users who entered each node
    stacked = sum(np.asarray(tr.x, dtype=float) for tr in fig.data if tr.type == "bar" and tr.xaxis == "x")
    assert list(stacked) == list(by["entered"].x)
    # send attempts: sent per channel, discarded by reason, deferred / viewed / clicked
    for n in res.journey.nodes:
        kind = type(n).__struct_config__.tag
        if kind in ("push", "email"):
            i = nodes.index(n.id)
            assert by[f"sent: {kind}"].x[i] == count(t, node=n.id, event="sent")
            assert by["discarded: unreachable"].x[i] == count(t, node=n.id, event="discarded", detail="unreachable")
            for stat in ("deferred", "viewed", "clicked"):
                if stat in by:
                    assert by[stat].x[i] == count(t, node=n.id, event=stat)
    assert {tr.xaxis for tr in fig.data} == {"x", "x2"}


def test_node_stats_chart_from_a_node_stats_frame(ref):
    fig = charts.node_stats(ref.node_stats)
    by = {tr.name: tr for tr in fig.data}
    assert list(by["left by yes"].x) == ref.node_stats["left_yes"].tolist()
    assert list(by["entered"].x) == ref.node_stats["entered"].tolist()
    stacked = sum(np.asarray(tr.x, dtype=float) for tr in fig.data if tr.type == "bar" and tr.xaxis == "x")
    assert list(stacked) == ref.node_stats["entered"].tolist()


# ----------------------------------------------------------------------------- sankey


def test_sankey_links_are_the_edge_flows_and_exits(res):
    t = res.trace
    fig = charts.sankey(res)
    sk = fig.data[0]
    nodes = [n.id for n in res.journey.nodes]
    links = list(zip(sk.link.source, sk.link.target, sk.link.value, sk.link.customdata, strict=True))
    conn = {(c[1], c[2], c[3]): v for s, tg, v, c in links if c[0] == "connector"}
    flows = stats.edge_flows(t, res.journey)
    assert conn == {(r.source, r.port, r.target): float(r.users) for r in flows.itertuples() if r.users}
    for (src, port, _), v in conn.items():
        assert v == count(t, node=src, event="left", port=port)
    exits = {(c[1], c[2]): v for s, tg, v, c in links if c[0] == "exit"}
    raw = Counter(
        zip(rows(t, event="exited")["node"].astype(str), rows(t, event="exited")["detail"].astype(str), strict=True)
    )
    assert exits == {k: float(v) for k, v in raw.items()}
    waiting = {c[1]: v for s, tg, v, c in links if c[0] == "waiting"}
    assert waiting == {k: float(v) for k, v in Counter(final_positions(t).values()).items()}
    # every link starts and ends at the node it names
    labels = [c[1] for c in sk.node.customdata]
    for s, tg, _v, c in links:
        assert labels[s] == c[1]
        if c[0] == "connector":
            assert labels[tg] == c[3]
        else:
            assert sk.node.customdata[tg][0] == "sink"
    # conservation: users out of each non-entry node (flows, exits after leaving excepted) = users in
    inflow = defaultdict(float)
    for _s, _t, v, c in links:
        if c[0] == "connector":
            inflow[c[3]] += v
    for n in nodes[1:]:
        if inflow[n]:
            assert inflow[n] == count(t, node=n, event="entered")


# ----------------------------------------------------------------------------- waiting over time


def test_waiting_chart_counts_users_at_each_node(cart):
    t = cart.trace
    fig = charts.waiting(cart)
    tz = cart.journey.settings.timezone
    w = waiting_over_time(t, end=cart.end)
    shown = [tr.customdata[0] for tr in fig.data]
    assert shown == [n for n in (x.id for x in cart.journey.nodes) if w.loc[w["node"] == n, "users"].any()]
    rng = np.random.default_rng(0)
    for tr in fig.data:
        n = tr.customdata[0]
        assert list(tr.y) == w.loc[w["node"] == n, "users"].tolist()
        x = pd.to_datetime(pd.Series(tr.x))
        for i in rng.choice(len(x), 6, replace=False):
            at = pd.Timestamp(x.iloc[i]).tz_localize(tz).tz_convert("UTC")
            assert tr.y[i] == sum(1 for v in final_positions(t, at).values() if v == n), (n, at)


def test_waiting_chart_from_a_tidy_frame(ref):
    w = ref.waiting_over_time
    fig = charts.waiting(w)
    for tr in fig.data:
        assert list(tr.y) == w.loc[w["node"] == tr.customdata[0], "users"].tolist()


# ----------------------------------------------------------------------------- messages


def test_messages_chart_per_local_day_and_hour(cart):
    t = cart.trace
    tz = cart.journey.settings.timezone
    fig = charts.messages(cart)
    sent = rows(t, event="sent")
    local = sent["ts"].dt.tz_convert(tz)
    want_day = Counter(zip(local.dt.strftime("%Y-%m-%d"), sent["detail"].astype(str), strict=True))
    want_hour = Counter(zip(local.dt.hour, sent["detail"].astype(str), strict=True))
    got_day: Counter = Counter()
    got_hour: Counter = Counter()
    late = 0
    for tr in fig.data:
        ch, deferred = tr.customdata[0]
        if tr.xaxis == "x":
            for x, y in zip(tr.x, tr.y, strict=True):
                got_day[(pd.Timestamp(x).strftime("%Y-%m-%d"), ch)] += y
            late += sum(tr.y) if deferred else 0
        else:
            for x, y in zip(tr.x, tr.y, strict=True):
                got_hour[(x, ch)] += y
    assert +got_day == want_day
    assert +got_hour == want_hour
    m = stats.messages_per_day(t, timezone=tz)
    assert {(d.strftime("%Y-%m-%d"), c): v for d, c, v in m.itertuples(index=False)} == dict(want_day)
    # hatched: sends whose previous attempt at that node was deferred by DND
    expect_late, prev = 0, {}
    for u, n, e in zip(t["user_id"], t["node"].astype(str), t["event"].astype(str), strict=True):
        if e in ("deferred", "sent", "discarded"):
            if e == "sent" and prev.get((u, n)) == "deferred":
                expect_late += 1
            prev[(u, n)] = e
    assert late == expect_late > 0
    # DND 21:00-09:00 local: nothing goes out at night
    assert not [h for (h, _), v in want_hour.items() if v and (h >= 21 or h < 9)]


def test_messages_chart_from_messages_per_day(ref):
    m = ref.messages_per_day
    fig = charts.messages(m)
    assert sum(sum(tr.y) for tr in fig.data) == m["messages"].sum() == count(ref.trace, event="sent")


# ----------------------------------------------------------------------------- goals


def test_goals_chart_conversion_per_goal(res):
    t = res.trace
    fig = charts.goals(res)
    entered = count(t, event="entered", detail="entry")
    conv = count(t, event="exited", detail="goal:Purchase")
    bar = fig.data[0]
    assert list(bar.x) == ["Purchase"]
    assert bar.y[0] == pytest.approx(conv / entered)
    assert bar.customdata[0][1] == conv
    fig2 = charts.goals(res, value="conversions")
    assert list(fig2.data[0].y) == [conv]


def test_goals_chart_lists_every_goal(cohort):
    from journeylab.model import ActionGoal

    j = examples.cart_abandonment()
    j.add_goal(ActionGoal(name="Relaunch", event="App Launched"))
    j.add_goal(ActionGoal(name="Never", event="No Such Event"))
    r = simulate(j, cohort, START, END, seed=1)
    t = r.trace
    fig = charts.goals(r, value="conversions")
    assert list(fig.data[0].x) == ["Purchase", "Relaunch", "Never", "any goal"]
    per = [count(t, event="exited", detail=f"goal:{g}") for g in ("Purchase", "Relaunch", "Never")]
    assert list(fig.data[0].y) == [*per, sum(per)]
    assert per[1] > 0 and per[2] == 0


def test_goals_chart_with_intervals(ref):
    ci = pd.DataFrame(
        [
            {
                "scope": "journey",
                "journey": ref.journey.id,
                "node": "",
                "stat": "entered",
                "mean": 200.0,
                "ci_low": 200.0,
                "ci_high": 200.0,
                "n": 5,
            },
            {
                "scope": "journey",
                "journey": ref.journey.id,
                "node": "",
                "stat": "conversions_Purchase",
                "mean": 50.0,
                "ci_low": 40.0,
                "ci_high": 56.0,
                "n": 5,
            },
        ]
    )
    bar = charts.goals(ref, ci=ci).data[0]
    assert bar.y[0] == pytest.approx(0.25)
    assert bar.error_y.array[0] == pytest.approx(0.03) and bar.error_y.arrayminus[0] == pytest.approx(0.05)


def test_time_to_goal_chart_has_one_value_per_conversion(res):
    t = res.trace
    fig = charts.time_to_goal(res, unit="h")
    entry_at = {}
    want = []
    for u, ts, e, d in zip(t["user_id"], t["ts"], t["event"].astype(str), t["detail"].astype(str), strict=True):
        if e == "entered" and d == "entry":
            entry_at[u] = ts
        elif e == "exited" and d == "goal:Purchase":
            want.append((ts - entry_at[u]).total_seconds() / 3600)
    assert sorted(fig.data[0].x) == pytest.approx(sorted(want))
    assert fig.layout.shapes[0].x0 == pytest.approx(float(np.median(want)))
    assert fig.layout.xaxis.title.text == "time from entry to goal (h)"


# ----------------------------------------------------------------------------- several journeys


def test_figures_of_one_journey_among_several(cohort):
    r = simulate(list(examples.journey_trigger_pair()), cohort, START, END, seed=2)
    t2 = rows(r.trace, journey="journey-2")
    fig = charts.funnel(r, journey="journey-2")
    assert fig.data[0].x[0] == count(t2, event="entered", detail="entry") > 0
    sk = charts.sankey(r, journey="journey-2").data[0]
    assert {c[1] for c in sk.link.customdata} <= {n.id for n in r.definition("journey-2").nodes}
    with pytest.raises(ValueError, match="several journeys"):
        charts.funnel(r.trace)


# ----------------------------------------------------------------------------- experiments


def sweep_frame():
    rows_ = []
    for i, v in enumerate(["1 h", "6 h", "24 h"]):
        rows_.append(
            {
                "value": v,
                "scope": "journey",
                "journey": "j",
                "node": "",
                "stat": "conversion_rate",
                "mean": 0.1 * (i + 1),
                "std": 0.01,
                "n": 4,
                "ci_low": 0.1 * (i + 1) - 0.02,
                "ci_high": 0.1 * (i + 1) + 0.03,
            }
        )
        rows_.append(
            {
                "value": v,
                "scope": "node",
                "journey": "j",
                "node": "push",
                "stat": "sent",
                "mean": 50.0 + i,
                "std": 1.0,
                "n": 4,
                "ci_low": 48.0 + i,
                "ci_high": 53.0 + i,
            }
        )
    return pd.DataFrame(rows_)


def test_sweep_chart_line_and_band():
    df = sweep_frame()
    fig = charts.sweep(df, "conversion_rate")
    hi, lo, line = fig.data
    assert list(line.x) == ["1 h", "6 h", "24 h"]
    assert list(line.y) == pytest.approx([0.1, 0.2, 0.3])
    assert list(hi.y) == pytest.approx([0.13, 0.23, 0.33]) and list(lo.y) == pytest.approx([0.08, 0.18, 0.28])
    assert lo.fill == "tonexty"
    fig2 = charts.sweep(df, ["conversion_rate", "push.sent"])
    assert [tr.name for tr in fig2.data if tr.showlegend is not False] == ["conversion rate", "push: sent"]
    assert list(fig2.data[-1].y) == [50.0, 51.0, 52.0]
    with pytest.raises(KeyError):
        charts.sweep(df, "nope")


def test_sweep_chart_of_a_real_sweep(cohort):
    j = examples.cart_abandonment()
    sw = sweep(
        j,
        cohort,
        START,
        END,
        node="charged",
        field="window",
        values=[dt.timedelta(hours=1), dt.timedelta(hours=24)],
        replications=2,
        behaviour=BEHAVIOUR,
    )
    fig = charts.sweep(sw, "reminder.sent")
    line = fig.data[-1]
    assert list(line.x) == ["1 h", "24 h"]
    for v, y in zip(["1 h", "24 h"], line.y, strict=True):
        j2 = examples.cart_abandonment()
        j2.definition  # noqa: B018 - the sweep varies a copy
        d = msgspec.structs.replace(
            j.definition,
            nodes=[
                msgspec.structs.replace(n, window=dt.timedelta(hours=int(v.split()[0]))) if n.id == "charged" else n
                for n in j.definition.nodes
            ],
        )
        runs = [simulate(d, cohort, START, END, seed=s, behaviour=BEHAVIOUR) for s in range(2)]
        assert y == pytest.approx(np.mean([count(r.trace, node="reminder", event="sent") for r in runs]))


def compare_frame():
    return pd.DataFrame(
        [
            {
                "scope": "journey",
                "node": "",
                "stat": "entered",
                "mean_A": 100.0,
                "mean_B": 100.0,
                "diff": 0.0,
                "std": 0.0,
                "n": 5,
                "diff_ci_low": 0.0,
                "diff_ci_high": 0.0,
            },
            {
                "scope": "journey",
                "node": "",
                "stat": "conversions",
                "mean_A": 30.0,
                "mean_B": 36.0,
                "diff": 6.0,
                "std": 1.0,
                "n": 5,
                "diff_ci_low": 4.0,
                "diff_ci_high": 8.0,
            },
            {
                "scope": "node",
                "node": "push",
                "stat": "sent",
                "mean_A": 80.0,
                "mean_B": 70.0,
                "diff": -10.0,
                "std": 2.0,
                "n": 5,
                "diff_ci_low": -13.0,
                "diff_ci_high": -7.0,
            },
            {
                "scope": "node",
                "node": "wait",
                "stat": "sent",
                "mean_A": 0.0,
                "mean_B": 0.0,
                "diff": 0.0,
                "std": 0.0,
                "n": 5,
                "diff_ci_low": 0.0,
                "diff_ci_high": 0.0,
            },
        ]
    )


def test_compare_chart_means_and_paired_difference():
    fig = charts.compare(compare_frame())
    a, b, d = fig.data
    assert (a.name, b.name) == ("A", "B")
    assert list(a.y) == ["entered", "conversions", "push: sent"]  # nodes that never send are left out
    assert list(a.x) == [100.0, 30.0, 80.0] and list(b.x) == [100.0, 36.0, 70.0]
    assert list(d.x) == [0.0, 6.0, -10.0]
    assert list(d.error_x.array) == [0.0, 2.0, 3.0] and list(d.error_x.arrayminus) == [0.0, 2.0, 3.0]
    assert list(d.marker.color) == ["#6b7280", "#15803d", "#b91c1c"]
    fig2 = charts.compare(compare_frame(), ["conversions"], names=["control", "test"])
    assert [tr.name for tr in fig2.data[:2]] == ["control", "test"] and list(fig2.data[0].x) == [30.0]


def test_compare_chart_of_replicate_frames_per_variant():
    base = sweep_frame().drop(columns="value").drop_duplicates(subset=["scope", "node", "stat"])
    other = base.assign(mean=base["mean"] * 2, ci_low=base["ci_low"] * 2, ci_high=base["ci_high"] * 2)
    fig = charts.compare({"now": base, "later": other}, ["conversion_rate", "push.sent"])
    assert [tr.name for tr in fig.data] == ["now", "later"]
    assert list(fig.data[1].y) == pytest.approx([0.2, 100.0])
    assert list(fig.data[0].error_y.array) == pytest.approx([0.03, 3.0])


def test_compare_chart_of_a_real_comparison(cohort):
    a = examples.cart_abandonment().definition
    b = msgspec.structs.replace(
        a, nodes=[msgspec.structs.replace(n, duration=dt.timedelta(hours=4)) if n.id == "wait" else n for n in a.nodes]
    )
    cmp = compare(a, b, cohort, START, END, replications=2, behaviour=BEHAVIOUR)
    fig = charts.compare(cmp, ["conversions", "reminder.sent"])
    runs_b = [simulate(b, cohort, START, END, seed=s, behaviour=BEHAVIOUR) for s in range(2)]
    assert fig.data[1].x[1] == pytest.approx(np.mean([count(r.trace, node="reminder", event="sent") for r in runs_b]))


# ----------------------------------------------------------------------------- look


def test_figures_share_one_look(ref):
    figs = [
        charts.funnel(ref),
        charts.node_stats(ref),
        charts.sankey(ref),
        charts.waiting(ref),
        charts.messages(ref),
        charts.goals(ref),
        charts.time_to_goal(ref),
        charts.sweep(sweep_frame()),
        charts.compare(compare_frame()),
    ]
    for f in figs:
        assert f.layout.title.text and f.layout.template.layout.font.family.startswith("Inter")
        assert f.layout.height
        for tr in f.data:
            assert tr.type == "sankey" or tr.hovertemplate or tr.hoverinfo
    # channels keep their colour everywhere: push orange, email teal
    msg = {tr.customdata[0][0]: tr.marker.color for tr in figs[4].data}
    ns = {tr.name: tr.marker.color for tr in figs[1].data}
    assert msg["push"] == ns["sent: push"] == "#ea580c" and msg["email"] == ns["sent: email"] == "#0d9488"


def test_docs_examples_run(tmp_path, monkeypatch):
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "charts.md").read_text()
    blocks = [b.split("\n```", 1)[0] for b in doc.split("```python\n")[1:]]
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "docs/charts.md", "exec"), {})
    assert (tmp_path / "report.html").stat().st_size > 3_000_000
    for name in (
        "funnel",
        "node_stats",
        "sankey",
        "waiting",
        "messages",
        "goals",
        "time_to_goal",
        "sweep",
        "compare",
    ):
        assert f"charts.{name}(" in doc, name


def test_message_load_per_user_per_day_across_journeys():
    """The table and the chart count, per local day, the messages each user got from every
    journey of the run, recomputed here from the raw sent rows."""
    from journeylab import stats as st

    res = simulate([examples.cart_abandonment(), examples.purchase_promo()], "ecommerce", seed=1)
    t = res.trace
    sent = t[t["event"].astype(str) == "sent"]
    day = sent["ts"].dt.tz_convert("Asia/Kolkata").dt.tz_localize(None).dt.normalize()
    per = sent.groupby([sent["user_id"].astype(str), day]).size()
    assert (per.groupby(level=1).max() >= 1).all()
    load = res.message_load
    assert load["messages"].sum() == len(sent) and load["users"].sum() == len(per)
    for _, r in load.iterrows():
        counts = per.xs(r["day"], level=1)
        assert r["max"] == counts.max() and r["users_1"] == (counts == 1).sum() and r["users_4+"] == (counts >= 4).sum()
    assert set(res.messages_per_user_day.columns) == {"user_id", "day", "messages", "journeys", "capped"}
    assert res.messages_per_user_day["capped"].sum() == 0  # no account caps in this run
    assert res.messages_per_user_day["journeys"].max() <= 2
    assert st.message_load(t.iloc[:0]).empty
    fig = charts.message_load(res)
    one = next(tr for tr in fig.data if tr.name == "users with 1 message that day")
    assert list(one.y) == load["users_1"].tolist()
    assert list(fig.data[-1].y) == load["max"].tolist()
