"""Scale out: the same simulation sharded over processes or a Dask cluster.

Users are partitioned by ``stable_hash(user_id) % 64`` (the ``bucket``), and bucket ``b``
goes to shard ``b % shards``. Users never interact across shards (journeys have no global
throttling, and every random draw is keyed by the message id), so each shard runs the
ordinary simulator and the merged trace — put back in canonical order — is identical to a
single-process run with the same seed.

A cohort can be in memory (DataFrames, a :class:`Cohort`, a dataset name: the parent splits
it) or a directory written by :func:`journeylab.datasets.write_cohort` /
:class:`ParquetCohort` (each worker reads only its own buckets, so no process holds the
whole cohort).
"""

from __future__ import annotations

import datetime as dt
import os
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from journeylab.errors import EngineInvariantError, JourneyDefinitionError, MissingExtraError
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import CustomList
from journeylab.model.policy import as_policy, policy_to_json
from journeylab.sim.behaviour import BehaviourModel
from journeylab.sim.cohort import Cohort
from journeylab.sim.pool import available_cores
from journeylab.sim.result import changes_frame
from journeylab.sim.simulator import PERIOD, _as_parquet, _load_lists, as_cohort, as_definitions, resolve_span
from journeylab.trace import as_trace, empty_trace
from journeylab.validate import check_journeys

__all__ = ["ParquetCohort", "simulate_sharded", "shard_of", "parquet_file"]

N_BUCKETS = 64
#: threads that read a cohort's files side by side (a 100k-user cohort's 2M events: 48 -> 36 ms median
#: over 5 fresh runs with two, against one reader using Arrow's own threads)
READERS = 2


@dataclass(frozen=True)
class ParquetCohort:
    """A cohort on disk: ``profiles.parquet`` and ``events.parquet`` with a ``bucket`` column
    (as :func:`journeylab.datasets.write_cohort` writes them)."""

    path: str
    name: str = "cohort"

    def read(
        self,
        buckets: list[int] | None = None,
        *,
        events: list[str] | None = None,
        columns: list[str] | None = None,
        profile_columns: list[str] | None = None,
        sort: bool = True,
        arrow: bool = False,
        profiles: bool = True,
        readers: int | None = None,
    ) -> tuple[pd.DataFrame | None, pd.DataFrame]:
        """``(profiles, events)`` of some buckets (all by default), events sorted by time
        (``sort=False``: in file order, which the simulator orders itself); ``profiles=False``:
        the events only (``None`` for the profiles). ``readers``: threads reading the files side
        by side (default :data:`READERS`, at most the available cores).

        ``events`` keeps only those event names, ``columns`` only those event columns (plus
        ``user_id, ts, event``) and ``profile_columns`` only those profile columns (plus
        ``user_id``): a journey that reacts to a few events reads a small part of a large
        cohort. Identifiers and names are read as dictionaries (categoricals: no string per row),
        and row groups of other buckets are not read at all, nor those whose statistics show none
        of the ``events`` (:func:`_named_groups`). ``arrow=True`` keeps the events'
        ``user_id`` and ``event`` in Arrow (``pd.ArrowDtype`` dictionary columns, which
        :class:`~journeylab.sim.Cohort` and the simulator read as they are) instead of building
        pandas categoricals.
        """
        if events is None and columns is None and profile_columns is None and not arrow and profiles:
            from journeylab.datasets import read_cohort

            return read_cohort(self.path, buckets=buckets)
        import pyarrow.parquet as pq

        from journeylab.datasets._arrow import to_frame

        names_kept = None if events is None else list(events)
        ev_names = parquet_file(self.events_path).schema_arrow.names
        ecols = None if columns is None else ["user_id", "ts", "event", *columns]
        coded = [c for c in ("user_id", "event", *(columns or ())) if c in ev_names and c not in ("ts", "event_id")]
        # event ids are long, distinct texts: decoded only for the kept rows (a filtered scan);
        # everything else is read whole (dictionaries, cheap) and filtered by the event's name
        want_ids = "event_id" in ev_names and (ecols is None or "event_id" in ecols)
        pcols = None if profile_columns is None else ["user_id", *profile_columns]
        readers = max(1, min(READERS if readers is None else readers, available_cores()))
        with ThreadPoolExecutor(readers) as pool:
            # runs of the events' row groups first, then the profiles, read side by side
            events_table = _submit_rows(
                pool,
                self.events_path,
                [c for c in (ev_names if ecols is None else ecols) if c != "event_id"],
                coded,
                buckets,
                names_kept,
                runs=readers,
            )
            profile_table = (
                pool.submit(_read_rows, self.profiles_path, pcols, [], buckets, threads=readers < 2)
                if profiles
                else None
            )
            table = events_table()
            frame = None if profile_table is None else to_frame(profile_table.result())
        if want_ids:
            filt: list[tuple[str, str, list[str] | list[int]]] = []  # (column, "in", values)
            if events is not None:
                filt.append(("event", "in", list(events)))
            if buckets is not None:
                filt.append(("bucket", "in", list(buckets)))
            ids = pq.read_table(self.events_path, columns=["event_id"], filters=filt or None).column("event_id")
            if len(ids) != table.num_rows:  # pragma: no cover - the two reads disagree: fall back to one
                table = _read_rows(self.events_path, ecols, coded, buckets, names_kept)
            else:
                table = table.append_column("event_id", ids)
        ev = to_frame(table, keep_arrow=("user_id", "event") if arrow else ())
        if sort:
            ev = ev.sort_values("ts", kind="stable", ignore_index=True)
        return frame, ev

    @property
    def events_path(self) -> Path:
        return Path(self.path) / "events.parquet"

    @property
    def profiles_path(self) -> Path:
        return Path(self.path) / "profiles.parquet"

    def resolved_span(self, start: Any, end: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The run's ``[start, end)``: as given, or from the cohort's events where not given
        (:func:`~journeylab.sim.simulator.resolve_span`)."""
        first, last = self.span() if start is None or end is None else (None, None)
        return resolve_span(start, end, first, last)

    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last event instants (from the files' column statistics when they have them,
        else from the ``ts`` column)."""
        import pyarrow.compute as pc

        f = parquet_file(self.events_path)
        md = f.metadata
        i = f.schema_arrow.get_field_index("ts")
        stats = [md.row_group(k).column(i).statistics for k in range(md.num_row_groups)]
        if stats and all(st is not None and st.has_min_max for st in stats):
            # the stored integers compared, and only the two extremes made instants (each such
            # conversion takes ~30 us: a file of 384 row groups would spend 12 ms on them)
            lo = min(stats, key=lambda st: st.min_raw).min
            hi = max(stats, key=lambda st: st.max_raw).max
        else:
            mm = pc.min_max(f.read(columns=["ts"]).column("ts")).as_py()
            lo, hi = mm["min"], mm["max"]
        return pd.Timestamp(lo).tz_convert("UTC"), pd.Timestamp(hi).tz_convert("UTC")

    def unique_event_ids(self) -> bool:
        """True when ``events.parquet`` says its writer made the ``event_id`` values distinct
        (:func:`~journeylab.datasets.write_cohort` does): they need not be read to be checked."""

        from journeylab.datasets._cohort import UNIQUE_KEY

        meta = parquet_file(self.events_path).schema_arrow.metadata or {}
        return b"event_id" in meta.get(UNIQUE_KEY, b"").split(b",")

    def n_users(self) -> int:
        return parquet_file(self.profiles_path).metadata.num_rows


#: Parquet footers already parsed: (path, the footer's bytes) -> its metadata, and what was read
#: from it (:func:`_column_ranges`)
_FOOTERS: dict[tuple[str, bytes], tuple[Any, dict[str, Any]]] = {}
#: the facts of each file :func:`parquet_file` opened: its footer's entry of ``_FOOTERS``
_FACTS: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def parquet_file(path: str | os.PathLike[str], **kw: Any) -> Any:
    """``pyarrow.parquet.ParquetFile(path, **kw)`` with its footer parsed once per version of the
    file in this process: a simulation opens a cohort's two files a dozen times (its span, its
    schema, each run of row groups, the parts' checks), each parse ~1 ms for 64 row groups, ~6 ms
    for 384 (a row group per bucket and event name). The footer's bytes are read each time (two
    small reads) and are the key: the metadata is a function of them, so a rewritten file is
    never read with an old footer."""
    import pyarrow.parquet as pq

    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail = b""
        if size >= 12:
            fh.seek(size - 8)
            tail = fh.read(8)
        n = int.from_bytes(tail[:4], "little") if tail[4:] == b"PAR1" else -1
        if not 0 < n <= size - 12:  # not a Parquet file: pyarrow says what is wrong
            return pq.ParquetFile(path, **kw)
        fh.seek(size - 8 - n)
        key = (os.path.realpath(path), fh.read(n))
    known = _FOOTERS.get(key)
    f = pq.ParquetFile(path, metadata=None if known is None else known[0], **kw)
    if known is None:
        if len(_FOOTERS) >= 64:  # a few cohorts' files at a time: forget the oldest
            _FOOTERS.pop(next(iter(_FOOTERS)))
        known = _FOOTERS[key] = (f.metadata, {})
    _FACTS[f] = known[1]
    return f


def _column_ranges(f: Any, column: str) -> list[tuple[Any, Any, bool] | None]:
    """Each row group's ``(min, max, whole)`` of ``column`` by its statistics (``whole``: the
    bounds are exact and no value is missing), ``None`` for a group without (an empty one, or a
    writer that wrote none). Read once per footer for a file of :func:`parquet_file`: walking a
    footer's statistics takes ~8 us a row group, and a simulation asks several times."""
    facts = _FACTS.get(f)
    if facts is not None and column in facts:
        ranges: list[tuple[Any, Any, bool] | None] = facts[column]
        return ranges
    md = f.metadata
    i = f.schema_arrow.get_field_index(column)
    ranges = []
    for k in range(md.num_row_groups):
        st = md.row_group(k).column(i).statistics
        if st is None or not st.has_min_max:
            ranges.append(None)
            continue
        exact = getattr(st, "is_min_value_exact", True) and getattr(st, "is_max_value_exact", True)
        ranges.append((st.min, st.max, bool(exact and st.has_null_count and st.null_count == 0)))
    if facts is not None:
        facts[column] = ranges
    return ranges


def _row_groups(f: Any, buckets: list[int] | None) -> list[int] | None:
    """The row groups holding these buckets, when each row group holds one bucket (as
    ``write_cohort`` lays them out); ``None``: read everything (and filter)."""
    if buckets is None or "bucket" not in f.schema_arrow.names:
        return None
    md = f.metadata
    wanted = set(buckets)
    groups = []
    for k, r in enumerate(_column_ranges(f, "bucket")):
        if r is None and md.row_group(k).num_rows == 0:  # an empty bucket: nothing to read
            continue
        if r is None or r[0] != r[1]:
            return None
        if r[0] in wanted:
            groups.append(k)
    return groups


def _read_rows(
    path: Path,
    cols: list[str] | None,
    coded: list[str],
    buckets: list[int] | None,
    events: list[str] | None = None,
    threads: bool = True,
) -> Any:
    """The rows of some buckets (``None``: all) of a cohort file as an Arrow table: the columns
    ``cols`` (``None``: all) with those in ``coded`` read as dictionaries, and with ``events``
    only the rows whose ``event`` is one of those names (row groups whose statistics show none
    of them are not read, see :func:`_named_groups`); ``threads``: with Arrow's own threads
    (not beside other readers)."""
    return _submit_rows(None, path, cols, coded, buckets, events, threads=threads)()


def _submit_rows(
    pool: ThreadPoolExecutor | None,
    path: Path,
    cols: list[str] | None,
    coded: list[str],
    buckets: list[int] | None,
    events: list[str] | None = None,
    runs: int = 1,
    threads: bool = True,
) -> Callable[[], Any]:
    """:func:`_read_rows` started in a ``pool``: the row groups in ``runs`` contiguous runs of
    about equal rows, read side by side (Arrow decodes without holding the interpreter lock),
    each run filtered as it is read. Returns the function that waits for them and joins them
    in file order (without a pool: that reads it all, with Arrow's own threads)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from journeylab.datasets._arrow import dictionary_is_in

    # (not pre-buffered: a local file read a row group per bucket and event name, or per bucket,
    # is read faster chunk by chunk — 2 parts' events in 65 against 75 ms median, 110 against
    # 127 ms for a row group per bucket, fresh processes)
    f = parquet_file(path, read_dictionary=coded)
    names = f.schema_arrow.names
    want = None if cols is None else [c for c in dict.fromkeys(cols) if c in names]
    groups = _row_groups(f, buckets)
    by_bucket = groups is not None or buckets is None or "bucket" not in names  # row groups of the buckets known
    if groups is None:
        groups = list(range(f.metadata.num_row_groups))
    by_name = events is not None  # rows still to be filtered by their event's name
    if by_bucket and events is not None and "event" in names:
        groups, by_name = _named_groups(f, groups, events)
    # groups of one event name each (their statistics say which): the names are written, not
    # read (decoding a name column costs ~70 us a row group, though it holds one value)
    named = events is not None and not by_name and want is not None and "event" in want and "event" in coded

    def read(run: list[int] | None, threads: bool) -> Any:
        if run is None:  # buckets not laid out by row group: everything read, then filtered
            t = f.read(columns=want)
            b = f.read(columns=["bucket"]).column("bucket")
            t = t.filter(pc.is_in(b, value_set=pa.array(list(buckets or ()), type=b.type)))
        else:  # (a file handle of its own in a pool: runs are read at the same time)
            g = f if threads else parquet_file(path, read_dictionary=coded)
            if named and want is not None:
                t = g.read_row_groups(run, columns=[c for c in want if c != "event"], use_threads=threads)
                return t.add_column(want.index("event"), "event", _names_of_groups(f, run))
            t = g.read_row_groups(run, columns=want, use_threads=threads)
        return t.filter(dictionary_is_in(t.column("event"), events)) if by_name and events is not None else t

    if not by_bucket:
        return lambda: read(None, True)
    sizes = np.array([f.metadata.row_group(g).num_rows for g in groups], dtype=np.int64)
    cuts = np.searchsorted(np.cumsum(sizes), np.arange(1, runs) * sizes.sum() / runs, side="right")
    parts = [[int(g) for g in r] for r in np.split(np.array(groups, dtype=np.int64), cuts) if len(r)]
    if pool is None or len(parts) < 2:
        return lambda: read(groups, threads)
    futures = [pool.submit(read, run, False) for run in parts]
    return lambda: pa.concat_tables([fu.result() for fu in futures])


def _names_of_groups(f: Any, run: list[int]) -> Any:
    """The ``event`` column (read as a dictionary) of row groups that each hold one name, by
    their statistics (:func:`_named_groups` said so): as a read gives it, a chunk per group
    whose dictionary is its name."""
    import pyarrow as pa

    typ = f.schema_arrow.field("event").type
    ranges = _column_ranges(f, "event")
    sizes = [f.metadata.row_group(g).num_rows for g in run]
    zeros = pa.array(np.zeros(max(sizes, default=0), dtype=typ.index_type.to_pandas_dtype()))
    labels: dict[str, Any] = {}
    chunks = []
    for g, n in zip(run, sizes, strict=True):
        name = ranges[g][0]  # type: ignore[index]
        label = labels.get(name)
        if label is None:
            label = labels[name] = pa.array([name], type=typ.value_type)
        chunks.append(pa.DictionaryArray.from_arrays(zeros.slice(0, n), label))
    return pa.chunked_array(chunks, type=typ)


def _named_groups(f: Any, groups: list[int], events: list[str]) -> tuple[list[int], bool]:
    """The row groups among ``groups`` that may hold one of the event names ``events``, by the
    ``event`` column's statistics (a group whose names all lie outside them is not read), and
    whether their rows must still be filtered by name (``False``: each of them holds one of the
    names only, as a file of :func:`~journeylab.datasets.write_cohort` lays them out: a row
    group per bucket and event name).

    A group without usable statistics (none written, not text, a value possibly truncated, a
    missing name) is read and filtered.
    """
    ranges = _column_ranges(f, "event")
    wanted = sorted(set(events))
    kept: list[int] = []
    mixed = False
    for k in groups:
        r = ranges[k]
        if r is None or not (isinstance(r[0], str) and isinstance(r[1], str)):
            kept.append(k)
            mixed = True
            continue
        lo, hi, whole = r
        if not any(lo <= name <= hi for name in wanted):
            continue
        kept.append(k)
        mixed = mixed or lo != hi or not whole
    return kept, mixed


def buckets_of(k: int, shards: int) -> list[int]:
    """The buckets of shard (or part) ``k`` of ``shards``: bucket ``b`` belongs to ``b % shards``.

    >>> buckets_of(1, 16)
    [1, 17, 33, 49]
    """
    return [b for b in range(N_BUCKETS) if b % shards == k]


def shard_of(user_ids: Any, shards: int) -> np.ndarray:
    """The shard of each user id: ``(stable_hash(user_id) % 64) % shards``."""
    from journeylab.datasets import stable_hash_array

    return (stable_hash_array(pd.Series(user_ids).astype(str)) % N_BUCKETS % shards).astype(np.int64)


def resolved_lists(
    defs: list[JourneyDef], custom_lists: dict[str, dict[str, Any]] | None
) -> dict[str, dict[str, list[str]]]:
    """Every Custom List's users, resolved once (given, read from its file, or inline), to be
    shared out with :func:`lists_of_shard`."""
    lists = _load_lists(defs, custom_lists)
    for d in defs:
        for n in d.nodes:
            if isinstance(n, CustomList) and n.id not in lists.get(d.id, {}):
                lists.setdefault(d.id, {})[n.id] = [str(u) for u in n.users]
    return lists


def lists_of_shard(lists: dict[str, dict[str, list[str]]], k: int, shards: int) -> dict[str, dict[str, list[str]]]:
    """The listed users of shard ``k`` of ``shards`` (:func:`shard_of`): a listed user with no
    profile or events enters in exactly one shard."""
    return {
        jid: {
            nid: [u for u, s in zip(ids, shard_of(ids, shards).tolist() if ids else [], strict=True) if s == k]
            for nid, ids in by_node.items()
        }
        for jid, by_node in lists.items()
    }


def _run_shard(payload: dict[str, Any]) -> dict[str, Any]:
    """Run one shard (in a worker process). Returns the shard's result tables."""
    import resource

    from journeylab.sim.simulator import simulate

    t0 = time.perf_counter()
    defs = [msgspec.json.decode(j, type=JourneyDef) for j in payload["journeys"]]
    if payload.get("parquet"):
        from journeylab.sim.simulator import _read_parquet_cohort

        cohort = _read_parquet_cohort(ParquetCohort(payload["parquet"]), defs, payload["buckets"], payload["policy"])
    else:
        cohort = Cohort(payload["profiles"], payload["events"], sort=False)
    behaviour = payload["behaviour"]
    res = simulate(
        defs,
        cohort,
        payload["start"],
        payload["end"],
        seed=payload["seed"],
        behaviour=behaviour,
        lifecycle=payload["lifecycle"],
        custom_lists=payload["custom_lists"],
        period=payload["period"],
        workers=1,
        policy=payload["policy"],
        validate=False,  # validated once, before the shards were sent
    )
    return {
        "shard": payload["shard"],
        "trace": res.trace,
        "sends": res.sends,
        "changes": res.profile_changes,
        "responses": res.responses,
        "n_users": len(cohort.profiles),
        "seconds": time.perf_counter() - t0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "pid": os.getpid(),
    }


def _canonical(frames: list[pd.DataFrame], keys: list[str]) -> pd.DataFrame:
    """Concatenate shard tables and restore the canonical order (by ``keys``, stably).

    Each user's rows sit in one shard, already in order, so a stable sort by time and user
    gives exactly the single-process order. Categorical columns are merged code-wise.
    """
    frames = [f for f in frames if len(f)] or frames[:1]
    if not frames:
        return pd.DataFrame()
    cols: dict[str, Any] = {}
    for c in frames[0].columns:
        if isinstance(frames[0][c].dtype, pd.CategoricalDtype):
            cols[c] = union_categoricals([f[c].astype("category") for f in frames], sort_categories=True)
        else:
            cols[c] = pd.concat([f[c] for f in frames], ignore_index=True)
    df = pd.DataFrame(cols)
    if len(df) <= 1:
        return df
    import pyarrow as pa
    import pyarrow.compute as pc

    # Arrow's multi-key sort is stable and runs in C++ on all cores
    key_cols = {}
    for k in keys:
        col = df[k]
        if pd.api.types.is_datetime64_any_dtype(col):
            key_cols[k] = pa.array(col.dt.as_unit("ns").astype("int64").to_numpy())
        elif pd.api.types.is_numeric_dtype(col):
            key_cols[k] = pa.array(col.to_numpy())
        else:
            key_cols[k] = pa.array(col.astype(str), type=pa.string())
    order = pc.sort_indices(pa.table(key_cols), sort_keys=[(k, "ascending") for k in keys]).to_numpy()
    return df.take(order).reset_index(drop=True)


def simulate_sharded(
    journeys: Any,
    cohort: Any,
    start: Any = None,
    end: Any = None,
    *,
    seed: int = 0,
    behaviour: BehaviourModel | None = None,
    lifecycle: dict[str, list[tuple[Any, str]]] | None = None,
    custom_lists: dict[str, dict[str, Any]] | None = None,
    period: dt.timedelta = PERIOD,
    progress: bool = False,
    backend: str = "processes",
    shards: int | None = None,
    client: Any = None,
    workers: int | None = None,
    policy: Any = None,
):
    """:func:`journeylab.sim.simulate` over shards of users; see the module docstring.

    ``backend="processes"`` uses a local process pool (``workers`` processes, default the
    core count); ``backend="dask"`` submits shards to ``client`` (a
    ``dask.distributed.Client``; by default a ``LocalCluster`` is started and closed).
    ``shards`` defaults to the number of workers; more shards than workers lower each
    worker's peak memory.
    """
    from journeylab.sim.result import SimulationResult

    if backend not in ("processes", "dask"):
        raise JourneyDefinitionError("backend must be 'local', 'processes' or 'dask'", "backend")
    defs = as_definitions(journeys)
    check_journeys(defs, stacklevel=4)
    parquet: ParquetCohort | None = _as_parquet(cohort)
    if parquet is not None:
        first, last = parquet.span() if (start is None or end is None) else (None, None)
        name, n_users = parquet.name, parquet.n_users()
        mem = None
    else:
        mem = as_cohort(cohort)
        ev = mem.events
        first = ev["ts"].iloc[0] if len(ev) else None
        last = ev["ts"].iloc[-1] if len(ev) else None
        name, n_users = mem.name, mem.n_users
    start_ts, end_ts = resolve_span(start, end, first, last)

    own_cluster = None
    if backend == "dask":
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            raise MissingExtraError("dask.distributed", "dask") from None
        if client is None:
            own_cluster = LocalCluster(
                n_workers=workers or min(2, os.cpu_count() or 1),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            client = Client(own_cluster)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    else:
        n_workers = workers or os.cpu_count() or 1
    shards = shards or n_workers
    if shards < 1:
        raise JourneyDefinitionError("shards must be at least 1", "shards")

    base = {
        "journeys": [msgspec.json.encode(d) for d in defs],
        "start": start_ts,
        "end": end_ts,
        "seed": seed,
        "behaviour": behaviour,
        "lifecycle": lifecycle,
        "custom_lists": custom_lists,
        "period": period,
        "policy": policy_to_json(as_policy(policy)),
    }
    lists = resolved_lists(defs, custom_lists)
    payloads = []
    if mem is not None:
        p_shard = shard_of(mem.profiles["user_id"], shards)
        e_shard = shard_of(mem.events["user_id"], shards)
    for k in range(shards):
        pl = dict(base, shard=k, custom_lists=lists_of_shard(lists, k, shards))
        if parquet is not None:
            pl["parquet"] = parquet.path
            pl["buckets"] = buckets_of(k, shards)
        else:
            if mem is None:  # pragma: no cover - the cohort is read into memory when it is no directory
                raise EngineInvariantError("simulate_sharded: neither a cohort directory nor a cohort in memory")
            pl["profiles"] = mem.profiles[p_shard == k]
            pl["events"] = mem.events[e_shard == k]
        payloads.append(pl)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=shards, desc=f"shards ({backend})", unit="shard")
    parts: list[dict[str, Any]] = []
    try:
        if backend == "processes":
            with ProcessPoolExecutor(max_workers=min(n_workers, shards), mp_context=get_context("spawn")) as pool:
                futs = [pool.submit(_run_shard, pl) for pl in payloads]
                for f in as_completed(futs):
                    parts.append(f.result())
                    if bar is not None:
                        bar.update(1)
        else:
            from dask.distributed import as_completed as dask_completed

            futs = [client.submit(_run_shard, pl, pure=False) for pl in payloads]
            for f in dask_completed(futs):
                parts.append(f.result())
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    parts.sort(key=lambda p: p["shard"])
    trace = _canonical([p["trace"] for p in parts if len(p["trace"])], ["ts", "user_id"])
    trace = as_trace(trace) if len(trace) else empty_trace()
    sends = _canonical([p["sends"] for p in parts], ["ts", "user_id", "message_id"])
    responses = _canonical([p["responses"] for p in parts], ["ts", "user_id", "seq"])
    changes = _canonical([p["changes"] for p in parts], ["ts", "user_id"])
    res = SimulationResult(
        trace=trace,
        journeys=defs,
        start=start_ts,
        end=end_ts,
        seed=seed,
        cohort_name=name,
        n_users=n_users,
        sends=sends,
        responses=responses,
        profile_changes=changes if len(changes) else changes_frame([]),
    )
    res.timings = {f"shard_{p['shard']}": p["seconds"] for p in parts}
    res.timings.update({f"shard_{p['shard']}_peak_mb": p["peak_mb"] for p in parts})
    return res
