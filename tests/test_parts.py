"""A Parquet cohort simulated in parts (each core reads, prepares and runs its own buckets)
gives the single process's result, and falls back to one process where a part cannot decide."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeylab import examples
from journeylab.errors import CohortError
from journeylab.model import CustomList, Journey, ProfileUpdate
from journeylab.sim import BehaviourModel, GoalLift, Latency, simulate
from journeylab.sim import parts as parts_mod
from journeylab.sim.scale import ParquetCohort

BEHAVIOUR = (
    BehaviourModel.default()
    .with_channel("push", view=0.4, click=0.3, lift=GoalLift("Charged", 0.5, Latency.fixed(minutes=20)))
    .with_fatigue(intercept=-2.0, per_day=0.8)
)
CASES = {
    "reference": dict(journeys=lambda: [examples.reference_journey()]),
    "cart": dict(journeys=lambda: [examples.cart_abandonment()], engine="per-user"),
    "promo_reentry": dict(journeys=lambda: [examples.purchase_promo(reentry=True)]),
    "trigger_pair, paused": dict(
        journeys=lambda: [examples.reference_journey(), *examples.journey_trigger_pair()],
        lifecycle={"reference": [("2026-10-05T10:00Z", "paused"), ("2026-10-07T00:00Z", "running")]},
    ),
}


@pytest.fixture(scope="module")
def cohort_dir(tmp_path_factory):
    from journeylab.datasets import write_cohort

    d = tmp_path_factory.mktemp("cohort")
    write_cohort(d, 1500, seed=7, days=14, start="2026-10-01")
    return d


def _same(a, b) -> None:
    for name in ("trace", "sends", "responses", "profile_changes", "final_profiles", "all_node_stats"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    assert (a.n_users, a.cohort_name, a.start, a.end) == (b.n_users, b.cohort_name, b.start, b.end)


@pytest.mark.parametrize("case", list(CASES))
def test_parts_give_the_one_process_result(cohort_dir, case):
    kw = dict(CASES[case])
    journeys = kw.pop("journeys")()
    if "reference" in kw.get("lifecycle", {}):
        kw["lifecycle"] = {journeys[0].definition.id: kw["lifecycle"]["reference"]}
    one = simulate(journeys, ParquetCohort(str(cohort_dir)), seed=3, behaviour=BEHAVIOUR, workers=1, **kw)
    assert "parts_s" not in one.timings and len(one.trace) > 1000
    for n in (2, 3):
        split = simulate(journeys, ParquetCohort(str(cohort_dir)), seed=3, behaviour=BEHAVIOUR, workers=n, **kw)
        assert split.timings["workers"] == n and "parts_s" in split.timings
        _same(split, one)


def test_parts_by_default_from_a_cohort_size_and_never_below_it(cohort_dir, monkeypatch):
    journeys = [examples.reference_journey()]
    small = simulate(journeys, str(cohort_dir), seed=1)
    assert "parts_s" not in small.timings  # 1,500 users: below SPLIT_FROM, one process
    monkeypatch.setattr(parts_mod, "SPLIT_FROM", 0)
    monkeypatch.setattr(parts_mod.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    auto = simulate(journeys, str(cohort_dir), seed=1, progress=True)
    assert auto.timings["workers"] == 2 and "parts_s" in auto.timings
    _same(auto, small)


def test_what_a_part_cannot_decide_is_simulated_in_one_process(tmp_path):
    """An input error names the rows a single run names; a file whose buckets do not follow the
    user id (a user id in two parts) gives what a single run gives."""
    from journeylab.datasets import write_cohort

    write_cohort(tmp_path, 400, seed=2, days=10, start="2026-10-01")
    profiles = pq.read_table(tmp_path / "profiles.parquet")
    journeys = [examples.reference_journey()]

    # a user id twice in profiles.parquet, in buckets of two parts: each part alone sees no duplicate
    first = profiles.slice(0, 1)
    other = (first.column("bucket")[0].as_py() + 1) % 64
    twice = pa.concat_tables(
        [
            profiles,
            first.set_column(
                first.schema.get_field_index("bucket"), "bucket", pa.array([other], first.schema.field("bucket").type)
            ),
        ]
    )
    pq.write_table(twice, tmp_path / "profiles.parquet")
    with pytest.raises(CohortError) as one:
        simulate(journeys, str(tmp_path), seed=1, workers=1)
    with pytest.raises(CohortError) as split:
        simulate(journeys, str(tmp_path), seed=1, workers=2)
    assert "appears twice" in str(one.value)
    assert str(split.value) == str(one.value)

    # a user's profile in a bucket of the other part than their events: one process reads it whole
    carts = pq.read_table(tmp_path / "events.parquet", columns=["user_id", "event"]).to_pandas()
    user = carts.loc[carts["event"] == "Added To Cart", "user_id"].iloc[0]
    row = profiles.column("user_id").to_pylist().index(user)
    buckets = profiles.column("bucket").to_pylist()
    buckets[row] = (buckets[row] + 1) % 64
    moved = profiles.set_column(
        profiles.schema.get_field_index("bucket"), "bucket", pa.array(buckets, profiles.schema.field("bucket").type)
    )
    pq.write_table(moved, tmp_path / "profiles.parquet")
    a = simulate(journeys, str(tmp_path), seed=1, workers=1)
    b = simulate(journeys, str(tmp_path), seed=1, workers=2)
    assert "parts_s" not in b.timings  # simulated again in one process
    _same(b, a)


def test_no_parts_where_they_cannot_be_exact(tmp_path):
    """A cohort not laid out by bucket, event ids that need reading, or Custom Lists: one process."""
    from journeylab.datasets import read_cohort, write_cohort

    journeys = [examples.reference_journey().definition]
    write_cohort(tmp_path / "ours", 200, seed=1, days=5)
    assert parts_mod.split_parts(ParquetCohort(str(tmp_path / "ours")), journeys, 2) == 2
    p, e = read_cohort(tmp_path / "ours")
    (tmp_path / "theirs").mkdir()
    p.to_parquet(tmp_path / "theirs" / "profiles.parquet")
    e.to_parquet(tmp_path / "theirs" / "events.parquet")  # one row group, ids not vouched for
    assert parts_mod.split_parts(ParquetCohort(str(tmp_path / "theirs")), journeys, 2) == 1
    assert parts_mod.split_parts(ParquetCohort(str(tmp_path / "ours")), journeys, 1) == 1
    j = Journey("Listed", id="listed", start=dt.datetime(2026, 10, 2, 10, tzinfo=dt.UTC))
    j.add(CustomList(id="list", users=["a", "b"]))
    j.then("list", "yes", ProfileUpdate(id="mark", property="listed", op="set", value=True))
    assert parts_mod.split_parts(ParquetCohort(str(tmp_path / "ours")), [j.definition], 2) == 1


def test_two_parts_run_on_threads_and_more_in_forked_workers(cohort_dir, monkeypatch):
    """Up to THREAD_PARTS parts share this process (the profiles read once, the caller's thread
    runs part 0); more are forked. Either way the result is the one process's."""
    import threading

    calls: list[tuple[str, int, set[str]]] = []
    for name in ("thread_map", "fork_map"):
        real = getattr(parts_mod, name)

        def spy(job, parts, show=None, _real=real, _name=name):
            names: set[str] = set()

            def named(k, report):
                names.add(threading.current_thread().name)
                return job(k, report)

            out = _real(named, parts, show)
            calls.append((_name, parts, names))
            return out

        monkeypatch.setattr(parts_mod, name, spy)
    read = []
    real_read = parts_mod._read_rows
    monkeypatch.setattr(parts_mod, "_read_rows", lambda path, *a, **k: read.append(path) or real_read(path, *a, **k))
    journeys = [examples.reference_journey()]
    one = simulate(journeys, ParquetCohort(str(cohort_dir)), seed=5, behaviour=BEHAVIOUR, workers=1)
    two = simulate(journeys, ParquetCohort(str(cohort_dir)), seed=5, behaviour=BEHAVIOUR, workers=2)
    three = simulate(journeys, ParquetCohort(str(cohort_dir)), seed=5, behaviour=BEHAVIOUR, workers=3)
    per_user = [simulate(journeys, str(cohort_dir), seed=5, engine="per-user", workers=w) for w in (2, 1)]
    assert parts_mod.THREAD_PARTS == 2
    # the per-user engine's parts are Python: forked, not threads that would take turns
    assert [(n, p) for n, p, _ in calls] == [("thread_map", 2), ("fork_map", 3), ("fork_map", 2)]
    threads = calls[0][2]
    assert threading.current_thread().name in threads and len(threads) == 2  # part 0 here, part 1 beside it
    assert read == [ParquetCohort(str(cohort_dir)).profiles_path]  # once, for both threads
    _same(two, one)
    _same(three, one)
    _same(*per_user)


RANDOM_EXAMPLES = 200 if os.environ.get("JOURNEYLAB_SLOW") else 12


@settings(max_examples=RANDOM_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_journeys_in_parts_give_the_one_process_result(cohort_dir, data):
    """Random valid journeys over every node kind (the differential harness's strategies, with
    the bundled cohort's event names), run in two parts (threads for the batched engine, forked
    workers for the per-user one) and in one process: every output frame is the same."""
    from strategies import Ctx, Names, behaviours, journeys

    start = int(pd.Timestamp("2026-10-01", tz="UTC").timestamp())
    end = start + 14 * 86400
    users = pq.read_table(cohort_dir / "profiles.parquet", columns=["user_id"]).column("user_id").to_pylist()
    ctx = Ctx(Names("", prefer=("Added To Cart", "App Launched", "Charged")), start, end, users[:50], known=users[:50])
    journey = data.draw(journeys(ctx, "j", batchable=data.draw(st.booleans())))
    behaviour = data.draw(behaviours())
    seed = data.draw(st.integers(0, 3))
    span = (pd.Timestamp(start, unit="s", tz="UTC"), pd.Timestamp(end, unit="s", tz="UTC"))
    one = simulate([journey], ParquetCohort(str(cohort_dir)), *span, seed=seed, behaviour=behaviour, workers=1)
    two = simulate([journey], ParquetCohort(str(cohort_dir)), *span, seed=seed, behaviour=behaviour, workers=2)
    assert "parts_s" in two.timings or any(isinstance(n, CustomList) for n in journey.nodes)
    _same(two, one)
