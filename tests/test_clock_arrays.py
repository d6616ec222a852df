"""The batched engine's clock gives, element by element, what the per-user clock gives."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from journeylab.engine.clock import ClockArrays, LocalClock
from journeylab.model import DayRange

ZONES = ["UTC", "Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "America/New_York", "Australia/Lord_Howe"]
DST_DAYS = [
    dt.datetime(2026, 3, 8, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    dt.datetime(2026, 4, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 10, 4, tzinfo=dt.UTC),
]


def instants(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.array([int(d.timestamp()) for d in DST_DAYS])
    t = base[rng.integers(0, len(base), 3000)] + rng.integers(-2 * 86400, 2 * 86400, 3000)
    t[::7] -= t[::7] % 60  # whole minutes
    t[::11] -= t[::11] % 3600  # whole hours
    return t


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("minute", [0, 7, 30, 59])
def test_arrays_equal_the_scalar_clock(tz, minute):
    c = LocalClock(tz, minute)
    a = ClockArrays(c)
    t = instants(minute)
    assert a.next_hourly(t).tolist() == [c.next_hourly(int(x)) for x in t]
    assert a.next_daily(t).tolist() == [c.next_daily(int(x)) for x in t]
    days = a.local_day(t)
    assert [dt.date(1970, 1, 1) + dt.timedelta(days=int(d)) for d in days] == [c.local_date(int(x)) for x in t]
    wk = a.week_key(t)
    scalar_wk = [c.week_key(int(x)) for x in t]
    assert all(
        (wk[i] == wk[j]) == (scalar_wk[i] == scalar_wk[j]) for i in range(0, 3000, 37) for j in range(0, 3000, 41)
    )
    for at, wds in [(dt.time(2, 30), ()), (dt.time(9, 0), ("mon", "fri")), (dt.time(1, 30), ("sun",))]:
        assert a.next_time_of_day(t, at, wds).tolist() == [c.next_time_of_day(int(x), at, wds) for x in t]
    ranges = [
        DayRange(start=dt.time(22), end=dt.time(2, 30)),
        DayRange(days=["sat", "sun"], start=dt.time(12), end=dt.time(14, 15, 30)),
    ]
    assert a.in_ranges(t, ranges).tolist() == [c.in_ranges(int(x), ranges) for x in t]
    inside = t[a.in_ranges(t, ranges)]
    assert a.range_end(inside, ranges).tolist() == [c.range_end(int(x), ranges) for x in inside]


@pytest.mark.parametrize(
    "tz", [*ZONES, "Africa/Casablanca", "Antarctica/Troll", "Pacific/Chatham", "Pacific/Apia", "Europe/London"]
)
def test_the_quarter_hour_offset_table_is_the_zones_offset_at_every_quarter(tz):
    """The table is read at whole hours and filled quarter by quarter only in the hours whose
    ends differ: on spans across 1970-2190 (every DST change, Lord Howe's half hour,
    Casablanca's Ramadan changes, Troll's two-hour one) and on spans shorter than an hour, each
    quarter holds the offset the zone has then."""
    clock = LocalClock(tz)
    q = 900
    rng = np.random.default_rng(sum(map(ord, tz)))
    spans = [
        (int(a), int(a) + int(n))
        for a, n in zip(rng.integers(0, 7_000_000_000 // q, 12), rng.integers(0, 96 * 400, 12), strict=True)
    ]
    spans += [(1000 + a, 1000 + a + n) for a in range(4) for n in range(9)]  # within and across one hour
    spans.append((504_921_600 // q - 200, 504_921_600 // q + 200))  # Kathmandu: +05:30 -> +05:45 in 1986
    changes = 0
    for a, b in spans:
        want = np.array([clock.offset(k * q) for k in range(a, b)], dtype=np.int64)
        got = clock.arrays._offsets_from(a, b)
        assert got.dtype == np.int64 and got.tolist() == want.tolist(), (a, b)
        changes += int((np.diff(want) != 0).sum())
    assert changes > 0 or tz in ("UTC", "Asia/Kolkata")
