"""Local times of day across DST, through every driver (SPEC §1 "Local times across DST", §5).

A local time that does not exist on a day (spring forward) is read with the offset in force
before the change, so it moves forward by the gap; a local time that happens twice (fall back)
means its first occurrence (RFC 5545). DND ranges are read on the wall clock: a deferred send
goes out at the first instant outside every range (on a DST-gap day, the first existing instant
after the range). The days: New York springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT) and
falls back on 2026-11-01 (02:00 EDT -> 01:00 EST); Lord Howe springs forward by 30 minutes on
2026-10-04 (02:00 +10:30 -> 02:30 +11).

Every expected instant is written in UTC next to its local reading.
"""

from __future__ import annotations

import datetime as dt

import pytest
from test_engine_examples import run

from journeylab.engine import Event, to_epoch
from journeylab.model import (
    Action,
    DayRange,
    Delay,
    Dnd,
    EventCount,
    Journey,
    PastBehavior,
    Push,
    Recurring,
)

PUSH = {"push_token": "t"}
NY, LH = "America/New_York", "Australia/Lord_Howe"


def utc(*a: int) -> int:
    return to_epoch(dt.datetime(*a, tzinfo=dt.UTC))


# (zone, arrival, local time of day, the instant it means, what happens that day)
TIME_OF_DAY = [
    pytest.param(NY, utc(2026, 3, 8, 6, 0), dt.time(2, 30), utc(2026, 3, 8, 7, 30), id="ny-spring-02:30->03:30EDT"),
    pytest.param(
        NY, utc(2026, 11, 1, 5, 45), dt.time(1, 30), utc(2026, 11, 2, 6, 30), id="ny-fall-01:30-first-passed->11-02"
    ),
    pytest.param(NY, utc(2026, 11, 1, 5, 0), dt.time(1, 30), utc(2026, 11, 1, 5, 30), id="ny-fall-01:30->first-EDT"),
    pytest.param(
        LH, utc(2026, 10, 3, 14, 30), dt.time(2, 15), utc(2026, 10, 3, 15, 45), id="lh-spring-02:15->02:45+11"
    ),
]


def _go(zone: str) -> Journey:
    j = Journey("Local", id="local", timezone=zone)
    j.add(Action(id="s", event="Go"))
    return j


@pytest.mark.parametrize(("zone", "arrive", "at_time", "expect"), TIME_OF_DAY)
def test_delay_until_a_time_of_day_across_dst(zone, arrive, at_time, expect, driver):
    """Arrivals: New York 01:00 EST on 03-08; 01:45 EDT (first 01:45) and 01:00 EDT on 11-01;
    Lord Howe 01:00 +10:30 on 10-04."""
    j = _go(zone)
    j.then("s", "yes", Delay(id="d", at_time=at_time))
    j.then("d", "next", Push(id="p"))
    drv = run(driver, [j], [Event("u", arrive, "Go")], until=arrive + 3 * 86400, profiles={"u": PUSH})
    assert [r.ts for r in drv.trace if r.node == "d" and r.event == "left"] == [expect]
    assert [s.ts for s in drv.sends] == [expect]


@pytest.mark.parametrize(("zone", "arrive", "at_time", "expect"), TIME_OF_DAY)
def test_send_at_a_time_of_day_across_dst(zone, arrive, at_time, expect, driver):
    j = _go(zone)
    j.then("s", "yes", Push(id="p", send_at=at_time))
    drv = run(driver, [j], [Event("u", arrive, "Go")], until=arrive + 3 * 86400, profiles={"u": PUSH})
    assert [s.ts for s in drv.sends] == [expect]
    assert [(r.event, r.ts) for r in drv.trace if r.node == "p" and r.event in ("entered", "sent")] == [
        ("entered", arrive),
        ("sent", expect),
    ]


@pytest.mark.parametrize("zone", ["UTC", NY, LH])
def test_send_at_the_exact_instant_sends_now_and_a_delay_waits_a_day(zone, driver):
    """SPEC §5: a fixed send time is the first such time at or after arrival; a Delay until a
    time of day always lets time pass (the next such time strictly after arrival)."""
    from zoneinfo import ZoneInfo

    arrive = to_epoch(dt.datetime(2026, 3, 10, 9, 30, tzinfo=ZoneInfo(zone)))
    j = _go(zone)
    j.then("s", "yes", Push(id="p", send_at=dt.time(9, 30)))
    j.then("p", "next", Delay(id="d", at_time=dt.time(9, 30)))
    j.then("d", "next", Push(id="q"))
    drv = run(driver, [j], [Event("u", arrive, "Go")], until=arrive + 3 * 86400, profiles={"u": PUSH})
    assert [(s.node, s.ts) for s in drv.sends] == [("p", arrive), ("q", arrive + 86400)]


# (zone, DND range, arrival, when the deferred push goes out)
DND_CASES = [
    # 01:00 EST is inside [00:00, 02:30); wall times 02:00-02:59 do not exist that day, so the
    # first instant outside the range is 03:00 EDT
    pytest.param(NY, dt.time(0), dt.time(2, 30), utc(2026, 3, 8, 6, 0), utc(2026, 3, 8, 7, 0), id="ny-spring-gap"),
    # a range crossing midnight belongs to the day it starts: 22:00 on 03-07 to 02:30 on 03-08
    pytest.param(
        NY, dt.time(22), dt.time(2, 30), utc(2026, 3, 8, 4, 0), utc(2026, 3, 8, 7, 0), id="ny-spring-overnight"
    ),
    # 00:30 EDT on 11-01 inside [00:00, 01:30): out at the first 01:30 (EDT)
    pytest.param(NY, dt.time(0), dt.time(1, 30), utc(2026, 11, 1, 4, 30), utc(2026, 11, 1, 5, 30), id="ny-fall-first"),
    # 01:10 EST (the second 01:10) reads 01:10 on the wall: inside, out at 01:30 EST
    pytest.param(NY, dt.time(0), dt.time(1, 30), utc(2026, 11, 1, 6, 10), utc(2026, 11, 1, 6, 30), id="ny-fall-second"),
    # 01:30 +10:30 inside [01:00, 02:15); the wall jumps from 02:00 to 02:30 (+11)
    pytest.param(LH, dt.time(1), dt.time(2, 15), utc(2026, 10, 3, 15, 0), utc(2026, 10, 3, 15, 30), id="lh-spring-gap"),
    # [start, end): arriving at the end exactly sends at once
    pytest.param(
        NY, dt.time(0), dt.time(1, 30), utc(2026, 3, 10, 5, 30), utc(2026, 3, 10, 5, 30), id="ny-end-is-outside"
    ),
]


@pytest.mark.parametrize(("zone", "start", "end", "arrive", "expect"), DND_CASES)
def test_dnd_defers_to_the_first_instant_outside_the_range(zone, start, end, arrive, expect, driver):
    j = Journey("Quiet", id="quiet", timezone=zone, dnd=Dnd(ranges=[DayRange(start=start, end=end)]))
    j.add(Action(id="s", event="Go"))
    j.then("s", "yes", Push(id="p"))
    drv = run(driver, [j], [Event("u", arrive, "Go")], until=arrive + 2 * 86400, profiles={"u": PUSH})
    assert [s.ts for s in drv.sends] == [expect]
    deferred = [r.ts for r in drv.trace if r.node == "p" and r.event == "deferred"]
    assert deferred == ([] if expect == arrive else [arrive])


# (zone, schedule time, first day, the runs' instants over three days)
SCHEDULES = [
    pytest.param(
        NY,
        dt.time(2, 30),
        dt.date(2026, 3, 7),
        [utc(2026, 3, 7, 7, 30), utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30)],
        id="ny-spring",
    ),
    pytest.param(
        NY,
        dt.time(1, 30),
        dt.date(2026, 10, 31),
        [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)],
        id="ny-fall",
    ),
    pytest.param(
        LH,
        dt.time(2, 15),
        dt.date(2026, 10, 3),
        [utc(2026, 10, 2, 15, 45), utc(2026, 10, 3, 15, 45), utc(2026, 10, 4, 15, 15)],
        id="lh-spring",
    ),
]


@pytest.mark.parametrize(("zone", "at_time", "day", "runs"), SCHEDULES)
def test_daily_schedule_across_dst(zone, at_time, day, runs, driver):
    """A daily schedule at a local time: on the gap day it runs the gap later (New York 03:30 EDT,
    Lord Howe 02:45 +11), on the fall-back day at the first occurrence."""
    from zoneinfo import ZoneInfo

    first = to_epoch(dt.datetime.combine(day, dt.time(0), tzinfo=ZoneInfo(zone)))
    j = Journey(
        "Daily",
        id="daily",
        timezone=zone,
        reentry=True,
        schedule=Recurring(every="day", time=at_time, start=day, end=day + dt.timedelta(days=2)),
    )
    j.add(PastBehavior(id="seen", did=[EventCount(event="Seen")], days=30))
    j.then("seen", "yes", Push(id="p"))
    drv = run(
        driver,
        [j],
        [Event("u", first - 86400, "Seen")],
        until=first + 4 * 86400,
        profiles={"u": PUSH},
        start=first - 3600,
        created=first - 2 * 86400,
    )
    assert [r.ts for r in drv.trace if r.detail == "entry"] == runs
    assert [s.ts for s in drv.sends] == runs
