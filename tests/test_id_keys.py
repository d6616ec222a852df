"""Looking user ids up and sorting them by integer keys (journeylab/datasets/_arrow.py:
``short_keys``, ``positions_in``, ``string_order``) against Arrow's own kernels on the strings."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylab.datasets._arrow import positions_in, short_keys, string_order

# ids of at most 8 bytes (é: two, ✓: three), and others: longer, or with a NUL byte
SHORT = st.text(alphabet=st.sampled_from(["a", "b", "0", "9", "\x7f", "é", "✓"]), max_size=8).filter(
    lambda s: len(s.encode()) <= 8
)
OTHER = st.text(alphabet=st.sampled_from(["a", "é", "✓", "\x00"]), min_size=1, max_size=6)


@st.composite
def id_lists(draw, max_size: int) -> list[str]:
    """Mostly lists of short ids only (keys), else with one or two other ids among them (hashes)."""
    values = draw(st.lists(SHORT, max_size=max_size))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        values.insert(draw(st.integers(0, len(values))), draw(OTHER))
    return values


SETTINGS = settings(max_examples=150, deadline=None, database=None, derandomize=True)


def _fits(s: str) -> bool:
    return len(s.encode()) <= 8 and "\x00" not in s


@SETTINGS
@given(values=id_lists(40), large=st.booleans())
def test_short_keys_are_equal_and_ordered_exactly_as_the_strings(values, large):
    arr = pa.array(values, type=pa.large_string() if large else pa.string())
    keys = short_keys(arr)
    if not all(_fits(v) for v in values):
        assert keys is None
        return
    assert keys is not None and len(keys) == len(values)
    for i, a in enumerate(values):
        for j, b in enumerate(values):
            assert (keys[i] == keys[j]) == (a == b)
            assert (keys[i] < keys[j]) == (a.encode() < b.encode())  # byte order, as Arrow compares


def test_short_keys_refuse_missing_values_and_read_slices():
    assert short_keys(pa.array(["a", None])) is None
    assert short_keys(pa.array([1, 2])) is None
    arr = pa.array(["zz", "u0000001", "b", "u0000002"])
    assert short_keys(arr.slice(1, 3)).tolist() == short_keys(pa.array(["u0000001", "b", "u0000002"])).tolist()
    eight = pa.array(["u0000001", "u0000002", "u0000003"]).slice(1)  # the all-8-bytes path, sliced
    assert short_keys(eight).tolist() == short_keys(pa.array(["u0000002", "u0000003"])).tolist()
    shifted = pa.array(["abc", "u0000002", "u0000003"]).slice(1)  # bytes from an unaligned start
    assert short_keys(shifted).tolist() == short_keys(pa.array(["u0000002", "u0000003"])).tolist()
    assert short_keys(pa.chunked_array([pa.array(["a"]), pa.array(["b"])])).tolist() == [
        0x61 << 56,
        0x62 << 56,
    ]


@SETTINGS
@given(values=id_lists(30), universe=id_lists(30))
def test_positions_are_arrows_index_in(values, universe):
    """Short ids by their keys, any other by Arrow's hash: the first row of each value, -1 when
    absent, whatever the universe's order and repeats."""
    v, u = pa.array(values, type=pa.string()), pa.array(universe, type=pa.string())
    want = pc.index_in(v, value_set=u).fill_null(-1).to_pylist()
    assert positions_in(v, u).tolist() == want
    assert positions_in(v, pa.array(sorted(set(universe)), type=pa.string())).tolist() == [
        sorted(set(universe)).index(x) if x in universe else -1 for x in values
    ]


@SETTINGS
@given(values=id_lists(40), runs=st.booleans())
def test_string_order_is_arrows_stable_sort(values, runs):
    """By keys or by Arrow: equal strings keep their row order; sorted runs one after the
    other (the parts' users) come out merged."""
    if runs:
        values = sorted(values[: len(values) // 2], key=str.encode) + sorted(values[len(values) // 2 :], key=str.encode)
    arr = pa.array(values, type=pa.string())
    assert string_order(arr).tolist() == pc.sort_indices(arr).to_pylist()
