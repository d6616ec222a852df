"""Simulating a Parquet cohort in parts: each core reads, prepares and runs its own users.

A cohort written by :func:`journeylab.datasets.write_cohort` keeps each user's rows in one
``bucket`` (``stable_hash(user_id) % 64``; one row group per bucket in ``events.parquet``).
Users never share state, so the buckets ``b % parts == k`` are a simulation of their own:
:func:`simulate_in_parts` forks the workers first (a small process, nothing read yet), and each
part — the calling process is part 0 — reads only its buckets, prepares them and runs them
(:class:`~journeylab.sim.Simulation`), then sends back its columnar chunk, its users' ids and
its profiles. The parent puts the users in one id order, the trace in canonical order (by
instant, then user id) and the profiles in file order: the result is the one a single
process gives (the differential harness runs it against the reference driver).

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
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylab.errors import InputError, JourneyDefinitionError
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import CustomList
from journeylab.sim.behaviour import BehaviourModel
from journeylab.sim.pool import available_cores, fork_map
from journeylab.sim.prepare import _no_gc
from journeylab.sim.result import SimulationResult
from journeylab.sim.scale import N_BUCKETS, ParquetCohort, _row_groups, parquet_file
from journeylab.sim.simulator import Simulation, _read_parquet_cohort, progress_bar

__all__ = ["split_parts", "simulate_in_parts", "SPLIT_FROM"]

#: rows of ``events.parquet`` from which a cohort is simulated in parts by default (below, the
#: forked worker costs more than the second core saves)
SPLIT_FROM = 5_000_000


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

    def part(k: int, report: Callable[[int], None]) -> dict[str, Any] | None:
        t = time.perf_counter()
        buckets = [b for b in range(N_BUCKETS) if b % parts == k]
        try:
            c = _read_parquet_cohort(cohort, defs, buckets, policy)
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
        outs = fork_map(part, parts, show)
    t1 = time.perf_counter()
    done = [o for o in outs if o is not None]
    if len(done) < parts:
        return None
    merged = _merged_users(done)
    profiles = _profiles_in_file_order(cohort, done, parts)
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


def _merged_users(outs: list[dict[str, Any]]) -> tuple[pa.Array, list[dict[str, Any]]] | None:
    """Every part's users in one id order (the order a single process gives them), and each
    part's chunk with its user codes into it; ``None`` when a user is in two parts."""
    ids = pa.concat_arrays([o["ids"] for o in outs])
    order = pc.sort_indices(ids)
    ids = ids.take(order)
    if len(ids) > 1 and pc.any(pc.equal(ids[1:], ids[:-1])).as_py():
        return None
    rank = np.empty(len(ids), dtype=np.int64)
    rank[order.to_numpy()] = np.arange(len(ids))
    chunks, at = [], 0
    for o in outs:
        n = len(o["ids"])
        chunks.append({**o["chunk"], "user": rank[at : at + n][o["chunk"]["user"]]})
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
