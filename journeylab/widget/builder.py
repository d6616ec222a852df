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
from journeylab.layout import Scene, _is_frame, auto_positions, journey_scene, normalize_stats
from journeylab.model import lifecycle
from journeylab.model.conditions import EventCount
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import NODE_KINDS, Engagement, kind_of, ports_of
from journeylab.model.settings import ActionGoal, PastBehaviorGoal
from journeylab.widget.canvas import CanvasSync, path_keys, scene_elements
from journeylab.widget.canvas_style import CY_LAYOUT, CYTOSCAPE_STYLE, MIN_ZOOM
from journeylab.widget.forms import SettingsForm, StructForm, parse_filters
from journeylab.widget.palette import default_node, new_node_id, palette_options
from journeylab.widget.panels import goals_html, issues_html, message_html, stats_html

__all__ = ["JourneyBuilder", "default_node", "new_node_id", "CYTOSCAPE_STYLE"]

#: shown in a notebook next to the canvas: hidden where the canvas renders, shown where it cannot
_STATIC_CSS = (
    "<style>.jp-OutputArea-child:has(.journeylab-builder) + .jp-OutputArea-child:has(.jl-static-graph),"
    ".output_area:has(.journeylab-builder) + .output_area:has(.jl-static-graph){display:none}</style>"
)


# ----------------------------------------------------------------------------- the builder


class JourneyBuilder(W.VBox):
    """Design a journey on a canvas in the notebook.

    ``JourneyBuilder(journey)`` shows the journey and edits it in place.

    * ``selected``: the id of the selected node (set by a click on the canvas, or by code);
      ``selected_edge``: the selected connector as ``source|port|target``.
    * Methods mirror the buttons: :meth:`add_node`, :meth:`connect`, :meth:`delete_selected`,
      :meth:`apply_node_form`, :meth:`apply_settings_form`, :meth:`auto_align`,
      :meth:`validate`, :meth:`publish`, :meth:`pause`, :meth:`resume`, :meth:`stop`,
      :meth:`undo`, :meth:`redo`, :meth:`show_stats`, :meth:`clear_stats`.
    * ``message`` holds the last message shown (``message_kind``: ``ok``/``info``/``error``).
    * :meth:`figure` is the same picture as a static Plotly figure; where widgets cannot
      render (exported HTML, GitHub), the notebook output falls back to an SVG of it.

    Parameters
    ----------
    journey : Journey or JourneyDef
        The journey to edit (a definition is wrapped in a :class:`~journeylab.model.Journey`).
    height : str, default "520px"
        The canvas's height (set once: ipycytoscape clips a graph whose height changes later).
    side_width : str, default "330px"
        The width of the side panel (palette, forms, settings).
    panel : {"right", "below"}, default "right"
        Where the side panel goes.
    node_stats : SimulationResult, pandas.DataFrame or None, default None
        Counts to show on the canvas from the start (as :meth:`show_stats`).
    waiting_users : mapping of str to sequence, optional
        The users waiting at each node id, listed when a node is selected.

    Examples
    --------
    >>> from journeylab.examples import cart_abandonment
    >>> b = JourneyBuilder(cart_abandonment())
    >>> b.selected = "push"
    >>> b.journey.id, b.selected
    ('cart-abandonment', 'push')
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
        self._armed: tuple[str, str] | None = None
        self._path: tuple[set[str], set[tuple[str, str]]] | None = None  # a user's path (highlight_path)
        self._path_keys: set[str] = set()
        self._height_px = float(height[:-2]) if height.endswith("px") else 520.0
        self._conversions: dict[str, int] | None = None  # (node, port) clicked, waiting for its target
        self._form: StructForm | None = None
        self._form_node: Any = None
        self._settings_def: Any = None

        # -- canvas
        self.canvas = cy.CytoscapeWidget(layout=W.Layout(height=height, width="100%", border="1px solid #e5e7eb"))
        self.canvas.min_zoom = MIN_ZOOM  # text never smaller than 10 px; a wide journey pans instead
        self.canvas.max_zoom = 1.6
        self.canvas.wheel_sensitivity = 0.3
        self.canvas.tooltip_source = "_no_tooltip"
        self.canvas.set_style(CYTOSCAPE_STYLE)
        self.canvas.cytoscape_layout = dict(CY_LAYOUT)
        self._sync = CanvasSync(self.canvas)
        self.canvas.on("node", "tap", self._on_node_tap)
        self.canvas.on("edge", "tap", self._on_edge_tap)
        self.canvas.on("node", "tapend", self._on_node_tapend)

        # -- toolbar
        def button(text: str, icon: str, fn: Callable[[], Any], tip: str, style: str = "") -> W.Button:
            b = W.Button(description=text, icon=icon, tooltip=tip, button_style=style, layout=W.Layout(width="auto"))
            b.on_click(lambda _b: fn())
            return b

        self.title = W.HTML()
        self.undo_button = button("Undo", "undo", self.undo, "Undo the last edit")
        self.redo_button = button("Redo", "repeat", self.redo, "Redo the last undone edit")
        self.align_button = button(
            "Auto Align & Space",
            "sitemap",
            self.auto_align,
            "Lay the journey out left to right, with room for every count",
        )
        self.validate_button = button("Validate", "check", self.validate, "Check the journey for errors and warnings")
        self.publish_button = button("Publish", "rocket", self.publish, "Validate and publish", "success")
        self.pause_button = button("Pause", "pause", self.pause, "No new entries; users inside keep moving")
        self.resume_button = button("Resume", "play", self.resume, "Accept new entries again")
        self.stop_button = button("Stop", "stop", self.stop, "Stop for good: users inside exit", "danger")
        self.panel_button = button("Panel", "columns", self.toggle_panel, "Hide or show the side panel")
        toolbar = W.HBox(
            [
                self.title,
                self.undo_button,
                self.redo_button,
                self.align_button,
                self.validate_button,
                self.publish_button,
                self.pause_button,
                self.resume_button,
                self.stop_button,
                self.panel_button,
            ],
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )

        # -- palette, connect, delete
        self.kind_picker = W.Dropdown(
            options=palette_options(),
            value="action",
            description="Add",
            layout=W.Layout(width="250px"),
            style={"description_width": "30px"},
        )
        self.after_port = W.Dropdown(
            options=[("not connected", "")],
            value="",
            description="after selected by",
            layout=W.Layout(width="250px"),
            style={"description_width": "110px"},
        )
        self.add_button = button(
            "Add",
            "plus",
            lambda: self.add_node(self.kind_picker.value, port=self.after_port.value or None),
            "Add a node of this kind (after the selected node by this port)",
            "primary",
        )
        self.source_picker = W.Dropdown(
            description="Connect", layout=W.Layout(width="200px"), style={"description_width": "55px"}
        )
        self.port_picker = W.Dropdown(
            description="by", layout=W.Layout(width="140px"), style={"description_width": "20px"}
        )
        self.target_picker = W.Dropdown(
            description="to", layout=W.Layout(width="170px"), style={"description_width": "20px"}
        )
        self.connect_button = button(
            "Connect",
            "link",
            lambda: self.connect(self.source_picker.value, self.port_picker.value, self.target_picker.value),
            "Draw this connector",
        )
        self.disconnect_button = button(
            "Disconnect",
            "unlink",
            lambda: self.disconnect(self.source_picker.value, self.port_picker.value),
            "Remove the connector that leaves by this port",
        )
        self.delete_button = button(
            "Delete selected",
            "trash",
            self.delete_selected,
            "Delete the selected node (with its connectors) or the selected connector",
            "warning",
        )
        self.source_picker.observe(lambda _c: self._refresh_ports(), "value")
        palette = W.HBox(
            [self.kind_picker, self.after_port, self.add_button],
            layout=W.Layout(flex_flow="row wrap", align_items="center"),
        )
        connect_row = W.HBox(
            [
                self.source_picker,
                self.port_picker,
                self.target_picker,
                self.connect_button,
                self.disconnect_button,
                self.delete_button,
            ],
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
        self.settings_apply = button(
            "Apply settings", "check", self.apply_settings_form, "Save the journey settings", "primary"
        )
        self.goals_box = W.HTML()
        self.goal_name = W.Text(
            description="goal name", style={"description_width": "120px"}, layout=W.Layout(width="98%")
        )
        self.goal_type = W.Dropdown(
            options=[("action (at once)", "action"), ("past behaviour (daily)", "past_behavior")],
            value="action",
            description="goal type",
            style={"description_width": "120px"},
            layout=W.Layout(width="98%"),
        )
        self.goal_event = W.Text(
            description="event", style={"description_width": "120px"}, layout=W.Layout(width="98%")
        )
        self.goal_filters = W.Text(
            description="filters",
            placeholder="item = Red Nike Shoes",
            style={"description_width": "120px"},
            layout=W.Layout(width="98%"),
        )
        self.goal_at_least = W.BoundedIntText(
            value=1,
            min=1,
            max=10**6,
            description="at least (times)",
            style={"description_width": "120px"},
            layout=W.Layout(width="98%"),
        )
        self.goal_days = W.BoundedIntText(
            value=7,
            min=1,
            max=3650,
            description="in the last (days)",
            style={"description_width": "120px"},
            layout=W.Layout(width="98%"),
        )
        self.goal_add = button("Add goal", "flag-checkered", self.add_goal_from_form, "Add this goal (at most 3)")
        self.goal_picker = W.Dropdown(
            description="goal", style={"description_width": "120px"}, layout=W.Layout(width="98%")
        )
        self.goal_remove = button(
            "Remove goal", "times", lambda: self.remove_goal(self.goal_picker.value), "Remove the chosen goal"
        )
        self.journey_panel = W.VBox(
            [
                W.HTML("<b>Journey settings</b>"),
                self.settings_form.widget,
                self.settings_apply,
                W.HTML("<hr><b>Goals</b> (at most 3)"),
                self.goals_box,
                self.goal_name,
                self.goal_type,
                self.goal_event,
                self.goal_filters,
                self.goal_at_least,
                self.goal_days,
                self.goal_add,
                self.goal_picker,
                self.goal_remove,
            ]
        )
        self.issues_box = W.HTML()
        self.side = W.Tab(
            children=[self.node_panel, self.journey_panel, self.issues_box],
            layout=W.Layout(
                width=side_width, min_width=side_width, max_height=f"calc({height} + 60px)", overflow="auto"
            ),
        )
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
        return sum(1 for n in self._sync.nodes.values() if n.data.get("role") == "node")

    def elements(self, role: str | None = None) -> list[cy.Node]:
        """The cytoscape nodes on the canvas (of one ``role`` if given)."""
        return [n for n in self._sync.nodes.values() if role is None or n.data.get("role") == role]

    def cy_node(self, node_id: str) -> cy.Node:
        """The cytoscape node drawing journey node ``node_id``."""
        return self._sync.nodes[node_id]

    def cy_edges(self) -> list[cy.Edge]:
        return list(self._sync.edges.values())

    def edge_labels(self) -> dict[str, str]:
        """``{edge_id: label}`` of the drawn connectors (``source|port|target``)."""
        return {k: e.data.get("label", "") for k, e in self._sync.edges.items() if e.data.get("edge_id")}

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, kind: str = "info") -> None:
        self.message, self.message_kind = text, kind
        self.message_box.value = message_html(text, kind)

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
        elif self.message_kind == "error":
            self._say("")  # an old refusal must not stay up after a later success
        return result if result is not None else True

    # ------------------------------------------------------------------ editing actions
    def add_node(
        self, kind: str, *, after: str | None = None, port: str | None = None, node_id: str | None = None
    ) -> str | None:
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
            done = self._run(
                "Add",
                lambda: self.journey.then(source, port, node),
                f"Added {NODE_KINDS[kind].title} {nid!r} after {source!r} by {port!r}",
            )
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
        return bool(
            self._run(
                "Connect",
                lambda: self.journey.connect(source, port, target),
                f"Connected {source!r} by {port!r} to {target!r}",
            )
        )

    def disconnect(self, source: str | None, port: str | None) -> bool:
        """Remove the connector leaving ``source`` by ``port``."""
        if not (source and port):
            self._say("Disconnect refused: choose the source node and port", "error")
            return False
        return bool(
            self._run(
                "Disconnect",
                lambda: self.journey.disconnect(source, port),
                f"Removed the connector {source!r} → {port!r}",
            )
        )

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
            return bool(
                self._run(
                    "Edit", lambda: self.journey.set_content(nid, changes["content"]), f"Saved the content of {nid!r}"
                )
            )
        return bool(
            self._run(
                "Edit", lambda: self.journey.update(nid, **changes), f"Saved {', '.join(sorted(changes))} of {nid!r}"
            )
        )

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
        return bool(
            self._run(
                "Settings",
                lambda: self.journey.configure(**changes),
                f"Saved journey settings: {', '.join(sorted(changes))}",
            )
        )

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
            goal = PastBehaviorGoal(
                name=name,
                did=[EventCount(event=event, at_least=int(self.goal_at_least.value), filters=filters)],
                days=int(self.goal_days.value),
            )
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
            self._redraw()
            warnings = list(self.report.warnings) if self.report is not None else []
            note = ""
            if warnings:
                note = f"; {len(warnings)} warning(s) remain (see the Issues tab): " + "; ".join(
                    w.message for w in warnings[:3]
                )
            self._say(
                f"Published: the journey is {self.journey.status} (version {self.journey.version}); "
                "from now on only the message content of engagement nodes can be edited" + note,
                "warning" if warnings else "ok",
            )
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
        self._conversions = None
        if node_stats is not None and hasattr(node_stats, "node_stats") and not _is_frame(node_stats):
            if waiting_users is None:
                waiting_users = getattr(node_stats, "waiting_users", None)
            if hasattr(node_stats, "journey_stats_of"):
                try:
                    js = node_stats.journey_stats_of(self.journey.id)
                    self._conversions = {g.name: int(js.get(f"conversions_{g.name}", 0)) for g in self.journey.goals}
                except Exception:  # noqa: BLE001 - a result of another journey: goals count from the nodes
                    self._conversions = None
            node_stats = node_stats.node_stats
        self._stats = normalize_stats(node_stats)
        self._waiting = {str(k): list(v) for k, v in (waiting_users or {}).items()}

    def show_stats(
        self, node_stats: Any, waiting_users: Mapping[str, Sequence[Any]] | None = None, *, relayout: bool = True
    ) -> None:
        """Overlay statistics: ``node_stats`` is a DataFrame indexed by node id (columns
        ``entered``, ``waiting``, ``timed_out``, ``left_<port>``, ``sent``, ``deferred``,
        ``discarded``, ``viewed``, ``clicked``, ``exited``; missing ones count 0) or any
        object with ``.node_stats`` and ``.waiting_users`` (a simulation result).
        ``waiting_users`` maps node id to the ids of users waiting there. The boxes grow to hold
        the counts, so the journey is laid out again (Auto Align & Space; ``relayout=False``
        keeps the stored positions where they do not overlap)."""
        self._set_stats(node_stats, waiting_users)
        if relayout:
            # the boxes grew: lay the journey out again with room for every count (layout only)
            pos = auto_positions(self.journey, self._stats)
            self._run("Auto Align", lambda: self.journey.set_positions(pos))
        self._redraw()
        self.canvas.relayout()

    def clear_stats(self) -> None:
        self._stats = None
        self._waiting = None
        self._conversions = None
        self._redraw()
        self.canvas.relayout()

    @property
    def stats(self) -> dict[str, dict[str, int]] | None:
        return self._stats

    # ------------------------------------------------------------------ static picture
    def figure(self, **kwargs: Any) -> Any:
        """The canvas as a static Plotly figure (same layout, kinds, labels, counts)."""
        from journeylab.charts.journey_graph import journey

        kwargs.setdefault("title", self.journey.name or self.journey.id)
        return journey(self.journey, self._stats, waiting_users=self._waiting, issues=self._issues(), **kwargs)

    def to_svg(self) -> str:
        """The canvas as standalone SVG (what shows where widgets cannot render)."""
        from journeylab.charts.journey_graph import journey_svg

        return journey_svg(
            self.journey,
            self._stats,
            waiting_users=self._waiting,
            issues=self._issues(),
            title=self.journey.name or self.journey.id,
        )

    def _ipython_display_(self) -> None:
        """In a notebook: the live canvas, then its static picture (an HTML output with the SVG)
        that a style in the same page hides wherever the canvas renders — so an exported page,
        a viewer without widgets or an offline page shows the picture instead of a blank cell."""
        from IPython.display import HTML, display

        data = W.VBox._repr_mimebundle_(self)
        if data is not None:
            display(data, raw=True)
        with contextlib.suppress(Exception):  # the fallback must never break the display
            display(HTML(f'{_STATIC_CSS}<div class="jl-static-graph" style="overflow-x:auto">{self.to_svg()}</div>'))

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
        if role == "port":
            self.arm_port(data.get("node_id"), data.get("port"))
            return
        if role == "edge-label":
            self._on_edge_tap(event)
            return
        if role == "goal":
            self.side.selected_index = 1
            return
        nid = data.get("node_id")
        if nid and self._armed is not None:
            source, port = self._armed
            self._armed = None
            if self.connect(source, port, nid):
                self.selected_edge = None
                self.selected = source
            self._redraw()
            return
        if nid:
            self.selected_edge = None
            self.selected = nid
            self.side.selected_index = 0

    def arm_port(self, node_id: str | None, port: str | None) -> bool:
        """Connect by mouse, first click: the port handle ``port`` under the selected box
        ``node_id``; the next click on a box connects to it (clicking the handle again cancels)."""
        if not node_id or not port:
            return False
        if self._armed == (node_id, port):
            self._armed = None
            self._say("Connecting cancelled", "info")
        elif port not in self._free_ports(node_id):
            self._say(f"Connect refused: {node_id!r} has no free port {port!r}", "error")
            return False
        else:
            self._armed = (node_id, port)
            self._say(f"Click the node to connect {node_id!r} by {port!r} to (click {port!r} again to cancel)", "info")
        self._redraw()
        return self._armed is not None

    def _on_edge_tap(self, event: Mapping[str, Any]) -> None:
        data = event.get("data", {}) if isinstance(event, Mapping) else {}
        eid = data.get("edge_id")
        if eid:
            self._armed = None
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
        self._sync.close()
        super().close()

    def _on_selected(self, change: Mapping[str, Any]) -> None:
        nid = change["new"]
        if nid is not None and nid not in {n.id for n in self.journey.nodes}:
            self.selected = None
            return
        if nid is not None:
            self.source_picker.value = nid
        if self._armed is not None and self._armed[0] != nid:
            self._armed = None
        self._redraw()  # the port handles follow the selection
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
        self._redraw()

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

    def _free_ports(self, nid: str) -> list[str]:
        try:
            node = self.journey.node(nid)
        except (JourneyError, KeyError):
            return []
        used = {c.port for c in self.journey.connectors if c.source == nid}
        return [p for p in ports_of(node) if p not in used]

    def _redraw(self) -> None:
        self._validate_now()
        scene = journey_scene(
            self.journey, self._stats, self._waiting, issues=self._issues(), conversions=self._conversions
        )
        self.scene = scene
        editable = self.journey.status == "draft"
        sel = self.selected if editable and self.selected is not None and self.edge_selected() is None else None
        nodes, edges = scene_elements(
            scene,
            ports=self._free_ports(sel) if sel else (),
            port_of=sel,
            armed=self._armed[1] if self._armed else None,
        )
        self._path_keys = path_keys(scene, *self._path) if self._path is not None else set()
        self._sync.show(nodes, edges, self._cls)
        view = self._view(scene)
        if view != self.canvas.cytoscape_layout:
            self.canvas.cytoscape_layout = view
        self._refresh_issues()

    def _view(self, scene: Scene) -> dict[str, Any]:
        """The first view of the canvas: the journey's left edge (its entries) at the left, at
        the zoom that fits its height — never below the zoom where text stays readable, never
        above 1. A journey wider than the canvas is panned to, not shrunk to illegible text."""
        left, top, _right, bottom = scene.bbox()
        pad = 24.0
        z = min(1.0, (self._height_px - 2 * pad) / max(bottom - top, 1.0))
        z = round(max(MIN_ZOOM, z), 3)
        return {
            **CY_LAYOUT,
            "fit": False,
            "zoom": z,
            "pan": {"x": round(pad - left * z, 1), "y": round(pad - top * z, 1)},
        }

    def edge_selected(self) -> str | None:
        return self.selected_edge

    def highlight_path(self, source: Any, user: str | None = None) -> set[str]:
        """Highlight one user's path on the canvas: the boxes they entered and the connectors
        they left by get a violet halo and line. ``source`` is a
        :class:`~journeylab.preview.Preview` (``journey.preview(...)``), or a simulation
        result (or trace DataFrame) with ``user``. Returns the highlighted node ids.

        Examples
        --------
        >>> from journeylab.examples import cart_abandonment
        >>> b = JourneyBuilder(cart_abandonment())
        >>> p = b.journey.preview({"push_token": "t"}, [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}])
        >>> sorted(b.highlight_path(p))
        ['cart', 'charged', 'push', 'reminder', 'wait']
        """
        from journeylab.widget.canvas import user_path

        self._path = user_path(source, user, self.journey.id)
        self._redraw()
        return set(self._path[0])

    def clear_highlight(self) -> None:
        """Remove the highlighted user path."""
        self._path = None
        self._redraw()

    def _cls(self, classes: list[str], key: str, is_edge: bool = False) -> str:
        extra = ["on-path"] if key in self._path_keys else []
        if not is_edge and self.selected is not None and key == self.selected:
            extra.append("selected")
        if is_edge and self.selected_edge is not None and key == self.selected_edge:
            extra.append("selected")
        if not is_edge and self.selected_edge is not None and key == f"{self.selected_edge}~label":
            extra.append("label-selected")
        return " ".join(classes + extra)

    def _update_classes(self) -> None:
        self._sync.restyle(self._cls)

    # ------------------------------------------------------------------ panels
    def _refresh_toolbar(self) -> None:
        j = self.journey
        st = j.status
        color = {
            "draft": "#6b7280",
            "scheduled": "#2563eb",
            "running": "#16a34a",
            "paused": "#d97706",
            "stopped": "#dc2626",
        }.get(st, "#6b7280")
        self.title.value = (
            f'<span style="font-weight:600;font-size:14px;margin-right:8px">{html.escape(j.name or j.id)}</span>'
            f'<span class="jl-status" style="background:{color};color:white;border-radius:8px;padding:1px 8px;'
            f'font-size:12px;margin-right:8px">{st} · v{j.version}</span>'
        )
        self.undo_button.disabled = not j.can_undo
        self.redo_button.disabled = not j.can_redo
        for verb, btn in (
            ("publish", self.publish_button),
            ("pause", self.pause_button),
            ("resume", self.resume_button),
            ("stop", self.stop_button),
        ):
            btn.disabled = not lifecycle.allowed(st, verb)
        # after publishing the graph is fixed: only message content may change
        draft = st == "draft"
        for w in (
            self.kind_picker,
            self.after_port,
            self.add_button,
            self.source_picker,
            self.port_picker,
            self.target_picker,
            self.connect_button,
            self.disconnect_button,
            self.delete_button,
            self.settings_apply,
            self.goal_add,
            self.goal_remove,
        ):
            w.disabled = not draft
        if not draft:
            self._armed = None

    def _refresh_pickers(self) -> None:
        ids = [n.id for n in self.journey.nodes]
        src = self.source_picker.value
        tgt = self.target_picker.value
        self.source_picker.options = ids
        if src in ids:
            self.source_picker.value = src
        elif self.selected in ids:
            self.source_picker.value = self.selected
        # the target never defaults to the entry (an easy accidental loop): keep the choice, else
        # offer the newest node nothing leads to yet, else nothing
        src = self.source_picker.value
        self.target_picker.options = [("choose a target", "")] + [(i, i) for i in ids]
        if tgt in ids and tgt != src:
            self.target_picker.value = tgt
        else:
            led = {c.target for c in self.journey.connectors}
            orphans = [i for i in ids[1:] if i not in led and i != src]
            self.target_picker.value = orphans[-1] if orphans else ""
        self._refresh_ports()
        self._refresh_after_ports()
        names = [g.name for g in self.journey.goals]
        self.goal_picker.options = names
        self.goals_box.value = goals_html(self.journey.goals)

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
        values = [v for _, v in opts]
        if self.selected != getattr(self, "_after_for", None):
            # a new selection: Add chains after it by its first free port ("not connected" stays a choice)
            self._after_for = self.selected
            cur = values[1] if len(values) > 1 else ""
        self.after_port.value = cur if cur in values else (values[1] if len(values) > 1 else "")

    def _refresh_settings(self) -> None:
        d = self.journey.definition
        if self._settings_def is not d.settings:
            self.settings_form.set(d.settings)
            self._settings_def = d.settings

    def _refresh_issues(self) -> None:
        body, n = issues_html(self.report)
        self.issues_box.value = body
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
        form = self._form
        if form is None or node is not self._form_node:
            form = self._form = StructForm(node, tz=self.journey.settings.timezone)
            self._form_node = node
            self.node_form_box.children = (form.widget,)
        # after publishing only the content of an engagement node can change
        for name, ed in form.editors.items():
            ctl = getattr(ed, "control", None)
            if ctl is not None and hasattr(ctl, "disabled"):
                ctl.disabled = published and not (name == "content" and isinstance(node, Engagement))
        self.apply_button.layout.display = "none" if published and not isinstance(node, Engagement) else None

    def _stats_html(self, nid: str) -> str:
        if self._stats is None:
            return ""
        return stats_html(self.journey.node(nid), self._stats.get(nid, {}), (self._waiting or {}).get(nid, []))

    def __repr__(self) -> str:
        return f"JourneyBuilder({self.journey!r})"
