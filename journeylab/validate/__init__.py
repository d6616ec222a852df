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

import re
from typing import Any

import msgspec

from journeylab.errors import JourneyDefinitionError
from journeylab.model.io import bad_values, from_dict, from_json
from journeylab.model.journey import FORMAT_VERSION, JourneyDef
from journeylab.validate._base import _title
from journeylab.validate._graph import GraphChecks
from journeylab.validate._nodes import NodeChecks
from journeylab.validate._report import CODES, Issue, Severity, ValidationReport
from journeylab.validate._settings import SettingsChecks

__all__ = ["Issue", "ValidationReport", "validate", "check", "check_journeys", "CODES", "Severity"]


class _Checker(NodeChecks, GraphChecks, SettingsChecks):
    """Every check of one journey definition."""

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
                self.err(
                    "empty-id",
                    f"$.nodes[{i}].id",
                    f"Node number {i + 1} ({_title(n)}) has no id; give it a unique name.",
                )
            elif n.id in seen:
                self.err(
                    "duplicate-node-id",
                    f"$.nodes[{i}].id",
                    f"Two nodes are called '{n.id}' (numbers {seen[n.id] + 1} and {i + 1}); every node needs its own id.",
                    n.id,
                )
            else:
                seen[n.id] = i


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
    return [
        Issue("error", "invalid-value", p, f"{r[:1].upper()}{r[1:]}.") for p, r in bad_values(msgspec.to_builtins(d))
    ]


def validate(defn: Any, *, cohort: Any = None) -> ValidationReport:
    """Check a journey against every rule; never raises on a bad journey.

    With ``cohort``, message templates are also checked against it: a profile property no
    user has (no column, or empty for everyone) and a triggering-event property no entry event
    of the cohort carries are warnings (``template-property-missing``) — every message would
    print the template's default there.

    Parameters
    ----------
    defn : JourneyDef, Journey, dict, str or bytes
        The journey; a dict or JSON text that cannot be parsed is one ``invalid-format`` error.
    cohort : Cohort, pandas.DataFrame or None, default None
        A cohort, or a profiles frame with ``user_id``, to check templates against.

    Returns
    -------
    ValidationReport
        Every issue found, errors and warnings.

    Examples
    --------
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
    if cohort is not None:
        issues += _cohort_issues(d, cohort)
    return ValidationReport(tuple(issues))


def _has_values(frame: Any, column: str) -> bool:
    return column in frame.columns and bool(frame[column].notna().any())


def _cohort_issues(d: JourneyDef, cohort: Any) -> list[Issue]:
    """Template properties the cohort never has (see :func:`validate`)."""
    from journeylab.model.nodes import Action, Engagement, Inaction
    from journeylab.model.templates import template_reads

    profiles = getattr(cohort, "profiles", cohort)
    events = getattr(cohort, "events", None)
    if not hasattr(profiles, "columns"):
        raise TypeError(f"validate(cohort=...) takes a Cohort or a profiles DataFrame, not {type(cohort).__name__}")
    has_in = {e.event for e in d.nodes if isinstance(e, Action)} | {
        e.event for e in d.nodes if isinstance(e, Inaction) and e.event
    }
    entry_rows = events[events["event"].isin(sorted(has_in))] if events is not None and len(has_in) else None
    out: list[Issue] = []
    for i, n in enumerate(d.nodes):
        if not isinstance(n, Engagement):
            continue
        for k, v in n.content.items():
            prof, evp, _ = template_reads(v)
            at = f"$.nodes[{i}].content.{k}" if k.isidentifier() else f"$.nodes[{i}].content[{k!r}]"
            miss = [f"profile property {p!r}" for p in sorted(prof) if not _has_values(profiles, p)]
            if entry_rows is not None:
                miss += [f"event property {p!r}" for p in sorted(evp) if not _has_values(entry_rows, p)]
            if miss:
                out.append(
                    Issue(
                        "warning",
                        "template-property-missing",
                        at,
                        f"The {k!r} text of {_title(n)} node '{n.id}' reads {', '.join(miss)}, which no user "
                        f"of the cohort has: every message prints the template's default there.",
                        n.id,
                    )
                )
    return out


def check(data: Any) -> JourneyDef:
    """Parse and validate a journey; return its definition, or raise for the first error.

    A dict or JSON text is parsed; a definition or a Journey is taken as is.

    Parameters
    ----------
    data : JourneyDef, Journey, dict, str or bytes
        The journey.

    Returns
    -------
    JourneyDef
        The definition, when it has no error (warnings allowed).

    Raises
    ------
    journeylab.JourneyDefinitionError
        For the first error; its ``report`` attribute holds the whole
        :class:`ValidationReport`.

    Examples
    --------
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


def check_journeys(journeys: Any, *, warn: bool = True, stacklevel: int = 2) -> dict[str, ValidationReport]:
    """Validate journeys that are about to run together, as every driver does first.

    Each definition is validated, and the set as a whole: a journey version given twice, a
    Journey Trigger naming a node its journey does not have (errors), a Journey Trigger naming
    a journey that is not in the set (a warning: nobody enters through it here). Warnings are
    issued as one :class:`~journeylab.errors.JourneyWarning` per journey (Python shows a given
    warning once).

    Parameters
    ----------
    journeys : iterable of JourneyDef or Journey
        The journeys that run together.
    warn : bool, default True
        Issue the warnings.
    stacklevel : int, default 2
        The warnings' stack level (the caller of the driver).

    Returns
    -------
    dict of str to ValidationReport
        The reports by journey id.

    Raises
    ------
    journeylab.errors.InvalidJourneyError
        When any journey has an error; it lists every one with its path.

    Examples
    --------
    >>> from journeylab.examples import journey_trigger_pair
    >>> sorted(check_journeys([j.definition for j in journey_trigger_pair()]))
    ['journey-1', 'journey-2']
    >>> from journeylab.model import JourneyDef, Push
    >>> check_journeys([JourneyDef(id="bad", nodes=[Push(id="p")])])
    Traceback (most recent call last):
    ...
    journeylab.errors.InvalidJourneyError: journey 'bad' cannot run: validation found 2 error(s)
      $.nodes[0]: Nothing leads into Push node 'p', so it would have to start the journey, but only a segment can do that; connect a node to it or delete it.
      $.nodes: The journey has no entry: every segment has a connector leading into it. Start the journey with a segment that nothing leads into.
    """
    import warnings

    from journeylab.errors import InvalidJourneyError, JourneyWarning
    from journeylab.model.nodes import JourneyTrigger

    items = journeys if isinstance(journeys, list | tuple) else [journeys]
    defs: list[JourneyDef] = []
    for d in items:
        d = d.definition if hasattr(d, "definition") and isinstance(d.definition, JourneyDef) else d
        if not isinstance(d, JourneyDef):
            raise TypeError(f"expected journey definitions, got {type(d).__name__}")
        defs.append(d)
    issues: dict[str, list[Issue]] = {}
    seen: set[tuple[str, int]] = set()
    nodes_of: dict[str, set[str]] = {}
    for d in defs:
        nodes_of.setdefault(d.id, set()).update(n.id for n in d.nodes)
    for d in defs:
        found = issues.setdefault(d.id, [])
        found.extend(validate(d).issues)
        if (d.id, d.version) in seen:
            found.append(
                Issue(
                    "error", "duplicate-version", "$.version", f"Journey '{d.id}' version {d.version} is given twice."
                )
            )
        seen.add((d.id, d.version))
        for i, n in enumerate(d.nodes):
            if not isinstance(n, JourneyTrigger) or not n.journey or n.journey == d.id:
                continue
            if n.journey not in nodes_of:
                found.append(
                    Issue(
                        "warning",
                        "trigger-journey-absent",
                        f"$.nodes[{i}].journey",
                        f"Journey Trigger node '{n.id}' listens to journey '{n.journey}', which is not run here, so "
                        f"nobody enters through it.",
                        n.id,
                    )
                )
            elif n.node not in nodes_of[n.journey]:
                found.append(
                    Issue(
                        "error",
                        "trigger-unknown-node",
                        f"$.nodes[{i}].node",
                        f"Journey Trigger node '{n.id}' listens to node '{n.node}', which journey '{n.journey}' does "
                        f"not have.",
                        n.id,
                    )
                )
    reports = {jid: ValidationReport(tuple(found)) for jid, found in issues.items()}
    bad = {jid: r for jid, r in reports.items() if r.errors}
    if bad:
        lines = [
            f"journey {jid!r} cannot run: validation found {len(r.errors)} error(s)\n"
            + "\n".join(f"  {e.path}: {e.message}" for e in r.errors)
            for jid, r in bad.items()
        ]
        first = next(iter(bad.values())).errors[0]
        raise InvalidJourneyError("\n".join(lines), first.path, reports)
    if warn:
        for jid, r in reports.items():
            if r.warnings:
                text = "\n".join(f"  {w.path}: {w.message} [{w.code}]" for w in r.warnings)
                warnings.warn(
                    f"journey {jid!r} has {len(r.warnings)} warning(s):\n{text}", JourneyWarning, stacklevel=stacklevel
                )
    return reports
