"""Stable hashing and counter-based random draws: the one source of randomness of journeylab.

Every random outcome — a Split branch, a simulated delivery, view, click, their latencies, a
goal lift — is a pure function of integers: the run's seed, stable hashes of ids (journey,
user, node) and small counters (enrollment number, visit, purpose). Nothing depends on the
order users are processed in, on sharding or on the process, and each draw has a scalar form
(pure Python integers, used by the per-user engine) and an array form (numpy ``uint64``, used
by the batched engine) that give the very same bits.

* :func:`stable_hash` — the first 8 bytes of the BLAKE2b digest of a text's UTF-8 bytes, read
  as a little-endian unsigned 64-bit integer (also the shard of a user, ``% 64``);
* :func:`mix` — the SplitMix64 finaliser folded over integers;
* :func:`uniform` — a draw in the open interval (0, 1) from a mixed key.

>>> uniform(mix(7, stable_hash("u1"), 3)) == float(uniform_array(mix_array(7, np.array([stable_hash("u1")], np.uint64), 3))[0])
True
>>> 0.0 < uniform(mix(1, 2)) < 1.0
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "stable_hash",
    "stable_hash_array",
    "user_key",
    "user_key_array",
    "user_key_ascii",
    "mix",
    "mix_array",
    "uniform",
    "uniform_array",
    "PURPOSES",
    "message_key",
    "message_key_array",
    "split_draw",
    "split_draw_array",
]

_M = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB

#: what a draw is for: one counter each, so draws of one message are independent
PURPOSES: dict[str, int] = {
    "split": 1,
    "delivered": 2,
    "viewed": 3,
    "view_latency": 4,
    "clicked": 5,
    "click_latency": 6,
    "lift": 7,
    "lift_latency": 8,
    "opt_out": 9,
    "opt_out_latency": 10,
}


def stable_hash(text: str) -> int:
    """Stable 64-bit hash of a text (BLAKE2b, 8-byte digest, little-endian), the same on every
    machine, process and Python run (Python's ``hash()`` of a ``str`` is salted per process).

    >>> stable_hash("u0000000")
    488534655153937188
    """
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def stable_hash_array(texts: Iterable[str]) -> np.ndarray:
    """:func:`stable_hash` of many texts, as a ``uint64`` array (about 0.5 s per million)."""
    blake = hashlib.blake2b
    digests = b"".join([blake(t.encode("utf-8"), digest_size=8).digest() for t in texts])
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64, copy=True)


_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


def user_key(user_id: str) -> int:
    """A user's key for random draws: FNV-1a 64 over the id's Unicode code points, mixed (fast
    for a million ids at once with :func:`user_key_array`, the same on every machine).

    >>> user_key("u0000001") == int(user_key_array(["u0000001"])[0])
    True
    """
    h = _FNV_OFFSET
    for ch in user_id:
        h = ((h ^ ord(ch)) * _FNV_PRIME) & _M
    return _splitmix(h)


def user_key_array(user_ids: Sequence[str]) -> np.ndarray:
    """:func:`user_key` of many ids (``uint64``), code-point column by column."""
    n = len(user_ids)
    if not n:
        return np.zeros(0, dtype=np.uint64)
    arr = np.asarray(user_ids, dtype=np.str_)
    width = arr.dtype.itemsize // 4
    cps = arr.view(np.uint32).reshape(n, width) if width else np.zeros((n, 0), dtype=np.uint32)
    lengths = np.char.str_len(arr)
    h = np.full(n, _FNV_OFFSET, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for j in range(width):
            live = lengths > j
            h = np.where(live, (h ^ cps[:, j].astype(np.uint64)) * prime, h)
    out = _splitmix_array(h)
    for i, u in enumerate(user_ids):  # numpy drops trailing NULs: those few ids one by one
        if u.endswith("\0"):
            out[i] = user_key(u)
    return out


def user_key_ascii(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """:func:`user_key` of ASCII ids laid out as one byte buffer ``data`` and ``n + 1``
    ``offsets`` (each id ``data[offsets[i]:offsets[i + 1]]``; the layout of an Arrow string
    column): no Python string per id. Bytes are code points only in ASCII, so callers pass
    ASCII ids only.

    >>> ids = ["u0000001", "", "ab" + chr(0), "x"]
    >>> raw = "".join(ids).encode()
    >>> offsets = np.cumsum([0, *map(len, ids)])
    >>> user_key_ascii(np.frombuffer(raw, np.uint8), offsets).tolist() == [user_key(u) for u in ids]
    True
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    starts, lengths = offsets[:-1], np.diff(offsets)
    h = np.full(len(lengths), _FNV_OFFSET, dtype=np.uint64)
    if not len(lengths):
        return h
    data = np.asarray(data, dtype=np.uint8)
    prime = np.uint64(_FNV_PRIME)
    shortest = int(lengths.min())
    with np.errstate(over="ignore"):
        for j in range(int(lengths.max())):
            if j < shortest:  # every id has a j-th character (ids of one length: always)
                h = (h ^ data[starts + j].astype(np.uint64)) * prime
            else:
                live = np.flatnonzero(lengths > j)
                h[live] = (h[live] ^ data[starts[live] + j].astype(np.uint64)) * prime
    return _splitmix_array(h)


def _splitmix(z: int) -> int:
    z = (z + _GOLDEN) & _M
    z = ((z ^ (z >> 30)) * _C1) & _M
    z = ((z ^ (z >> 27)) * _C2) & _M
    return z ^ (z >> 31)


def mix(*parts: int) -> int:
    """Fold integers (each taken modulo 2**64) into one 64-bit key with SplitMix64."""
    h = 0
    for p in parts:
        h = _splitmix(h ^ (int(p) & _M))
    return h


def _splitmix_array(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = z + np.uint64(_GOLDEN)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(_C1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(_C2)
    mixed: np.ndarray = z ^ (z >> np.uint64(31))
    return mixed


def mix_array(*parts: int | np.ndarray) -> np.ndarray:
    """:func:`mix` over arrays (broadcast): each part an integer or an integer array."""
    h: np.ndarray = np.zeros((), dtype=np.uint64)
    for p in parts:
        v = np.asarray(p)
        v = v.astype(np.uint64) if v.dtype != np.uint64 else v  # negative integers wrap, as in mix()
        h = _splitmix_array(h ^ v)
    return h


def uniform(key: int) -> float:
    """A draw in the open interval (0, 1) from a 64-bit key: its top 52 bits, centred in their
    interval (exact in a double, so never 0 or 1)."""
    return ((key >> 12) + 0.5) * 2.0**-52


def uniform_array(keys: np.ndarray) -> np.ndarray:
    """:func:`uniform` of many keys (the same doubles)."""
    return ((keys >> np.uint64(12)).astype(np.float64) + 0.5) * 2.0**-52


def message_key(journey_hash: int, version: int, user_hash: int, n: int, node_hash: int, visit: int) -> int:
    """The key of one message: what its id says (journey, version, user, enrollment, node, visit)."""
    return mix(journey_hash, version, user_hash, n, node_hash, visit)


def message_key_array(
    journey_hash: int, version: int, user_hash: np.ndarray, n: np.ndarray, node_hash: np.ndarray, visit: np.ndarray
) -> np.ndarray:
    return mix_array(journey_hash, version, user_hash, n, node_hash, visit)


def split_draw(seed: int, journey_hash: int, user: int, n: int, node_hash: int, visit: int) -> float:
    """A Split's draw in (0, 1) for one user's arrival: per seed, journey, user (its
    :func:`user_key`), enrollment, node and visit (so a user's branch depends on no one else)."""
    return uniform(mix(seed, PURPOSES["split"], journey_hash, user, n, node_hash, visit))


def split_draw_array(
    seed: int, journey_hash: int, user: np.ndarray, n: np.ndarray, node_hash: int, visit: np.ndarray
) -> np.ndarray:
    """:func:`split_draw` of many arrivals."""
    return uniform_array(mix_array(seed, PURPOSES["split"], journey_hash, user, n, node_hash, visit))
