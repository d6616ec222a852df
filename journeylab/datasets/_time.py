"""Time helpers of the generators: UTC periods, local clock times with DST, diurnal weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

NS = 1_000_000_000

# Relative activity per local hour 00..23 (shopping: late-evening peak, quiet nights)
SHOPPING_HOURS = np.array(
    [
        1.6,
        0.9,
        0.5,
        0.3,
        0.3,
        0.4,
        0.9,
        1.8,
        2.8,
        3.4,
        3.8,
        4.0,
        4.3,
        4.4,
        4.0,
        3.9,
        4.0,
        4.4,
        4.9,
        5.6,
        6.4,
        6.8,
        5.6,
        3.4,
    ]
)
# Ride-hailing: commute peaks on weekdays; late nights and afternoons at weekends
RIDES_WEEKDAY_HOURS = np.array(
    [
        0.8,
        0.5,
        0.3,
        0.2,
        0.3,
        0.8,
        2.5,
        5.5,
        7.0,
        4.5,
        2.8,
        2.6,
        3.0,
        2.8,
        2.6,
        3.0,
        4.2,
        6.0,
        6.5,
        4.8,
        3.6,
        3.0,
        2.2,
        1.4,
    ]
)
RIDES_WEEKEND_HOURS = np.array(
    [
        3.4,
        3.0,
        2.4,
        1.4,
        0.6,
        0.4,
        0.6,
        1.0,
        1.6,
        2.4,
        3.2,
        3.8,
        4.2,
        4.2,
        4.0,
        4.0,
        4.0,
        4.2,
        4.6,
        4.8,
        5.0,
        5.2,
        5.0,
        4.2,
    ]
)
# Streaming: evenings, a little lunch-time viewing, late-night binge
STREAMING_HOURS = np.array(
    [
        2.4,
        1.4,
        0.7,
        0.3,
        0.2,
        0.2,
        0.5,
        1.0,
        1.2,
        1.1,
        1.1,
        1.4,
        1.9,
        1.8,
        1.5,
        1.6,
        2.0,
        2.8,
        4.0,
        5.6,
        7.0,
        7.4,
        6.2,
        4.2,
    ]
)


def utc(value: str | pd.Timestamp) -> pd.Timestamp:
    """A tz-aware UTC timestamp; a naive value is read as UTC.

    >>> utc("2026-10-01")
    Timestamp('2026-10-01 00:00:00+0000', tz='UTC')
    """
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def local_days(start: pd.Timestamp, end: pd.Timestamp, tz: str) -> pd.DatetimeIndex:
    """Naive local midnights of every local calendar day that overlaps ``[start, end)``."""
    first = start.tz_convert(tz).normalize().tz_localize(None)
    last = (end - pd.Timedelta(1, "ns")).tz_convert(tz).normalize().tz_localize(None)
    return pd.date_range(first, last, freq="D")


def local_to_utc_seconds(naive_local_ns: np.ndarray, tz: str) -> np.ndarray:
    """UTC epoch seconds of naive local wall-clock times (nanoseconds) in ``tz``.

    Times in a DST gap move forward; times repeated when the clocks go back are read as the
    first (summer-time) occurrence.
    """
    idx = pd.DatetimeIndex(np.asarray(naive_local_ns, dtype="datetime64[ns]"))
    aware = idx.tz_localize(tz, ambiguous=np.ones(len(idx), dtype=bool), nonexistent="shift_forward")
    return aware.tz_convert("UTC").asi8 // NS


def local_day_index(days: pd.DatetimeIndex, utc_seconds: np.ndarray, tz: str) -> np.ndarray:
    """Index into ``days`` (naive local midnights) of the local day of each UTC instant (clipped)."""
    local = pd.DatetimeIndex(np.asarray(utc_seconds, dtype=np.int64) * NS, tz="UTC").tz_convert(tz).tz_localize(None)
    return np.clip(np.searchsorted(days.asi8, local.asi8, side="right") - 1, 0, len(days) - 1)


def not_before(rng: np.random.Generator, day: np.ndarray, earliest: np.ndarray, n_days: int) -> np.ndarray:
    """Day indexes moved, where they fall before ``earliest``, to a uniform day in ``[earliest, n_days)``."""
    early = day < earliest
    redraw = earliest + (rng.random(len(day)) * (n_days - earliest)).astype(np.int64)
    return np.where(early, np.minimum(redraw, n_days - 1), day)


def sample_local_times(
    rng: np.random.Generator,
    day_index: np.ndarray,
    days: pd.DatetimeIndex,
    tz: str,
    hour_weights: np.ndarray,
    weekend_hour_weights: np.ndarray | None = None,
) -> np.ndarray:
    """UTC epoch seconds of random instants on the given local days, hours drawn from the weights."""
    n = len(day_index)
    hours = rng.choice(24, size=n, p=hour_weights / hour_weights.sum())
    if weekend_hour_weights is not None:
        weekend = np.asarray(days.day_of_week >= 5)[day_index]
        hours_we = rng.choice(24, size=n, p=weekend_hour_weights / weekend_hour_weights.sum())
        hours = np.where(weekend, hours_we, hours)
    seconds = hours * 3600 + rng.integers(0, 3600, size=n)
    naive = days.asi8[day_index] + seconds.astype(np.int64) * NS
    return local_to_utc_seconds(naive, tz)


def day_weights(days: pd.DatetimeIndex, weekend: float = 1.0, boosts: dict[str, float] | None = None) -> np.ndarray:
    """Relative activity per local day: a weekend factor and multiplicative boosts on given dates."""
    w = np.where(days.day_of_week >= 5, weekend, 1.0).astype(float)
    for date, factor in (boosts or {}).items():
        w[days == pd.Timestamp(date)] *= factor
    return w / w.sum()
