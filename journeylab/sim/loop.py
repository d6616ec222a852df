"""The per-user period loop: SimPy as the clock, the engine core called for each due user.

This is the simulator's general loop: any journeys (several at once, journey triggers,
schedules, every node kind). Each period, every user with something due — events, or a
wake-up (window end, evaluation, delay end, DND end, journey timeout...) in the period — is
advanced through the engine in time order: timers first at an instant, then cohort events
(input order), then the simulated responses (views, clicks, goal lift) the behaviour model
draws for each message sent. SimPy jumps from period to period where something is due, so its
event count grows with distinct periods, not with users. The batched loop
(:mod:`journeylab.sim.batched`) does the same for the journeys the batched engine runs.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Callable, Iterable
from itertools import chain
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import simpy

from journeylab.engine.draws import message_key, stable_hash, user_key
from journeylab.engine.multi import JourneySet
from journeylab.engine.state import UserState
from journeylab.engine.types import Action, Event, Feedback, ProfileChanged, Send, TraceRecord
from journeylab.errors import EngineInvariantError
from journeylab.sim.behaviour import draw
from journeylab.sim.output import STRING_COLUMNS
from journeylab.sim.prepare import LoopBase, Prepared
from journeylab.sim.result import props_text, responses_table
from journeylab.trace import sends_table

__all__ = ["PerUserLoop"]

_INF = 1 << 62
_new = tuple.__new__  # builds engine inputs without the NamedTuple constructor (see engine.core)
_EMPTY: dict[str, Any] = {}
_ROW_FIELDS = (1, 3, 2, 4, 5, 6, 7)  # TraceRecord fields kept (the user is known by its code)
_SEND_FIELDS = itemgetter(0, 1, 2, 3, 4, 5, 6)  # Send without its content


class PerUserLoop(LoopBase):
    """The period loop over one part of the users (every user, or ``u % parts == k``)."""

    def __init__(self, prep: Prepared) -> None:
        super().__init__(prep)
        self.rows: list[TraceRecord] = []  # this period's trace records (moved to `cols` after it)
        self.cols: dict[int, list[tuple[Any, ...]]] = {k: [] for k in _ROW_FIELDS}  # per field: a tuple a period
        self.send_rows: list[tuple[Any, ...]] = []
        self.row_runs: list[int] = []  # flat (user code, row count) pairs, in emission order
        self.sends: list[Send] = []
        self.responses: list[tuple[str, int, int, str, str, str, str | None]] = []
        self.changes: list[ProfileChanged] = []  # what Profile Update nodes changed
        self.pending: dict[int, list[tuple[int, int, Any]]] = {}
        self.received: dict[int, dict[str, list[int]]] = {}  # fatigue: delivery instants per user, channel
        self._seq = 0
        self._useq: dict[int, int] = {}
        self.calendar: dict[int, set[int]] = {}
        self.cal_heap: list[int] = []
        n = len(prep.user_ids)
        self.states: list[Any] = [None] * n
        self.wake: list[int] = [_INF] * n  # each user's next wake-up, as last computed
        self.solo = self.js.solo
        self._as_engine = _SetAsEngine(self.js)

    def materialize(self, part: tuple[int, int] | None) -> None:
        """The loop's lists: for every user, or for users ``u % parts == k`` of ``part=(k, parts)``."""
        p = self.prep
        if part is None:
            sel: Any = np.arange(len(p.user))
            mine: Iterable[int] = range(len(self.user_ids))
        else:
            k, parts = part
            sel = np.flatnonzero(p.user % parts == k)
            mine = range(k, len(self.user_ids), parts)
        sel = sel[np.argsort(p.per[sel], kind="stable")]  # by period, then user, time, input order
        self.ev_ts: list[int] = p.ts[sel].tolist()
        self.ev_user = p.user[sel]
        ev_per = p.per[sel]
        self.ev_name: list[str] = p.names[sel].tolist()
        self.ev_props: list[dict[str, Any]] | None = None
        if p.props:
            values = {c: arr[sel].tolist() for c, arr in p.props.items()}
            need = p.need
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
        self.prof_cols = [(c, col.tolist()) for c, col in p.prof_cols]
        met = mine if self.js.needs_all_users else np.unique(self.ev_user).tolist()
        self.profiles: list[dict[str, Any] | None] = [None] * len(self.user_ids)
        for u in met:
            self.profiles[u] = self._profile(u)

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

    def run(self, report: Callable[[int], None] | None) -> None:
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
                else:  # a simulated response is due first (tp == m)
                    if not pend:  # pragma: no cover - tp == m < p_end: the user has a response pending
                        raise EngineInvariantError(f"user {user_ids[u]!r}: no pending response due at {m}")
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
        if b.view <= 0.0 and b.opt_out is None:
            return
        key = message_key(stable_hash(s.journey), s.version, user_key(s.user_id), s.n, stable_hash(s.node), s.visit)
        seed = self.seed
        if draw(seed, key, "delivered") >= b.delivery:
            return
        if b.opt_out is not None:
            self._fatigue(u, s, b.opt_out, key)
        if b.view <= 0.0 or draw(seed, key, "viewed") >= b.view:
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

    def _fatigue(self, u: int, s: Send, oo: Any, key: int) -> None:
        """Fatigue (:class:`~journeylab.sim.behaviour.OptOut`): count the messages on the channel
        delivered to the user in the last day and week, across journeys, and draw an opt-out;
        it reaches the engine as an ``unsubscribed`` feedback (the consent opt-out of the channel,
        see :meth:`journeylab.engine.Engine.feedback`)."""
        per = self.received.setdefault(u, {})
        hist = per.setdefault(s.channel, [])
        hist.append(s.ts)
        while hist[0] <= s.ts - 7 * 86400:
            hist.pop(0)
        n_day = len(hist) - bisect_right(hist, s.ts - 86400)
        if draw(self.seed, key, "opt_out") < oo.probability(n_day, len(hist)):
            t = s.ts + oo.latency.sample(draw(self.seed, key, "opt_out_latency"))
            self._push(u, Feedback(s.user_id, t, s.id, "unsubscribed"))

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
            self.responses.append((inp.user_id, inp.ts, n, "event", "", inp.name, props_text(inp.props)))

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

    def chunk(self) -> dict[str, Any]:
        """This run's output in columnar form (cheap to send from a worker): trace columns
        with the strings factorized, plus sends and responses as plain tuples."""
        self._flush()
        n = sum(map(len, self.cols[1]))
        chunk: dict[str, Any] = {
            "n": n,
            "sends": sends_table(self.send_rows),
            "responses": responses_table(self.responses),
            "changes": [tuple(c) for c in self.changes],
        }
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
        for name, k in STRING_COLUMNS:
            codes, uniques = pd.factorize(column(k, object))
            chunk[name] = (codes.astype(np.min_scalar_type(max(len(uniques), 1)))[order], list(uniques))
        return chunk


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
