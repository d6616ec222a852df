"""The journey lifecycle in one place (SPEC §7): statuses, transitions, what may change after
publishing, and the publish check.

Every part of journeylab that changes a journey's state reads this module: the editable
:class:`~journeylab.model.Journey`, the :class:`~journeylab.workspace.Workspace`, the production
:class:`~journeylab.runtime.Runtime` and the widget's buttons. A rule written here once is the
rule everywhere.

>>> next_status("running", "pause", "cart")
'paused'
>>> next_status("draft", "pause", "cart")
Traceback (most recent call last):
...
journeylab.errors.LifecycleError: journey 'cart' is draft: it cannot be paused
>>> [v for v in TRANSITIONS if allowed("paused", v)]
['resume', 'stop']
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from journeylab.errors import LifecycleError
from journeylab.model.nodes import Engagement

if TYPE_CHECKING:
    from journeylab.model.journey import JourneyDef
    from journeylab.validate import ValidationReport

__all__ = [
    "migration_plan",
    "Status",
    "STATUSES",
    "Transition",
    "TRANSITIONS",
    "allowed",
    "next_status",
    "publish_status",
    "check_archive",
    "check_unarchive",
    "check_edit",
    "check_published_change",
    "locked_part",
    "publish_check",
    "AFTER_PUBLISH",
]

Status = Literal["draft", "scheduled", "running", "paused", "stopped"]
STATUSES: tuple[Status, ...] = ("draft", "scheduled", "running", "paused", "stopped")

#: the message every refused edit of a published journey carries
AFTER_PUBLISH = "after publishing only the message content ('What') of engagement nodes can be edited"


@dataclass(frozen=True)
class Transition:
    """A lifecycle operation: allowed ``sources``, the status it leads to (``None`` for publish:
    ``scheduled`` or ``running`` by the journey's start), and the past participle for messages."""

    verb: str
    sources: frozenset[str]
    target: Status | None
    done: str


TRANSITIONS: dict[str, Transition] = {
    t.verb: t
    for t in (
        Transition("publish", frozenset({"draft"}), None, "published"),
        Transition("start", frozenset({"scheduled"}), "running", "started"),
        Transition("pause", frozenset({"scheduled", "running"}), "paused", "paused"),
        Transition("resume", frozenset({"paused"}), "running", "resumed"),
        Transition("stop", frozenset({"scheduled", "running", "paused"}), "stopped", "stopped"),
    )
}


def allowed(status: str, verb: str) -> bool:
    """Whether ``verb`` (publish, start, pause, resume, stop) may be applied in ``status``."""
    return status in TRANSITIONS[verb].sources


def next_status(
    status: str, verb: str, journey_id: str, *, start: dt.datetime | None = None, now: dt.datetime | None = None
) -> Status:
    """The status after ``verb``, or :class:`LifecycleError` saying why it is refused.

    Publishing gives ``scheduled`` when ``start`` lies after ``now``, else ``running``.
    """
    t = TRANSITIONS[verb]
    if status not in t.sources:
        if verb == "publish":
            raise LifecycleError(f"journey {journey_id!r} is {status}: only a draft can be published")
        raise LifecycleError(f"journey {journey_id!r} is {status}: it cannot be {t.done}")
    if t.target is None:
        return publish_status(start, now or dt.datetime.now(dt.UTC))
    return t.target


def publish_status(start: dt.datetime | None, now: dt.datetime) -> Status:
    """``scheduled`` when the journey's live start lies in the future, else ``running``."""
    return "scheduled" if start is not None and start > now else "running"


def check_archive(status: str, journey_id: str) -> None:
    """Archiving is refused for scheduled or running journeys."""
    if status in ("scheduled", "running"):
        raise LifecycleError(f"journey {journey_id!r} is {status}: scheduled or running journeys cannot be archived")


def check_unarchive(archived: bool, journey_id: str) -> None:
    if not archived:
        raise LifecycleError(f"journey {journey_id!r} is not archived")


def check_edit(status: str, what: str, journey_id: str, *, content_only: bool = False) -> None:
    """Refuse an edit the status does not allow: drafts take any edit, published journeys
    only content edits (``content_only``), stopped journeys none."""
    if status == "draft":
        return
    if status == "stopped":
        raise LifecycleError(f"journey {journey_id!r} is stopped: it cannot be edited ({what})")
    if not content_only:
        raise LifecycleError(f"journey {journey_id!r} is {status}: {AFTER_PUBLISH}, so {what} is not allowed")


def locked_part(d: JourneyDef) -> Any:
    """Everything of a definition that may not change after publishing: all but the content of
    engagement nodes, the canvas layout and the lifecycle fields themselves (status, archived)."""
    nodes = [
        msgspec.structs.replace(n, content={}, position=None)
        if isinstance(n, Engagement)
        else msgspec.structs.replace(n, position=None)
        for n in d.nodes
    ]
    return msgspec.to_builtins(msgspec.structs.replace(d, nodes=nodes, status="draft", archived=False))


def check_published_change(old: JourneyDef, new: JourneyDef) -> None:
    """Refuse a new definition of a published version that changes more than content or layout."""
    if locked_part(old) != locked_part(new):
        raise LifecycleError(f"journey {old.id!r} is {old.status}: {AFTER_PUBLISH}")


def publish_check(d: JourneyDef) -> ValidationReport:
    """Validate for publishing: errors block it (:class:`LifecycleError` listing each with its
    path); the report (with any warnings) is returned otherwise."""
    from journeylab.validate import validate

    report = validate(d)
    if report.errors:
        lines = "\n".join(f"  {e.path}: {e.message}" for e in report.errors)
        raise LifecycleError(f"journey {d.id!r} cannot be published, validation found errors:\n{lines}")
    return report


def migration_plan(old: JourneyDef, new: JourneyDef) -> dict[str, str | None]:
    """Whether users waiting at each node of ``old`` can move to ``new`` (version migration):
    node id -> ``None`` (they move to the node of the same id) or why they stay on ``old``
    (the node is gone, or is of another kind now).

    >>> from journeylab.model import Action, Delay, Email, JourneyDef, Push
    >>> import datetime as dt
    >>> v1 = JourneyDef(id="j", version=1, nodes=[Action(id="a", event="E"), Delay(id="wait", duration=dt.timedelta(days=1)),
    ...                                          Push(id="p"), Push(id="q")])
    >>> v2 = JourneyDef(id="j", version=2, nodes=[Action(id="a", event="E"), Delay(id="wait", duration=dt.timedelta(days=2)),
    ...                                          Email(id="p")])
    >>> migration_plan(v1, v2)
    {'a': None, 'wait': None, 'p': "node 'p' is a push in version 1 and an email in version 2", 'q': "node 'q' is not in version 2"}
    """
    from journeylab.model.nodes import kind_of

    kinds = {n.id: kind_of(n) for n in new.nodes}
    plan: dict[str, str | None] = {}
    for n in old.nodes:
        k = kind_of(n)
        if n.id not in kinds:
            plan[n.id] = f"node {n.id!r} is not in version {new.version}"
        elif kinds[n.id] != k:
            plan[n.id] = (
                f"node {n.id!r} is {_a(k)} in version {old.version} and {_a(kinds[n.id])} in version {new.version}"
            )
        else:
            plan[n.id] = None
    return plan


def _a(kind: str) -> str:
    return ("an " if kind[:1] in "aeiou" else "a ") + kind
