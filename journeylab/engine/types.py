"""Inputs the engine accepts, actions it returns, and the trace record.

Instants are integers: seconds since the Unix epoch, UTC. Drivers convert at the edge
(:func:`to_epoch`, :func:`from_epoch`). Every input and action is a small immutable value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, NamedTuple

__all__ = [
    "Event",
    "ProfileSet",
    "Feedback",
    "FeedbackKind",
    "Trigger",
    "Wake",
    "Input",
    "Inputs",
    "TraceRecord",
    "Send",
    "ProfileChanged",
    "NodePassed",
    "Action",
    "TRACE_COLUMNS",
    "TRACE_EVENTS",
    "FEEDBACK_KINDS",
    "EXIT_REASONS",
    "DISCARD_REASONS",
    "to_epoch",
    "from_epoch",
]


def to_epoch(t: dt.datetime | int | float) -> int:
    """Seconds since the epoch for an aware datetime (naive datetimes are refused).

    >>> to_epoch(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    1767225600
    """
    if isinstance(t, int):
        return t
    if isinstance(t, float):
        return int(t // 1)
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"naive datetime {t!r}: give a timezone-aware instant")
    return int(t.timestamp() // 1)


def from_epoch(t: int) -> dt.datetime:
    """The aware UTC datetime of an epoch instant.

    >>> from_epoch(1767225600).isoformat()
    '2026-01-01T00:00:00+00:00'
    """
    return dt.datetime.fromtimestamp(t, dt.UTC)


class Event(NamedTuple):
    """A user event: ``name`` at ``ts`` with ``props``; ``event_id`` enables de-duplication."""

    user_id: str
    ts: int
    name: str
    props: dict[str, Any] = {}
    event_id: str | None = None


class ProfileSet(NamedTuple):
    """New values for profile properties (a snapshot or a change) at ``ts``."""

    user_id: str
    ts: int
    props: dict[str, Any]


#: what a :class:`Feedback` says about a sent message (its values: :data:`FEEDBACK_KINDS`)
FeedbackKind = Literal["delivered", "viewed", "clicked", "unsubscribed"]


class Feedback(NamedTuple):
    """Delivery feedback for a sent message: ``delivered``, ``viewed``, ``clicked``, or
    ``unsubscribed`` (the user opted out of the message's channel, e.g. by its unsubscribe link).

    The message is named by its ``message_id``, or — when the id is not known, as in a
    hand-written test or a what-if — by the engagement ``node`` that sent it (optionally
    ``journey``-qualified): then it is the latest message that node sent the user.

    >>> Feedback("ana", 100, kind="clicked", node="push").message_id
    ''
    """

    user_id: str
    ts: int
    message_id: str = ""
    kind: FeedbackKind = "viewed"
    node: str = ""
    journey: str = ""


class Trigger(NamedTuple):
    """The user passed ``node`` of journey ``journey`` (by ``port``): a journey trigger."""

    user_id: str
    ts: int
    journey: str
    node: str
    port: str


class Wake(NamedTuple):
    """A clock wake-up for one user at ``ts`` (ask :meth:`Engine.next_wake` when)."""

    user_id: str
    ts: int


Input = Event | ProfileSet | Feedback | Trigger | Wake


class Inputs(NamedTuple):
    """What a journey (or a set of journeys) can act on; a driver may drop every other input.

    * ``events``: event names; ``event_props``: per event name, the properties read;
    * ``profile``: profile properties read; ``lead``: seconds before the start from which
      events still matter (past-behaviour look-back, inaction waits, sessions).
    """

    events: frozenset[str]
    event_props: dict[str, frozenset[str]]
    profile: frozenset[str]
    lead: int

    @staticmethod
    def union(parts: list[Inputs]) -> Inputs:
        props: dict[str, frozenset[str]] = {}
        for p in parts:
            for e, ps in p.event_props.items():
                props[e] = props.get(e, frozenset()) | ps
        return Inputs(
            frozenset().union(*(p.events for p in parts)),
            props,
            frozenset().union(*(p.profile for p in parts)),
            max((p.lead for p in parts), default=0),
        )


class TraceRecord(NamedTuple):
    """One thing that happened to a user: the ground truth every statistic comes from."""

    user_id: str
    ts: int
    journey: str
    version: int
    node: str
    event: str
    port: str
    detail: str


TRACE_COLUMNS: tuple[str, ...] = TraceRecord._fields

#: every ``event`` value a trace row can have
#: what a :class:`Feedback` may say about a sent message
FEEDBACK_KINDS: tuple[FeedbackKind, ...] = ("delivered", "viewed", "clicked", "unsubscribed")
TRACE_EVENTS: tuple[str, ...] = (
    "entered",  # arrived at a node (detail "entry" at an entry node: a journey entry)
    "left",  # left a node by ``port``
    "timed_out",  # the qualifying / phantom window ended
    "waiting",  # timed out with no timeout connector: waits until the journey ends for them
    "sent",  # a message was sent (detail: channel)
    "deferred",  # a send was deferred (detail "dnd")
    "discarded",  # a send was discarded (detail: reason)
    "delivered",
    "viewed",
    "clicked",
    "profile_updated",  # detail "property: old -> new"
    "exited",  # left the journey (detail: reason)
    "held",  # assigned to a control branch of a Split (port: the branch): held there, never messaged
    "unsubscribed",  # feedback: the user opted out of the channel of a message (detail: channel)
    "converted",  # a goal's event within the attribution window after a non-goal exit (detail: goal:<name>)
    "migrated",  # moved to a newer version of the journey at the same node (version: the new one; detail "from v<N>")
    "not_migrated",  # stayed on its version when a newer one was published with migration (detail: why)
)
EXIT_REASONS: tuple[str, ...] = ("goal", "journey_timeout", "force_exit", "completed", "stopped")
#: why a send is discarded: no address for the channel, DND (discard mode), outside the delivery
#: window, over a journey's campaign limit, no consent (opted out), over an account frequency cap
DISCARD_REASONS: tuple[str, ...] = ("unreachable", "dnd", "frequency", "limit", "consent", "cap")


class Send(NamedTuple):
    """Send a message. ``id`` is deterministic: journey, version, user, enrollment ``n``, node,
    ``visit`` (the last two also given as numbers, for the message's random draws)."""

    id: str
    journey: str
    version: int
    user_id: str
    node: str
    channel: str
    ts: int
    content: dict[str, str]
    n: int = 0
    visit: int = 0


class ProfileChanged(NamedTuple):
    """A Profile Update node changed a property (drivers share it with other journeys)."""

    user_id: str
    ts: int
    journey: str
    node: str
    property: str
    value: Any


class NodePassed(NamedTuple):
    """The user passed a watched node (feeds Journey Trigger entries of other journeys)."""

    user_id: str
    ts: int
    journey: str
    node: str
    port: str


Action = TraceRecord | Send | ProfileChanged | NodePassed
