"""Inputs from the outside world (JSON lines, HTTP bodies, Python dicts) checked and turned
into engine inputs. Anything malformed raises :class:`InputError` with a JSON path.

One input is a JSON object. ``type`` (default ``"event"``) says which kind:

* event: ``{"user_id": "u1", "event": "Charged", "ts": "2026-10-01T09:00:00Z",
  "props": {"amount": 30}, "event_id": "e-123"}`` — ``props`` and ``event_id`` optional;
* feedback: ``{"type": "feedback", "message_id": "...", "kind": "viewed", "ts": ...,
  "user_id": "u1"}`` — ``user_id`` optional (taken from the outbox);
* profile: ``{"type": "profile", "user_id": "u1", "ts": ..., "props": {"tier": "gold"}}``.

``ts`` is an ISO 8601 instant *with* a UTC offset, or integer epoch seconds; a missing ``ts``
means "now" on the runtime's clock.

>>> parse_input({"user_id": "u1", "event": "Charged", "ts": "2026-10-01T09:00:00+05:30"})
Event(user_id='u1', ts=1790825400, name='Charged', props={}, event_id=None)
>>> parse_input({"user_id": "u1", "event": "Charged", "ts": "2026-10-01T09:00:00"})
Traceback (most recent call last):
...
journeylab.runtime._inputs.InputError: $.ts: naive timestamp '2026-10-01T09:00:00': give a UTC offset such as 'Z' or '+05:30'
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec

from journeylab.engine.types import Event, Feedback, Input, ProfileSet
from journeylab.errors import JourneyDefinitionError

__all__ = ["InputError", "parse_input", "parse_json", "input_to_json", "normalize", "json_value"]

_FIELDS = {
    "event": ("user_id", "event", "ts", "props", "event_id", "type"),
    "feedback": ("user_id", "message_id", "kind", "ts", "type"),
    "profile": ("user_id", "ts", "props", "type"),
}
_REQUIRED = {"event": ("user_id", "event"), "feedback": ("message_id", "kind"), "profile": ("user_id", "props")}
_KINDS = ("delivered", "viewed", "clicked")
_MAX_ID = 255
_MAX_TS = 100_000_000_000  # year 5138: anything above is milliseconds or garbage


class InputError(JourneyDefinitionError):
    """A malformed input: ``path`` says where (``$.ts``, ``$[3].user_id``), ``message`` why."""


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


def _string(obj: dict, key: str, path: str, *, required: bool, limit: int = _MAX_ID) -> str | None:
    v = obj.get(key)
    if v is None:
        if required:
            raise InputError(f"missing required field {key!r}" if key not in obj else f"{key} must not be null", f"{path}.{key}")
        return None
    if not isinstance(v, str):
        raise InputError(f"expected a string, got {_jtype(v)}", f"{path}.{key}")
    if not v:
        raise InputError("must not be empty", f"{path}.{key}")
    if len(v) > limit:
        raise InputError(f"longer than {limit} characters", f"{path}.{key}")
    return v


def _ts(obj: dict, path: str, now: int | None) -> int:
    p = f"{path}.ts"
    v = obj.get("ts")
    if v is None:
        if now is None:
            raise InputError("missing required field 'ts'", p)
        return now
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise InputError(f"expected an ISO 8601 instant or epoch seconds, got {_jtype(v)}", p)
    if isinstance(v, str):
        s = v.strip()
        try:
            t = dt.datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith(("Z", "z")) else s)
        except ValueError:
            raise InputError(f"not an ISO 8601 instant: {v!r}", p) from None
        if t.tzinfo is None or t.utcoffset() is None:
            raise InputError(f"naive timestamp {v!r}: give a UTC offset such as 'Z' or '+05:30'", p)
        return int(t.timestamp() // 1)
    if v != v or v in (float("inf"), float("-inf")):
        raise InputError("not a finite number", p)
    if v < 0:
        raise InputError(f"negative epoch seconds {v!r}", p)
    if v >= _MAX_TS:
        raise InputError(f"{v!r} is too large for epoch seconds (milliseconds? divide by 1000)", p)
    return int(v // 1)


def _props(obj: dict, path: str, *, required: bool) -> dict[str, Any]:
    v = obj.get("props")
    if v is None:
        if required:
            raise InputError("missing required field 'props'", f"{path}.props")
        return {}
    if not isinstance(v, dict):
        raise InputError(f"expected an object, got {_jtype(v)}", f"{path}.props")
    return v


def parse_input(obj: Any, path: str = "$", *, now: int | None = None) -> Input:
    """Check one input object and return the engine input (:class:`InputError` if malformed)."""
    if not isinstance(obj, dict):
        raise InputError(f"an input must be a JSON object, got {_jtype(obj)}", path)
    kind = obj.get("type", "event")
    if kind is None:
        kind = "event"
    if not isinstance(kind, str) or kind not in _FIELDS:
        raise InputError(f"type must be one of {', '.join(map(repr, _FIELDS))}, got {kind!r}", f"{path}.type")
    allowed = _FIELDS[kind]
    for k in obj:
        if k not in allowed:
            raise InputError(f"unknown field {k!r} (a {kind} has: {', '.join(allowed)})", f"{path}.{k}")
    for k in _REQUIRED[kind]:
        if k not in obj:
            raise InputError(f"missing required field {k!r}", f"{path}.{k}")
    if kind == "event":
        uid = _string(obj, "user_id", path, required=True)
        name = _string(obj, "event", path, required=True, limit=200)
        props = _props(obj, path, required=False)
        eid = _string(obj, "event_id", path, required=False)
        return Event(uid, _ts(obj, path, now), name, normalize(props, f"{path}.props"), eid)  # type: ignore[arg-type]
    if kind == "feedback":
        uid = _string(obj, "user_id", path, required=False)
        mid = _string(obj, "message_id", path, required=True, limit=700)
        fk = obj.get("kind")
        if not isinstance(fk, str) or fk not in _KINDS:
            raise InputError(f"kind must be one of {', '.join(map(repr, _KINDS))}, got {fk!r}", f"{path}.kind")
        return Feedback(uid or "", _ts(obj, path, now), mid, fk)  # type: ignore[arg-type]
    uid = _string(obj, "user_id", path, required=True)
    props = _props(obj, path, required=True)
    return ProfileSet(uid, _ts(obj, path, now), normalize(props, f"{path}.props"))  # type: ignore[arg-type]


def parse_json(text: str | bytes, path: str = "$") -> Any:
    """Decode JSON text (:class:`InputError` at ``path`` if it is not JSON)."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"not valid JSON: {e}", path) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", path) from None


def _enc_hook(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date):
        if isinstance(v, dt.datetime) and v.tzinfo is None:
            raise TypeError(f"naive datetime {v!r}")
        return v.isoformat()
    item = getattr(v, "item", None)  # numpy scalars
    if callable(item):
        return item()
    iso = getattr(v, "isoformat", None)  # pandas.Timestamp
    if callable(iso):
        return iso()
    if isinstance(v, set | frozenset):
        return sorted(v, key=str)
    raise TypeError(f"cannot store a {type(v).__name__} as JSON")


_enc = msgspec.json.Encoder(enc_hook=_enc_hook)
_dec = msgspec.json.Decoder()


def json_value(v: Any) -> bytes:
    """JSON bytes of a value made of JSON types (numpy scalars and datetimes converted)."""
    return _enc.encode(v)


def normalize(v: Any, path: str = "$") -> Any:
    """The value as it reads back from JSON: what the engine sees before and after a restart.

    Floats that are NaN become null (JSON has no NaN).
    """
    try:
        return _dec.decode(_enc.encode(v))
    except (TypeError, msgspec.EncodeError) as e:
        raise InputError(f"not storable as JSON: {e}", path) from None


def input_to_json(inp: Input) -> dict[str, Any]:
    """The JSON object of an engine input (the inverse of :func:`parse_input`)."""
    if isinstance(inp, Event):
        d: dict[str, Any] = {"user_id": inp.user_id, "event": inp.name, "ts": inp.ts}
        if inp.props:
            d["props"] = inp.props
        if inp.event_id is not None:
            d["event_id"] = inp.event_id
        return d
    if isinstance(inp, Feedback):
        return {"type": "feedback", "user_id": inp.user_id, "message_id": inp.message_id, "kind": inp.kind, "ts": inp.ts}
    if isinstance(inp, ProfileSet):
        return {"type": "profile", "user_id": inp.user_id, "props": inp.props, "ts": inp.ts}
    raise TypeError(f"not an external input: {inp!r}")
