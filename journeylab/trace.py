"""The trace as a DataFrame: one schema (names, order, dtypes), built in one place.

Every driver — the simulator, the reference driver, the production runtime, the sharded
backend — hands its trace to :func:`trace_frame` (columns) or :func:`records_to_frame`
(engine :class:`~journeylab.engine.TraceRecord` values), so a trace looks the same whoever
made it:

=========  ======================================  =============================================
column     dtype                                   why
=========  ======================================  =============================================
user_id    ``str`` (pandas' string dtype)          many distinct values: a category would not pay
ts         ``datetime64[ns, UTC]``                 instants are UTC; local time is derived
journey    ``category`` (sorted categories)        few distinct values: 1–4 bytes a row
version    ``int64``
node       ``category``
event      ``category`` over :data:`TRACE_EVENTS`  always the same categories, in the documented order
port       ``category``
detail     ``category``
=========  ======================================  =============================================

>>> from journeylab.engine import TraceRecord
>>> t = records_to_frame([TraceRecord("ana", 0, "promo", 1, "buy", "entered", "", "entry")])
>>> t.dtypes.astype(str).tolist()
['str', 'datetime64[ns, UTC]', 'category', 'int64', 'category', 'category', 'category', 'category']
>>> empty_trace().dtypes.astype(str).equals(t.dtypes.astype(str))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from journeylab.engine.types import TRACE_COLUMNS, TRACE_EVENTS, TraceRecord

__all__ = [
    "TRACE_COLUMNS",
    "CATEGORY_COLUMNS",
    "SEND_COLUMNS",
    "trace_frame",
    "as_trace",
    "records_to_frame",
    "empty_trace",
    "trace_rows",
    "sends_frame",
    "sends_table",
    "utc_seconds",
]

#: trace columns stored as categoricals
CATEGORY_COLUMNS: tuple[str, ...] = ("journey", "node", "event", "port", "detail")
_STR = pd.StringDtype(na_value=np.nan) if pd.__version__ >= "3" else object
_EVENTS = pd.CategoricalDtype(list(TRACE_EVENTS))
_EVENT_LIST = list(TRACE_EVENTS)
_UTC = pd.DatetimeTZDtype("ns", "UTC")


def _category(values: Any, name: str) -> pd.Categorical:
    if name == "event":
        cat = values if isinstance(values, pd.Categorical) else pd.Categorical(np.asarray(values, dtype=object))
        unknown = set(map(str, cat.categories)) - set(TRACE_EVENTS)
        if unknown:
            raise ValueError(f"unknown trace event(s): {sorted(unknown)}")
        return cat.set_categories(list(TRACE_EVENTS)) if list(cat.categories) != list(TRACE_EVENTS) else cat
    if isinstance(values, pd.Categorical):
        codes = values.codes
        used = np.bincount(codes[codes >= 0], minlength=len(values.categories)) > 0
        if not used.all():  # the categories are the values that occur
            remap = np.cumsum(used) - 1
            new = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(codes.dtype)
            values = pd.Categorical.from_codes(new, categories=values.categories[used])
        cats = [str(c) for c in values.categories]
        if cats != sorted(cats) or list(values.categories) != cats:
            return pd.Categorical(np.asarray(values.astype(object), dtype=object), categories=sorted(set(cats)))
        return values
    arr = np.asarray(values, dtype=object)
    return pd.Categorical(arr, categories=sorted(set(arr.tolist())))


def _strings(values: Any) -> Any:
    if isinstance(values, pd.api.extensions.ExtensionArray) and values.dtype == _STR:
        return values
    arr = np.asarray(values, dtype=object)
    if isinstance(_STR, pd.StringDtype):  # pandas 3
        return pd.array(arr, dtype=_STR)
    # pandas 2: pandas-stubs (written for pandas 3) has no overload for an object ndarray with dtype=object
    return pd.array(arr, dtype=object)  # type: ignore[arg-type]


def utc_seconds(seconds: Any) -> pd.DatetimeIndex:
    """Epoch seconds (integers) as UTC instants (``datetime64[ns, UTC]``), the trace's ``ts`` dtype.

    >>> utc_seconds([0, 90]).astype(str).tolist()
    ['1970-01-01 00:00:00+00:00', '1970-01-01 00:01:30+00:00']
    """
    # naive instants read as UTC by the dtype itself (no localisation pass: 50x faster)
    return pd.DatetimeIndex((np.asarray(seconds, dtype=np.int64) * 1_000_000_000).view("M8[ns]"), dtype=_UTC)


def epoch_seconds(ts: Any) -> np.ndarray:
    """Instants (a datetime column) as whole epoch seconds (``int64``), rounded down: the
    inverse of :func:`utc_seconds`. A column of numpy instants is read in its own unit (no
    conversion pass: 20x faster on half a million events).

    >>> epoch_seconds(utc_seconds([0, 90])).tolist()
    [0, 90]
    >>> epoch_seconds(pd.Series(pd.to_datetime(["1969-12-31T23:59:59.5Z", "2026-10-01T00:00:01.9Z"]))).tolist()
    [-1, 1790812801]
    """
    arr = getattr(ts, "array", ts)
    per = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(getattr(arr, "unit", ""), 0)
    if isinstance(arr, pd.arrays.DatetimeArray) and per and not arr.isna().any():
        out: np.ndarray = cast(Any, arr).asi8 // per  # (integers in the array's unit; untyped in the stubs)
        return out
    return np.asarray(pd.Series(ts).to_numpy(dtype="datetime64[s]").astype(np.int64))


def _times(ts: Any) -> Any:
    if isinstance(ts, pd.Series | pd.DatetimeIndex) and isinstance(ts.dtype, pd.DatetimeTZDtype):
        return (
            ts.dt.tz_convert("UTC").dt.as_unit("ns")
            if isinstance(ts, pd.Series)
            else ts.tz_convert("UTC").as_unit("ns")
        )
    arr = np.asarray(ts)
    return pd.DatetimeIndex(arr.astype("M8[ns]", copy=False), dtype=_UTC) if arr.dtype.kind == "M" else utc_seconds(arr)


def trace_frame(
    user_id: Any,
    ts: Any,
    journey: Any,
    version: Any,
    node: Any,
    event: Any,
    port: Any,
    detail: Any,
    *,
    _checked: bool = False,
) -> pd.DataFrame:
    """The trace DataFrame from its eight columns (already in canonical order).

    ``ts`` is epoch seconds (integers) or datetimes; string columns may be plain sequences,
    arrays or :class:`pandas.Categorical` values (kept as they are when already in shape).
    ``_checked``: the caller built the categoricals in shape (the categories of ``event``
    are :data:`TRACE_EVENTS`, the others' the texts that occur, sorted), so they are not read
    again (only an unknown trace event is still refused), and hands over columns of its own,
    which the frame keeps without copying them.
    """
    n = len(ts)
    cols = {
        "user_id": user_id,
        "journey": journey,
        "version": version,
        "node": node,
        "event": event,
        "port": port,
        "detail": detail,
    }
    for k, v in cols.items():
        if len(v) != n:
            raise ValueError(f"trace column {k!r} has {len(v)} values, 'ts' has {n}")
    frame: dict[str, Any] = {
        "user_id": _strings(user_id),
        "ts": _times(ts),
        "version": np.asarray(version, dtype=np.int64),
    }
    for name in CATEGORY_COLUMNS:
        given = cols[name]
        if (
            _checked
            and isinstance(given, pd.Categorical)
            and (name != "event" or list(given.categories) == _EVENT_LIST)
        ):
            frame[name] = given
        else:
            frame[name] = _category(given, name)
    return pd.DataFrame(frame, columns=list(TRACE_COLUMNS), copy=not _checked)


def as_trace(df: pd.DataFrame) -> pd.DataFrame:
    """A DataFrame with the trace's eight columns (e.g. read back from Parquet, or merged from
    shards) brought to the schema; rows keep their order."""
    missing = [c for c in TRACE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"not a trace: missing column(s) {missing}")
    return trace_frame(*(df[c].array if c != "ts" else df[c] for c in TRACE_COLUMNS))


SEND_COLUMNS: tuple[str, ...] = ("message_id", "journey", "version", "user_id", "node", "channel", "ts")


def sends_table(rows: Iterable[tuple[Any, ...]]) -> Any:
    """Sends as rows ``(message_id, journey, version, user_id, node, channel, ts epoch s)`` in
    an Arrow table (the columnar form drivers hand over)."""
    import pyarrow as pa

    cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) or [[] for _ in SEND_COLUMNS]
    types = [pa.string(), pa.string(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.int64()]
    return pa.table({c: pa.array(v, type=t) for c, v, t in zip(SEND_COLUMNS, cols, types, strict=True)})


def sends_frame(parts: Any) -> pd.DataFrame:
    """The messages sent, from Arrow tables (:func:`sends_table`) or rows, as a table in
    canonical order: by instant, then user id, then message id."""
    import pyarrow as pa
    import pyarrow.compute as pc

    tables = parts if isinstance(parts, list) and all(isinstance(p, pa.Table) for p in parts) else [sends_table(parts)]
    t = pa.concat_tables(tables) if tables else sends_table([])
    if t.num_rows > 1:
        t = t.take(
            pc.sort_indices(t, sort_keys=[("ts", "ascending"), ("user_id", "ascending"), ("message_id", "ascending")])
        )
    df = t.to_pandas()
    for c in ("message_id", "journey", "user_id", "node", "channel"):
        if df[c].dtype != _STR:
            df[c] = df[c].astype(_STR)
    df["ts"] = _times(df["ts"].to_numpy(dtype=np.int64))
    return df


def records_to_frame(records: Iterable[TraceRecord]) -> pd.DataFrame:
    """The trace DataFrame of engine trace records, in the order given.

    Use :func:`journeylab.engine.canonical` first for the canonical order.
    """
    rows = list(records)
    if not rows:
        return empty_trace()
    cols = list(zip(*rows, strict=True))
    return trace_frame(*cols)


def empty_trace() -> pd.DataFrame:
    """A trace with no rows and the schema's dtypes.

    Returns
    -------
    pandas.DataFrame
        ``user_id, ts, journey, version, node, event, port, detail``, no rows.

    Examples
    --------
    >>> list(empty_trace().columns)
    ['user_id', 'ts', 'journey', 'version', 'node', 'event', 'port', 'detail']
    """
    return trace_frame([], np.zeros(0, dtype=np.int64), [], [], [], [], [], [])


def trace_rows(trace: pd.DataFrame) -> list[tuple[str, int, str, int, str, str, str, str]]:
    """The trace as plain tuples ``(user_id, ts epoch seconds, journey, version, node, event, port,
    detail)``: the form in which traces of different drivers are compared."""
    t = trace
    ts = t["ts"].dt.as_unit("s").astype("int64").tolist() if len(t) else []
    return list(
        zip(
            t["user_id"].astype(str).tolist(),
            ts,
            t["journey"].astype(str).tolist(),
            t["version"].astype("int64").tolist(),
            t["node"].astype(str).tolist(),
            t["event"].astype(str).tolist(),
            t["port"].astype(str).tolist(),
            t["detail"].astype(str).tolist(),
            strict=True,
        )
    )
