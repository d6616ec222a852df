"""Every action of the journey builder, without a browser: asserted on the model and on
the cytoscape elements the canvas would draw."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

pytest.importorskip("ipycytoscape")

from journeylab.examples import EXAMPLES, cart_abandonment  # noqa: E402
from journeylab.layout import journey_scene, overlapping, phantom_id  # noqa: E402
from journeylab.model import (  # noqa: E402
    NODE_KINDS,
    Action,
    ActionGoal,
    Delay,
    Email,
    Inaction,
    Journey,
    Push,
    Recurring,
    kind_of,
    ports_of,
)
from journeylab.widget import JourneyBuilder  # noqa: E402


def tap(builder: JourneyBuilder, node_id: str, role: str = "node") -> None:
    """What the canvas sends when a node is clicked."""
    cyn = builder.cy_node(node_id if role == "node" else phantom_id(node_id))
    builder._on_node_tap({"data": dict(cyn.data), "position": dict(cyn.position), "group": "nodes"})


def node_classes(builder: JourneyBuilder, node_id: str) -> set[str]:
    return set(builder.cy_node(node_id).classes.split())


def draft() -> Journey:
    """A small valid journey: entry action, push, then a segment waiting for a purchase."""
    j = Journey("Welcome", id="welcome")
    j.add(Action(id="start", event="App Installed"))
    j.then("start", "yes", Push(id="hello", content={"title": "Hi"}))
    j.then("hello", "next", Action(id="bought", event="Charged", window=dt.timedelta(days=1)))
    j.then("bought", "timeout", Email(id="nudge", content={"subject": "Still there?"}))
    return j


# ----------------------------------------------------------------------------- drawing


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_canvas_draws_every_node_and_connector(name: str) -> None:
    j = EXAMPLES[name]()
    b = JourneyBuilder(j)
    assert b.node_count == len(j.nodes)
    graph_nodes = [n for n in b.canvas.graph.nodes if n.data["role"] == "node"]
    assert sorted(n.data["node_id"] for n in graph_nodes) == sorted(n.id for n in j.nodes)
    labels = b.edge_labels()
    for c in j.connectors:
        assert labels[f"{c.source}|{c.port}|{c.target}"].startswith(c.port)
    # edges reference drawn nodes
    cy_ids = {n.data["id"] for n in b.canvas.graph.nodes}
    assert all(e.data["source"] in cy_ids and e.data["target"] in cy_ids for e in b.canvas.graph.edges)
    # kinds are shaped and coloured
    for n in j.nodes:
        d = b.cy_node(n.id).data
        assert d["kind"] == kind_of(n) and d["shape"] and d["fill"].startswith("#")
        assert NODE_KINDS[kind_of(n)].family in node_classes(b, n.id)
    # goals are drawn as special nodes
    assert len(b.elements("goal")) == len(j.goals)


def test_phantom_window_node_for_viewed_and_clicked() -> None:
    j = Journey("Phantom", id="phantom")
    j.add(Action(id="start", event="App Installed"))
    j.then("start", "yes", Push(id="push", content={"title": "Hi"}))
    b = JourneyBuilder(j)
    assert not b.elements("phantom")
    j.then("push", "clicked", Email(id="mail", content={"subject": "Thanks"}))
    (ph,) = b.elements("phantom")
    assert ph.data["node_id"] == "push" and "1d" in ph.data["label"]
    edge = next(e for e in b.cy_edges() if e.data.get("edge_id") == "push|clicked|mail")
    assert edge.data["source"] == ph.data["id"] and edge.data["label"] == "clicked"
    # clicking the phantom selects its engagement node (to edit the response window)
    tap(b, "push", role="phantom")
    assert b.selected == "push"
    assert "response_window" in b._form.editors


def test_model_changes_made_in_code_redraw_the_canvas() -> None:
    j = draft()
    b = JourneyBuilder(j)
    j.then("nudge", "next", Delay(id="later", duration=dt.timedelta(hours=3)))
    assert b.node_count == 5
    assert b.edge_labels()["nudge|next|later"] == "next"


def test_redraws_never_reuse_cytoscape_ids() -> None:
    j = draft()
    b = JourneyBuilder(j)
    first = {n.data["id"] for n in b.canvas.graph.nodes}
    j.add(Action(id="other", event="Other"))
    second = {n.data["id"] for n in b.canvas.graph.nodes}
    assert not first & second  # ipycytoscape adds new views before removing old ones


# ----------------------------------------------------------------------------- palette, connect, delete


@pytest.mark.parametrize("kind", list(NODE_KINDS))
def test_palette_adds_every_kind_with_defaults(kind: str) -> None:
    j = draft()
    b = JourneyBuilder(j)
    b.kind_picker.value = kind
    b.add_button.click()
    new = j.nodes[-1]
    assert kind_of(new) == kind and new.id == f"{kind}_1"
    assert b.node_count == 5 and b.selected == new.id
    assert kind in node_classes(b, new.id)
    assert b.message_kind == "ok"
    b.add_button.click()
    assert j.nodes[-1].id == f"{kind}_2"


def test_palette_adds_after_the_selected_node_by_a_port() -> None:
    j = draft()
    b = JourneyBuilder(j)
    tap(b, "nudge")
    assert [v for _, v in b.after_port.options] == ["", *ports_of(j.node("nudge"))]
    b.kind_picker.value = "delay"
    b.after_port.value = "next"
    b.add_button.click()
    assert ("nudge", "next", "delay_1") in [(c.source, c.port, c.target) for c in j.connectors]
    assert b.edge_labels()["nudge|next|delay_1"] == "next"


def test_connect_offers_only_the_source_ports() -> None:
    j = draft()
    j.add(Delay(id="wait", duration=dt.timedelta(hours=1)))
    b = JourneyBuilder(j)
    b.source_picker.value = "bought"
    assert list(b.port_picker.options) == list(ports_of(j.node("bought")))
    b.source_picker.value = "hello"
    assert list(b.port_picker.options) == list(ports_of(j.node("hello")))
    b.source_picker.value = "nudge"
    b.port_picker.value = "next"
    b.target_picker.value = "wait"
    b.connect_button.click()
    assert ("nudge", "next", "wait") in [(c.source, c.port, c.target) for c in j.connectors]
    assert b.edge_labels()["nudge|next|wait"] == "next"
    # the same port twice is refused, with the reason shown
    b.target_picker.value = "start"
    b.connect_button.click()
    assert b.message_kind == "error" and "already connected" in b.message
    assert len([c for c in j.connectors if c.source == "nudge"]) == 1
    # disconnect through the same row
    b.disconnect_button.click()
    assert not [c for c in j.connectors if c.source == "nudge"]
    assert "nudge|next|wait" not in b.edge_labels()


def test_delete_selected_node_and_selected_edge() -> None:
    j = draft()
    b = JourneyBuilder(j)
    edge = next(e for e in b.cy_edges() if e.data.get("edge_id") == "bought|timeout|nudge")
    b._on_edge_tap({"data": dict(edge.data)})
    assert b.selected_edge == "bought|timeout|nudge"
    assert "selected" in edge.classes.split()
    b.delete_button.click()
    assert ("bought", "timeout", "nudge") not in [(c.source, c.port, c.target) for c in j.connectors]
    assert b.selected_edge is None
    tap(b, "hello")
    b.delete_button.click()
    assert "hello" not in [n.id for n in j.nodes]
    assert not [c for c in j.connectors if "hello" in (c.source, c.target)]
    assert b.node_count == 3 and b.selected is None
    b.delete_button.click()
    assert b.message_kind == "error" and "Nothing selected" in b.message


def test_selection_highlights_the_node_and_fills_the_pickers() -> None:
    b = JourneyBuilder(draft())
    tap(b, "bought")
    assert b.selected == "bought"
    assert "selected" in node_classes(b, "bought")
    assert "selected" not in node_classes(b, "hello")
    assert b.source_picker.value == "bought"
    b.selected = "hello"  # selecting from code works as well
    assert "selected" in node_classes(b, "hello") and "selected" not in node_classes(b, "bought")


def test_dragging_a_node_stores_its_position() -> None:
    j = draft()
    b = JourneyBuilder(j)
    cyn = b.cy_node("hello")
    b._on_node_tapend({"data": dict(cyn.data), "position": {"x": 777.0, "y": 333.0}})
    assert (j.node("hello").position.x, j.node("hello").position.y) == (777.0, 333.0)
    assert dict(b.cy_node("hello").position) == {"x": 777.0, "y": 333.0}
    # a plain click (no movement) changes nothing
    before = j.definition
    b._on_node_tapend({"data": dict(cyn.data), "position": dict(b.cy_node("hello").position)})
    assert j.definition is before


# ----------------------------------------------------------------------------- forms


def test_configure_a_segment_through_its_form() -> None:
    j = draft()
    b = JourneyBuilder(j)
    tap(b, "bought")
    ed = b._form.editors
    ed["event"].control.value = "Order Placed"
    ed["window"].control.value = "2h"
    ed["filters"].control.value = "amount >= 100\nitem = Red Nike Shoes"
    ed["label"].control.value = "Did they buy?"
    b.apply_button.click()
    n = j.node("bought")
    assert n.event == "Order Placed" and n.window == dt.timedelta(hours=2) and n.label == "Did they buy?"
    assert [(f.property, f.op, f.value) for f in n.filters] == [("amount", ">=", 100), ("item", "=", "Red Nike Shoes")]
    assert "window 2h" in b.cy_node("bought").data["label"]
    # unreadable input is refused with the field named, the model unchanged
    b._form.editors["window"].control.value = "soon"
    b.apply_button.click()
    assert b.message_kind == "error" and "window" in b.message
    assert j.node("bought").window == dt.timedelta(hours=2)


def test_configure_delay_profile_update_split_and_engagement() -> None:
    j = draft()
    b = JourneyBuilder(j)
    for kind in ("delay", "profile_update", "split"):
        b.kind_picker.value = kind
        b.add_button.click()
    tap(b, "delay_1")
    b._form.editors["duration"].control.value = ""
    b._form.editors["at_time"].control.value = "10:00"
    b._form.editors["weekdays"].control.value = ("mon", "wed")
    b.apply_button.click()
    d = j.node("delay_1")
    assert d.duration is None and d.at_time == dt.time(10) and d.weekdays == ["mon", "wed"]

    tap(b, "profile_update_1")
    b._form.editors["property"].control.value = "ride_count"
    b._form.editors["op"].control.value = "increment"
    b._form.editors["value"].control.value = "2"
    b.apply_button.click()
    p = j.node("profile_update_1")
    assert (p.property, p.op, p.value) == ("ride_count", "increment", 2)

    tap(b, "split_1")
    b._form.editors["branches"].control.value = "control: 20\nvariant: 80"
    b.apply_button.click()
    assert [(x.name, x.percent) for x in j.node("split_1").branches] == [("control", 20.0), ("variant", 80.0)]
    assert b.source_picker.value == "split_1" and list(b.port_picker.options) == ["control", "variant"]

    tap(b, "hello")
    b._form.editors["content"].control.value = "title: Welcome {{first_name}}\nbody: Glad you're here"
    b._form.editors["send_at"].control.value = "09:30"
    b._form.editors["response_window"].control.value = "6h"
    b.apply_button.click()
    h = j.node("hello")
    assert h.content == {"title": "Welcome {{first_name}}", "body": "Glad you're here"}
    assert h.send_at == dt.time(9, 30) and h.response_window == dt.timedelta(hours=6)


def test_journey_settings_form() -> None:
    j = draft()
    b = JourneyBuilder(j)
    f = b.settings_form
    f.timezone.value = "Asia/Kolkata"
    f.editors["journey_timeout"].control.value = "7d"
    f.editors["reentry"].control.value = True
    f.dnd.on.value = True
    f.dnd.ranges.value = "all 22:00-08:00"
    f.dnd.mode.value = "discard"
    f.editors["limits"].control.value = "3 per day\n1 per week push"
    f.schedule.type.value = "recurring"
    f.schedule.every.value = "month"
    f.schedule.day_of_month.value = "1"
    f.schedule.time.value = "10:00"
    b.settings_apply.click()
    s = j.settings
    assert b.message_kind == "ok", b.message
    assert s.timezone == "Asia/Kolkata" and s.journey_timeout == dt.timedelta(days=7) and s.reentry
    assert s.dnd is not None and s.dnd.mode == "discard"
    assert (s.dnd.ranges[0].start, s.dnd.ranges[0].end) == (dt.time(22), dt.time(8))
    assert [(x.max, x.per, x.channel) for x in s.limits] == [(3, "day", None), (1, "week", "push")]
    assert s.schedule == Recurring(every="month", day_of_month=1, time=dt.time(10))
    # a bad timezone is refused and shown
    f.timezone.value = "Mars/Olympus"
    b.settings_apply.click()
    assert b.message_kind == "error" and "timezone" in b.message
    assert j.settings.timezone == "Asia/Kolkata"
    # start given without an offset is read in the journey's timezone
    f.timezone.value = "Asia/Kolkata"
    f.editors["start"].control.value = "2030-01-01 09:00"
    b.settings_apply.click()
    assert j.settings.start.utcoffset() == dt.timedelta(hours=5, minutes=30)


def test_goals_up_to_three() -> None:
    j = draft()
    b = JourneyBuilder(j)
    for i in range(3):
        b.goal_name.value = f"G{i}"
        b.goal_event.value = "Charged"
        if i == 2:
            b.goal_type.value = "past_behavior"
            b.goal_at_least.value = 2
            b.goal_days.value = 7
        b.goal_add.click()
    assert [g.name for g in j.goals] == ["G0", "G1", "G2"]
    assert len(b.elements("goal")) == 3
    b.goal_name.value, b.goal_event.value = "G3", "Charged"
    b.goal_add.click()
    assert b.message_kind == "error" and "at most 3" in b.message
    assert len(j.goals) == 3
    b.goal_picker.value = "G1"
    b.goal_remove.click()
    assert [g.name for g in j.goals] == ["G0", "G2"]


# ----------------------------------------------------------------------------- undo, align


def test_undo_redo_buttons() -> None:
    j = draft()
    b = JourneyBuilder(j)
    assert not b.undo_button.disabled and b.redo_button.disabled  # the edits made in code can be undone
    b.kind_picker.value = "sms"
    b.add_button.click()
    assert b.node_count == 5 and not b.undo_button.disabled
    b.undo_button.click()
    assert b.node_count == 4 and "sms_1" not in [n.id for n in j.nodes]
    assert not b.redo_button.disabled
    b.redo_button.click()
    assert b.node_count == 5 and "sms_1" in [n.id for n in j.nodes]


def test_auto_align_stores_non_overlapping_positions() -> None:
    j = draft()
    j.set_positions({n.id: (0.0, 0.0) for n in j.nodes})  # everything piled up
    b = JourneyBuilder(j)
    b.align_button.click()
    assert all(n.position is not None for n in j.nodes)
    scene = journey_scene(j)
    assert not overlapping({n.id: (n.x, n.y, n.width, n.height) for n in scene.nodes}, gap=8)
    for n in j.nodes:  # the canvas shows the stored positions
        assert dict(b.cy_node(n.id).position) == {"x": n.position.x, "y": n.position.y}
    assert '"position"' in j.to_json()  # positions travel in the JSON
    xs = {n.id: n.position.x for n in j.nodes}
    assert all(xs[c.target] > xs[c.source] for c in j.connectors)


# ----------------------------------------------------------------------------- publish flow


def test_validation_badges() -> None:
    j = draft()
    j.disconnect("bought", "timeout")  # a segment with a window but no timeout connector: yellow
    j.add(Delay(id="orphan", duration=dt.timedelta(hours=1)))  # nothing leads in, not a segment: red
    b = JourneyBuilder(j)
    assert "badge-warning" in node_classes(b, "bought")
    assert "badge-error" in node_classes(b, "orphan")
    badges = {n.data["node_id"]: n.classes for n in b.elements("badge")}
    assert "dot-warning" in badges["bought"] and "dot-error" in badges["orphan"]
    assert "badge-error" not in node_classes(b, "hello") and "badge-warning" not in node_classes(b, "hello")
    b.validate_button.click()
    assert b.side.selected_index == 2
    assert "orphan" in b.issues_box.value and "bought" in b.issues_box.value
    assert b.message_kind == "error"


def test_publish_refused_with_the_errors_shown() -> None:
    j = draft()
    j.add(Delay(id="orphan", duration=dt.timedelta(hours=1)))
    b = JourneyBuilder(j)
    b.publish_button.click()
    assert j.status == "draft"
    assert b.message_kind == "error" and "cannot be published" in b.message and "orphan" in b.message
    assert b.side.selected_index == 2 and "orphan" in b.issues_box.value
    assert "badge-error" in node_classes(b, "orphan")


def test_after_publish_only_content_is_editable_and_lifecycle_buttons() -> None:
    j = draft()
    b = JourneyBuilder(j)
    b.publish_button.click()
    assert j.status == "running", b.message
    assert b.publish_button.disabled and not b.pause_button.disabled and b.resume_button.disabled
    assert "running" in b.title.value
    # a non-content edit is refused, and shown
    tap(b, "bought")
    b._form.editors["event"].control.value = "Something Else"
    b.apply_button.click()
    assert b.message_kind == "error" and "only the message content" in b.message
    assert j.node("bought").event == "Charged"
    b.kind_picker.value = "sms"
    b.add_button.click()
    assert b.message_kind == "error" and b.node_count == 4
    tap(b, "hello")
    b.delete_button.click()
    assert b.message_kind == "error" and "hello" in [n.id for n in j.nodes]
    # the content of an engagement node is editable
    tap(b, "hello")
    b._form.editors["content"].control.value = "title: Hello again"
    b.apply_button.click()
    assert b.message_kind == "ok" and j.node("hello").content == {"title": "Hello again"}
    # pause / resume / stop
    b.pause_button.click()
    assert j.status == "paused" and not b.resume_button.disabled and b.pause_button.disabled
    b.resume_button.click()
    assert j.status == "running"
    b.stop_button.click()
    assert j.status == "stopped" and b.stop_button.disabled and b.pause_button.disabled
    b.resume()
    assert b.message_kind == "error" and j.status == "stopped"
    b._form.editors["content"].control.value = "title: Too late"
    b.apply_button.click()
    assert b.message_kind == "error" and "stopped" in b.message


# ----------------------------------------------------------------------------- stats overlay


def test_show_stats_on_nodes_and_edges_and_in_the_node_panel() -> None:
    j = cart_abandonment()
    b = JourneyBuilder(j)
    stats = pd.DataFrame(
        {
            "entered": [1000, 620],
            "waiting": [0, 5],
            "left_yes": [620, 0],
            "left_next": [0, 620],
            "sent": [0, 590],
            "viewed": [0, 240],
            "clicked": [0, 80],
        },
        index=["cart", "push"],
    )
    b.show_stats(stats, {"push": ["u1", "u2", "u3"]})
    cart = b.cy_node("cart").data["label"]
    assert "in 1,000" in cart and "yes 620" in cart
    assert "sent 590" in b.cy_node("push").data["label"]
    assert "in 0" in b.cy_node("wait").data["label"]  # missing rows count 0
    assert b.edge_labels()["cart|yes|push"] == "yes: 620"
    assert b.edge_labels()["push|next|wait"] == "next: 620"
    assert "has-waiting" in node_classes(b, "push")
    (waiting,) = [n for n in b.elements("waiting") if n.data["node_id"] == "push"]
    assert waiting.data["label"] == "5"
    tap(b, "push")
    assert "Statistics" in b.node_stats_box.value and "590" in b.node_stats_box.value
    assert "u1" in b.node_stats_box.value and "Users waiting here (3)" in b.node_stats_box.value
    b.clear_stats()
    assert "in 1,000" not in b.cy_node("cart").data["label"] and b.edge_labels()["cart|yes|push"] == "yes"


def test_show_stats_accepts_a_result_object() -> None:
    j = cart_abandonment()
    b = JourneyBuilder(j)

    class Result:
        node_stats = pd.DataFrame({"entered": [9], "left_yes": [4]}, index=["cart"])
        waiting_users = {"cart": ["a"]}

    b.show_stats(Result())
    assert b.edge_labels()["cart|yes|push"] == "yes: 4"
    tap(b, "cart")
    assert "Users waiting here (1)" in b.node_stats_box.value


def test_show_stats_of_a_real_simulation() -> None:
    sim = pytest.importorskip("journeylab.sim")
    from journeylab.examples import purchase_promo

    j = purchase_promo()
    profiles = pd.DataFrame({"user_id": ["ana", "bo", "cy"], "push_token": ["t1", None, "t3"]})
    events = pd.DataFrame(
        {
            "user_id": ["ana", "bo", "cy"],
            "event": ["Charged"] * 3,
            "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00", "2026-10-01 23:50"], utc=True),
        }
    )
    res = sim.simulate(j, (profiles, events), "2026-10-01T00:00Z", "2026-10-02T00:00Z")
    b = JourneyBuilder(j)
    b.show_stats(res)
    ns = res.node_stats
    for n in j.nodes:
        assert f"in {int(ns.loc[n.id, 'entered']):,}" in b.cy_node(n.id).data["label"]
    for c in j.connectors:
        assert (
            b.edge_labels()[f"{c.source}|{c.port}|{c.target}"]
            == f"{c.port}: {int(ns.loc[c.source, 'left_' + c.port]):,}"
        )
    waiting = res.waiting_users
    for nid, users in waiting.items():
        if users:
            tap(b, nid)
            assert f"Users waiting here ({len(users)})" in b.node_stats_box.value


# ----------------------------------------------------------------------------- static fallback


def test_mimebundle_has_a_static_fallback_and_figure() -> None:
    j = cart_abandonment()
    b = JourneyBuilder(j)
    bundle = b._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["image/svg+xml"].startswith("<svg") and "Reminder push" in bundle["image/svg+xml"]
    fig = b.figure()
    assert list(fig.data[0].customdata)[: len(j.nodes)] == [n.id for n in j.nodes]


def test_exported_html_shows_the_static_picture() -> None:
    """Where widgets cannot render (nbconvert HTML without widget state), the SVG shows."""
    nbformat = pytest.importorskip("nbformat")
    nbconvert = pytest.importorskip("nbconvert")
    b = JourneyBuilder(cart_abandonment())
    out = nbformat.v4.new_output("execute_result", data=b._repr_mimebundle_(), execution_count=1)
    cell = nbformat.v4.new_code_cell("builder", outputs=[out], execution_count=1)
    html, _ = nbconvert.HTMLExporter().from_notebook_node(nbformat.v4.new_notebook(cells=[cell]))
    assert 'data-mime-type="image/svg+xml"' in html


def test_close_stops_following_the_journey_and_drawing_errors_never_break_edits(monkeypatch) -> None:
    j = cart_abandonment()
    b = JourneyBuilder(j)
    monkeypatch.setattr(b, "_redraw", lambda: 1 / 0)
    j.add(Action(id="x", event="X"))  # the edit succeeds; the builder reports the problem
    assert "x" in [n.id for n in j.nodes] and b.message_kind == "error" and "ZeroDivisionError" in b.message
    monkeypatch.undo()
    b.close()
    j.add(Action(id="y", event="Y"))
    assert b.node_count == 0  # closed: not redrawn any more


def test_panel_toggle_and_panel_below() -> None:
    b = JourneyBuilder(cart_abandonment())
    assert b.toggle_panel() is False and b.side.layout.display == "none"
    assert b.toggle_panel() is True and b.side.layout.display is None
    below = JourneyBuilder(cart_abandonment(), panel="below", height="300px")
    assert below.canvas.layout.height == "300px" and below.side.layout.width == "100%"


def test_builder_wraps_a_definition_and_rejects_unknown_kinds() -> None:
    d = cart_abandonment().definition
    b = JourneyBuilder(d)
    assert b.journey.definition == d and b.node_count == len(d.nodes)
    assert b.add_node("teleport") is None and b.message_kind == "error"
    j = Journey("x", id="x")
    j.add(Inaction(id="i", event="A", absent="B", within=dt.timedelta(minutes=5)))
    j.add_goal(ActionGoal(name="g", event="B"))
    assert JourneyBuilder(j).node_count == 1


# ----------------------------------------------------------------------------- connecting, defaults, publish


def test_connect_by_clicking_a_port_handle_then_the_target() -> None:
    j = draft()
    j.add(Delay(id="later", duration=dt.timedelta(hours=2)))
    b = JourneyBuilder(j)
    tap(b, "hello")
    handles = {n.data["port"] for n in b.elements("port")}
    assert handles == {"viewed", "clicked", "not_sent", "timeout"}  # the free ports of the push
    port = next(n for n in b.elements("port") if n.data["port"] == "not_sent")
    b._on_node_tap({"data": dict(port.data)})
    assert "port-armed" in b.elements("port")[[n.data["port"] for n in b.elements("port")].index("not_sent")].classes
    tap(b, "later")
    assert ("hello", "not_sent", "later") in {(c.source, c.port, c.target) for c in j.connectors}
    assert b.selected == "hello" and b.message_kind == "ok"
    assert "not_sent" not in {n.data["port"] for n in b.elements("port")}
    # clicking the armed handle again cancels
    port = next(n for n in b.elements("port") if n.data["port"] == "timeout")
    b._on_node_tap({"data": dict(port.data)})
    b._on_node_tap({"data": dict(port.data)})
    tap(b, "later")
    assert b.selected == "later" and len(j.connectors) == 4


def test_dropdown_defaults_chain_adds_and_never_target_the_entry() -> None:
    b = JourneyBuilder(Journey("J", id="j"))
    b.add_button.click()
    assert b.after_port.value == "yes"  # the new node's first free port
    b.kind_picker.value = "push"
    b.add_button.click()
    b.kind_picker.value = "email"
    b.add_button.click()
    assert [(c.source, c.port, c.target) for c in b.journey.connectors] == [
        ("action_1", "yes", "push_1"),
        ("push_1", "next", "email_1"),
    ]
    assert b.target_picker.value != "action_1"
    b.kind_picker.value = "delay"
    b.after_port.value = ""  # "not connected"
    b.add_button.click()
    assert b.target_picker.value == "delay_1"  # the newest node nothing leads to


def test_an_old_refusal_does_not_stay_up() -> None:
    j = draft()
    b = JourneyBuilder(j)
    b.connect("start", None, "hello")
    assert b.message_kind == "error"
    b._run("Move", lambda: j.move("hello", 10, 10))
    assert b.message == ""


def test_published_journey_disables_graph_controls_and_non_content_fields() -> None:
    j = draft()
    b = JourneyBuilder(j)
    assert b.publish()
    for w in (b.add_button, b.connect_button, b.disconnect_button, b.delete_button, b.kind_picker, b.target_picker):
        assert w.disabled
    b.selected = "hello"
    assert b._form.editors["content"].control.disabled is False
    assert all(
        e.control.disabled for k, e in b._form.editors.items() if k != "content" and hasattr(e.control, "disabled")
    )
    assert not b.elements("port")  # no port handles on a published journey
    b.selected = "bought"
    assert b.apply_button.layout.display == "none"


def test_placeholder_content_publishes_with_a_warning() -> None:
    b = JourneyBuilder(Journey("J", id="j"))
    b.add_node("action")
    b.add_node("email", port="yes")
    assert b.publish()
    assert b.message_kind == "warning" and "placeholder" in b.message


def test_show_stats_lays_the_journey_out_again_and_counts_add_up() -> None:
    from journeylab.sim import simulate

    j = cart_abandonment()
    j.move("push", 0, 0)  # a hand position that the bigger boxes would overlap
    b = JourneyBuilder(j)
    res = simulate(j, "ecommerce", seed=1)
    b.show_stats(res)
    assert b.scene.problems() == []
    wait = b.scene.node("wait")
    s = res.node_stats.loc["wait"]
    assert f"goal {int(s['exited_goal']):,}" in wait.label
    goal = b.scene.node("goal::Purchase")
    assert goal.conversions == int(res.journey_stats["conversions_Purchase"])
    assert f"converted {goal.conversions:,}" in goal.label


def test_highlight_a_users_path_from_a_preview_and_from_a_simulation():
    """#18 item 4: the boxes a user entered and the connectors they left by are styled ``on-path``;
    the rest are not; clearing removes it. From a preview and from a result's trace + user id."""
    import pandas as pd

    from journeylab.examples import cart_abandonment
    from journeylab.widget import JourneyBuilder

    b = JourneyBuilder(cart_abandonment())
    p = b.journey.preview(
        {"push_token": "t", "email": "a@x"},
        [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}, {"event": "Charged", "ts": "2026-10-01T20:00Z"}],
    )
    assert b.highlight_path(p) == {"cart", "push", "wait"}

    def on(kind: str) -> set[str]:
        items = b._sync.nodes if kind == "node" else b._sync.edges
        return {k for k, w in items.items() if "on-path" in w.classes.split()}

    assert {k for k in on("node") if "~" not in k} == {"cart", "push", "wait"}
    edges = on("edge")
    assert edges and all(k.split("|")[0] in ("cart", "push") for k in edges)  # wait was left by the goal
    assert {b._sync.edges[k].data["port"] for k in edges} == {"yes", "next"}
    b.clear_highlight()
    assert not on("node") and not on("edge")
    trace = pd.DataFrame([r._asdict() for r in p.steps]).assign(user_id="ana", journey=p.journey)
    assert b.highlight_path(trace, user="ana") == {"cart", "push", "wait"}
    with pytest.raises(LookupError, match="'bob' has no rows"):
        b.highlight_path(trace, user="bob")
    with pytest.raises(ValueError, match="user="):
        b.highlight_path(trace)
