"""Clocks the runtime fires timers on: the wall clock in production, a controllable one for replays."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

__all__ = ["WallClock", "ReplayClock", "epoch_of"]


def epoch_of(t: Any) -> int:
    """Integer epoch seconds of an aware datetime, an ISO 8601 string with an offset, or a number.

    Parameters
    ----------
    t : datetime.datetime, str, int or float
        The instant.

    Returns
    -------
    int
        Seconds since 1970-01-01 UTC.

    Raises
    ------
    journeylab.runtime.InputError
        When it is naive or not an instant.

    Examples
    --------
    >>> epoch_of("2026-10-01T00:00Z"), epoch_of(60.7)
    (1790812800, 60)
    """
    if isinstance(t, bool):
        raise TypeError("a boolean is not an instant")
    if isinstance(t, int):
        return t
    if isinstance(t, float):
        return int(t // 1)
    if isinstance(t, str):
        t = dt.datetime.fromisoformat(t.replace("Z", "+00:00") if t.endswith("Z") else t)
    if isinstance(t, dt.datetime):
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError(f"naive datetime {t!r}: give a timezone-aware instant")
        return int(t.timestamp() // 1)
    ts = getattr(t, "timestamp", None)  # pandas.Timestamp
    if callable(ts) and getattr(t, "tzinfo", None) is not None:
        return int(ts() // 1)
    raise TypeError(f"not an instant: {t!r}")


class WallClock:
    """Real time (UTC epoch seconds). ``advance_to`` cannot move it.

    Examples
    --------
    >>> WallClock().now() > 1_700_000_000
    True
    """

    replay = False

    def now(self) -> int:
        return int(time.time())

    def now_exact(self) -> float:
        return time.time()

    def advance_to(self, t: int) -> None:
        if t > self.now():
            raise ValueError("the wall clock cannot be advanced: use ReplayClock for replays")

    def __repr__(self) -> str:
        return "WallClock()"


class ReplayClock:
    """A clock that moves only when told to (replays, tests, back-fills).

    It never goes back: ``advance_to`` an earlier instant does nothing. After a restart the
    runtime moves it to the last instant it had reached (stored in the database).

    Parameters
    ----------
    start : datetime-like or int, default 0
        Where it starts: an aware datetime, an ISO 8601 string or epoch seconds.

    Examples
    --------
    >>> c = ReplayClock("2026-10-01T00:00Z")
    >>> c.advance_to(c.now() + 60); c.advance_to(0); c.now()
    1790812860
    """

    replay = True

    def __init__(self, start: Any = 0) -> None:
        self._now = epoch_of(start)

    def now(self) -> int:
        return self._now

    def now_exact(self) -> float:
        return float(self._now)

    def advance_to(self, t: int) -> None:
        if t > self._now:
            self._now = int(t)

    def _rewind(self, t: int) -> None:
        """Put the clock back to ``t``: only for a unit of work that was rolled back."""
        self._now = int(t)

    def __repr__(self) -> str:
        return f"ReplayClock({self._now})"
