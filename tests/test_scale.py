"""Sharded simulation: local, processes and a Dask LocalCluster give identical results."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa
import pytest
from helpers import END, START, cohort

from journeylab import examples
from journeylab.errors import CohortError
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


def test_arrow_columns_prepare_like_categoricals(tmp_path, monkeypatch):
    """The simulator reads a Parquet cohort's user ids and event names as Arrow dictionary
    columns (no pandas categorical): the cohort checks and the prepared run are the same."""
    import numpy as np
    import pyarrow as pa

    from journeylab.datasets import write_cohort
    from journeylab.engine.multi import JourneySet
    from journeylab.sim import BehaviourModel, Cohort, prepare
    from journeylab.sim.prepare import Prepared

    write_cohort(tmp_path, 300, seed=4)
    pc_ = ParquetCohort(str(tmp_path))
    js = JourneySet([examples.reference_journey().definition])
    kw = {"events": sorted(js.inputs.events), "profile_columns": sorted(js.inputs.profile), "sort": False}
    preps = []
    # categoricals; Arrow columns with the profiles in id order (their rows order the users);
    # Arrow columns with the profiles shuffled (the ids sorted)
    for arrow, shuffle in ((False, False), (True, False), (True, True)):
        p, e = pc_.read(**kw, arrow=arrow)
        assert isinstance(e["user_id"].dtype, pd.ArrowDtype) is arrow
        if shuffle:
            p = p.sample(frac=1.0, random_state=3).reset_index(drop=True)
        c = Cohort(p, e, sort=False)
        assert c.ids_in_order is not shuffle
        start = int(e["ts"].min().floor("D").timestamp())
        with monkeypatch.context() as m:
            if arrow and not shuffle:  # the cohort's profile rows are read again, nothing looked up
                for name in ("positions_in", "string_order"):
                    m.setattr(prepare, name, lambda *a, _n=name: pytest.fail(f"{_n} called"))
            preps.append(Prepared(js, c, start, start + 20 * 86400, 0, BehaviourModel.default(), 3600))
    a = preps[0]
    assert a.n_events > 300 and a.n_users > 50
    for b in preps[1:]:
        assert a.user_ids == b.user_ids
        for name in ("ts", "user", "per", "names"):
            assert np.array_equal(getattr(a, name), getattr(b, name)), name
        assert np.array_equal(a.user_keys(), b.user_keys())
        for (ca, va), (cb, vb) in zip(a.prof_cols, b.prof_cols, strict=True):
            assert ca == cb and va.tolist() == vb.tolist(), ca

    # an Arrow dictionary column from elsewhere may repeat values: read as the values it holds
    ids = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 1], pa.int32()), pa.array(["u1", "u2", "u1"]))
    ev = pd.DataFrame(
        {
            "user_id": pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array([ids]))),
            "ts": pd.to_datetime(
                ["2026-10-01 10:00", "2026-10-01 10:01", "2026-10-01 10:02", "2026-10-01 10:03"], utc=True
            ),
            "event": ["Added To Cart"] * 4,
        }
    )
    prof = pd.DataFrame({"user_id": ["u1", "u2"], "push_token": ["t1", "t2"]})
    plain = ev.assign(user_id=["u1", "u2", "u1", "u2"])
    x = simulate(examples.reference_journey(), (prof, ev), seed=1)
    y = simulate(examples.reference_journey(), (prof, plain), seed=1)
    same(x, y)
    assert set(x.trace["user_id"]) == {"u1", "u2"}
    assert Cohort(prof.iloc[:1], ev, unknown_users="drop").n_events == 2  # u2's events dropped, u1 kept
    with pytest.raises(CohortError, match=r"user 'u2' is not in profiles \(2 event rows") as err:
        Cohort(prof.iloc[:1], ev)
    assert err.value.path == "events[1].user_id"
    added = Cohort(prof.iloc[:1], ev, unknown_users="add")
    assert added.n_users == 2 and added.id_positions is None
    z = simulate(examples.reference_journey(), added, seed=1)
    assert set(z.trace["user_id"]) == {"u1", "u2"}


def test_parquet_user_ids_found_by_their_keys_or_by_hashing_alike(tmp_path, monkeypatch):
    """The events' user ids of a Parquet cohort are found among the profiles' by integer keys
    when they are short (``write_cohort``'s), else by Arrow's hashing: either way the run is the
    one of the same frames given as DataFrames, and an event of a user without a profile is the
    same error."""
    import pyarrow.parquet as pq

    from journeylab.datasets import _arrow, read_cohort, write_cohort
    from journeylab.sim import cohort as cohort_mod

    journey = examples.reference_journey()
    write_cohort(tmp_path / "short", 400, seed=6)
    p, e = read_cohort(tmp_path / "short")
    (tmp_path / "long").mkdir()
    renamed = {"user_id": lambda f: "customer-" + f["user_id"]}
    p.assign(**renamed).to_parquet(tmp_path / "long" / "profiles.parquet")
    e.assign(**renamed).to_parquet(tmp_path / "long" / "events.parquet")
    for name, frames in (("short", (p, e)), ("long", (p.assign(**renamed), e.assign(**renamed)))):
        keyed = []
        with monkeypatch.context() as m:
            m.setattr(
                cohort_mod,
                "positions_in",
                lambda v, u, _k=keyed: _k.append(_arrow.short_keys(u) is not None) or _arrow.positions_in(v, u),
            )
            a = simulate(journey, ParquetCohort(str(tmp_path / name)), seed=2, workers=1)
        assert keyed == [name == "short"]
        assert len(a.trace) > 300
        same(a, simulate(journey, frames, seed=2))

    profiles = pq.read_table(tmp_path / "short" / "profiles.parquet")
    carts = e.loc[e["event"] == "Added To Cart", "user_id"]
    gone = profiles.column("user_id").to_pylist().index(carts.iloc[0])
    pq.write_table(
        pa.concat_tables([profiles.slice(0, gone), profiles.slice(gone + 1)]), tmp_path / "short" / "profiles.parquet"
    )
    for workers in (1, 2):
        with pytest.raises(CohortError, match=rf"user '{carts.iloc[0]}' is not in profiles"):
            simulate(journey, ParquetCohort(str(tmp_path / "short")), seed=2, workers=workers)


def test_user_keys_from_arrow_buffers_equal_the_scalar_keys():
    import pyarrow as pa

    from journeylab.engine.draws import user_key
    from journeylab.sim.prepare import _user_keys

    ids = ["u0000001", "", "ab" + chr(0), "user-42", "x" * 40]
    arr = pa.array(ids, pa.large_string())
    assert _user_keys(arr).tolist() == [user_key(u) for u in ids]
    assert _user_keys(arr.slice(1, 3)).tolist() == [user_key(u) for u in ids[1:4]]  # an offset into the buffers
    wide = pa.array([*ids, "café", "用户"], pa.string())  # not ASCII: one string at a time
    assert _user_keys(wide).tolist() == [user_key(u) for u in wide.to_pylist()]


def test_parquet_reads_in_runs_equal_one_read(tmp_path, monkeypatch):
    """The events' row groups are read in runs side by side, filtered as they are read: the
    same rows in the same order as one read, for any number of runs, with or without buckets,
    and for a file whose row groups are not one bucket each (read whole, then filtered)."""
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow.parquet as pq

    from journeylab.datasets import read_cohort, write_cohort
    from journeylab.sim import scale

    write_cohort(tmp_path / "ours", 500, seed=6)
    ours = ParquetCohort(str(tmp_path / "ours"))
    names = ["Added To Cart", "Charged", "App Launched"]
    keep = names

    cols, coded = ["user_id", "ts", "event", "bucket"], ["user_id", "event"]
    for buckets in (None, [3, 7, 40, 41, 63]):
        one = scale._read_rows(ours.events_path, cols, coded, buckets, keep)
        assert one.num_rows > (2000 if buckets is None else 100)
        assert set(one.column("event").to_pylist()) <= set(names)
        if buckets is not None:
            assert set(one.column("bucket").to_pylist()) <= set(buckets)
        for runs in (2, 3, 5, 200):
            with ThreadPoolExecutor(2) as pool:
                got = scale._submit_rows(pool, ours.events_path, cols, coded, buckets, keep, runs=runs)()
            assert got.equals(one), (buckets, runs)

    kw = {"events": names, "profile_columns": ["push_token", "email"], "sort": False, "arrow": True}
    reads = {}
    for readers in (1, 2):
        monkeypatch.setattr(scale, "READERS", readers)
        reads[readers] = [ours.read(**kw), ours.read([5, 9], **kw)]
    for (p1, e1), (p2, e2) in zip(reads[1], reads[2], strict=True):
        pd.testing.assert_frame_equal(p1, p2)
        pd.testing.assert_frame_equal(e1, e2)

    # a cohort written elsewhere: one row group holding every bucket
    profiles, events = read_cohort(tmp_path / "ours")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    profiles.to_parquet(theirs / "profiles.parquet")
    events.to_parquet(theirs / "events.parquet")
    assert pq.ParquetFile(theirs / "events.parquet").metadata.num_row_groups == 1
    p, e = ParquetCohort(str(theirs)).read([5, 9], **kw)
    want = events[events["bucket"].isin([5, 9]) & events["event"].isin(names)]
    assert len(e) == len(want) > 0 and list(e["ts"]) == list(want["ts"])
    assert set(p["user_id"]) == set(profiles.loc[profiles["bucket"].isin([5, 9]), "user_id"])


def test_row_groups_of_other_event_names_are_not_read(tmp_path, monkeypatch):
    """``write_cohort`` keeps a row group per (bucket, event name), so a read of a few names
    reads their row groups only, with no filter left to apply. A file laid out otherwise (groups
    of several names, or no statistics) has the groups that may hold the names read and
    filtered. Either way the rows are those of a whole read, filtered, in file order."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from journeylab.datasets import write_cohort
    from journeylab.sim import scale

    write_cohort(tmp_path, 500, seed=6)
    path = tmp_path / "events.parquet"
    names = ["Charged", "App Launched"]
    cols = ["user_id", "ts", "event", "bucket"]
    whole = pq.read_table(path, columns=cols)

    def expected(table):
        return table.filter(pc.is_in(table.column("event"), value_set=pa.array(names)))

    def name_stats(p, groups):
        f = pq.ParquetFile(p)
        i = f.schema_arrow.get_field_index("event")
        return [
            (f.metadata.row_group(k).column(i).statistics.min, f.metadata.row_group(k).column(i).statistics.max)
            for k in groups
        ]

    f = scale.parquet_file(path)
    every = list(range(f.metadata.num_row_groups))
    groups, mixed = scale._named_groups(f, every, names)
    assert not mixed and 0 < len(groups) < len(every) / 2
    assert {lo for lo, hi in name_stats(path, groups)} == set(names)
    assert all(lo == hi for lo, hi in name_stats(path, groups))
    assert scale._read_rows(path, cols, [], None, names).equals(expected(whole))
    assert scale._read_rows(path, cols, [], [4, 9], names).equals(
        expected(whole.filter(pc.is_in(whole.column("bucket"), value_set=pa.array([4, 9], pa.int16()))))
    )
    # read as a dictionary (as the simulator reads it), the names of groups holding one each are
    # written from their statistics, not read: the same rows
    seen: list[list[str]] = []
    read_groups = pq.ParquetFile.read_row_groups

    def spy(self, row_groups, columns=None, **kw):  # noqa: ANN001, ANN202
        seen.append(list(columns))
        return read_groups(self, row_groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_groups", spy)
    for buckets in (None, [4, 9]):
        got = scale._read_rows(path, cols, ["event"], buckets, names)
        want = expected(
            whole
            if buckets is None
            else whole.filter(pc.is_in(whole.column("bucket"), value_set=pa.array(buckets, pa.int16())))
        )
        assert got.column_names == cols and got.column("event").type == pa.dictionary(pa.int32(), pa.string())
        assert got.column("event").to_pylist() == want.column("event").to_pylist()
        assert got.drop_columns(["event"]).equals(want.drop_columns(["event"]))
    assert seen and all("event" not in c for c in seen)
    monkeypatch.undo()

    # groups of several names, sorted by name: the groups whose range holds none are skipped
    by_name = whole.sort_by("event")
    sorted_path = tmp_path / "sorted.parquet"
    pq.write_table(by_name, sorted_path, row_group_size=1000)
    f = scale.parquet_file(sorted_path)
    every = list(range(f.metadata.num_row_groups))
    groups, mixed = scale._named_groups(f, every, names)
    assert mixed and 0 < len(groups) < len(every)
    skipped = [k for k in every if k not in groups]
    assert all(not any(lo <= n <= hi for n in names) for lo, hi in name_stats(sorted_path, skipped))
    assert scale._read_rows(sorted_path, cols, [], None, names).equals(expected(by_name))

    # no statistics: every group read, then filtered
    bare = tmp_path / "bare.parquet"
    pq.write_table(whole, bare, row_group_size=1000, write_statistics=False)
    f = scale.parquet_file(bare)
    every = list(range(f.metadata.num_row_groups))
    assert scale._named_groups(f, every, names) == (every, True)
    assert scale._read_rows(bare, cols, [], None, names).equals(expected(whole))
    assert scale._read_rows(bare, cols, [], None, ["No Such Event"]).num_rows == 0


def test_parquet_footers_parsed_once_per_file_version(tmp_path):
    """A cohort file's footer is parsed once while the file is unchanged, and again once it
    is rewritten (a new version: other rows, other row groups), even at once and in place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from journeylab.sim import scale
    from journeylab.sim.scale import parquet_file

    path = tmp_path / "t.parquet"

    def versions() -> int:
        return sum(k[0] == os.path.realpath(path) for k in scale._FOOTERS)

    pq.write_table(pa.table({"x": list(range(10))}), path, row_group_size=5)
    a, b = parquet_file(path), parquet_file(path, pre_buffer=True)
    assert versions() == 1 and a.metadata.num_row_groups == b.metadata.num_row_groups == 2
    assert b.read().column("x").to_pylist() == list(range(10))
    pq.write_table(pa.table({"x": list(range(30))}), path, row_group_size=10)
    c = parquet_file(path)
    assert versions() == 2 and c.metadata.num_rows == 30 and c.metadata.num_row_groups == 3
    assert c.read().column("x").to_pylist() == list(range(30))
    pq.write_table(pa.table({"x": list(range(100, 130))}), path, row_group_size=15)  # same size
    d = parquet_file(path)
    assert versions() == 3 and d.metadata.num_row_groups == 2
    assert d.read().column("x").to_pylist() == list(range(100, 130))
    (tmp_path / "not.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(pa.ArrowInvalid):
        parquet_file(tmp_path / "not.parquet")
