"""The scene on the cytoscape canvas: elements from :func:`journeylab.layout.journey_scene`, kept
in sync with as few widget changes as possible.

:func:`scene_elements` turns a scene into cytoscape node and edge dicts: one node per box,
per edge label (``role="edge-label"``, at the place the scene chose), per badge
(``role="badge"``: validation; ``role="waiting"``: users waiting) and per port handle
(``role="port"``, for connecting by mouse); edges are polylines through the route's points
(``segment-distances``/``segment-weights`` relative to the line between the two box centres).
:class:`CanvasSync` applies them to an ``ipycytoscape.CytoscapeWidget``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import ipycytoscape as cy

from journeylab.layout import BADGE_COLORS, EDGE_COLORS, WAITING_COLOR, Scene, SceneEdge, SceneNode, waiting_width

__all__ = ["scene_elements", "segments", "CanvasSync", "port_handles"]

PORT_H = 20.0


def _color_of(e: SceneEdge) -> str:
    return EDGE_COLORS["window"] if e.role == "window" else EDGE_COLORS.get(e.port, EDGE_COLORS["other"])


def segments(s: tuple[float, float], t: tuple[float, float], points: Sequence[tuple[float, float]]) -> tuple[str, str]:
    """Cytoscape ``segment-distances`` and ``segment-weights`` (space-separated) that put an
    edge from the centre ``s`` to the centre ``t`` through ``points``.

    >>> segments((0, 0), (100, 0), [(50, -20)])
    ('-20', '0.5')
    """
    vx, vy = t[0] - s[0], t[1] - s[1]
    ln2 = vx * vx + vy * vy
    if ln2 == 0 or not points:
        return "0", "0.5"
    ln = math.sqrt(ln2)
    nx, ny = -vy / ln, vx / ln  # cytoscape's normal of the source -> target direction
    ds, ws = [], []
    for px, py in points:
        dx, dy = px - s[0], py - s[1]
        ws.append(f"{(dx * vx + dy * vy) / ln2:.4f}".rstrip("0").rstrip("."))
        ds.append(f"{dx * nx + dy * ny:.1f}".rstrip("0").rstrip("."))
    return " ".join(ds), " ".join(ws)


def port_handles(n: SceneNode, ports: Sequence[str]) -> list[tuple[str, float, float, float]]:
    """``(port, x, y, width)`` of the handles shown under selected box ``n``: one per free port,
    in a row just under the box (inside the gap the layout keeps between boxes)."""
    out = []
    widths = [len(p) * 7.0 + 16 for p in ports]
    total = sum(widths) + 4 * max(len(ports) - 1, 0)
    x = n.x - total / 2
    y = n.y + n.height / 2 + 4 + PORT_H / 2
    for p, w in zip(ports, widths, strict=True):
        out.append((p, round(x + w / 2, 1), round(y, 1), w))
        x += w + 4
    return out


def scene_elements(
    scene: Scene, *, ports: Sequence[str] = (), port_of: str | None = None, armed: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cytoscape node and edge dicts (``key``, ``data``, ``classes``, ``position``...) of a scene;
    ``ports`` are the free ports of box ``port_of`` to show handles for (``armed``: the one
    clicked, waiting for its target)."""
    nodes: list[dict[str, Any]] = []
    by_id = {n.id: n for n in scene.nodes}
    for n in scene.nodes:
        st = n.style
        classes = [n.role, n.family, n.kind]
        if n.entry:
            classes.append("entry")
        if n.badge:
            classes.append(f"badge-{n.badge}")
        if n.waiting:
            classes.append("has-waiting")
        nodes.append(
            {
                "key": n.id,
                "data": {
                    "node_id": n.node_id,
                    "scene_id": n.id,
                    "role": n.role,
                    "kind": n.kind,
                    "family": n.family,
                    "label": n.label,
                    "w": n.width,
                    "h": n.height,
                    "tw": n.width,
                    "shape": st["shape"],
                    "fill": st["fill"],
                    "border": st["border"],
                    "issues": "\n".join(n.issues),
                    "waiting": n.waiting,
                },
                "classes": classes,
                "position": {"x": n.x, "y": n.y},
                "grabbable": n.role == "node",
            }
        )
        if n.badge:
            bx, by = n.badge_point
            nodes.append(
                {
                    "key": f"{n.id}~badge",
                    "data": {
                        "node_id": n.node_id,
                        "scene_id": n.id,
                        "role": "badge",
                        "label": "!",
                        "issues": "\n".join(n.issues),
                        "w": 18,
                        "h": 18,
                        "tw": 18,
                        "shape": "ellipse",
                        "fill": BADGE_COLORS[n.badge],
                        "border": "#ffffff",
                        "of": n.id,
                    },
                    "classes": ["badge", f"dot-{n.badge}"],
                    "position": {"x": bx, "y": by},
                    "grabbable": False,
                }
            )
        if n.waiting:
            wx, wy = n.waiting_point
            text = f"{n.waiting:,}"
            nodes.append(
                {
                    "key": f"{n.id}~waiting",
                    "data": {
                        "node_id": n.node_id,
                        "scene_id": n.id,
                        "role": "waiting",
                        "label": text,
                        "w": waiting_width(n.waiting),
                        "h": 17,
                        "tw": 80,
                        "shape": "round-rectangle",
                        "fill": WAITING_COLOR,
                        "border": "#ffffff",
                        "of": n.id,
                    },
                    "classes": ["waiting"],
                    "position": {"x": wx, "y": wy},
                    "grabbable": False,
                }
            )
    if port_of is not None and port_of in by_id and ports:
        n = by_id[port_of]
        for port, x, y, w in port_handles(n, ports):
            nodes.append(
                {
                    "key": f"{n.id}~port~{port}",
                    "data": {
                        "node_id": n.node_id,
                        "scene_id": n.id,
                        "role": "port",
                        "port": port,
                        "label": port,
                        "w": w,
                        "h": PORT_H,
                        "tw": w,
                        "shape": "round-rectangle",
                        "fill": EDGE_COLORS.get(port, EDGE_COLORS["other"]),
                        "border": "#ffffff",
                        "of": n.id,
                    },
                    "classes": ["port"] + (["port-armed"] if port == armed else []),
                    "position": {"x": x, "y": y},
                    "grabbable": False,
                }
            )
    edges: list[dict[str, Any]] = []
    for e in scene.edges:
        a, b = by_id[e.source], by_id[e.target]
        classes = [e.role, f"port-{e.port}" if e.port else "port-none"]
        if e.back:
            classes.append("back")
        inner = list(e.points[1:-1])
        if e.source == e.target:
            classes.append("loop")
        elif not inner:
            classes.append("straight")
        sd, sw = segments((a.x, a.y), (b.x, b.y), inner)
        color = _color_of(e)
        edges.append(
            {
                "key": e.id,
                "source": e.source,
                "target": e.target,
                "data": {
                    "edge_id": e.id if e.role == "connector" else None,
                    "node_id": e.node_id,
                    "port": e.port,
                    "label": e.label,
                    "count": e.count,
                    "color": color,
                    "sd": sd,
                    "sw": sw,
                    "role": e.role,
                    "points": [list(p) for p in e.points],
                },
                "classes": classes,
            }
        )
        if e.label:
            (lx, ly), (lw, lh) = e.label_point, e.label_size
            nodes.append(
                {
                    "key": f"{e.id}~label",
                    "data": {
                        "node_id": e.node_id,
                        "edge_id": e.id,
                        "role": "edge-label",
                        "label": e.label,
                        "w": lw,
                        "h": lh,
                        "tw": lw,
                        "shape": "round-rectangle",
                        "fill": "#ffffff",
                        "border": color,
                    },
                    "classes": ["edge-label", f"port-{e.port}"],
                    "position": {"x": lx, "y": ly},
                    "grabbable": False,
                }
            )
    return nodes, edges


_RESPONSE_PORTS = ("viewed", "clicked", "timeout")


def user_path(
    source: Any, user: str | None = None, journey: str | None = None
) -> tuple[set[str], set[tuple[str, str]]]:
    """The nodes one user entered and the ``(node, port)`` pairs they left by, from a
    :class:`~journeylab.preview.Preview` or from a trace (a simulation result's ``trace``, or
    any object with one, and ``user``; ``journey`` narrows a trace of several journeys).

    >>> from journeylab.examples import cart_abandonment
    >>> p = cart_abandonment().preview({"push_token": "t"}, [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}])
    >>> nodes, left = user_path(p)
    >>> sorted(nodes), ("cart", "yes") in left
    (['cart', 'charged', 'push', 'reminder', 'wait'], True)
    """
    steps = getattr(source, "steps", None)
    if steps is not None:
        rows = [(s.node, s.event, s.port) for s in steps]
    else:
        trace = getattr(source, "trace", source)
        if user is None:
            raise ValueError("give the user id whose path to show (user=...) with a trace or a simulation result")
        if not hasattr(trace, "columns") or not {"user_id", "node", "event", "port"} <= set(trace.columns):
            raise TypeError(
                f"expected a Preview, a simulation result or a trace DataFrame, not {type(source).__name__}"
            )
        t = trace[trace["user_id"].astype(str) == str(user)]
        if journey is not None:
            t = t[t["journey"].astype(str) == journey]
        if t.empty:
            raise LookupError(
                f"user {user!r} has no rows in this trace" + (f" for journey {journey!r}" if journey else "")
            )
        rows = list(zip(t["node"].astype(str), t["event"].astype(str), t["port"].astype(str), strict=True))
    visited = {n for n, ev, _ in rows if ev == "entered"}
    left = {(n, port) for n, ev, port in rows if ev == "left" and port}
    return visited, left


def path_keys(scene: Scene, visited: set[str], left: set[tuple[str, str]]) -> set[str]:
    """The canvas element keys (boxes, phantom windows, connectors and their labels) on a user's
    path (see :func:`user_path`)."""
    keys: set[str] = set()
    for n in scene.nodes:
        if (
            n.role == "node"
            and n.node_id in visited
            or n.role == "phantom"
            and any((n.node_id, p) in left for p in _RESPONSE_PORTS)
        ):
            keys.add(n.id)
    for e in scene.edges:
        on = (
            (e.node_id, e.port) in left
            if e.role == "connector"
            else e.role == "window" and any((e.node_id, p) in left for p in _RESPONSE_PORTS)
        )
        if on:
            keys.update((e.id, f"{e.id}~label"))
    return keys


class CanvasSync:
    """Keeps a cytoscape widget showing the latest elements: the same keys update in place,
    new keys rebuild (with fresh cytoscape ids: ipycytoscape re-adds views before it removes
    the old ones, so an id must never be reused while its element lives)."""

    def __init__(self, canvas: cy.CytoscapeWidget) -> None:
        self.canvas = canvas
        self.nodes: dict[str, cy.Node] = {}
        self.edges: dict[str, cy.Edge] = {}
        self._keys: tuple[Any, ...] | None = None
        self._gen = 0
        self._trash: list[list[Any]] = []

    def show(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], classes_of: Any) -> None:
        """Draw ``nodes`` and ``edges``; ``classes_of(classes, key, is_edge)`` adds selection classes."""
        keys = (tuple(n["key"] for n in nodes), tuple((e["key"], e["source"], e["target"]) for e in edges))
        if keys != self._keys:
            self._rebuild(nodes, edges, classes_of)
            self._keys = keys
        else:
            self._update(nodes, edges)
        self.restyle(classes_of)

    def _rebuild(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]], classes_of: Any) -> None:
        self._gen += 1
        g = self._gen
        cy_id = {n["key"]: f"{n['key']}#{g}" for n in nodes}
        new_nodes: dict[str, cy.Node] = {}
        for n in nodes:
            node = cy.Node(
                data={"id": cy_id[n["key"]], **n["data"]},
                position=dict(n["position"]),
                classes=classes_of(n["classes"], n["key"], False),
                grabbable=n["grabbable"],
            )
            node._jl_classes = n["classes"]
            new_nodes[n["key"]] = node
        new_edges: dict[str, cy.Edge] = {}
        for e in edges:
            edge = cy.Edge(
                data={"id": f"{e['key']}#{g}", "source": cy_id[e["source"]], "target": cy_id[e["target"]], **e["data"]},
                classes=classes_of(e["classes"], e["key"], True),
            )
            edge._jl_classes = e["classes"]
            new_edges[e["key"]] = edge
        old = [*self.nodes.values(), *self.edges.values()]
        self.nodes, self.edges = new_nodes, new_edges
        with self.canvas.graph.hold_sync():
            self.canvas.graph.nodes = list(new_nodes.values())
            self.canvas.graph.edges = list(new_edges.values())
        # close old element widgets two generations later, once the front end has let go of them
        self._trash.append(old)
        while len(self._trash) > 2:
            for w in self._trash.pop(0):
                w.close()

    def _update(self, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> None:
        for n in nodes:
            node = self.nodes[n["key"]]
            data = {"id": node.data["id"], **n["data"]}
            if dict(node.data) != data:
                node.data = data
            if dict(node.position) != n["position"]:
                node.position = dict(n["position"])
            node._jl_classes = n["classes"]
        for e in edges:
            edge = self.edges[e["key"]]
            data = {"id": edge.data["id"], "source": edge.data["source"], "target": edge.data["target"], **e["data"]}
            if dict(edge.data) != data:
                edge.data = data
            edge._jl_classes = e["classes"]

    def restyle(self, classes_of: Any) -> None:
        for key, node in self.nodes.items():
            c = classes_of(getattr(node, "_jl_classes", []), key, False)
            if node.classes != c:
                node.classes = c
        for key, edge in self.edges.items():
            c = classes_of(getattr(edge, "_jl_classes", []), key, True)
            if edge.classes != c:
                edge.classes = c

    def close(self) -> None:
        for w in [*self.nodes.values(), *self.edges.values(), *(x for t in self._trash for x in t)]:
            w.close()
        self.nodes, self.edges, self._trash, self._keys = {}, {}, [], None
