"""JourneyBuilder: a notebook app that edits a :class:`~journeylab.model.Journey` on a canvas.

The widget adapts the model, never the reverse: every button and form calls the
:class:`~journeylab.model.Journey` API (so the lifecycle rules hold and edits can be
undone), and every model change — from the widget or from code in another cell — redraws
the canvas through the journey's ``on_change`` listener.

Layout of the app::

    [name · status]  Undo  Redo  Auto Align & Space  Validate  Publish  Pause  Resume  Stop
    Add [kind ▾] after [port of the selected node ▾] (Add)   Connect [from ▾][port ▾][to ▾] (Connect) (Disconnect)  (Delete selected)
    message line (what happened, or why an edit was refused)
    ┌──────────── canvas (ipycytoscape) ─────────────┐ ┌ Node | Journey | Issues ┐
    │ boxes left to right, labelled edges, badges     │ │ settings form, stats,   │
    └─────────────────────────────────────────────────┘ └ waiting users, issues   ┘

Cytoscape elements carry the journey in their ``data``: ``node_id`` (the model node),
``role`` (``node``, ``phantom``, ``goal``, ``badge``, ``waiting``), ``kind``, ``label``;
edges carry ``port``, ``label`` and ``edge_id`` (``source|port|target``). Classes mark the
family, ``entry``, ``selected`` and the validation badges (``badge-error``,
``badge-warning``).
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipycytoscape as cy
import ipywidgets as W
import traitlets

from journeylab.errors import JourneyError
from journeylab.layout import (
    BADGE_COLORS,
    EDGE_COLORS,
    Scene,
    _is_frame,
    auto_positions,
    journey_scene,
    normalize_stats,
)
from journeylab.model import lifecycle
from journeylab.model.conditions import EventCount
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import NODE_KINDS, Engagement, kind_of, ports_of
from journeylab.model.settings import ActionGoal, PastBehaviorGoal
from journeylab.widget.forms import SettingsForm, StructForm, parse_filters

__all__ = ["JourneyBuilder", "default_node", "new_node_id", "CYTOSCAPE_STYLE"]

_FONT = "DejaVu Sans, Verdana, Arial, sans-serif"

def new_node_id(kind: str, existing: Sequence[str] | set[str]) -> str:
    """The first free id ``<kind>_<n>``.

    >>> new_node_id("push", {"push_1", "push_2"})
    'push_3'
    """
    taken = set(existing)
    n = 1
    while f"{kind}_{n}" in taken:
        n += 1
    return f"{kind}_{n}"


def default_node(kind: str, node_id: str) -> Any:
    """A node of ``kind`` with default settings (what the palette adds).

    >>> default_node("delay", "delay_1")
    Delay(id='delay_1', label='', position=None, duration=datetime.timedelta(days=1), at_time=None, weekdays=[], property=None, offset=datetime.timedelta(0))
    """
    return NODE_KINDS[kind].palette_node(node_id)


# ----------------------------------------------------------------------------- cytoscape style

CYTOSCAPE_STYLE: list[dict[str, Any]] = [
    {
        "selector": "node",
        "style": {
            "shape": "data(shape)",
            "background-color": "data(fill)",
            "border-color": "data(border)",
            "border-width": 1.5,
            "width": "data(w)",
            "height": "data(h)",
            "label": "data(label)",
            "text-wrap": "wrap",
            "text-max-width": "data(tw)",
            "text-valign": "center",
            "text-halign": "center",
            "font-size": 11,
            "font-family": _FONT,
            "color": "#111827",
        },
    },
    {"selector": "node.entry", "style": {"border-width": 3}},
    {"selector": "node.phantom", "style": {"border-style": "dashed", "color": "#374151"}},
    {"selector": "node.goal", "style": {"border-width": 2}},
    {"selector": "node.badge-warning", "style": {"border-color": "#eab308", "border-width": 3}},
    {"selector": "node.badge-error", "style": {"border-color": "#dc2626", "border-width": 3}},
    {
        "selector": "node.selected",
        "style": {"border-color": "#1d4ed8", "border-width": 4},
    },
    {
        "selector": "node.badge",
        "style": {
            "shape": "ellipse",
            "width": 18,
            "height": 18,
            "label": "data(label)",
            "font-size": 12,
            "font-weight": "bold",
            "color": "white",
            "border-width": 1.5,
            "border-color": "white",
            "text-max-width": 18,
        },
    },
    {"selector": "node.badge.badge-error", "style": {"background-color": "#dc2626"}},
    {"selector": "node.badge.badge-warning", "style": {"background-color": "#eab308", "color": "#111827"}},
    {
        "selector": "node.waiting",
        "style": {
            "shape": "round-rectangle",
            "background-color": "#f97316",
            "border-width": 0,
            "height": 16,
            "font-size": 10,
            "font-weight": "bold",
            "color": "white",
        },
    },
    {
        "selector": "edge",
        "style": {
            "curve-style": "bezier",
            "width": 1.5,
            "line-color": "data(color)",
            "target-arrow-color": "data(color)",
            "target-arrow-shape": "triangle",
            "arrow-scale": 1.1,
            "label": "data(label)",
            "font-size": 10,
            "font-family": _FONT,
            "color": "#111827",
            "text-background-color": "#ffffff",
            "text-background-opacity": 0.92,
            "text-background-padding": 2,
            "text-background-shape": "round-rectangle",
            "text-border-width": 1,
            "text-border-color": "data(color)",
            "text-border-opacity": 1,
        },
    },
    {"selector": "edge.window", "style": {"line-style": "dashed"}},
    {
        "selector": "edge.back",
        "style": {"curve-style": "unbundled-bezier", "control-point-distances": "data(cpd)", "control-point-weights": 0.5},
    },
    {"selector": "edge.selected", "style": {"width": 3.5, "line-color": "#1d4ed8", "target-arrow-color": "#1d4ed8"}},
]

_CY_LAYOUT = {"name": "preset", "fit": True, "padding": 24, "animate": False}


def _color_of(role: str, port: str) -> str:
    return EDGE_COLORS["window"] if role == "window" else EDGE_COLORS.get(port, EDGE_COLORS["other"])


# ----------------------------------------------------------------------------- the builder


class JourneyBuilder(W.VBox):
    """Design a journey on a canvas in the notebook.

    ``JourneyBuilder(journey)`` shows the journey (a :class:`~journeylab.model.Journey`;
    a :class:`~journeylab.model.JourneyDef` is wrapped) and edits it in place. The canvas
    is ``height`` tall (set once: ipycytoscape clips a graph whose height changes later).

    * ``selected``: the id of the selected node (set by a click on the canvas, or by code);
      ``selected_edge``: the selected connector as ``source|port|target``.
    * Methods mirror the buttons: :meth:`add_node`, :meth:`connect`, :meth:`delete_selected`,
      :meth:`apply_node_form`, :meth:`apply_settings_form`, :meth:`auto_align`,
      :meth:`validate`, :meth:`publish`, :meth:`pause`, :meth:`resume`, :meth:`stop`,
      :meth:`undo`, :meth:`redo`, :meth:`show_stats`, :meth:`clear_stats`.
    * ``message`` holds the last message shown (``message_kind``: ``ok``/``info``/``error``).
    * :meth:`figure` is the same picture as a static Plotly figure; where widgets cannot
      render (exported HTML, GitHub), the notebook output falls back to an SVG of it.
    """

    selected = traitlets.Unicode(None, allow_none=True)
    selected_edge = traitlets.Unicode(None, allow_none=True)

    def __init__(
        self,
        journey: Journey | JourneyDef,
        *,
        height: str = "520px",
        side_width: str = "330px",
        panel: str = "right",
        node_stats: Any = None,
        waiting_users: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        if isinstance(journey, JourneyDef):
            journey = Journey.from_def(journey)
        self.journey: Journey = journey
        self.message: str = ""
        self.message_kind: str = "info"
        self.report: Any = None
        self.scene: Scene | None = None
        self._stats: dict[str, dict[str, int]] | None = None
        self._waiting: dict[str, list[Any]] | None = None
        self._gen = 0
        self._keys: tuple[Any, ...] | None = None
        self._cy_nodes: dict[str, cy.Node] = {}
        self._cy_edges: dict[str, cy.Edge] = {}
        self._trash: list[list[W.Widget]] = []
        self._form: StructForm | None = None
        self._form_node: Any = None
        self._settings_def: Any = None

        # -- canvas
        self.canvas = cy.CytoscapeWidget(layout=W.Layout(height=height, width="100%", border="1px solid #e5e7eb"))
        self.canvas.min_zoom = 0.2
        self.canvas.max_zoom = 1.6
        self.canvas.wheel_sensitivity = 0.3
        self.canvas.tooltip_source = "_no_tooltip"
        self.canvas.set_style(CYTOSCAPE_STYLE)
        self.canvas.cytoscape_layout = dict(_CY_LAYOUT)
        self.canvas.on("node", "tap", self._on_node_tap)
        self.canvas.on("edge", "tap", self._on_edge_tap)
        self.canvas.on("node", "tapend", self._on_node_tapend)

        # -- toolbar
        def button(text: str, icon: str, fn: Callable[[], Any], tip: str, style: str = "") -> W.Button:
            b = W.Button(description=text, icon=icon, tooltip=tip, button_style=style,
                         layout=W.Layout(width="auto"))
            b.on_click(lambda _b: fn())
            return b

        self.title = W.HTML()
        self.undo_button = button("Undo", "undo", self.undo, "Undo the last edit")
        self.redo_button = button("Redo", "repeat", self.redo, "Redo the last undone edit")
        self.align_button = button("Auto Align & Space", "sitemap", self.auto_align,
                                   "Lay the journey out left to right, with room for every count")
        self.validate_button = button("Validate", "check", self.validate, "Check the journey for errors and warnings")
        self.publish_button = button("Publish", "rocket", self.publish, "Validate and publish", "success")
        self.pause_button = button("Pause", "pause", self.pause, "No new entries; users inside keep moving")
        self.resume_button = button("Resume", "play", self.resume, "Accept new entries again")
        self.stop_button = button("Stop", "stop", self.stop, "Stop for good: users inside exit", "danger")
        self.panel_button = button("Panel", "columns", self.toggle_panel, "Hide or show the side panel")
        toolbar = W.HBox(
            [self.title, self.undo_button, self.redo_button, self.align_button, self.validate_button,
             self.publish_button, self.pause_button, self.resume_button, self.stop_button, self.panel_button],
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )

        # -- palette, connect, delete
        families = {"segment": "Segment", "engagement": "Engage", "controller": "Controller"}
        self.kind_picker = W.Dropdown(
            options=[(f"{families[i.family]} · {i.title}", k) for k, i in NODE_KINDS.items()],
            value="action", description="Add", layout=W.Layout(width="250px"),
            style={"description_width": "30px"},
        )
        self.after_port = W.Dropdown(options=[("not connected", "")], value="", description="after selected by",
                                     layout=W.Layout(width="250px"), style={"description_width": "110px"})
        self.add_button = button("Add", "plus", lambda: self.add_node(self.kind_picker.value,
                                                                      port=self.after_port.value or None),
                                 "Add a node of this kind (after the selected node by this port)", "primary")
        self.source_picker = W.Dropdown(description="Connect", layout=W.Layout(width="200px"),
                                        style={"description_width": "55px"})
        self.port_picker = W.Dropdown(description="by", layout=W.Layout(width="140px"),
                                      style={"description_width": "20px"})
        self.target_picker = W.Dropdown(description="to", layout=W.Layout(width="170px"),
                                        style={"description_width": "20px"})
        self.connect_button = button("Connect", "link", lambda: self.connect(
            self.source_picker.value, self.port_picker.value, self.target_picker.value), "Draw this connector")
        self.disconnect_button = button("Disconnect", "unlink", lambda: self.disconnect(
            self.source_picker.value, self.port_picker.value), "Remove the connector that leaves by this port")
        self.delete_button = button("Delete selected", "trash", self.delete_selected,
                                    "Delete the selected node (with its connectors) or the selected connector",
                                    "warning")
        self.source_picker.observe(lambda _c: self._refresh_ports(), "value")
        palette = W.HBox([self.kind_picker, self.after_port, self.add_button],
                         layout=W.Layout(flex_flow="row wrap", align_items="center"))
        connect_row = W.HBox(
            [self.source_picker, self.port_picker, self.target_picker, self.connect_button, self.disconnect_button,
             self.delete_button],
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )
        self.message_box = W.HTML(layout=W.Layout(min_height="24px"))

        # -- side panel: node, journey settings, issues
        self.node_header = W.HTML()
        self.node_stats_box = W.HTML()
        self.node_form_box = W.VBox()
        self.apply_button = button("Apply", "check", self.apply_node_form, "Save these settings of the node", "primary")
        self.node_panel = W.VBox([self.node_header, self.node_stats_box, self.node_form_box, self.apply_button])

        self.settings_form = SettingsForm(self.journey.settings)
        self.settings_apply = button("Apply settings", "check", self.apply_settings_form,
                                     "Save the journey settings", "primary")
        self.goals_box = W.HTML()
        self.goal_name = W.Text(description="goal name", style={"description_width": "120px"},
                                layout=W.Layout(width="98%"))
        self.goal_type = W.Dropdown(options=[("action (at once)", "action"), ("past behaviour (daily)", "past_behavior")],
                                    value="action", description="goal type", style={"description_width": "120px"},
                                    layout=W.Layout(width="98%"))
        self.goal_event = W.Text(description="event", style={"description_width": "120px"},
                                 layout=W.Layout(width="98%"))
        self.goal_filters = W.Text(description="filters", placeholder="item = Red Nike Shoes",
                                   style={"description_width": "120px"}, layout=W.Layout(width="98%"))
        self.goal_at_least = W.BoundedIntText(value=1, min=1, max=10**6, description="at least (times)",
                                              style={"description_width": "120px"}, layout=W.Layout(width="98%"))
        self.goal_days = W.BoundedIntText(value=7, min=1, max=3650, description="in the last (days)",
                                          style={"description_width": "120px"}, layout=W.Layout(width="98%"))
        self.goal_add = button("Add goal", "flag-checkered", self.add_goal_from_form, "Add this goal (at most 3)")
        self.goal_picker = W.Dropdown(description="goal", style={"description_width": "120px"},
                                      layout=W.Layout(width="98%"))
        self.goal_remove = button("Remove goal", "times", lambda: self.remove_goal(self.goal_picker.value),
                                  "Remove the chosen goal")
        self.journey_panel = W.VBox(
            [W.HTML("<b>Journey settings</b>"), self.settings_form.widget, self.settings_apply,
             W.HTML("<hr><b>Goals</b> (at most 3)"), self.goals_box, self.goal_name, self.goal_type, self.goal_event,
             self.goal_filters, self.goal_at_least, self.goal_days, self.goal_add, self.goal_picker, self.goal_remove]
        )
        self.issues_box = W.HTML()
        self.side = W.Tab(children=[self.node_panel, self.journey_panel, self.issues_box],
                          layout=W.Layout(width=side_width, min_width=side_width, max_height=f"calc({height} + 60px)",
                                          overflow="auto"))
        for i, t in enumerate(["Node", "Journey", "Issues"]):
            self.side.set_title(i, t)
        canvas_box = W.Box([self.canvas], layout=W.Layout(flex="1 1 auto", min_width="300px", width="100%"))
        if panel == "below":
            self.side.layout.width = "100%"
            self.side.layout.max_height = None
            body: W.Box = W.VBox([canvas_box, self.side], layout=W.Layout(width="100%"))
        else:
            body = W.HBox([canvas_box, self.side], layout=W.Layout(width="100%", align_items="flex-start"))
        super().__init__([toolbar, palette, connect_row, self.message_box, body], layout=W.Layout(width="100%"))
        self.add_class("journeylab-builder")
        self.observe(self._on_selected, "selected")
        self.observe(self._on_selected_edge, "selected_edge")
        if node_stats is not None:
            self._set_stats(node_stats, waiting_users)
        self.journey.on_change(self._on_model_change)
        self.refresh()

    # ------------------------------------------------------------------ public: state
    @property
    def node_count(self) -> int:
        """How many journey nodes the canvas draws (not counting phantom, goal and badge boxes)."""
        return sum(1 for n in self._cy_nodes.values() if n.data.get("role") == "node")

    def elements(self, role: str | None = None) -> list[cy.Node]:
        """The cytoscape nodes on the canvas (of one ``role`` if given)."""
        return [n for n in self._cy_nodes.values() if role is None or n.data.get("role") == role]

    def cy_node(self, node_id: str) -> cy.Node:
        """The cytoscape node drawing journey node ``node_id``."""
        return self._cy_nodes[node_id]

    def cy_edges(self) -> list[cy.Edge]:
        return list(self._cy_edges.values())

    def edge_labels(self) -> dict[str, str]:
        """``{edge_id: label}`` of the drawn connectors (``source|port|target``)."""
        return {k: e.data.get("label", "") for k, e in self._cy_edges.items()}

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, kind: str = "info") -> None:
        self.message, self.message_kind = text, kind
        color = {"ok": "#166534", "info": "#1f2937", "error": "#991b1b", "warning": "#854d0e"}[kind]
        bg = {"ok": "#dcfce7", "info": "#f3f4f6", "error": "#fee2e2", "warning": "#fef9c3"}[kind]
        body = html.escape(text).replace("\n", "<br>")
        self.message_box.value = (
            f'<div class="jl-message jl-{kind}" style="color:{color};background:{bg};padding:4px 8px;'
            f'border-radius:4px;font-size:13px">{body}</div>'
            if text
            else ""
        )

    def _run(self, what: str, fn: Callable[[], Any], ok: str | None = None) -> Any:
        """Run one edit; a refused edit becomes a message, not a traceback."""
        try:
            result = fn()
        except (JourneyError, ValueError, TypeError, KeyError, ImportError) as e:
            msg = getattr(e, "message", None) or str(e)
            if isinstance(e, KeyError):
                msg = f"no such node: {e.args[0]}"
            self._say(f"{what} refused: {msg}", "error")
            return None
        if ok is not None:
            self._say(ok, "ok")
        return result if result is not None else True

    # ------------------------------------------------------------------ editing actions
    def add_node(self, kind: str, *, after: str | None = None, port: str | None = None, node_id: str | None = None) -> str | None:
        """Add a node of ``kind`` with default settings and a generated id (connected from
        ``after`` — default: the selected node — by ``port`` when a port is given); selects it."""
        if kind not in NODE_KINDS:
            self._say(f"Add refused: unknown node kind {kind!r}", "error")
            return None
        nid = node_id or new_node_id(kind, {n.id for n in self.journey.nodes})
        node = default_node(kind, nid)
        source = after or self.selected
        if port:
            if not source:
                self._say("Add refused: select the node to connect from first", "error")
                return None
            done = self._run("Add", lambda: self.journey.then(source, port, node),
                             f"Added {NODE_KINDS[kind].title} {nid!r} after {source!r} by {port!r}")
        else:
            done = self._run("Add", lambda: self.journey.add(node), f"Added {NODE_KINDS[kind].title} {nid!r}")
        if done:
            self.selected = nid
            return nid
        return None

    def connect(self, source: str | None, port: str | None, target: str | None) -> bool:
        """Draw a connector ``source`` --port--> ``target``."""
        if not (source and port and target):
            self._say("Connect refused: choose a source node, one of its ports and a target node", "error")
            return False
        return bool(self._run("Connect", lambda: self.journey.connect(source, port, target),
                              f"Connected {source!r} by {port!r} to {target!r}"))

    def disconnect(self, source: str | None, port: str | None) -> bool:
        """Remove the connector leaving ``source`` by ``port``."""
        if not (source and port):
            self._say("Disconnect refused: choose the source node and port", "error")
            return False
        return bool(self._run("Disconnect", lambda: self.journey.disconnect(source, port),
                              f"Removed the connector {source!r} → {port!r}"))

    def delete_selected(self) -> bool:
        """Delete the selected connector, or else the selected node (with its connectors)."""
        if self.selected_edge:
            source, port, _target = self.selected_edge.split("|", 2)
            ok = self.disconnect(source, port)
            if ok:
                self.selected_edge = None
            return ok
        if self.selected:
            nid = self.selected
            ok = bool(self._run("Delete", lambda: self.journey.remove(nid), f"Deleted node {nid!r}"))
            if ok:
                self.selected = None
            return ok
        self._say("Nothing selected: click a node or a connector on the canvas first", "error")
        return False

    def apply_node_form(self) -> bool:
        """Save the node form: ``set_content`` for a content-only change, else ``update``."""
        if self._form is None or self.selected is None:
            self._say("Select a node first", "error")
            return False
        nid = self.selected
        try:
            changes = self._form.changes()
        except ValueError as e:
            self._say(f"Edit refused: {e}", "error")
            return False
        if not changes:
            self._say("Nothing changed", "info")
            return True
        if set(changes) == {"content"}:
            return bool(self._run("Edit", lambda: self.journey.set_content(nid, changes["content"]),
                                  f"Saved the content of {nid!r}"))
        return bool(self._run("Edit", lambda: self.journey.update(nid, **changes),
                              f"Saved {', '.join(sorted(changes))} of {nid!r}"))

    def apply_settings_form(self) -> bool:
        """Save the journey settings form through ``Journey.configure``."""
        try:
            changes = self.settings_form.changes()
        except ValueError as e:
            self._say(f"Settings refused: {e}", "error")
            return False
        if not changes:
            self._say("Nothing changed", "info")
            return True
        return bool(self._run("Settings", lambda: self.journey.configure(**changes),
                              f"Saved journey settings: {', '.join(sorted(changes))}"))

    def add_goal_from_form(self) -> bool:
        name = self.goal_name.value.strip()
        event = self.goal_event.value.strip()
        if not name or not event:
            self._say("Goal refused: give the goal a name and an event", "error")
            return False
        try:
            filters = parse_filters(self.goal_filters.value.replace(";", "\n"))
        except ValueError as e:
            self._say(f"Goal refused: {e}", "error")
            return False
        goal: Any
        if self.goal_type.value == "action":
            goal = ActionGoal(name=name, event=event, filters=filters)
        else:
            goal = PastBehaviorGoal(name=name, did=[EventCount(event=event, at_least=int(self.goal_at_least.value),
                                                               filters=filters)], days=int(self.goal_days.value))
        ok = bool(self._run("Goal", lambda: self.journey.add_goal(goal), f"Added goal {name!r}"))
        if ok:
            self.goal_name.value = self.goal_event.value = self.goal_filters.value = ""
        return ok

    def remove_goal(self, name: str | None) -> bool:
        if not name:
            self._say("Goal refused: choose the goal to remove", "error")
            return False
        return bool(self._run("Goal", lambda: self.journey.remove_goal(name), f"Removed goal {name!r}"))

    def undo(self) -> bool:
        r = self._run("Undo", self.journey.undo)
        if r is None:
            return False
        self._say("Undone" if r is True else "Nothing to undo", "ok" if r is True else "info")
        return r is True

    def redo(self) -> bool:
        r = self._run("Redo", self.journey.redo)
        if r is None:
            return False
        self._say("Redone" if r is True else "Nothing to redo", "ok" if r is True else "info")
        return r is True

    def auto_align(self) -> dict[str, tuple[float, float]]:
        """Auto Align & Space: lay the journey out left to right and store the positions in
        the model (they travel in the JSON); with statistics shown, room is left for them."""
        pos = auto_positions(self.journey, self._stats)
        self._run("Auto Align", lambda: self.journey.set_positions(pos), "Aligned and spaced every node")
        self.canvas.relayout()
        return pos

    def toggle_panel(self) -> bool:
        """Hide (or show again) the side panel, giving the canvas the whole width; returns
        whether the panel is now shown."""
        shown = self.side.layout.display == "none"
        self.side.layout.display = None if shown else "none"
        # ipycytoscape resizes and re-fits its canvas when the widget's size changes
        self.canvas.layout.width = "100%" if self.canvas.layout.width != "100%" else "calc(100%)"
        return shown

    # ------------------------------------------------------------------ publish flow
    def validate(self) -> Any:
        """Validate; list the errors and warnings in the Issues tab and badge the nodes."""
        self._redraw()
        r = self.report
        if r is None:
            self._say("Validation is not available", "error")
            return None
        self.side.selected_index = 2
        if r.errors:
            self._say(f"{len(r.errors)} error(s), {len(r.warnings)} warning(s): see the Issues tab", "error")
        elif r.warnings:
            self._say(f"No errors, {len(r.warnings)} warning(s): see the Issues tab", "warning")
        else:
            self._say("No errors, no warnings", "ok")
        return r

    def publish(self) -> bool:
        """Publish (validation errors refuse it and are listed)."""
        ok = self._run("Publish", self.journey.publish)
        if ok:
            self._say(f"Published: the journey is {self.journey.status} (version {self.journey.version}); "
                      "from now on only the message content of engagement nodes can be edited", "ok")
        else:
            self._redraw()
            if self.report is not None and self.report.errors:
                self.side.selected_index = 2
        return bool(ok)

    def pause(self) -> bool:
        return bool(self._run("Pause", self.journey.pause, "Paused: no new entries; users inside keep moving"))

    def resume(self) -> bool:
        return bool(self._run("Resume", self.journey.resume, "Resumed"))

    def stop(self) -> bool:
        return bool(self._run("Stop", self.journey.stop, "Stopped: no entries, no movement, no sends"))

    # ------------------------------------------------------------------ statistics
    def _set_stats(self, node_stats: Any, waiting_users: Mapping[str, Sequence[Any]] | None) -> None:
        if node_stats is not None and hasattr(node_stats, "node_stats") and not _is_frame(node_stats):
            if waiting_users is None:
                waiting_users = getattr(node_stats, "waiting_users", None)
            node_stats = node_stats.node_stats
        self._stats = normalize_stats(node_stats)
        self._waiting = {str(k): list(v) for k, v in (waiting_users or {}).items()}

    def show_stats(self, node_stats: Any, waiting_users: Mapping[str, Sequence[Any]] | None = None) -> None:
        """Overlay statistics: ``node_stats`` is a DataFrame indexed by node id (columns
        ``entered``, ``waiting``, ``timed_out``, ``left_<port>``, ``sent``, ``deferred``,
        ``discarded``, ``viewed``, ``clicked``, ``exited``; missing ones count 0) or any
        object with ``.node_stats`` and ``.waiting_users`` (a simulation result).
        ``waiting_users`` maps node id to the ids of users waiting there."""
        self._set_stats(node_stats, waiting_users)
        self._redraw()
        self.canvas.relayout()

    def clear_stats(self) -> None:
        self._stats = None
        self._waiting = None
        self._redraw()
        self.canvas.relayout()

    @property
    def stats(self) -> dict[str, dict[str, int]] | None:
        return self._stats

    # ------------------------------------------------------------------ static picture
    def figure(self, **kwargs: Any) -> Any:
        """The canvas as a static Plotly figure (same layout, kinds, labels, counts)."""
        from journeylab.charts.journey_graph import journey_figure

        kwargs.setdefault("title", self.journey.name or self.journey.id)
        return journey_figure(self.journey, self._stats, waiting_users=self._waiting, issues=self._issues(), **kwargs)

    def to_svg(self) -> str:
        """The canvas as standalone SVG (what shows where widgets cannot render)."""
        from journeylab.charts.journey_graph import journey_svg

        return journey_svg(self.journey, self._stats, waiting_users=self._waiting, issues=self._issues(),
                           title=self.journey.name or self.journey.id)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        data = super()._repr_mimebundle_(**kwargs)
        if data is None:
            return None
        with contextlib.suppress(Exception):  # the fallback must never break the display
            data["image/svg+xml"] = self.to_svg()
        return data

    # ------------------------------------------------------------------ canvas events
    def _on_node_tap(self, event: Mapping[str, Any]) -> None:
        data = event.get("data", {}) if isinstance(event, Mapping) else {}
        role = data.get("role")
        if role == "goal":
            self.side.selected_index = 1
            return
        nid = data.get("node_id")
        if nid:
            self.selected_edge = None
            self.selected = nid
            self.side.selected_index = 0

    def _on_edge_tap(self, event: Mapping[str, Any]) -> None:
        data = event.get("data", {}) if isinstance(event, Mapping) else {}
        eid = data.get("edge_id")
        if eid:
            self.selected_edge = eid

    def _on_node_tapend(self, event: Mapping[str, Any]) -> None:
        """A node was dragged: store its new position in the model (layout only)."""
        data = event.get("data", {}) if isinstance(event, Mapping) else {}
        pos = event.get("position") if isinstance(event, Mapping) else None
        if data.get("role") != "node" or not pos or self.scene is None:
            return
        nid = data.get("node_id")
        try:
            sn = self.scene.node(nid)
        except KeyError:
            return
        x, y = float(pos.get("x", sn.x)), float(pos.get("y", sn.y))
        if abs(x - sn.x) > 1 or abs(y - sn.y) > 1:
            self._run("Move", lambda: self.journey.move(nid, x, y))

    # ------------------------------------------------------------------ redraw
    def _on_model_change(self, _journey: Journey) -> None:
        try:
            self.refresh()
        except Exception as e:  # noqa: BLE001 - a drawing problem must never break an edit of the model
            self._say(f"The canvas could not be redrawn: {type(e).__name__}: {e}", "error")

    def close(self) -> None:
        """Stop following the journey and close the widget (and its canvas elements)."""
        listeners = getattr(self.journey, "_listeners", None)
        if listeners is not None and self._on_model_change in listeners:
            listeners.remove(self._on_model_change)
        for w in [*self._cy_nodes.values(), *self._cy_edges.values(), *(x for t in self._trash for x in t)]:
            w.close()
        self._cy_nodes, self._cy_edges, self._trash = {}, {}, []
        super().close()

    def _on_selected(self, change: Mapping[str, Any]) -> None:
        nid = change["new"]
        if nid is not None and nid not in {n.id for n in self.journey.nodes}:
            self.selected = None
            return
        if nid is not None:
            self.source_picker.value = nid
        self._update_classes()
        self._show_node_panel()
        self._refresh_after_ports()

    def _on_selected_edge(self, _change: Mapping[str, Any]) -> None:
        eid = self.selected_edge
        if eid:
            source, port, _t = eid.split("|", 2)
            if source in self.source_picker.options:
                self.source_picker.value = source
                self._refresh_ports()
                if port in self.port_picker.options:
                    self.port_picker.value = port
            self._say(f"Selected the connector {source!r} → {port!r}: Delete selected removes it", "info")
        self._update_classes()

    def refresh(self) -> None:
        """Redraw the canvas and refresh every panel from the model."""
        if self.selected is not None and self.selected not in {n.id for n in self.journey.nodes}:
            self.selected = None
        if self.selected_edge is not None and self.selected_edge not in {
            f"{c.source}|{c.port}|{c.target}" for c in self.journey.connectors
        }:
            self.selected_edge = None
        self._redraw()
        self._refresh_toolbar()
        self._refresh_pickers()
        self._refresh_settings()
        self._show_node_panel()

    def _issues(self) -> list[Any]:
        return list(self.report) if self.report is not None else []

    def _validate_now(self) -> None:
        try:
            from journeylab.validate import validate
        except ImportError:
            self.report = None
            return
        try:
            self.report = validate(self.journey.definition)
        except Exception as e:  # noqa: BLE001 - a validator bug must not break the canvas
            self.report = None
            self._say(f"Validation failed: {e}", "error")

    def _redraw(self) -> None:
        self._validate_now()
        scene = journey_scene(self.journey, self._stats, self._waiting, issues=self._issues())
        self.scene = scene
        nodes: list[dict[str, Any]] = []
        for n in scene.nodes:
            st = n.style
            classes = [n.role, n.family, n.kind]
            if n.entry:
                classes.append("entry")
            if n.badge:
                classes.append(f"badge-{n.badge}")
            if n.waiting:
                classes.append("has-waiting")
            nodes.append({
                "key": n.id,
                "data": {
                    "node_id": n.node_id, "scene_id": n.id, "role": n.role, "kind": n.kind, "family": n.family,
                    "label": n.label, "w": n.width, "h": n.height, "tw": n.width, "shape": st["shape"],
                    "fill": st["fill"], "border": st["border"], "issues": "\n".join(n.issues), "waiting": n.waiting,
                },
                "classes": classes,
                "position": {"x": n.x, "y": n.y},
                "grabbable": n.role == "node",
            })
            if n.badge:
                nodes.append({
                    "key": f"{n.id}~badge",
                    "data": {"node_id": n.node_id, "scene_id": n.id, "role": "badge", "label": "!",
                             "issues": "\n".join(n.issues), "w": 18, "h": 18, "tw": 18, "shape": "ellipse",
                             "fill": BADGE_COLORS[n.badge], "border": "#ffffff"},
                    "classes": ["badge", f"badge-{n.badge}"],
                    "position": {"x": n.x + n.width / 2 - 4, "y": n.y - n.height / 2 + 4},
                    "grabbable": False,
                })
            if n.waiting:
                text = f"{n.waiting:,}"
                nodes.append({
                    "key": f"{n.id}~waiting",
                    "data": {"node_id": n.node_id, "scene_id": n.id, "role": "waiting", "label": text,
                             "w": len(text) * 7 + 10, "h": 16, "tw": 60, "shape": "round-rectangle",
                             "fill": "#f97316", "border": "#f97316"},
                    "classes": ["waiting"],
                    "position": {"x": n.x - n.width / 2 + 4, "y": n.y - n.height / 2 + 4},
                    "grabbable": False,
                })
        edges: list[dict[str, Any]] = []
        for e in scene.edges:
            classes = [e.role, f"port-{e.port}" if e.port else "port-none"]
            if e.back:
                classes.append("back")
            edges.append({
                "key": e.id,
                "source": e.source,
                "target": e.target,
                "data": {"edge_id": e.id if e.role == "connector" else None, "node_id": e.node_id, "port": e.port,
                         "label": e.label, "count": e.count, "color": _color_of(e.role, e.port), "cpd": e.cpd,
                         "role": e.role},
                "classes": classes,
            })
        keys = (tuple(n["key"] for n in nodes), tuple((e["key"], e["source"], e["target"]) for e in edges))
        if keys != self._keys:
            self._rebuild(nodes, edges)
            self._keys = keys
        else:
            self._update_in_place(nodes, edges)
        self._update_classes()
        self._refresh_issues()

    def _cls(self, classes: list[str], key: str, is_edge: bool = False) -> str:
        extra = []
        if not is_edge and self.selected is not None and key == self.selected:
            extra.append("selected")
        if is_edge and self.selected_edge is not None and key == self.selected_edge:
            extra.append("selected")
        return " ".join(classes + extra)

    def _rebuild(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        """New cytoscape elements (with fresh ids: ipycytoscape re-adds views before it
        removes the old ones, so an id must never be reused while its element lives)."""
        self._gen += 1
        g = self._gen
        cy_id = {n["key"]: f"{n['key']}#{g}" for n in nodes}
        new_nodes: dict[str, cy.Node] = {}
        for n in nodes:
            node = cy.Node(
                data={"id": cy_id[n["key"]], **n["data"]},
                position=dict(n["position"]),
                classes=self._cls(n["classes"], n["key"]),
                grabbable=n["grabbable"],
            )
            node._jl_classes = n["classes"]  # type: ignore[attr-defined]
            new_nodes[n["key"]] = node
        new_edges: dict[str, cy.Edge] = {}
        for e in edges:
            edge = cy.Edge(
                data={"id": f"{e['key']}#{g}", "source": cy_id[e["source"]], "target": cy_id[e["target"]], **e["data"]},
                classes=self._cls(e["classes"], e["key"], True),
            )
            edge._jl_classes = e["classes"]  # type: ignore[attr-defined]
            new_edges[e["key"]] = edge
        old = [*self._cy_nodes.values(), *self._cy_edges.values()]
        self._cy_nodes, self._cy_edges = new_nodes, new_edges
        with self.canvas.graph.hold_sync():
            self.canvas.graph.nodes = list(new_nodes.values())
            self.canvas.graph.edges = list(new_edges.values())
        # close old element widgets two generations later, once the front end has let go of them
        self._trash.append(old)
        while len(self._trash) > 2:
            for w in self._trash.pop(0):
                w.close()

    def _update_in_place(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        for n in nodes:
            node = self._cy_nodes[n["key"]]
            data = {"id": node.data["id"], **n["data"]}
            if dict(node.data) != data:
                node.data = data
            if dict(node.position) != n["position"]:
                node.position = dict(n["position"])
            node._jl_classes = n["classes"]  # type: ignore[attr-defined]
        for e in edges:
            edge = self._cy_edges[e["key"]]
            data = {"id": edge.data["id"], "source": edge.data["source"], "target": edge.data["target"], **e["data"]}
            if dict(edge.data) != data:
                edge.data = data
            edge._jl_classes = e["classes"]  # type: ignore[attr-defined]

    def _update_classes(self) -> None:
        for key, node in self._cy_nodes.items():
            c = self._cls(getattr(node, "_jl_classes", []), key)
            if node.classes != c:
                node.classes = c
        for key, edge in self._cy_edges.items():
            c = self._cls(getattr(edge, "_jl_classes", []), key, True)
            if edge.classes != c:
                edge.classes = c

    # ------------------------------------------------------------------ panels
    def _refresh_toolbar(self) -> None:
        j = self.journey
        st = j.status
        color = {"draft": "#6b7280", "scheduled": "#2563eb", "running": "#16a34a", "paused": "#d97706",
                 "stopped": "#dc2626"}.get(st, "#6b7280")
        self.title.value = (
            f'<span style="font-weight:600;font-size:14px;margin-right:8px">{html.escape(j.name or j.id)}</span>'
            f'<span class="jl-status" style="background:{color};color:white;border-radius:8px;padding:1px 8px;'
            f'font-size:12px;margin-right:8px">{st} · v{j.version}</span>'
        )
        self.undo_button.disabled = not j.can_undo
        self.redo_button.disabled = not j.can_redo
        for verb, btn in (("publish", self.publish_button), ("pause", self.pause_button),
                          ("resume", self.resume_button), ("stop", self.stop_button)):
            btn.disabled = not lifecycle.allowed(st, verb)

    def _refresh_pickers(self) -> None:
        ids = [n.id for n in self.journey.nodes]
        src = self.source_picker.value
        self.source_picker.options = ids
        self.target_picker.options = ids
        if src in ids:
            self.source_picker.value = src
        elif self.selected in ids:
            self.source_picker.value = self.selected
        self._refresh_ports()
        self._refresh_after_ports()
        names = [g.name for g in self.journey.goals]
        self.goal_picker.options = names
        lines = []
        for g in self.journey.goals:
            if isinstance(g, ActionGoal):
                what = f"does <i>{html.escape(g.event)}</i> (at once)"
            else:
                what = "past behaviour " + ", ".join(html.escape(f"{e.event}≥{e.at_least}") for e in g.did)
                what += f" in {g.days}d (daily at 00:00)"
            lines.append(f"<li><b>{html.escape(g.name)}</b>: {what}</li>")
        self.goals_box.value = f"<ul>{''.join(lines)}</ul>" if lines else "<i>No goals yet.</i>"

    def _refresh_ports(self) -> None:
        src = self.source_picker.value
        try:
            ports = list(ports_of(self.journey.node(src))) if src else []
        except JourneyError:
            ports = []
        cur = self.port_picker.value
        self.port_picker.options = ports
        used = {c.port for c in self.journey.connectors if c.source == src}
        free = [p for p in ports if p not in used]
        if cur in ports:
            self.port_picker.value = cur
        elif ports:
            self.port_picker.value = (free or ports)[0]

    def _refresh_after_ports(self) -> None:
        opts: list[tuple[str, str]] = [("not connected", "")]
        if self.selected:
            try:
                node = self.journey.node(self.selected)
            except JourneyError:
                node = None
            if node is not None:
                used = {c.port for c in self.journey.connectors if c.source == node.id}
                opts += [(f"{node.id} · {p}", p) for p in ports_of(node) if p not in used]
        cur = self.after_port.value
        self.after_port.options = opts
        self.after_port.value = cur if cur in [v for _, v in opts] else ""

    def _refresh_settings(self) -> None:
        d = self.journey.definition
        if self._settings_def is not d.settings:
            self.settings_form.set(d.settings)
            self._settings_def = d.settings

    def _refresh_issues(self) -> None:
        r = self.report
        if r is None:
            self.issues_box.value = "<i>Validation is not available.</i>"
            self.side.set_title(2, "Issues")
            return
        rows = []
        for it in list(r.errors) + list(r.warnings):
            color = "#dc2626" if it.severity == "error" else "#ca8a04"
            where = f"<b>{html.escape(it.node)}</b> · " if it.node else ""
            rows.append(
                f'<li class="jl-issue jl-{it.severity}" style="margin-bottom:4px"><span style="color:{color};'
                f'font-weight:600">{it.severity}</span> {where}{html.escape(it.message)} '
                f'<span style="color:#6b7280">[{html.escape(it.code)}]</span></li>'
            )
        head = f"<b>{len(r.errors)} error(s), {len(r.warnings)} warning(s)</b>"
        self.issues_box.value = head + (f"<ul style='padding-left:16px'>{''.join(rows)}</ul>" if rows else "")
        n = len(r.errors) + len(r.warnings)
        self.side.set_title(2, f"Issues ({n})" if n else "Issues")

    def _show_node_panel(self) -> None:
        nid = self.selected
        if nid is None:
            self.node_header.value = "<i>Click a node on the canvas to edit it.</i>"
            self.node_stats_box.value = ""
            self.node_form_box.children = ()
            self._form, self._form_node = None, None
            self.apply_button.layout.display = "none"
            return
        node = self.journey.node(nid)
        kind = kind_of(node)
        info = NODE_KINDS[kind]
        published = self.journey.status != "draft"
        note = ""
        if published and isinstance(node, Engagement):
            note = "<br><span style='color:#166534'>Published: only <b>content</b> can be edited.</span>"
        elif published:
            note = "<br><span style='color:#991b1b'>Published: this node cannot be edited.</span>"
        ports = ", ".join(ports_of(node)) or "none"
        issues = [i for i in self._issues() if getattr(i, "node", None) == nid]
        issue_html = "".join(
            f"<div style='color:{'#dc2626' if i.severity == 'error' else '#a16207'}'>● {html.escape(i.message)}</div>"
            for i in issues
        )
        self.node_header.value = (
            f"<b>{html.escape(info.title)}</b> <code>{html.escape(nid)}</code> "
            f"<span style='color:#6b7280'>({info.family}; ports: {html.escape(ports)})</span>{note}{issue_html}"
        )
        self.node_stats_box.value = self._stats_html(nid)
        if node is not self._form_node:
            self._form = StructForm(node, tz=self.journey.settings.timezone)
            self._form_node = node
            self.node_form_box.children = (self._form.widget,)
        self.apply_button.layout.display = None

    def _stats_html(self, nid: str) -> str:
        if self._stats is None:
            return ""
        s = self._stats.get(nid, {})
        node = self.journey.node(nid)
        family = NODE_KINDS[kind_of(node)].family
        cols = ["entered", "waiting", "timed_out", *[f"left_{p}" for p in ports_of(node)]]
        if family == "engagement":
            cols += ["sent", "deferred", "discarded", "viewed", "clicked"]
        if kind_of(node) == "force_exit":
            cols.append("exited")
        cols += [c for c in s if c not in cols and s[c]]  # anything else the simulator counted
        rows = "".join(
            f"<tr><td style='padding:0 12px 0 0'>{html.escape(c)}</td><td style='text-align:right'>{s.get(c, 0):,}</td></tr>"
            for c in cols
        )
        users = (self._waiting or {}).get(nid, [])
        shown = ", ".join(html.escape(str(u)) for u in users[:50])
        more = f" … and {len(users) - 50:,} more" if len(users) > 50 else ""
        waiting = (
            f"<div><b>Users waiting here ({len(users):,})</b>: {shown}{more}</div>" if users else
            "<div><i>No user waiting here.</i></div>"
        )
        return (
            f"<div class='jl-stats'><b>Statistics</b><table class='jl-stat-table' style='font-size:12px'>{rows}</table>"
            f"{waiting}</div><hr>"
        )

    def __repr__(self) -> str:
        return f"JourneyBuilder({self.journey!r})"

