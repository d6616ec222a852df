"""Validation of a journey definition: errors block publishing, warnings point at risks.

:func:`validate` never raises on a bad journey: it returns a :class:`ValidationReport`
whose items are :class:`Issue` objects, each with a stable ``code``, the JSON ``path`` of
the offending value (``$.nodes[3].window``, ``$.connectors[2].to``, ``$.settings.timezone``)
and a ``message`` written for the analyst, not for a programmer. :func:`check` parses and
validates in one go and raises :class:`~journeylab.errors.JourneyDefinitionError` for the
first error.

Every rule is listed in :data:`CODES` (code -> what it means); the docs read that table.

>>> import datetime as dt
>>> from journeylab.model import Journey, Action, Push
>>> j = Journey("Welcome", id="welcome")
>>> _ = j.add(Action(id="installed", event="App Installed"))
>>> _ = j.then("installed", "yes", Push(id="hello", content={"title": "Hi"}))
>>> validate(j).ok
True
>>> bad = from_dict({"id": "x", "nodes": [{"kind": "action", "id": "a", "event": "E"},
...                  {"kind": "push", "id": "p"}],
...                  "connectors": [{"from": "a", "port": "yes", "to": "p"},
...                                 {"from": "p", "port": "yes", "to": "a"}]})
>>> [(i.code, i.path) for i in validate(bad).errors]
[('unknown-port', '$.connectors[1].port')]
>>> validate(bad).errors[0].message
"Node 'p' has no port 'yes'; its ports are next, viewed, clicked, not_sent, timeout."
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import msgspec

from journeylab.errors import JourneyDefinitionError
from journeylab.model.conditions import WEEKDAYS, DayRange, EventCount, EventMatch, PropertyFilter
from journeylab.model.io import bad_values, from_dict, from_json
from journeylab.model.journey import FORMAT_VERSION, JourneyDef
from journeylab.model.nodes import (
    CHANNELS,
    DND_CHANNELS,
    FREQUENCY_CHANNELS,
    NODE_KINDS,
    Action,
    CustomList,
    DateTime,
    Delay,
    Engagement,
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
from journeylab.model.settings import ActionGoal, Dates, OneTime, PastBehaviorGoal, Recurring

__all__ = ["Issue", "ValidationReport", "validate", "check", "CODES"]

Severity = Literal["error", "warning"]

#: Every rule of the validator: stable code -> (severity, what it means).
CODES: dict[str, tuple[Severity, str]] = {
    "invalid-format": ("error", "the input is not a journey definition (bad JSON, wrong type, unknown field)"),
    "invalid-value": ("error", "a field holds a value of the wrong type"),
    "format-version": ("error", "the definition says a format version this journeylab does not read"),
    "empty-id": ("error", "a node has an empty id"),
    "duplicate-node-id": ("error", "two nodes share one id"),
    "dangling-connector": ("error", "a connector starts or ends at a node that does not exist"),
    "unknown-port": ("error", "a connector leaves a node by a port the node does not have"),
    "port-used-twice": ("error", "two connectors leave the same port of one node"),
    "no-entry": ("error", "no segment starts the journey"),
    "not-an-entry": ("error", "a node that cannot start a journey has no incoming connector"),
    "entry-only-mid-journey": ("error", "a Journey Trigger or Custom List has an incoming connector"),
    "entry-port": ("error", "an entry segment is left by a port other than 'yes'"),
    "entry-window": ("warning", "an entry segment has a qualifying window, which entry does not use"),
    "inaction-needs-event": ("error", "an Inaction entry does not say which first event starts the wait"),
    "inaction-event-ignored": ("warning", "a mid-journey Inaction names a first event, which is not used"),
    "unreachable": ("warning", "no user can reach a node from any entry"),
    "spin-cycle": ("error", "a loop of connectors in which no time passes"),
    "no-timeout-connector": ("warning", "users can wait at a segment for ever: no timeout connector (yellow)"),
    "timeout-without-window": ("error", "a timeout connector on a segment without a qualifying window"),
    "short-past-behavior-window": ("warning", "a mid-journey Past Behavior segment with a window under 24 h"),
    "next-with-response": ("error", "an engagement node with both 'next' and 'viewed'/'clicked' drawn"),
    "response-without-timeout": ("warning", "'viewed'/'clicked' drawn without a 'timeout' connector"),
    "timeout-without-response": ("warning", "an engagement 'timeout' connector without 'viewed'/'clicked'"),
    "send-at-in-dnd": ("error", "an engagement node's fixed send time lies inside the DND hours"),
    "frequency-channel": ("error", "delivery windows on a channel that does not support campaign frequency"),
    "frequency-empty": ("warning", "campaign frequency on with no delivery window: every message is discarded"),
    "split-sum": ("error", "Split percentages do not add up to 100"),
    "split-branch-name": ("error", "a Split branch with an empty or repeated name"),
    "split-negative": ("error", "a Split branch with a negative or non-finite percentage"),
    "invalid-timezone": ("error", "the timezone is not an IANA timezone name"),
    "non-positive-duration": ("error", "a window, duration or timeout of zero or less"),
    "delay-form": ("error", "a Delay without exactly one of duration, time of day or profile property"),
    "delay-weekdays": ("error", "Delay weekdays given without a time of day"),
    "delay-offset": ("error", "a Delay offset without a profile property"),
    "non-numeric-value": ("error", "increment/decrement by a value that is not a number"),
    "empty-property": ("error", "a profile property name is empty"),
    "empty-event": ("error", "an event name is empty"),
    "empty-pattern": ("error", "a Page Visit URL or Referrer source is empty"),
    "invalid-regex": ("error", "a regular expression that does not compile"),
    "invalid-count": ("error", "a count (page count, 'at least k times') below 1"),
    "invalid-days": ("error", "a Past Behavior look-back of fewer than 1 day"),
    "filter-in-needs-list": ("error", "an 'in' filter whose value is not a list"),
    "custom-list-empty": ("error", "a Custom List with neither user ids nor a file"),
    "trigger-incomplete": ("error", "a Journey Trigger that does not name its journey and node"),
    "self-trigger": ("error", "a Journey Trigger that listens to its own journey"),
    "invalid-position": ("error", "a canvas position that is not a finite number"),
    "range-empty": ("error", "a weekday time range that starts and ends at the same time"),
    "range-no-days": ("error", "a weekday time range on no day"),
    "time-with-offset": ("error", "a local time of day that carries a UTC offset"),
    "too-many-goals": ("error", "more than 3 goals"),
    "duplicate-goal-name": ("error", "two goals share one name"),
    "empty-goal-name": ("error", "a goal without a name"),
    "hourly-offset": ("error", "the hourly evaluation minute is outside 0..59"),
    "limit-max": ("error", "a campaign limit below 1"),
    "limit-channel": ("error", "a campaign limit on an unknown channel"),
    "dnd-channel": ("error", "DND on a channel DND does not apply to"),
    "schedule-weekdays": ("error", "a weekly schedule without weekdays"),
    "schedule-day-of-month": ("error", "a monthly schedule without a day of month in 1..31"),
    "schedule-empty": ("error", "a 'several dates' schedule with no date"),
    "start-after-end": ("error", "a start that is not before its end"),
    "naive-datetime": ("error", "a date and time without a UTC offset"),
}


@dataclass(frozen=True)
class Issue:
    """One finding: ``severity`` ("error" blocks publishing, "warning" does not), a stable
    ``code`` (see :data:`CODES`), the JSON ``path`` of the value, a plain-language
    ``message`` and, when it concerns one node, that node's id.

    >>> Issue("error", "no-entry", "$.nodes", "The journey has no entry.")
    Issue(severity='error', code='no-entry', path='$.nodes', message='The journey has no entry.', node=None)
    """

    severity: Severity
    code: str
    path: str
    message: str
    node: str | None = None

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class ValidationReport:
    """The result of :func:`validate`: ``errors`` (block publishing) and ``warnings``.

    >>> r = ValidationReport((Issue("warning", "unreachable", "$.nodes[1]", "Node 'x' ..."),))
    >>> r.ok, len(r.errors), r.codes
    (True, 0, ['unreachable'])
    """

    issues: tuple[Issue, ...] = ()

    @property
    def errors(self) -> list[Issue]:
        """The issues that block publishing."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        """The issues that do not block publishing but deserve a look."""
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    @property
    def codes(self) -> list[str]:
        """The codes of all issues, in order."""
        return [i.code for i in self.issues]

    def __iter__(self) -> Iterator[Issue]:
        return iter(self.issues)

    def __len__(self) -> int:
        return len(self.issues)

    def raise_for_errors(self) -> None:
        """Raise :class:`JourneyDefinitionError` for the first error, if any.

        >>> ValidationReport((Issue("error", "no-entry", "$.nodes", "No entry."),)).raise_for_errors()
        Traceback (most recent call last):
        ...
        journeylab.errors.JourneyDefinitionError: $.nodes: No entry.
        """
        if self.errors:
            first = self.errors[0]
            err = JourneyDefinitionError(first.message, first.path)
            err.report = self  # type: ignore[attr-defined]
            raise err

    def to_frame(self):  # -> pandas.DataFrame
        """The issues as a DataFrame (severity, code, path, node, message).

        >>> ValidationReport((Issue("warning", "unreachable", "$.nodes[2]", "...", "x"),)).to_frame()["node"].tolist()
        ['x']
        """
        import pandas as pd

        return pd.DataFrame(
            [(i.severity, i.code, i.path, i.node, i.message) for i in self.issues],
            columns=["severity", "code", "path", "node", "message"],
        )

    def __str__(self) -> str:
        if not self.issues:
            return "No problems found."
        head = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        return "\n".join([head, *(f"  {i}" for i in self.issues)])

    def _repr_html_(self) -> str:
        import html

        if not self.issues:
            return "<p>&#10004; No problems found.</p>"
        rows = "".join(
            f"<tr><td>{'&#10060;' if i.severity == 'error' else '&#9888;'} {i.severity}</td>"
            f"<td><code>{html.escape(i.path)}</code></td><td>{html.escape(i.message)}</td>"
            f"<td><code>{i.code}</code></td></tr>"
            for i in self.issues
        )
        return (
            f"<p>{len(self.errors)} error(s), {len(self.warnings)} warning(s)</p>"
            f"<table><tr><th>severity</th><th>where</th><th>problem</th><th>code</th></tr>{rows}</table>"
        )


# --------------------------------------------------------------------------- helpers


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


def _days(days: list[str]) -> str:
    if sorted(set(days), key=WEEKDAYS.index) == list(WEEKDAYS):
        return "every day"
    return ", ".join(d.capitalize() for d in sorted(set(days), key=WEEKDAYS.index))


def _title(node: Any) -> str:
    return NODE_KINDS[kind_of(node)].title


_ZERO = dt.timedelta(0)
_DAY = dt.timedelta(days=1)
# Reference week used to test weekday ranges: 2024-01-01 is a Monday.
_WEEK = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(7)]
# Segment kinds whose mid-journey users wait for an event that may never come.
_EVENT_WAITERS = (Action, PageVisit, Referrer, PageCount)


def _waits(node: Any, port: str) -> bool:
    """Does leaving ``node`` by ``port`` take time (so a loop through it cannot spin)?"""
    if isinstance(node, Delay):
        # A Delay until a profile date that has already passed ends at once.
        return node.duration is not None or node.at_time is not None
    if isinstance(node, DateTime):
        return port != "no"  # 'no': the date is already past at arrival, leaves at once
    if isinstance(node, (Action, Inaction, PastBehavior, PageVisit, Referrer, PageCount)):
        return True
    if isinstance(node, Engagement):
        return port in ("viewed", "clicked", "timeout")
    return False  # ProfileMatch, Split, ProfileUpdate, ForceExit, entry-only kinds


class _Checker:
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

    def event_list(self, items: list[EventCount] | list[EventMatch], path: str, node: str | None) -> None:
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
                self.err("range-no-days", f"{p}.days", f"{what.capitalize()} applies on no weekday; pick at least one.", node)

    # ---------------------------------------------------------------- run
    def run(self) -> list[Issue]:
        d = self.d
        if d.format != FORMAT_VERSION:
            self.err(
                "format-version",
                "$.format",
                f"This definition says it is format {d.format}; this journeylab reads format {FORMAT_VERSION}.",
            )
        self.check_ids()
        for i, n in enumerate(d.nodes):
            self.check_node(i, n)
        self.check_graph()
        self.check_goals()
        self.check_settings()
        return self.issues

    def check_ids(self) -> None:
        seen: dict[str, int] = {}
        for i, n in enumerate(self.d.nodes):
            if not n.id:
                self.err("empty-id", f"$.nodes[{i}].id", f"Node number {i + 1} ({_title(n)}) has no id; give it a unique name.")
            elif n.id in seen:
                self.err(
                    "duplicate-node-id",
                    f"$.nodes[{i}].id",
                    f"Two nodes are called '{n.id}' (numbers {seen[n.id] + 1} and {i + 1}); every node needs its own id.",
                    n.id,
                )
            else:
                seen[n.id] = i

    # ---------------------------------------------------------------- nodes
    def check_node(self, i: int, n: Any) -> None:
        p = f"$.nodes[{i}]"
        nid = n.id
        if n.position is not None and not (math.isfinite(n.position.x) and math.isfinite(n.position.y)):
            self.err("invalid-position", f"{p}.position", f"Node '{nid}' has a canvas position that is not a number.", nid)
        for cls, fn in _NODE_CHECKS:
            if isinstance(n, cls):
                fn(self, p, n)
        window = getattr(n, "window", None)
        self.positive(window, f"{p}.window", f"The qualifying window of node '{nid}'", nid)

    def _action(self, p: str, n: Action) -> None:
        if not n.event:
            self.err("empty-event", f"{p}.event", f"Action node '{n.id}' has no event name.", n.id)
        self.filters(n.filters, f"{p}.filters", n.id)
        self.filters(n.profile, f"{p}.profile", n.id)

    def _inaction(self, p: str, n: Inaction) -> None:
        if not n.absent:
            self.err("empty-event", f"{p}.absent", f"Inaction node '{n.id}' does not say which event must not happen.", n.id)
        if n.event is not None and not n.event:
            self.err("empty-event", f"{p}.event", f"Inaction node '{n.id}' has an empty first event name.", n.id)
        self.positive(n.within, f"{p}.within", f"The waiting time of Inaction node '{n.id}'", n.id)
        self.filters(n.filters, f"{p}.filters", n.id)
        self.filters(n.absent_filters, f"{p}.absent_filters", n.id)

    def _past_behavior(self, p: str, n: PastBehavior) -> None:
        if n.days < 1:
            self.err(
                "invalid-days",
                f"{p}.days",
                f"Past Behavior node '{n.id}' looks back {n.days} days; it must look back at least 1 day.",
                n.id,
            )
        self.event_list(n.did, f"{p}.did", n.id)
        self.event_list(n.did_not, f"{p}.did_not", n.id)
        self.filters(n.profile, f"{p}.profile", n.id)

    def _date_time(self, p: str, n: DateTime) -> None:
        if not n.property:
            self.err("empty-property", f"{p}.property", f"Date Time node '{n.id}' does not name its date property.", n.id)

    def _pattern(self, p: str, n: PageVisit | Referrer) -> None:
        field = "url" if isinstance(n, PageVisit) else "source"
        value = getattr(n, field)
        if not n.event:
            self.err("empty-event", f"{p}.event", f"Node '{n.id}' has an empty page-view event name.", n.id)
        if not value:
            self.err("empty-pattern", f"{p}.{field}", f"{_title(n)} node '{n.id}' has an empty {field}.", n.id)
        elif n.match == "regex":
            try:
                re.compile(value)
            except (re.error, OverflowError, RecursionError, ValueError) as e:
                self.err(
                    "invalid-regex",
                    f"{p}.{field}",
                    f"The pattern {value!r} of node '{n.id}' is not a valid regular expression ({e}).",
                    n.id,
                )

    def _page_count(self, p: str, n: PageCount) -> None:
        if n.count < 1:
            self.err("invalid-count", f"{p}.count", f"Page Count node '{n.id}' counts {n.count} pages; it must be at least 1.", n.id)
        if not n.event:
            self.err("empty-event", f"{p}.event", f"Page Count node '{n.id}' has an empty page-view event name.", n.id)

    def _profile(self, p: str, n: ProfileMatch) -> None:
        self.filters(n.profile, f"{p}.profile", n.id)

    def _trigger(self, p: str, n: JourneyTrigger) -> None:
        if not n.journey or not n.node:
            field = "journey" if not n.journey else "node"
            self.err(
                "trigger-incomplete",
                f"{p}.{field}",
                f"Journey Trigger node '{n.id}' must name the journey and the node that trigger it.",
                n.id,
            )
        elif n.journey == self.d.id:
            self.err(
                "self-trigger",
                f"{p}.journey",
                f"Journey Trigger node '{n.id}' listens to node '{n.node}' of this same journey; a Journey Trigger "
                f"starts a journey from another journey.",
                n.id,
            )

    def _custom_list(self, p: str, n: CustomList) -> None:
        if not n.users and not n.path:
            self.err(
                "custom-list-empty",
                p,
                f"Custom List node '{n.id}' has neither user ids nor a file of user ids, so nobody would enter.",
                n.id,
            )

    def _engagement(self, p: str, n: Engagement) -> None:
        self.positive(n.response_window, f"{p}.response_window", f"The viewed/clicked window of node '{n.id}'", n.id)
        self.local_time(n.send_at, f"{p}.send_at", f"The send time of node '{n.id}'", n.id)
        kind = kind_of(n)
        if n.frequency is not None:
            if kind not in FREQUENCY_CHANNELS:
                self.err(
                    "frequency-channel",
                    f"{p}.frequency",
                    f"{_title(n)} node '{n.id}' has delivery windows (campaign frequency), but only In-App, "
                    f"Web Pop-up and Web Exit Intent messages support them.",
                    n.id,
                )
            elif not n.frequency:
                self.warn(
                    "frequency-empty",
                    f"{p}.frequency",
                    f"{_title(n)} node '{n.id}' has campaign frequency on but no delivery window, so every message "
                    f"will be discarded.",
                    n.id,
                )
            self.ranges(n.frequency, f"{p}.frequency", f"a delivery window of node '{n.id}'", n.id)
        self.dnd_conflict(p, n)

    def dnd_conflict(self, p: str, n: Engagement) -> None:
        dnd = self.d.settings.dnd
        t = n.send_at
        kind = kind_of(n)
        if dnd is None or t is None or t.tzinfo is not None or kind not in DND_CHANNELS or kind not in dnd.channels:
            return
        for r in dnd.ranges:
            if r.start.tzinfo is not None or r.end.tzinfo is not None or r.start == r.end:
                continue
            if any(r.contains(dt.datetime.combine(day, t)) for day in _WEEK):
                self.err(
                    "send-at-in-dnd",
                    f"{p}.send_at",
                    f"{_title(n)} node '{n.id}' is set to send at {_hhmm(t)}, inside the do-not-disturb hours "
                    f"{_hhmm(r.start)}–{_hhmm(r.end)} ({_days(r.days)}); choose a send time outside DND or change "
                    f"the DND hours.",
                    n.id,
                )
                return

    def _delay(self, p: str, n: Delay) -> None:
        forms = [f for f in ("duration", "at_time", "property") if getattr(n, f) is not None]
        if len(forms) != 1:
            have = ", ".join(forms) if forms else "none"
            self.err(
                "delay-form",
                p,
                f"Delay node '{n.id}' must wait in exactly one way: a duration, a time of day, or a date in a "
                f"profile property (it has: {have}).",
                n.id,
            )
        self.positive(n.duration, f"{p}.duration", f"The wait of Delay node '{n.id}'", n.id)
        self.local_time(n.at_time, f"{p}.at_time", f"The time of day of Delay node '{n.id}'", n.id)
        if n.weekdays and n.at_time is None:
            self.err(
                "delay-weekdays",
                f"{p}.weekdays",
                f"Delay node '{n.id}' lists weekdays, which only make sense with a time of day to wait for.",
                n.id,
            )
        if n.offset != _ZERO and n.property is None:
            self.err(
                "delay-offset",
                f"{p}.offset",
                f"Delay node '{n.id}' has an offset, which only applies when waiting for a date in a profile property.",
                n.id,
            )
        if n.property is not None and not n.property:
            self.err("empty-property", f"{p}.property", f"Delay node '{n.id}' has an empty property name.", n.id)

    def _profile_update(self, p: str, n: ProfileUpdate) -> None:
        if not n.property:
            self.err("empty-property", f"{p}.property", f"Profile Update node '{n.id}' does not name the property to change.", n.id)
        if n.op in ("increment", "decrement") and n.value is not None:
            v = n.value
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                self.err(
                    "non-numeric-value",
                    f"{p}.value",
                    f"Profile Update node '{n.id}' would {n.op} '{n.property}' by {v!r}, which is not a number.",
                    n.id,
                )

    def _split(self, p: str, n: Split) -> None:
        names: set[str] = set()
        total = 0.0
        for j, b in enumerate(n.branches):
            bp = f"{p}.branches[{j}]"
            if not b.name:
                self.err("split-branch-name", f"{bp}.name", f"Branch {j + 1} of Split node '{n.id}' has no name.", n.id)
            elif b.name in names:
                self.err(
                    "split-branch-name",
                    f"{bp}.name",
                    f"Split node '{n.id}' has two branches called '{b.name}'; branch names must differ.",
                    n.id,
                )
            names.add(b.name)
            if not math.isfinite(b.percent) or b.percent < 0:
                self.err(
                    "split-negative",
                    f"{bp}.percent",
                    f"Branch '{b.name}' of Split node '{n.id}' gets {b.percent:g}%; a share must be 0% or more.",
                    n.id,
                )
            total += b.percent
        if not abs(total - 100.0) <= 1e-9:
            self.err(
                "split-sum",
                f"{p}.branches",
                f"The branches of Split node '{n.id}' add up to {total:g}%; they must add up to 100%.",
                n.id,
            )

    # ---------------------------------------------------------------- graph
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
                    self.err("dangling-connector", f"{cp}.{end}", f"A connector {what} node '{nid}', which does not exist.")
                    bad = True
            if bad:
                continue
            src = nodes[c.source]
            ports = ports_of(src)
            if c.port not in ports:
                if ports:
                    msg = f"Node '{c.source}' has no port '{c.port}'; its ports are {', '.join(ports)}."
                else:
                    msg = f"Node '{c.source}' has no ports: users leave the journey there, so no connector can leave it."
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
            incoming.setdefault(c.target, []).append(k)
            out.setdefault(c.source, {})[c.port] = k
            edges.append((k, src, c.port, c.target))

        # entry analysis
        entries: list[str] = []
        not_entries: set[str] = set()
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
            entries.append(nid)
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
            ports = out.get(n.id, {})
            info = NODE_KINDS[kind_of(n)]
            if info.family == "segment" and "timeout" in info.ports:
                self.waiting_segment(n, ports)
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

    # ---------------------------------------------------------------- goals & settings
    def check_goals(self) -> None:
        names: set[str] = set()
        for i, g in enumerate(self.d.goals):
            p = f"$.goals[{i}]"
            if i >= 3:
                self.err(
                    "too-many-goals",
                    p,
                    f"A journey can have at most 3 goals; goal '{g.name}' is number {i + 1}. Remove a goal.",
                )
            if not g.name:
                self.err("empty-goal-name", f"{p}.name", f"Goal number {i + 1} has no name; goals are reported by name.")
            elif g.name in names:
                self.err("duplicate-goal-name", f"{p}.name", f"Two goals are called '{g.name}'; give each goal its own name.")
            names.add(g.name)
            if isinstance(g, ActionGoal):
                if not g.event:
                    self.err("empty-event", f"{p}.event", f"Goal '{g.name}' has no event: say which event counts as a conversion.")
                self.filters(g.filters, f"{p}.filters", None)
            elif isinstance(g, PastBehaviorGoal):
                if g.days < 1:
                    self.err(
                        "invalid-days",
                        f"{p}.days",
                        f"Goal '{g.name}' looks back {g.days} days; it must look back at least 1 day.",
                    )
                self.event_list(g.did, f"{p}.did", None)
                self.event_list(g.did_not, f"{p}.did_not", None)
                self.filters(g.profile, f"{p}.profile", None)

    def aware(self, value: dt.datetime | None, path: str, what: str) -> bool:
        if value is None:
            return False
        if value.tzinfo is None or value.utcoffset() is None:
            self.err(
                "naive-datetime",
                path,
                f"{what} ({value.isoformat()}) has no timezone; write it with a UTC offset, "
                f"for example {value.replace(tzinfo=dt.UTC).isoformat()}.",
            )
            return False
        return True

    def check_settings(self) -> None:
        s = self.d.settings
        try:
            zoneinfo.ZoneInfo(s.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            self.err(
                "invalid-timezone",
                "$.settings.timezone",
                f"'{s.timezone}' is not a timezone name; use an IANA name such as 'Asia/Kolkata' or 'UTC'.",
            )
        self.positive(s.journey_timeout, "$.settings.journey_timeout", "The journey timeout", None)
        self.positive(s.session_gap, "$.settings.session_gap", "The session gap", None)
        if not 0 <= s.hourly_offset_minutes <= 59:
            self.err(
                "hourly-offset",
                "$.settings.hourly_offset_minutes",
                f"Node timeouts are evaluated every hour at minute {s.hourly_offset_minutes}; the minute must be "
                f"between 0 and 59.",
            )
        start_ok = self.aware(s.start, "$.settings.start", "The start")
        end_ok = self.aware(s.end, "$.settings.end", "The end")
        if start_ok and end_ok and s.start >= s.end:  # type: ignore[operator]
            self.err(
                "start-after-end",
                "$.settings.end",
                f"The journey ends ({s.end.isoformat()}) before or when it starts ({s.start.isoformat()});"  # type: ignore[union-attr]
                f" the end must come after the start.",
            )
        self.check_schedule()
        for i, lim in enumerate(s.limits):
            p = f"$.settings.limits[{i}]"
            if lim.max < 1:
                self.err("limit-max", f"{p}.max", f"A campaign limit of {lim.max} messages per {lim.per} would block every message; use 1 or more.")
            if lim.channel is not None and lim.channel not in CHANNELS:
                self.err(
                    "limit-channel",
                    f"{p}.channel",
                    f"A campaign limit names channel '{lim.channel}', which does not exist; channels are "
                    f"{', '.join(CHANNELS)}.",
                )
        if s.dnd is not None:
            for i, ch in enumerate(s.dnd.channels):
                if ch not in DND_CHANNELS:
                    self.err(
                        "dnd-channel",
                        f"$.settings.dnd.channels[{i}]",
                        f"Do-not-disturb applies to {', '.join(DND_CHANNELS)} only, not to '{ch}'.",
                    )
            self.ranges(s.dnd.ranges, "$.settings.dnd.ranges", "a do-not-disturb range")

    def check_schedule(self) -> None:
        sch = self.d.settings.schedule
        p = "$.settings.schedule"
        if isinstance(sch, OneTime):
            self.aware(sch.at, f"{p}.at", "The scheduled run")
        elif isinstance(sch, Dates):
            if not sch.at:
                self.err("schedule-empty", f"{p}.at", "The schedule 'several dates' lists no date; add at least one.")
            for i, at in enumerate(sch.at):
                self.aware(at, f"{p}.at[{i}]", f"Scheduled run {i + 1}")
        elif isinstance(sch, Recurring):
            self.local_time(sch.time, f"{p}.time", "The time of the recurring run")
            if sch.every == "week" and not sch.weekdays:
                self.err("schedule-weekdays", f"{p}.weekdays", "A weekly schedule needs the weekdays it runs on.")
            if sch.every == "month" and (sch.day_of_month is None or not 1 <= sch.day_of_month <= 31):
                self.err(
                    "schedule-day-of-month",
                    f"{p}.day_of_month",
                    "A monthly schedule needs the day of the month it runs on, from 1 to 31"
                    + (f" (it has {sch.day_of_month})." if sch.day_of_month is not None else "."),
                )
            if sch.start is not None and sch.end is not None and sch.start > sch.end:
                self.err(
                    "start-after-end",
                    f"{p}.end",
                    f"The recurring schedule ends on {sch.end.isoformat()}, before it starts on "
                    f"{sch.start.isoformat()}.",
                )


_NODE_CHECKS: list[tuple[type, Any]] = [
    (Action, _Checker._action),
    (Inaction, _Checker._inaction),
    (PastBehavior, _Checker._past_behavior),
    (DateTime, _Checker._date_time),
    (PageVisit, _Checker._pattern),
    (Referrer, _Checker._pattern),
    (PageCount, _Checker._page_count),
    (ProfileMatch, _Checker._profile),
    (JourneyTrigger, _Checker._trigger),
    (CustomList, _Checker._custom_list),
    (Engagement, _Checker._engagement),
    (Delay, _Checker._delay),
    (ProfileUpdate, _Checker._profile_update),
    (Split, _Checker._split),
]


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


def _find_loop(
    start: str, comp: list[str], succ: dict[str, list[tuple[str, int]]]
) -> tuple[list[str], int] | None:
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


def _coerce(defn: Any) -> JourneyDef | Issue:
    if hasattr(defn, "definition") and isinstance(defn.definition, JourneyDef):
        defn = defn.definition
    try:
        if isinstance(defn, (str, bytes, bytearray)):
            defn = from_json(bytes(defn) if isinstance(defn, bytearray) else defn)
        elif isinstance(defn, dict):
            defn = from_dict(defn)
    except JourneyDefinitionError as e:
        return Issue("error", "invalid-format", e.path, e.message[:1].upper() + e.message[1:])
    if not isinstance(defn, JourneyDef):
        raise TypeError(f"validate() takes a JourneyDef, a Journey, a dict or JSON text, not {type(defn).__name__}")
    # Objects built in Python are not type-checked by msgspec: check them the way JSON would be.
    try:
        msgspec.convert(msgspec.to_builtins(defn), type=JourneyDef, strict=False)
    except msgspec.ValidationError as e:
        m = re.match(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", str(e), re.S)
        msg, path = (m.group("msg"), m.group("path") or "$") if m else (str(e), "$")
        return Issue("error", "invalid-value", path, f"{msg[:1].upper()}{msg[1:]}.")
    except (TypeError, ValueError, OverflowError, RecursionError) as e:
        return Issue("error", "invalid-value", "$", f"The journey holds a value that cannot be saved as JSON ({e}).")
    return defn


def _value_issues(d: JourneyDef) -> list[Issue]:
    """NaN, infinity, integers beyond 64 bits and lone surrogates anywhere in a definition built
    in Python (JSON input has them refused by the parser): JSON would not give them back."""
    return [Issue("error", "invalid-value", p, f"{r[:1].upper()}{r[1:]}.") for p, r in bad_values(msgspec.to_builtins(d))]


def validate(defn: Any) -> ValidationReport:
    """Check a journey; returns a :class:`ValidationReport` (never raises on a bad journey).

    ``defn`` is a :class:`~journeylab.model.JourneyDef`, a :class:`~journeylab.model.Journey`,
    a JSON-like dict or JSON text (bad input is then one ``invalid-format`` error).

    >>> from journeylab.model import JourneyDef, Delay
    >>> import datetime as dt
    >>> r = validate(JourneyDef(id="j", nodes=[Delay(id="d", duration=dt.timedelta(0))]))
    >>> [(i.code, i.path) for i in r.errors]
    [('non-positive-duration', '$.nodes[0].duration'), ('not-an-entry', '$.nodes[0]'), ('no-entry', '$.nodes')]
    """
    d = _coerce(defn)
    if isinstance(d, Issue):
        return ValidationReport((d,))
    bad = _value_issues(d)
    if any(i.message.startswith("Integer out of range") for i in bad):
        return ValidationReport(tuple(bad))  # the rules below do arithmetic on numbers
    issues = list(_Checker(d).run())
    # a value a rule already reports (a NaN Split percent, a NaN position) is not reported twice
    seen = [i.path for i in issues]
    issues += [b for b in bad if not any(b.path == s or b.path.startswith((s + ".", s + "[")) for s in seen)]
    return ValidationReport(tuple(issues))


def check(data: Any) -> JourneyDef:
    """Parse (dict or JSON text; a definition or Journey is taken as is) and validate.

    Returns the definition when there is no error; otherwise raises
    :class:`~journeylab.errors.JourneyDefinitionError` for the first error (its
    ``report`` attribute holds the whole :class:`ValidationReport`).

    >>> check('{"id": "j", "nodes": [{"kind": "action", "id": "a", "event": "Charged"}]}').id
    'j'
    >>> check('{"id": "j", "nodes": [{"kind": "action", "id": "a", "event": "E"}], "settings": {"timezone": "Mars/Olympus"}}')
    Traceback (most recent call last):
    ...
    journeylab.errors.JourneyDefinitionError: $.settings.timezone: 'Mars/Olympus' is not a timezone name; use an IANA name such as 'Asia/Kolkata' or 'UTC'.
    """
    if hasattr(data, "definition") and isinstance(data.definition, JourneyDef):
        data = data.definition
    if isinstance(data, (str, bytes, bytearray)):
        d = from_json(bytes(data) if isinstance(data, bytearray) else data)
    elif isinstance(data, JourneyDef):
        d = data
    else:
        d = from_dict(data)
    validate(d).raise_for_errors()
    return d
