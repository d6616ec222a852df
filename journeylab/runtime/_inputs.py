"""Inputs from the outside world (JSON lines, HTTP bodies, Python dicts) checked and turned
into engine inputs. Anything that cannot be applied raises :class:`InputError` with a JSON path.

One input is a JSON object. ``type`` (default ``"event"``) says which kind:

* event: ``{"user_id": "u1", "event": "Charged", "ts": "2026-10-01T09:00:00Z",
  "props": {"amount": 30}, "event_id": "e-123"}`` — ``props`` and ``event_id`` optional;
* feedback: ``{"type": "feedback", "message_id": "...", "kind": "viewed", "ts": ...,
  "user_id": "u1"}`` — ``user_id`` optional (taken from the outbox);
* profile: ``{"type": "profile", "user_id": "u1", "ts": ..., "props": {"tier": "gold"}}``.

``ts`` is an ISO 8601 instant *with* a UTC offset, or integer epoch seconds, between 1970 and
2200; a missing ``ts`` means "now" on the runtime's clock.

The shape of an input is checked by msgspec (typed structs; its errors carry the JSON path);
then values are checked for what both databases and the engine can hold: text is valid
Unicode (no lone surrogates) and identifiers hold no NUL, integers fit in 64 bits, numbers
are finite, nesting is at most 64 deep.

>>> parse_input({"user_id": "u1", "event": "Charged", "ts": "2026-10-01T09:00:00+05:30"})
Event(user_id='u1', ts=1790825400, name='Charged', props={}, event_id=None)
>>> parse_input({"user_id": "u1", "event": "Charged", "ts": "2026-10-01T09:00:00"})
Traceback (most recent call last):
...
journeylab.errors.InputError: $.ts: naive timestamp '2026-10-01T09:00:00': give a UTC offset such as 'Z' or '+05:30'
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

import msgspec

from journeylab.engine.types import FEEDBACK_KINDS, Event, Feedback, Input, ProfileSet
from journeylab.errors import InputError

__all__ = [
    "InputError",
    "parse_input",
    "parse_json",
    "parse_body",
    "input_to_json",
    "normalize",
    "json_value",
    "safe_text",
    "check_ts",
    "check_ids",
    "MIN_TS",
    "MAX_TS",
]

_KINDS = FEEDBACK_KINDS
_MAX_ID = 255
MIN_TS = 0  # 1970-01-01
MAX_TS = 7_258_118_400  # 2200-01-01: anything later is a mistake (or milliseconds)
_MS_TS = 100_000_000_000  # from here on an integer is most likely epoch milliseconds
_MAX_DEPTH = 64
_ISO = re.compile(
    r"\d{4}-\d\d-\d\d(?:[T ]\d\d(?::?\d\d(?::?\d\d(?:[.,]\d{1,9})?)?)?)?(?:[Zz]|[+-]\d\d(?::?\d\d(?::?\d\d)?)?)?\Z",
    re.ASCII,
)
_I64 = 2**63


class _EventIn(msgspec.Struct, forbid_unknown_fields=True):
    user_id: str
    event: str
    ts: int | float | str | None = None
    props: dict[str, Any] = {}
    event_id: str | None = None
    type: str = "event"


class _FeedbackIn(msgspec.Struct, forbid_unknown_fields=True):
    message_id: str
    kind: str
    ts: int | float | str | None = None
    user_id: str | None = None
    type: str = "feedback"


class _ProfileIn(msgspec.Struct, forbid_unknown_fields=True):
    user_id: str
    props: dict[str, Any]
    ts: int | float | str | None = None
    type: str = "profile"


_STRUCTS: dict[str, type[msgspec.Struct]] = {"event": _EventIn, "feedback": _FeedbackIn, "profile": _ProfileIn}
_NAMES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "null": "null",
    "array": "an array",
    "object": "an object",
    "int | float | str | null": "an ISO 8601 instant or epoch seconds",
    "str | null": "a string",
}
_GOT = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "null": "null",
    "array": "array",
    "object": "object",
}
_MSG = re.compile(r"^(.*?)(?: - at `(?:key` in `)?(\$[^`]*)`)?$", re.S)


def _jtype(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list | tuple):
        return "array"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def _from_msgspec(e: msgspec.ValidationError, base: str, fields: tuple[str, ...]) -> InputError:
    """msgspec's message and path, in this module's words, under ``base`` (``$[3]``)."""
    m = _MSG.match(str(e))
    msg, at = (m.group(1), m.group(2) or "$") if m else (str(e), "$")
    path = base + at[1:].replace("[...]", "")
    if mm := re.match(r"Object missing required field `(.+)`", msg):
        return InputError(f"missing required field {mm.group(1)!r}", f"{path}.{mm.group(1)}")
    if mm := re.match(r"Object contains unknown field `(.+)`", msg):
        kind = fields[-1]
        return InputError(
            f"unknown field {mm.group(1)!r} (a {kind} has: {', '.join(fields[:-1])})", f"{path}.{mm.group(1)}"
        )
    if mm := re.match(r"Expected `(.+)`, got `(.+)`", msg):
        want, got = mm.group(1), mm.group(2)
        if got == "null" and want == "str":
            return InputError(f"{path.rsplit('.', 1)[-1]} must not be null", path)
        return InputError(f"expected {_NAMES.get(want, want)}, got {_GOT.get(got, got)}", path)
    return InputError(msg, path)


def safe_text(s: str | None, limit: int | None = None) -> str | None:
    """Text both databases can store: NUL and lone surrogates written as escapes."""
    if s is None:
        return None
    if limit is not None and len(s) > limit:
        s = s[:limit]
    if "\x00" in s:
        s = s.replace("\x00", "\\u0000")
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
    return s


def _check_text(s: str, path: str, *, ident: bool) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError("not valid Unicode text (a lone surrogate such as '\\udfff')", path) from None
    if ident and "\x00" in s:
        raise InputError("must not contain NUL (\\u0000)", path)


def _key_path(path: str, k: str) -> str:
    return f"{path}.{k}" if k.isidentifier() else f"{path}[{json.dumps(k)}]"


class _Bad:
    """A JSON token that decodes to nothing storable (NaN, a 5,000-digit integer): refused
    with its path when the item holding it is checked, so the rest of a body survives."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parse_int(s: str) -> Any:
    return int(s) if len(s) <= 20 else _Bad(f"integer out of range (at most 64 bits; {len(s)} digits)")


def _parse_constant(s: str) -> Any:
    return _Bad(f"{s} is not a JSON number" if s == "NaN" else f"{s} is not a finite number")


def _plain(v: Any, path: str, depth: int = 0, nan: bool = False) -> Any:
    """``v`` as it reads back from JSON, checked for what both databases and the engine can
    hold (see the module docstring); numpy scalars and aware datetimes are converted.
    ``nan``: a NaN float becomes null instead of an error (profiles read from tables)."""
    if depth > _MAX_DEPTH:
        raise InputError(f"nested deeper than {_MAX_DEPTH} levels", path)
    t = type(v)
    if t is str:
        _check_text(v, path, ident=False)
        return v
    if v is None or t is bool:
        return v
    if t is int:
        if not -_I64 <= v < _I64:
            raise InputError("integer out of range (at most 64 bits)", path)
        return v
    if t is float:
        if math.isnan(v):
            if nan:
                return None
            raise InputError("NaN is not a JSON number", path)
        if math.isinf(v):
            raise InputError("not a finite number", path)
        return v
    if t is dict or isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if type(k) is not str:
                raise InputError(f"object keys must be strings, got {_jtype(k)}", path)
            _check_text(k, path, ident=False)
            out[k] = _plain(x, _key_path(path, k), depth + 1, nan)
        return out
    if t is list or t is tuple:
        return [_plain(x, f"{path}[{i}]", depth + 1, nan) for i, x in enumerate(v)]
    if t is _Bad:
        raise InputError(v.reason, path)
    if isinstance(v, bool):  # subclasses: numpy.bool_ is not one, numpy.float64 is a float
        return bool(v)
    if isinstance(v, int):
        return _plain(int(v), path, depth, nan)
    if isinstance(v, float):
        return _plain(float(v), path, depth, nan)
    if isinstance(v, str):
        return _plain(str(v), path, depth, nan)
    if isinstance(v, dt.datetime | dt.date):
        if isinstance(v, dt.datetime) and (v.tzinfo is None or v.utcoffset() is None):
            raise InputError(f"naive datetime {v!r}: give a timezone", path)
        return v.isoformat()
    if isinstance(v, set | frozenset):
        return _plain(sorted(v, key=str), path, depth, nan)
    item = getattr(v, "item", None)  # numpy scalars
    if callable(item) and getattr(v, "shape", None) == ():
        return _plain(item(), path, depth, nan)
    iso = getattr(v, "isoformat", None)  # pandas.Timestamp
    if callable(iso) and getattr(v, "tzinfo", None) is not None:
        return iso()
    raise InputError(f"not storable as JSON: a {t.__name__}", path)


def _string(v: Any, path: str, *, required: bool, limit: int = _MAX_ID) -> str | None:
    if v is None:
        if required:
            raise InputError(f"{path.rsplit('.', 1)[-1]} must not be null", path)
        return None
    if not isinstance(v, str):
        raise InputError(f"expected a string, got {_jtype(v)}", path)
    if not v:
        raise InputError("must not be empty", path)
    if len(v) > limit:
        raise InputError(f"longer than {limit} characters", path)
    _check_text(v, path, ident=True)
    return v


def check_ts(t: int, path: str) -> int:
    """``t`` (epoch seconds) within [1970, 2200) or :class:`InputError`."""
    if t < MIN_TS:
        raise InputError(f"{_iso(t)} is before 1970", path)
    if t >= MAX_TS:
        raise InputError(f"{_iso(t)} is after 2200-01-01", path)
    return t


def _iso(t: float) -> str:
    try:
        return dt.datetime.fromtimestamp(t, dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return repr(t)


def _ts(v: Any, path: str, now: int | None) -> int:
    p = f"{path}.ts"
    if v is None:
        if now is None:
            raise InputError("missing required field 'ts'", p)
        return now
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise InputError(f"expected an ISO 8601 instant or epoch seconds, got {_jtype(v)}", p)
    if isinstance(v, str):
        s = v.strip()
        if not _ISO.match(s):
            raise InputError(f"not an ISO 8601 instant: {safe_text(v, 100)!r}", p)
        try:
            t = dt.datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
        except ValueError:
            raise InputError(f"not an ISO 8601 instant: {safe_text(v, 100)!r}", p) from None
        if t.tzinfo is None or t.utcoffset() is None:
            raise InputError(f"naive timestamp {v!r}: give a UTC offset such as 'Z' or '+05:30'", p)
        try:
            epoch = t.timestamp()
        except (OverflowError, ValueError):  # year 1 with a positive offset, year 9999 with a negative one
            epoch = -1.0 if t.year < 1970 else float(MAX_TS)
        return check_ts(int(epoch // 1), p)
    if v != v or v in (float("inf"), float("-inf")):
        raise InputError("not a finite number", p)
    if v < 0:
        raise InputError(f"negative epoch seconds {v!r} (before 1970)", p)
    if v >= _MS_TS:
        raise InputError(f"{v!r} is too large for epoch seconds (milliseconds? divide by 1000)", p)
    return check_ts(int(v // 1), p)


def _struct(obj: Any, path: str) -> tuple[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(f"an input must be a JSON object, got {_jtype(obj)}", path)
    kind = obj.get("type", "event")
    if kind is None:
        kind = "event"
    if not isinstance(kind, str) or kind not in _STRUCTS:
        raise InputError(
            f"type must be one of {', '.join(map(repr, _STRUCTS))}, got {safe_text(repr(kind), 100)}", f"{path}.type"
        )
    cls = _STRUCTS[kind]
    try:
        return kind, msgspec.convert(obj, cls, strict=True)
    except msgspec.ValidationError as e:
        raise _from_msgspec(e, path, (*cls.__struct_fields__, kind)) from None


def parse_input(obj: Any, path: str = "$", *, now: int | None = None) -> Input:
    """Check one input object and return the engine input.

    Parameters
    ----------
    obj : dict
        An event, feedback or profile update as JSON (``{"user_id": ..., "event": ...,
        "ts": ...}``...).
    path : str, default "$"
        Its JSON path, for errors (``$[3]`` in a batch).
    now : int or None, default None
        The time to stamp an input that has no ``ts`` (epoch seconds); default one is required.

    Returns
    -------
    Event, Feedback or ProfileUpdate
        The engine input.

    Raises
    ------
    journeylab.runtime.InputError
        When it cannot be applied; the path says where.

    Examples
    --------
    >>> parse_input({"user_id": "ana", "event": "Charged", "ts": "2026-10-01T09:00Z"}).name
    'Charged'
    """
    kind, s = _struct(obj, path)
    if kind == "event":
        uid = _string(s.user_id, f"{path}.user_id", required=True)
        name = _string(s.event, f"{path}.event", required=True, limit=200)
        eid = _string(s.event_id, f"{path}.event_id", required=False)
        ts = _ts(s.ts, path, now)
        return Event(uid, ts, name, _plain(s.props, f"{path}.props"), eid)  # type: ignore[arg-type]
    if kind == "feedback":
        uid = _string(s.user_id, f"{path}.user_id", required=False)
        mid = _string(s.message_id, f"{path}.message_id", required=True, limit=700)
        if s.kind not in _KINDS:
            raise InputError(
                f"kind must be one of {', '.join(map(repr, _KINDS))}, got {safe_text(repr(s.kind), 100)}",
                f"{path}.kind",
            )
        return Feedback(uid or "", _ts(s.ts, path, now), mid, s.kind)  # type: ignore[arg-type]
    uid = _string(s.user_id, f"{path}.user_id", required=True)
    return ProfileSet(uid, _ts(s.ts, path, now), _plain(s.props, f"{path}.props"))  # type: ignore[arg-type]


def check_ids(inp: Input, path: str = "$") -> None:
    """The identifiers of an engine input built in Python: non-empty text both databases hold."""
    _string(inp.user_id, f"{path}.user_id", required=not isinstance(inp, Feedback) or bool(inp.user_id))
    if isinstance(inp, Event):
        _string(inp.name, f"{path}.event", required=True, limit=200)
        _string(inp.event_id, f"{path}.event_id", required=False)
    elif isinstance(inp, Feedback):
        _string(inp.message_id, f"{path}.message_id", required=True, limit=700)
        if inp.kind not in _KINDS:
            raise InputError(f"kind must be one of {', '.join(map(repr, _KINDS))}, got {inp.kind!r}", f"{path}.kind")
    if not isinstance(inp.ts, int) or isinstance(inp.ts, bool):
        raise InputError("expected integer epoch seconds", f"{path}.ts")
    check_ts(inp.ts, f"{path}.ts")


def parse_json(text: str | bytes, path: str = "$") -> Any:
    """Decode JSON text (:class:`InputError` at ``path`` if it is not JSON). Tokens that decode
    to nothing storable (NaN, huge integers) are kept as markers that the item's check refuses
    with their own path, so one bad value does not spoil a whole body."""
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"not valid JSON: {e}", path) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path) from None
    except Exception as e:  # noqa: BLE001 - whatever else the decoder raises is the input's fault
        raise InputError(f"not valid JSON: {type(e).__name__}: {e}", path) from None


def parse_body(raw: bytes) -> tuple[list[Any], list[str], bool]:
    """An HTTP body: ``(items, their paths, was an array)`` (:class:`InputError` if not JSON)."""
    body = parse_json(raw)
    if isinstance(body, list):
        return body, [f"$[{k}]" for k in range(len(body))], True
    return [body], ["$"], False


def json_value(v: Any) -> bytes:
    """JSON bytes of a value made of JSON types (numpy scalars and datetimes converted)."""
    return _enc.encode(v)


def _enc_hook(v: Any) -> Any:
    return _plain(v, "$")


_enc = msgspec.json.Encoder(enc_hook=_enc_hook)


def normalize(v: Any, path: str = "$", *, nan: bool = False) -> Any:
    """The value as it reads back from JSON: what the engine sees before and after a restart
    (:class:`InputError` with the path of anything JSON cannot hold). With ``nan``, NaN floats
    become null (profiles read from a table, where NaN means missing)."""
    return _plain(v, path, 0, nan)


def input_to_json(inp: Input) -> dict[str, Any]:
    """The JSON object of an engine input (the inverse of :func:`parse_input`).

    Parameters
    ----------
    inp : Event, Feedback or ProfileUpdate
        The engine input.

    Returns
    -------
    dict
        The JSON object.

    Examples
    --------
    >>> input_to_json(parse_input({"user_id": "ana", "event": "Charged", "ts": 60}))["event"]
    'Charged'
    """
    if isinstance(inp, Event):
        d: dict[str, Any] = {"user_id": inp.user_id, "event": inp.name, "ts": inp.ts}
        if inp.props:
            d["props"] = inp.props
        if inp.event_id is not None:
            d["event_id"] = inp.event_id
        return d
    if isinstance(inp, Feedback):
        return {
            "type": "feedback",
            "user_id": inp.user_id,
            "message_id": inp.message_id,
            "kind": inp.kind,
            "ts": inp.ts,
        }
    if isinstance(inp, ProfileSet):
        return {"type": "profile", "user_id": inp.user_id, "props": inp.props, "ts": inp.ts}
    raise TypeError(f"not an external input: {inp!r}")
