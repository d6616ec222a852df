"""What the figures draw, computed from the trace (via :mod:`journeylab.stats`).

A figure takes a :class:`~journeylab.sim.SimulationResult` or a bare trace DataFrame (with
``definition=`` when the journey is known; without it the connectors are read off the trace).
:func:`source` turns either into a :class:`Source`: one journey's trace rows, its
definition (or what the trace says of it), its timezone and period.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from journeylab import stats
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import NODE_KINDS, kind_of, ports_of

if TYPE_CHECKING:
    from journeylab.sim.result import SimulationResult

#: a funnel path item: a node id, ``(node, stat)``, ``"entered"``, ``"goal"`` or ``"goal:<name>"``
PathItem = str | tuple[str, str]

__all__ = [
    "Source",
    "NodeInfo",
    "Stage",
    "Step",
    "source",
    "main_line",
    "funnel_stages",
    "busiest_path",
    "path_steps",
    "outflows",
    "send_attempts",
    "time_to_goal",
    "waiting_over_time",
]

# the order a funnel's "main line" prefers ports in (split branches come after ``viewed``)
PORT_PRIORITY = ("yes", "next", "clicked", "viewed")
PORT_LAST = ("no", "timeout", "not_sent")


@dataclass(frozen=True)
class NodeInfo:
    """A node as figures see it: ``kind`` (``push``, ``delay``...), ``family`` (segment,
    engagement, controller) and ``label`` (the node's label, else its id)."""

    id: str
    kind: str
    family: str
    label: str
    ports: tuple[str, ...] = ()
    entry: bool = False


@dataclass
class Source:
    """One journey of a run: ``trace`` rows of that journey, its ``nodes`` (in journey
    order), ``connectors`` as ``(source, port, target)``, ``goals`` (names) and ``timezone``."""

    trace: pd.DataFrame
    journey: str
    name: str
    nodes: dict[str, NodeInfo]
    connectors: list[tuple[str, str, str]]
    goals: list[str]
    timezone: str = "UTC"
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    result: SimulationResult | None = None
    definition: JourneyDef | None = None
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def node_stats(self) -> pd.DataFrame:
        ns = stats.node_stats(self.trace, self.journey, nodes=list(self.nodes))
        return ns

    @cached_property
    def journey_stats(self) -> pd.Series:
        return stats.journey_stats(self.trace, self.journey, goals=self.goals)

    @cached_property
    def edge_flows(self) -> pd.DataFrame:
        left = self.trace[self.trace["event"].astype(str) == "left"]
        counts = left.groupby([left["node"].astype(str), left["port"].astype(str)], observed=True).size()
        rows = [
            {"source": s, "port": p, "target": t, "users": int(counts.get((s, p), 0))} for s, p, t in self.connectors
        ]
        return pd.DataFrame(rows, columns=["source", "port", "target", "users"])

    @cached_property
    def exits(self) -> pd.DataFrame:
        return stats.exits(self.trace, self.journey)

    @cached_property
    def enrollments(self) -> pd.DataFrame:
        return stats.enrollments(self.trace, self.journey)

    def label(self, node: str) -> str:
        info = self.nodes.get(node)
        return info.label if info else node


def _s(x: pd.Series) -> pd.Series:
    return x.astype(str) if isinstance(x.dtype, pd.CategoricalDtype) else x


def _stat(ns: pd.DataFrame, node: str, stat: str) -> float:
    """``float(ns.loc[node, stat])``, column first (pandas-stubs types a cell of a column, not
    of a frame); the statistics frames hold numbers only."""
    return float(ns[stat].loc[node])


def _info_from_def(d: JourneyDef) -> tuple[dict[str, NodeInfo], list[tuple[str, str, str]], list[str]]:
    entries = {n.id for n in d.entry_nodes()}
    nodes = {}
    for n in d.nodes:
        kind = kind_of(n)
        nodes[n.id] = NodeInfo(
            n.id, kind, NODE_KINDS[kind].family, n.label or n.id, tuple(ports_of(n)), n.id in entries
        )
    conns = [(c.source, c.port, c.target) for c in d.connectors]
    return nodes, conns, [g.name for g in d.goals]


def _info_from_trace(t: pd.DataFrame) -> tuple[dict[str, NodeInfo], list[tuple[str, str, str]], list[str]]:
    """Nodes, connectors and goals as far as the trace shows them."""
    ev, node, detail = _s(t["event"]), _s(t["node"]), _s(t["detail"])
    order = list(dict.fromkeys(node[ev == "entered"]))
    order += [n for n in dict.fromkeys(node) if n not in order]
    entries = set(node[(ev == "entered") & (detail == "entry")])
    sent = t[ev == "sent"]
    channel = dict(zip(_s(sent["node"]), _s(sent["detail"]), strict=False))
    engaged = set(node[ev.isin(["sent", "discarded", "deferred"])])
    timed = set(node[ev == "timed_out"])
    ports: dict[str, list[str]] = {}
    left = t[ev == "left"]
    for n, p in zip(_s(left["node"]), _s(left["port"]), strict=False):
        ports.setdefault(n, [])
        if p not in ports[n]:
            ports[n].append(p)
    nodes = {}
    for n in order:
        if n in engaged:
            kind, fam = channel.get(n, "push"), "engagement"
        elif n in entries or n in timed or {"yes", "no"} & set(ports.get(n, [])):
            kind, fam = "action", "segment"
        else:
            kind, fam = "node", "controller"
        nodes[n] = NodeInfo(n, kind, fam, n, tuple(ports.get(n, [])), n in entries)
    # a connector: a user leaves ``source`` by ``port`` and the next thing that happens is
    # entering ``target`` (each user's rows are in the order they happened)
    mv = t[(ev == "left") | ((ev == "entered") & (detail != "entry"))]
    mv = pd.DataFrame(
        {
            "user": mv["user_id"].to_numpy(),
            "ev": _s(mv["event"]).to_numpy(),
            "node": _s(mv["node"]).to_numpy(),
            "port": _s(mv["port"]).to_numpy(),
        }
    )
    nxt = mv.groupby("user", sort=False).shift(-1)
    pairs = mv[(mv["ev"] == "left") & (nxt["ev"] == "entered")]
    conns = list(dict.fromkeys(zip(pairs["node"], pairs["port"], nxt.loc[pairs.index, "node"], strict=True)))
    goals = sorted({r[5:] for r in detail[ev == "exited"] if r.startswith("goal:")})
    return nodes, conns, goals


def source(
    data: SimulationResult | pd.DataFrame, *, journey: str | None = None, definition: Journey | JourneyDef | None = None
) -> Source:
    """A :class:`Source` from a simulation result (``journey`` picks one of several) or a
    trace DataFrame (``definition``: a Journey or JourneyDef, optional)."""
    d: JourneyDef | None
    if not isinstance(data, pd.DataFrame) and hasattr(data, "trace") and hasattr(data, "journeys"):
        d = data.definition(journey)
        t = data.trace[_s(data.trace["journey"]) == d.id]
        nodes, conns, goals = _info_from_def(d)
        return Source(t, d.id, d.name or d.id, nodes, conns, goals, d.settings.timezone, data.start, data.end, data, d)
    if isinstance(data, pd.DataFrame):
        d = definition.definition if isinstance(definition, Journey) else definition
        if d is not None:
            journey = journey or d.id
        if journey is None:
            js: Any = pd.unique(_s(data["journey"])) if len(data) else []  # an array or []
            if len(js) > 1:
                raise ValueError(f"the trace holds several journeys ({', '.join(map(str, js))}): pass journey=...")
            journey = str(js[0]) if len(js) else ""
        t = data[_s(data["journey"]) == journey] if len(data) else data
        if d is not None:
            nodes, conns, goals = _info_from_def(d)
            tz, name = d.settings.timezone, d.name or d.id
        else:
            nodes, conns, goals = _info_from_trace(t)
            tz, name = "UTC", journey
        start = t["ts"].min() if len(t) else None
        end = t["ts"].max() if len(t) else None
        return Source(t, journey, name, nodes, conns, goals, tz, start, end, None, d)
    raise TypeError(f"expected a SimulationResult or a trace DataFrame, got {type(data).__name__}")


# ----------------------------------------------------------------------------- funnel


@dataclass(frozen=True)
class Stage:
    """One bar of a funnel: ``label``, ``value`` (from the trace) and the statistic it is,
    as ``(scope, node, stat)`` in the experiments' tidy frames (for confidence intervals)."""

    label: str
    value: float
    scope: str
    node: str
    stat: str
    kind: str  # colour key: "entry", "segment", a channel, "controller", "goal"
    shade: float = 1.0


def main_line(src: Source) -> list[str]:
    """The journey's main line: from the busiest entry node, follow connectors preferring
    ports ``yes``, ``next``, ``clicked``, ``viewed``, split branches, then ``no``,
    ``timeout``, ``not_sent``; stop at a node with no way on or already on the line."""
    entries = [n for n, i in src.nodes.items() if i.entry]
    if not entries:
        return list(src.nodes)[:1]
    en = src.trace[(_s(src.trace["event"]) == "entered") & (_s(src.trace["detail"]) == "entry")]
    counts = _s(en["node"]).value_counts()
    start = max(entries, key=lambda n: (int(counts.get(n, 0)), -entries.index(n)))
    out = [start]
    while True:
        here = out[-1]
        ways = {p: t for s, p, t in src.connectors if s == here and t not in out}
        if not ways:
            return out

        def rank(p: str, ways: dict[str, str] = ways) -> tuple[int, int]:
            if p in PORT_PRIORITY:
                return (0, PORT_PRIORITY.index(p))
            if p in PORT_LAST:
                return (2, PORT_LAST.index(p))
            return (1, list(ways).index(p))

        out.append(ways[min(ways, key=rank)])


_PORT_WORD = {
    "yes": "qualified",
    "no": "did not qualify",
    "timeout": "timed out",
    "next": "passed",
    "viewed": "viewed",
    "clicked": "clicked",
    "not_sent": "not sent",
}


def funnel_stages(
    src: Source, path: Iterable[PathItem] | None = None, *, responses: bool = True, goals: bool = True
) -> list[Stage]:
    """The stages of a funnel along ``path`` (default: :func:`main_line`).

    ``path`` items: a node id (its natural stages: the entry node → ``Entered``; a segment →
    users who left it towards the next node of the path, ``yes`` at the end; an engagement
    node → sent, and viewed and clicked with ``responses``; other nodes → users who reached
    it), ``(node, stat)`` for one node statistic, ``"entered"``, ``"goal"`` (all
    conversions) or ``"goal:<name>"``. With the default path, passive controllers (delay,
    profile update, split, force exit) are left out and each goal ends the funnel.
    """
    ns = src.node_stats
    js = src.journey_stats
    default = path is None
    items: list[PathItem] = list(main_line(src)) if path is None else list(path)
    if default and goals:
        items += [f"goal:{g}" for g in src.goals] or []
    node_ids = [x for x in items if isinstance(x, str) and x in src.nodes]
    out: list[Stage] = []

    def nstat(node: str, stat: str) -> float:
        return _stat(ns, node, stat) if node in ns.index and stat in ns.columns else 0.0

    for item in items:
        if isinstance(item, tuple | list):
            node, stat = item
            out.append(
                Stage(
                    f"{src.label(node)}: {stat.replace('_', ' ')}",
                    nstat(node, stat),
                    "node",
                    node,
                    stat,
                    _kind_key(src, node),
                )
            )
            continue
        if item == "entered":
            out.append(Stage("Entered", float(js["entered"]), "journey", "", "entered", "entry"))
            continue
        if item == "goal":
            out.append(Stage("Converted (any goal)", float(js["conversions"]), "journey", "", "conversions", "goal"))
            continue
        if isinstance(item, str) and item.startswith("goal:") and item not in src.nodes:
            g = item[5:]
            key = f"conversions_{g}"
            out.append(Stage(f"Goal: {g}", float(js.get(key, 0)), "journey", "", key, "goal"))
            continue
        if item not in src.nodes:
            raise KeyError(
                f"the journey has no node {item!r} (path items: node ids, (node, stat), 'entered', 'goal:<name>')"
            )
        info = src.nodes[item]
        label = src.label(item)
        k = node_ids.index(item)
        nxt = node_ids[k + 1] if k + 1 < len(node_ids) else None
        if info.entry and not out:
            out.append(Stage("Entered", float(js["entered"]), "journey", "", "entered", "entry"))
        elif info.family == "segment":
            port = next((p for s, p, t in src.connectors if s == item and t == nxt), None) if nxt else None
            port = port or ("yes" if "yes" in info.ports or not info.ports else info.ports[0])
            word = _PORT_WORD.get(port, port)
            out.append(Stage(f"{label}: {word}", nstat(item, f"left_{port}"), "node", item, f"left_{port}", "segment"))
        elif info.family == "engagement":
            out.append(Stage(f"{label}: sent", nstat(item, "sent"), "node", item, "sent", info.kind))
            if responses:
                out.append(Stage(f"{label}: viewed", nstat(item, "viewed"), "node", item, "viewed", info.kind, 0.7))
                out.append(Stage(f"{label}: clicked", nstat(item, "clicked"), "node", item, "clicked", info.kind, 0.45))
        elif not default:
            out.append(Stage(f"{label}: reached", nstat(item, "entered"), "node", item, "entered", info.kind))
    return _unique_labels(out)


def _kind_key(src: Source, node: str) -> str:
    info = src.nodes.get(node)
    return "segment" if info is None or info.family == "segment" else info.kind


def _unique_labels(stages: list[Stage]) -> list[Stage]:
    seen: dict[str, int] = {}
    out = []
    for s in stages:
        n = seen.get(s.label, 0)
        seen[s.label] = n + 1
        out.append(
            s if n == 0 else Stage(f"{s.label} ({s.node or n + 1})", s.value, s.scope, s.node, s.stat, s.kind, s.shade)
        )
    return out


# ----------------------------------------------------------------------------- messages


def send_attempts(trace: pd.DataFrame, timezone: str = "UTC") -> pd.DataFrame:
    """Every message sent: ``ts``, ``local`` (account-local wall time), ``day``, ``hour``,
    ``channel``, ``node``, ``journey``, and ``deferred`` (the send was held back by DND
    first) with ``requested`` (when it was due; equal to ``ts`` when not deferred)."""
    ev = _s(trace["event"])
    rows = trace[ev.isin(["deferred", "sent", "discarded"])]
    d = pd.DataFrame(
        {
            "user_id": rows["user_id"].to_numpy(),
            "journey": _s(rows["journey"]).to_numpy(),
            "node": _s(rows["node"]).to_numpy(),
            "event": _s(rows["event"]).to_numpy(),
            "detail": _s(rows["detail"]).to_numpy(),
            "ts": rows["ts"].to_numpy(),
        }
    )
    d["ts"] = pd.to_datetime(d["ts"], utc=True)
    prev = d.groupby(["journey", "user_id", "node"], sort=False)[["event", "ts"]].shift(1)
    s = d[d["event"] == "sent"].copy()
    p = prev.loc[s.index]
    s["deferred"] = (p["event"] == "deferred").to_numpy()
    s["requested"] = p["ts"].where(s["deferred"], s["ts"])
    s = s.rename(columns={"detail": "channel"})
    local = s["ts"].dt.tz_convert(timezone).dt.tz_localize(None)
    s["local"] = local
    s["day"] = local.dt.normalize()
    s["hour"] = local.dt.hour
    return s[
        ["ts", "local", "day", "hour", "channel", "node", "journey", "user_id", "deferred", "requested"]
    ].reset_index(drop=True)


def time_to_goal(src: Source) -> pd.DataFrame:
    """One row per conversion: ``goal``, ``user_id``, ``minutes`` from entry to the goal exit."""
    en = src.enrollments
    g = en[en["reason"].fillna("").str.startswith("goal:")]
    out = pd.DataFrame(
        {
            "goal": g["reason"].str[5:].to_numpy(),
            "user_id": g["user_id"].to_numpy(),
            "minutes": ((g["exited_at"] - g["entered_at"]).dt.total_seconds() / 60.0).to_numpy(),
        }
    )
    return out


def waiting_over_time(
    trace: pd.DataFrame, *, freq: str = "1h", end: pd.Timestamp | datetime | str | None = None
) -> pd.DataFrame:
    """Users at each node over time: ``ts, node, users`` at the end of each ``freq`` (one journey)."""
    return stats.waiting_over_time(trace, freq=freq, end=end)


# ----------------------------------------------------------------------------- paths and drop-off

_EXIT_WORD = {
    "goal": "goal",
    "journey_timeout": "journey timeout",
    "force_exit": "force exit",
    "stopped": "stopped",
    "completed": "completed",
}


@dataclass(frozen=True)
class Step:
    """One step of a path funnel: the users who got there (``value``), how they arrived
    (``via``: the port, ``"entry"``, or ``"exit:<reason>"`` for the exit that ends the path),
    the statistic it is (``node``, ``stat``, for confidence intervals) and, for every step but
    the last, where the others went (``drop``: ``{"by <port> → <target>" | "exit: <reason>" |
    "still waiting": users}``)."""

    label: str
    node: str
    via: str
    value: float
    stat: str
    kind: str
    drop: dict[str, float] = field(default_factory=dict)


def outflows(src: Source, node: str) -> dict[tuple[str, str], float]:
    """Where the users who entered ``node`` are now: ``("port", p)`` by each port, ``("exit",
    reason)`` straight from the node, ``("waiting", "")``; they add up to ``entered``."""
    ns = src.node_stats
    if node not in ns.index:
        return {}
    out: dict[tuple[str, str], float] = {}
    for c in ns.columns:
        if c.startswith("left_") and ns[c].loc[node]:
            out[("port", c[5:])] = _stat(ns, node, c)
        elif c.startswith("exited_") and ns[c].loc[node]:
            out[("exit", c[7:])] = _stat(ns, node, c)
    if "waiting" in ns.columns and ns["waiting"].loc[node]:
        out[("waiting", "")] = _stat(ns, node, "waiting")
    return out


def busiest_path(src: Source) -> list[tuple[str, str]]:
    """The path most users took, as ``(node, how they arrived)``: from the busiest entry node,
    follow the largest outflow of each node — a connector to the next node, or an exit (goal,
    journey timeout..., or a port with no connector: completed) that ends the path; stop at a
    node already on the path or where everyone is still waiting. The last item is
    ``("exit", reason)`` when the path ends in an exit."""
    entries = [n for n, i in src.nodes.items() if i.entry]
    if not entries:
        return [(n, "entry") for n in list(src.nodes)[:1]]
    ns = src.node_stats
    start = max(entries, key=lambda n: (_stat(ns, n, "entered") if n in ns.index else 0.0, -entries.index(n)))
    conn = {(s, p): t for s, p, t in src.connectors}
    path: list[tuple[str, str]] = [(start, "entry")]
    seen = {start}
    while True:
        here = path[-1][0]
        flows = {k: v for k, v in outflows(src, here).items() if k[0] != "waiting"}
        if not flows:
            return path
        (what, key), _v = max(flows.items(), key=lambda kv: (kv[1], kv[0][0] == "port"))
        if what == "port" and (here, key) in conn and conn[(here, key)] not in seen:
            nxt = conn[(here, key)]
            path.append((nxt, key))
            seen.add(nxt)
            continue
        reason = key if what == "exit" else "completed"
        path.append(("exit", f"{reason}|{key}" if what == "port" else reason))
        return path


def path_steps(src: Source, path: Iterable[str] | None = None) -> list[Step]:
    """The steps of a funnel along ``path`` (node ids in order; default :func:`busiest_path`),
    each with the users who got there along the path's connectors and, between steps, where
    the others went (ports to elsewhere, exits by reason, still waiting)."""
    if path is None:
        items = busiest_path(src)
    else:
        items = []
        for i, n in enumerate(path):
            if n not in src.nodes:
                raise KeyError(f"the journey has no node {n!r}")
            prev = items[-1][0] if items else None
            port = next((p for s, p, t in src.connectors if s == prev and t == n), "") if prev else "entry"
            items.append((n, port or "reached"))
            del i
    ns = src.node_stats
    conn = {(s, p): t for s, p, t in src.connectors}
    steps: list[Step] = []
    for i, (node, via) in enumerate(items):
        prev = items[i - 1][0] if i else None
        if node == "exit":
            reason, _, port = via.partition("|")
            stat = f"left_{port}" if port else f"exited_{reason}"
            value = _stat(ns, prev, stat) if prev is not None and prev in ns.index and stat in ns.columns else 0.0
            word = _EXIT_WORD.get(reason, reason)
            label = f"Exit: {word}" + (f" (by {port})" if port else "")
            if reason == "goal" and len(src.goals) == 1:
                label = f"Goal: {src.goals[0]}"
            steps.append(Step(label, prev or "", f"exit:{reason}", value, stat, "goal" if reason == "goal" else "exit"))
            continue
        info = src.nodes[node]
        if via == "entry" or via == "reached":
            value, stat = (_stat(ns, node, "entered") if node in ns.index else 0.0), "entered"
        else:
            value = (
                _stat(ns, prev, f"left_{via}")
                if prev is not None and prev in ns.index and f"left_{via}" in ns.columns
                else 0.0
            )
            stat = f"left_{via}"
        label = src.label(node)
        kind = "entry" if via == "entry" else ("segment" if info.family == "segment" else info.kind)
        steps.append(Step(label, node if via in ("entry", "reached") else (prev or node), via, value, stat, kind))
    # where the others went, step to step
    out: list[Step] = []
    for i, s in enumerate(steps):
        drop: dict[str, float] = {}
        here = items[i][0]
        if i + 1 < len(steps) and here != "exit":
            nxt_node, nxt_via = items[i + 1]
            for (what, key), v in outflows(src, here).items():
                if what == "port" and (key == nxt_via or (nxt_node == "exit" and nxt_via.endswith(f"|{key}"))):
                    continue
                if what == "exit" and nxt_node == "exit" and nxt_via == key:
                    continue
                if what == "port":
                    tgt = conn.get((here, key))
                    name = f"by {key} → {src.label(tgt)}" if tgt else f"by {key}, journey ends"
                elif what == "exit":
                    name = f"{_EXIT_WORD.get(key, key)} exit"
                else:
                    name = "still waiting"
                drop[name] = drop.get(name, 0.0) + v
        out.append(
            Step(s.label, s.node, s.via, s.value, s.stat, s.kind, dict(sorted(drop.items(), key=lambda kv: -kv[1])))
        )
    return _unique_steps(out)


def _unique_steps(steps: list[Step]) -> list[Step]:
    seen: dict[str, int] = {}
    out = []
    for s in steps:
        n = seen.get(s.label, 0)
        seen[s.label] = n + 1
        out.append(s if n == 0 else Step(f"{s.label} ({n + 1})", s.node, s.via, s.value, s.stat, s.kind, s.drop))
    return out
