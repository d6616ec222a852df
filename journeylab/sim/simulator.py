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
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import simpy

from journeylab.engine.multi import JourneySet
from journeylab.engine.state import Control
from journeylab.engine.types import Action, Event, Feedback, ProfileChanged, Send, TraceRecord
from journeylab.errors import CohortError, JourneyDefinitionError
from journeylab.model.io import load as load_journey
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.nodes import CustomList, Inaction, PageCount, PageVisit, Referrer
from journeylab.sim.behaviour import BehaviourModel, draw
from journeylab.sim.cohort import Cohort, _isin, read_table

__all__ = ["simulate", "as_definitions", "as_cohort", "to_utc", "resolve_span", "relevant_events"]

_INF = 1 << 62
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
    """An aware UTC timestamp (strings are read as ISO 8601; naive values are refused)."""
    try:
        ts = pd.Timestamp(t)
    except (ValueError, TypeError) as e:
        raise JourneyDefinitionError(f"not a date-time: {e}", what) from None
    if ts.tzinfo is None:
        raise JourneyDefinitionError("give a timezone-aware instant (e.g. '2026-10-01T00:00Z')", what)
    return ts.tz_convert("UTC")


def _filter_props(defs: Sequence[JourneyDef]) -> dict[str, set[str]]:
    """Event properties any journey looks at, by event name."""
    need: dict[str, set[str]] = {}

    def add(event: str, props: Iterable[str]) -> None:
        s = need.setdefault(event, set())
        s.update(props)

    for d in defs:
        for n in d.nodes:
            for attr in ("filters", "absent_filters"):
                fl = getattr(n, attr, None)
                if fl:
                    ev = n.event if attr == "filters" else n.absent
                    if ev:
                        add(ev, (f.property for f in fl))
            if isinstance(n, PageVisit):
                add(n.event, [n.url_property])
            elif isinstance(n, Referrer):
                add(n.event, n.properties)
            for c in [*getattr(n, "did", ()), *getattr(n, "did_not", ())]:
                if c.filters:
                    add(c.event, (f.property for f in c.filters))
        for g in d.goals:
            for f in getattr(g, "filters", ()):
                add(g.event, [f.property])
            for c in [*getattr(g, "did", ()), *getattr(g, "did_not", ())]:
                if c.filters:
                    add(c.event, (f.property for f in c.filters))
    return need


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


def _check_ids(sub: pd.DataFrame, idx: np.ndarray) -> None:
    """Duplicate event ids among the events the journeys act on are an input error."""
    if "event_id" not in sub.columns or sub["event_id"].is_unique:
        return
    d = sub["event_id"].duplicated().to_numpy()
    i = int(idx[d.nonzero()[0][0]])
    raise CohortError(f"event_id {sub['event_id'].iloc[int(d.nonzero()[0][0])]!r} appears twice", f"events[{i}].event_id")


def _lead_seconds(js: JourneySet) -> int:
    """How far before the start events still matter (past-behaviour look-back, inaction, sessions)."""
    lead = 0
    for eng in js.all_engines():
        lead = max(lead, *eng.lookback.values(), 0)
        for n in eng.definition.nodes:
            if isinstance(n, Inaction):
                lead = max(lead, int(n.within.total_seconds()))
            if isinstance(n, PageCount | Referrer):
                lead = max(lead, eng.gap)
    return lead


class _Run:
    """One simulation: the period loop and the per-user advance."""

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
        self.rows: list[TraceRecord] = []
        self.row_runs: list[int] = []  # flat (user code, row count) pairs, in emission order
        self.sends: list[Send] = []
        self.responses: list[tuple[str, int, int, str, str, str]] = []
        self.profile_changes: list[ProfileChanged] = []
        self.pending: dict[int, list[tuple[int, int, Any]]] = {}
        self._seq = 0
        self._useq: dict[int, int] = {}
        self.calendar: dict[int, set[int]] = {}
        self.cal_heap: list[int] = []
        self._prepare(cohort)

    # ------------------------------------------------------------------ data
    def _prepare(self, cohort: Cohort) -> None:
        js = self.js
        ev = cohort.events
        lead = _lead_seconds(js)
        self.created = self.start - lead  # user clocks start where the history we feed starts
        ts_all = ev["ts"].to_numpy(dtype="datetime64[s]").astype(np.int64)
        mask = ev["event"].isin(list(js.relevant_events)).to_numpy() & (ts_all < self.end) & (ts_all >= self.start - lead)
        idx = np.flatnonzero(mask)
        idx = idx[self._within_bounds(ev, idx, ts_all[idx])]
        need = _filter_props(js_defs(js))
        cols = sorted({c for v in need.values() for c in v} & set(ev.columns))
        keep_cols = ["user_id", "event", *cols] + (["event_id"] if "event_id" in ev.columns else [])
        sub = ev[keep_cols].iloc[idx]
        _check_ids(sub, idx)
        ts = ts_all[idx]
        prof = cohort.profiles
        if js.needs_all_users:
            users = prof["user_id"].to_numpy(dtype=object)
        else:
            users = pd.unique(sub["user_id"].to_numpy(dtype=object))
        users = np.sort(users.astype(str)).astype(object)
        self.user_ids: list[str] = users.tolist()
        uindex = pd.Index(users)
        codes = uindex.get_indexer(sub["user_id"].to_numpy(dtype=object))
        per = np.where(ts < self.start, -1, (ts - self.start) // self.period).astype(np.int64)
        order = np.lexsort((np.arange(len(ts)), ts, codes, per))
        self.ev_ts: list[int] = ts[order].tolist()
        self.ev_user = codes[order]
        self.ev_per = per[order]
        names = sub["event"].to_numpy(dtype=object)[order]
        self.ev_name: list[str] = [str(x) for x in names]
        self.ev_props: list[dict[str, Any]] | None = None
        if cols:
            frame = sub[cols].iloc[order]
            values = {c: frame[c].to_numpy(dtype=object).tolist() for c in cols}
            props: list[dict[str, Any]] = []
            empty: dict[str, Any] = {}
            for i, name in enumerate(self.ev_name):
                wanted = need.get(name)
                if not wanted:
                    props.append(empty)
                    continue
                d = {}
                for c in wanted:
                    if c in values:
                        v = values[c][i]
                        if v is not None and v == v:
                            d[c] = v
                props.append(d)
            self.ev_props = props
        # profiles: built lazily per user from columns
        p = prof.set_index("user_id")
        self.prof_pos = pd.Index(p.index).get_indexer(users)
        wanted = _profile_columns(js_defs(js), list(p.columns))
        self.prof_cols = {c: p[c].to_numpy(dtype=object) for c in wanted}
        self.states: list[dict | None] = [None] * len(users)
        self.wake: list[int] = [_INF] * len(users)  # each user's next wake-up, as last computed
        self.solo = js.solo
        self._as_engine = _SetAsEngine(js)
        # period blocks
        self.periods = np.unique(self.ev_per).tolist()
        self.block_start = np.searchsorted(self.ev_per, self.periods, side="left").tolist()
        self.block_end = np.searchsorted(self.ev_per, self.periods, side="right").tolist()
        if js.needs_all_users:
            self._cal_add(-1, range(len(users)))

    def _within_bounds(self, ev: pd.DataFrame, idx: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Rows (positions in ``idx``) any journey can still react to, by the engines' bounds."""
        names = ev["event"].iloc[idx]
        codes, _ = pd.factorize(ev["user_id"].iloc[idx])
        n_users = int(codes.max()) + 1 if len(codes) else 0
        keep = np.zeros(len(idx), dtype=bool)
        big = np.iinfo(np.int64).max
        for eng in self.js.all_engines():
            rel = _isin(names, pd.Series(sorted(eng.relevant_events), dtype=object)).to_numpy()
            bounds = eng.activity_bounds()
            ctl = self.js.control(eng.id)
            if bounds is None:
                keep |= rel
                continue
            triggers, exempt, tail, first_only = bounds
            first_only = first_only and len(ctl.timeline) == 1
            trig = _isin(names, pd.Series(sorted(triggers), dtype=object)).to_numpy()
            first = np.full(n_users, big, dtype=np.int64)
            np.minimum.at(first, codes[trig], ts[trig])
            lo = first[codes]
            if tail is None:
                hi = np.full(len(idx), big, dtype=np.int64)
            else:
                if first_only:
                    started = trig & (ts >= self.start)
                    anchor = np.full(n_users, big - tail, dtype=np.int64)
                    np.minimum.at(anchor, codes[started], ts[started])
                else:
                    anchor = np.full(n_users, -(big // 2), dtype=np.int64)
                    np.maximum.at(anchor, codes[trig], ts[trig])
                hi = anchor[codes] + tail
            ex = _isin(names, pd.Series(sorted(exempt), dtype=object)).to_numpy() if exempt else np.zeros(len(idx), bool)
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
        pos = self.prof_pos[u]
        if pos < 0:
            return {}
        out = {}
        for c, arr in self.prof_cols.items():
            v = arr[pos]
            if v is None:
                continue
            if isinstance(v, float) and v != v:
                continue
            if v is pd.NaT:
                continue
            out[c] = v
        return out

    def _state(self, u: int) -> dict:
        s = self.states[u]
        if s is None:
            s = self.js.new_user(self.user_ids[u], self._profile(u), self.created)
            self.states[u] = s
            w = self.js.next_wake(s)
            self.wake[u] = _INF if w is None else w
        return s

    # ------------------------------------------------------------------ clock
    def run(self, progress: Any = None) -> None:
        env = simpy.Environment(initial_time=0)
        env.process(self._clock(env, progress))
        with _no_gc():
            env.run()

    def _clock(self, env: simpy.Environment, progress: Any):
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
            done = p
            if progress is not None:
                progress.n = max(0, min(p + 1, progress.total or 0))
                progress.refresh()

    def _run_period(self, p: int, block: tuple[int, int] | None, due: set[int]) -> None:
        p_end = self.start + (p + 1) * self.period if p >= 0 else self.start
        p_end = min(p_end, self.end)
        ranges: dict[int, tuple[int, int]] = {}
        if block is not None:
            a, b = block
            users = self.ev_user[a:b]
            if len(users):
                cuts = np.flatnonzero(np.diff(users)) + 1
                starts = [a, *(cuts + a).tolist()]
                ends = [*(cuts + a).tolist(), b]
                for s, e in zip(starts, ends, strict=True):
                    ranges[int(self.ev_user[s])] = (s, e)
        for u in sorted(set(ranges) | due):
            a, b = ranges.get(u, (0, 0))
            self._advance_user(u, a, b, p_end)

    # ------------------------------------------------------------------ one user
    def _advance_user(self, u: int, a: int, b: int, p_end: int) -> None:
        """Advance one user through ``[.., p_end)``: timers first at an instant, then cohort
        events (input order), then simulated responses — each through the engine core."""
        if self.solo is not None:  # one journey that triggers nothing: call the engine itself
            jid, eng = self.solo
            st: Any = self._state(u)[jid]
            ctl = self.js.control(jid)
        else:  # several journeys: the journey set orders and routes the work
            eng, st, ctl = self._as_engine, self._state(u), None
        uid = self.user_ids[u]
        pend = self.pending.get(u)
        ev_ts, ev_name, ev_props = self.ev_ts, self.ev_name, self.ev_props
        i = a
        out: list[Action] = []
        w = self.wake[u]
        while True:
            te = ev_ts[i] if i < b else _INF
            tp = pend[0][0] if pend else _INF
            m = w if w < te else te
            if tp < m:
                m = tp
            if m >= p_end:
                break
            if w == m:
                nw = eng.advance(st, w, ctl, out)
            elif te == m:
                nw = eng.event(st, Event(uid, te, ev_name[i], ev_props[i] if ev_props is not None else _EMPTY), ctl, out)
                i += 1
            else:
                _, _, inp = heapq.heappop(pend)
                nw = eng.feedback(st, inp, ctl, out) if type(inp) is Feedback else eng.event(st, inp, ctl, out)
            w = _INF if nw is None else nw
            if out:
                self._collect(u, out)
                out = []
                pend = self.pending.get(u)
        self._reschedule(u, w, pend)

    def _reschedule(self, u: int, w: int, pend: list | None) -> None:
        """Remember the user's next wake-up and file them under its period."""
        self.wake[u] = w
        tp = pend[0][0] if pend else _INF
        nxt = w if w < tp else tp
        if nxt < self.end:
            self._cal_add((nxt - self.start) // self.period, (u,))

    def _collect(self, u: int, acts: list[Action]) -> None:
        rows = self.rows
        n0 = len(rows)
        for a in acts:
            if type(a) is TraceRecord:
                rows.append(a)
            elif type(a) is Send:
                self.sends.append(a)
                self._respond(u, a)
            elif type(a) is ProfileChanged:
                self.profile_changes.append(a)
        if len(rows) > n0:
            self.row_runs += (u, len(rows) - n0)

    def _respond(self, u: int, s: Send) -> None:
        """Draw the user's response to a message from the behaviour model."""
        b = self.behaviour.for_node(s.channel, s.node)
        if b.view <= 0.0 or draw(self.seed, s.id, "delivered") >= b.delivery:
            return
        if draw(self.seed, s.id, "viewed") >= b.view:
            return
        tv = s.ts + b.view_latency.sample(draw(self.seed, s.id, "view_latency"))
        self._push(u, Feedback(s.user_id, tv, s.id, "viewed"))
        if b.click > 0.0 and draw(self.seed, s.id, "clicked") < b.click:
            tc = tv + b.click_latency.sample(draw(self.seed, s.id, "click_latency"))
            self._push(u, Feedback(s.user_id, tc, s.id, "clicked"))
            lift = b.lift
            if lift is not None and draw(self.seed, s.id, "lift") < lift.probability:
                tl = tc + lift.latency.sample(draw(self.seed, s.id, "lift_latency"))
                self._push(u, Event(s.user_id, tl, lift.event, dict(lift.props)))

    def _push(self, u: int, inp: Any) -> None:
        """Queue a simulated input for the user (delivered after cohort events at one instant)."""
        if inp.ts >= self.end:
            return
        self._seq += 1
        heapq.heappush(self.pending.setdefault(u, []), (inp.ts, self._seq, inp))
        n = self._useq[u] = self._useq.get(u, 0) + 1  # the user's own count: shard-independent
        if type(inp) is Feedback:
            self.responses.append((inp.user_id, inp.ts, n, inp.kind, inp.message_id, ""))
        else:
            self.responses.append((inp.user_id, inp.ts, n, "event", "", inp.name))

    # ------------------------------------------------------------------ output
    def trace_frame(self) -> pd.DataFrame:
        """The trace in canonical order: by instant, then user id, each user's rows in order."""
        from journeylab.stats import empty_trace

        rows = self.rows
        if not rows:
            return empty_trace()
        col = [list(map(itemgetter(k), rows)) for k in (1, 2, 3, 4, 5, 6, 7)]
        ts = np.asarray(col[0], dtype=np.int64)
        runs = np.asarray(self.row_runs, dtype=np.int64).reshape(-1, 2)
        codes = np.repeat(runs[:, 0], runs[:, 1])  # user codes follow sorted user ids
        order = np.lexsort((np.arange(len(ts)), codes, ts))
        users = np.asarray(self.user_ids, dtype=object)

        def cat(values: list[Any]) -> pd.Categorical:
            return pd.Categorical(np.asarray(values, dtype=object)[order])

        return pd.DataFrame(
            {
                "user_id": users[codes[order]],
                "ts": pd.to_datetime(ts[order], unit="s", utc=True).as_unit("ns"),
                "journey": cat(col[1]),
                "version": np.asarray(col[2], dtype=np.int64)[order],
                "node": cat(col[3]),
                "event": cat(col[4]),
                "port": cat(col[5]),
                "detail": cat(col[6]),
            }
        )


def _profile_columns(defs: Sequence[JourneyDef], columns: list[str]) -> list[str]:
    """Profile columns any journey can read (reachability, filters, placeholders, dates)."""
    import re

    import msgspec

    from journeylab.model.nodes import NODE_KINDS, kind_of

    blob = " ".join(msgspec.json.encode(d).decode() for d in defs)
    need = set()
    for d in defs:
        for n in d.nodes:
            reach = NODE_KINDS[kind_of(n)].reachability
            if reach:
                need.add(reach)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", blob))
    return [c for c in columns if c in need or c in words]


class _SetAsEngine:
    """A journey set behind the engine's call shape (``states`` in place of one state)."""

    def __init__(self, js: JourneySet) -> None:
        self.js = js

    def advance(self, states: dict, t: int, _ctl: Any, out: list[Action]) -> int | None:
        return self.js.advance(states, t, out)

    def event(self, states: dict, inp: Any, _ctl: Any, out: list[Action]) -> int | None:
        return self.js.deliver(states, inp, out)

    feedback = event


def js_defs(js: JourneySet) -> list[JourneyDef]:
    return [e.definition for e in js.all_engines()]


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
):
    """Run journeys over a cohort from ``start`` to ``end`` and return a :class:`SimulationResult`.

    * ``journeys``: a Journey, JourneyDef, JSON path, or a list of them (run together:
      journey triggers and profile updates cross between them).
    * ``cohort``: a :class:`Cohort`, a ``(profiles, events)`` pair, or a bundled dataset name.
    * ``start``/``end``: aware instants (default: the cohort's first day to its last event).
      Every journey is treated as published at ``start``; ``lifecycle`` adds pause / resume /
      stop moments per journey id, e.g. ``{"cart": [("2026-10-10T00:00Z", "paused")]}``.
    * ``seed`` and ``behaviour``: the simulated responses to messages (views, clicks, lift).

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
    defs = as_definitions(journeys)
    parquet = _as_parquet(cohort)
    if parquet is not None:
        c = _read_parquet_cohort(parquet, defs)
        first, last = parquet.span() if start is None or end is None else (None, None)
    else:
        c = as_cohort(cohort)
        first = c.events["ts"].iloc[0] if len(c.events) else None
        last = c.events["ts"].iloc[-1] if len(c.events) else None
    start_ts, end_ts = resolve_span(start, end, first, last)
    s0, e0 = int(start_ts.timestamp()), int(end_ts.timestamp())
    controls = {d.id: Control.running_from(s0) for d in defs}
    for jid, changes in (lifecycle or {}).items():
        if jid not in controls:
            raise JourneyDefinitionError(f"no journey with id {jid!r} in this simulation", f"lifecycle.{jid}")
        ctl = controls[jid]
        for k, (when, status) in enumerate(changes):
            if status not in ("running", "paused", "stopped"):
                raise JourneyDefinitionError("status must be running, paused or stopped", f"lifecycle.{jid}[{k}]")
            ctl = ctl.with_status(int(to_utc(when, f"lifecycle.{jid}[{k}]").timestamp()), status)
        controls[jid] = ctl
    lists = _load_lists(defs, custom_lists)
    js = JourneySet(defs, seed=seed, controls=controls, custom_lists=lists)
    P = int(period.total_seconds())
    if P <= 0:
        raise JourneyDefinitionError("period must be positive", "period")
    run = _Run(js, c, s0, e0, seed, behaviour or BehaviourModel.default(), P)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=(e0 - s0 + P - 1) // P, desc="simulating", unit="period")
    try:
        run.run(bar)
    finally:
        if bar is not None:
            bar.close()
    with _no_gc():
        return SimulationResult.from_run(run, defs, c, start_ts, end_ts, seed)


def _as_parquet(cohort: Any) -> Any:
    """A :class:`ParquetCohort` for a cohort directory (or one given), else None."""
    from journeylab.sim.scale import ParquetCohort

    if isinstance(cohort, str | Path) and Path(cohort).is_dir():
        return ParquetCohort(str(cohort), name=Path(cohort).name)
    return cohort if isinstance(cohort, ParquetCohort) else None


def _read_parquet_cohort(cohort: Any, defs: list[JourneyDef]) -> Cohort:
    """A cohort directory read with only the events and columns these journeys use."""
    js = JourneySet(defs)
    need = _filter_props(defs)
    cols = sorted({c for v in need.values() for c in v} | {"event_id"})
    profiles, events = cohort.read(events=sorted(js.relevant_events), columns=cols)
    return Cohort(profiles, events, name=cohort.name)


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
