"""Form controls for node settings and journey settings, built from the model's types.

Every field of a node kind (a ``msgspec.Struct``) gets an editor chosen by its type: text,
numbers, check boxes, drop-downs for fixed choices, durations written as ``15m``, ``1h30m``,
``2d`` (or ISO ``PT15M``), times of day as ``HH:MM``, and a few one-item-per-line text
areas whose syntax an analyst can read::

    filters      item = Red Nike Shoes        amount >= 100        tags in ["a", "b"]
    content      title: Forgot something?     body: Your cart misses you
    branches     A: 50                        B: 50
    did          Video Watched >= 2
    did_not      Subscription Paid
    day ranges   mon,tue,wed,thu,fri 22:00-08:00      all 23:00-07:00
    limits       3 per day                    1 per week push

The parsers raise :class:`ValueError` with a message naming the field and the bad line;
the builder shows it instead of a traceback.

>>> parse_duration("1h30m"), parse_duration("PT15M"), parse_duration("")
(datetime.timedelta(seconds=5400), datetime.timedelta(seconds=900), None)
>>> parse_filters("item = Red Nike Shoes\\namount >= 100")
[PropertyFilter(property='item', op='=', value='Red Nike Shoes'), PropertyFilter(property='amount', op='>=', value=100)]
>>> format_filters(parse_filters('tags in ["a", "b"]'))
'tags in ["a", "b"]'
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

import ipywidgets as W
import msgspec
import msgspec.inspect as mi

from journeylab.layout import fmt_duration
from journeylab.model.conditions import WEEKDAYS, DayRange, EventCount, EventMatch, PropertyFilter
from journeylab.model.durations import iso_duration, parse_duration
from journeylab.model.nodes import DND_CHANNELS, SplitBranch
from journeylab.model.settings import Dates, Dnd, Limit, OneTime, Recurring, Settings

__all__ = [
    "parse_duration",
    "iso_duration",
    "parse_time",
    "parse_datetime",
    "parse_value",
    "format_value",
    "parse_filters",
    "format_filters",
    "parse_lines_kv",
    "Editor",
    "StructForm",
    "SettingsForm",
]

_STYLE = {"description_width": "120px"}


def _full() -> W.Layout:
    """A fresh layout per control (a shared Layout would hide all of them at once)."""
    return W.Layout(width="98%")


# ----------------------------------------------------------------------------- parsers


def parse_time(text: str) -> dt.time | None:
    """A local time of day ``HH:MM`` (or ``HH:MM:SS``); empty text is ``None``."""
    s = str(text).strip()
    if not s:
        return None
    try:
        return dt.time.fromisoformat(s if len(s) > 2 else f"{int(s):02d}:00")
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day; write HH:MM, e.g. 09:30") from None


def parse_datetime(text: str, tz: str = "UTC") -> dt.datetime | None:
    """An instant from ISO text; without an offset it is read in the timezone ``tz``."""
    s = str(text).strip()
    if not s:
        return None
    try:
        v = dt.datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time; write e.g. 2025-03-01 10:00") from None
    if v.tzinfo is None:
        try:
            v = v.replace(tzinfo=zoneinfo.ZoneInfo(tz))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            v = v.replace(tzinfo=dt.UTC)
    return v


def parse_date(text: str) -> dt.date | None:
    s = str(text).strip()
    if not s:
        return None
    try:
        return dt.date.fromisoformat(s)
    except ValueError:
        raise ValueError(f"{text!r} is not a date; write YYYY-MM-DD") from None


def parse_value(text: str) -> Any:
    """A property value: JSON when it parses (numbers, true/false, lists, "quoted"), else text.

    >>> parse_value("10"), parse_value("Platinum"), parse_value('["a", "b"]'), parse_value("")
    (10, 'Platinum', ['a', 'b'], None)
    """
    s = str(text).strip()
    if not s:
        return None
    try:
        return json.loads(s)
    except ValueError:
        return s


def format_value(v: Any) -> str:
    """The text :func:`parse_value` reads back as ``v``."""
    if v is None:
        return ""
    if isinstance(v, str):
        try:
            json.loads(v)
        except ValueError:
            return v
        return json.dumps(v)
    return json.dumps(v, default=str)


def _lines(text: str) -> list[str]:
    return [ln.strip() for ln in str(text).splitlines() if ln.strip() and not ln.strip().startswith("#")]


_FILTER = re.compile(r"^(?P<prop>.+?)\s+(?P<op>>=|<=|!=|=|>|<|contains|in|exists)(?:\s+(?P<val>.*))?$")


def parse_filters(text: str) -> list[PropertyFilter]:
    """One filter a line: ``property op value`` with op one of = != > < >= <= contains in exists."""
    out = []
    for ln in _lines(text):
        m = _FILTER.match(ln)
        if not m:
            raise ValueError(f"{ln!r} is not a filter; write 'property op value', e.g. 'amount >= 100'")
        op, raw = m.group("op"), m.group("val") or ""
        value = parse_value(raw)
        if op == "in" and not isinstance(value, list):
            value = [parse_value(x) for x in raw.split(",") if x.strip()]
        if op == "exists":
            value = None
        out.append(PropertyFilter(property=m.group("prop").strip(), op=op, value=value))  # type: ignore[arg-type]
    return out


def format_filters(filters: list[PropertyFilter]) -> str:
    return "\n".join(f"{f.property} {f.op} {format_value(f.value)}".rstrip() for f in filters)


def parse_lines_kv(text: str) -> dict[str, str]:
    """``key: value`` lines (message content)."""
    out: dict[str, str] = {}
    for ln in _lines(text):
        if ":" not in ln:
            raise ValueError(f"{ln!r}: write 'key: value', e.g. 'title: Forgot something?'")
        k, v = ln.split(":", 1)
        out[k.strip()] = v.strip()
    return out


def _parse_branches(text: str) -> list[SplitBranch]:
    out = []
    for ln in _lines(text):
        m = re.fullmatch(r"(?P<name>.+?)\s*[:=]\s*(?P<pct>-?\d+(?:\.\d+)?)\s*%?", ln)
        if not m:
            raise ValueError(f"{ln!r}: write one branch a line as 'name: percent', e.g. 'A: 50'")
        out.append(SplitBranch(name=m.group("name").strip(), percent=float(m.group("pct"))))
    return out


def _format_branches(bs: list[SplitBranch]) -> str:
    return "\n".join(f"{b.name}: {b.percent:g}" for b in bs)


def _parse_counts(text: str) -> list[EventCount]:
    out = []
    for ln in _lines(text):
        m = re.fullmatch(r"(?P<ev>.+?)(?:\s*>=\s*(?P<k>\d+))?", ln)
        assert m is not None
        out.append(EventCount(event=m.group("ev").strip(), at_least=int(m.group("k") or 1)))
    return out


def _format_counts(cs: list[EventCount]) -> str:
    return "\n".join(f"{c.event} >= {c.at_least}" for c in cs)


def _parse_matches(text: str) -> list[EventMatch]:
    return [EventMatch(event=ln) for ln in _lines(text)]


_RANGE = re.compile(r"^(?P<days>[a-z, ]+?)\s+(?P<a>\d{1,2}:\d{2})\s*-\s*(?P<b>\d{1,2}:\d{2})$", re.I)


def parse_day_ranges(text: str) -> list[DayRange]:
    """``days HH:MM-HH:MM`` lines; days are ``mon,tue,...`` or ``all``/``weekdays``/``weekend``."""
    out = []
    for ln in _lines(text):
        m = _RANGE.match(ln)
        if not m:
            raise ValueError(f"{ln!r}: write 'days HH:MM-HH:MM', e.g. 'all 22:00-08:00' or 'mon,tue 09:00-18:00'")
        raw = m.group("days").lower().replace(" ", "")
        days = {
            "all": list(WEEKDAYS),
            "daily": list(WEEKDAYS),
            "weekdays": list(WEEKDAYS[:5]),
            "weekend": list(WEEKDAYS[5:]),
        }.get(raw) or raw.split(",")
        bad = [d for d in days if d not in WEEKDAYS]
        if bad:
            raise ValueError(f"{ln!r}: unknown day {bad[0]!r}; use {', '.join(WEEKDAYS)}")
        out.append(DayRange(days=days, start=parse_time(m.group("a")), end=parse_time(m.group("b"))))  # type: ignore[arg-type]
    return out


def format_day_ranges(rs: list[DayRange] | None) -> str:
    lines = []
    for r in rs or []:
        days = "all" if list(r.days) == list(WEEKDAYS) else ",".join(r.days)
        lines.append(f"{days} {r.start.strftime('%H:%M')}-{r.end.strftime('%H:%M')}")
    return "\n".join(lines)


def _parse_limits(text: str) -> list[Limit]:
    out = []
    for ln in _lines(text):
        m = re.fullmatch(r"(?P<max>\d+)\s+per\s+(?P<per>day|week|journey)(?:\s+(?P<ch>\w+))?", ln.strip(), re.I)
        if not m:
            raise ValueError(f"{ln!r}: write 'N per day|week|journey [channel]', e.g. '3 per day' or '1 per week push'")
        out.append(Limit(max=int(m.group("max")), per=m.group("per").lower(), channel=m.group("ch")))  # type: ignore[arg-type]
    return out


def _format_limits(ls: list[Limit]) -> str:
    return "\n".join(f"{x.max} per {x.per}" + (f" {x.channel}" if x.channel else "") for x in ls)


# ----------------------------------------------------------------------------- editors


class Editor:
    """One field's control: ``widget`` (what is displayed), ``get()`` and ``set(value)``."""

    def __init__(
        self,
        name: str,
        widget: W.Widget,
        get: Callable[[], Any],
        set: Callable[[Any], None],
        control: W.Widget | None = None,
    ) -> None:
        self.name = name
        self.widget = widget
        self.control = control if control is not None else widget
        self._get = get
        self._set = set

    def get(self) -> Any:
        try:
            return self._get()
        except ValueError as e:
            raise ValueError(f"{self.name}: {e}") from None

    def set(self, value: Any) -> None:
        self._set(value)


def _text_editor(
    name: str, parse: Callable[[str], Any], fmt: Callable[[Any], str], *, area: bool = False, placeholder: str = ""
) -> Editor:
    cls = W.Textarea if area else W.Text
    kw: dict[str, Any] = {"rows": 4} if area else {}
    w = cls(description=name, style=_STYLE, layout=_full(), placeholder=placeholder, **kw)
    return Editor(name, w, lambda: parse(w.value), lambda v: setattr(w, "value", fmt(v)))


def _unwrap(t: Any) -> tuple[Any, bool]:
    if isinstance(t, mi.UnionType):
        inner = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(inner) == 1:
            return inner[0], len(inner) != len(t.types)
    return t, False


def _optional(parse: Callable[[str], Any], optional: bool, default: Any = None) -> Callable[[str], Any]:
    def p(text: str) -> Any:
        v = parse(text)
        if v is None and not optional:
            if default is not None:
                return default
            raise ValueError("a value is required")
        return v

    return p


def editor_for(name: str, typ: Any, *, default: Any = None, tz: str = "UTC") -> Editor | None:
    """The editor of one struct field of msgspec type ``typ`` (``None``: not editable here)."""
    t, optional = _unwrap(typ)
    if name in ("id", "position"):
        return None
    if isinstance(t, mi.StrType):
        if optional:
            return _text_editor(name, lambda s: s.strip() or None, lambda v: v or "")
        w = W.Text(description=name, style=_STYLE, layout=_full())
        return Editor(name, w, lambda: w.value.strip(), lambda v: setattr(w, "value", v or ""))
    if isinstance(t, mi.BoolType):
        w = W.Checkbox(description=name, style=_STYLE, indent=False)
        return Editor(name, w, lambda: bool(w.value), lambda v: setattr(w, "value", bool(v)))
    if isinstance(t, mi.IntType):
        if optional:
            return _text_editor(name, lambda s: int(s) if s.strip() else None, lambda v: "" if v is None else str(v))
        w = W.IntText(description=name, style=_STYLE, layout=_full())
        return Editor(name, w, lambda: int(w.value), lambda v: setattr(w, "value", int(v or 0)))
    if isinstance(t, mi.FloatType):
        w = W.FloatText(description=name, style=_STYLE, layout=_full())
        return Editor(name, w, lambda: float(w.value), lambda v: setattr(w, "value", float(v or 0)))
    if isinstance(t, mi.TimeDeltaType):
        return _text_editor(
            name,
            _optional(parse_duration, optional, default),
            fmt_duration,
            placeholder="e.g. 30m, 1h30m, 2 days, PT30M",
        )
    if isinstance(t, mi.TimeType):
        return _text_editor(
            name,
            _optional(parse_time, optional, default),
            lambda v: "" if v is None else v.strftime("%H:%M"),
            placeholder="HH:MM",
        )
    if isinstance(t, mi.DateTimeType):
        return _text_editor(
            name,
            _optional(lambda s: parse_datetime(s, tz), optional),
            lambda v: "" if v is None else v.isoformat(sep=" "),
            placeholder="YYYY-MM-DD HH:MM",
        )
    if isinstance(t, mi.DateType):
        return _text_editor(
            name,
            _optional(parse_date, optional),
            lambda v: "" if v is None else v.isoformat(),
            placeholder="YYYY-MM-DD",
        )
    if isinstance(t, mi.LiteralType):
        values = list(t.values)
        w = W.Dropdown(options=values, description=name, style=_STYLE, layout=_full())
        return Editor(name, w, lambda: w.value, lambda v: setattr(w, "value", v if v in values else values[0]))
    if isinstance(t, mi.AnyType):
        return _text_editor(name, parse_value, format_value, placeholder="text, number, true/false or JSON")
    if isinstance(t, mi.DictType):
        return _text_editor(
            name,
            parse_lines_kv,
            lambda v: "\n".join(f"{k}: {x}" for k, x in (v or {}).items()),
            area=True,
            placeholder="title: ...\nbody: ...",
        )
    if isinstance(t, mi.ListType):
        item = t.item_type
        if isinstance(item, mi.LiteralType) and set(item.values) <= set(WEEKDAYS):
            w = W.SelectMultiple(
                options=list(WEEKDAYS), description=name, style=_STYLE, rows=7, layout=W.Layout(width="98%")
            )
            return Editor(name, w, lambda: list(w.value), lambda v: setattr(w, "value", tuple(v or ())))
        if isinstance(item, mi.StrType):
            return _text_editor(
                name,
                lambda s: [x.strip() for x in re.split(r"[,\n]", s) if x.strip()],
                lambda v: ", ".join(v or []),
                area=name == "users",
                placeholder="comma separated",
            )
        if isinstance(item, mi.StructType):
            table: dict[type, tuple[Callable[[str], Any], Callable[[Any], str], str]] = {
                PropertyFilter: (parse_filters, format_filters, "property op value, e.g. amount >= 100"),
                EventCount: (_parse_counts, _format_counts, "Event name >= times"),
                EventMatch: (_parse_matches, lambda v: "\n".join(e.event for e in v), "Event name, one a line"),
                SplitBranch: (_parse_branches, _format_branches, "A: 50\nB: 50"),
                DayRange: (parse_day_ranges, format_day_ranges, "mon,tue 09:00-21:00  or  all 09:00-21:00"),
                Limit: (_parse_limits, _format_limits, "3 per day  or  1 per week push"),
            }
            if item.cls in table:
                parse, fmt, ph = table[item.cls]
                if optional:
                    return _text_editor(
                        name,
                        lambda s: parse(s) if s.strip() else None,
                        lambda v: fmt(v or []),
                        area=True,
                        placeholder=ph,
                    )
                return _text_editor(name, parse, lambda v: fmt(v or []), area=True, placeholder=ph)
    # anything else: JSON
    target = typ

    def parse_json(s: str) -> Any:
        if not s.strip():
            return None
        try:
            return msgspec.convert(json.loads(s), target, strict=False)
        except (ValueError, msgspec.ValidationError) as e:
            raise ValueError(f"not valid: {e}") from None

    return _text_editor(
        name,
        parse_json,
        lambda v: "" if v is None else json.dumps(msgspec.to_builtins(v)),
        area=True,
        placeholder="JSON",
    )


class StructForm:
    """A form for every editable field of one struct instance (a node).

    ``editors`` maps field name to :class:`Editor`; ``changes()`` returns the fields whose
    value differs from the instance (raising :class:`ValueError` for unreadable input).
    """

    def __init__(self, obj: Any, *, tz: str = "UTC", skip: tuple[str, ...] = ()) -> None:
        self.obj = obj
        self.editors: dict[str, Editor] = {}
        info = mi.type_info(type(obj))
        for f in info.fields:  # type: ignore[attr-defined]
            if f.name in skip:
                continue
            default = None if f.default is msgspec.NODEFAULT else f.default
            ed = editor_for(f.name, f.type, default=default, tz=tz)
            if ed is None:
                continue
            ed.set(getattr(obj, f.name))
            self.editors[f.name] = ed
        self.widget = W.VBox([e.widget for e in self.editors.values()], layout=W.Layout(width="100%"))

    def changes(self) -> dict[str, Any]:
        out = {}
        for name, ed in self.editors.items():
            v = ed.get()
            if v != getattr(self.obj, name):
                out[name] = v
        return out


# ----------------------------------------------------------------------------- journey settings


class _ScheduleEditor:
    TYPES = [("no schedule", "none"), ("one time", "one_time"), ("several dates", "dates"), ("recurring", "recurring")]

    def __init__(self, tz: Callable[[], str]) -> None:
        self._tz = tz
        self.type = W.Dropdown(options=self.TYPES, value="none", description="schedule", style=_STYLE, layout=_full())
        self.at = W.Text(
            description="at", style=_STYLE, layout=_full(), placeholder="2025-03-01 10:00 (dates: comma separated)"
        )
        self.every = W.Dropdown(options=["day", "week", "month"], description="every", style=_STYLE, layout=_full())
        self.time = W.Text(value="00:00", description="time", style=_STYLE, layout=_full(), placeholder="HH:MM")
        self.weekdays = W.SelectMultiple(options=list(WEEKDAYS), description="weekdays", style=_STYLE, rows=7)
        self.day_of_month = W.Text(description="day of month", style=_STYLE, layout=_full())
        self.start = W.Text(description="from date", style=_STYLE, layout=_full(), placeholder="YYYY-MM-DD")
        self.end = W.Text(description="to date", style=_STYLE, layout=_full(), placeholder="YYYY-MM-DD")
        self._rec = W.VBox([self.every, self.time, self.weekdays, self.day_of_month, self.start, self.end])
        self.widget = W.VBox([self.type, self.at, self._rec])
        self.type.observe(lambda _: self._show(), "value")
        self._show()

    def _show(self) -> None:
        t = self.type.value
        self.at.layout.display = None if t in ("one_time", "dates") else "none"
        self._rec.layout.display = None if t == "recurring" else "none"

    def set(self, s: Any) -> None:
        if isinstance(s, OneTime):
            self.type.value, self.at.value = "one_time", s.at.isoformat(sep=" ")
        elif isinstance(s, Dates):
            self.type.value, self.at.value = "dates", ", ".join(a.isoformat(sep=" ") for a in s.at)
        elif isinstance(s, Recurring):
            self.type.value = "recurring"
            self.every.value = s.every
            self.time.value = s.time.strftime("%H:%M")
            self.weekdays.value = tuple(s.weekdays)
            self.day_of_month.value = "" if s.day_of_month is None else str(s.day_of_month)
            self.start.value = "" if s.start is None else s.start.isoformat()
            self.end.value = "" if s.end is None else s.end.isoformat()
        else:
            self.type.value = "none"
        self._show()

    def get(self) -> Any:
        t = self.type.value
        try:
            if t == "one_time":
                at = parse_datetime(self.at.value, self._tz())
                if at is None:
                    raise ValueError("give the date and time of the run")
                return OneTime(at=at)
            if t == "dates":
                ats = [parse_datetime(x, self._tz()) for x in self.at.value.split(",") if x.strip()]
                if not ats:
                    raise ValueError("give at least one date and time")
                return Dates(at=ats)  # type: ignore[arg-type]
            if t == "recurring":
                dom = self.day_of_month.value.strip()
                return Recurring(
                    every=self.every.value,
                    time=parse_time(self.time.value) or dt.time(0, 0),
                    weekdays=list(self.weekdays.value),
                    day_of_month=int(dom) if dom else None,
                    start=parse_date(self.start.value),
                    end=parse_date(self.end.value),
                )
        except ValueError as e:
            raise ValueError(f"schedule: {e}") from None
        return None


class _DndEditor:
    def __init__(self) -> None:
        self.on = W.Checkbox(description="Do Not Disturb", indent=False)
        self.ranges = W.Textarea(
            description="DND hours",
            style=_STYLE,
            layout=_full(),
            rows=3,
            placeholder="all 22:00-08:00\nsat,sun 20:00-10:00",
        )
        self.mode = W.Dropdown(
            options=[("defer to the end of DND", "defer"), ("discard", "discard")],
            value="defer",
            description="DND mode",
            style=_STYLE,
            layout=_full(),
        )
        self.channels = W.SelectMultiple(
            options=list(DND_CHANNELS), value=tuple(DND_CHANNELS), description="channels", style=_STYLE, rows=4
        )
        self._body = W.VBox([self.ranges, self.mode, self.channels])
        self.widget = W.VBox([self.on, self._body])
        self.on.observe(lambda _: self._show(), "value")
        self._show()

    def _show(self) -> None:
        self._body.layout.display = None if self.on.value else "none"

    def set(self, d: Dnd | None) -> None:
        self.on.value = d is not None
        if d is not None:
            self.ranges.value = format_day_ranges(d.ranges)
            self.mode.value = d.mode
            self.channels.value = tuple(c for c in d.channels if c in DND_CHANNELS)
        self._show()

    def get(self) -> Dnd | None:
        if not self.on.value:
            return None
        try:
            ranges = parse_day_ranges(self.ranges.value)
        except ValueError as e:
            raise ValueError(f"dnd: {e}") from None
        if not ranges:
            raise ValueError("dnd: give at least one range of DND hours, e.g. 'all 22:00-08:00'")
        return Dnd(ranges=ranges, mode=self.mode.value, channels=list(self.channels.value))


class SettingsForm:
    """The journey settings form: timezone, journey timeout, re-entry, hourly offset,
    start/end, schedule, DND, campaign limits and session gap."""

    def __init__(self, settings: Settings) -> None:
        self.obj = settings
        zones = sorted(zoneinfo.available_timezones())
        self.timezone = W.Combobox(
            options=zones,
            description="timezone",
            style=_STYLE,
            layout=_full(),
            ensure_option=False,
            placeholder="e.g. Asia/Kolkata",
        )
        self.editors: dict[str, Editor] = {
            "timezone": Editor(
                "timezone",
                self.timezone,
                lambda: self.timezone.value.strip() or "UTC",
                lambda v: setattr(self.timezone, "value", v or "UTC"),
            ),
        }
        info = mi.type_info(Settings)
        types = {f.name: f for f in info.fields}  # type: ignore[attr-defined]
        for name in ("journey_timeout", "reentry", "hourly_offset_minutes", "start", "end", "limits", "session_gap"):
            f = types[name]
            default = None if f.default is msgspec.NODEFAULT else f.default
            ed = editor_for(name, f.type, default=default, tz="UTC")
            assert ed is not None
            self.editors[name] = ed
        self.editors["reentry"].widget.description = "allow re-entry"
        self.schedule = _ScheduleEditor(lambda: self.timezone.value.strip() or "UTC")
        self.dnd = _DndEditor()
        self.set(settings)
        e = self.editors
        self.widget = W.VBox(
            [
                e["timezone"].widget,
                e["journey_timeout"].widget,
                e["reentry"].widget,
                e["hourly_offset_minutes"].widget,
                e["start"].widget,
                e["end"].widget,
                self.schedule.widget,
                self.dnd.widget,
                e["limits"].widget,
                e["session_gap"].widget,
            ]
        )

    def set(self, settings: Settings) -> None:
        self.obj = settings
        for name, ed in self.editors.items():
            ed.set(getattr(settings, name))
        self.schedule.set(settings.schedule)
        self.dnd.set(settings.dnd)

    def changes(self) -> dict[str, Any]:
        tz = self.timezone.value.strip() or "UTC"
        try:
            zoneinfo.ZoneInfo(tz)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"timezone: {tz!r} is not an IANA timezone name (e.g. Asia/Kolkata)") from None
        out: dict[str, Any] = {}
        for name, ed in self.editors.items():
            if name in ("start", "end"):
                v = ed.get() if not ed.control.value.strip() else parse_datetime(ed.control.value, tz)
            else:
                v = ed.get()
            if v != getattr(self.obj, name):
                out[name] = v
        for name, v in (("schedule", self.schedule.get()), ("dnd", self.dnd.get())):
            if v != getattr(self.obj, name):
                out[name] = v
        return out
