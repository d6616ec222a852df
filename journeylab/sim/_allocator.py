"""Keeping freed memory pages for reuse while simulating (Linux with glibc).

A simulation makes and drops many large numpy arrays (columns of a few hundred thousand to
millions of rows). glibc's ``malloc`` serves such a block by ``mmap`` and gives its pages back
to the kernel on ``free``, or trims them off the top of its heap; the next array of that size
then takes a page fault on the first touch of each of its 4 KB pages. On a virtual machine a
fault costs about 3 µs: six fresh columns of 431k rows (10.8 MB) take 18 ms to fill where
reused memory takes 12 ms, and a 100k-user run from Parquet spends about a tenth of its time
this way.

glibc adjusts these thresholds itself: after the first free of a block of 32 MB it serves
blocks up to that size from its heap and trims the heap only when 64 MB lie free at its top.
:func:`keep_freed_pages` sets those two values at once, so a run reuses pages from its start
instead of after its first large free. It is done once per process, and only when the user
has not tuned malloc (``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_``,
``GLIBC_TUNABLES``) or turned it off with ``JOURNEYLAB_KEEP_PAGES=0``. The cost is up to
64 MB of freed memory kept by the process for reuse, as glibc would keep after such a free.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys

__all__ = ["keep_freed_pages", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: blocks up to this size come from malloc's heap (glibc's own upper bound for its adjustment)
MMAP_THRESHOLD = 32 << 20
#: free memory at the top of the heap is given back to the kernel beyond this size
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

_M_TRIM_THRESHOLD = -1  # mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")

_state: dict[str, bool] = {}


def keep_freed_pages() -> bool:
    """Set glibc malloc's mmap threshold to :data:`MMAP_THRESHOLD` and its trim threshold to
    :data:`TRIM_THRESHOLD`, once per process; whether they are set (``False`` off Linux and
    glibc, or where the user chose otherwise: see the module docstring). Later calls return
    what the first did (tests/test_allocator.py shows the pages kept)."""
    if "set" not in _state:
        _state["set"] = _set()
    return _state["set"]


def _set() -> bool:
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return False
    if os.environ.get("JOURNEYLAB_KEEP_PAGES", "1") == "0" or any(v in os.environ for v in _USER_SETTINGS):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # (the process's own symbols: glibc's)
    except (OSError, AttributeError):  # pragma: no cover - a glibc without mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
