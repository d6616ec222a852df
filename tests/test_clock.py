"""Account-local time: hourly and daily evaluations across DST and half-hour zones, DND, schedules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from journeylab.engine.clock import LocalClock
from journeylab.model import DayRange, Recurring


def e(tz: str, *a: int) -> int:
    return int(dt.datetime(*a, tzinfo=ZoneInfo(tz)).timestamp())


def local(tz: str, t: int) -> str:
    return dt.datetime.fromtimestamp(t, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("tz", "minute", "at", "expect"),
    [
        ("Asia/Kolkata", 0, (2026, 3, 10, 14, 30), "2026-03-10 15:00"),  # UTC+5:30: local full hours
        ("Asia/Kolkata", 0, (2026, 3, 10, 15, 0), "2026-03-10 15:00"),  # at or after
        ("Asia/Kolkata", 45, (2026, 3, 10, 15, 0), "2026-03-10 15:45"),
        ("America/New_York", 0, (2026, 3, 8, 1, 30), "2026-03-08 03:00"),  # 02:00 does not exist
        ("America/New_York", 0, (2026, 11, 1, 1, 30), "2026-11-01 01:00"),  # 01:00 again, an hour later
        ("Australia/Lord_Howe", 0, (2026, 4, 5, 1, 10), "2026-04-05 02:00"),  # half-hour DST shift
    ],
)
def test_next_hourly_evaluation(tz, minute, at, expect):
    c = LocalClock(tz, minute)
    t = c.next_hourly(e(tz, *at))
    assert t >= e(tz, *at)
    assert local(tz, t) == expect
    assert t - e(tz, *at) < 2 * 3600


def test_daily_evaluation_is_local_midnight_even_when_midnight_does_not_exist():
    c = LocalClock("America/Santiago")  # clocks jump from 00:00 to 01:00 on 2026-09-06
    d = c.next_daily(e("America/Santiago", 2026, 9, 5, 15, 0))
    assert local("America/Santiago", d) == "2026-09-06 01:00"
    k = LocalClock("Asia/Kolkata")
    assert local("Asia/Kolkata", k.next_daily(e("Asia/Kolkata", 2026, 3, 10, 0, 0))) == "2026-03-11 00:00"


def test_dnd_period_end_wraps_midnight_and_chains_touching_ranges():
    c = LocalClock("Asia/Kolkata")
    night = [DayRange(start=dt.time(22), end=dt.time(8))]
    t = e("Asia/Kolkata", 2026, 3, 10, 23, 15)
    assert c.in_ranges(t, night) and local("Asia/Kolkata", c.range_end(t, night)) == "2026-03-11 08:00"
    t = e("Asia/Kolkata", 2026, 3, 11, 6, 0)
    assert local("Asia/Kolkata", c.range_end(t, night)) == "2026-03-11 08:00"
    chained = [*night, DayRange(days=["wed"], start=dt.time(8), end=dt.time(9, 30))]
    assert local("Asia/Kolkata", c.range_end(t, chained)) == "2026-03-11 09:30"  # 2026-03-11 is a Wednesday
    assert not c.in_ranges(e("Asia/Kolkata", 2026, 3, 11, 8, 0), night)  # half-open


def test_recurring_schedules_monthly_weekly_and_bounds():
    c = LocalClock("Asia/Kolkata")
    monthly = Recurring(every="month", day_of_month=31, time=dt.time(10))
    t = e("Asia/Kolkata", 2026, 2, 1, 0, 0)
    assert local("Asia/Kolkata", c.next_run(monthly, t, None)) == "2026-02-28 10:00"  # last day of February
    weekly = Recurring(every="week", weekdays=["mon", "thu"], time=dt.time(9), end=dt.date(2026, 3, 12))
    t = e("Asia/Kolkata", 2026, 3, 10, 12, 0)
    assert local("Asia/Kolkata", c.next_run(weekly, t, None)) == "2026-03-12 09:00"
    assert c.next_run(weekly, e("Asia/Kolkata", 2026, 3, 12, 9, 1), None) is None
    # no schedule: every 24 hours at the journey's start
    anchor = e("Asia/Kolkata", 2026, 3, 1, 7, 0)
    assert local("Asia/Kolkata", c.next_run(None, anchor + 1, anchor)) == "2026-03-02 07:00"
