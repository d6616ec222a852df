"""The static journey graph: the Plotly figure and the SVG match the journey and the stats."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pandas as pd
import plotly.graph_objects as go
import pytest

from journeylab.charts import journey, journey_svg
from journeylab.examples import cart_abandonment, reference_journey
from journeylab.layout import journey_scene, phantom_id
from journeylab.model import Action, ActionGoal, Email, Inaction, Journey, Push

STATS = pd.DataFrame(
    {
        "entered": [1000, 620, 620, 600, 380],
        "waiting": [0, 0, 20, 70, 0],
        "left_yes": [620, 0, 0, 150, 0],
        "left_next": [0, 620, 600, 0, 360],
        "left_timeout": [0, 0, 0, 380, 0],
        "sent": [0, 590, 0, 0, 360],
        "viewed": [0, 240, 0, 0, 100],
        "clicked": [0, 80, 0, 0, 30],
    },
    index=["cart", "push", "wait", "charged", "reminder"],
)


def nodes_trace(fig: go.Figure) -> go.Scatter:
    tr = fig.data[0]
    assert tr.name == "nodes"
    return tr


def edge_labels(fig: go.Figure) -> dict[str, str]:
    return {a.name[len("edge:") :]: a.text for a in fig.layout.annotations if (a.name or "").startswith("edge:")}


def test_figure_nodes_match_the_journey_and_the_scene() -> None:
    j = cart_abandonment()
    fig = journey(j, title="Cart abandonment")
    tr = nodes_trace(fig)
    ids = list(tr.customdata)
    assert ids == [n.id for n in j.nodes] + ["goal::Purchase"]
    scene = journey_scene(j)
    for i, nid in enumerate(ids):
        assert (tr.x[i], tr.y[i]) == (scene.node(nid).x, scene.node(nid).y)
    by_id = dict(zip(ids, tr.text, strict=True))
    assert "Inaction" in by_id["cart"] and "Push" in by_id["push"] and "Delay" in by_id["wait"]
    assert "Goal" in by_id["goal::Purchase"] and "Charged" in by_id["goal::Purchase"]
    # left to right along the connectors
    x = dict(zip(ids, tr.x, strict=True))
    assert all(x[c.target] > x[c.source] for c in j.connectors)
    assert fig.layout.title.text == "Cart abandonment"
    # one shape per box, named after it, with the kind's colours
    shapes = {s.name: s for s in fig.layout.shapes}
    assert {f"node:{i}" for i in ids} <= set(shapes)
    assert shapes["node:push"].fillcolor != shapes["node:cart"].fillcolor
    # y grows downwards like on the canvas
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]


def test_figure_uses_positions_stored_in_the_model() -> None:
    j = cart_abandonment()
    j.set_positions({n.id: (300.0 * i, 40.0 * i) for i, n in enumerate(j.nodes)})
    tr = nodes_trace(journey(j))
    for i, n in enumerate(j.nodes):
        k = list(tr.customdata).index(n.id)
        assert (tr.x[k], tr.y[k]) == (300.0 * i, 40.0 * i)


def test_counts_on_nodes_and_edges_match_the_stats() -> None:
    j = cart_abandonment()
    fig = journey(j, STATS)
    text = dict(zip(nodes_trace(fig).customdata, nodes_trace(fig).text, strict=True))
    assert "in 1,000" in text["cart"] and "yes 620" in text["cart"]
    assert "sent 590" in text["push"] and "viewed 240" in text["push"] and "clicked 80" in text["push"]
    assert "waiting 70" in text["charged"] and "timeout 380" in text["charged"]
    labels = edge_labels(fig)
    for c in j.connectors:
        want = int(STATS.loc[c.source, f"left_{c.port}"])
        assert labels[f"{c.source}|{c.port}|{c.target}"] == f"{c.port}: {want:,}"
    # waiting users are flagged on their node
    waiting = {a.name: a.text for a in fig.layout.annotations if (a.name or "").startswith("waiting:")}
    assert waiting == {"waiting:wait": "<b>20</b>", "waiting:charged": "<b>70</b>"}


def test_figure_accepts_a_definition_and_a_result_object() -> None:
    j = cart_abandonment()

    class Result:
        node_stats = STATS
        waiting_users = {"charged": ["u1", "u2"]}

    a = journey(j.definition, STATS)
    b = journey(j, Result())
    assert edge_labels(a) == edge_labels(b)
    assert list(a.data[0].text) == list(b.data[0].text)


def test_phantom_window_and_badges() -> None:
    j = Journey("Phantom", id="phantom")
    j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
    j.then("cart", "yes", Push(id="push", content={"title": "Hi"}, response_window=dt.timedelta(hours=6)))
    j.then("push", "clicked", Action(id="bought", event="Charged", window=dt.timedelta(hours=1)))  # no timeout
    j.then("push", "timeout", Email(id="mail", content={"subject": "Hello"}))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    fig = journey(j, {"push": {"left_clicked": 7, "left_timeout": 3}})
    tr = nodes_trace(fig)
    ids = list(tr.customdata)
    assert phantom_id("push") in ids
    assert "6h" in tr.text[ids.index(phantom_id("push"))]
    labels = edge_labels(fig)
    assert labels["push|clicked|bought"] == "clicked: 7" and labels["push|timeout|mail"] == "timeout: 3"
    # the validator warns about 'bought' (a window but no timeout connector): a yellow badge
    from journeylab.validate import validate

    warned = {i.node for i in validate(j).warnings if i.node}
    assert "bought" in warned
    badges = {s.name[len("badge:") :]: s.fillcolor for s in fig.layout.shapes if (s.name or "").startswith("badge:")}
    assert badges.get("bought") == "#eab308"
    assert set(badges) == {i.node for i in validate(j).issues if i.node}


def test_svg_is_well_formed_and_draws_every_box_and_edge() -> None:
    j = reference_journey()
    svg = journey_svg(j, title="Reference")
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    drawn = {g.get("data-id") for g in root.iterfind(".//s:g", ns) if "node" in (g.get("class") or "")}
    assert {n.id for n in j.nodes} <= drawn
    paths = {p.get("data-id") for p in root.iterfind(".//s:path", ns) if p.get("class") == "edge"}
    assert {f"{c.source}|{c.port}|{c.target}" for c in j.connectors} <= paths
    assert "Reference" in svg


@pytest.mark.parametrize("layout", ["stored", "auto"])
def test_empty_journey_draws(layout: str) -> None:
    fig = journey(Journey("Empty", id="empty"), layout=layout)
    assert list(fig.data[0].customdata) == []
    assert journey_svg(Journey("Empty", id="empty")).startswith("<svg")


def test_goal_boxes_show_conversions_and_node_counts_add_up() -> None:
    """On the static graph, each box's counts add up (entered = waiting + left by each port +
    exits by reason) and the goal box shows the users it converted — from the trace."""
    from journeylab.examples import cart_abandonment
    from journeylab.sim import simulate

    j = cart_abandonment()
    res = simulate(j, "ecommerce", seed=1)
    fig = journey(j, res)
    texts = dict(zip(fig.data[0].customdata, fig.data[0].text, strict=True))
    conv = int(res.journey_stats["conversions_Purchase"])
    assert f"converted {conv:,}" in texts["goal::Purchase"]
    t = res.trace
    goal_exits_at_wait = int(
        ((t["node"] == "wait") & (t["event"] == "exited") & (t["detail"].astype(str) == "goal:Purchase")).sum()
    )
    assert goal_exits_at_wait > 0 and f"goal {goal_exits_at_wait:,}" in texts["wait"]
    # bare node statistics of a journey with two goals cannot split conversions: no number is made up
    two = cart_abandonment()
    from journeylab.model import ActionGoal

    two.add_goal(ActionGoal(name="Launch", event="App Launched"))
    scene = journey_scene(two, res.node_stats)
    assert all(n.conversions is None and "converted" not in n.label for n in scene.nodes if n.role == "goal")
