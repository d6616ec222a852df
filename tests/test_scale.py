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
