"""The trace merged from the loops' (or the parts') columnar chunks is the frame built row by row
and sorted into canonical order, whatever the chunks hold: instants before 1970 or centuries
after it, labels a chunk has and never uses, one journey or several, versions that differ."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylab.engine.types import TRACE_EVENTS
from journeylab.sim.output import STRING_COLUMNS, merge_trace_codes
from journeylab.trace import trace_frame

LABELS = {
    "journey": ["j1", "j2"],
    "node": ["entry", "push", "wait", "exit", "unused"],
    "event": list(TRACE_EVENTS),
    "port": ["", "yes", "no", "next"],
    "detail": ["", "entry", "push", "goal:Buy"],
}


@st.composite
def chunked_rows(draw: st.DrawFn) -> tuple[list[dict], list[str], list[tuple]]:
    """Chunks as the loops hand them over (each user's rows in one chunk, each chunk in
    canonical order, label tables in an order of the chunk's own), the user ids, and every row
    as ``(user_id, ts, journey, version, node, event, port, detail)``."""
    n_users = draw(st.integers(1, 12))
    user_ids = [f"u{i:03d}" for i in range(n_users)]
    n_chunks = draw(st.integers(1, 3))
    owner = draw(st.lists(st.integers(0, n_chunks - 1), min_size=n_users, max_size=n_users))
    # instants near one another, or spread over the whole range of the trace's nanoseconds
    lo, hi = draw(st.sampled_from([(-86_400 * 400, 86_400 * 400), (-9_000_000_000, 9_000_000_000)]))
    # a few instants, so that users share them and a user has several rows at one
    instants = draw(st.lists(st.integers(lo, hi), min_size=1, max_size=4))
    several = draw(st.booleans())
    versions = draw(st.sampled_from([[1], [1, 2]]))
    chunks, rows = [], []
    for k in range(n_chunks):
        users = [u for u in range(n_users) if owner[u] == k]
        mine = draw(
            st.lists(
                st.tuples(
                    st.sampled_from(users) if users else st.nothing(),
                    st.sampled_from(instants),
                    st.integers(0, 1 if several else 0),
                    st.sampled_from(versions),
                    *(st.integers(0, len(LABELS[name]) - 1) for name in ("node", "event", "port", "detail")),
                ),
                max_size=60 if users else 0,
            )
        )
        mine.sort(key=lambda r: (r[1], r[0]))  # canonical within the chunk (each user's rows in draw order)
        if not mine:
            chunks.append({"n": 0})
            continue
        cols = list(zip(*mine, strict=True))
        chunk: dict = {
            "n": len(mine),
            "user": np.array(cols[0], dtype=np.int64),
            "ts": np.array(cols[1], dtype=np.int64),
            "version": np.array(cols[3], dtype=np.int32),
        }
        for (name, _), col in zip(STRING_COLUMNS, (cols[2], *cols[4:]), strict=True):
            labels = LABELS[name]
            perm = draw(st.permutations(range(len(labels))))  # the chunk's own label order
            where = {old: new for new, old in enumerate(perm)}
            chunk[name] = (np.array([where[c] for c in col], dtype=np.int64), [labels[p] for p in perm])
        chunks.append(chunk)
        rows += [
            (
                user_ids[r[0]],
                r[1],
                LABELS["journey"][r[2]],
                r[3],
                LABELS["node"][r[4]],
                LABELS["event"][r[5]],
                LABELS["port"][r[6]],
                LABELS["detail"][r[7]],
            )
            for r in mine
        ]
    return chunks, user_ids, rows


@settings(max_examples=150, deadline=None)
@given(chunked_rows())
def test_the_merged_trace_is_the_rows_in_canonical_order(case) -> None:  # noqa: ANN001
    chunks, user_ids, rows = case
    merged, codes = merge_trace_codes(chunks, user_ids)
    # canonical order: by instant, then user id; a user's rows (all in one chunk) keep theirs
    ordered = sorted(rows, key=lambda r: (r[1], r[0]))
    if not ordered:
        assert merged.empty and len(codes) == 0
        return
    cols = list(zip(*ordered, strict=True))
    expected = trace_frame(*cols)
    pd.testing.assert_frame_equal(merged, expected)
    assert [user_ids[c] for c in codes] == list(cols[0])
    with ThreadPoolExecutor(1) as helper:  # (a large run's user ids are gathered by a second thread)
        beside, codes_beside = merge_trace_codes(chunks, user_ids, helper=helper)
    pd.testing.assert_frame_equal(beside, expected)
    assert (codes_beside == codes).all()
