"""What every group of checks shares: recording issues with their JSON paths, and the small
checks used by nodes, goals and settings alike (durations, local times, filters, ranges)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from journeylab.model.conditions import WEEKDAYS, DayRange, EventCount, EventMatch, PropertyFilter
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import (
    NODE_KINDS,
    kind_of,
)
from journeylab.validate._report import CODES, Issue, Severity


def _duration(td: dt.timedelta) -> str:
    """'15 minutes', '1 day 2 hours', '-5 minutes', '0 seconds'."""
    if td < dt.timedelta(0):
        return "-" + _duration(-td)
    total = td.total_seconds()
    if total == 0:
        return "0 seconds"
    parts = []
    days, rest = divmod(int(total), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    frac = total - int(total)
    for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute")):
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    if seconds or frac:
        s = seconds + frac
        parts.append(f"{s:g} second{'s' if s != 1 else ''}")
    return " ".join(parts)


def _hhmm(t: dt.time) -> str:
    return t.strftime("%H:%M") if not t.second and not t.microsecond else t.isoformat()


def _days(days: Sequence[str]) -> str:
    if sorted(set(days), key=WEEKDAYS.index) == list(WEEKDAYS):
        return "every day"
    return ", ".join(d.capitalize() for d in sorted(set(days), key=WEEKDAYS.index))


def _title(node: Any) -> str:
    return NODE_KINDS[kind_of(node)].title


_ZERO = dt.timedelta(0)
_DAY = dt.timedelta(days=1)
# Reference week used to test weekday ranges: 2024-01-01 is a Monday.
_WEEK = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(7)]


class _Base:
    def __init__(self, d: JourneyDef) -> None:
        self.d = d
        self.issues: list[Issue] = []
        self.index: dict[str, int] = {}
        for i, n in enumerate(d.nodes):
            self.index.setdefault(n.id, i)

    # ---------------------------------------------------------------- recording
    def add(self, severity: Severity, code: str, path: str, message: str, node: str | None = None) -> None:
        assert code in CODES, code
        self.issues.append(Issue(severity, code, path, message, node))

    def err(self, code: str, path: str, message: str, node: str | None = None) -> None:
        self.add("error", code, path, message, node)

    def warn(self, code: str, path: str, message: str, node: str | None = None) -> None:
        self.add("warning", code, path, message, node)

    def npath(self, node_id: str) -> str:
        return f"$.nodes[{self.index[node_id]}]"

    # ---------------------------------------------------------------- shared checks
    def positive(self, td: dt.timedelta | None, path: str, what: str, node: str | None) -> None:
        if td is not None and td <= _ZERO:
            self.err("non-positive-duration", path, f"{what} is {_duration(td)}; it must be longer than zero.", node)

    def local_time(self, t: dt.time | None, path: str, what: str, node: str | None = None) -> bool:
        if t is not None and t.tzinfo is not None:
            self.err(
                "time-with-offset",
                path,
                f"{what} {t.isoformat()} carries a UTC offset; times of day are read in the journey's "
                f"timezone ({self.d.settings.timezone}), so give it without an offset.",
                node,
            )
            return False
        return t is not None

    def filters(self, fs: list[PropertyFilter], path: str, node: str | None) -> None:
        for j, f in enumerate(fs):
            if not f.property:
                self.err("empty-property", f"{path}[{j}].property", "A filter has no property name.", node)
            if f.op == "in" and not isinstance(f.value, list):
                self.err(
                    "filter-in-needs-list",
                    f"{path}[{j}].value",
                    f"The filter on '{f.property}' uses 'in', so its value must be a list of allowed values.",
                    node,
                )

    def event_list(self, items: Sequence[EventCount | EventMatch], path: str, node: str | None) -> None:
        for j, e in enumerate(items):
            if not e.event:
                self.err("empty-event", f"{path}[{j}].event", "An event condition has no event name.", node)
            if isinstance(e, EventCount) and e.at_least < 1:
                self.err(
                    "invalid-count",
                    f"{path}[{j}].at_least",
                    f"'{e.event}' must be done at least once; 'at least {e.at_least} times' means nothing.",
                    node,
                )
            self.filters(e.filters, f"{path}[{j}].filters", node)

    def ranges(self, rs: list[DayRange], path: str, what: str, node: str | None = None) -> None:
        for j, r in enumerate(rs):
            p = f"{path}[{j}]"
            ok_start = self.local_time(r.start, f"{p}.start", f"The start of {what}", node)
            ok_end = self.local_time(r.end, f"{p}.end", f"The end of {what}", node)
            if ok_start and ok_end and r.start == r.end:
                self.err(
                    "range-empty",
                    p,
                    f"{what.capitalize()} starts and ends at {_hhmm(r.start)}; give different start and end times "
                    f"(an end before the start runs past midnight).",
                    node,
                )
            if not r.days:
                self.err(
                    "range-no-days", f"{p}.days", f"{what.capitalize()} applies on no weekday; pick at least one.", node
                )
