"""Account-local time arithmetic on epoch seconds: evaluations, times of day, DND, schedules.

Everything here is a pure function of its arguments (no clock reads). Half-hour zones
(Asia/Kolkata, UTC+5:30) and DST changes are handled by asking the zone for its offset
at each candidate instant.

>>> c = LocalClock("Asia/Kolkata")
>>> from journeylab.engine.types import to_epoch, from_epoch
>>> import datetime as dt
>>> t = to_epoch(dt.datetime(2026, 3, 10, 14, 30, tzinfo=c.tz))
>>> from_epoch(c.next_hourly(t)).astimezone(c.tz).strftime("%H:%M")
'15:00'
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from journeylab.errors import EngineInvariantError
from journeylab.model.conditions import WEEKDAYS, DayRange
from journeylab.model.settings import Dates, OneTime, Recurring, Schedule

__all__ = ["LocalClock", "ClockArrays", "clock_for", "user_clock"]

_QUARTER = 900
_DAY = 86400


class LocalClock:
    """Local-time helpers for one account timezone and hourly evaluation minute."""

    def __init__(self, timezone: str = "UTC", hourly_offset_minutes: int = 0) -> None:
        self.tz = ZoneInfo(timezone)
        self.minute = hourly_offset_minutes
        self._offset = lru_cache(maxsize=65536)(self._offset_uncached)
        self._hourly = lru_cache(maxsize=65536)(self._hourly_uncached)
        self._daily = lru_cache(maxsize=8192)(self._daily_uncached)
        self._local_date = lru_cache(maxsize=65536)(self._local_date_uncached)

    @cached_property
    def arrays(self) -> ClockArrays:
        """This clock's answers for arrays of instants (:class:`ClockArrays`, one per clock)."""
        return ClockArrays(self)

    # ------------------------------------------------------------------ basics
    def _offset_uncached(self, t: int) -> int:
        off = dt.datetime.fromtimestamp(t, self.tz).utcoffset()
        return int(off.total_seconds()) if off is not None else 0

    def offset(self, t: int) -> int:
        """UTC offset (seconds) of the account zone at instant ``t``."""
        # offsets change at most at quarter hours in every real zone: cache per quarter
        return self._offset(t - t % _QUARTER)

    def local(self, t: int) -> dt.datetime:
        """The account-local aware datetime of ``t``."""
        return dt.datetime.fromtimestamp(t, self.tz)

    def epoch(self, local: dt.datetime) -> int:
        """Epoch seconds of a local wall-clock time (a time in a DST gap maps past the gap)."""
        if local.tzinfo is None:
            local = local.replace(tzinfo=self.tz)
        return int(local.timestamp() // 1)

    def _local_date_uncached(self, hour_key: int) -> dt.date:
        return self.local(hour_key).date()

    def local_date(self, t: int) -> dt.date:
        """The local calendar date of ``t``."""
        return (dt.datetime.fromtimestamp(t + self.offset(t), dt.UTC)).date()

    # ------------------------------------------------------------------ evaluations
    def _hourly_uncached(self, t: int) -> int:
        # the local minute of an instant e is (e + offset(e)) mod 3600: between two offset
        # changes the evaluations are the instants congruent to minute*60 - offset (mod 3600)
        e = t
        for _ in range(8):
            off = self.offset(e)
            cand = e + (self.minute * 60 - off - e) % 3600
            if self.offset(cand) == off:
                return cand
            e = self._next_change(e, cand)  # the offset changes in (e, cand]: look again from there
        raise EngineInvariantError(f"no hourly evaluation found after {t}")  # pragma: no cover

    def _next_change(self, lo: int, hi: int) -> int:
        """The first quarter hour in ``(lo, hi]`` whose offset differs from ``lo``'s (offsets
        change only at quarter hours in every real zone)."""
        off = self.offset(lo)
        q = lo - lo % _QUARTER + _QUARTER
        while q < hi and self.offset(q) == off:
            q += _QUARTER
        return min(q, hi)

    def next_hourly(self, t: int) -> int:
        """The first hourly evaluation at or after ``t`` (local ``HH:MM`` with MM = the offset
        minute, any of 0..59), across DST changes and half- and quarter-hour zones."""
        return self._hourly(-(-t // 60) * 60)  # evaluations fall on whole minutes

    def _daily_uncached(self, day: dt.date) -> int:
        nxt = day + dt.timedelta(days=1)
        return self.epoch(dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=self.tz))

    def next_daily(self, t: int) -> int:
        """The first daily evaluation (00:00 local) strictly after ``t``."""
        return self._daily(self.local_date(t))

    # ------------------------------------------------------------------ times of day
    def next_time_of_day(self, t: int, at: dt.time, weekdays: Sequence[str] = ()) -> int:
        """The first instant at or after ``t`` whose local time is ``at`` (on ``weekdays``)."""
        d = self.local_date(t)
        for _ in range(9):
            cand = self.epoch(dt.datetime.combine(d, at.replace(tzinfo=None), tzinfo=self.tz))
            if cand >= t and (not weekdays or WEEKDAYS[d.weekday()] in weekdays):
                return cand
            d += dt.timedelta(days=1)
        raise AssertionError("no time of day found")  # pragma: no cover

    # ------------------------------------------------------------------ ranges (DND, frequency)
    def in_ranges(self, t: int, ranges: Sequence[DayRange]) -> bool:
        """True when ``t`` falls in any of the local weekday ``ranges``."""
        if not ranges:
            return False
        loc = self.local(t)
        return any(r.contains(loc) for r in ranges)

    def range_end(self, t: int, ranges: Sequence[DayRange]) -> int:
        """The first instant after ``t`` outside every one of ``ranges`` (read on the wall clock;
        chained when ranges touch or overlap). A range ends at ``[start, end)``'s end: on a DST-gap
        day an end that does not exist ends the range at the first existing instant after it; on
        a fall-back day the end is the first time the wall clock reads it after ``t``."""
        for _ in range(32):
            loc = self.local(t)
            ends: list[int] = []
            for r in ranges:
                if not r.contains(loc):
                    continue
                day = loc.date()
                end_day = day
                if r.start >= r.end and loc.time().replace(tzinfo=None) >= r.start:
                    end_day = day + dt.timedelta(days=1)
                ends.append(self.wall_instant(end_day, r.end, t + 1))
            if not ends:
                return t
            t = max(ends)
        raise EngineInvariantError("the ranges cover every hour: nothing lies outside them")  # pragma: no cover

    def wall_instant(self, day: dt.date, at: dt.time, not_before: int) -> int:
        """The first instant at or after ``not_before`` at which the wall clock of ``day`` reads
        ``at``; when ``at`` does not exist that day (a DST gap), the first existing instant after
        it (the end of the gap)."""
        naive = dt.datetime.combine(day, at.replace(tzinfo=None))
        e0 = int(naive.replace(tzinfo=self.tz, fold=0).timestamp())
        e1 = int(naive.replace(tzinfo=self.tz, fold=1).timestamp())
        if e1 < e0:  # fold=0 reads it before the change, fold=1 after: the time is in a gap
            return self._next_change(e1, e0)
        if e0 >= not_before:
            return e0
        return e1 if e1 >= not_before else e0

    # ------------------------------------------------------------------ schedules
    def next_run(self, schedule: Schedule | None, t: int, anchor: int | None) -> int | None:
        """The first scheduled run at or after ``t``.

        Without a schedule the journey runs once every 24 hours at its start time ``anchor``.
        """
        if schedule is None:
            if anchor is None:
                return None
            if t <= anchor:
                return anchor
            return anchor + -(-(t - anchor) // _DAY) * _DAY
        if isinstance(schedule, OneTime):
            at = int(schedule.at.timestamp())
            return at if at >= t else None
        if isinstance(schedule, Dates):
            later = sorted(int(a.timestamp()) for a in schedule.at if int(a.timestamp()) >= t)
            return later[0] if later else None
        assert isinstance(schedule, Recurring)
        d = self.local_date(t)
        if schedule.start is not None and d < schedule.start:
            d = schedule.start
        for _ in range(800):
            if schedule.end is not None and d > schedule.end:
                return None
            if self._runs_on(schedule, d):
                cand = self.epoch(dt.datetime.combine(d, schedule.time.replace(tzinfo=None), tzinfo=self.tz))
                if cand >= t:
                    return cand
            d += dt.timedelta(days=1)
        return None

    @staticmethod
    def _runs_on(s: Recurring, d: dt.date) -> bool:
        if s.every == "day":
            return True
        if s.every == "week":
            return WEEKDAYS[d.weekday()] in s.weekdays
        dom = s.day_of_month or 1
        last = calendar.monthrange(d.year, d.month)[1]
        return d.day == min(dom, last)

    def week_key(self, t: int) -> tuple[int, int]:
        """(ISO year, ISO week) of the local date of ``t``."""
        iso = self.local_date(t).isocalendar()
        return (iso[0], iso[1])


@lru_cache(maxsize=4096)
def clock_for(timezone: str, hourly_offset_minutes: int = 0) -> LocalClock | None:
    """The (shared) :class:`LocalClock` of an IANA timezone name, or ``None`` when the name is
    not a timezone (a profile may hold anything).

    >>> clock_for("Asia/Kolkata").tz.key, clock_for("Mars/Olympus")
    ('Asia/Kolkata', None)
    """
    if not isinstance(timezone, str) or not timezone or len(timezone) > 255:
        return None
    return _shared_clock(timezone, hourly_offset_minutes)


@lru_cache(maxsize=1024)
def _shared_clock(timezone: str, hourly_offset_minutes: int) -> LocalClock | None:
    """One clock per zone and minute for every engine and run: what it has worked out (offsets,
    evaluation instants, local days) serves them all."""
    try:
        return LocalClock(timezone, hourly_offset_minutes)
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError (bad key), OSError (unreadable file)
        return None


def user_clock(profile: dict[str, Any], prop: str, fallback: LocalClock) -> LocalClock:
    """A user's own clock: the timezone named by the profile property ``prop``, else
    ``fallback`` (the account's). The one place per-user local time comes from.

    >>> from journeylab.engine.types import to_epoch
    >>> c = user_clock({"timezone": "America/New_York"}, "timezone", LocalClock("UTC"))
    >>> t = to_epoch(dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC))
    >>> c.local(c.next_time_of_day(t, dt.time(9, 0))).isoformat()
    '2026-03-09T09:00:00-04:00'
    >>> user_clock({"timezone": "nowhere"}, "timezone", LocalClock("UTC")).tz.key
    'UTC'
    """
    v = profile.get(prop)
    if v is None or not isinstance(v, str):
        return fallback
    c = clock_for(v, fallback.minute)
    return fallback if c is None else c


class ClockArrays:
    """:class:`LocalClock`'s answers for arrays of instants, for the batched engine: each gives
    exactly what the scalar method gives, element by element (a test compares them).

    Offsets are read from a table of the zone's offset per quarter hour, built for the span
    asked about; anything that needs calendar logic is computed once per distinct local day.
    """

    def __init__(self, clock: LocalClock) -> None:
        self.c = clock
        # (first quarter hour, offsets from it): one tuple, replaced whole when it grows, so a
        # clock shared by several engines (and threads) never reads one without the other
        self._quarters: tuple[int, np.ndarray] = (0, np.zeros(0, dtype=np.int64))

    # ------------------------------------------------------------------ offsets
    def offset(self, t: np.ndarray) -> np.ndarray:
        """UTC offsets (seconds) at the instants ``t``."""
        if not len(t):
            return np.zeros(0, dtype=np.int64)
        q = t // _QUARTER
        lo, hi = int(q.min()), int(q.max())
        base, table = self._quarters
        if not len(table) or lo < base or hi >= base + len(table):
            a = min(lo, base) if len(table) else lo
            b = max(hi + 1, base + len(table)) if len(table) else hi + 1
            a, b = a - 96, b + 96 * 8  # a day before, eight days after
            table = self._offsets_from(a, b)
            base = a
            self._quarters = (base, table)
        offsets: np.ndarray = table[q - base]
        return offsets

    def _offsets_from(self, a: int, b: int) -> np.ndarray:
        """The offset of each quarter hour ``a .. b - 1``: read at every whole hour, and at the
        quarters of an hour whose two ends differ (no zone keeps an offset for less than an
        hour, so an hour with equal ends has it throughout): a quarter of the zone lookups.

        >>> arr = LocalClock("Asia/Kathmandu").arrays  # +05:30, then +05:45 from 1986
        >>> q = 504_921_600 // _QUARTER  # 1986-01-01 00:00 UTC
        >>> got = arr._offsets_from(q - 200, q + 200)
        >>> got.tolist() == [arr.c.offset(k * _QUARTER) for k in range(q - 200, q + 200)]
        True
        """

        def each(lo: int, hi: int) -> np.ndarray:  # quarter by quarter
            return np.asarray([self.c.offset(k * _QUARTER) for k in range(lo, hi)], dtype=np.int64)

        h0, h1 = -(-a // 4), b // 4  # the whole hours [h0, h1) inside [a, b)
        if h1 <= h0:
            return each(a, b)
        hours = np.fromiter((self.c.offset(h * 4 * _QUARTER) for h in range(h0, h1 + 1)), dtype=np.int64)
        table = np.repeat(hours[:-1], 4)
        for i in np.flatnonzero(hours[1:] != hours[:-1]).tolist():  # the offset changes inside hour i
            table[4 * i + 1 : 4 * i + 4] = each(4 * (h0 + i) + 1, 4 * (h0 + i) + 4)
        return np.concatenate([each(a, 4 * h0), table, each(4 * h1, b)])

    def local_day(self, t: np.ndarray) -> np.ndarray:
        """Local calendar days as day numbers since 1970-01-01 (``local_date`` as an ordinal)."""
        days: np.ndarray = (t + self.offset(t)) // _DAY
        return days

    def weekday(self, day: np.ndarray) -> np.ndarray:
        """Monday = 0 ... Sunday = 6 of local day numbers (1970-01-01 was a Thursday)."""
        return (day + 3) % 7

    # ------------------------------------------------------------------ evaluations
    def next_hourly(self, t: np.ndarray) -> np.ndarray:
        """:meth:`LocalClock.next_hourly` of each instant."""
        t = np.asarray(t, dtype=np.int64)
        t = -(-t // 60) * 60
        off = self.offset(t)
        cand: np.ndarray = t + (self.c.minute * 60 - off - t) % 3600
        ok = self.offset(cand) == off
        if not ok.all():  # an offset change in between: the scalar rule for those few
            bad = np.flatnonzero(~ok)
            cand[bad] = [self.c.next_hourly(int(x)) for x in t[bad]]
        return cand

    def next_daily(self, t: np.ndarray) -> np.ndarray:
        """:meth:`LocalClock.next_daily` of each instant (00:00 local strictly after it)."""
        return self._per_day(self.local_day(t), lambda d: self.c._daily(_date(d)))

    def local_dates_key(self, t: np.ndarray) -> np.ndarray:
        return self.local_day(t)

    def week_key(self, t: np.ndarray) -> np.ndarray:
        """A number per local ISO week (Monday first), equal exactly when ``week_key`` is."""
        day = self.local_day(t)
        weeks: np.ndarray = (day - self.weekday(day)) // 7
        return weeks

    def next_time_of_day(self, t: np.ndarray, at: dt.time, weekdays: Sequence[str] = ()) -> np.ndarray:
        """:meth:`LocalClock.next_time_of_day` of each instant."""
        t = np.asarray(t, dtype=np.int64)
        day = self.local_day(t)
        allowed = np.array([not weekdays or WEEKDAYS[i] in weekdays for i in range(7)])
        out = np.full(len(t), -1, dtype=np.int64)
        todo = np.arange(len(t))
        for k in range(9):
            d = day[todo] + k
            cand = self._per_day(
                d, lambda x: self.c.epoch(dt.datetime.combine(_date(x), at.replace(tzinfo=None), tzinfo=self.c.tz))
            )
            ok = (cand >= t[todo]) & allowed[self.weekday(d)]
            out[todo[ok]] = cand[ok]
            todo = todo[~ok]
            if not len(todo):
                return out
        raise EngineInvariantError("no time of day found")  # pragma: no cover

    def in_ranges(self, t: np.ndarray, ranges: Sequence[DayRange]) -> np.ndarray:
        """:meth:`LocalClock.in_ranges` of each instant (wall clock, ``[start, end)``)."""
        t = np.asarray(t, dtype=np.int64)
        if not ranges:
            return np.zeros(len(t), dtype=bool)
        loc = t + self.offset(t)
        day = loc // _DAY
        sec = loc - day * _DAY
        wd = self.weekday(day)
        out = np.zeros(len(t), dtype=bool)
        for r in ranges:
            a = r.start.hour * 3600 + r.start.minute * 60 + r.start.second
            b = r.end.hour * 3600 + r.end.minute * 60 + r.end.second
            days = np.array([WEEKDAYS[i] in r.days for i in range(7)])
            if r.start < r.end:
                out |= days[wd] & (sec >= a) & (sec < b)
            else:
                out |= (days[wd] & (sec >= a)) | (days[(wd - 1) % 7] & (sec < b))
        return out

    def range_end(self, t: np.ndarray, ranges: Sequence[DayRange]) -> np.ndarray:
        """:meth:`LocalClock.range_end` of each instant (the scalar rule, once per instant)."""
        t = np.asarray(t, dtype=np.int64)
        u, inv = np.unique(t, return_inverse=True)
        return np.array([self.c.range_end(int(x), ranges) for x in u], dtype=np.int64)[inv]

    @staticmethod
    def _per_day(day: np.ndarray, fn: Any) -> np.ndarray:
        if not len(day):
            return np.zeros(0, dtype=np.int64)
        u, inv = np.unique(day, return_inverse=True)
        return np.array([fn(int(x)) for x in u], dtype=np.int64)[inv]


_EPOCH_DAY = dt.date(1970, 1, 1)


def _date(day: int) -> dt.date:
    return _EPOCH_DAY + dt.timedelta(days=day)
