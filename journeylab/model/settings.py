"""Journey-level settings: goals, schedule, DND, campaign limits, timeouts, re-entry."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, Union

import msgspec

from journeylab.model.conditions import DayRange, EventCount, EventMatch, PropertyFilter, Weekday
from journeylab.model.nodes import Reads, reads_of_events

__all__ = [
    "ActionGoal",
    "PastBehaviorGoal",
    "Goal",
    "OneTime",
    "Dates",
    "Recurring",
    "Schedule",
    "Dnd",
    "Limit",
    "Settings",
    "Connector",
]

_S = dict(frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True)


class ActionGoal(msgspec.Struct, tag_field="kind", tag="action", **_S):
    """Exit the user (a conversion) the moment they do ``event`` (matching ``filters``)."""

    name: str
    event: str
    filters: list[PropertyFilter] = []

    def reads(self) -> Reads:
        """The inputs this goal acts on."""
        props = ((self.event, frozenset(f.property for f in self.filters)),) if self.filters else ()
        return Reads(frozenset({self.event}), props)

    def matches(self, name: str, props: dict[str, Any]) -> bool:
        if name != self.event:
            return False
        for f in self.filters:  # noqa: SIM110 - a plain loop is the fastest form here
            if not f.test(props):
                return False
        return True


class PastBehaviorGoal(msgspec.Struct, tag_field="kind", tag="past_behavior", **_S):
    """Evaluated at each daily evaluation (00:00 account-local): users who did ``did`` and
    not ``did_not`` in the last ``days`` (and match ``profile``) exit as a conversion."""

    name: str
    did: list[EventCount] = []
    did_not: list[EventMatch] = []
    days: int = 7
    profile: list[PropertyFilter] = []

    def reads(self) -> Reads:
        """The inputs this goal acts on (its events' history over ``days``, profile filters)."""
        r = reads_of_events([*self.did, *self.did_not], self.days)
        return Reads(r.events, r.event_props, frozenset(f.property for f in self.profile), r.lookback)


Goal = Union[ActionGoal, PastBehaviorGoal]


class OneTime(msgspec.Struct, tag_field="type", tag="one_time", **_S):
    """One scheduled run at ``at``."""

    at: dt.datetime


class Dates(msgspec.Struct, tag_field="type", tag="dates", **_S):
    """Scheduled runs at several instants."""

    at: list[dt.datetime]


class Recurring(msgspec.Struct, tag_field="type", tag="recurring", **_S):
    """Recurring runs at local ``time``: every day, every week on ``weekdays``, or every
    month on ``day_of_month`` (days past the month's end run on its last day), between the
    optional ``start`` and ``end`` dates (inclusive)."""

    every: Literal["day", "week", "month"]
    time: dt.time = dt.time(0, 0)
    weekdays: list[Weekday] = []
    day_of_month: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None


Schedule = Union[OneTime, Dates, Recurring]


class Dnd(msgspec.Struct, **_S):
    """Do-not-disturb hours (account-local, per weekday) for push, SMS, email and web push.

    A send falling inside DND is deferred to the end of the period (``mode="defer"``) or
    discarded (``mode="discard"``).
    """

    ranges: list[DayRange]
    mode: Literal["defer", "discard"] = "defer"
    channels: list[str] = msgspec.field(default_factory=lambda: ["push", "sms", "email", "web_push"])


class Limit(msgspec.Struct, **_S):
    """At most ``max`` messages per user per ``per`` (local calendar day, local ISO week
    starting Monday, or the whole journey), on ``channel`` or on all channels."""

    max: int
    per: Literal["day", "week", "journey"] = "day"
    channel: str | None = None


class Connector(msgspec.Struct, **_S):
    """A connector from ``source`` leaving by ``port`` to ``target``."""

    source: str = msgspec.field(name="from")
    port: str
    target: str = msgspec.field(name="to")


class Settings(msgspec.Struct, **_S):
    """Journey settings.

    * ``timezone``: the account timezone (IANA name); local times are read in it.
    * ``journey_timeout``: the longest a user stays; they exit at entry + timeout.
    * ``reentry``: allow users who exited to enter again.
    * ``hourly_offset_minutes``: node timeouts are evaluated every local hour at this minute.
    * ``start``/``end``: live entries are accepted in ``[start, end)``.
    * ``schedule``: runs for Past Behavior and Custom List entry.
    * ``dnd``, ``limits``: sending rules.
    * ``session_gap``: a web session ends after this long without events.
    * ``priority``: at one instant, journeys of higher priority go first (so they win the last
      slot of an account frequency cap, see :class:`~journeylab.model.AccountPolicy`).
    * ``local_time``: read fixed send times, DND, delivery windows and delays until a time of
      day in each user's own timezone (the profile property named by the account policy,
      ``timezone`` by default), falling back to ``timezone`` for users without a valid one.
    * ``attribution_window``: a user who left without meeting a goal still converts when
      they do an action goal's event within this time after their exit (their last message
      is never later than the exit): a ``converted`` trace row, counted as a conversion of
      the journey, of the Split branch and of the last message of that enrollment.
    """

    timezone: str = "UTC"
    journey_timeout: dt.timedelta | None = None
    reentry: bool = False
    hourly_offset_minutes: int = 0
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    schedule: Schedule | None = None
    dnd: Dnd | None = None
    limits: list[Limit] = []
    session_gap: dt.timedelta = dt.timedelta(minutes=30)
    priority: int = 0
    local_time: bool = False
    attribution_window: dt.timedelta | None = None
