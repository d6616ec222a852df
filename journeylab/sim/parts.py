"""Simulating a Parquet cohort in parts: each core reads, prepares and runs its own users.

A cohort written by :func:`journeylab.datasets.write_cohort` keeps each user's rows in one
``bucket`` (``stable_hash(user_id) % 64``; row groups of one bucket in ``events.parquet``).
Users never share state, so the buckets ``b % parts == k`` are a simulation of their own:
each part reads only its buckets, prepares them and runs them
(:class:`~journeylab.sim.Simulation`), and gives back its columnar chunk, its users' ids and
its profiles. Up to :data:`THREAD_PARTS` parts of journeys the batched engine runs are threads
of this process (:func:`~journeylab.sim.pool.thread_map`; part 0 in the calling thread), the
profiles read once for all of them; more parts, or the per-user engine's (Python, which threads
would not run side by side), run in forked workers (:func:`~journeylab.sim.pool.fork_map`,
forked first: a small process, nothing read yet), each reading its own profiles. The caller puts the
users in one id order, the trace in canonical order (by instant, then user id) and the
profiles in file order: the result is the one a single process gives (tests compare every
output frame for 2 and 3 parts).

Reading and preparing, not only the engine's periods, run on every core, so a one-off
:func:`~journeylab.sim.simulate` of a large cohort gains from a second core even with the
batched engine, which prepared once and forked (:func:`~journeylab.sim.pool.run_parts`)
would not. Where a part meets something a part cannot decide alone (an input error, whose row
numbers would be the part's; a user in two parts, in a file whose buckets do not follow the
user id) the cohort is simulated again in one process, which says what a single run says.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylab.datasets._arrow import string_order, to_frame
from journeylab.engine.multi import JourneySet
from journeylab.errors import InputError, JourneyDefinitionError
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import CustomList
from journeylab.model.policy import as_policy
from journeylab.sim.batched import BatchedLoop
from journeylab.sim.behaviour import BehaviourModel
from journeylab.sim.pool import available_cores, fork_map, thread_map
from journeylab.sim.prepare import _no_gc
from journeylab.sim.result import SimulationResult
from journeylab.sim.scale import N_BUCKETS, ParquetCohort, _read_rows, _row_groups, buckets_of, parquet_file
from journeylab.sim.simulator import (
    Simulation,
    _loop_class,
    _read_parquet_cohort,
    lifecycle_controls,
    profile_columns,
    progress_bar,
)

__all__ = ["split_parts", "simulate_in_parts", "SPLIT_FROM", "THREAD_PARTS"]

#: rows of ``events.parquet`` from which a cohort is simulated in parts by default (below, the
#: parts' merge costs more than the second core saves)
SPLIT_FROM = 1_000_000

#: parts up to which the batched engine's run on threads of this process, beyond it in forked
#: processes: two threads gain where the parts spend their time in numpy and Arrow, and share
#: the profiles and the merge's memory (100k users: 0.29 s against 0.34 s in one process; 1M users: 2.4 s
#: against 3.0 s in two processes); more threads would share one interpreter lock
THREAD_PARTS = 2


def split_parts(cohort: ParquetCohort, defs: list[JourneyDef], workers: int | None) -> int:
    """How many parts to simulate ``cohort`` in (1: in one process, the usual way).

    Parts need a platform that forks (Linux), a cohort laid out by bucket (one bucket per row
    group of ``events.parquet``, a ``bucket`` column in ``profiles.parquet``) whose event ids
    need no reading to be known distinct, and journeys without Custom Lists (a listed user is
    placed by the user id's hash, which a file's own buckets need not follow). ``workers``
    given: that many parts; by default the available cores (at most 8) once the cohort has
    :data:`SPLIT_FROM` events, else 1.

    >>> from journeylab.examples import reference_journey
    >>> split_parts(ParquetCohort("no-such-dir"), [reference_journey().definition], 1)
    1
    """
    if workers == 1 or sys.platform != "linux" or not hasattr(os, "fork"):
        return 1
    if any(isinstance(n, CustomList) for d in defs for n in d.nodes):
        return 1
    try:
        events = parquet_file(cohort.events_path)
        profile_columns = parquet_file(cohort.profiles_path).schema_arrow.names
    except (OSError, pa.ArrowException):
        return 1  # (the one-process path says what is wrong with the files)
    names = events.schema_arrow.names
    if "bucket" not in profile_columns or _row_groups(events, [0]) is None:
        return 1
    if "event_id" in names and not cohort.unique_event_ids():
        return 1
    if workers is None:
        if events.metadata.num_rows < SPLIT_FROM:
            return 1
        workers = min(available_cores(), 8)
    return max(1, min(workers, N_BUCKETS))


def simulate_in_parts(
    defs: list[JourneyDef],
    cohort: ParquetCohort,
    parts: int,
    start: Any,
    end: Any,
    *,
    seed: int,
    behaviour: BehaviourModel | None,
    lifecycle: dict[str, list[tuple[Any, str]]] | None,
    custom_lists: dict[str, dict[str, Any]] | None,
    period: dt.timedelta,
    progress: bool,
    engine: str,
    policy: Any,
) -> SimulationResult | None:
    """:func:`~journeylab.sim.simulate` of a Parquet cohort in ``parts`` parts (see the module
    docstring); the journeys are validated already. ``None``: a part could not decide alone —
    simulate in one process instead."""
    t0 = time.perf_counter()
    start_ts, end_ts = cohort.resolved_span(start, end)
    threads = parts <= THREAD_PARTS and _batched(defs, start_ts, behaviour, lifecycle, engine, policy)
    shared = _SharedProfiles(cohort, defs, policy, parts) if threads else None

    def part(k: int, report: Callable[[int], None]) -> dict[str, Any] | None:
        t = time.perf_counter()
        buckets = buckets_of(k, parts)
        try:
            if shared is None:
                c = _read_parquet_cohort(cohort, defs, buckets, policy)
            else:  # (the threads are the parts': each reads with Arrow's own, shared, threads)
                c = _read_parquet_cohort(cohort, defs, buckets, policy, lambda: shared.of(k), readers=1)
            read_s = time.perf_counter() - t
            sim = Simulation(
                defs,
                c,
                start_ts,
                end_ts,
                behaviour=behaviour,
                lifecycle=lifecycle,
                custom_lists=custom_lists,
                period=period,
                validate=False,
                engine=engine,
                seed=seed,
                policy=policy,
            )
            chunks, prep, timings = sim.run_chunks(seed, workers=1, show=report)
        except (JourneyDefinitionError, InputError):
            return None  # an input error: the one-process run reports it with its own row numbers
        (chunk,) = chunks
        return {
            "chunk": chunk,
            "ids": prep.user_id_array,
            "profiles": c.profiles,
            "timings": {**timings, "cohort_s": read_s + timings["cohort_s"]},
            "wall": time.perf_counter() - t,
        }

    with progress_bar(progress, start_ts, end_ts, int(period.total_seconds())) as show:
        outs = (thread_map if threads else fork_map)(part, parts, show)
    t1 = time.perf_counter()
    done = [o for o in outs if o is not None]
    if len(done) < parts:
        return None
    merged = _merged_users(done)
    profiles = _profiles_in_file_order(cohort, done, parts) if shared is None else shared.whole()
    if merged is None or profiles is None:
        return None
    ids, chunks = merged
    with _no_gc():
        res = SimulationResult.from_chunks(
            chunks,
            ids,
            defs,
            start_ts,
            end_ts,
            seed,
            profiles=profiles,
            cohort_name=cohort.name,
            n_users=len(profiles),
        )
    slowest = max(done, key=lambda o: o["wall"])["timings"]
    res.timings = {
        "cohort_s": slowest["cohort_s"],
        "prepare_s": slowest["prepare_s"],
        "run_s": slowest["run_s"],
        "parts_s": t1 - t0,
        "results_s": time.perf_counter() - t1,
        "workers": float(parts),
        "batched": float(all(o["timings"]["batched"] == 1.0 for o in done)),
    }
    return res


def _batched(
    defs: list[JourneyDef],
    start: pd.Timestamp,
    behaviour: BehaviourModel | None,
    lifecycle: dict[str, list[tuple[Any, str]]] | None,
    engine: str,
    policy: Any,
) -> bool:
    """Whether the batched engine runs these journeys (the loop :class:`Simulation` picks):
    its parts spend their time in numpy and Arrow, which threads run side by side; the per-user
    engine's are Python, which they would not (and forked workers do). A part whose events
    change consent may still fall back to the per-user loop: the same result, on threads."""
    try:
        controls = lifecycle_controls(defs, int(start.timestamp()), lifecycle)
        js = JourneySet(defs, controls=controls, policy=as_policy(policy))
        return _loop_class(js, behaviour or BehaviourModel.default(), engine) is BatchedLoop
    except JourneyDefinitionError:
        return False  # (the parts fail alike, and one process says what is wrong)


class _SharedProfiles:
    """The profiles of a cohort simulated in parts on threads, read once for every part: the
    read starts at once (beside the parts' reading of their events), each part takes its
    buckets' rows, and the result keeps the whole frame, in file order (nothing to merge)."""

    def __init__(self, cohort: ParquetCohort, defs: list[JourneyDef], policy: Any, parts: int) -> None:
        self.parts = parts
        cols = ["user_id", *profile_columns(JourneySet(defs, policy=policy).inputs)]
        pool = ThreadPoolExecutor(1, thread_name_prefix="journeylab-profiles")
        self._table = pool.submit(_read_rows, cohort.profiles_path, [*cols, "bucket"], [], None, threads=False)
        pool.shutdown(wait=False)  # (the read goes on)
        self._cols = cols

    def _read(self) -> pa.Table:
        table: pa.Table = self._table.result()
        return table

    def of(self, k: int) -> pd.DataFrame:
        """Part ``k``'s profiles: the rows of its buckets (``bucket % parts == k``), as a part
        that reads them itself gets them."""
        table = self._read()
        buckets = pa.array(buckets_of(k, self.parts), type=table.schema.field("bucket").type)
        return to_frame(table.filter(pc.is_in(table.column("bucket"), value_set=buckets)).select(self._columns(table)))

    def _columns(self, table: pa.Table) -> list[str]:
        """The profile columns a part reads itself (those of the file among the journeys')."""
        return [c for c in dict.fromkeys(self._cols) if c in table.column_names]

    def whole(self) -> pd.DataFrame | None:
        """Every profile in file order (``None`` when a user id repeats: parts check only their own)."""
        table = self._read()
        out = to_frame(table.select(self._columns(table)))
        return out if _distinct(pa.array(out["user_id"])) else None


def _merged_users(outs: list[dict[str, Any]]) -> tuple[pa.Array, list[dict[str, Any]]] | None:
    """Every part's users in one id order (the order a single process gives them), and each
    part's chunk with its user codes into it; ``None`` when a user is in two parts."""
    ids = pa.concat_arrays([o["ids"] for o in outs])
    order = string_order(ids)
    ids = ids.take(pa.array(order))
    if len(ids) > 1 and pc.any(pc.equal(ids[1:], ids[:-1])).as_py():
        return None
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order] = np.arange(len(ids))
    chunks, at = [], 0
    for o in outs:
        n = len(o["ids"])
        chunk = o["chunk"]  # (a part with no trace rows has no user codes to renumber)
        chunks.append({**chunk, "user": rank[at : at + n][chunk["user"]]} if chunk["n"] else chunk)
        at += n
    return ids, chunks


def _profiles_in_file_order(cohort: ParquetCohort, outs: list[dict[str, Any]], parts: int) -> pd.DataFrame | None:
    """The parts' profiles as one frame in the order of ``profiles.parquet`` (each part read
    its buckets' rows in file order); ``None`` when they are not the file's rows."""

    bucket = parquet_file(cohort.profiles_path).read(columns=["bucket"]).column("bucket").to_numpy()
    part = bucket % parts
    frames = [o["profiles"] for o in outs]
    if [len(f) for f in frames] != np.bincount(part, minlength=parts).tolist():
        return None
    joined = pd.concat(frames, ignore_index=True)
    where = np.empty(len(part), dtype=np.int64)  # row i of the file is row where[i] of the joined
    where[np.argsort(part, kind="stable")] = np.arange(len(part))
    out = joined.take(where).reset_index(drop=True)
    return out if _distinct(pa.array(out["user_id"])) else None  # (each part checked only its own)


def _distinct(ids: pa.Array) -> bool:
    """Whether no id repeats: a strictly increasing column (``write_cohort`` orders profiles by
    id) is checked by comparing neighbours, anything else by hashing.

    >>> _distinct(pa.array(["a", "b", "c"])), _distinct(pa.array(["b", "a", "b"]))
    (True, False)
    """
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if len(ids) < 2 or pc.all(pc.greater(ids[1:], ids[:-1])).as_py():
        return True
    return bool(pc.count_distinct(ids).as_py() == len(ids))
