"""Checks of the graph: connectors and ports, entries, reachability, waiting users, loops that
spin without time passing."""

from __future__ import annotations

from typing import Any

from journeylab.model.nodes import (
    NODE_KINDS,
    Action,
    DateTime,
    Delay,
    Engagement,
    Inaction,
    PageCount,
    PageVisit,
    PastBehavior,
    Referrer,
    Split,
    kind_of,
    ports_of,
)
from journeylab.validate._base import _DAY, _ZERO, _Base, _duration

# Segment kinds whose mid-journey users wait for an event that may never come.
_EVENT_WAITERS = (Action, PageVisit, Referrer, PageCount)


def _waits(node: Any, port: str) -> bool:
    """Does leaving ``node`` by ``port`` take time (so a loop through it cannot spin)?"""
    if isinstance(node, Delay):
        # A Delay until a profile date that has already passed ends at once.
        return node.duration is not None or node.at_time is not None
    if isinstance(node, DateTime):
        # 'no': the date is already past at arrival. 'yes' waits for the date the first time
        # round, but a user who comes back at no time later arrives at that very date and
        # leaves by 'yes' at once, for ever: in a loop, only 'timeout' lets time pass.
        return port == "timeout"
    if isinstance(node, (Action, Inaction, PastBehavior, PageVisit, Referrer, PageCount)):
        return True
    if isinstance(node, Engagement):
        return port in ("viewed", "clicked", "timeout")
    return False  # ProfileMatch, Split, ProfileUpdate, ForceExit, entry-only kinds


class GraphChecks(_Base):
    """The graph of one journey."""

    def check_graph(self) -> None:
        d = self.d
        nodes = {n.id: n for n in reversed(d.nodes)}  # first occurrence wins
        edges: list[tuple[int, Any, str, str]] = []  # (connector index, source node, port, target id)
        used: dict[tuple[str, str], int] = {}
        incoming: dict[str, list[int]] = {}
        out: dict[str, dict[str, int]] = {}
        for k, c in enumerate(d.connectors):
            cp = f"$.connectors[{k}]"
            bad = False
            for end, nid in (("from", c.source), ("to", c.target)):
                if nid not in nodes:
                    what = "starts at" if end == "from" else "leads to"
                    self.err(
                        "dangling-connector", f"{cp}.{end}", f"A connector {what} node '{nid}', which does not exist."
                    )
                    bad = True
            if bad:
                continue
            src = nodes[c.source]
            ports = ports_of(src)
            if c.port not in ports:
                if ports:
                    msg = f"Node '{c.source}' has no port '{c.port}'; its ports are {', '.join(ports)}."
                else:
                    msg = (
                        f"Node '{c.source}' has no ports: users leave the journey there, so no connector can leave it."
                    )
                self.err("unknown-port", f"{cp}.port", msg, c.source)
                continue
            if (c.source, c.port) in used:
                first = d.connectors[used[(c.source, c.port)]]
                self.err(
                    "port-used-twice",
                    f"{cp}.port",
                    f"Port '{c.port}' of node '{c.source}' is connected twice (to '{first.target}' and to "
                    f"'{c.target}'); a user can only go one way, so delete one of them.",
                    c.source,
                )
                continue
            used[(c.source, c.port)] = k
            if isinstance(src, Split) and any(b.control and b.name == c.port for b in src.branches):
                self.err(
                    "control-branch-connector",
                    cp,
                    f"Branch '{c.port}' of Split node '{c.source}' is a control branch: its users are held at the "
                    f"Split and never messaged, so nothing can follow it; delete this connector to '{c.target}'.",
                    c.source,
                )
            incoming.setdefault(c.target, []).append(k)
            out.setdefault(c.source, {})[c.port] = k
            edges.append((k, src, c.port, c.target))

        # entry analysis: the listed entries, else the nodes nothing leads into
        entries: list[str] = []
        not_entries: set[str] = set()
        listed = {e: i for i, e in reversed(list(enumerate(d.entries)))}
        for i, e in enumerate(d.entries):
            if e not in nodes:
                self.err("entry-unknown", f"$.entries[{i}]", f"Entry '{e}' is not a node of this journey.")
            elif e in incoming:
                k = incoming[e][0]
                self.err(
                    "entry-has-incoming",
                    f"$.entries[{i}]",
                    f"'{e}' is listed as an entry, but '{d.connectors[k].source}' leads into it; an entry is where "
                    f"users start, so remove that connector or take '{e}' off the entries.",
                    e,
                )
        implicit: list[str] = []
        for nid, n in ((n.id, n) for n in d.nodes if nodes.get(n.id) is n):
            info = NODE_KINDS[kind_of(n)]
            if nid in incoming:
                if info.entry_only:
                    k = incoming[nid][0]
                    self.err(
                        "entry-only-mid-journey",
                        f"$.connectors[{k}].to",
                        f"A {info.title} node ('{nid}') can only start a journey, but '{d.connectors[k].source}' "
                        f"leads into it; use it as an entry or use another segment here.",
                        nid,
                    )
                continue
            if not info.can_be_entry:
                not_entries.add(nid)
                self.err(
                    "not-an-entry",
                    self.npath(nid),
                    f"Nothing leads into {info.title} node '{nid}', so it would have to start the journey, but only "
                    f"a segment can do that; connect a node to it or delete it.",
                    nid,
                )
                continue
            if d.entries and nid not in listed:
                not_entries.add(nid)
                self.err(
                    "orphan-node",
                    self.npath(nid),
                    f"Nothing leads into node '{nid}' and it is not one of the journey's entries "
                    f"({', '.join(repr(e) for e in d.entries)}); connect a node to it, list it as an entry, or "
                    f"delete it.",
                    nid,
                )
                continue
            entries.append(nid)
            if not d.entries:
                implicit.append(nid)
            for port, k in out.get(nid, {}).items():
                if port != "yes":
                    self.err(
                        "entry-port",
                        f"$.connectors[{k}].port",
                        f"'{nid}' starts the journey: users enter it only when they qualify and leave at once by "
                        f"'yes', so its '{port}' connector would never be used.",
                        nid,
                    )
            if getattr(n, "window", None) is not None:
                self.warn(
                    "entry-window",
                    f"{self.npath(nid)}.window",
                    f"'{nid}' starts the journey, and an entry has no qualifying window; the window is ignored.",
                    nid,
                )
            if isinstance(n, Inaction) and not n.event:
                self.err(
                    "inaction-needs-event",
                    f"{self.npath(nid)}.event",
                    f"Inaction node '{nid}' starts the journey, so it needs the first event (for example "
                    f"'Added To Cart') after which '{n.absent}' must not happen.",
                    nid,
                )
        for nid in implicit[1:]:  # the first is the journey's entry; each further one may be a mistake
            self.warn(
                "implicit-entries",
                self.npath(nid),
                f"Nothing leads into node '{nid}', so it starts the journey too, besides '{implicit[0]}'. If the "
                f"journey has several entries, list them in 'entries' (Journey.mark_entry); otherwise connect a "
                f"node to '{nid}'.",
                nid,
            )
        if d.nodes and not entries:
            self.err(
                "no-entry",
                "$.nodes",
                "The journey has no entry: every segment has a connector leading into it. Start the journey with "
                "a segment that nothing leads into.",
            )
        elif not d.nodes:
            self.err("no-entry", "$.nodes", "The journey has no nodes yet: add an entry segment where users start.")

        # reachability
        seen = set(entries)
        stack = list(entries)
        succ: dict[str, list[str]] = {}
        for _, src, _, tgt in edges:
            succ.setdefault(src.id, []).append(tgt)
        while stack:
            for t in succ.get(stack.pop(), []):
                if t not in seen:
                    seen.add(t)
                    stack.append(t)
        if entries:
            for n in d.nodes:
                if nodes.get(n.id) is n and n.id not in seen and n.id not in not_entries:
                    self.warn(
                        "unreachable",
                        self.npath(n.id),
                        f"No user can reach node '{n.id}': no path leads to it from the journey's entry.",
                        n.id,
                    )

        # mid-journey waiting at segments
        for n in d.nodes:
            if nodes.get(n.id) is not n or n.id not in incoming:
                continue
            leaving = out.get(n.id, {})
            info = NODE_KINDS[kind_of(n)]
            if info.family == "segment" and "timeout" in info.ports:
                self.waiting_segment(n, leaving)
            if isinstance(n, Inaction) and n.event:
                self.warn(
                    "inaction-event-ignored",
                    f"{self.npath(n.id)}.event",
                    f"Inaction node '{n.id}' is in the middle of the journey, where it waits from the user's "
                    f"arrival; its first event '{n.event}' is not used.",
                    n.id,
                )
        for n in d.nodes:
            if nodes.get(n.id) is n and isinstance(n, Engagement):
                self.engagement_ports(n, out.get(n.id, {}))
        self.cycles(edges, nodes)

    def waiting_segment(self, n: Any, ports: dict[str, int]) -> None:
        window = n.window
        p = self.npath(n.id)
        if window is None:
            if "timeout" in ports:
                k = ports["timeout"]
                self.err(
                    "timeout-without-window",
                    f"$.connectors[{k}]",
                    f"Node '{n.id}' has a timeout connector but no qualifying window, so no user would ever leave "
                    f"by it; set a qualifying window on the node.",
                    n.id,
                )
            elif isinstance(n, _EVENT_WAITERS):
                self.warn(
                    "no-timeout-connector",
                    p,
                    f"Users wait here: users who never qualify at node '{n.id}' stay there until the journey "
                    f"timeout; set a qualifying window and draw a timeout connector to move them on.",
                    n.id,
                )
            return
        if "timeout" not in ports:
            self.warn(
                "no-timeout-connector",
                p,
                f"Users wait here: users who do not qualify at node '{n.id}' within its {_duration(window)} window "
                f"stay there until the journey timeout; draw a timeout connector to move them on.",
                n.id,
            )
        if isinstance(n, PastBehavior) and _ZERO < window < _DAY:
            self.warn(
                "short-past-behavior-window",
                f"{p}.window",
                f"Past Behavior node '{n.id}' is checked once a day at midnight, but its window is only "
                f"{_duration(window)}: users may all leave by timeout before it is ever checked.",
                n.id,
            )

    def engagement_ports(self, n: Engagement, ports: dict[str, int]) -> None:
        response = [p for p in ("viewed", "clicked") if p in ports]
        if "next" in ports and response:
            self.err(
                "next-with-response",
                f"$.connectors[{ports['next']}]",
                f"Node '{n.id}' has both a 'next' connector and a '{response[0]}' connector; a user can only be in "
                f"one place, so use either 'next' or 'viewed'/'clicked' with 'timeout'.",
                n.id,
            )
        if response and "timeout" not in ports:
            self.warn(
                "response-without-timeout",
                self.npath(n.id),
                f"Users wait here: users who do not react to node '{n.id}' within its "
                f"{_duration(n.response_window)} window stay there until the journey timeout; draw a timeout "
                f"connector to move them on.",
                n.id,
            )
        if "timeout" in ports and not response:
            self.warn(
                "timeout-without-response",
                f"$.connectors[{ports['timeout']}]",
                f"Node '{n.id}' has a timeout connector but no 'viewed' or 'clicked' connector, so the timeout is "
                f"never used.",
                n.id,
            )

    def cycles(self, edges: list[tuple[int, Any, str, str]], nodes: dict[str, Any]) -> None:
        """Report every loop made only of connectors along which no time passes."""
        fast: dict[str, list[tuple[str, int]]] = {}
        for k, src, port, tgt in edges:
            if not _waits(src, port):
                fast.setdefault(src.id, []).append((tgt, k))
        order = [n.id for n in self.d.nodes if nodes.get(n.id) is n]
        for comp in _sccs(order, fast):
            start = min(comp, key=order.index)
            loop = _find_loop(start, comp, fast)
            if loop is None:
                continue
            names, first_k = loop
            self.err(
                "spin-cycle",
                f"$.connectors[{first_k}]",
                f"The loop {' → '.join(repr(x) for x in names)} lets a user go round for ever without any time "
                f"passing; put a Delay or a segment that waits (for example with a qualifying window) in the loop.",
                start,
            )


def _sccs(order: list[str], succ: dict[str, list[tuple[str, int]]]) -> list[list[str]]:
    """Strongly connected components (iterative Tarjan), each of size > 1 or with a self-loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in order:
        if root in index:
            continue
        work = [(root, iter(succ.get(root, [])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w, _k in it:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(succ.get(w, []))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or any(t == v for t, _ in succ.get(v, [])):
                    out.append(comp)
    return out


def _find_loop(start: str, comp: list[str], succ: dict[str, list[tuple[str, int]]]) -> tuple[list[str], int] | None:
    """A shortest loop start → ... → start inside ``comp``: (node names, first connector index)."""
    inside = set(comp)
    parent: dict[str, tuple[str, int]] = {}
    queue = [start]
    for v in queue:
        for w, k in succ.get(v, []):
            if w == start:
                path = [start]
                cur = v
                ks = [k]
                while cur != start:
                    path.append(cur)
                    cur, kk = parent[cur]
                    ks.append(kk)
                names = [start, *reversed(path[1:]), start]
                return names, ks[-1]
            if w in inside and w not in parent:
                parent[w] = (v, k)
                queue.append(w)
    return None
