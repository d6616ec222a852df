"""The text of a drawing: what each box says (kind, label, a summary of its settings, and its
counts when statistics are shown), and node statistics read from a DataFrame or a result.

>>> fmt_duration(dt.timedelta(minutes=90))
'1h 30m'
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from journeylab.layout.style import CHAR_W, LINE_H, MAX_CHARS, MAX_W, MIN_W
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

__all__ = ["fmt_duration", "normalize_stats", "label_width", "node_lines", "stat_lines", "box_size", "EXIT_WORDS"]

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


#: how a box names an exit reason (``exited_<reason>`` columns)
EXIT_WORDS: dict[str, str] = {
    "goal": "goal",
    "journey_timeout": "journey timeout",
    "force_exit": "force exit",
    "stopped": "stopped",
    "completed": "completed",
}


def stat_lines(node: Any, s: Mapping[str, int]) -> list[str]:
    """The counts a box shows; they add up: ``in`` = ``waiting`` + users who left by each
    port + exits by reason straight from the node (goal, journey timeout, force exit,
    stopped); engagement nodes add sent / viewed / clicked (and deferred / discarded).

    >>> stat_lines(Delay(id="d", duration=dt.timedelta(days=1)),
    ...            {"entered": 1591, "waiting": 28, "left_next": 1306, "exited_goal": 257})
    ['in 1,591 · waiting 28', 'next 1,306 · goal 257']
    """
    kind = kind_of(node)
    fam = NODE_KINDS[kind].family

    def c(col: str) -> str:
        return _n(s.get(col, 0))

    parts = [f"in {c('entered')}", f"waiting {c('waiting')}"]
    ports = list(ports_of(node)) + sorted(
        k[5:] for k in s if k.startswith("left_") and s[k] and k[5:] not in ports_of(node)
    )
    flows = [f"{p.replace('_', ' ')} {c('left_' + p)}" for p in ports if s.get(f"left_{p}", 0) or fam != "engagement"]
    exits = [f"{EXIT_WORDS[r]} {c('exited_' + r)}" for r in EXIT_WORDS if s.get(f"exited_{r}", 0)]
    if kind == "force_exit" and not exits:
        exits = [f"force exit {c('exited_force_exit')}"]
    lines = _join_parts(parts)
    lines += _join_parts(flows + exits) if flows or exits else []
    if fam == "engagement":
        eng = [f"sent {c('sent')}", f"viewed {c('viewed')}", f"clicked {c('clicked')}"]
        if s.get("deferred", 0) or s.get("discarded", 0):
            eng += [f"deferred {c('deferred')}", f"discarded {c('discarded')}"]
        lines += _join_parts(eng)
    return lines


def node_lines(node: Any, title: str, icon: str) -> list[str]:
    """The text of a node's box without counts: kind, label (or id), what it does."""
    return [f"{icon} {title}", *_wrap(node.label or node.id), *_summary(node)]


def box_size(lines: Sequence[str], *, min_w: float = MIN_W) -> tuple[float, float]:
    """(width, height) of a box holding ``lines``."""
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


def label_width(text: str) -> float:
    """Approximate width (px) of an edge label at 11 px, with its padding."""
    return round(len(text) * 6.4 + 14, 1)
