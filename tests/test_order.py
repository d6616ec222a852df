"""Stable orders of integer keys (journeylab/engine/order.py) against numpy's own stable sorts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylab.engine.order import order_by_pair, stable_order


@settings(max_examples=200, deadline=None, database=None, derandomize=True)
@given(
    n=st.integers(0, 2_000),
    span=st.sampled_from([1, 3, 1_000, 2**31, 2**40]),
    bound=st.sampled_from([1, 2, 17, 100_000]),
    offset=st.integers(-(2**40), 2**40),
    seed=st.integers(0, 2**32 - 1),
)
def test_order_by_pair_is_a_stable_sort_by_both_columns(n, span, bound, offset, seed):
    """Equal pairs keep their row order; the sorted columns read back from the keys are the
    columns gathered through the order; pairs too wide to pack with a row number are refused."""
    rng = np.random.default_rng(seed)
    major = rng.integers(0, span, n) + offset
    minor = rng.integers(0, bound, n)
    got = order_by_pair(major, minor, bound)
    if n == 0:
        assert got is None
        return
    want = np.lexsort((minor, major))  # (stable)
    width = int(major.max() - major.min()).bit_length() + max(bound - 1, 1).bit_length() + max(n - 1, 1).bit_length()
    assert (got is None) == (width > 63), width
    if got is None:
        return
    order, a, b = got
    assert order.tolist() == want.tolist()
    assert a.tolist() == major[want].tolist() and b.tolist() == minor[want].tolist()


@settings(max_examples=100, deadline=None, database=None, derandomize=True)
@given(n=st.integers(0, 3_000), top=st.sampled_from([1, 5, 2**16, 2**40, 2**62]), seed=st.integers(0, 2**32 - 1))
def test_stable_order_is_numpys_stable_argsort(n, top, seed):
    keys = np.random.default_rng(seed).integers(0, top, n)
    assert stable_order(keys).tolist() == np.argsort(keys, kind="stable").tolist()
