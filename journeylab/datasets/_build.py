"""Shared machinery of the bundled dataset generators: event buffers and table assembly.

A generator emits events in vectorized batches (one call per kind of event and step, for
all users or sessions at once) into an ``EventBuffer``; ``events_table`` then sorts them by
time (stable), numbers them and builds the Arrow table in the documented schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from journeylab.datasets import _arrow as A


@dataclass(frozen=True)
class Prop:
    """An event property column: ``kind`` is ``"str"`` (codes into ``vocab``), ``"float"`` or ``"int"``."""

    kind: str
    vocab: Sequence[str] = ()

    @property
    def fill(self):
        return -1 if self.kind == "str" else np.nan if self.kind == "float" else np.iinfo(np.int64).min

    @property
    def dtype(self):
        return np.int32 if self.kind == "str" else np.float64 if self.kind == "float" else np.int64


@dataclass
class EventBuffer:
    """Events emitted in batches: ``owner`` (a user or session index), ``t`` (seconds), event code, properties."""

    events: Sequence[str]
    props: dict[str, Prop]
    _parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def emit(self, owner, t, event: str, **props) -> None:
        """Add ``len(owner)`` events named ``event``; properties are arrays or scalars (str codes as ints)."""
        owner = np.asarray(owner, dtype=np.int64)
        if len(owner) == 0:
            return
        part = {
            "owner": owner,
            "t": np.broadcast_to(np.asarray(t, dtype=np.int64), owner.shape),
            "event": np.full(len(owner), self.events.index(event), dtype=np.int16),
        }
        for name, value in props.items():
            if name not in self.props:
                raise KeyError(f"unknown event property {name!r}")
            part[name] = np.broadcast_to(np.asarray(value, dtype=self.props[name].dtype), owner.shape)
        self._parts.append(part)

    def arrays(self) -> dict[str, np.ndarray]:
        """All emitted events, concatenated in emission order; missing properties filled."""
        out = {}
        for name, dtype in (("owner", np.int64), ("t", np.int64), ("event", np.int16)):
            out[name] = np.concatenate([p[name] for p in self._parts]).astype(dtype, copy=False)
        for name, prop in self.props.items():
            out[name] = np.concatenate(
                [p[name] if name in p else np.full(len(p["owner"]), prop.fill, dtype=prop.dtype) for p in self._parts]
            )
        return out


def events_table(
    user_ids: Sequence[str],
    user: np.ndarray,
    ts_s: np.ndarray,
    arrays: dict[str, np.ndarray],
    events: Sequence[str],
    props: dict[str, Prop],
    id_prefix: str,
) -> pa.Table:
    """The events table: rows sorted by ``ts`` (stable: emission order breaks ties), ids numbered in that order.

    ``user`` indexes ``user_ids``; ``ts_s`` is epoch seconds; ``arrays`` holds ``event`` codes and
    the property arrays of ``props``.
    """
    order = np.argsort(ts_s, kind="stable")
    uid = pa.array(list(user_ids), pa.large_string())
    cols = {
        "user_id": uid.take(pa.array(user[order])),
        "ts": A.timestamps(ts_s[order] * A.NS),
        "event": A.decode(arrays["event"][order], events),
        "event_id": A.numbered(id_prefix, np.arange(len(order)), max(7, len(str(len(order))))),
    }
    for name, prop in props.items():
        v = arrays[name][order]
        if prop.kind == "str":
            cols[name] = A.decode(v, prop.vocab)
        elif prop.kind == "float":
            cols[name] = A.floats(v)
        else:
            cols[name] = pa.array(v, type=pa.int64(), mask=v == prop.fill)
    return pa.table(cols)


def renumber_by_time(codes: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Codes (>= 0; -1 = none) renumbered 0, 1, 2, ... in order of first appearance in time.

    >>> renumber_by_time(np.array([5, -1, 2, 5]), np.array([30, 10, 20, 40])).tolist()
    [1, -1, 0, 1]
    """
    out = np.full(len(codes), -1, dtype=np.int64)
    has = np.flatnonzero(codes >= 0)
    order = has[np.argsort(ts[has], kind="stable")]
    uniq, first = np.unique(codes[order], return_index=True)
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(uniq))
    out[has] = rank[np.searchsorted(uniq, codes[has])]
    return out


def group_starts(counts: np.ndarray) -> np.ndarray:
    """Index of the first row of each consecutive group of the given sizes."""
    return np.cumsum(counts) - counts


def rank_within(groups: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within runs of equal consecutive ``groups`` values."""
    n = len(groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.r_[True, groups[1:] != groups[:-1]]
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    return np.arange(n) - start


def separate_sessions(
    user: np.ndarray, start: np.ndarray, duration: np.ndarray, gap: int, fixed: np.ndarray | None = None
) -> np.ndarray:
    """Session starts moved later so that each user's sessions are at least ``gap`` seconds apart.

    Sessions are identified by position; returns the new starts (same order as the input).
    ``fixed`` sessions (e.g. a renewal charged at a set time) keep their start but still
    push the sessions after them. One vectorized pass per session rank, so the cost grows
    with the busiest user's session count.

    >>> separate_sessions(np.array([0, 0, 1]), np.array([100, 0, 5]), np.array([50, 80, 10]), gap=30).tolist()
    [110, 0, 5]
    """
    order = np.lexsort((start, user))
    s = start[order].copy()
    d = duration[order]
    u = user[order]
    f = np.zeros(len(s), dtype=bool) if fixed is None else fixed[order]
    rank = rank_within(u)
    for r in range(1, int(rank.max(initial=0)) + 1):
        idx = np.flatnonzero(rank == r)
        s[idx] = np.where(f[idx], s[idx], np.maximum(s[idx], s[idx - 1] + d[idx - 1] + gap))
    out = np.empty_like(s)
    out[order] = s
    return out


def pick(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Codes 0..k-1 drawn with the given relative weights."""
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def pick_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One code per row of a (n, k) matrix of probabilities (rows need not be normalized)."""
    cdf = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cdf[:, -1]
    return (u[:, None] >= cdf).sum(axis=1)
