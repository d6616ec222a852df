"""The simulator: SimPy as the clock over a pandas cohort, the engine core for every rule.

:func:`simulate` is the entry point. How a run goes (see docs/simulator.md):

1. **Preparation** (:mod:`journeylab.sim.prepare`): the events no journey can act on are
   dropped first (most rows of a real event log), the rest ordered once by user and time; the
   profile columns the journeys read are kept.
2. **The period loop**: SimPy jumps from period to period (``PERIOD``, 31 days, by default)
   where something is due. For a journey the batched engine runs, every user's state lives in arrays and
   each period moves all due users a step at a time with array operations
   (:mod:`journeylab.sim.batched`); otherwise each due user goes through the per-user engine
   in time order (:mod:`journeylab.sim.loop`). Either way: timers first at an instant, then
   cohort events (input order), then the simulated responses the behaviour model draws.
3. **Workers** (:mod:`journeylab.sim.pool`): on large runs the users are split between forked
   processes; the result is the same for any number of them.

The engine decides every transition; the simulator only decides when to call it and for whom.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from journeylab.engine.batch import consent_events, unsupported
from journeylab.engine.multi import JourneySet
from journeylab.engine.state import Control
from journeylab.engine.types import Inputs
from journeylab.errors import CohortError, JourneyDefinitionError
from journeylab.model.io import load as load_journey
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import CustomList
from journeylab.model.policy import as_policy
from journeylab.sim._allocator import keep_freed_pages
from journeylab.sim.batched import BatchedLoop
from journeylab.sim.behaviour import BehaviourModel
from journeylab.sim.cohort import Cohort, read_table
from journeylab.sim.loop import PerUserLoop
from journeylab.sim.pool import auto_workers, run_parts
from journeylab.sim.prepare import Prepared, _check_ids, _no_gc
from journeylab.sim.result import SimulationResult
from journeylab.validate import check_journeys

__all__ = ["simulate", "Simulation", "as_definitions", "as_cohort", "to_utc", "resolve_span", "relevant_events"]

#: the default period: the trace is the same for any period (the differential harness runs one
#: driver with hour-long periods); a longer one means fewer array steps (a 30-day run at 100k
#: users: 171 rounds in 1-day periods, 40 in 7-day ones, 9 in one period) and a coarser
#: progress bar (a month-long run is one step of it, a year twelve)
PERIOD = dt.timedelta(days=31)


def as_definitions(journeys: Any) -> list[JourneyDef]:
    """Journey definitions from a Journey, a JourneyDef, a JSON path, or a list of them."""
    items = journeys if isinstance(journeys, list | tuple) else [journeys]
    out: list[JourneyDef] = []
    for j in items:
        if isinstance(j, Journey):
            out.append(j.definition)
        elif isinstance(j, JourneyDef):
            out.append(j)
        elif isinstance(j, str | Path):
            out.append(load_journey(j))
        else:
            raise JourneyDefinitionError(f"expected a Journey, JourneyDef or JSON path, got {type(j).__name__}", "$")
    if not out:
        raise JourneyDefinitionError("give at least one journey", "$")
    return out


def relevant_events(journeys: Any) -> list[str]:
    """The event names the given journeys can react to (everything else is dropped early).

    Those of their nodes and goals, and the default account policy's consent events (a
    user's consent is the account's, whatever the journeys send).

    Parameters
    ----------
    journeys : Journey, JourneyDef or list of them
        The journeys.

    Returns
    -------
    list of str
        The event names, sorted.

    Examples
    --------
    >>> from journeylab.examples import reference_journey
    >>> relevant_events(reference_journey())
    ['Added To Cart', 'App Launched', 'Charged', 'Subscribed', 'Unsubscribed']
    """
    return sorted(JourneySet(as_definitions(journeys)).relevant_events)


def resolve_span(start: Any, end: Any, first: Any, last: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The simulated period: the given instants, else from the cohort's first day to just
    after its last event (``first``/``last`` event instants, None when there are none)."""
    if start is None:
        if first is None:
            raise CohortError("the cohort has no events: give start and end", "events")
        start_ts = first.floor("D")
    else:
        start_ts = to_utc(start, "start")
    if end is None:
        if last is None:
            raise CohortError("the cohort has no events: give start and end", "events")
        end_ts = last.floor("s") + pd.Timedelta(seconds=1)
    else:
        end_ts = to_utc(end, "end")
    if end_ts <= start_ts:
        raise JourneyDefinitionError(f"end ({end_ts}) must be after start ({start_ts})", "end")
    return start_ts, end_ts


def as_cohort(cohort: Any, events_of: Any = None) -> Cohort:
    """A Cohort from a Cohort, a (profiles, events) pair, or a bundled dataset name; with
    ``events_of``, a new cohort keeps only the events of those names (see :class:`Cohort`)."""
    if isinstance(cohort, Cohort):
        return cohort
    if isinstance(cohort, str):
        return Cohort.from_dataset(cohort, events_of=events_of)
    if isinstance(cohort, tuple) and len(cohort) == 2:
        return Cohort(*cohort, events_of=events_of, sort=events_of is None)
    ds_profiles = getattr(cohort, "profiles", None)
    ds_events = getattr(cohort, "events", None)
    if ds_profiles is not None and ds_events is not None:
        return Cohort(
            ds_profiles, ds_events, name=getattr(cohort, "name", "cohort"), events_of=events_of, sort=events_of is None
        )
    raise CohortError("expected a Cohort, a (profiles, events) pair or a dataset name", "cohort")


def to_utc(t: Any, what: str) -> pd.Timestamp:
    """An aware UTC timestamp from a Timestamp or datetime, an ISO 8601 string, or epoch seconds
    (naive values are refused: give the offset).

    >>> to_utc("2026-10-01T05:30+05:30", "start") == to_utc(1790812800, "start") == to_utc(pd.Timestamp("2026-10-01", tz="UTC"), "start")
    True
    """
    if isinstance(t, int | float | np.integer | np.floating) and not isinstance(t, bool):
        if t != t or not -253402300799 <= t <= 253402300799:  # NaN or beyond year 9999
            raise JourneyDefinitionError(f"{t!r} is not an instant (epoch seconds)", what)
        return pd.Timestamp(int(t), unit="s", tz="UTC")
    try:
        ts = pd.Timestamp(t)
    except (ValueError, TypeError) as e:
        raise JourneyDefinitionError(f"not a date-time: {e}", what) from None
    if ts.tzinfo is None:
        raise JourneyDefinitionError("give a timezone-aware instant (e.g. '2026-10-01T00:00Z')", what)
    return ts.tz_convert("UTC")


def simulate(
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
    backend: str = "local",
    shards: int | None = None,
    client: Any = None,
    workers: int | None = None,
    validate: bool = True,
    engine: str = "auto",
    policy: Any = None,
):
    """Run journeys over a cohort from ``start`` to ``end``.

    Parameters
    ----------
    %(run)s
    seed : int, default 0
        The random seed of the simulated responses; the same seed gives the same result.
    %(behaviour)s
    %(inputs)s
    %(period)s
    progress : bool, default False
        Show a progress bar.
    backend : {"local", "processes", "dask"}, default "local"
        ``"processes"`` and ``"dask"`` shard the cohort itself (a Parquet cohort) over workers.
    shards : int or None, default None
        How many shards, with a sharding backend; default one per worker.
    client : dask.distributed.Client or None, default None
        The Dask client, with ``backend="dask"``.
    workers : int or None, default None
        Processes for the run (the result is the same for any number); default every
        available core on Linux once the run has 20,000 relevant events (the per-user engine)
        or the Parquet cohort 1,000,000 events (read, prepared and run in parts, one per core:
        two on threads of this process, more in forked ones, see :mod:`journeylab.sim.parts`),
        else 1.
    %(validate)s
    %(engine)s
    %(policy)s

    Returns
    -------
    SimulationResult
        The trace, statistics and inputs of the run.

    %(raises)s

    Examples
    --------
    >>> import pandas as pd
    >>> from journeylab.examples import purchase_promo
    >>> profiles = pd.DataFrame({"user_id": ["ana", "bo"], "push_token": ["t1", None]})
    >>> events = pd.DataFrame({"user_id": ["ana", "bo"], "event": ["Charged", "Charged"],
    ...                        "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00"], utc=True)})
    >>> res = simulate(purchase_promo(), (profiles, events), "2026-10-01T00:00Z", "2026-10-02T00:00Z")
    >>> res.node_stats[["entered", "sent", "discarded_unreachable"]].loc["promo"].tolist()
    [2, 1, 1]
    """

    keep_freed_pages()  # (large arrays made and dropped: their pages reused, not faulted in again)
    # what every way of running takes alike
    common: dict[str, Any] = dict(
        seed=seed,
        behaviour=behaviour,
        lifecycle=lifecycle,
        custom_lists=custom_lists,
        period=period,
        progress=progress,
        policy=policy,
    )
    if backend != "local":
        from journeylab.sim.scale import simulate_sharded

        return simulate_sharded(journeys, cohort, start, end, backend=backend, shards=shards, client=client, **common)
    parquet = _as_parquet(cohort)
    if parquet is not None:  # a cohort on disk: read, prepared and run in parts, one per core
        from journeylab.sim.parts import simulate_in_parts, split_parts

        check_workers(workers)
        defs = as_definitions(journeys)
        parts = split_parts(parquet, defs, workers)
        if parts > 1:
            if validate:
                check_journeys(defs, stacklevel=3)
            res = simulate_in_parts(defs, parquet, parts, start, end, engine=engine, **common)
            if res is not None:
                return res
            journeys, cohort, validate = defs, parquet, False  # in one process: it says what was wrong
    sim = Simulation(
        journeys,
        cohort,
        start,
        end,
        behaviour=behaviour,
        lifecycle=lifecycle,
        custom_lists=custom_lists,
        period=period,
        validate=validate,
        engine=engine,
        seed=seed,
        policy=policy,
    )
    return sim.run(seed, workers=workers, progress=progress)


class Simulation:
    """A simulation prepared once and run many times.

    The cohort is read, checked, filtered to what the journeys can act on and ordered once;
    :meth:`run` then simulates it with a seed (a replicate, a paired comparison...).
    :func:`simulate` is ``Simulation(...).run(seed)``.

    Parameters
    ----------
    %(run)s
    %(behaviour)s
    %(inputs)s
    %(period)s
    %(validate)s
    %(engine)s
    seed : int, default 0
        The default seed of :meth:`run`.
    %(policy)s

    %(raises)s

    Examples
    --------
    >>> import pandas as pd
    >>> from journeylab.examples import purchase_promo
    >>> profiles = pd.DataFrame({"user_id": ["ana", "bo"], "push_token": ["t1", None]})
    >>> events = pd.DataFrame({"user_id": ["ana", "bo"], "event": ["Charged", "Charged"],
    ...                        "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00"], utc=True)})
    >>> sim = Simulation(purchase_promo(), (profiles, events), "2026-10-01T00:00Z", "2026-10-02T00:00Z")
    >>> [int(sim.run(seed).node_stats.loc["promo", "sent"]) for seed in (1, 2)]
    [1, 1]
    """

    cohort: Cohort
    start: pd.Timestamp
    end: pd.Timestamp
    _sig: tuple[object, ...]
    _prep: Prepared

    def __init__(
        self,
        journeys: Any,
        cohort: Any,
        start: Any = None,
        end: Any = None,
        *,
        behaviour: BehaviourModel | None = None,
        lifecycle: dict[str, list[tuple[Any, str]]] | None = None,
        custom_lists: dict[str, dict[str, Any]] | None = None,
        period: dt.timedelta = PERIOD,
        validate: bool = True,
        engine: str = "auto",
        seed: int = 0,
        policy: Any = None,
        _base: Simulation | None = None,
    ) -> None:
        t0 = time.perf_counter()
        keep_freed_pages()
        defs = as_definitions(journeys)
        self.policy = as_policy(policy)
        if validate:
            check_journeys(defs, stacklevel=4)
        if _base is not None:  # the same cohort and span as another simulation
            c, start_ts, end_ts = _base.cohort, _base.start, _base.end
        else:
            parquet = _as_parquet(cohort)
            if parquet is not None:
                c = _read_parquet_cohort(parquet, defs, policy=self.policy)
                first, last = parquet.span() if start is None or end is None else (None, None)
            else:
                # only the events these journeys can act on are kept, before the cohort is checked
                c = as_cohort(cohort, JourneySet(defs, policy=self.policy).inputs.events)
                if c.span is not None:
                    first, last = c.span
                else:
                    first = c.events["ts"].min() if len(c.events) else None  # (a cohort may keep its own order)
                    last = c.events["ts"].max() if len(c.events) else None
            start_ts, end_ts = resolve_span(start, end, first, last)
        s0, e0 = int(start_ts.timestamp()), int(end_ts.timestamp())
        P = int(period.total_seconds())
        if P <= 0:
            raise JourneyDefinitionError("period must be positive", "period")
        self.defs, self.cohort, self.start, self.end, self.period = defs, c, start_ts, end_ts, P
        self._controls = lifecycle_controls(defs, s0, lifecycle)
        self._lists = _load_lists(defs, custom_lists)
        self.behaviour = behaviour or BehaviourModel.default()
        js = self._journey_set(seed)
        self._loop = _loop_class(js, self.behaviour, engine)
        t1 = time.perf_counter()
        sig = _signature(js)
        if _base is not None and _base._sig == sig:  # the same inputs: the prepared events serve again
            self._prep = _base._prep.for_journeys(js, seed, self.behaviour)
        else:
            self._prep = Prepared(js, c, s0, e0, seed, self.behaviour, P)
        self._sig = sig
        self._loop = _consent_fallback(self._loop, js, self._prep, engine)
        self.timings = {"cohort_s": t1 - t0, "prepare_s": time.perf_counter() - t1}

    def _journey_set(self, seed: int) -> JourneySet:
        return JourneySet(self.defs, seed=seed, controls=self._controls, custom_lists=self._lists, policy=self.policy)

    def with_journeys(self, journeys: Any, **kw: Any) -> Simulation:
        """The same cohort and span with other journeys (a variant of a sweep): the prepared
        events are reused when the new journeys act on the same inputs."""
        return Simulation(
            journeys,
            self.cohort,
            behaviour=kw.pop("behaviour", self.behaviour),
            _base=self,
            policy=kw.pop("policy", self.policy),
            period=dt.timedelta(seconds=self.period),
            **kw,
        )

    @property
    def n_events(self) -> int:
        """The cohort's events the journeys can act on."""
        return self._prep.n_events

    def run(
        self, seed: int = 0, *, workers: int | None = None, progress: bool = False, _trace_only: bool = False
    ) -> SimulationResult:
        """Simulate with ``seed`` (the Split draws and the simulated responses). ``_trace_only``:
        a result with the trace alone (what statistics read; see
        :meth:`SimulationResult.from_chunks`)."""
        check_workers(workers)
        with progress_bar(progress, self.start, self.end, self.period) as show:
            chunks, prep, timings = self.run_chunks(seed, workers=workers, show=show)
        t1 = time.perf_counter()
        with _no_gc():
            res = SimulationResult.from_chunks(
                chunks,
                prep.user_id_array,
                self.defs,
                self.start,
                self.end,
                seed,
                profiles=getattr(self.cohort, "profiles", None),
                cohort_name=getattr(self.cohort, "name", "cohort"),
                n_users=getattr(self.cohort, "n_users", 0),
                trace_only=_trace_only,
            )
        res.timings = {**timings, "results_s": time.perf_counter() - t1}
        return res

    def run_chunks(
        self, seed: int, *, workers: int | None = None, show: Callable[[int], None] | None = None
    ) -> tuple[list[dict[str, Any]], Prepared, dict[str, float]]:
        """The run's columnar chunks (one per worker), the prepared run they index (user codes
        into its :attr:`~Prepared.user_id_array`) and the timings so far: :meth:`run` without
        the result tables. ``show`` gets the progress (a period number)."""
        t0 = time.perf_counter()
        prep = (
            self._prep
            if seed == self._prep.seed
            else self._prep.for_journeys(self._journey_set(seed), seed, self.behaviour)
        )
        batched = self._loop.__name__ == "BatchedLoop"
        n_workers = auto_workers(prep, batched) if workers is None else workers
        if n_workers > 1 and not hasattr(os, "fork"):
            warnings.warn(
                f"workers={n_workers} needs os.fork, which this platform lacks: running in one process",
                RuntimeWarning,
                stacklevel=3,
            )
            n_workers = 1
        chunks = run_parts(prep, self._loop, n_workers, show, lambda: _check_ids(prep.ids))
        timings = {
            **self.timings,
            "run_s": time.perf_counter() - t0,
            "workers": float(n_workers),
            "batched": float(batched),
        }
        return chunks, prep, timings


def check_workers(workers: Any) -> None:
    """``workers`` is None or a whole number >= 1."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise JourneyDefinitionError(f"workers must be a whole number >= 1, got {workers!r}", "workers")


@contextlib.contextmanager
def progress_bar(
    on: bool, start: pd.Timestamp, end: pd.Timestamp, period: int
) -> Iterator[Callable[[int], None] | None]:
    """A progress bar (when ``on``) over the periods of ``period`` seconds from ``start`` to
    ``end``, as the function that shows a period number (``None``: no bar); at the end the
    bar is full (periods with nothing due are skipped)."""
    s0, e0 = int(start.timestamp()), int(end.timestamp())
    total = (e0 - s0 + period - 1) // period if on and period > 0 else 0
    if not total:
        yield None
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="simulating", unit="period")

    def show(p: int) -> None:
        bar.n = max(0, min(p + 1, total))
        bar.refresh()

    try:
        yield show
        bar.n = total
        bar.refresh()
    finally:
        bar.close()


def _signature(js: JourneySet) -> tuple[object, ...]:
    """What the preparation of a cohort depends on: equal signatures prepare the same events."""
    inputs = js.inputs
    return (
        inputs.events,
        tuple(sorted(inputs.event_props.items())),
        inputs.profile,
        inputs.lead,
        js.needs_all_users,
        tuple(e.activity_bounds() for e in js.all_engines()),
        tuple(sorted((jid, c.timeline) for jid, c in js.controls.items())),
    )


def _loop_class(js: JourneySet, behaviour: BehaviourModel, engine: str) -> type:
    """The period loop for these journeys: batched when it can be and ``engine`` allows it."""
    if engine not in ("auto", "batched", "per-user"):
        raise JourneyDefinitionError(f"engine must be 'auto', 'batched' or 'per-user', not {engine!r}", "engine")
    if engine == "per-user":
        return PerUserLoop
    defs = [e.definition for e in js.all_engines()]
    reason = unsupported(defs, watched=any(e.watched for e in js.all_engines()), policy=js.policy)
    if reason is None:
        lifts = {b.lift.event for b in [*behaviour.channels.values(), *behaviour.nodes.values()] if b.lift}
        if lifts & set(js.all_engines()[0].lookback):
            reason = "a goal-lift event is counted by a past-behaviour condition"
    if reason is None:
        return BatchedLoop
    if engine == "batched":
        raise JourneyDefinitionError(f"the batched engine cannot run these journeys: {reason}", "engine")
    return PerUserLoop


def _consent_fallback(loop: type, js: JourneySet, prep: Prepared, engine: str) -> type:
    """The per-user loop instead of the batched one when the prepared events change consent
    during the run (an ``Unsubscribed`` event: the batched engine reads consent from the
    profile only, see :func:`journeylab.engine.batch.consent_events`)."""
    if loop is not BatchedLoop:
        return loop
    names = consent_events(js.policy)
    if not names or not prep.n_events or not names & set(prep.names_of()[1]):
        return loop
    if engine == "batched":
        raise JourneyDefinitionError(
            f"the batched engine cannot run these journeys: the cohort has consent events ({', '.join(sorted(names))})",
            "engine",
        )
    return PerUserLoop


def _as_parquet(cohort: Any) -> Any:
    """A :class:`ParquetCohort` for a cohort directory (or one given), else None."""
    from journeylab.sim.scale import ParquetCohort

    if isinstance(cohort, str | Path) and Path(cohort).is_dir():
        return ParquetCohort(str(cohort), name=Path(cohort).name)
    return cohort if isinstance(cohort, ParquetCohort) else None


def _read_parquet_cohort(
    cohort: Any,
    defs: list[JourneyDef],
    buckets: Any = None,
    policy: Any = None,
    profiles: Callable[[], pd.DataFrame] | None = None,
    readers: int | None = None,
) -> Cohort:
    """A cohort directory (or some of its buckets) read with only the events, event columns and
    profile columns (:func:`profile_columns`) these journeys can act on under ``policy`` (see
    :class:`~journeylab.engine.Inputs`). ``profiles``: what gives the buckets' profiles, read
    already (then only the events are read); ``readers`` as in :meth:`ParquetCohort.read`."""
    inputs = JourneySet(defs, policy=policy).inputs
    # the simulator reads event ids only to check they are distinct: skipped when the file says so
    ids = set() if cohort.unique_event_ids() else {"event_id"}
    cols = sorted({c for v in inputs.event_props.values() for c in v} | ids)
    frame, events = cohort.read(
        buckets,
        events=sorted(inputs.events),
        columns=cols,
        profile_columns=profile_columns(inputs),
        sort=False,
        arrow=True,
        profiles=profiles is None,
        readers=readers,
    )
    if profiles is not None:
        frame = profiles()
    return Cohort(frame, events, name=cohort.name, sort=False)  # the run orders events itself


def profile_columns(inputs: Inputs) -> list[str]:
    """The profile properties journeys with these ``inputs`` read (the profile columns a run
    reads, besides ``user_id``)."""
    return sorted(inputs.profile)


def lifecycle_controls(
    defs: Sequence[JourneyDef], start: int, lifecycle: dict[str, list[tuple[Any, str]]] | None
) -> dict[str, Control]:
    """Each journey's lifecycle over a run: published (running) at ``start``, then the given
    ``(instant, status)`` changes per journey id (``running``, ``paused``, ``stopped``, or
    ``publish v<N>`` / ``publish v<N> migrate``: version N, given among the journeys, is published
    then — before it the older versions take new entrants; with ``migrate`` the users inside move
    to it, see :meth:`journeylab.engine.Engine.migrate`)."""
    from journeylab.engine.state import parse_publish

    controls = {d.id: Control.running_from(start) for d in defs}
    versions: dict[str, set[int]] = {}
    for d in defs:
        versions.setdefault(d.id, set()).add(d.version)
    for jid, changes in (lifecycle or {}).items():
        if jid not in controls:
            raise JourneyDefinitionError(f"no journey with id {jid!r} in this run", f"lifecycle.{jid}")
        ctl = controls[jid]
        for k, (when, status) in enumerate(changes):
            where = f"lifecycle.{jid}[{k}]"
            if status.startswith("publish"):
                try:
                    v, _ = parse_publish(status)
                except ValueError as e:
                    raise JourneyDefinitionError(str(e), where) from None
                if v not in versions[jid]:
                    raise JourneyDefinitionError(
                        f"version {v} of journey {jid!r} is not among the journeys of this run "
                        f"(it has {', '.join(map(str, sorted(versions[jid])))})",
                        where,
                    )
            elif status not in ("running", "paused", "stopped"):
                raise JourneyDefinitionError(
                    "status must be running, paused, stopped or 'publish v<N>[ migrate]'", where
                )
            ctl = ctl.with_status(int(to_utc(when, where).timestamp()), status)
        controls[jid] = ctl
    return controls


def _load_lists(defs: Sequence[JourneyDef], given: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, list[str]]]:
    out: dict[str, dict[str, list[str]]] = {}
    for d in defs:
        for n in d.nodes:
            if not isinstance(n, CustomList):
                continue
            src = (given or {}).get(d.id, {}).get(n.id)
            if src is None and n.path:
                src = n.path
            if src is None:
                continue
            if isinstance(src, list | tuple | set):
                users = [str(x) for x in src]
            else:
                tbl = read_table(src, f"custom_lists.{d.id}.{n.id}")
                if "user_id" not in tbl.columns:
                    raise CohortError("a custom list needs a 'user_id' column", f"custom_lists.{d.id}.{n.id}")
                users = tbl["user_id"].astype(str).tolist()
            out.setdefault(d.id, {})[n.id] = users
    return out
