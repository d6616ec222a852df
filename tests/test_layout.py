"""The layered left-to-right layout and the drawable scene of a journey."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings

from journeylab.examples import EXAMPLES, random_journeys
from journeylab.layout import (
    auto_positions,
    journey_scene,
    label_width,
    layered_layout,
    normalize_stats,
    overlapping,
    phantom_id,
)
from journeylab.model import (
    Action,
    ActionGoal,
    Delay,
    Email,
    ForceExit,
    Inaction,
    Journey,
    JourneyDef,
    Push,
    Sms,
    Split,
    SplitBranch,
)


def boxes(scene):
    return {n.id: (n.x, n.y, n.width, n.height) for n in scene.nodes}


def branching_journey() -> Journey:
    """Segments with three ports, a phantom window, a split and a loop back to the entry."""
    j = Journey("Branching", id="branching")
    j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
    j.then("cart", "yes", Push(id="push", content={"title": "Forgot something?"}))
    j.then("push", "viewed", Email(id="email", content={"subject": "Still there?"}))
    j.then("push", "clicked", Action(id="bought", event="Charged", window=dt.timedelta(hours=1)))
    j.then("push", "timeout", Sms(id="sms", content={"body": "10% off"}))
    j.then("bought", "timeout", Delay(id="wait", duration=dt.timedelta(days=1)))
    j.then(
        "wait",
        "next",
        Split(id="split", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="B", percent=50)]),
    )
    j.then("split", "A", ForceExit(id="bye"))
    j.connect("split", "B", "cart")  # a loop: drawn as an arc back over the graph
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    return j


def test_layered_layout_left_to_right_without_overlaps() -> None:
    sizes = {n: (120, 50) for n in "abcdef"}
    edges = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "e"), ("c", "e"), ("e", "f"), ("f", "a")]
    pos = layered_layout(list("abcdef"), sizes, edges)
    assert set(pos) == set("abcdef")
    # forward edges go right; the cycle-closing edge f -> a is the only one going left
    assert all(pos[t][0] > pos[s][0] for s, t in edges if (s, t) != ("f", "a"))
    assert pos["a"][0] < pos["f"][0]
    # children keep their port order: b (first) above c above d
    assert pos["b"][1] < pos["c"][1] < pos["d"][1]
    assert not overlapping({n: (*pos[n], *sizes[n]) for n in pos}, gap=10)
    # the top-left box corner is at (0, 0) and the result is deterministic
    assert min(x - 60 for x, _ in pos.values()) == 0 and min(y - 25 for _, y in pos.values()) == 0
    assert layered_layout(list("abcdef"), sizes, edges) == pos


def test_layered_layout_label_gaps_widen_only_their_layer() -> None:
    sizes = {n: (100, 40) for n in "abc"}
    base = layered_layout(list("abc"), sizes, [("a", "b"), ("b", "c")])
    wide = layered_layout(list("abc"), sizes, [("a", "b"), ("b", "c")], gaps={("a", "b"): 300})
    assert wide["b"][0] - wide["a"][0] == pytest.approx(100 + 300)
    assert wide["c"][0] - wide["b"][0] == pytest.approx(base["c"][0] - base["b"][0])


def test_layered_layout_handles_self_loops_isolated_nodes_and_long_edges() -> None:
    sizes = {n: (80, 30) for n in "abcdz"}
    pos = layered_layout(list("abcdz"), sizes, [("a", "a"), ("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")])
    assert pos["a"][0] < pos["b"][0] < pos["c"][0] < pos["d"][0]
    assert pos["z"][0] == pos["a"][0]  # a node with no connector starts on the left
    assert not overlapping({n: (*pos[n], *sizes[n]) for n in pos})


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_auto_layout_of_every_example_has_no_overlaps(name: str) -> None:
    j = EXAMPLES[name]()
    pos = auto_positions(j)
    assert set(pos) == {n.id for n in j.nodes}
    scene = journey_scene(j, layout="auto")
    assert not overlapping(boxes(scene), gap=8)
    for c in j.connectors:
        src = (
            phantom_id(c.source)
            if c.port in ("viewed", "clicked", "timeout") and phantom_id(c.source) in boxes(scene)
            else c.source
        )
        if scene.node(c.target).x > scene.node(src).x:
            continue
        # only an edge closing a cycle may run backwards, and it is routed as an arc over the graph
        edge = next(e for e in scene.edges if e.id == f"{c.source}|{c.port}|{c.target}")
        assert edge.back and edge.control is not None


def test_scene_elements_phantom_goals_and_ports() -> None:
    j = branching_journey()
    scene = journey_scene(j)
    ids = {n.id: n for n in scene.nodes}
    assert {n.id for n in j.nodes} | {phantom_id("push"), "goal::Purchase"} == set(ids)
    assert ids[phantom_id("push")].role == "phantom" and ids[phantom_id("push")].node_id == "push"
    assert "1d" in ids[phantom_id("push")].label  # the response window
    assert ids["goal::Purchase"].role == "goal" and "Charged" in ids["goal::Purchase"].label
    edges = {e.id: e for e in scene.edges}
    # viewed/clicked/timeout leave the phantom, the engagement node leads into it
    assert edges["push|viewed|email"].source == phantom_id("push")
    assert edges["push|timeout|sms"].source == phantom_id("push")
    assert edges[f"push->{phantom_id('push')}"].role == "window"
    assert edges["split|A|bye"].label == "A 50%"
    assert edges["split|B|cart"].back
    assert {n.id for n in scene.nodes if n.entry} == {n.id for n in j.definition.entry_nodes()}
    # goals sit in a row under the graph
    graph_bottom = max(n.y + n.height / 2 for n in scene.nodes if n.role != "goal")
    assert ids["goal::Purchase"].y - ids["goal::Purchase"].height / 2 > graph_bottom
    assert not overlapping(boxes(scene), gap=8)


def test_scene_uses_stored_positions_and_places_new_nodes_in_free_space() -> None:
    j = branching_journey()
    j.set_positions({n.id: (i * 400.0, 0.0) for i, n in enumerate(j.nodes)})
    scene = journey_scene(j)
    for i, n in enumerate(j.nodes):
        assert (scene.node(n.id).x, scene.node(n.id).y) == (i * 400.0, 0.0)
    j.add(Action(id="late", event="Late"))  # no position yet
    scene = journey_scene(j)
    assert not overlapping({k: v for k, v in boxes(scene).items()}, gap=0)


def test_stats_view_falls_back_to_auto_layout_when_stored_boxes_would_overlap() -> None:
    j = branching_journey()
    j.set_positions({n.id: (10.0 * i, 0.0) for i, n in enumerate(j.nodes)})  # piled up
    plain = journey_scene(j)
    assert overlapping(boxes(plain))  # the analyst's own (bad) arrangement is kept while designing
    stats = {"cart": {"entered": 1000, "left_yes": 700}}
    scene = journey_scene(j, stats)
    assert not overlapping(boxes(scene), gap=8)  # the stats view arranges itself


def test_scene_labels_carry_counts_and_badges() -> None:
    j = branching_journey()
    stats = {
        "cart": {"entered": 1000, "waiting": 12, "left_yes": 700, "left_no": 250},
        "push": {
            "entered": 700,
            "sent": 650,
            "viewed": 300,
            "clicked": 120,
            "left_viewed": 300,
            "left_clicked": 120,
            "left_timeout": 230,
        },
        "split": {"entered": 40, "left_A": 22, "left_B": 18},
    }

    class It:
        def __init__(self, severity: str, node: str) -> None:
            self.severity, self.node, self.message = severity, node, "x"

    scene = journey_scene(j, stats, {"cart": ["u1", "u2"]}, issues=[It("warning", "bought"), It("error", "sms")])
    cart = scene.node("cart")
    assert "in 1,000" in cart.label and "waiting 12" in cart.label and "yes 700" in cart.label
    assert cart.waiting == 12
    assert "sent 650" in scene.node("push").label and "clicked 120" in scene.node("push").label
    labels = {e.id: e.label for e in scene.edges}
    assert labels["cart|yes|push"] == "yes: 700"
    assert labels["push|viewed|email"] == "viewed: 300"
    assert labels["split|A|bye"] == "A 50%: 22"
    assert labels["bought|timeout|wait"] == "timeout: 0"  # missing columns count 0
    assert scene.node("bought").badge == "warning" and scene.node("sms").badge == "error"
    assert scene.node("cart").badge is None


def test_auto_layout_leaves_room_for_every_edge_label() -> None:
    j = branching_journey()
    stats = {
        n.id: {
            "entered": 123456,
            **{f"left_{p}": 98765 for p in ("yes", "no", "timeout", "next", "viewed", "clicked", "A", "B")},
        }
        for n in j.nodes
    }
    scene = journey_scene(j, stats, layout="auto")
    columns = sorted({n.x for n in scene.nodes if n.role != "goal"})
    for e in scene.edges:
        a, b = scene.node(e.source), scene.node(e.target)
        if e.back or not e.label or columns.index(b.x) != columns.index(a.x) + 1:
            continue
        left_column = max(n.x + n.width / 2 for n in scene.nodes if n.x == a.x and n.role != "goal")
        right_column = min(n.x - n.width / 2 for n in scene.nodes if n.x == b.x and n.role != "goal")
        assert right_column - left_column >= label_width(e.label), e.id


def test_normalize_stats_accepts_dataframes_and_results() -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"entered": [5, 3], "left_yes": [2, None]}, index=["a", "b"])
    assert normalize_stats(df) == {"a": {"entered": 5, "left_yes": 2}, "b": {"entered": 3, "left_yes": 0}}

    class Result:
        node_stats = df

    assert normalize_stats(Result()) == normalize_stats(df)


def test_auto_positions_accept_a_definition() -> None:
    d = branching_journey().definition
    assert isinstance(d, JourneyDef)
    assert auto_positions(d) == auto_positions(Journey.from_def(d))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_journeys(max_nodes=10))
def test_any_journey_draws_without_overlaps(d: JourneyDef) -> None:
    if len({n.id for n in d.nodes}) != len(d.nodes):
        return  # duplicate ids are a validation error, not a drawing
    if any(len({b.name for b in n.branches}) != len(n.branches) for n in d.nodes if hasattr(n, "branches")):
        return  # so are two Split branches of one name (one port, two paths)
    scene = journey_scene(d, layout="auto")
    assert not overlapping(boxes(scene), gap=4)
    # nothing hidden: no label over a box or a label, no connector through a box — with large
    # counts on every box and connector too
    assert scene.problems() == []
    big = {
        n.id: {
            "entered": 123456,
            "waiting": 7,
            "exited_goal": 3,
            **{f"left_{p}": 98765 for p in ("yes", "no", "timeout", "next", "viewed", "clicked", "not_sent")},
        }
        for n in d.nodes
    }
    assert journey_scene(d, big, layout="auto").problems() == []
    journey_scene(d)  # stored positions, whatever they are, never break the drawing


def _lab(hexcolor: str) -> tuple[float, float, float]:
    """CIE L*a*b* of an sRGB colour (D65)."""
    rgb = [int(hexcolor.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    x = (0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2]) / 0.95047
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    z = (0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2]) / 1.08883
    f = [v ** (1 / 3) if v > 0.008856 else 7.787 * v + 16 / 116 for v in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_every_channel_has_its_own_colour() -> None:
    """Fills (and borders) of the channels differ clearly: a colour difference (CIE76 ΔE) of at
    least 10 between any two, so SMS and WhatsApp — or any other pair — are not mistaken."""
    from journeylab.layout import KIND_STYLE
    from journeylab.model.nodes import CHANNELS

    for part in ("fill", "border"):
        for i, a in enumerate(CHANNELS):
            for b in CHANNELS[i + 1 :]:
                la, lb = _lab(KIND_STYLE[a][part]), _lab(KIND_STYLE[b][part])
                de = sum((p - q) ** 2 for p, q in zip(la, lb, strict=True)) ** 0.5
                assert de >= 10, f"{a} and {b} {part}s are too alike (ΔE {de:.1f})"
