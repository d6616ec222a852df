"""The HTML of the builder's side panel and message line: a node's statistics (which add up),
the users waiting there, the validation issues, the goals, and messages.

>>> from journeylab.model import Delay
>>> import datetime as dt
>>> html_ = stats_html(Delay(id="wait", duration=dt.timedelta(days=1)),
...                    {"entered": 10, "waiting": 2, "left_next": 5, "exited_goal": 3}, [])
>>> "exited: goal" in html_, "left by next" in html_
(True, True)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from journeylab.layout.labels import EXIT_WORDS
from journeylab.model.nodes import NODE_KINDS, kind_of, ports_of
from journeylab.model.settings import ActionGoal

__all__ = ["stats_html", "issues_html", "goals_html", "message_html", "MESSAGE_COLORS"]

MESSAGE_COLORS = {
    "ok": ("#166534", "#dcfce7"),
    "info": ("#1f2937", "#f3f4f6"),
    "error": ("#991b1b", "#fee2e2"),
    "warning": ("#854d0e", "#fef9c3"),
}


def message_html(text: str, kind: str) -> str:
    """The message line under the toolbar."""
    if not text:
        return ""
    color, bg = MESSAGE_COLORS[kind]
    body = html.escape(text).replace("\n", "<br>")
    return (
        f'<div class="jl-message jl-{kind}" style="color:{color};background:{bg};padding:4px 8px;'
        f'border-radius:4px;font-size:13px">{body}</div>'
    )


def stats_html(node: Any, s: dict[str, int], users: Sequence[Any]) -> str:
    """A node's statistics as a table whose rows add up (entered = waiting + left by each
    port + exits from the node by reason), then engagement counts, then who is waiting."""
    kind = kind_of(node)
    family = NODE_KINDS[kind].family

    def row(name: str, v: int, cls: str = "") -> str:
        return (
            f"<tr class='{cls}'><td style='padding:0 12px 0 0'>{html.escape(name)}</td>"
            f"<td style='text-align:right'>{v:,}</td></tr>"
        )

    ports = list(ports_of(node)) + sorted(
        k[5:] for k in s if k.startswith("left_") and s[k] and k[5:] not in ports_of(node)
    )
    rows = [row("entered", s.get("entered", 0), "jl-total"), row("· still waiting here", s.get("waiting", 0))]
    rows += [row(f"· left by {p.replace('_', ' ')}", s.get(f"left_{p}", 0)) for p in ports]
    rows += [row(f"· exited: {w}", s.get(f"exited_{r}", 0)) for r, w in EXIT_WORDS.items() if s.get(f"exited_{r}", 0)]
    if s.get("timed_out", 0):
        rows.append(row("timed out (window ended)", s["timed_out"]))
    if family == "engagement":
        rows += [row(c.replace("_", " "), s.get(c, 0)) for c in ("sent", "deferred", "discarded", "viewed", "clicked")]
    shown = ", ".join(html.escape(str(u)) for u in users[:50])
    more = f" … and {len(users) - 50:,} more" if len(users) > 50 else ""
    waiting = (
        f"<div><b>Users waiting here ({len(users):,})</b>: {shown}{more}</div>"
        if users
        else "<div><i>No user waiting here.</i></div>"
    )
    return (
        f"<div class='jl-stats'><b>Statistics</b> <span style='color:#6b7280'>(the rows under "
        f"<i>entered</i> add up to it)</span><table class='jl-stat-table' style='font-size:12px'>{''.join(rows)}"
        f"</table>{waiting}</div><hr>"
    )


def issues_html(report: Any) -> tuple[str, int]:
    """The Issues tab (and how many issues there are)."""
    if report is None:
        return "<i>Validation is not available.</i>", 0
    rows = []
    for it in list(report.errors) + list(report.warnings):
        color = "#dc2626" if it.severity == "error" else "#ca8a04"
        where = f"<b>{html.escape(it.node)}</b> · " if it.node else ""
        rows.append(
            f'<li class="jl-issue jl-{it.severity}" style="margin-bottom:4px"><span style="color:{color};'
            f'font-weight:600">{it.severity}</span> {where}{html.escape(it.message)} '
            f'<span style="color:#6b7280">[{html.escape(it.code)}]</span></li>'
        )
    head = f"<b>{len(report.errors)} error(s), {len(report.warnings)} warning(s)</b>"
    body = head + (f"<ul style='padding-left:16px'>{''.join(rows)}</ul>" if rows else "")
    return body, len(report.errors) + len(report.warnings)


def goals_html(goals: Sequence[Any]) -> str:
    lines = []
    for g in goals:
        if isinstance(g, ActionGoal):
            what = f"does <i>{html.escape(g.event)}</i> (at once)"
        else:
            what = "past behaviour " + ", ".join(html.escape(f"{e.event}≥{e.at_least}") for e in g.did)
            what += f" in {g.days}d (daily at 00:00)"
        lines.append(f"<li><b>{html.escape(g.name)}</b>: {what}</li>")
    return f"<ul>{''.join(lines)}</ul>" if lines else "<i>No goals yet.</i>"
