"""The simulator's output: the trace merged from the loops' columnar chunks."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from journeylab.engine.types import TRACE_EVENTS
from journeylab.trace import empty_trace, trace_frame

__all__ = ["merge_trace", "merge_trace_codes", "STRING_COLUMNS"]

_EVENTS = frozenset(TRACE_EVENTS)

#: trace columns a chunk carries factorized, as ``(codes, labels)``, with their record field
STRING_COLUMNS = (("journey", 2), ("node", 4), ("event", 5), ("port", 6), ("detail", 7))


def merge_trace(chunks: list[dict[str, Any]], user_ids: Sequence[str] | pa.Array) -> pd.DataFrame:
    """The trace in canonical order: by instant, then user id, each user's rows in order.

    Each chunk is already in that order and a user's rows all sit in one chunk, so a
    stable merge by (time, user code) gives the same frame for any number of workers."""
    return merge_trace_codes(chunks, user_ids)[0]


def merge_trace_codes(
    chunks: list[dict[str, Any]], user_ids: Sequence[str] | pa.Array, *, helper: Executor | None = None
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`merge_trace`, and each row's user as its position in ``user_ids`` (what the
    statistics would otherwise recompute from the strings). ``helper``: an executor that
    gathers the rows' user ids while this thread maps the other columns."""
    chunks = [c for c in chunks if c["n"]]
    if not chunks:
        return empty_trace(), np.zeros(0, dtype=np.int64)
    bits = max(len(user_ids) - 1, 1).bit_length()  # (a user code's width in the sort key)
    order: np.ndarray | slice
    if len(chunks) == 1:  # already in order: nothing to move
        order = slice(None)
        codes = chunks[0]["user"].astype(np.int64, copy=False)
        ns = chunks[0]["ts"].astype(np.int64)  # (a copy: made nanoseconds below)
    elif max(max(-int(c["ts"].min()), int(c["ts"].max())) for c in chunks) < 1 << (62 - bits):
        # one key per row, (instant, user) in one integer (the user in its low bits), written
        # chunk by chunk into one array: its stable sort finds the chunks' sorted runs and merges
        # them, and the sorted keys give back the instants and users by a shift and a mask (no
        # joined copies of either to gather from: each fresh array costs its pages' first touch,
        # as much as the arithmetic on it)
        key = np.empty(sum(c["n"] for c in chunks), dtype=np.int64)
        at = 0
        for c in chunks:
            part = key[at : at + c["n"]]
            np.left_shift(c["ts"], bits, out=part)
            part |= c["user"]
            at += c["n"]
        order = np.argsort(key, kind="stable")
        ns = np.take(key, order)
        del key
        codes = ns & ((1 << bits) - 1)
        ns >>= bits  # (the instants in seconds, in place)
    else:  # pragma: no cover - instants beyond the nanosecond range, or some 2**30 users
        ts = _joined([c["ts"] for c in chunks])
        codes = _joined([c["user"] for c in chunks]).astype(np.int64, copy=False)
        order = np.lexsort((codes, ts))
        codes = np.take(codes, order)
        ns = np.take(ts, order)
    ids: Any = None if helper is None else helper.submit(_take_strings, user_ids, codes)
    ns *= 1_000_000_000
    frame: dict[str, Any] = {"ts": ns.view("M8[ns]")}
    exact = True  # every label a text: the categories below are the trace's own (not checked again)
    for name, _ in STRING_COLUMNS:
        # the categories the trace keeps (trace_frame's rule): the labels that occur, sorted,
        # and for the event column every trace event in its order (an unknown one after them,
        # for trace_frame to refuse); each chunk's codes are mapped once to them
        known = _EVENTS if name == "event" else frozenset()
        present = set().union(*(_present(c[name], known) for c in chunks))
        exact = exact and all(isinstance(v, str) for v in present)
        cats = [*TRACE_EVENTS, *sorted(present - _EVENTS)] if name == "event" else sorted(present)
        small = np.int8 if len(cats) < 127 else np.int32  # (pandas' own code width: no conversion)
        merged: Any  # (the codes, in pandas' width)
        if len(cats) == 1:  # one label on every row (one journey): nothing to map or move
            merged = np.zeros(len(ns), dtype=small)
        else:
            index = {v: i for i, v in enumerate(cats)}
            luts = [np.asarray([index.get(v, -1) for v in c[name][1]], dtype=small) for c in chunks]
            merged = _gather(_joined([np.take(lut, c[name][0]) for lut, c in zip(luts, chunks, strict=True)]), order)
        frame[name] = pd.Categorical.from_codes(merged, dtype=pd.CategoricalDtype(cats), validate=False)
    versions = [c["version"] for c in chunks]
    v0 = versions[0][0]
    if all((v == v0).all() for v in versions):  # one version throughout (most runs): nothing to move
        frame["version"] = np.full(len(ns), v0, dtype=np.int64)
    else:
        frame["version"] = _gather(_joined(versions).astype(np.int64, copy=False), order)
    frame["user_id"] = _take_strings(user_ids, codes) if ids is None else ids.result()
    return trace_frame(**frame, _checked=exact), codes


def _present(column: tuple[np.ndarray, list[Any]], known: frozenset[str]) -> set[Any]:
    """The labels of a chunk's coded column that occur in its rows (a chunk has rows), the
    ``known`` ones left out unless others are looked for (a count of the codes is made only then).

    >>> sorted(_present((np.array([0, 2, 2]), ["a", "b", "c"]), frozenset()))
    ['a', 'c']
    >>> _present((np.array([0, 1]), ["entered", "left"]), frozenset({"entered", "left"}))
    set()
    """
    codes, labels = column
    if len(labels) == 1:
        return set(labels)
    if all(v in known for v in labels):
        return set()
    return {v for v, y in zip(labels, np.bincount(codes, minlength=len(labels)) > 0, strict=True) if y}


def _gather(values: np.ndarray, order: np.ndarray | slice) -> np.ndarray:
    """``values[order]`` (``np.take``: faster than indexing on one axis); a slice keeps them as they are."""
    if isinstance(order, slice):
        return values[order]
    out: np.ndarray = np.take(values, order)
    return out


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
