"""Small value types shared by nodes, goals and settings: filters, weekday ranges, positions.

Every type is a frozen ``msgspec.Struct`` so it is immutable, hashable where possible and
round-trips through JSON without loss.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable
from typing import Any, Literal

import msgspec

__all__ = [
    "Weekday",
    "WEEKDAYS",
    "FilterOp",
    "PropertyFilter",
    "EventMatch",
    "EventCount",
    "DayRange",
    "Position",
    "UrlMatch",
    "match_text",
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

FilterOp = Literal["=", "!=", ">", "<", ">=", "<=", "contains", "in", "exists"]
UrlMatch = Literal["exact", "prefix", "contains", "regex"]


# the comparing ops of a PropertyFilter (operator.eq(a, b) is ``a == b``...)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    ">=": operator.ge,
    "<=": operator.le,
}


class _Base(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    pass


class PropertyFilter(_Base, frozen=True, kw_only=True):
    """A condition on one property of an event or of a user profile.

    Parameters
    ----------
    property : str
        The property's name.
    op : {"=", "!=", ">", "<", ">=", "<=", "contains", "in", "exists"}, default "="
        How the property is compared with ``value``.
    value : object, default None
        What it is compared with (``in``: a list).

    Examples
    --------
    >>> f = PropertyFilter(property="item", op="=", value="Red Nike Shoes")
    >>> f.test({"item": "Red Nike Shoes"}), f.test({"item": "Blue"}), f.test({})
    (True, False, False)
    >>> PropertyFilter(property="ride_count", op=">=", value=10).test({"ride_count": 10})
    True
    """

    property: str
    op: FilterOp = "="
    value: Any = None

    def test(self, props: dict[str, Any]) -> bool:
        """True when ``props`` satisfies this filter (a missing property never does, except ``!=``)."""
        op = self.op
        if op == "exists":
            return props.get(self.property) is not None
        if self.property not in props or props[self.property] is None:
            return op == "!="
        have = props[self.property]
        want = self.value
        try:
            if op in _COMPARE:
                return _COMPARE[op](have, want)
            if op == "contains":
                if isinstance(have, str):
                    return str(want) in have
                return want in have
            if op == "in":
                return have in want
        except TypeError:
            return False
        return False  # pragma: no cover - Literal exhausts the ops


class EventMatch(_Base, frozen=True, kw_only=True):
    """An event name with optional property filters.

    Parameters
    ----------
    event : str
        The event's name.
    filters : list of PropertyFilter, default []
        Conditions on its properties, all of which must hold.

    Examples
    --------
    >>> EventMatch(event="Charged", filters=[PropertyFilter(property="amount", op=">", value=50)]).event
    'Charged'
    """

    event: str
    filters: list[PropertyFilter] = []

    def test(self, name: str, props: dict[str, Any]) -> bool:
        return name == self.event and all(f.test(props) for f in self.filters)


class EventCount(_Base, frozen=True, kw_only=True):
    """``did <event> at least <at_least> times`` (with optional property filters).

    Parameters
    ----------
    event : str
        The event's name.
    at_least : int, default 1
        How many times.
    filters : list of PropertyFilter, default []
        Conditions on its properties: only matching events count.

    Examples
    --------
    >>> EventCount(event="Charged", at_least=3).at_least
    3
    """

    event: str
    at_least: int = 1
    filters: list[PropertyFilter] = []

    def test(self, name: str, props: dict[str, Any]) -> bool:
        return name == self.event and all(f.test(props) for f in self.filters)


class DayRange(_Base, frozen=True, kw_only=True):
    """A local time range on some weekdays: ``[start, end)``.

    When ``end <= start`` the range runs past midnight into the next day (22:00-08:00).
    The range *starts* on each of ``days``.

    Parameters
    ----------
    days : list of str, default every day
        The weekdays it starts on (``"mon"`` ... ``"sun"``).
    start : datetime.time
        Its local start.
    end : datetime.time
        Its local end (not included).

    Examples
    --------
    >>> import datetime as dt
    >>> DayRange(start=dt.time(22), end=dt.time(8)).days
    ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
    """

    days: list[Weekday] = msgspec.field(default_factory=lambda: list(WEEKDAYS))
    start: dt.time
    end: dt.time

    def contains(self, local: dt.datetime) -> bool:
        """True when the account-local instant ``local`` lies in this range."""
        t = local.time().replace(tzinfo=None)
        wd = WEEKDAYS[local.weekday()]
        if self.start < self.end:
            return wd in self.days and self.start <= t < self.end
        # wraps midnight: the evening part belongs to today, the morning part to yesterday
        if wd in self.days and t >= self.start:
            return True
        yesterday = WEEKDAYS[(local.weekday() - 1) % 7]
        return yesterday in self.days and t < self.end


class Position(_Base, frozen=True, kw_only=True):
    """Where a node sits on the canvas (pixels); optional, travels in the JSON.

    Parameters
    ----------
    x : float
        From the left.
    y : float
        From the top.

    Examples
    --------
    >>> Position(x=120, y=40)
    Position(x=120, y=40)
    """

    x: float
    y: float


def match_text(value: Any, pattern: str, mode: str) -> bool:
    r"""Match a URL or referrer ``value`` against ``pattern`` by ``mode``.

    Parameters
    ----------
    value : object
        The value (a missing one, None, never matches).
    pattern : str
        The URL or text to match.
    mode : {"exact", "prefix", "contains", "regex"}
        How to match.

    Returns
    -------
    bool
        Whether it matches.

    Examples
    --------
    >>> match_text("https://shop.example/cart?x=1", "https://shop.example/cart", "prefix")
    True
    >>> match_text("https://t.co/abc", r"t\.co", "regex")
    True
    """
    if not isinstance(value, str):
        return False
    if mode == "exact":
        return value == pattern
    if mode == "prefix":
        return value.startswith(pattern)
    if mode == "contains":
        return pattern in value
    if mode == "regex":
        return _compiled(pattern).search(value) is not None
    return False


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    rx = _REGEX_CACHE.get(pattern)
    if rx is None:
        rx = _REGEX_CACHE[pattern] = re.compile(pattern)
    return rx
