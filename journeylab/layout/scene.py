"""The drawable journey (the *scene*): boxes with their text, sizes and positions, connectors
routed as polylines around the boxes, edge labels placed where nothing else is, and badges.

The notebook canvas (:mod:`journeylab.widget`) and the static figures
(:mod:`journeylab.charts.journey_graph`) both draw :func:`journey_scene`, so they show the same
picture. Routing (with the automatic layout): a connector leaves its box on the right at its
own height (the ports of a box one above the other, ``yes`` above ``no`` above ``timeout``),
its label sits just after the box, it crosses the gap between layers diagonally, runs through
intermediate layers in a slot kept free for it, and enters its target from the left; a
connector that closes a loop runs over the top of the graph in a lane of its own, its label on
the lane. So no connector crosses a box, and no label covers a box or another label.

>>> import datetime as dt
>>> from journeylab.model import Journey, Action, Push, Delay
>>> j = Journey("Welcome", id="welcome")
>>> _ = j.add(Action(id="installed", event="App Installed"))
>>> _ = j.then("installed", "yes", Delay(id="wait", duration=dt.timedelta(days=1)))
>>> _ = j.then("wait", "next", Push(id="hello", content={"title": "Hi"}))
>>> pos = auto_positions(j)
>>> pos["installed"][0] < pos["wait"][0] < pos["hello"][0]
True
>>> scene = journey_scene(j)
>>> [(e.source, e.port, e.target) for e in scene.edges]
[('installed', 'yes', 'wait'), ('wait', 'next', 'hello')]
>>> scene.problems()
[]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from journeylab.layout.labels import (
    _clip,
    _filters_text,
    _is_frame,
    _n,
    box_size,
    fmt_duration,
    label_width,
    node_lines,
    normalize_stats,
    stat_lines,
)
from journeylab.layout.layered import Layered, layered, overlapping
from journeylab.layout.style import HGAP, KIND_STYLE, LABEL_H, PORT_PITCH, VGAP
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import NODE_KINDS, Engagement, Split, kind_of, ports_of
from journeylab.model.settings import ActionGoal, PastBehaviorGoal

__all__ = ["SceneNode", "SceneEdge", "Scene", "journey_scene", "auto_positions", "phantom_id", "goal_id", "clip_to_box"]

#: room (px) an edge keeps between its label and the next layer, for its diagonal
DIAGONAL = 34.0
#: badges sit on the top border of their box: (x offset from the box's right / left edge)
BADGE_R = 9.0


@dataclass
class SceneNode:
    """One box to draw.

    ``role`` is ``"node"`` (a journey node), ``"phantom"`` (the response window after an
    engagement node; ``node_id`` is that engagement node) or ``"goal"`` (``conversions``: the
    users who reached it, when statistics are drawn).
    """

    id: str
    role: str
    kind: str
    family: str
    lines: list[str]
    width: float
    height: float
    node_id: str | None = None
    entry: bool = False
    stats: dict[str, int] | None = None
    waiting: int = 0
    badge: str | None = None  # "error" | "warning" | None
    issues: list[str] = field(default_factory=list)
    conversions: int | None = None
    x: float = 0.0
    y: float = 0.0

    @property
    def label(self) -> str:
        return "\n".join(self.lines)

    @property
    def style(self) -> dict[str, str]:
        return KIND_STYLE.get(self.kind, KIND_STYLE["goal" if self.role == "goal" else "phantom"])

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom)."""
        return (self.x - self.width / 2, self.y - self.height / 2, self.x + self.width / 2, self.y + self.height / 2)

    @property
    def badge_point(self) -> tuple[float, float]:
        """Centre of the validation badge: on the top border, near the right corner."""
        return (self.x + self.width / 2 - 16, self.y - self.height / 2)

    @property
    def waiting_point(self) -> tuple[float, float]:
        """Centre of the "users waiting here" badge: on the top border, near the left corner."""
        w = waiting_width(self.waiting)
        return (self.x - self.width / 2 + 8 + w / 2, self.y - self.height / 2)


def waiting_width(n: int) -> float:
    """Width of the orange badge that shows ``n`` users waiting."""
    return len(f"{n:,}") * 7.0 + 12


@dataclass
class SceneEdge:
    """One arrow: ``source`` → ``target`` (scene node ids) leaving by ``port``.

    ``role`` is ``"connector"`` (a model connector), or ``"window"`` (engagement → its phantom).
    ``count`` is the flow (``left_<port>`` of the source) when statistics are drawn.
    ``points`` is the route, from the source's border to the target's border; ``label_point``
    the centre of the label box (``label_size`` wide and high); ``back`` marks a connector that
    closes a loop (drawn over the graph).
    """

    id: str
    source: str
    target: str
    port: str
    label: str
    role: str = "connector"
    count: int | None = None
    node_id: str | None = None  # the model node the connector leaves
    points: tuple[tuple[float, float], ...] = ()
    back: bool = False
    label_xy: tuple[float, float] | None = None

    @property
    def label_point(self) -> tuple[float, float]:
        """Where the edge label sits (its centre)."""
        if self.label_xy is not None:
            return self.label_xy
        (x0, y0), (x1, y1) = self.points[0], self.points[-1]
        return (x0 + x1) / 2, (y0 + y1) / 2

    @property
    def label_size(self) -> tuple[float, float]:
        return (label_width(self.label), LABEL_H) if self.label else (0.0, 0.0)

    @property
    def label_box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the label."""
        (x, y), (w, h) = self.label_point, self.label_size
        return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


@dataclass
class Scene:
    """The drawable journey: nodes with positions and sizes, and edges."""

    nodes: list[SceneNode]
    edges: list[SceneEdge]
    with_stats: bool = False

    def node(self, scene_id: str) -> SceneNode:
        for n in self.nodes:
            if n.id == scene_id:
                return n
        raise KeyError(scene_id)

    @property
    def positions(self) -> dict[str, tuple[float, float]]:
        return {n.id: (n.x, n.y) for n in self.nodes}

    def bbox(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of every box, route and label."""
        if not self.nodes:
            return (0.0, 0.0, 0.0, 0.0)
        xs = [v for n in self.nodes for v in (n.box[0], n.box[2])]
        ys = [v for n in self.nodes for v in (n.box[1] - BADGE_R, n.box[3])]
        for e in self.edges:
            xs += [p[0] for p in e.points]
            ys += [p[1] for p in e.points]
            if e.label:
                x0, y0, x1, y1 = e.label_box
                xs += [x0, x1]
                ys += [y0, y1]
        return (min(xs), min(ys), max(xs), max(ys))

    def problems(self) -> list[str]:
        """What would hide something: boxes that overlap, labels over a box or another label,
        routes through a box other than their own ends (empty when the drawing is clean)."""
        out = []
        boxes = {n.id: n.box for n in self.nodes}
        for a, b in overlapping(
            {k: ((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0) for k, (x0, y0, x1, y1) in boxes.items()}
        ):
            out.append(f"boxes overlap: {a} / {b}")
        labels = [(e.id, e.label_box) for e in self.edges if e.label]
        for i, (ea, la) in enumerate(labels):
            for nid, bx in boxes.items():
                if _hit(la, bx):
                    out.append(f"label of {ea} covers box {nid}")
            for eb, lb in labels[i + 1 :]:
                if _hit(la, lb):
                    out.append(f"labels overlap: {ea} / {eb}")
        for e in self.edges:
            for nid, bx in boxes.items():
                if nid in (e.source, e.target):
                    continue
                shrunk = (bx[0] + 1, bx[1] + 1, bx[2] - 1, bx[3] - 1)
                if any(_segment_hits(p, q, shrunk) for p, q in zip(e.points, e.points[1:], strict=False)):
                    out.append(f"edge {e.id} crosses box {nid}")
        return out


def _hit(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _segment_hits(p: tuple[float, float], q: tuple[float, float], box: tuple[float, float, float, float]) -> bool:
    """Whether the segment p–q passes through the inside of ``box`` (Liang–Barsky clipping)."""
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for pp, qq in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if pp == 0:
            if qq < 0:
                return False
            continue
        r = qq / pp
        if pp < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-9


def phantom_id(node_id: str) -> str:
    """Scene id of the phantom (response window) node of engagement node ``node_id``."""
    return f"{node_id}::window"


def goal_id(name: str) -> str:
    """Scene id of the goal called ``name``."""
    return f"goal::{name}"


def _as_def(journey: Journey | JourneyDef) -> JourneyDef:
    return journey.definition if isinstance(journey, Journey) else journey


def _goal_lines(g: Any) -> list[str]:
    lines = [f"{KIND_STYLE['goal']['icon']} Goal", _clip(g.name)]
    if isinstance(g, ActionGoal):
        lines.append(_clip(g.event + (f" ({_filters_text(g.filters)})" if g.filters else "")))
    elif isinstance(g, PastBehaviorGoal):
        did = ", ".join(f"{e.event}≥{e.at_least}" for e in g.did)
        lines.append(_clip(f"{did or 'profile'} in {g.days}d (daily)"))
    return lines


def _elements(
    d: JourneyDef,
    stats: Mapping[str, Mapping[str, int]] | None,
    waiting: Mapping[str, Sequence[Any]] | None,
    issues: Iterable[Any] | None,
    conversions: Mapping[str, int] | None = None,
) -> tuple[list[SceneNode], list[SceneEdge], list[SceneNode]]:
    by_node: dict[str, list[Any]] = {}
    for it in issues or ():
        nid = getattr(it, "node", None)
        if nid:
            by_node.setdefault(nid, []).append(it)
    entry_ids = {n.id for n in d.entry_nodes()}
    connected: dict[str, dict[str, str]] = {}
    for c in d.connectors:
        connected.setdefault(c.source, {})[c.port] = c.target
    nodes: list[SceneNode] = []
    edges: list[SceneEdge] = []
    ids = {n.id for n in d.nodes}
    for node in d.nodes:
        kind = kind_of(node)
        info = NODE_KINDS[kind]
        style = KIND_STYLE[kind]
        lines = node_lines(node, info.title, style["icon"])
        s = None
        n_wait = 0
        if stats is not None:
            s = dict(stats.get(node.id, {}))
            lines += stat_lines(node, s)
            n_wait = int(s.get("waiting", 0))
        if waiting is not None and waiting.get(node.id):
            n_wait = max(n_wait, len(waiting[node.id]))
        its = by_node.get(node.id, [])
        sev = {getattr(i, "severity", "error") for i in its}
        badge = "error" if "error" in sev else ("warning" if its else None)
        w, h = box_size(lines)
        nodes.append(
            SceneNode(
                id=node.id,
                role="node",
                kind=kind,
                family=info.family,
                lines=lines,
                width=w,
                height=h,
                node_id=node.id,
                entry=node.id in entry_ids,
                stats=s,
                waiting=n_wait,
                badge=badge,
                issues=[f"{getattr(i, 'severity', '')}: {getattr(i, 'message', i)}" for i in its],
            )
        )
        ports = connected.get(node.id, {})
        phantom = isinstance(node, Engagement) and any(p in ports for p in ("viewed", "clicked"))
        if phantom and isinstance(node, Engagement):  # phantom implies an engagement node; this narrows it
            pid = phantom_id(node.id)
            plines = [f"{KIND_STYLE['phantom']['icon']} Response window", fmt_duration(node.response_window)]
            pw, ph = box_size(plines, min_w=110)
            nodes.append(
                SceneNode(
                    id=pid,
                    role="phantom",
                    kind="phantom",
                    family="phantom",
                    lines=plines,
                    width=pw,
                    height=ph,
                    node_id=node.id,
                    stats=s,
                )
            )
            edges.append(
                SceneEdge(
                    id=f"{node.id}->{pid}",
                    source=node.id,
                    target=pid,
                    port="",
                    label="",
                    role="window",
                    node_id=node.id,
                )
            )
        order = list(ports_of(node)) + [p for p in ports if p not in ports_of(node)]
        for port in order:
            if port not in ports or ports[port] not in ids:
                continue
            src = phantom_id(node.id) if phantom and port in ("viewed", "clicked", "timeout") else node.id
            label = port
            if isinstance(node, Split):
                pct = next((b.percent for b in node.branches if b.name == port), None)
                if pct is not None:
                    label = f"{port} {pct:g}%"
            count = None
            if s is not None:
                count = int(s.get(f"left_{port}", 0))
                label = f"{label}: {_n(count)}"
            edges.append(
                SceneEdge(
                    id=f"{node.id}|{port}|{ports[port]}",
                    source=src,
                    target=ports[port],
                    port=port,
                    label=label,
                    count=count,
                    node_id=node.id,
                )
            )
    goals = []
    for g in d.goals:
        lines = _goal_lines(g)
        conv = None
        if stats is not None and (conversions or {}).get(g.name) is not None:
            conv = int((conversions or {})[g.name])
            lines.append(f"converted {_n(conv)}")
        w, h = box_size(lines, min_w=120)
        goals.append(
            SceneNode(
                id=goal_id(g.name),
                role="goal",
                kind="goal",
                family="goal",
                lines=lines,
                width=w,
                height=h,
                conversions=conv,
            )
        )
    # a box is tall enough for every connector leaving it to have its own height
    out_count: dict[str, int] = {}
    for e in edges:
        out_count[e.source] = out_count.get(e.source, 0) + 1
    for n in nodes:
        k = out_count.get(n.id, 0)
        n.height = max(n.height, PORT_PITCH * k + 8)
    return nodes, edges, goals


def _place_goals(goals: list[SceneNode], placed: list[SceneNode], edges: list[SceneEdge]) -> None:
    """Goals go in a row under the graph (and under its routes and labels), from its left edge."""
    if not goals:
        return
    left = min((n.x - n.width / 2 for n in placed), default=0.0)
    bottom = max(
        [n.y + n.height / 2 for n in placed]
        + [p[1] for e in edges for p in e.points]
        + [e.label_box[3] for e in edges if e.label],
        default=-VGAP,
    )
    h = max(g.height for g in goals)
    x = left
    for g in goals:
        g.x = x + g.width / 2
        g.y = bottom + VGAP + h / 2
        x += g.width + VGAP


def _free_spot(n: SceneNode, x: float, y: float, placed: list[SceneNode]) -> tuple[float, float]:
    """Move (x, y) down until the box of ``n`` overlaps nothing already placed."""
    for _ in range(1000):
        hit = [
            p
            for p in placed
            if abs(p.x - x) < (p.width + n.width) / 2 + VGAP / 2 and abs(p.y - y) < (p.height + n.height) / 2 + VGAP / 2
        ]
        if not hit:
            break
        y = max(p.y + p.height / 2 for p in hit) + VGAP + n.height / 2
    return x, y


def clip_to_box(cx: float, cy: float, w: float, h: float, tx: float, ty: float) -> tuple[float, float]:
    """Where the segment from the centre (cx, cy) of a w×h box towards (tx, ty) leaves the box.

    >>> clip_to_box(0, 0, 100, 40, 200, 0)
    (50.0, 0.0)
    """
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return float(cx), float(cy)
    sx = (w / 2) / abs(dx) if dx else math.inf
    sy = (h / 2) / abs(dy) if dy else math.inf
    f = min(sx, sy, 1.0)
    return cx + dx * f, cy + dy * f


def _slots(n: SceneNode, k: int) -> list[float]:
    """``k`` heights, one per connector leaving (or entering) box ``n``, centred on it."""
    pitch = min(PORT_PITCH, (n.height - 8) / max(k - 1, 1)) if k > 1 else 0.0
    return [round(n.y + (i - (k - 1) / 2) * pitch, 1) for i in range(k)]


def _columns(nodes: list[SceneNode], lay: Layered | None) -> dict[str, tuple[float, float]]:
    """The column (left, right) each box stands in: its layer's with the automatic layout, else
    the box itself."""
    if lay is not None and all(n.id in lay.rank for n in nodes):
        return {n.id: lay.columns[lay.rank[n.id]] for n in nodes}
    return {n.id: (n.x - n.width / 2, n.x + n.width / 2) for n in nodes}


def _route_edges(nodes: list[SceneNode], edges: list[SceneEdge], lay: Layered | None) -> None:
    """Polyline routes and label places (see the module docstring)."""
    by_id = {n.id: n for n in nodes}
    col = _columns(nodes, lay)
    top = min((n.y - n.height / 2 for n in nodes), default=0.0)
    outs: dict[str, list[SceneEdge]] = {}
    ins: dict[str, list[SceneEdge]] = {}
    for e in edges:
        outs.setdefault(e.source, []).append(e)
        ins.setdefault(e.target, []).append(e)
    out_y = {e.id: y for src, es in outs.items() for e, y in zip(es, _slots(by_id[src], len(es)), strict=True)}
    in_y: dict[str, float] = {}
    for tgt, es in ins.items():
        es = sorted(es, key=lambda e: (by_id[e.source].y, out_y[e.id]))
        in_y.update({e.id: y for e, y in zip(es, _slots(by_id[tgt], len(es)), strict=True)})
    lane = 0
    for e in edges:
        a, b = by_id[e.source], by_id[e.target]
        y0, y1 = out_y[e.id], in_y[e.id]
        start = (round(a.x + a.width / 2, 1), y0)
        end = (round(b.x - b.width / 2, 1), y1)
        lw = label_width(e.label) if e.label else 0.0
        forward = col[b.id][0] > col[a.id][1] and not (lay is not None and (a.id, b.id) in lay.back)
        if forward:
            pts = [start]
            x = start[0]
            if e.label:
                e.label_xy = (round(start[0] + 8 + lw / 2, 1), y0)
                x = start[0] + 8 + lw + 6
            x = max(x, col[a.id][1] + 6)
            pts.append((round(x, 1), y0))
            if lay is not None:
                for dx, dy in lay.through.get((a.id, b.id), []):
                    left, right = _column_at(lay, dx)
                    pts += [(round(left - 6, 1), dy), (round(right + 6, 1), dy)]
            pts.append((round(min(col[b.id][0] - 10, end[0] - 10), 1), y1))
            pts.append(end)
            e.points, e.back = tuple(pts), False
            continue
        # a loop: out to the right, up to a lane of its own over the graph, left, down, in from the left
        lane += 1
        ly = round(top - 22.0 - (LABEL_H + 8) * lane, 1)
        xr = round(col[a.id][1] + 12 + 4 * lane, 1)
        xl = round(col[b.id][0] - 12 - 4 * lane, 1)
        pts = [start, (xr, y0), (xr, ly), (xl, ly), (xl, y1), end]
        e.points, e.back = tuple(pts), True
        if e.label:
            e.label_xy = (round((xr + xl) / 2, 1), ly)


def _column_at(lay: Layered, x: float) -> tuple[float, float]:
    for left, right in lay.columns:
        if left - 0.5 <= x <= right + 0.5:
            return left, right
    return x, x


def _layout_all(nodes: list[SceneNode], edges: list[SceneEdge]) -> Layered:
    # after each layer: room for the label of every edge leaving it, and for its diagonal
    gaps: dict[tuple[str, str], float] = {}
    for e in edges:  # two connectors between the same boxes: room for the longer label
        need = label_width(e.label) + 8 + 6 + DIAGONAL if e.label else HGAP
        gaps[(e.source, e.target)] = max(gaps.get((e.source, e.target), 0.0), need)
    sizes = {n.id: (n.width, n.height) for n in nodes}
    return layered(
        [n.id for n in nodes], sizes, [(e.source, e.target) for e in edges], gaps=gaps, vgap=max(VGAP, LABEL_H + 16)
    )


def _goal_counts(raw: Any, d: JourneyDef, stats: Mapping[str, Mapping[str, int]] | None) -> dict[str, int] | None:
    """Conversions per goal: from a result's journey statistics, else (one goal) every goal exit."""
    if stats is None:
        return None
    js = None
    if hasattr(raw, "journey_stats_of") and not _is_frame(raw):
        try:
            js = raw.journey_stats_of(d.id)
        except Exception:  # noqa: BLE001 - a result of other journeys: fall back to the node counts
            js = None
    if js is not None:
        return {g.name: int(js.get(f"conversions_{g.name}", 0)) for g in d.goals}
    total = sum(int(s.get("exited_goal", 0)) for s in stats.values())
    if len(d.goals) == 1:
        return {d.goals[0].name: total}
    return {}


def journey_scene(
    journey: Journey | JourneyDef,
    node_stats: Any = None,
    waiting_users: Mapping[str, Sequence[Any]] | None = None,
    *,
    issues: Iterable[Any] | None = None,
    layout: str = "stored",
    conversions: Mapping[str, int] | None = None,
) -> Scene:
    """The drawable journey.

    ``node_stats`` (a DataFrame indexed by node id, see :data:`STAT_COLUMNS`, or a simulation
    result) adds counts to nodes, edges and goals (``conversions`` per goal name, else read
    from the result, else — one goal — every goal exit); ``issues`` (validation items with
    ``.node`` and ``.severity``) add badges. ``layout="stored"`` uses the positions stored in
    the model (nodes without one are put in a free spot; with statistics, overlapping stored
    boxes fall back to the automatic layout so every count stays readable); ``layout="auto"``
    ignores them.
    """
    d = _as_def(journey)
    stats = normalize_stats(node_stats) if node_stats is not None else None
    if conversions is None:
        conversions = _goal_counts(node_stats, d, stats)
    nodes, edges, goals = _elements(d, stats, waiting_users, issues, conversions)
    auto_lay = _layout_all(nodes, edges)
    auto = auto_lay.positions
    lay: Layered | None = auto_lay  # None when the stored positions are used
    stored = {n.id: (n.position.x, n.position.y) for n in d.nodes if n.position is not None}
    by_id = {n.id: n for n in nodes}
    use_auto = layout == "auto" or not stored
    if not use_auto and stats is not None:
        boxes = {i: (x, y, by_id[i].width, by_id[i].height) for i, (x, y) in stored.items() if i in by_id}
        use_auto = bool(overlapping(boxes, gap=8))
    if not use_auto and all(
        n.id in stored and abs(stored[n.id][0] - auto[n.id][0]) < 0.5 and abs(stored[n.id][1] - auto[n.id][1]) < 0.5
        for n in nodes
        if n.role == "node"
    ):
        use_auto = True  # the stored positions are this very layout (Auto Align & Space)
    if use_auto:
        for n in nodes:
            n.x, n.y = auto[n.id]
    else:
        lay = None
        placed: list[SceneNode] = []
        for n in nodes:
            if n.role == "node" and n.id in stored:
                n.x, n.y = stored[n.id]
                placed.append(n)
        preds: dict[str, list[str]] = {}
        for e in edges:
            preds.setdefault(e.target, []).append(e.source)
        rest = sorted((n for n in nodes if n not in placed), key=lambda n: auto[n.id])
        for n in rest:
            if n.role == "phantom":
                eng = by_id[n.node_id or ""]
                x, y = eng.x + eng.width / 2 + HGAP + n.width / 2, eng.y
            else:
                src = next((by_id[p] for p in preds.get(n.id, []) if by_id[p] in placed), None)
                if src is not None:
                    x, y = src.x + src.width / 2 + HGAP + n.width / 2, src.y
                else:
                    left = min((p.x - p.width / 2 for p in placed), default=0.0)
                    bottom = max((p.y + p.height / 2 for p in placed), default=-VGAP)
                    x, y = left + n.width / 2, bottom + VGAP + n.height / 2
            n.x, n.y = _free_spot(n, x, y, placed)
            placed.append(n)
    _route_edges(nodes, edges, lay)
    _place_goals(goals, nodes, edges)
    return Scene(nodes=nodes + goals, edges=edges, with_stats=stats is not None)


def auto_positions(journey: Journey | JourneyDef, node_stats: Any = None) -> dict[str, tuple[float, float]]:
    """Auto Align & Space: a clean left-to-right position for every journey node (phantom
    and goal boxes are placed around them when drawn). Sizes include the counts when
    ``node_stats`` is given, so the statistics stay readable."""
    scene = journey_scene(journey, node_stats, layout="auto")
    return {n.id: (n.x, n.y) for n in scene.nodes if n.role == "node"}
