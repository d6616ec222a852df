"""A small pure-Python Sugiyama layout, left to right: cycles broken by a DFS, longest-path
layers, dummy nodes on long edges, barycenter ordering, and y coordinates solved per layer
with minimum gaps, so boxes never overlap. :func:`layered` also returns what an edge router
needs: each box's layer, each layer's column, and the points where long edges cross layers.

>>> pos = layered_layout(["a", "b", "c"], {n: (100, 40) for n in "abc"}, [("a", "b"), ("a", "c")])
>>> pos["a"][0] < pos["b"][0] == pos["c"][0], pos["b"][1] < pos["c"][1]
(True, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from journeylab.layout.style import HGAP, VGAP

__all__ = ["layered_layout", "layered", "Layered", "overlapping"]

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


@dataclass
class Layered:
    """The result of :func:`layered`: centre ``positions`` of the boxes, the ``rank`` (layer)
    of each box, each layer's column ``(left, right)``, the edges drawn backwards, and for each
    edge ``(s, t)`` spanning several layers the centre points of its dummy nodes (the slot it
    crosses each intermediate layer through, free of boxes)."""

    positions: dict[str, tuple[float, float]]
    rank: dict[str, int]
    columns: list[tuple[float, float]]
    back: set[tuple[str, str]] = field(default_factory=set)
    through: dict[tuple[str, str], list[tuple[float, float]]] = field(default_factory=dict)


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
    edge ``(s, t)`` asks for a wider gap after the layer of ``s`` in ``gaps`` (room for its
    label). The top-left box corner is at (0, 0). The result depends only on the arguments.

    >>> pos = layered_layout(["a", "b"], {"a": (100, 40), "b": (80, 40)}, [("a", "b")])
    >>> pos
    {'a': (50.0, 20.0), 'b': (196.0, 20.0)}
    """
    return layered(nodes, sizes, edges, hgap=hgap, vgap=vgap, gaps=gaps).positions


def layered(
    nodes: Sequence[str],
    sizes: Mapping[str, tuple[float, float]],
    edges: Sequence[tuple[str, str]],
    *,
    hgap: float = HGAP,
    vgap: float = VGAP,
    gaps: Mapping[tuple[str, str], float] | None = None,
) -> Layered:
    """:func:`layered_layout` with everything an edge router needs (see :class:`Layered`)."""
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
        if s in rank and t in rank and (s, t) not in back and rank[t] > rank[s]:
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
    widths = [max((size(n)[0] for n in order[k]), default=0.0) for k in range(depth)]
    columns = [(round(xs[k] - widths[k] / 2, 1), round(xs[k] + widths[k] / 2, 1)) for k in range(depth)]
    # the slots of each DAG edge, given to the edge it draws (a forward edge left to right, a
    # reversed back edge right to left; both when the two share the DAG edge)
    slots: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for d in sorted(dummies, key=lambda d: rank[d]):
        _, s, t, _k = d.split("\0")
        slots.setdefault((s, t), []).append((round(xs[rank[d]], 1), round(y[d] - top, 1)))
    through: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for (s, t), pts in slots.items():
        if t in succ[s] and (s, t) not in back:
            through[(s, t)] = list(pts)
        if (t, s) in back:
            through[(t, s)] = pts[::-1]
    return Layered(
        positions={n: (round(xs[rank[n]], 1), round(y[n] - top, 1)) for n in real},
        rank={n: rank[n] for n in real},
        columns=columns,
        back=set(back),
        through=through,
    )


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
