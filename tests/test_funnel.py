"""The funnel answers "where do most users leave, and how": on notebook 06's journey (browse
abandonment, simulated on the bundled e-commerce cohort) the busiest path and every drop-off
are recomputed here from the raw trace rows and compared with the figure."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from journeylab import Journey, charts
from journeylab.charts._data import busiest_path, path_steps, source
from journeylab.model import Action, ActionGoal, Email, Inaction, InApp, Push
from journeylab.model.settings import DayRange, Dnd
from journeylab.sim import simulate
from journeylab.sim.experiments import replicate


def browse_abandonment() -> Journey:
    """The journey notebook 06 builds with the widget, step by step."""
    j = Journey(
        "Browse abandonment",
        id="browse-abandonment",
        timezone="Asia/Kolkata",
        journey_timeout=dt.timedelta(days=2),
        dnd=Dnd(ranges=[DayRange(start=dt.time(22), end=dt.time(9))]),
    )
    j.add(Action(id="action_1", label="Viewed a product", event="Product Viewed"))
    j.then(
        "action_1",
        "yes",
        Inaction(
            id="inaction_1", label="No cart add in 30 min", absent="Added To Cart", within=dt.timedelta(minutes=30)
        ),
    )
    j.then(
        "inaction_1",
        "yes",
        Push(
            id="push_1",
            label="Still looking?",
            response_window=dt.timedelta(hours=6),
            content={"title": "Still thinking about it, {{first_name}}?"},
        ),
    )
    j.then("push_1", "clicked", InApp(id="in_app_1", label="5% off banner", content={"title": "5% off"}))
    j.then("push_1", "timeout", Email(id="email_1", label="Reminder email", content={"subject": "Still interested?"}))
    j.add_goal(ActionGoal(name="Cart add", event="Added To Cart"))
    return j


@pytest.fixture(scope="module")
def run():
    j = browse_abandonment()
    return j, simulate(j, "ecommerce", seed=1)


def _from_trace(trace):  # noqa: ANN001
    """Per node: how users left (by port, by exit straight from the node) and who is still
    there — counted from the raw rows, user by user."""
    out: dict[str, Counter] = {}
    rows = trace[["user_id", "node", "event", "port", "detail"]].astype(str).itertuples(index=False)
    last: dict[str, tuple[str, str]] = {}
    for u, node, ev, port, detail in rows:
        c = out.setdefault(node, Counter())
        if ev == "entered":
            c["entered"] += 1
        elif ev == "left":
            c[("port", port)] += 1
        elif ev == "exited" and last.get(u, ("", ""))[1] != "left":
            c[("exit", detail.split(":")[0])] += 1
        if ev in ("entered", "left", "exited"):
            last[u] = (node, ev)
    for node, ev in last.values():
        if ev == "entered":
            out[node][("waiting", "")] += 1
    return out


def test_busiest_path_and_drop_offs_come_from_the_trace(run) -> None:  # noqa: ANN001
    j, res = run
    flows = _from_trace(res.trace)
    conn = {(c.source, c.port): c.target for c in j.connectors}
    # follow the largest outflow from the entry, as the trace has it
    node, expected = "action_1", [("action_1", "entry")]
    while True:
        outs = {k: v for k, v in flows[node].items() if k != "entered" and k[0] != "waiting"}
        (what, key), _n = max(outs.items(), key=lambda kv: (kv[1], kv[0][0] == "port"))
        if what == "port" and (node, key) in conn:
            node = conn[(node, key)]
            expected.append((node, key))
            continue
        expected.append(("exit", key if what == "exit" else f"completed|{key}"))
        break
    src = source(res)
    assert busiest_path(src) == expected
    # most users who view a product add to cart within 30 minutes: the path ends in the goal exit
    assert expected[1] == ("inaction_1", "yes") and expected[-1][0] == "exit"
    steps = path_steps(src)
    for i, s in enumerate(steps[:-1]):
        here = expected[i][0]
        total = sum(v for k, v in flows[here].items() if k != "entered")
        assert total == flows[here]["entered"]  # everyone who entered is somewhere
        went_on = steps[i + 1].value
        dropped = sum(s.drop.values())
        assert s.value == flows[here]["entered"] if i == 0 else True
        assert went_on + dropped == flows[here]["entered"], (here, went_on, s.drop)
    # the figure draws those numbers: each row = went on + left the path there
    fig = charts.funnel(res)
    on, left = list(fig.data[0].x), list(fig.data[1].x)
    for i, s in enumerate(steps):
        assert on[i] + left[i] == s.value
        if i + 1 < len(steps):
            assert on[i] == steps[i + 1].value and left[i] == sum(s.drop.values())
    # the biggest drop is named, with how users left
    worst = max(range(len(steps) - 1), key=lambda i: left[i])
    assert left[worst] > 0 and steps[worst].drop
    assert list(fig.data[0].y)[0].startswith("Viewed a product")


def test_a_named_path_and_confidence_intervals(run) -> None:  # noqa: ANN001
    j, res = run
    src = source(res)
    steps = path_steps(src, ["action_1", "inaction_1", "push_1", "email_1"])
    flows = _from_trace(res.trace)
    assert [s.value for s in steps] == [
        flows["action_1"]["entered"],
        flows["action_1"][("port", "yes")],
        flows["inaction_1"][("port", "yes")],
        flows["push_1"][("port", "timeout")],
    ]
    # drop-off at the push: clicked (to the in-app), still waiting, exits — not the timeout
    assert "by clicked → 5% off banner" in steps[2].drop or flows["push_1"][("port", "clicked")] == 0
    reps = replicate(j, "ecommerce", n=2, seed=1)
    fig = charts.funnel(res, ["action_1", "inaction_1", "push_1", "email_1"], ci=reps)
    err = fig.data[1].error_x
    assert err is not None and len(err.array) == 4
    m = reps[(reps["scope"] == "node") & (reps["node"] == "action_1") & (reps["stat"] == "left_yes")]
    assert fig.data[0].x[0] + fig.data[1].x[0] == pytest.approx(
        float(reps[(reps["node"] == "action_1") & (reps["stat"] == "entered")]["mean"].iloc[0])
    )
    assert fig.data[0].x[0] == pytest.approx(float(m["mean"].iloc[0]))
