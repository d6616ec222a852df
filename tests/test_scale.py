"""Sharded simulation: local, processes and a Dask LocalCluster give identical results."""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import END, START, cohort

from journeylab import examples
from journeylab.sim import simulate
from journeylab.sim.scale import ParquetCohort, shard_of

PROF, EV = cohort(400, seed=5)
JOURNEYS = [examples.reference_journey(), *examples.journey_trigger_pair()]


@pytest.fixture(scope="module")
def local():
    return simulate(JOURNEYS, (PROF, EV), START, END, seed=9)


def same(a, b):
    cols = ["user_id", "ts", "journey", "version", "node", "event", "port", "detail"]
    x = a.trace[cols].astype(str).reset_index(drop=True)
    y = b.trace[cols].astype(str).reset_index(drop=True)
    pd.testing.assert_frame_equal(x, y)
    pd.testing.assert_frame_equal(a.responses.astype(str), b.responses.astype(str))
    pd.testing.assert_frame_equal(a.all_node_stats, b.all_node_stats)


def test_shards_partition_users_by_stable_hash():
    s = shard_of(PROF["user_id"], 3)
    assert set(s) == {0, 1, 2}
    assert (shard_of(PROF["user_id"][::-1], 3) == s[::-1]).all()  # a user's shard never depends on order


def test_processes_backend_equals_local(local):
    assert len(local.trace) > 500
    res = simulate(JOURNEYS, (PROF, EV), START, END, seed=9, backend="processes", shards=3)
    same(local, res)
    assert len(res.timings) == 6


def test_dask_local_cluster_equals_local(local):
    pytest.importorskip("dask.distributed")
    res = simulate(JOURNEYS, (PROF, EV), START, END, seed=9, backend="dask", shards=4)
    same(local, res)


def test_parquet_cohort_read_per_shard(tmp_path):
    from journeylab.datasets import generate_cohort, write_cohort

    write_cohort(tmp_path, 600, seed=2)
    p, e = generate_cohort(600, seed=2)
    a = simulate(examples.reference_journey(), (p, e), seed=1)
    b = simulate(examples.reference_journey(), ParquetCohort(str(tmp_path)), seed=1, backend="processes", shards=5)
    same(a, b)


def test_parquet_event_ids_checked_unless_the_writer_vouches(tmp_path):
    """``write_cohort`` numbers event ids per bucket and says so in the file, so the simulator
    does not read them; a file from elsewhere has its ids read and checked."""
    import pyarrow.parquet as pq

    from journeylab.datasets import read_cohort, write_cohort
    from journeylab.errors import CohortError

    ours = tmp_path / "ours"
    write_cohort(ours, 300, seed=4)
    assert ParquetCohort(str(ours)).unique_event_ids()
    profiles, events = read_cohort(ours)
    assert events["event_id"].is_unique

    theirs = tmp_path / "theirs"
    theirs.mkdir()
    profiles.to_parquet(theirs / "profiles.parquet")
    rel = events.index[events["event"].isin(["Added To Cart", "Charged"])]
    events.loc[rel[3], "event_id"] = events.loc[rel[0], "event_id"]  # one id twice, among acted-on events
    events.to_parquet(theirs / "events.parquet")
    assert not ParquetCohort(str(theirs)).unique_event_ids()
    assert pq.read_schema(theirs / "events.parquet").metadata is not None  # pandas metadata only
    with pytest.raises(CohortError, match=r"event_id .* appears twice"):
        simulate(examples.reference_journey(), ParquetCohort(str(theirs)), seed=1)
    clean = events.drop_duplicates("event_id")
    clean.to_parquet(theirs / "events.parquet")
    simulate(examples.reference_journey(), ParquetCohort(str(theirs)), seed=1)
