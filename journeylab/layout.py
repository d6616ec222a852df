"""Drawing a journey: what to draw (the *scene*) and where (a layered left-to-right layout).

The notebook canvas (:mod:`journeylab.widget`) and the static figures
(:mod:`journeylab.charts.journey_graph`) both draw :func:`journey_scene`, so they show the
same picture: the same boxes, sizes, labels, port-labelled edges and positions.

* :func:`layered_layout` is a small pure-Python Sugiyama layout: cycles broken by a DFS,
  longest-path layers left to right, dummy nodes on long edges, barycenter ordering
  (ports keep their order: ``yes`` above ``no`` above ``timeout``), and y coordinates
  solved per layer with minimum gaps, so boxes never overlap.
* :func:`auto_positions` is what "Auto Align & Space" stores in the model.
* :func:`journey_scene` builds the drawable elements of a journey (its nodes, a phantom
  window node after every engagement node with ``viewed``/``clicked`` connectors, goals
  in a column on the right), their labels (with counts when node statistics are given),
  validation badges, and their positions (stored ones, or the automatic layout).

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
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import (
    NODE_KINDS,
    Action,
    CustomList,
    DateTime,
    Delay,
    Engagement,
    ForceExit,
    Inaction,
    JourneyTrigger,
    PageCount,
    PageVisit,
    PastBehavior,
    ProfileMatch,
    ProfileUpdate,
    Referrer,
    Split,
    kind_of,
    ports_of,
)
from journeylab.model.settings import ActionGoal, PastBehaviorGoal

__all__ = [
    "KIND_STYLE",
    "STAT_COLUMNS",
    "SceneNode",
    "SceneEdge",
    "Scene",
    "layered_layout",
    "auto_positions",
    "journey_scene",
    "normalize_stats",
    "overlapping",
    "fmt_duration",
    "phantom_id",
    "goal_id",
    "clip_to_box",
    "label_width",
    "EDGE_COLORS",
]

HGAP = 56.0  # horizontal gap between layers (px)
VGAP = 34.0  # vertical gap between boxes of one layer (px)
CHAR_W = 6.7  # average width of one label character at 11 px
LINE_H = 15.0  # height of one label line
MIN_W, MAX_W = 120.0, 196.0
MAX_CHARS = int((MAX_W - 24) / CHAR_W)

# the statistics columns a node may have (``left_<split branch>`` columns come on top)
STAT_COLUMNS: tuple[str, ...] = (
    "entered", "waiting", "timed_out", "left_yes", "left_no", "left_timeout", "left_next", "left_viewed",
    "left_clicked", "left_not_sent", "sent", "deferred", "discarded", "viewed", "clicked", "exited",
)

# ----------------------------------------------------------------------------- style

#: per drawable kind: cytoscape shape name, fill and border colours, and a one-glyph icon (the
#: node kinds' own from the node-kind table; the phantom response window and goals on top)
KIND_STYLE: dict[str, dict[str, str]] = {
    **{kind: info.style.as_dict() for kind, info in NODE_KINDS.items()},
    "phantom": {"shape": "round-rectangle", "fill": "#f9fafb", "border": "#9ca3af", "icon": "◴"},
    "goal": {"shape": "concave-hexagon", "fill": "#fef3c7", "border": "#d97706", "icon": "★"},
}
#: line colour of an edge by the port it leaves (split branches and others: ``"other"``)
EDGE_COLORS: dict[str, str] = {
    "yes": "#15803d",
    "no": "#b91c1c",
    "timeout": "#c2410c",
    "next": "#374151",
    "viewed": "#1d4ed8",
    "clicked": "#6d28d9",
    "not_sent": "#6b7280",
    "window": "#9ca3af",
    "other": "#0369a1",
}
BADGE_COLORS = {"error": "#dc2626", "warning": "#eab308"}

# ----------------------------------------------------------------------------- scene types


@dataclass
class SceneNode:
    """One box to draw.

    ``role`` is ``"node"`` (a journey node), ``"phantom"`` (the response window after an
    engagement node; ``node_id`` is that engagement node) or ``"goal"``.
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
    x: float = 0.0
    y: float = 0.0

    @property
    def label(self) -> str:
        return "\n".join(self.lines)

    @property
    def style(self) -> dict[str, str]:
        return KIND_STYLE.get(self.kind, KIND_STYLE["goal" if self.role == "goal" else "phantom"])


@dataclass
class SceneEdge:
    """One arrow: ``source`` → ``target`` (scene node ids) leaving by ``port``.

    ``role`` is ``"connector"`` (a model connector), or ``"window"`` (engagement → its phantom).
    ``count`` is the flow (``left_<port>`` of the source) when statistics are drawn.
    """

    id: str
    source: str
    target: str
    port: str
    label: str
    role: str = "connector"
    count: int | None = None
    node_id: str | None = None  # the model node the connector leaves
    # geometry, set by journey_scene: the end points on the boxes, and for an edge that runs
    # backwards (right to left) the control point of the arc that carries it over the graph
    # and that arc as a cytoscape "control-point-distance"
    points: tuple[tuple[float, float], ...] = ()
    back: bool = False
    control: tuple[float, float] | None = None
    cpd: float = 0.0

    @property
    def label_point(self) -> tuple[float, float]:
        """Where the edge label sits: the middle of the line, or the apex of the arc."""
        (x0, y0), (x1, y1) = self.points
        if self.control is None:
            return (x0 + x1) / 2, (y0 + y1) / 2
        cx, cy = self.control
        return (x0 + 2 * cx + x1) / 4, (y0 + 2 * cy + y1) / 4


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
        """(left, top, right, bottom) of every box and every arc over the graph."""
        if not self.nodes:
            return (0.0, 0.0, 0.0, 0.0)
        arcs = [e.label_point[1] - 12 for e in self.edges if e.back and e.points]
        return (
            min(n.x - n.width / 2 for n in self.nodes),
            min([n.y - n.height / 2 for n in self.nodes] + arcs),
            max(n.x + n.width / 2 for n in self.nodes),
            max(n.y + n.height / 2 for n in self.nodes),
        )


def phantom_id(node_id: str) -> str:
    """Scene id of the phantom (response window) node of engagement node ``node_id``."""
    return f"{node_id}::window"


def goal_id(name: str) -> str:
    """Scene id of the goal called ``name``."""
    return f"goal::{name}"


# ----------------------------------------------------------------------------- text helpers


def fmt_duration(td: dt.timedelta | None) -> str:
    """Short text for a duration.

    >>> fmt_duration(dt.timedelta(minutes=15)), fmt_duration(dt.timedelta(days=1, hours=2)), fmt_duration(None)
    ('15m', '1d 2h', '')
    >>> fmt_duration(-dt.timedelta(hours=2))
    '-2h'
    """
    if td is None:
        return ""
    secs = int(td.total_seconds())
    if secs == 0:
        return "0m"
    sign = "-" if secs < 0 else ""
    secs = abs(secs)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            parts.append(f"{secs // size}{unit}")
            secs %= size
    return sign + " ".join(parts)


def _fmt_time(t: dt.time | None) -> str:
    return "" if t is None else t.strftime("%H:%M")


def _fmt_value(v: Any) -> str:
    return str(v) if not isinstance(v, str) else v


def _filters_text(filters: Iterable[Any]) -> str:
    return ", ".join(f"{f.property} {f.op} {_fmt_value(f.value)}".strip() for f in filters)


def _clip(text: str, n: int = MAX_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _wrap(text: str, n: int = MAX_CHARS, max_lines: int = 2) -> list[str]:
    """Break ``text`` into at most ``max_lines`` lines of ``n`` characters (the last clipped)."""
    lines = textwrap.wrap(" ".join(str(text).split()), n, break_long_words=True) or [""]
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [_clip(" ".join(lines[max_lines - 1 :]), n)]
    return lines


def _join_parts(parts: Sequence[str], n: int = MAX_CHARS) -> list[str]:
    """Join ``a · b · c`` greedily into lines of at most ``n`` characters."""
    lines: list[str] = []
    for p in parts:
        if lines and len(lines[-1]) + 3 + len(p) <= n:
            lines[-1] += " · " + p
        else:
            lines.append(_clip(p, n))
    return lines


def _summary(node: Any) -> list[str]:
    """One or two short lines that say what a node does."""
    out: list[str] = []
    if isinstance(node, Action):
        out.append(node.event + (f" ({_filters_text(node.filters)})" if node.filters else ""))
    elif isinstance(node, Inaction):
        head = f"{node.event} → " if node.event else ""
        out.append(f"{head}no {node.absent} in {fmt_duration(node.within)}")
    elif isinstance(node, PastBehavior):
        did = ", ".join(f"{e.event}≥{e.at_least}" for e in node.did)
        not_ = ", ".join(f"not {e.event}" for e in node.did_not)
        out.append(", ".join(x for x in (did, not_) if x) + f" in {node.days}d")
    elif isinstance(node, DateTime):
        off = fmt_duration(node.offset)
        out.append(node.property + (f" {'+' if node.offset >= dt.timedelta(0) else ''}{off}" if node.offset else ""))
    elif isinstance(node, PageVisit):
        out.append(f"url {node.match} {node.url}")
    elif isinstance(node, Referrer):
        out.append(f"referrer {node.match} {node.source}")
    elif isinstance(node, PageCount):
        out.append(f"{node.count} pages in a session")
    elif isinstance(node, ProfileMatch):
        out.append(_filters_text(node.profile))
    elif isinstance(node, JourneyTrigger):
        out.append(f"{node.journey} / {node.node}" + (f" by {node.port}" if node.port else ""))
    elif isinstance(node, CustomList):
        out.append(node.path or f"{len(node.users)} users")
    elif isinstance(node, Engagement):
        c = node.content
        text = c.get("title") or c.get("subject") or c.get("body") or next(iter(c.values()), "")
        if text:
            out.append(f"“{text}”")
        if node.send_at is not None:
            out.append(f"send at {_fmt_time(node.send_at)}")
    elif isinstance(node, Delay):
        if node.duration is not None:
            out.append(f"wait {fmt_duration(node.duration)}")
        elif node.at_time is not None:
            days = ",".join(node.weekdays)
            out.append(f"until {_fmt_time(node.at_time)}" + (f" {days}" if days else ""))
        elif node.property:
            off = f" {'+' if node.offset >= dt.timedelta(0) else ''}{fmt_duration(node.offset)}" if node.offset else ""
            out.append(f"until {node.property}{off}")
    elif isinstance(node, ProfileUpdate):
        op = {"set": "set", "add": "add to", "remove": "remove from", "increment": "+", "decrement": "−"}[node.op]
        if node.op in ("increment", "decrement"):
            out.append(f"{node.property} {op}{_fmt_value(1 if node.value is None else node.value)}")
        elif node.op == "set":
            out.append(f"set {node.property} = {_fmt_value(node.value)}")
        else:
            out.append(f"{op} {node.property}: {_fmt_value(node.value)}")
    elif isinstance(node, Split):
        out.append(" · ".join(f"{b.name} {b.percent:g}%" for b in node.branches))
    elif isinstance(node, ForceExit):
        out.append("exit the journey")
    window = getattr(node, "window", None)
    if window is not None:
        out.append(f"window {fmt_duration(window)}")
    return [line for x in out if x for line in _wrap(x)]


def _n(v: int) -> str:
    return f"{int(v):,}"


def _stat_lines(node: Any, s: Mapping[str, int]) -> list[str]:
    kind = kind_of(node)
    fam = NODE_KINDS[kind].family

    def c(col: str) -> str:
        return _n(s.get(col, 0))

    parts = [f"in {c('entered')}", f"waiting {c('waiting')}"]
    if fam == "engagement":
        parts += [f"sent {c('sent')}", f"viewed {c('viewed')}", f"clicked {c('clicked')}"]
        if s.get("deferred", 0) or s.get("discarded", 0):
            parts += [f"deferred {c('deferred')}", f"discarded {c('discarded')}"]
        if s.get("left_not_sent", 0):
            parts.append(f"not sent {c('left_not_sent')}")
    elif kind == "force_exit":
        parts.append(f"exited {c('exited')}")
    else:
        ports = ports_of(node)
        parts += [f"{p} {c('left_' + p)}" for p in ports]
        if s.get("timed_out", 0) and "timeout" not in ports:
            parts.append(f"timed out {c('timed_out')}")
    return _join_parts(parts)


def _size(lines: Sequence[str], *, min_w: float = MIN_W) -> tuple[float, float]:
    longest = max((len(x) for x in lines), default=0)
    w = min(MAX_W, max(min_w, longest * CHAR_W + 24))
    h = LINE_H * len(lines) + 18
    return round(w), round(h)


# ----------------------------------------------------------------------------- statistics input


def _is_frame(x: Any) -> bool:
    """A pandas DataFrame (duck-typed: pandas stays optional here)."""
    return hasattr(x, "to_dict") and hasattr(x, "index") and hasattr(x, "columns")


def normalize_stats(node_stats: Any) -> dict[str, dict[str, int]]:
    """Node statistics as ``{node_id: {column: int}}`` from a DataFrame indexed by node id
    (or a mapping of mappings, or an object with a ``node_stats`` attribute). Missing and
    NaN values count as 0.

    >>> normalize_stats({"a": {"entered": 3, "waiting": float("nan")}})
    {'a': {'entered': 3, 'waiting': 0}}
    """
    if node_stats is None:
        return {}
    if hasattr(node_stats, "node_stats") and not _is_frame(node_stats):  # a simulation result
        node_stats = node_stats.node_stats
    if _is_frame(node_stats):
        raw = node_stats.to_dict(orient="index")
    else:
        raw = dict(node_stats)
    out: dict[str, dict[str, int]] = {}
    for nid, row in raw.items():
        clean: dict[str, int] = {}
        for col, v in dict(row).items():
            try:
                f = float(v)
            except (TypeError, ValueError):
                continue
            clean[str(col)] = 0 if math.isnan(f) else int(f)
        out[str(nid)] = clean
    return out


# ----------------------------------------------------------------------------- the layout


def _isotonic(targets: list[float], weights: list[float]) -> list[float]:
    """Weighted least-squares non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight, count]
    for t, w in zip(targets, weights, strict=True):
        blocks.append([t, w, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            wt = w1 + w2
            blocks.append([(m1 * w1 + m2 * w2) / wt, wt, c1 + c2])
    out: list[float] = []
    for m, _w, c in blocks:
        out.extend([m] * int(c))
    return out


def _crossings(order: list[list[str]], succ: Mapping[str, list[str]]) -> int:
    total = 0
    for k in range(len(order) - 1):
        pos = {n: i for i, n in enumerate(order[k + 1])}
        pairs = [(i, pos[t]) for i, s in enumerate(order[k]) for t in succ[s] if t in pos]
        for a in range(len(pairs)):
            for b in range(a + 1, len(pairs)):
                (u1, v1), (u2, v2) = pairs[a], pairs[b]
                if (u1 - u2) * (v1 - v2) < 0:
                    total += 1
    return total


def layered_layout(
    nodes: Sequence[str],
    sizes: Mapping[str, tuple[float, float]],
    edges: Sequence[tuple[str, str]],
    *,
    hgap: float = HGAP,
    vgap: float = VGAP,
    gaps: Mapping[tuple[str, str], float] | None = None,
) -> dict[str, tuple[float, float]]:
    """Centre positions for ``nodes`` (boxes of ``sizes`` = (width, height)) drawn left to right.

    Edges go from left to right (the edges that close a cycle are drawn backwards); boxes
    of one layer are at least ``vgap`` apart, layers at least ``hgap`` — or more where an
    edge ``(s, t)`` between neighbouring layers asks for a wider gap in ``gaps`` (room for
    its label). The top-left box corner is at (0, 0). The result depends only on the
    arguments.

    >>> pos = layered_layout(["a", "b", "c"], {n: (100, 40) for n in "abc"}, [("a", "b"), ("a", "c")])
    >>> pos["a"][0] < pos["b"][0] == pos["c"][0], pos["b"][1] < pos["c"][1]
    (True, True)
    """
    nodes = list(dict.fromkeys(nodes))
    index = {n: i for i, n in enumerate(nodes)}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    pred: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in edges:
        if s in index and t in index and s != t and t not in succ[s]:
            succ[s].append(t)
            pred[t].append(s)

    # 1. DFS from the sources (in order), then from anything left: discovery order and back edges
    discovered: dict[str, int] = {}
    on_stack: set[str] = set()
    back: set[tuple[str, str]] = set()
    roots = [n for n in nodes if not pred[n]] + nodes
    for root in roots:
        if root in discovered:
            continue
        discovered[root] = len(discovered)
        on_stack.add(root)
        stack = [(root, iter(succ[root]))]
        while stack:
            n, it = stack[-1]
            for t in it:
                if t in on_stack:
                    back.add((n, t))
                elif t not in discovered:
                    discovered[t] = len(discovered)
                    on_stack.add(t)
                    stack.append((t, iter(succ[t])))
                    break
            else:
                stack.pop()
                on_stack.discard(n)
    dag_succ: dict[str, list[str]] = {n: [] for n in nodes}
    for s in nodes:
        for t in succ[s]:
            a, b = (t, s) if (s, t) in back else (s, t)
            if b not in dag_succ[a]:
                dag_succ[a].append(b)
    dag_pred: dict[str, list[str]] = {n: [] for n in nodes}
    for s in nodes:
        for t in dag_succ[s]:
            dag_pred[t].append(s)

    # 2. longest-path layers (Kahn's order)
    indeg = {n: len(dag_pred[n]) for n in nodes}
    ready = sorted((n for n in nodes if indeg[n] == 0), key=discovered.__getitem__)
    layer = dict.fromkeys(nodes, 0)
    while ready:
        n = ready.pop(0)
        for t in dag_succ[n]:
            layer[t] = max(layer[t], layer[n] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
                ready.sort(key=discovered.__getitem__)

    # 3. dummy nodes on edges spanning several layers
    lsucc: dict[str, list[str]] = {n: [] for n in nodes}
    lpred: dict[str, list[str]] = {n: [] for n in nodes}
    rank = dict(layer)
    order_key = {n: float(discovered[n]) for n in nodes}
    dummies: set[str] = set()
    for s in nodes:
        for t in dag_succ[s]:
            prev = s
            for k in range(layer[s] + 1, layer[t]):
                d = f"\0{s}\0{t}\0{k}"
                dummies.add(d)
                rank[d] = k
                order_key[d] = order_key[s] + 0.5
                lsucc[d], lpred[d] = [], []
                lsucc[prev].append(d)
                lpred[d].append(prev)
                prev = d
            lsucc[prev].append(t)
            lpred[t].append(prev)
    depth = max(rank.values(), default=-1) + 1
    order: list[list[str]] = [[] for _ in range(depth)]
    for n in sorted(rank, key=lambda n: order_key[n]):
        order[rank[n]].append(n)

    # 4. barycenter ordering sweeps; keep the order with the fewest crossings
    def sweep(order: list[list[str]], down: bool) -> list[list[str]]:
        new = [list(x) for x in order]
        ks = range(1, depth) if down else range(depth - 2, -1, -1)
        for k in ks:
            ref = {n: i for i, n in enumerate(new[k - 1 if down else k + 1])}
            nb = lpred if down else lsucc

            def key(item: tuple[int, str], ref: dict[str, int] = ref, nb: dict[str, list[str]] = nb) -> float:
                i, n = item
                ps = [ref[p] for p in nb[n] if p in ref]
                return sum(ps) / len(ps) if ps else float(i)

            new[k] = [n for _, n in sorted(enumerate(new[k]), key=key)]
        return new

    best, best_c = order, _crossings(order, lsucc)
    cur = order
    for i in range(8):
        cur = sweep(cur, down=(i % 2 == 0))
        c = _crossings(cur, lsucc)
        if c < best_c:
            best, best_c = cur, c
    order = best

    # 5. coordinates: x per layer, y solved per layer with minimum gaps
    def size(n: str) -> tuple[float, float]:
        return (0.0, 8.0) if n in dummies else (float(sizes[n][0]), float(sizes[n][1]))

    need = [hgap] * depth
    for (s, t), g in (gaps or {}).items():
        if s in rank and t in rank and (s, t) not in back and rank[t] == rank[s] + 1:
            need[rank[s]] = max(need[rank[s]], float(g))
    xs: list[float] = []
    x = 0.0
    for k in range(depth):
        w = max((size(n)[0] for n in order[k]), default=0.0)
        xs.append(x + w / 2)
        x += w + need[k]
    y: dict[str, float] = {}
    for k in range(depth):
        top = 0.0
        for n in order[k]:
            h = size(n)[1]
            y[n] = top + h / 2
            top += h + vgap

    def place(k: int, nb: Mapping[str, list[str]]) -> None:
        ns = order[k]
        if not ns:
            return
        targets, weights, offsets = [], [], []
        off = 0.0
        for i, n in enumerate(ns):
            if i:
                off += size(ns[i - 1])[1] / 2 + vgap + size(n)[1] / 2
            offsets.append(off)
            ps = [y[p] for p in nb[n]]
            targets.append((sum(ps) / len(ps) if ps else y[n]) - off)
            weights.append(1.0 if ps else 0.2)
        z = _isotonic(targets, weights)
        for n, zi, o in zip(ns, z, offsets, strict=True):
            y[n] = zi + o

    for _ in range(4):
        for k in range(1, depth):
            place(k, lpred)
        for k in range(depth - 2, -1, -1):
            place(k, lsucc)
    for k in range(1, depth):
        place(k, lpred)

    real = [n for n in nodes]
    top = min((y[n] - size(n)[1] / 2 for n in real), default=0.0)
    return {n: (round(xs[rank[n]], 1), round(y[n] - top, 1)) for n in real}


def overlapping(boxes: Mapping[str, tuple[float, float, float, float]], *, gap: float = 0.0) -> list[tuple[str, str]]:
    """Pairs of boxes ``{id: (x, y, w, h)}`` (centre, size) that overlap (closer than ``gap``).

    >>> overlapping({"a": (0, 0, 10, 10), "b": (5, 5, 10, 10), "c": (50, 0, 10, 10)})
    [('a', 'b')]
    """
    items = sorted(boxes.items())
    out = []
    for i, (a, (ax, ay, aw, ah)) in enumerate(items):
        for b, (bx, by, bw, bh) in items[i + 1 :]:
            if abs(ax - bx) < (aw + bw) / 2 + gap and abs(ay - by) < (ah + bh) / 2 + gap:
                out.append((a, b))
    return out


# ----------------------------------------------------------------------------- the scene


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
        lines = [f"{style['icon']} {info.title}", *_wrap(node.label or node.id), *_summary(node)]
        s = None
        n_wait = 0
        if stats is not None:
            s = dict(stats.get(node.id, {}))
            lines += _stat_lines(node, s)
            n_wait = int(s.get("waiting", 0))
        if waiting is not None and waiting.get(node.id):
            n_wait = max(n_wait, len(waiting[node.id]))
        its = by_node.get(node.id, [])
        sev = {getattr(i, "severity", "error") for i in its}
        badge = "error" if "error" in sev else ("warning" if its else None)
        w, h = _size(lines)
        nodes.append(
            SceneNode(
                id=node.id, role="node", kind=kind, family=info.family, lines=lines, width=w, height=h,
                node_id=node.id, entry=node.id in entry_ids, stats=s, waiting=n_wait, badge=badge,
                issues=[f"{getattr(i, 'severity', '')}: {getattr(i, 'message', i)}" for i in its],
            )
        )
        ports = connected.get(node.id, {})
        phantom = isinstance(node, Engagement) and any(p in ports for p in ("viewed", "clicked"))
        if phantom:
            pid = phantom_id(node.id)
            plines = [f"{KIND_STYLE['phantom']['icon']} Response window", fmt_duration(node.response_window)]
            pw, ph = _size(plines, min_w=110)
            nodes.append(
                SceneNode(id=pid, role="phantom", kind="phantom", family="phantom", lines=plines, width=pw, height=ph,
                          node_id=node.id, stats=s)
            )
            edges.append(SceneEdge(id=f"{node.id}->{pid}", source=node.id, target=pid, port="", label="",
                                   role="window", node_id=node.id))
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
            edges.append(SceneEdge(id=f"{node.id}|{port}|{ports[port]}", source=src, target=ports[port], port=port,
                                   label=label, count=count, node_id=node.id))
    goals = []
    for g in d.goals:
        lines = _goal_lines(g)
        w, h = _size(lines, min_w=120)
        goals.append(SceneNode(id=goal_id(g.name), role="goal", kind="goal", family="goal", lines=lines, width=w,
                               height=h))
    return nodes, edges, goals


def _place_goals(goals: list[SceneNode], placed: list[SceneNode]) -> None:
    """Goals go in a row under the graph, from its left edge."""
    if not goals:
        return
    left = min((n.x - n.width / 2 for n in placed), default=0.0)
    bottom = max((n.y + n.height / 2 for n in placed), default=-VGAP)
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
            p for p in placed
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


def _route_edges(nodes: list[SceneNode], edges: list[SceneEdge]) -> None:
    by_id = {n.id: n for n in nodes}
    top = min((n.y - n.height / 2 for n in nodes), default=0.0)
    k = 0
    for e in edges:
        a, b = by_id[e.source], by_id[e.target]
        p0 = clip_to_box(a.x, a.y, a.width, a.height, b.x, b.y)
        p2 = clip_to_box(b.x, b.y, b.width, b.height, a.x, a.y)
        if b.x > a.x + 1:
            e.points, e.back, e.control, e.cpd = (p0, p2), False, None, 0.0
            continue
        # a backward edge: an arc over the top of the graph (quadratic Bezier, apex above every box)
        k += 1
        apex = top - 26.0 - 18.0 * (k - 1)
        mx, my = (p0[0] + p2[0]) / 2, (p0[1] + p2[1]) / 2
        dx, dy = p2[0] - p0[0], p2[1] - p0[1]
        ln = math.hypot(dx, dy) or 1.0
        nx, ny = -dy / ln, dx / ln  # cytoscape's normal of the source -> target direction
        if abs(ny) < 1e-6:
            nx, ny = 0.0, -1.0
        d = 2 * (apex - my) / ny
        cx, cy = mx + d * nx, my + d * ny
        q0 = clip_to_box(a.x, a.y, a.width, a.height, cx, cy)
        q2 = clip_to_box(b.x, b.y, b.width, b.height, cx, cy)
        e.points, e.back, e.control, e.cpd = (q0, q2), True, (cx, cy), round(d, 1)


def label_width(text: str) -> float:
    """Approximate width (px) of an edge label at 10 px, with its padding."""
    return len(text) * 6.0 + 14


def _layout_all(nodes: list[SceneNode], edges: list[SceneEdge]) -> dict[str, tuple[float, float]]:
    # a gap wide enough for the label of every edge between neighbouring layers
    gaps = {(e.source, e.target): label_width(e.label) + 16 for e in edges if e.label}
    return layered_layout(
        [n.id for n in nodes],
        {n.id: (n.width, n.height) for n in nodes},
        [(e.source, e.target) for e in edges],
        gaps=gaps,
    )


def journey_scene(
    journey: Journey | JourneyDef,
    node_stats: Any = None,
    waiting_users: Mapping[str, Sequence[Any]] | None = None,
    *,
    issues: Iterable[Any] | None = None,
    layout: str = "stored",
) -> Scene:
    """The drawable journey.

    ``node_stats`` (a DataFrame indexed by node id, see :data:`STAT_COLUMNS`) adds counts to
    nodes and edges; ``issues`` (validation items with ``.node`` and ``.severity``) add
    badges. ``layout="stored"`` uses the positions stored in the model (nodes without one
    are put in a free spot; with statistics, overlapping stored boxes fall back to the
    automatic layout so every count stays readable); ``layout="auto"`` ignores them.
    """
    d = _as_def(journey)
    stats = normalize_stats(node_stats) if node_stats is not None else None
    nodes, edges, goals = _elements(d, stats, waiting_users, issues)
    auto = _layout_all(nodes, edges)
    stored = {n.id: (n.position.x, n.position.y) for n in d.nodes if n.position is not None}
    by_id = {n.id: n for n in nodes}
    use_auto = layout == "auto" or not stored
    if not use_auto and stats is not None:
        boxes = {i: (x, y, by_id[i].width, by_id[i].height) for i, (x, y) in stored.items() if i in by_id}
        use_auto = bool(overlapping(boxes))
    if use_auto:
        for n in nodes:
            n.x, n.y = auto[n.id]
    else:
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
                if eng in placed and abs(eng.x - auto[eng.id][0]) < 0.5 and abs(eng.y - auto[eng.id][1]) < 0.5:
                    x, y = auto[n.id]
                else:
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
    _place_goals(goals, nodes)
    _route_edges(nodes, edges)
    return Scene(nodes=nodes + goals, edges=edges, with_stats=stats is not None)


def auto_positions(journey: Journey | JourneyDef, node_stats: Any = None) -> dict[str, tuple[float, float]]:
    """Auto Align & Space: a clean left-to-right position for every journey node (phantom
    and goal boxes are placed around them when drawn). Sizes include the counts when
    ``node_stats`` is given, so the statistics stay readable."""
    scene = journey_scene(journey, node_stats, layout="auto")
    return {n.id: (n.x, n.y) for n in scene.nodes if n.role == "node"}
