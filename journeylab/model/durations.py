"""Durations as people write them, and as the journey JSON stores them.

:func:`parse_duration` reads a small, tested grammar::

    duration := [+|-] ( iso | clock | parts )
    iso      := ISO 8601 duration with D, H, M, S units ("PT30M", "P1DT2H", "PT1.5H")
    clock    := H:MM[:SS]                      ("01:30")
    parts    := part ( [","] ["and"] part )*   ("1h30m", "1 day, 2 hours", "2 days and 3 hours")
    part     := number [" "] unit              (number: 90, 1.5)
    unit     := weeks | week | wks | wk | w | days | day | d | hours | hour | hrs | hr | h
              | minutes | minute | mins | min | m | seconds | second | secs | sec | s

Units match whole words (longest first), so "30 minutes" is 30 minutes, never "30 m" plus
left-over text. :func:`iso_duration` writes the shortest ISO 8601 form (``PT30M``, ``P1DT2H``),
which is what the journey JSON holds.

>>> [parse_duration(x) for x in ("30 minutes", "1 day", "2h30m", "PT30M", "90 min", "1 week")]
... # doctest: +NORMALIZE_WHITESPACE
[datetime.timedelta(seconds=1800), datetime.timedelta(days=1), datetime.timedelta(seconds=9000),
 datetime.timedelta(seconds=1800), datetime.timedelta(seconds=5400), datetime.timedelta(days=7)]
>>> iso_duration(parse_duration("90 minutes")), iso_duration(dt.timedelta(days=1, hours=2)), iso_duration(None)
('PT1H30M', 'P1DT2H', None)
"""

from __future__ import annotations

import datetime as dt
import re

import msgspec

__all__ = ["parse_duration", "iso_duration", "UNITS"]

#: seconds per unit word
UNITS: dict[str, int] = {
    **dict.fromkeys(("weeks", "week", "wks", "wk", "w"), 604800),
    **dict.fromkeys(("days", "day", "d"), 86400),
    **dict.fromkeys(("hours", "hour", "hrs", "hr", "h"), 3600),
    **dict.fromkeys(("minutes", "minute", "mins", "min", "m"), 60),
    **dict.fromkeys(("seconds", "second", "secs", "sec", "s"), 1),
}
_UNIT_RE = "|".join(sorted(UNITS, key=len, reverse=True))
_PART = re.compile(rf"\s*(?:,\s*)?(?:and\s+)?(?P<n>\d+(?:\.\d+)?)\s*(?P<u>{_UNIT_RE})(?![a-z])", re.I)
_CLOCK = re.compile(r"(\d+):(\d{2})(?::(\d{2}))?")


def parse_duration(text: str | None) -> dt.timedelta | None:
    """A duration from text (see the grammar above); empty text is ``None``.

    >>> parse_duration("-2h"), parse_duration("01:30"), parse_duration("")
    (datetime.timedelta(days=-1, seconds=79200), datetime.timedelta(seconds=5400), None)
    >>> parse_duration("soon")
    Traceback (most recent call last):
    ...
    ValueError: 'soon' is not a duration; write e.g. 30m, 1h30m, 2 days, 90 minutes or PT30M
    """
    s = str(text or "").strip()
    if not s:
        return None
    sign = 1
    if s[0] in "+-":
        sign, s = (-1 if s[0] == "-" else 1), s[1:].strip()
    if s[:1].upper() == "P":
        try:
            return sign * msgspec.convert(s.upper(), dt.timedelta)
        except msgspec.ValidationError:
            raise ValueError(f"{text!r} is not an ISO 8601 duration (units D, H, M, S; e.g. PT30M)") from None
    m = _CLOCK.fullmatch(s)
    if m:
        h, mi, sec = (int(g or 0) for g in m.groups())
        return sign * dt.timedelta(hours=h, minutes=mi, seconds=sec)
    pos, total = 0, 0.0
    while pos < len(s):
        p = _PART.match(s, pos)
        if p is None:
            break
        total += float(p.group("n")) * UNITS[p.group("u").lower()]
        pos = p.end()
    if pos == 0 or s[pos:].strip():
        raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 1h30m, 2 days, 90 minutes or PT30M")
    return sign * dt.timedelta(seconds=round(total, 6))


def iso_duration(td: dt.timedelta | None) -> str | None:
    """The shortest ISO 8601 text of a duration (days of 24 hours, as the journey JSON reads them).

    >>> iso_duration(dt.timedelta(minutes=30)), iso_duration(dt.timedelta(0)), iso_duration(-dt.timedelta(hours=2))
    ('PT30M', 'PT0S', '-PT2H')
    >>> iso_duration(dt.timedelta(seconds=90.5))
    'PT1M30.5S'
    """
    if td is None:
        return None
    us = td // dt.timedelta(microseconds=1)
    sign = "-" if us < 0 else ""
    us = abs(us)
    days, us = divmod(us, 86400 * 10**6)
    hours, us = divmod(us, 3600 * 10**6)
    minutes, us = divmod(us, 60 * 10**6)
    secs = f"{us // 10**6}" + (f".{us % 10**6:06d}".rstrip("0") if us % 10**6 else "")
    date = f"{days}D" if days else ""
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M")) if v) + (f"{secs}S" if us else "")
    if not date and not time:
        return "PT0S"
    return f"{sign}P{date}" + (f"T{time}" if time else "")
