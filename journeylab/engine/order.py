"""Stable sort order of non-negative integer keys by radix passes.

NumPy sorts 16-bit keys stably by radix sort, several times faster than its stable sort of
64-bit keys (a merge sort): a key of up to 64 bits is sorted in one pass per 16 bits it uses,
least significant first (an LSD radix sort), each pass stable. The simulator orders trace rows
(by instant and user) and events (by user and time) this way.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stable_order"]

_MASK = np.uint64(0xFFFF)


def stable_order(keys: np.ndarray) -> np.ndarray:
    """The stable sort order of integer ``keys``: ``np.argsort(keys, kind="stable")``, by
    16-bit radix passes when every key is non-negative (one pass per 16 bits of the largest).

    >>> stable_order(np.array([5, 1, 5, 0, 70000, 2**40, 3])).tolist()
    [3, 1, 6, 0, 2, 4, 5]
    >>> rng = np.random.default_rng(0)
    >>> k = rng.integers(0, 2**50, 1000) // rng.integers(1, 2**40, 1000)  # repeats: stability shows
    >>> bool((stable_order(k) == np.argsort(k, kind="stable")).all())
    True
    """
    keys = np.asarray(keys)
    if len(keys) == 0 or keys.dtype.kind not in "iu" or keys.min() < 0:
        return np.argsort(keys, kind="stable")
    k = keys.astype(np.uint64, copy=False)
    order = np.argsort((k & _MASK).astype(np.uint16), kind="stable")
    top = int(keys.max())
    shift = 16
    while top >> shift:
        part = ((k[order] >> np.uint64(shift)) & _MASK).astype(np.uint16)
        order = order[np.argsort(part, kind="stable")]
        shift += 16
    return order
