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
    """Exit the user (a conversion) the moment they do ``event`` (matching ``filters``).

    Parameters
    ----------
    name : str
        The goal's name (unique in the journey).
    event : str
        The event that converts.
    filters : list of PropertyFilter, default []
        Conditions on its properties.

    Examples
    --------
    >>> ActionGoal(name="Purchase", event="Charged").name
    'Purchase'
    """

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
    """A goal checked at each daily evaluation (00:00 account-local) against the history.

    Users who did ``did`` and not ``did_not`` in the last ``days`` (and match ``profile``)
    exit as a conversion.

    Parameters
    ----------
    name : str
        The goal's name.
    did : list of EventCount, default []
        Events the user did, each at least its times.
    did_not : list of EventMatch, default []
        Events the user did not do.
    days : int, default 7
        How many days back.
    profile : list of PropertyFilter, default []
        Conditions on the profile.

    Examples
    --------
    >>> from journeylab.model import EventCount
    >>> PastBehaviorGoal(name="Repeat buyer", did=[EventCount(event="Charged", at_least=2)]).days
    7
    """

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
    """One scheduled run at ``at``.

    Parameters
    ----------
    at : datetime.datetime
        When (timezone-aware).

    Examples
    --------
    >>> import datetime as dt
    >>> OneTime(at=dt.datetime(2026, 10, 1, 9, tzinfo=dt.timezone.utc)).at.hour
    9
    """

    at: dt.datetime


class Dates(msgspec.Struct, tag_field="type", tag="dates", **_S):
    """Scheduled runs at several instants.

    Parameters
    ----------
    at : list of datetime.datetime
        When (timezone-aware).

    Examples
    --------
    >>> import datetime as dt
    >>> len(Dates(at=[dt.datetime(2026, 10, d, tzinfo=dt.timezone.utc) for d in (1, 8)]).at)
    2
    """

    at: list[dt.datetime]


class Recurring(msgspec.Struct, tag_field="type", tag="recurring", **_S):
    """Recurring runs at a local time: every day, every week on some days, or every month.

    Days past the month's end run on its last day.

    Parameters
    ----------
    every : {"day", "week", "month"}
        How often.
    time : datetime.time, default 00:00
        The local time of day.
    weekdays : list of str, default []
        With ``every="week"``: the days (``"mon"`` ... ``"sun"``).
    day_of_month : int or None, default None
        With ``every="month"``: the day.
    start : datetime.date or None, default None
        The first date it may run (inclusive).
    end : datetime.date or None, default None
        The last date it may run (inclusive).

    Examples
    --------
    >>> import datetime as dt
    >>> Recurring(every="week", time=dt.time(9), weekdays=["mon", "thu"]).weekdays
    ['mon', 'thu']
    """

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

    Parameters
    ----------
    ranges : list of DayRange
        The quiet hours.
    mode : {"defer", "discard"}, default "defer"
        What happens to a send inside them.
    channels : list of str, default DND_CHANNELS
        The channels they apply to.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeylab.model import DayRange
    >>> Dnd(ranges=[DayRange(start=dt.time(22), end=dt.time(8))]).mode
    'defer'
    """

    ranges: list[DayRange]
    mode: Literal["defer", "discard"] = "defer"
    channels: list[str] = msgspec.field(default_factory=lambda: ["push", "sms", "email", "web_push"])


class Limit(msgspec.Struct, **_S):
    """At most ``max`` messages per user per day, week or journey, on one channel or all.

    Days and weeks are local (calendar day, ISO week starting Monday).

    Parameters
    ----------
    max : int
        The most messages.
    per : {"day", "week", "journey"}, default "day"
        Over what.
    channel : str or None, default None
        The channel it counts; default every channel.

    Examples
    --------
    >>> Limit(max=1, per="day", channel="push").channel
    'push'
    """

    max: int
    per: Literal["day", "week", "journey"] = "day"
    channel: str | None = None


class Connector(msgspec.Struct, **_S):
    """A connector from ``source`` leaving by ``port`` to ``target``.

    Parameters
    ----------
    source : str
        The id of the node it leaves.
    port : str
        The port it leaves by (``yes``, ``no``, ``timeout``, ``next``, a branch...).
    target : str
        The id of the node it leads to.

    Examples
    --------
    >>> Connector(source="cart", port="yes", target="push")
    Connector(source='cart', port='yes', target='push')
    """

    source: str = msgspec.field(name="from")
    port: str
    target: str = msgspec.field(name="to")


class Settings(msgspec.Struct, **_S):
    """Journey settings: timezone, timeout, re-entry, schedule, sending rules.

    Parameters
    ----------
    timezone : str, default "UTC"
        The account timezone (IANA name); local times are read in it.
    journey_timeout : datetime.timedelta or None, default None
        The longest a user stays; they exit at entry + timeout.
    reentry : bool, default False
        Allow users who exited to enter again.
    hourly_offset_minutes : int, default 0
        Node timeouts are evaluated every local hour at this minute.
    start : datetime.datetime or None, default None
        Live entries are accepted from then on.
    end : datetime.datetime or None, default None
        ... and until then (not included).
    schedule : OneTime, Dates, Recurring or None, default None
        Runs for Past Behavior and Custom List entry.
    dnd : Dnd or None, default None
        Do-not-disturb hours.
    limits : list of Limit, default []
        Frequency limits per user.
    session_gap : datetime.timedelta, default 30 minutes
        A web session ends after this long without events.
    priority : int, default 0
        At one instant, journeys of higher priority go first (so they win the last slot of an
        account frequency cap, see :class:`~journeylab.model.AccountPolicy`).
    local_time : bool, default False
        Read fixed send times, DND, delivery windows and delays until a time of day in each
        user's own timezone (the profile property named by the account policy, ``timezone``
        by default), falling back to ``timezone`` for users without a valid one.
    attribution_window : datetime.timedelta or None, default None
        A user who left without meeting a goal still converts when they do an action goal's
        event within this time after their exit: a ``converted`` trace row, counted as a
        conversion of the journey, of the Split branch and of the last message.

    Examples
    --------
    >>> import datetime as dt
    >>> s = Settings(timezone="Asia/Kolkata", journey_timeout=dt.timedelta(days=7))
    >>> s.timezone, s.reentry
    ('Asia/Kolkata', False)
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
