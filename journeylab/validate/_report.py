"""Validation results: every rule code (:data:`CODES`), one finding (:class:`Issue`) and the
report of a journey (:class:`ValidationReport`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from journeylab.errors import JourneyDefinitionError

__all__ = ["Severity", "CODES", "Issue", "ValidationReport"]


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
    "entry-unknown": ("error", "an entry listed in 'entries' is not a node of the journey"),
    "entry-has-incoming": ("error", "a node listed in 'entries' has an incoming connector"),
    "orphan-node": ("error", "nothing leads into a node that is not listed in 'entries'"),
    "implicit-entries": ("warning", "several segments have no incoming connector: each silently starts the journey"),
    "duplicate-version": ("error", "journeys run together include one journey version twice"),
    "trigger-unknown-node": ("error", "a Journey Trigger names a node its journey (run alongside) does not have"),
    "trigger-journey-absent": ("warning", "a Journey Trigger names a journey that is not run alongside it"),
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
    "placeholder-content": ("warning", 'a message still holds the palette\'s placeholder text ("Title", "Message"...)'),
    "template-syntax": ("error", "a message text that is not a valid template (Jinja2 syntax)"),
    "template-unknown-name": ("warning", "a message template uses a name other than 'profile' and 'event'"),
    "template-property-missing": ("warning", "a message template reads a property the given cohort never has"),
    "split-sum": ("error", "Split percentages do not add up to 100"),
    "split-branch-name": ("error", "a Split branch with an empty or repeated name"),
    "split-negative": ("error", "a Split branch with a negative or non-finite percentage"),
    "control-branch-connector": ("error", "a connector leaves a control (hold-out) branch of a Split"),
    "control-without-timeout": ("warning", "a Split has a control branch but the journey has no journey timeout"),
    "control-uneven-tracking": (
        "warning",
        "a Split has a control branch and the attribution window is shorter than the journey timeout",
    ),
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
    "dnd-always": ("error", "DND ranges that together cover every hour of the week: nothing could be sent"),
    "dnd-channel": ("error", "DND on a channel DND does not apply to"),
    "schedule-weekdays": ("error", "a weekly schedule without weekdays"),
    "schedule-day-of-month": ("error", "a monthly schedule without a day of month in 1..31"),
    "schedule-empty": ("error", "a 'several dates' schedule with no date"),
    "start-after-end": ("error", "a start that is not before its end"),
    "naive-datetime": ("error", "a date and time without a UTC offset"),
}


@dataclass(frozen=True)
class Issue:
    """One finding of validation, with where it is and what to do.

    Parameters
    ----------
    severity : {"error", "warning"}
        An error blocks publishing, a warning does not.
    code : str
        A stable code (see :data:`CODES`).
    path : str
        The JSON path of the value.
    message : str
        What is wrong and how to fix it, in plain language.
    node : str or None, default None
        The node's id, when it concerns one node.

    Examples
    --------
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

    Parameters
    ----------
    issues : tuple of Issue, default ()
        Every issue found.

    Examples
    --------
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
