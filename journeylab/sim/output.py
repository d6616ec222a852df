"""The simulator's output: the trace merged from the loops' columnar chunks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from journeylab.engine.types import TRACE_EVENTS
from journeylab.trace import empty_trace, trace_frame

__all__ = ["merge_trace", "merge_trace_codes", "STRING_COLUMNS"]

#: trace columns a chunk carries factorized, as ``(codes, labels)``, with their record field
STRING_COLUMNS = (("journey", 2), ("node", 4), ("event", 5), ("port", 6), ("detail", 7))


def merge_trace(chunks: list[dict[str, Any]], user_ids: Sequence[str] | pa.Array) -> pd.DataFrame:
    """The trace in canonical order: by instant, then user id, each user's rows in order.

    Each chunk is already in that order and a user's rows all sit in one chunk, so a
    stable merge by (time, user code) gives the same frame for any number of workers."""
    return merge_trace_codes(chunks, user_ids)[0]


def merge_trace_codes(
    chunks: list[dict[str, Any]], user_ids: Sequence[str] | pa.Array
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`merge_trace`, and each row's user as its position in ``user_ids`` (what the
    statistics would otherwise recompute from the strings)."""
    chunks = [c for c in chunks if c["n"]]
    if not chunks:
        return empty_trace(), np.zeros(0, dtype=np.int64)
    ts = _joined([c["ts"] for c in chunks])
    codes = _joined([c["user"] for c in chunks]).astype(np.int64, copy=False)
    order: np.ndarray | slice
    if len(chunks) == 1:
        order = slice(None)  # already in order: nothing to move
    elif len(user_ids) < 1 << 24 and max(-int(ts.min()), int(ts.max())) < 1 << 38:  # (no |ts| array made)
        order = np.argsort(ts * len(user_ids) + codes, kind="stable")  # one key: finds the sorted runs, a merge
    else:
        order = np.lexsort((codes, ts))
    codes = codes[order]
    frame: dict[str, Any] = {"user_id": _take_strings(user_ids, codes), "ts": ts[order]}
    exact = True  # every label a text: the categories below are the trace's own (not checked again)
    for name, _ in STRING_COLUMNS:
        # the categories the trace keeps (trace_frame's rule): the labels that occur, sorted,
        # and for the event column every trace event in its order (an unknown one after them,
        # for trace_frame to refuse); each chunk's codes are mapped once to them
        present = {
            v
            for c in chunks
            for v, y in zip(c[name][1], np.bincount(c[name][0], minlength=len(c[name][1])) > 0, strict=True)
            if y
        }
        exact = exact and all(isinstance(v, str) for v in present)
        cats = [*TRACE_EVENTS, *sorted(present - set(TRACE_EVENTS))] if name == "event" else sorted(present)
        index = {v: i for i, v in enumerate(cats)}
        small = np.int8 if len(cats) < 127 else np.int32  # (pandas' own code width: no conversion)
        merged = _joined([np.asarray([index.get(v, -1) for v in c[name][1]], dtype=small)[c[name][0]] for c in chunks])
        frame[name] = pd.Categorical.from_codes(merged[order], dtype=pd.CategoricalDtype(cats), validate=False)
    versions = [c["version"] for c in chunks]
    v0 = versions[0][0]
    if all((v == v0).all() for v in versions):  # one version throughout (most runs): nothing to move
        frame["version"] = np.full(len(ts), v0, dtype=np.int64)
    else:
        frame["version"] = _joined(versions).astype(np.int64, copy=False)[order]
    return trace_frame(**frame, _checked=exact), codes


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """The chunks' column end to end (one chunk's as it is: no copy)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _take_strings(values: Sequence[str] | pa.Array, codes: np.ndarray) -> Any:
    """``values[codes]`` as the string column pandas would make of it, built by Arrow's take
    when pandas stores strings in Arrow (no Python string per row). ``values`` may already be
    an Arrow array (a prepared run keeps its user ids as one)."""
    dtype = pd.Series(["x"]).dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        listed = values.to_pylist() if isinstance(values, pa.Array) else values
        return np.asarray(listed, dtype=object)[codes]
    arr = values if isinstance(values, pa.Array) else pa.array(values, type=pa.large_string())
    return pd.array(arr.take(pa.array(codes)), dtype=dtype)
