"""JSON in and out: the production export format, with errors that carry a JSON path.

>>> from journeylab.model import Journey, Action, Push
>>> j = Journey("Welcome", id="welcome")
>>> _ = j.add(Action(id="installed", event="App Installed"))
>>> _ = j.then("installed", "yes", Push(id="hello", content={"title": "Hi {{first_name}}"}))
>>> back = from_json(to_json(j.definition))
>>> back == j.definition
True
>>> from_json('{"id": "x", "nodes": [{"kind": "delay", "id": "d", "duration": [5]}]}')
Traceback (most recent call last):
...
journeylab.errors.JourneyDefinitionError: $.nodes[0].duration: Expected `duration | null`, got `array`
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from journeylab._docs import filler
from journeylab.errors import JourneyDefinitionError
from journeylab.model.durations import iso_duration
from journeylab.model.journey import FORMAT_VERSION, JourneyDef

__all__ = [
    "to_json",
    "from_json",
    "to_dict",
    "from_dict",
    "check_values",
    "bad_values",
    "json_schema",
    "load",
    "save",
    "SCHEMA_FILE",
]

#: the Returns and Raises sections of the readers below, written once
_fill = filler(
    {
        "reads_journey": """Returns
-------
JourneyDef
    The definition.

Raises
------
journeylab.JourneyDefinitionError"""
    }
)

SCHEMA_FILE = f"journey.schema.v{FORMAT_VERSION}.json"

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)


def _wrap(err: Exception) -> JourneyDefinitionError:
    m = _AT.match(str(err))
    msg = m.group("msg") if m else str(err)
    path = (m.group("path") if m else None) or "$"
    return JourneyDefinitionError(msg, path)


def _iso(x: Any) -> Any:
    if isinstance(x, dt.timedelta):
        return iso_duration(x)
    if isinstance(x, dict):
        return {k: _iso(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_iso(v) for v in x]
    return x


_I64 = 2**63


class _Bad:
    """A JSON token that reads as nothing a journey can hold (NaN, a 5,000-digit integer):
    refused with its path by :func:`check_values`."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _parse_int(s: str) -> Any:
    return int(s) if len(s) <= 20 else _Bad(f"an integer of {len(s.lstrip('-'))} digits: at most 64-bit integers")


def _parse_constant(s: str) -> Any:
    return _Bad(f"{s} is not a number JSON can hold")


def _key_path(path: str, k: str) -> str:
    return f"{path}.{k}" if k.isidentifier() else f"{path}[{json.dumps(k)}]"


def check_values(data: Any, path: str = "$") -> None:
    """Refuse what JSON cannot carry back unchanged, with its path (the first of
    :func:`bad_values`). Raises :class:`JourneyDefinitionError`.

    >>> check_values({"nodes": [{"filters": [{"value": float("nan")}]}]})
    Traceback (most recent call last):
    ...
    journeylab.errors.JourneyDefinitionError: $.nodes[0].filters[0].value: NaN is not a number JSON can hold
    """
    for p, reason in bad_values(data, path):
        raise JourneyDefinitionError(reason, p)


def bad_values(data: Any, path: str = "$") -> Iterator[tuple[str, str]]:
    """``(path, reason)`` of every value JSON cannot carry back unchanged, in document order:
    NaN and infinity (they would read back as null), integers beyond 64 bits, text that is not
    valid Unicode (a lone surrogate cannot be written as UTF-8; the path of a key is its object's)."""
    stack = [(data, path)]
    while stack:
        v, p = stack.pop()
        t = type(v)
        if t is str:
            if not _valid_text(v):
                yield p, _SURROGATE
        elif t is float or isinstance(v, float):
            if math.isnan(v):
                yield p, "NaN is not a number JSON can hold"
            elif math.isinf(v):
                yield p, f"{'-' if v < 0 else ''}infinity is not a number JSON can hold"
        elif t is int:
            if not -_I64 <= v < _I64:
                yield p, "integer out of range: at most 64-bit integers"
        elif t is _Bad:
            yield p, v.reason
        elif isinstance(v, dict):
            items = list(v.items())
            if not all(_valid_text(k) for k, _ in items if isinstance(k, str)):
                yield p, _SURROGATE
            stack.extend((x, _key_path(p, k) if isinstance(k, str) else f"{p}[{k!r}]") for k, x in reversed(items))
        elif isinstance(v, list | tuple):
            stack.extend((x, f"{p}[{i}]") for i, x in reversed(list(enumerate(v))))


_SURROGATE = "text that is not valid Unicode (a lone surrogate such as '\\udfff')"


def _valid_text(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def to_dict(d: JourneyDef) -> dict[str, Any]:
    """The JSON-ready dict of a definition (durations in their shortest ISO 8601 form, ``PT30M``).

    Parameters
    ----------
    d : JourneyDef
        The definition.

    Returns
    -------
    dict
        The journey as in JSON, defaults left out.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeylab.model import Journey, Delay
    >>> j = Journey("W", id="w")
    >>> _ = j.add(Delay(id="d", duration=dt.timedelta(minutes=30)))
    >>> to_dict(j.definition)["nodes"][0]["duration"]
    'PT30M'
    """
    out: dict[str, Any] = _iso(msgspec.to_builtins(d, builtin_types=(dt.timedelta,)))  # a struct: a dict
    return out


@_fill
def from_dict(data: Any) -> JourneyDef:
    """Build a definition from a JSON-like dict.

    Parameters
    ----------
    data : dict
        The journey as in JSON.

    %(reads_journey)s
        When it is not a valid journey; the path says where.

    Examples
    --------
    >>> from_dict({"id": "w", "nodes": [{"kind": "action", "id": "a", "event": "App Launched"}]}).nodes[0].event
    'App Launched'
    """
    if not isinstance(data, dict):
        raise JourneyDefinitionError(f"a journey must be a JSON object, not {type(data).__name__}", "$")
    fmt = data.get("format", FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        raise JourneyDefinitionError(
            f"this file is journey format {fmt!r}; this journeylab reads format {FORMAT_VERSION}", "$.format"
        )
    check_values(data)
    try:
        return msgspec.convert(data, type=JourneyDef, strict=False)
    except msgspec.ValidationError as e:
        raise _wrap(e) from None
    except (TypeError, ValueError, AttributeError, RecursionError) as e:  # pragma: no cover - defensive
        raise JourneyDefinitionError(f"invalid journey: {e}", "$") from None


def to_json(d: JourneyDef, *, indent: int = 2) -> str:
    """Serialize a definition to JSON text (stable field order).

    Parameters
    ----------
    d : JourneyDef
        The definition.
    indent : int, default 2
        Spaces per level.

    Returns
    -------
    str
        The JSON text.

    Raises
    ------
    journeylab.JourneyDefinitionError
        When a value JSON cannot carry back unchanged; the path says which
        (see :func:`check_values`).

    Examples
    --------
    >>> from journeylab.model import Journey
    >>> import json
    >>> json.loads(to_json(Journey("Welcome", id="welcome").definition))
    {'id': 'welcome', 'name': 'Welcome', 'settings': {}}
    """
    data = to_dict(d)
    check_values(data)
    raw = msgspec.json.encode(data)
    return msgspec.json.format(raw, indent=indent).decode()


@_fill
def from_json(text: str | bytes) -> JourneyDef:
    """Parse JSON text into a definition.

    Parameters
    ----------
    text : str or bytes
        The journey as JSON.

    %(reads_journey)s
        When the text is malformed or not a valid journey; the path says where.

    Examples
    --------
    >>> from_json('{"id": "w", "name": "Welcome"}').name
    'Welcome'
    """
    try:
        data = json.loads(text, parse_int=_parse_int, parse_constant=_parse_constant)
    except (ValueError, TypeError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise JourneyDefinitionError(f"not valid JSON: {e}", "$") from None
    except RecursionError:
        raise JourneyDefinitionError("JSON nested too deeply", "$") from None
    return from_dict(data)


@_fill
def load(path: str | Path) -> JourneyDef:
    """Read a journey JSON file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    %(reads_journey)s
        When the file does not hold a valid journey.

    Examples
    --------
    >>> from journeylab.examples import example_path
    >>> load(example_path("cart_abandonment")).id
    'cart-abandonment'
    """
    p = Path(path)
    try:
        text = p.read_bytes()
    except OSError as e:
        raise JourneyDefinitionError(f"cannot read {p}: {e.strerror}", "$") from None
    return from_json(text)


def save(d: JourneyDef, path: str | Path) -> Path:
    """Write a journey JSON file.

    Parameters
    ----------
    d : JourneyDef
        The definition.
    path : str or pathlib.Path
        The file (overwritten).

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from journeylab.examples import cart_abandonment
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     p = save(cart_abandonment().definition, pathlib.Path(tmp) / "cart.json")
    ...     load(p).id
    'cart-abandonment'
    """
    p = Path(path)
    p.write_text(to_json(d) + "\n")
    return p


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the journey format shipped with the package.

    Returns
    -------
    dict
        The schema (JSON Schema 2020-12), a fresh copy.

    Examples
    --------
    >>> json_schema()["$schema"]
    'https://json-schema.org/draft/2020-12/schema'
    """
    schema: dict[str, Any] = json.loads(resources.files("journeylab.model").joinpath(SCHEMA_FILE).read_text())
    return schema


def _description(doc: str) -> str:
    """A docstring as a schema description: its text before the numpydoc sections (the
    parameters and examples are Python's, not the format's)."""
    return re.split(r"\n\s*\n(?=[ \t]*(?:Parameters|Examples)\n[ \t]*-{3,})", doc, maxsplit=1)[0].strip()


def _describe(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _description(v) if k == "description" and isinstance(v, str) else _describe(v) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_describe(v) for v in node]
    return node


def _generate_schema() -> dict[str, Any]:
    schema: dict[str, Any] = _describe(msgspec.json.schema(JourneyDef))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://journeylab.dev/schema/{SCHEMA_FILE}"
    schema["title"] = f"journeylab journey definition, format {FORMAT_VERSION}"
    return schema


if __name__ == "__main__":  # regenerate the shipped schema: python -m journeylab.model.io
    out = Path(__file__).with_name(SCHEMA_FILE)
    out.write_text(json.dumps(_generate_schema(), indent=2, sort_keys=True) + "\n")
    print(f"wrote {out}")
