"""The simulator: SimPy as the clock over a pandas cohort, the engine core for every rule.

How it runs (see docs/simulator.md):

1. Events no journey can react to are dropped in pandas (most rows of a real event log).
2. The remaining events are sorted once into periods (1 day by default) and, inside a
   period, by user. Per-user state lives in plain engine records.
3. A SimPy process jumps from period to period where something is due: events, or users
   whose next wake-up (window end, hourly/daily evaluation, delay end, DND end, journey
   timeout...) falls in it. Users due in the same period are handled together, so SimPy's
   event count grows with distinct periods, not with users.
4. Inside a period each due user is advanced through the engine in time order: timers
   first at an instant, then cohort events (input order), then simulated responses (views,
   clicks, goal lift) that the behaviour model draws for each message sent.

The engine decides every transition; this module only decides when to call it and for whom.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import heapq
import os
import pickle
import selectors
import signal
import struct
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import simpy

from journeylab.engine.draws import message_key, stable_hash
from journeylab.engine.multi import JourneySet
from journeylab.engine.state import Control, UserState
from journeylab.engine.types import Action, Event, Feedback, ProfileChanged, Send, TraceRecord
from journeylab.errors import CohortError, JourneyDefinitionError
from journeylab.model.io import load as load_journey
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import CustomList
from journeylab.sim.behaviour import BehaviourModel, draw
from journeylab.sim.cohort import Cohort, read_table
from journeylab.trace import empty_trace, trace_frame
from journeylab.validate import check_journeys

__all__ = ["simulate", "as_definitions", "as_cohort", "to_utc", "resolve_span", "relevant_events"]

_INF = 1 << 62
_new = tuple.__new__  # builds engine inputs without the NamedTuple constructor (see engine.core)
_EMPTY: dict[str, Any] = {}


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

    >>> from journeylab.examples import reference_journey
    >>> relevant_events(reference_journey())
    ['Added To Cart', 'App Launched', 'Charged']
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


def as_cohort(cohort: Any) -> Cohort:
    """A Cohort from a Cohort, a (profiles, events) pair, or a bundled dataset name."""
    if isinstance(cohort, Cohort):
        return cohort
    if isinstance(cohort, str):
        return Cohort.from_dataset(cohort)
    if isinstance(cohort, tuple) and len(cohort) == 2:
        return Cohort(*cohort)
    ds_profiles = getattr(cohort, "profiles", None)
    ds_events = getattr(cohort, "events", None)
    if ds_profiles is not None and ds_events is not None:
        return Cohort(ds_profiles, ds_events, name=getattr(cohort, "name", "cohort"))
    raise CohortError("expected a Cohort, a (profiles, events) pair or a dataset name", "cohort")


def to_utc(t: Any, what: str) -> pd.Timestamp:
    """An aware UTC timestamp from a Timestamp or datetime, an ISO 8601 string, or epoch seconds
    (naive values are refused: give the offset).

    >>> to_utc("2026-10-01T05:30+05:30", "start") == to_utc(1790812800, "start") == to_utc(pd.Timestamp("2026-10-01", tz="UTC"), "start")
    True
    """
    if isinstance(t, int | float | np.integer | np.floating) and not isinstance(t, bool):
        if t != t or abs(t) > 253402300799:  # NaN or beyond year 9999
            raise JourneyDefinitionError(f"{t!r} is not an instant (epoch seconds)", what)
        return pd.Timestamp(int(t), unit="s", tz="UTC")
    try:
        ts = pd.Timestamp(t)
    except (ValueError, TypeError) as e:
        raise JourneyDefinitionError(f"not a date-time: {e}", what) from None
    if ts.tzinfo is None:
        raise JourneyDefinitionError("give a timezone-aware instant (e.g. '2026-10-01T00:00Z')", what)
    return ts.tz_convert("UTC")


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a run allocates millions of small, long-lived
    records and frees almost none, so collections would only rescan them over and over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_ids(ids: tuple[pd.Series, np.ndarray] | None) -> None:
    """Duplicate event ids among the events the journeys act on (rows ``idx`` of the events'
    ``event_id`` column) are an input error."""
    if ids is None:
        return
    col, idx = ids
    sub = col.iloc[idx]
    if sub.is_unique:
        return
    first = int(sub.duplicated().to_numpy().nonzero()[0][0])
    raise CohortError(f"event_id {sub.iloc[first]!r} appears twice", f"events[{int(idx[first])}].event_id")


class _Run:
    """One simulation: the period loop and the per-user advance.

    ``_prepare`` sorts the events once (numpy arrays); ``_materialize`` turns them into the
    plain lists the loop reads — for every user, or in a forked worker for its part of the
    users only (users never share state, so parts run independently)."""

    def __init__(
        self,
        js: JourneySet,
        cohort: Cohort,
        start: int,
        end: int,
        seed: int,
        behaviour: BehaviourModel,
        period: int,
    ) -> None:
        self.js = js
        self.start, self.end, self.seed, self.period = start, end, seed, period
        self.behaviour = behaviour
        self.rows: list[TraceRecord] = []  # this period's trace records (moved to `cols` after it)
        self.cols: dict[int, list[tuple[Any, ...]]] = {k: [] for k in _ROW_FIELDS}  # per field: a tuple a period
        self.send_rows: list[tuple[Any, ...]] = []
        self.row_runs: list[int] = []  # flat (user code, row count) pairs, in emission order
        self.sends: list[Send] = []
        self.responses: list[tuple[str, int, int, str, str, str, dict[str, Any] | None]] = []
        self.changes: list[ProfileChanged] = []  # what Profile Update nodes changed
        self.pending: dict[int, list[tuple[int, int, Any]]] = {}
        self._seq = 0
        self._useq: dict[int, int] = {}
        self.calendar: dict[int, set[int]] = {}
        self.cal_heap: list[int] = []
        self.chunks: list[dict[str, Any]] = []  # columnar results, one per worker
        self._prepare(cohort)

    # ------------------------------------------------------------------ data
    def _prepare(self, cohort: Cohort) -> None:
        js = self.js
        ev = cohort.events
        lead = js.inputs.lead
        self.created = self.start - lead  # user clocks start where the history we feed starts
        ts_all = ev["ts"].to_numpy(dtype="datetime64[s]").astype(np.int64)
        ncodes, nlabels = _encode(ev["event"])  # event names and users hashed once, by Arrow
        names = np.asarray(nlabels.to_pylist(), dtype=object)
        mask = _named(ncodes, names, js.relevant_events) & (ts_all < self.end) & (ts_all >= self.start - lead)
        idx = np.flatnonzero(mask)
        ncodes = ncodes[idx]
        ucodes, ulabels = _encode(ev["user_id"], idx)
        keep = self._within_bounds(ncodes, names, ucodes, ts_all[idx])
        idx, ucodes, ncodes = idx[keep], ucodes[keep], ncodes[keep]
        need = js.inputs.event_props
        cols = sorted({c for v in need.values() for c in v} & set(ev.columns))
        sub = ev[cols].iloc[idx]
        self._ids = (ev["event_id"], idx) if "event_id" in ev.columns else None  # checked by run()
        ts = ts_all[idx]
        prof = cohort.profiles
        if js.needs_all_users:
            ids = _arrow_strings(prof["user_id"])
            users: list[str] = ids.take(pc.sort_indices(ids)).to_pylist()
            codes = _positions_in(ulabels, pd.Series(users, dtype=object))[ucodes]
        else:  # the users with events left, in user id order (new strings, laid out in that order)
            present = np.flatnonzero(np.bincount(ucodes, minlength=len(ulabels)))
            mine = ulabels.take(pa.array(present))
            by_name = pc.sort_indices(mine)
            users = mine.take(by_name).to_pylist()
            remap = np.full(len(ulabels), -1, dtype=np.int64)
            remap[present[by_name.to_numpy()]] = np.arange(len(present))
            codes = remap[ucodes]
        self.user_ids: list[str] = users
        per = np.where(ts < self.start, -1, (ts - self.start) // self.period).astype(np.int64)
        order = np.lexsort((np.arange(len(ts)), ts, codes, per))
        self._ts = ts[order]
        self._user = codes[order]
        self._per = per[order]
        self._names = names[ncodes[order]]
        self._need = need
        self._props = {c: sub[c].to_numpy(dtype=object)[order] for c in cols}
        # profiles: per column, the values of our users in user order (None where missing)
        pos = _positions_in(users, prof["user_id"])
        found = pos >= 0
        wanted = [c for c in prof.columns if c != "user_id" and c in js.inputs.profile]
        self.prof_cols: list[tuple[str, list[Any]]] = []
        for c in wanted:
            col = prof[c].iloc[pos[found]]
            values = np.full(len(users), None, dtype=object)
            values[found] = col.to_numpy(dtype=object)
            values[np.flatnonzero(found)[col.isna().to_numpy()]] = None
            self.prof_cols.append((c, values.tolist()))
        self.states: list[Any] = [None] * len(users)
        self.wake: list[int] = [_INF] * len(users)  # each user's next wake-up, as last computed
        self.solo = js.solo
        self._as_engine = _SetAsEngine(js)

    @property
    def n_events(self) -> int:
        """Cohort events the journeys can react to (after prefiltering)."""
        return len(self._ts)

    def _materialize(self, part: tuple[int, int] | None) -> None:
        """The loop's lists: for every user, or for users ``u % parts == k`` of ``part=(k, parts)``."""
        if part is None:
            sel: Any = slice(None)
            mine: Iterable[int] = range(len(self.user_ids))
        else:
            k, parts = part
            sel = np.flatnonzero(self._user % parts == k)
            mine = range(k, len(self.user_ids), parts)
        self.ev_ts: list[int] = self._ts[sel].tolist()
        self.ev_user = self._user[sel]
        ev_per = self._per[sel]
        self.ev_name: list[str] = self._names[sel].tolist()
        self.ev_props: list[dict[str, Any]] | None = None
        if self._props:
            values = {c: arr[sel].tolist() for c, arr in self._props.items()}
            need = self._need
            props: list[dict[str, Any]] = []
            for i, name in enumerate(self.ev_name):
                wanted = need.get(name)
                if not wanted:
                    props.append(_EMPTY)
                    continue
                d = {}
                for c in wanted:
                    if c in values:
                        v = values[c][i]
                        if v is not None and v == v:
                            d[c] = v
                props.append(d)
            self.ev_props = props
        # segments: one per (period, user) with events, as [start, end) into the event lists
        n = len(self.ev_ts)
        cut = np.flatnonzero((np.diff(self.ev_user) != 0) | (np.diff(ev_per) != 0)) + 1
        seg_start = np.concatenate(([0], cut)).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
        seg_end = np.concatenate((cut, [n])).astype(np.int64) if n else np.zeros(0, dtype=np.int64)
        seg_per = ev_per[seg_start]
        self.seg_user: list[int] = self.ev_user[seg_start].tolist()
        self.seg_span: list[tuple[int, int]] = list(zip(seg_start.tolist(), seg_end.tolist(), strict=True))
        self.periods = np.unique(seg_per).tolist()
        self.block_start = np.searchsorted(seg_per, self.periods, side="left").tolist()
        self.block_end = np.searchsorted(seg_per, self.periods, side="right").tolist()
        if self.js.needs_all_users:
            self._cal_add(-1, mine)
        # profile dicts of the users this run can meet, built in user order (memory order)
        met = mine if self.js.needs_all_users else np.unique(self.ev_user).tolist()
        self.profiles: list[dict[str, Any] | None] = [None] * len(self.user_ids)
        for u in met:
            self.profiles[u] = self._profile(u)

    def _within_bounds(self, ncodes: np.ndarray, names: np.ndarray, codes: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Which events (name codes into ``names``, user codes, instants) any journey can
        still react to, by the engines' bounds."""
        n_users = int(codes.max()) + 1 if len(codes) else 0
        keep = np.zeros(len(codes), dtype=bool)
        big = np.iinfo(np.int64).max

        def named(which: Iterable[str]) -> np.ndarray:
            return _named(ncodes, names, which)

        for eng in self.js.all_engines():
            rel = named(eng.relevant_events)
            bounds = eng.activity_bounds()
            ctl = self.js.control(eng.id)
            if bounds is None:
                keep |= rel
                continue
            triggers, exempt, tail, first_only = bounds
            first_only = first_only and len(ctl.timeline) == 1
            trig = named(triggers)
            first = np.full(n_users, big, dtype=np.int64)
            np.minimum.at(first, codes[trig], ts[trig])
            lo = first[codes]
            if tail is None:
                hi = np.full(len(codes), big, dtype=np.int64)
            else:
                if first_only:
                    started = trig & (ts >= self.start)
                    anchor = np.full(n_users, big - tail, dtype=np.int64)
                    np.minimum.at(anchor, codes[started], ts[started])
                else:
                    anchor = np.full(n_users, -(big // 2), dtype=np.int64)
                    np.maximum.at(anchor, codes[trig], ts[trig])
                hi = anchor[codes] + tail
            ex = named(exempt) if exempt else np.zeros(len(codes), bool)
            has = lo < big
            keep |= rel & has & ((ts >= lo) | ex) & (ts <= hi)
        return keep

    def _cal_add(self, p: int, users: Iterable[int]) -> None:
        s = self.calendar.get(p)
        if s is None:
            s = self.calendar[p] = set()
            heapq.heappush(self.cal_heap, p)
        s.update(users)

    def _profile(self, u: int) -> dict[str, Any]:
        out = {}
        for c, col in self.prof_cols:
            v = col[u]
            if v is not None:
                out[c] = v
        return out

    # ------------------------------------------------------------------ clock
    def run(self, progress: Any = None, workers: int = 1) -> None:
        """Run the period loop: in this process, or split over ``workers`` forked processes."""
        if workers > 1:  # the ids are checked while the workers run (an error stops them)
            _run_forked(self, workers, progress, lambda: _check_ids(self._ids))
            return
        _check_ids(self._ids)
        self._materialize(None)

        def report(p: int) -> None:
            progress.n = max(0, min(p + 1, progress.total or 0))
            progress.refresh()

        with _no_gc():
            self._loop(report if progress is not None else None)
            self.chunks = [self._chunk()]

    def _loop(self, report: Callable[[int], None] | None) -> None:
        env = simpy.Environment(initial_time=0)
        env.process(self._clock(env, report))
        env.run()

    def _clock(self, env: simpy.Environment, report: Callable[[int], None] | None):
        bi = 0
        nblocks = len(self.periods)
        last_period = (self.end - 1 - self.start) // self.period
        done = -2
        while True:
            nxt_ev = self.periods[bi] if bi < nblocks else None
            while self.cal_heap and self.cal_heap[0] <= done:
                heapq.heappop(self.cal_heap)
            nxt_cal = self.cal_heap[0] if self.cal_heap else None
            cands = [x for x in (nxt_ev, nxt_cal) if x is not None]
            if not cands:
                break
            p = min(cands)
            if p > last_period:
                break
            t0 = self.start + p * self.period
            if t0 - self.start > env.now:
                yield env.timeout(t0 - self.start - env.now)
            block = None
            if nxt_ev == p:
                block = (self.block_start[bi], self.block_end[bi])
                bi += 1
            due = self.calendar.pop(p, set())
            self._run_period(p, block, due)
            self._flush()
            done = p
            if report is not None:
                report(p)

    def _run_period(self, p: int, block: tuple[int, int] | None, due: set[int]) -> None:
        p_end = self.start + (p + 1) * self.period if p >= 0 else self.start
        p_end = min(p_end, self.end)
        ranges: dict[int, tuple[int, int]] = {}
        if block is not None:
            a, b = block
            ranges = dict(zip(self.seg_user[a:b], self.seg_span[a:b], strict=True))
        self._advance_users(sorted(ranges.keys() | due), ranges, p_end)

    # ------------------------------------------------------------------ users
    def _advance_users(self, users: list[int], ranges: dict[int, tuple[int, int]], p_end: int) -> None:
        """Advance each due user through ``[.., p_end)``: timers first at an instant, then
        cohort events (input order), then simulated responses — each through the engine core.
        The simulator's innermost loop, with the per-user bookkeeping inlined."""
        eng: Any
        created = self.created
        if self.solo is not None:  # one journey that triggers nothing: call the engine itself
            jid, eng = self.solo
            ctl: Any = self.js.control(jid)

            def new_state(uid: str, profile: dict[str, Any] | None) -> Any:
                return UserState(uid, profile, created)
        else:  # several journeys: the journey set orders and routes the work (states per journey)
            eng, ctl = self._as_engine, None

            def new_state(uid: str, profile: dict[str, Any] | None) -> Any:
                return self.js.new_user(uid, profile, created)

        wake_at, event, feedback, next_wake = eng.wake, eng.event, eng.feedback, eng.next_wake
        states, wake, user_ids, pending = self.states, self.wake, self.user_ids, self.pending
        ev_ts, ev_name, ev_props = self.ev_ts, self.ev_name, self.ev_props
        rows, row_runs, sends, respond, changes = self.rows, self.row_runs, self.sends, self._respond, self.changes
        calendar, cal_heap = self.calendar, self.cal_heap
        start, end, period = self.start, self.end, self.period
        profiles = self.profiles
        no_events = (0, 0)
        heappop = heapq.heappop
        for u in users:
            st = states[u]
            if st is None:
                st = states[u] = new_state(user_ids[u], profiles[u])
                nw = next_wake(st, ctl)
                w = _INF if nw is None else nw
            else:
                w = wake[u]
            i, b = ranges.get(u, no_events)
            pend = pending.get(u)
            n0 = len(rows)
            out: list[Action] = []
            while True:
                te = ev_ts[i] if i < b else _INF
                tp = pend[0][0] if pend else _INF
                m = w if w < te else te
                if tp < m:
                    m = tp
                if m >= p_end:
                    break
                if w == m:
                    nw = wake_at(st, w, ctl, out)
                elif te == m:
                    props = ev_props[i] if ev_props is not None else _EMPTY
                    nw = event(st, _new(Event, (user_ids[u], te, ev_name[i], props, None)), ctl, out)
                    i += 1
                else:
                    inp = heappop(pend)[2]
                    nw = feedback(st, inp, ctl, out) if type(inp) is Feedback else event(st, inp, ctl, out)
                w = _INF if nw is None else nw
                if out:
                    for x in out:
                        if type(x) is TraceRecord:
                            rows.append(x)
                        elif type(x) is Send:
                            sends.append(x)
                            respond(u, x)
                        elif type(x) is ProfileChanged:
                            changes.append(x)
                    out = []
                    pend = pending.get(u)
            if len(rows) > n0:
                row_runs += (u, len(rows) - n0)
            wake[u] = w
            tp = pend[0][0] if pend else _INF
            nxt = w if w < tp else tp
            if nxt < end:
                q = (nxt - start) // period
                due = calendar.get(q)
                if due is None:
                    due = calendar[q] = set()
                    heapq.heappush(cal_heap, q)
                due.add(u)

    def _respond(self, u: int, s: Send) -> None:
        """Draw the user's response to a message from the behaviour model."""
        b = self.behaviour.for_node(s.channel, s.node)
        if b.view <= 0.0:
            return
        key = message_key(stable_hash(s.journey), s.version, stable_hash(s.user_id), s.n, stable_hash(s.node), s.visit)
        seed = self.seed
        if draw(seed, key, "delivered") >= b.delivery or draw(seed, key, "viewed") >= b.view:
            return
        tv = s.ts + b.view_latency.sample(draw(seed, key, "view_latency"))
        self._push(u, Feedback(s.user_id, tv, s.id, "viewed"))
        if b.click > 0.0 and draw(seed, key, "clicked") < b.click:
            tc = tv + b.click_latency.sample(draw(seed, key, "click_latency"))
            self._push(u, Feedback(s.user_id, tc, s.id, "clicked"))
            lift = b.lift
            if lift is not None and draw(seed, key, "lift") < lift.probability:
                tl = tc + lift.latency.sample(draw(seed, key, "lift_latency"))
                self._push(u, Event(s.user_id, tl, lift.event, dict(lift.props)))

    def _push(self, u: int, inp: Any) -> None:
        """Queue a simulated input for the user (delivered after cohort events at one instant)."""
        if inp.ts >= self.end:
            return
        self._seq += 1
        heapq.heappush(self.pending.setdefault(u, []), (inp.ts, self._seq, inp))
        n = self._useq[u] = self._useq.get(u, 0) + 1  # the user's own count: shard-independent
        if type(inp) is Feedback:
            self.responses.append((inp.user_id, inp.ts, n, inp.kind, inp.message_id, "", None))
        else:
            self.responses.append((inp.user_id, inp.ts, n, "event", "", inp.name, dict(inp.props) or None))

    # ------------------------------------------------------------------ output
    def _flush(self) -> None:
        """Move the period's records into columns while they are still in cache (and free them)."""
        rows = self.rows
        if rows:
            fields = list(zip(*rows, strict=True))  # one pass over the records
            for k, parts in self.cols.items():
                parts.append(fields[k])
            rows.clear()
        if self.sends:
            self.send_rows.extend(map(_SEND_FIELDS, self.sends))
            self.sends.clear()

    def _chunk(self) -> dict[str, Any]:
        """This run's output in columnar form (cheap to send from a worker): trace columns
        with the strings factorized, plus sends and responses as plain tuples."""
        self._flush()
        n = sum(map(len, self.cols[1]))
        chunk: dict[str, Any] = {"n": n, "sends": self.send_rows, "responses": self.responses,
                                 "changes": [tuple(c) for c in self.changes]}
        if not n:
            return chunk

        def column(k: int, dtype: Any) -> np.ndarray:
            return np.fromiter(chain.from_iterable(self.cols[k]), dtype=dtype, count=n)

        runs = np.asarray(self.row_runs, dtype=np.int64).reshape(-1, 2)
        user = np.repeat(runs[:, 0], runs[:, 1]).astype(np.int32)  # codes of sorted user ids
        ts = column(1, np.int64)
        order = np.lexsort((user, ts))  # canonical order here (stable: a user's rows keep theirs)
        chunk["user"], chunk["ts"] = user[order], ts[order]
        chunk["version"] = column(3, np.int32)[order]
        for name, k in _STRING_COLUMNS:
            codes, uniques = pd.factorize(column(k, object))
            chunk[name] = (codes.astype(np.min_scalar_type(max(len(uniques), 1)))[order], list(uniques))
        return chunk

    def trace_frame(self) -> pd.DataFrame:
        """The trace in canonical order: by instant, then user id, each user's rows in order.

        Each chunk is already in that order and a user's rows all sit in one chunk, so a
        stable merge by (time, user code) gives the same frame for any number of workers."""
        chunks = [c for c in self.chunks if c["n"]]
        if not chunks:
            return empty_trace()
        ts = np.concatenate([c["ts"] for c in chunks])
        codes = np.concatenate([c["user"] for c in chunks]).astype(np.int64)
        if len(chunks) == 1:
            order = np.arange(len(ts))
        elif len(self.user_ids) < 1 << 24 and np.abs(ts).max() < 1 << 38:  # one key: merges the sorted runs
            order = np.argsort(ts * len(self.user_ids) + codes, kind="stable")
        else:
            order = np.lexsort((codes, ts))
        frame: dict[str, Any] = {"user_id": _take_strings(self.user_ids, codes[order]), "ts": ts[order]}
        for name, _ in _STRING_COLUMNS:
            cats = sorted({v for c in chunks for v in c[name][1]})
            index = {v: i for i, v in enumerate(cats)}
            merged = np.concatenate([np.asarray([index[v] for v in c[name][1]], dtype=np.int32)[c[name][0]] for c in chunks])
            frame[name] = pd.Categorical.from_codes(merged[order], categories=cats)
        frame["version"] = np.concatenate([c["version"] for c in chunks]).astype(np.int64)[order]
        return trace_frame(**frame)


def _named(codes: np.ndarray, names: np.ndarray, which: Iterable[str]) -> np.ndarray:
    """Which rows (``codes`` into ``names``) carry one of the names in ``which``."""
    wanted = set(which)
    lookup = np.fromiter((n in wanted for n in names), dtype=bool, count=len(names))
    return lookup[codes]


def _arrow_strings(values: pd.Series) -> pa.Array:
    """A string column as one Arrow array (zero-copy when pandas already stores it in Arrow)."""
    arr = values.array
    a = pa.array(arr) if hasattr(arr, "__arrow_array__") else pa.array(values.to_numpy(dtype=object), type=pa.string())
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _encode(values: pd.Series, rows: np.ndarray | None = None) -> tuple[np.ndarray, pa.Array]:
    """Integer codes and distinct labels (an Arrow array) of a string column, or of some rows."""
    a = _arrow_strings(values)
    if rows is not None:
        a = a.take(pa.array(rows))
    d = pc.dictionary_encode(a)
    return d.indices.to_numpy(zero_copy_only=False).astype(np.int64), d.dictionary


def _positions_in(values: Any, universe: pd.Series) -> np.ndarray:
    """Where each value sits in ``universe`` (-1: absent), hashed by Arrow."""
    found = pc.index_in(pa.array(values, type=pa.string()), value_set=_arrow_strings(universe).cast(pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _take_strings(values: list[str], codes: np.ndarray) -> Any:
    """``values[codes]`` as the string column pandas would make of it, built by Arrow's take
    when pandas stores strings in Arrow (no Python string per row)."""
    dtype = pd.Series(["x"]).dtype
    if not isinstance(dtype, pd.StringDtype) or dtype.storage != "pyarrow":
        return np.asarray(values, dtype=object)[codes]
    return pd.array(pa.array(values, type=pa.large_string()).take(pa.array(codes)), dtype=dtype)


_STRING_COLUMNS = (("journey", 2), ("node", 4), ("event", 5), ("port", 6), ("detail", 7))
_ROW_FIELDS = (1, 3, 2, 4, 5, 6, 7)  # TraceRecord fields kept (the user is known by its code)
_SEND_FIELDS = itemgetter(0, 1, 2, 3, 4, 5, 6)  # Send without its content


def _auto_workers(run: _Run) -> int:
    """Worker processes for a run: the available cores when the run is large enough to gain
    from them and this platform forks cheaply and safely (Linux), else 1."""
    if sys.platform != "linux" or not hasattr(os, "fork"):
        return 1
    if run.n_events + (len(run.user_ids) if run.js.needs_all_users else 0) < _PARALLEL_FROM:
        return 1
    return max(1, min(len(os.sched_getaffinity(0)), 8))


_PARALLEL_FROM = 20_000  # events (or always-present users) from which forking pays off


def _run_forked(run: _Run, workers: int, progress: Any, meanwhile: Callable[[], None] | None = None) -> None:
    """Run the loop in ``workers`` forked processes, each advancing users ``u % workers == k``.

    Workers inherit the prepared run (copy-on-write), send back their columnar chunk
    through a pipe and leave with ``os._exit`` (nothing to tear down). A worker's error is
    raised here with the worker's traceback as a note; a worker that dies is reported.
    ``meanwhile`` runs here once the workers are started; if it raises, they are stopped."""
    done = [-1] * workers
    children: dict[int, tuple[int, int]] = {}  # read fd -> (worker, pid)
    status_fd: dict[int, int] = {}  # status pipe read fd -> worker
    received: dict[int, bytearray] = {}
    try:
        for k in range(workers):
            r, w = os.pipe()
            sr, sw = os.pipe()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # "fork with threads" (3.12+)
                pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the worker (measured through its result)
                os.close(r)
                os.close(sr)
                _worker(run, k, workers, w, sw)
            os.close(w)
            os.close(sw)
            children[r] = (k, pid)
            status_fd[sr] = k
            received[r] = bytearray()
        if meanwhile is not None:
            meanwhile()
        sel = selectors.DefaultSelector()
        for fd in children:
            sel.register(fd, selectors.EVENT_READ)
        for fd in status_fd:
            sel.register(fd, selectors.EVENT_READ)
        open_fds = len(children) + len(status_fd)
        while open_fds:
            for key, _ in sel.select(timeout=0.5):
                fd = key.fd
                data = os.read(fd, 1 << 20)
                if fd in status_fd:
                    if len(data) >= 8:  # each report is one atomic 8-byte write: keep the last
                        cut = len(data) // 8 * 8
                        done[status_fd[fd]] = struct.unpack("<q", data[cut - 8 : cut])[0]
                    elif not data:
                        sel.unregister(fd)
                        open_fds -= 1
                    continue
                if data:
                    received[fd] += data
                else:
                    sel.unregister(fd)
                    open_fds -= 1
            if progress is not None:
                progress.n = max(0, min(min(done) + 1, progress.total or 0))
                progress.refresh()
        sel.close()
        chunks: list[dict[str, Any]] = [{}] * workers
        for fd, (k, pid) in children.items():
            blob = bytes(received[fd])
            if not blob:
                _, code = os.waitpid(pid, 0)
                children[fd] = (k, 0)
                raise RuntimeError(f"simulation worker {k} of {workers} died (wait status {code})")
            ok, payload = pickle.loads(blob)
            if not ok:
                raise payload
            chunks[k] = payload
        run.chunks = chunks
        # every worker has sent all it had; the kernel frees a worker's memory after that,
        # which takes a while for a large one: reap them in the background, not here
        pids = [pid for _, pid in children.values()]
        children = {fd: (k, 0) for fd, (k, _) in children.items()}
        threading.Thread(target=_reap, args=(pids,), name="journeylab-reaper", daemon=True).start()
    finally:
        for fd, (_, pid) in children.items():
            if pid:
                with contextlib.suppress(ProcessLookupError, ChildProcessError):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
            with contextlib.suppress(OSError):
                os.close(fd)
        for fd in status_fd:
            with contextlib.suppress(OSError):
                os.close(fd)


def _worker(run: _Run, k: int, workers: int, out_fd: int, status_fd: int) -> None:  # pragma: no cover - forked
    """A forked worker's whole life: its share of the users, its chunk down the pipe, exit."""
    gc.disable()  # the worker exits without tearing anything down: nothing to collect
    try:
        run._materialize((k, workers))

        def report(p: int) -> None:
            with contextlib.suppress(OSError):
                os.write(status_fd, struct.pack("<q", p))

        run._loop(report)
        payload: tuple[bool, Any] = (True, run._chunk())
    except BaseException as e:  # noqa: BLE001 - everything goes back to the parent
        e.add_note(f"in simulation worker {k} of {workers}:\n{traceback.format_exc()}")
        try:
            pickle.dumps(e)
            payload = (False, e)
        except Exception:  # noqa: BLE001
            payload = (False, RuntimeError(f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))
    try:
        data = memoryview(pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            n = os.write(out_fd, data)
            data = data[n:]
        os.close(out_fd)  # the parent sees the end now, not after the exit has freed our memory
        os.close(status_fd)
    finally:
        os._exit(0)


def _reap(pids: list[int]) -> None:
    """Wait for finished workers so none lingers as a zombie."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


class _SetAsEngine:
    """A journey set behind the engine's call shape (``states`` in place of one state)."""

    def __init__(self, js: JourneySet) -> None:
        self.js = js

    def advance(self, states: dict, t: int, _ctl: Any, out: list[Action]) -> int | None:
        return self.js.advance(states, t, out)

    wake = advance

    def event(self, states: dict, inp: Any, _ctl: Any, out: list[Action]) -> int | None:
        return self.js.deliver(states, inp, out)

    feedback = event

    def next_wake(self, states: dict, _ctl: Any) -> int | None:
        return self.js.next_wake(states)


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
    period: dt.timedelta = dt.timedelta(days=1),
    progress: bool = False,
    backend: str = "local",
    shards: int | None = None,
    client: Any = None,
    workers: int | None = None,
    validate: bool = True,
    engine: str = "auto",
):
    """Run journeys over a cohort from ``start`` to ``end`` and return a :class:`SimulationResult`.

    * ``journeys``: a Journey, JourneyDef, JSON path, or a list of them (run together:
      journey triggers and profile updates cross between them).
    * ``cohort``: a :class:`Cohort`, a ``(profiles, events)`` pair, or a bundled dataset name.
    * ``start``/``end``: aware instants (default: the cohort's first day to its last event).
      Every journey is treated as published at ``start``; ``lifecycle`` adds pause / resume /
      stop moments per journey id, e.g. ``{"cart": [("2026-10-10T00:00Z", "paused")]}``.
    * ``seed`` and ``behaviour``: the simulated responses to messages (views, clicks, lift).
    * ``workers``: processes for the run (users are split between them; the result is the
      same for any number). Default: every available core on Linux once the run has 20,000
      relevant events, else 1. ``backend="processes"|"dask"`` shards the cohort itself.
    * ``engine``: ``"auto"`` (default) runs the batched engine (every user's state in arrays,
      moved a step at a time with array operations) when it supports the journeys, else the
      per-user engine; ``"batched"`` requires the batched engine, ``"per-user"`` forces the
      other. Both give the same result (the differential tests require it).
    * ``validate``: the journeys are validated first (:func:`journeylab.validate.check_journeys`):
      errors stop the run with :class:`~journeylab.errors.InvalidJourneyError`, warnings are shown
      once as :class:`~journeylab.errors.JourneyWarning`.

    >>> import pandas as pd
    >>> from journeylab.examples import purchase_promo
    >>> profiles = pd.DataFrame({"user_id": ["ana", "bo"], "push_token": ["t1", None]})
    >>> events = pd.DataFrame({"user_id": ["ana", "bo"], "event": ["Charged", "Charged"],
    ...                        "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00"], utc=True)})
    >>> res = simulate(purchase_promo(), (profiles, events), "2026-10-01T00:00Z", "2026-10-02T00:00Z")
    >>> res.node_stats[["entered", "sent", "discarded_unreachable"]].loc["promo"].tolist()
    [2, 1, 1]
    """
    from journeylab.sim.result import SimulationResult

    if backend != "local":
        from journeylab.sim.scale import simulate_sharded

        return simulate_sharded(
            journeys, cohort, start, end, seed=seed, behaviour=behaviour, lifecycle=lifecycle,
            custom_lists=custom_lists, period=period, progress=progress, backend=backend, shards=shards,
            client=client,
        )
    clock = [time.perf_counter()]
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = now - clock[0]
        clock[0] = now

    defs = as_definitions(journeys)
    if validate:
        check_journeys(defs, stacklevel=3)
    parquet = _as_parquet(cohort)
    if parquet is not None:
        c = _read_parquet_cohort(parquet, defs)
        first, last = parquet.span() if start is None or end is None else (None, None)
    else:
        c = as_cohort(cohort)
        first = c.events["ts"].min() if len(c.events) else None  # (a cohort may keep its own order)
        last = c.events["ts"].max() if len(c.events) else None
    start_ts, end_ts = resolve_span(start, end, first, last)
    s0, e0 = int(start_ts.timestamp()), int(end_ts.timestamp())
    controls = lifecycle_controls(defs, s0, lifecycle)
    lists = _load_lists(defs, custom_lists)
    js = JourneySet(defs, seed=seed, controls=controls, custom_lists=lists)
    P = int(period.total_seconds())
    if P <= 0:
        raise JourneyDefinitionError("period must be positive", "period")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise JourneyDefinitionError(f"workers must be a whole number >= 1, got {workers!r}", "workers")
    lap("cohort_s")
    behaviour = behaviour or BehaviourModel.default()
    run_cls = _run_class(js, behaviour, engine)
    run = run_cls(js, c, s0, e0, seed, behaviour, P)
    lap("prepare_s")
    n_workers = _auto_workers(run) if workers is None else workers
    if n_workers > 1 and not hasattr(os, "fork"):
        warnings.warn(f"workers={n_workers} needs os.fork, which this platform lacks: running in one process",
                      RuntimeWarning, stacklevel=2)
        n_workers = 1
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=(e0 - s0 + P - 1) // P, desc="simulating", unit="period")
    try:
        run.run(bar, n_workers)
        if bar is not None:  # periods with nothing due are skipped: the run is complete
            bar.n = bar.total
            bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    lap("run_s")
    with _no_gc():
        res = SimulationResult.from_run(run, defs, c, start_ts, end_ts, seed)
    lap("results_s")
    res.timings = {**timings, "workers": float(n_workers)}
    return res


def _run_class(js: JourneySet, behaviour: BehaviourModel, engine: str) -> type[_Run]:
    """The period loop for these journeys: batched when it can be and ``engine`` allows it."""
    from journeylab.engine.batch import unsupported
    from journeylab.sim.batched import BatchedRun

    if engine not in ("auto", "batched", "per-user"):
        raise JourneyDefinitionError(f"engine must be 'auto', 'batched' or 'per-user', not {engine!r}", "engine")
    if engine == "per-user":
        return _Run
    defs = [e.definition for e in js.all_engines()]
    reason = unsupported(defs, watched=any(e.watched for e in js.all_engines()))
    if reason is None:
        lifts = {b.lift.event for b in [*behaviour.channels.values(), *behaviour.nodes.values()] if b.lift}
        if lifts & set(js.all_engines()[0].lookback):
            reason = "a goal-lift event is counted by a past-behaviour condition"
    if reason is None:
        return BatchedRun
    if engine == "batched":
        raise JourneyDefinitionError(f"the batched engine cannot run these journeys: {reason}", "engine")
    return _Run


def _as_parquet(cohort: Any) -> Any:
    """A :class:`ParquetCohort` for a cohort directory (or one given), else None."""
    from journeylab.sim.scale import ParquetCohort

    if isinstance(cohort, str | Path) and Path(cohort).is_dir():
        return ParquetCohort(str(cohort), name=Path(cohort).name)
    return cohort if isinstance(cohort, ParquetCohort) else None


def _read_parquet_cohort(cohort: Any, defs: list[JourneyDef], buckets: Any = None) -> Cohort:
    """A cohort directory (or some of its buckets) read with only the events and columns these
    journeys can act on (see :class:`~journeylab.engine.Inputs`)."""
    inputs = JourneySet(defs).inputs
    cols = sorted({c for v in inputs.event_props.values() for c in v} | {"event_id"})
    profiles, events = cohort.read(buckets, events=sorted(inputs.events), columns=cols, sort=False)
    return Cohort(profiles, events, name=cohort.name, sort=False)  # the run orders events itself


def lifecycle_controls(defs: Sequence[JourneyDef], start: int,
                       lifecycle: dict[str, list[tuple[Any, str]]] | None) -> dict[str, Control]:
    """Each journey's lifecycle over a run: published (running) at ``start``, then the given
    ``(instant, status)`` changes per journey id (``running``, ``paused``, ``stopped``)."""
    controls = {d.id: Control.running_from(start) for d in defs}
    for jid, changes in (lifecycle or {}).items():
        if jid not in controls:
            raise JourneyDefinitionError(f"no journey with id {jid!r} in this run", f"lifecycle.{jid}")
        ctl = controls[jid]
        for k, (when, status) in enumerate(changes):
            if status not in ("running", "paused", "stopped"):
                raise JourneyDefinitionError("status must be running, paused or stopped", f"lifecycle.{jid}[{k}]")
            ctl = ctl.with_status(int(to_utc(when, f"lifecycle.{jid}[{k}]").timestamp()), status)
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
