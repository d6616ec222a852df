"""Vectorized builders of Arrow string columns and the Arrow <-> pandas conversion of cohorts.

Generators work on numpy code arrays (an ``int`` per row indexing a vocabulary) and turn
them into Arrow string arrays in C++ (dictionary decode, ``take``, fixed-width buffers), never
through one Python string per row. Tables then become pandas frames with pandas' ``str``
dtype (Arrow-backed), ``datetime64[ns, UTC]`` timestamps, and NaN/NaT/None where missing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TS_TYPE = pa.timestamp("ns", tz="UTC")
NS = 1_000_000_000

_DIGITS4 = np.array([list(f"{i:04d}".encode()) for i in range(10_000)], dtype=np.uint8)
_DIGITS4_U32 = _DIGITS4.view(np.uint32).ravel()
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_CHUNK = 1 << 18


def release_memory() -> None:
    """Give freed memory back to the operating system (glibc heap and Arrow's pool), if possible.

    Generating a big cohort frees many mid-sized numpy arrays; glibc keeps them in its heap,
    which would add ~0.5 GB to the peak of a 1M-user generation. A no-op where unsupported.
    """
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)
    pa.default_memory_pool().release_unused()


_malloc_trim: Callable[[int], int] | Literal[False] | None = None  # None: not looked up yet; False: unsupported


def _bitmap(valid: np.ndarray | None, n: int) -> tuple[pa.Buffer | None, int]:
    if valid is None or valid.all():
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), int(n - np.count_nonzero(valid))


def _from_matrix(chars: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow ``large_string`` array from an (n, width) uint8 matrix of ASCII bytes (one row per value)."""
    n, width = chars.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    bitmap, null_count = _bitmap(valid, n)
    data = pa.py_buffer(np.ascontiguousarray(chars).reshape(-1))
    return pa.Array.from_buffers(pa.large_string(), n, [bitmap, pa.py_buffer(offsets), data], null_count=null_count)


def numbered(prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """Strings ``prefix + zero-padded number`` for non-negative ints, e.g. ``u0000042``.

    >>> numbered("u", np.array([0, 42]), 7).to_pylist()
    ['u0000000', 'u0000042']
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"numbers do not fit in {width} digits")
    p = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars = np.empty((len(numbers), len(p) + width), dtype=np.uint8)
    chars[:, : len(p)] = p
    for lo in range(0, len(numbers), _CHUNK):  # chunks keep the temporaries small and in cache
        x, out = numbers[lo : lo + _CHUNK], chars[lo : lo + _CHUNK, len(p) :]
        if width > 8:  # split so that both halves fit uint32 arithmetic (~10x faster than uint64)
            high, low = np.divmod(x, 10**8)
            out[:, : width - 8] = _digits(high.astype(np.uint32), width - 8)
            out[:, width - 8 :] = _digits(low.astype(np.uint32), 8)
        else:
            out[:] = _digits(x.astype(np.uint32), width)
    return _from_matrix(chars, valid)


def _digits(x: np.ndarray, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of the zero-padded decimal digits of uint32 values."""
    nchunks = -(-width // 4)
    cells = np.empty((len(x), nchunks), dtype=np.uint32)  # 4 ASCII digits per cell
    base = np.uint32(10_000)
    for j in range(nchunks - 1, -1, -1):
        cells[:, j] = _DIGITS4_U32[x % base]
        x = x // base
    return cells.view(np.uint8)[:, 4 * nchunks - width :]


def hex_tokens(prefix: str, values: np.ndarray, valid: np.ndarray | None = None, ndigits: int = 16) -> pa.Array:
    """Strings ``prefix + hex digits`` of uint64 values (device tokens and the like).

    >>> hex_tokens("t_", np.array([255], dtype=np.uint64), ndigits=4).to_pylist()
    ['t_00ff']
    """
    values = np.asarray(values, dtype=np.uint64)
    p = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    chars = np.empty((len(values), len(p) + ndigits), dtype=np.uint8)
    chars[:, : len(p)] = p
    for k in range(ndigits):
        shift = np.uint64(4 * (ndigits - 1 - k))
        chars[:, len(p) + k] = _HEX[((values >> shift) & np.uint64(15)).astype(np.intp)]
    return _from_matrix(chars, valid)


def decode(codes: np.ndarray, vocab: Sequence[str]) -> pa.Array:
    """Arrow ``large_string`` array ``vocab[code]`` per row; a negative code means missing.

    >>> decode(np.array([1, -1, 0]), ["a", "b"]).to_pylist()
    ['b', None, 'a']
    """
    return pa.array(list(vocab), pa.large_string()).take(_indices(codes, len(vocab)))


def _indices(codes: np.ndarray, size: int) -> pa.Array:
    """Arrow integer array over the codes (no copy when the dtype fits), null where negative."""
    codes = np.asarray(codes)
    itype = np.int8 if size < 128 else np.int16 if size < 32768 else np.int32
    codes = np.ascontiguousarray(codes.astype(itype, copy=False))
    bitmap, null_count = _bitmap(codes >= 0, len(codes))
    return pa.Array.from_buffers(pa.from_numpy_dtype(itype), len(codes), [bitmap, pa.py_buffer(codes)], null_count)


def categorical(codes: np.ndarray, vocab: Sequence[str]) -> pa.Array:
    """Arrow dictionary array (pandas ``category``, categories ``vocab``); a negative code is missing.

    >>> categorical(np.array([1, -1]), ["a", "b"]).to_pylist()
    ['b', None]
    """
    idx = _indices(codes, len(vocab))
    return pa.DictionaryArray.from_arrays(idx, pa.array(list(vocab), pa.large_string()))


def large(arr: pa.Array) -> pa.Array:
    """``large_string`` version of a string array (what pandas' ``str`` dtype holds: no copy later)."""
    return arr.cast(pa.large_string()) if pa.types.is_string(arr.type) else arr


def floats(values: np.ndarray) -> pa.Array:
    """Arrow ``double`` array where NaN becomes null."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    bitmap, null_count = _bitmap(~np.isnan(values), len(values))
    return pa.Array.from_buffers(pa.float64(), len(values), [bitmap, pa.py_buffer(values)], null_count)


def timestamps(ns: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow ``timestamp[ns, UTC]`` array over int64 nanoseconds since the epoch (no copy)."""
    ns = np.ascontiguousarray(ns, dtype=np.int64)
    bitmap, null_count = _bitmap(valid, len(ns))
    return pa.Array.from_buffers(TS_TYPE, len(ns), [bitmap, pa.py_buffer(ns)], null_count=null_count)


def concat_strings(*parts: pa.Array | str) -> pa.Array:
    """Row-wise concatenation of Arrow string arrays and literal strings (null if any part is null)."""
    args = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else large(p) for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.large_string()))


def to_frame(table: pa.Table, *, keep_arrow: Sequence[str] = ()) -> pd.DataFrame:
    """pandas frame of a cohort table: ``str`` columns, ``datetime64[ns, UTC]``, list columns as lists,
    integer columns with missing values as ``Int64``.

    ``keep_arrow`` names dictionary-encoded columns to keep in Arrow (a ``pd.ArrowDtype``
    column over one chunk, its dictionaries unified): no pandas categorical is built, which on a
    column of a million distinct identifiers is most of the conversion's time.

    Called for every ``load`` so each caller gets fresh, independent objects.
    """
    kept = {}
    for name in keep_arrow:
        if name in table.column_names and pa.types.is_dictionary(table.schema.field(name).type):
            col = table.column(name)
            if col.num_chunks > 1:  # Arrow's dictionary unifier keeps each value once
                one = col.unify_dictionaries().combine_chunks()
                _distinct(one.dictionary, known=True)
            else:  # (one chunk's dictionary is checked where it is read)
                one = col.combine_chunks()
            kept[name] = pd.arrays.ArrowExtensionArray(pa.chunked_array([one]))
    rest = table.drop_columns(list(kept)) if kept else table
    df = rest.to_pandas(split_blocks=True)  # no consolidation copies; numeric columns are copied below
    if kept:
        df = pd.DataFrame({c: kept[c] if c in kept else df[c] for c in table.column_names}, index=df.index)
    for name, typ in zip(rest.column_names, rest.schema.types, strict=True):
        col = rest.column(name)
        if pa.types.is_list(typ) or pa.types.is_large_list(typ):
            df[name] = pd.Series(
                [None if v is None else list(v) for v in col.to_pylist()], index=df.index, dtype=object
            )
        elif pa.types.is_integer(typ) and col.null_count:
            df[name] = pd.array(col.to_pylist(), dtype="Int64")
        elif not (pa.types.is_string(typ) or pa.types.is_large_string(typ)):
            # numpy data converted without a copy is read-only: copy it so callers can modify it in place
            df[name] = df[name].copy(deep=True)
    return df


def dictionary_is_in(col: pa.ChunkedArray | pa.Array, values: Sequence[str] | pa.Array) -> pa.ChunkedArray:
    """Whether each value of a (dictionary-encoded) column is one of ``values`` (missing: no):
    each chunk's dictionary is tested, then read through the indices (no string per row).

    >>> dictionary_is_in(pa.array(["a", None, "b", "a"]).dictionary_encode(), ["a"]).to_pylist()
    [True, False, False, True]
    """
    wanted = values.cast(pa.string()) if isinstance(values, pa.Array) else pa.array(list(values), type=pa.string())
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    parts = []
    tested: dict[tuple[Any, ...], np.ndarray] = {}  # small dictionaries already tested (row groups repeat them)
    for chunk in chunks:
        if pa.types.is_dictionary(chunk.type):  # each index read in numpy (no Arrow take kernel)
            small = len(chunk.dictionary) <= 256
            key = tuple(chunk.dictionary.to_pylist()) if small else ()
            hit_np = tested.get(key) if small else None
            if hit_np is None:
                hit = pc.is_in(chunk.dictionary.cast(pa.string()), value_set=wanted).fill_null(False)
                hit_np = hit.to_numpy(zero_copy_only=False)
                if small:
                    tested[key] = hit_np
            if chunk.null_count:  # a missing value: index 0 read, then no
                idx = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
                valid = chunk.is_valid().to_numpy(zero_copy_only=False)
                row_hit = hit_np[idx] & valid if len(hit_np) else np.zeros(len(idx), bool)
            else:
                row_hit = hit_np[chunk.indices.to_numpy(zero_copy_only=False)]
            parts.append(pa.array(row_hit, type=pa.bool_()))
        else:
            parts.append(pc.fill_null(pc.is_in(chunk.cast(pa.string()), value_set=wanted), False))
    return pa.chunked_array(parts, type=pa.bool_())


def arrow_dictionary(values: pd.Series) -> pa.DictionaryArray | None:
    """The one Arrow dictionary array behind a ``pd.ArrowDtype`` dictionary column of strings
    whose dictionary holds each value once (``None`` for any other column)."""
    dtype = values.dtype
    if not isinstance(dtype, pd.ArrowDtype) or not pa.types.is_dictionary(dtype.pyarrow_dtype):
        return None
    vt = dtype.pyarrow_dtype.value_type
    if not (pa.types.is_string(vt) or pa.types.is_large_string(vt)):
        return None
    arr = pa.array(values.array)
    d = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    return d if _distinct(d.dictionary) else None  # with repeats, codes would not identify values


#: dictionaries known to hold each value once, by their buffers (each kept alive by its entry, so
#: an address is never reused while listed): slices and takes of a column share its dictionary,
#: and every step of a run reading the same column checks it once
_DISTINCT: dict[tuple[int, ...], pa.Array] = {}


def array_key(arr: pa.Array) -> tuple[int, ...]:
    """What identifies an Arrow array's data: its length, offset and buffers' addresses (equal
    keys: the same values, as long as the array is alive)."""
    return (len(arr), arr.offset, *(b.address if b is not None else 0 for b in arr.buffers()))


def _distinct(dictionary: pa.Array, *, known: bool = False) -> bool:
    """Whether ``dictionary`` holds each value once (remembered); ``known=True``: the caller
    knows it does (it comes from Arrow's dictionary unifier)."""
    key = array_key(dictionary)
    if key in _DISTINCT:
        return True
    if not known and pc.count_distinct(dictionary, mode="all").as_py() != len(dictionary):
        return False
    while len(_DISTINCT) >= 8:  # the oldest entry out
        del _DISTINCT[next(iter(_DISTINCT))]
    _DISTINCT[key] = dictionary
    return True


def _string_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The ``n + 1`` offsets (int64, from the array's first byte) and the bytes of an Arrow
    string array, without a copy of the bytes."""
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    _, offsets, data = arr.buffers()
    off = np.frombuffer(offsets, dtype=width)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    return off, raw


def short_keys(arr: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """Each string of ``arr`` as one ``uint64``: its (UTF-8) bytes big-endian, zero-padded to
    eight. For strings of at most 8 bytes without a NUL byte the keys are equal exactly when the
    strings are, and order as the strings do (byte order, Arrow's); ``None`` for any other
    array (a longer string, a NUL byte, a missing value, not strings): callers hash instead.

    >>> hex(int(short_keys(pa.array(["ab"]))[0]))
    '0x6162000000000000'
    >>> k = short_keys(pa.array(["ab", "b", "u0000001", "u0000002"]))
    >>> bool((k[1:] > k[:-1]).all()), short_keys(pa.array(["a" * 9])), short_keys(pa.array(["a", None]))
    (True, None, None)
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.null_count or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    keys = np.zeros(len(arr), dtype=np.uint64)
    if not len(arr):
        return keys
    off, raw = _string_buffers(arr)
    lengths = np.diff(off)
    longest, shortest = int(lengths.max()), int(lengths.min())
    if longest > 8:
        return None
    data = raw[off[0] : off[-1]]
    if not data.all():  # a NUL byte: "a" and "a\0" would pad alike
        return None
    if shortest == 8:  # every string 8 bytes, one after the other: the bytes are the keys
        return data.view(">u8").astype(np.uint64)
    starts = off[:-1]
    for j in range(longest):
        rows = slice(None) if j < shortest else np.flatnonzero(lengths > j)
        keys[rows] |= raw[starts[rows] + j].astype(np.uint64) << np.uint64(8 * (7 - j))
    return keys


def positions_in(values: pa.Array, universe: pa.Array) -> np.ndarray:
    """Where each of the strings ``values`` sits in ``universe`` (its first row there; -1:
    absent), as ``int64``. Short ids (:func:`short_keys`) are found by binary search over their
    integer keys (78k ids among 100k: 10 ms against 26 ms for Arrow's hash); any other ids are
    hashed by Arrow.

    >>> positions_in(pa.array(["b", "z", "a"]), pa.array(["a", "b", "a"])).tolist()
    [1, -1, 0]
    >>> positions_in(pa.array(["b" * 9, "z"]), pa.array(["a", "b" * 9])).tolist()
    [1, -1]
    """
    vk = short_keys(values)
    uk = None if vk is None else short_keys(universe)
    if vk is None or uk is None:
        found = pc.index_in(values.cast(pa.string()), value_set=universe.cast(pa.string()))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return _search(vk, uk)


def string_order(arr: pa.Array) -> np.ndarray:
    """The stable sort of the strings ``arr`` (byte order, as Arrow sorts them): by their
    integer keys when they are short (:func:`short_keys`; runs already in order, such as the
    parts' users, are merged rather than sorted), else by Arrow's ``sort_indices``.

    >>> string_order(pa.array(["b", "a", "b", "ab"])).tolist()
    [1, 3, 0, 2]
    """
    keys = short_keys(arr)
    if keys is None:
        return pc.sort_indices(arr).to_numpy().astype(np.int64)
    return np.argsort(keys, kind="stable")


def _search(vk: np.ndarray, uk: np.ndarray) -> np.ndarray:
    """Where each key ``vk`` sits among the keys ``uk`` (first row; -1: absent). The queries are
    searched in sorted order (at random, a search for every key misses the cache at each step:
    38k among 100k in 8 ms, against 3.6 ms sorted first)."""
    out = np.full(len(vk), -1, dtype=np.int64)
    if not len(vk) or not len(uk):
        return out
    order = None if len(uk) < 2 or bool((uk[1:] > uk[:-1]).all()) else np.argsort(uk, kind="stable")
    ordered = uk if order is None else uk[order]
    q = np.argsort(vk)
    queries = vk[q]
    found = np.searchsorted(ordered, queries)
    found[found == len(ordered)] = 0
    hit = ordered[found] == queries
    rows = found[hit] if order is None else order[found[hit]]
    out[q[hit]] = rows
    return out
