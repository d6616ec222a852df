"""The batched engine: the rules of one journey version applied to arrays of users at once.

The per-user engine (:class:`~journeylab.engine.Engine`) takes one user and one input at a
time; a simulation of a million users would call it tens of millions of times. This module
holds the same rules over numpy arrays: every user's state is a row in a few arrays, and a
*round* moves every user who has something to do by exactly one step (their next timer, their
next cohort event that can act, or their next simulated response), grouped by what the step is
— all users whose window ends now together, all users arriving at a push together — with array
operations. Users never share state, so each user goes through exactly the sequence of steps
the per-user engine would take; the differential tests run both on random journeys and require
identical traces.

A driver (the simulator) gives the users' profiles and their events (sorted by user, time and
input order, event properties factorized), calls :meth:`BatchEngine.run_until` once per period
of its clock, and reads the trace columns, sends and profile changes at the end. It draws
simulated responses to the messages through a callback (see :class:`Responder`).

Not every journey is batched: :func:`unsupported` says why a journey needs the per-user engine
(several journeys or versions, journey triggers, schedules and custom lists, date-time and
past-behaviour entries, page-view segments and sessions, local-time delivery, account frequency
caps; consent events in the cohort, see :func:`consent_events`); the simulator then uses that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import msgspec
import numpy as np

from journeylab.engine.clock import LocalClock, clock_for
from journeylab.engine.core import as_epoch, is_missing, is_set_and_true, update_detail, updated_value
from journeylab.engine.draws import mix_array, split_draw_array, stable_hash, user_key_array
from journeylab.engine.order import order_by_pair, stable_order
from journeylab.engine.state import Control
from journeylab.engine.types import TRACE_EVENTS
from journeylab.errors import EngineInvariantError
from journeylab.model.conditions import EventCount, EventMatch, PropertyFilter
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import (
    FREQUENCY_CHANNELS,
    NODE_KINDS,
    Action,
    Delay,
    Engagement,
    Inaction,
    PastBehavior,
    ProfileUpdate,
    Split,
    kind_of,
)
from journeylab.model.policy import as_policy, flag_false, flag_true
from journeylab.model.settings import ActionGoal, PastBehaviorGoal

__all__ = ["BatchEngine", "Events", "EventColumn", "Responses", "unsupported", "consent_events"]

NEVER = 1 << 62
OUT = -1
_E = {name: i for i, name in enumerate(TRACE_EVENTS)}
#: dtypes of the trace's code columns: user, ts, node, event, port, detail
_ROW_DTYPES = (np.int32, np.int64, np.int32, np.int8, np.int32, np.int32)


def _stitch(parts: list[Any], lens: np.ndarray, dtype: Any) -> np.ndarray:
    """Blocks of rows end to end as one column; a block given as one int holds that value in
    every row (a run of copies made by one ``repeat`` for all such blocks, not one array each)."""
    arrays = [isinstance(p, np.ndarray) for p in parts]
    if all(arrays):
        return np.concatenate(parts).astype(dtype, copy=False)
    out = np.repeat(np.array([0 if a else int(p) for p, a in zip(parts, arrays, strict=True)], dtype=dtype), lens)
    if any(arrays):
        ends = np.cumsum(lens)
        for k in np.flatnonzero(arrays):
            out[ends[k] - lens[k] : ends[k]] = parts[k]
    return out


# due kinds (what a node waits for at ``due``)
_INACTION, _PB, _AT, _DELAY, _SEND = 1, 2, 3, 4, 5
# timer rules, in engine.core.TIMER_RULES order (no version change here: publishing a version during
# a run needs two versions of the journey, which the batched engine does not run — see unsupported)
(
    _STOPPED,
    _VERSION_CHANGE,
    _GOAL_EVALUATION,
    _JOURNEY_TIMEOUT,
    _WINDOW_END,
    _NODE_TIMEOUT,
    _NODE_DUE,
    _INACTION_WAIT_INSIDE,
    _INACTION_ENTRY,
) = range(9)
_NONE_RULE = 99
_BATCHED_KINDS = {
    "action",
    "inaction",
    "past_behavior",
    "date_time",
    "profile",
    "delay",
    "force_exit",
    "profile_update",
    "split",
    *(k for k, i in NODE_KINDS.items() if i.family == "engagement"),
}
_WAIT = -1  # an arrival rule's answer: the user waits at the node
_GONE = -2  # ... the user left the journey (force exit)


def unsupported(definitions: Sequence[JourneyDef], *, watched: bool = False, policy: Any = None) -> str | None:
    """Why these journeys need the per-user engine under the account ``policy`` (``None``: the
    batched engine runs them). Consent read from the profile is batched; consent *events*
    (an unsubscribe during the run) are not: the driver checks its events for them (see
    :func:`consent_events`)."""
    if len(definitions) != 1:
        return (
            "several journeys or versions run together (journey triggers, shared profiles, a version "
            "published during the run)"
        )
    d = definitions[0]
    if watched:
        return "another journey listens to this one"
    if d.settings.local_time:
        return "local-time delivery (each user's own timezone)"
    pol = as_policy(policy)
    channels = {kind_of(n) for n in d.nodes if isinstance(n, Engagement)}
    if any(c.channel is None or c.channel in channels for c in pol.caps):
        return "account frequency caps"
    entries = {n.id for n in d.entry_nodes()}
    inaction_entries = 0
    for n in d.nodes:
        kind = kind_of(n)
        if kind not in _BATCHED_KINDS:
            return f"node kind {kind!r}"
        if n.id in entries:
            if isinstance(n, Inaction):
                inaction_entries += 1
            elif not isinstance(n, Action):
                return f"a {kind} entry"
    if inaction_entries > 1:
        return "several Inaction entries"
    return None


def consent_events(policy: Any = None) -> frozenset[str]:
    """The event names that change consent during a run under this account policy, whatever
    its journeys send (the batched engine does not apply them: a driver whose events hold any
    uses the per-user engine)."""
    c = as_policy(policy).consent
    return frozenset() if c is None else frozenset(e.event for e in c.events)


class EventColumn(NamedTuple):
    """One event property, factorized: ``codes`` per event (-1: the event lacks it) into ``values``."""

    codes: np.ndarray
    values: list[Any]


class Events(NamedTuple):
    """The cohort events a run can act on, sorted by user, then time, then input order."""

    user: np.ndarray  # int64 user codes
    ts: np.ndarray  # int64 epoch seconds
    name: np.ndarray  # int32 codes into ``names``
    names: list[str]
    props: dict[str, EventColumn]


class Responses(NamedTuple):
    """Simulated responses to a batch of messages, drawn by the driver: for message ``k`` of the
    batch, ``viewed``/``clicked``/``lift`` times and the time of an ``unsubscribed`` feedback
    (an opt-out, :meth:`BatchEngine._on_opt_out`; ``NEVER``: none, ``None``: none for any)."""

    viewed: np.ndarray
    clicked: np.ndarray
    lift: np.ndarray
    unsubscribed: np.ndarray | None = None


#: ``responder(keys, node_codes, ts, users)`` -> :class:`Responses` for messages with these draw
#: keys (see :func:`journeylab.engine.draws.message_key`), sent by these nodes at these instants
#: to these users (the engine's user numbers, each at most once in a call: a responder may keep
#: a history per user, as fatigue does)
Responder = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], Responses]


class _Pred(NamedTuple):
    """A test of one event: its name and its property filters (profile filters come later)."""

    event: str
    filters: tuple[PropertyFilter, ...]


class BatchEngine:
    """The rules of one journey version over arrays of users (see the module docstring).

    ``profile`` maps property names to object arrays (one value per user, ``None`` where the
    user has none); Profile Update nodes write into them. ``lift`` is the goal-lift event a
    responder may create, as ``(name, props)`` per node code (or ``None``).
    """

    def __init__(
        self,
        journey: JourneyDef,
        control: Control,
        *,
        seed: int,
        user_ids: Sequence[str],
        profile: dict[str, np.ndarray],
        events: Events,
        created: int,
        responder: Responder | None = None,
        lift: dict[int, tuple[str, dict[str, Any]]] | None = None,
        user_keys: np.ndarray | None = None,
        policy: Any = None,
    ) -> None:
        pol = as_policy(policy)
        reason = unsupported([journey], policy=pol)
        if reason:
            raise EngineInvariantError(f"the batched engine cannot run this journey: {reason}")
        self.d = journey
        self.control = control
        self.seed = seed
        s = journey.settings
        self.clock = clock_for(s.timezone, s.hourly_offset_minutes) or LocalClock(s.timezone, s.hourly_offset_minutes)
        self.ca = self.clock.arrays
        self.user_ids = user_ids
        self.U = U = len(user_ids)
        self.profile = profile
        self._truthy_cache: dict[str, np.ndarray] = {}
        self.ev = events
        self.responder = responder
        self.lift = lift or {}
        self.version = journey.version
        self.timeout = int(s.journey_timeout.total_seconds()) if s.journey_timeout else None
        self.start = int(s.start.timestamp()) if s.start else None
        self.end = int(s.end.timestamp()) if s.end else None
        self.reentry = s.reentry
        self._jhash = stable_hash(journey.id)
        # each user's key for random draws (the driver may have them: they depend on the id only)
        self.ukey = user_key_array(user_ids) if user_keys is None else user_keys

        # ---- nodes, ports, connectors
        self.nodes = list(journey.nodes)
        self.node_ids = [n.id for n in self.nodes]
        self.nix = {nid: i for i, nid in enumerate(self.node_ids)}
        N = len(self.nodes)
        self.kinds = [kind_of(n) for n in self.nodes]
        ports = ["", "yes", "no", "timeout", "next", "viewed", "clicked", "not_sent"]
        for n in self.nodes:
            if isinstance(n, Split):
                ports += [b.name for b in n.branches if b.name not in ports]
        self.ports = ports
        self.pix = {p: i for i, p in enumerate(ports)}
        self.conn = np.full((N, len(ports)), OUT, dtype=np.int64)
        for c in journey.connectors:
            self.conn[self.nix[c.source], self.pix[c.port]] = self.nix[c.target]
        self._node_hash = np.array([stable_hash(i) for i in self.node_ids], dtype=np.uint64)
        self.details: list[str] = []
        self._dix: dict[str, int] = {}

        # ---- events: predicates as bits
        self.preds: list[_Pred] = []
        self._pix: dict[tuple[str, str], int] = {}
        entries = journey.entry_nodes()
        self.entry_action = [
            (self.nix[n.id], self._pred(n.event, n.filters), n) for n in entries if isinstance(n, Action)
        ]
        inact = [n for n in entries if isinstance(n, Inaction)]
        self.inaction = inact[0] if inact else None
        if self.inaction is not None:
            n = self.inaction
            self.in_node = self.nix[n.id]
            self.in_within = int(n.within.total_seconds())
            if n.event is None:  # pragma: no cover - validation refuses it (inaction-needs-event)
                raise EngineInvariantError(f"Inaction entry {n.id!r} has no first event")
            self.p_start = self._pred(n.event, n.filters)
            self.p_absent = self._pred(n.absent, n.absent_filters)
        self.goals_action = [(g, self._pred(g.event, g.filters)) for g in journey.goals if isinstance(g, ActionGoal)]
        self.goals_pb = [g for g in journey.goals if isinstance(g, PastBehaviorGoal)]
        self.listen = np.full(N, -1, dtype=np.int64)  # the predicate a waiting user reacts to
        for i, n in enumerate(self.nodes):
            if n.id in {e.id for e in entries}:
                continue
            if isinstance(n, Action):
                self.listen[i] = self._pred(n.event, n.filters)
            elif isinstance(n, Inaction):
                self.listen[i] = self._pred(n.absent, n.absent_filters)
        self.pb_conds: dict[int, int] = {}  # id(condition) -> predicate
        pb_sources: list[PastBehavior | PastBehaviorGoal] = [
            *(n for n in self.nodes if isinstance(n, PastBehavior)),
            *self.goals_pb,
        ]
        for src in pb_sources:
            conds: list[EventCount | EventMatch] = [*src.did, *src.did_not]
            for cond in conds:
                self.pb_conds[id(cond)] = self._pred(cond.event, cond.filters)
        self.ev_bits = self._event_bits()
        self.pos = [np.flatnonzero(self.ev_bits & np.int64(1 << k)) for k in range(len(self.preds))]
        self.cand = [np.zeros(U, dtype=np.int64) for _ in self.preds]  # per user, a lower bound into pos
        E = len(events.ts)
        self._ebase = int(events.ts.min()) - 1 if E else 0
        span = int(events.ts.max()) - self._ebase + 2 if E else 1
        self._eshift = max(1, span.bit_length())  # user << shift | (ts - base): one sorted key
        self.ekey = (events.user << self._eshift) | np.clip(events.ts - self._ebase, 0, (1 << self._eshift) - 1)
        self.ev_lo = np.searchsorted(events.user, np.arange(U), "left")
        self.ev_hi = np.searchsorted(events.user, np.arange(U), "right")

        # ---- engagement
        self.channel = [k if NODE_KINDS[k].family == "engagement" else "" for k in self.kinds]
        self.phantom = np.array(
            [
                isinstance(n, Engagement)
                and (self.conn[i, self.pix["viewed"]] >= 0 or self.conn[i, self.pix["clicked"]] >= 0)
                for i, n in enumerate(self.nodes)
            ]
        )
        consent = pol.consent
        #: consent (the account policy's), when the journey sends on a channel that needs it
        self.consent = consent if consent is not None and set(self.channel) & consent.channels() else None
        #: per node, the profile change an ``unsubscribed`` feedback on its message makes (the
        #: consent opt-out of its channel: Consent.channel_change; none with consent off)
        self.opt_out_change = [consent.channel_change(ch) if consent is not None and ch else {} for ch in self.channel]
        self._flag_cache: dict[tuple[str, bool], np.ndarray] = {}
        # experiments (issue 17): control branches hold their users; conversions after exit
        #: per Split node with control (hold-out) branches, their port codes
        self.control_ports = {
            i: np.array([self.pix[b.name] for b in n.branches if b.control], dtype=np.int64)
            for i, n in enumerate(self.nodes)
            if isinstance(n, Split) and any(b.control for b in n.branches)
        }
        #: seconds after a non-goal exit in which an action goal's event still converts (None: off)
        self.attribution = int(s.attribution_window.total_seconds()) if s.attribution_window else None
        #: per user, the end of their attribution window (NEVER: none) and the node they left from
        self.attr_until = np.full(U, NEVER, dtype=np.int64)
        self.attr_node = np.full(U, -1, dtype=np.int64)
        self.limits = list(s.limits)
        self.lim_key = [np.full(U, -(1 << 62), dtype=np.int64) for _ in self.limits]
        self.lim_cnt = [np.zeros(U, dtype=np.int64) for _ in self.limits]

        # ---- per-user state
        self.node = np.full(U, OUT, dtype=np.int64)
        self.entries = np.zeros(U, dtype=np.int64)
        self.entered_at = np.zeros(U, dtype=np.int64)
        self.visit = np.zeros(U, dtype=np.int64)
        self.visits = np.zeros((U, max(N, 1)), dtype=np.int32)
        self.window_end = np.full(U, NEVER, dtype=np.int64)
        self.timed_out = np.zeros(U, dtype=bool)
        self.timeout_at = np.full(U, NEVER, dtype=np.int64)
        self.due = np.full(U, NEVER, dtype=np.int64)
        self.due_kind = np.zeros(U, dtype=np.int8)
        self.msg = np.full(U, -1, dtype=np.int64)
        self.goal_mark = np.zeros(U, dtype=np.int64)
        self.clock_u = np.full(U, created, dtype=np.int64)
        self.ev_ptr = self.ev_lo.copy()
        self.pend0 = np.full(U, NEVER, dtype=np.int64)  # an inaction entry's first pending wait
        self.pend_more: dict[int, list[int]] = {}  # ... and the rest, for the few users with several

        # ---- messages (one row per send) and responses
        self.m_user: list[np.ndarray] = []
        self.m_node: list[np.ndarray] = []
        self.m_parts: list[tuple[np.ndarray, ...]] = []  # (user, ts, n, node, visit) per batch of sends
        self._m_count = 0
        self.m_flags = np.zeros(0, dtype=np.int8)  # 1 viewed, 2 clicked, 4 delivered
        self.m_nodes = np.zeros(0, dtype=np.int64)
        self.r_user = np.zeros(0, dtype=np.int64)  # outstanding responses, sorted by (user, ts, seq)
        self.r_ts = np.zeros(0, dtype=np.int64)
        self.r_seq = np.zeros(0, dtype=np.int64)
        self.r_kind = np.zeros(0, dtype=np.int8)  # 1 viewed, 2 clicked, 3 lift event
        self.r_msg = np.zeros(0, dtype=np.int64)
        self.r_ptr = np.zeros(U, dtype=np.int64)
        self._r_seq_next = 0
        self.resp_log: list[tuple[np.ndarray, ...]] = []  # (user, ts, per-user number, kind, message)
        self.r_count = np.zeros(U, dtype=np.int64)
        self._lift_bits = {k: self._bits_of(name, props) for k, (name, props) in self.lift.items()}

        # ---- output
        self.rows: list[tuple[Any, ...]] = []  # this period's trace rows, as emitted (one value: an int)
        self.blocks: list[tuple[np.ndarray, ...]] = []  # earlier periods' rows, sorted
        self.changes: list[tuple[str, int, str, str, str, Any]] = []
        stops = control.stop_at
        self.stop_at = stops
        # the statuses (a "publish v<N>" entry changes the version, not the status: Control.status_at)
        statuses = [(t, s) for t, s in control.timeline if not s.startswith("publish")]
        self._status_t = np.array([t for t, _ in statuses] or [0], dtype=np.int64)
        self._status_run = np.array([s == "running" for _, s in statuses] or [False])
        self._next_t: np.ndarray | None = None  # each user's next instant, as last computed

    # ================================================================== setup helpers
    def _pred(self, event: str, filters: Sequence[Any]) -> int:
        p = _Pred(event, tuple(filters))
        key = (event, repr(msgspec.to_builtins(list(filters))))  # filter values may be lists: no hashing
        k = self._pix.get(key)
        if k is None:
            if len(self.preds) >= 62:
                raise EngineInvariantError("too many distinct event conditions for the batched engine")
            k = self._pix[key] = len(self.preds)
            self.preds.append(p)
        return k

    def _event_bits(self) -> np.ndarray:
        ev = self.ev
        bits = np.zeros(len(ev.ts), dtype=np.int64)
        name_ix = {n: i for i, n in enumerate(ev.names)}
        for k, p in enumerate(self.preds):
            code = name_ix.get(p.event)
            if code is None:
                continue
            m = ev.name == code
            for f in p.filters:
                col = ev.props.get(f.property)
                if col is None:
                    ok_missing = f.test({})
                    if not ok_missing:
                        m &= False
                    continue
                table = np.array([f.test({f.property: v}) for v in col.values] + [f.test({})], dtype=bool)
                m &= table[col.codes]  # code -1 reads the last entry: the event lacks the property
            bits[m] |= np.int64(1 << k)
        return bits

    def _bits_of(self, name: str, props: dict[str, Any]) -> int:
        b = 0
        for k, p in enumerate(self.preds):
            if p.event == name and all(f.test(props) for f in p.filters):
                b |= 1 << k
        return b

    def _detail(self, text: str) -> int:
        k = self._dix.get(text)
        if k is None:
            k = self._dix[text] = len(self.details)
            self.details.append(text)
        return k

    # ================================================================== output
    def _emit(self, users: np.ndarray, t: Any, node: Any, event: str, port: Any = 0, detail: Any = "") -> None:
        if not len(users):
            return
        d = self._detail(detail) if isinstance(detail, str) else detail
        # a column given as one value (an int) stays one value until the period is sealed
        self.rows.append((users, t, node, _E[event], port, d))

    def trace_columns(self) -> dict[str, Any]:
        """The trace in canonical order (by instant, user, then each user's own order), as
        codes: ``user`` (into the user ids), ``ts``, ``node`` (into ``node_ids``), ``event``
        (into TRACE_EVENTS), ``port`` (into ``ports``), ``detail`` (into ``details``)."""
        self._seal()
        if not self.blocks:
            z = np.zeros(0, dtype=np.int64)
            return {"user": z, "ts": z, "node": z, "event": z, "port": z, "detail": z}
        user, ts, node, event, port, detail = (np.concatenate(c) for c in zip(*self.blocks, strict=True))
        return {"user": user, "ts": ts, "node": node, "event": event, "port": port, "detail": detail}

    def sends(self) -> dict[str, np.ndarray]:
        """Every message sent: ``user, ts, n, node, visit`` (in the order they were sent)."""
        if not self.m_parts:
            z = np.zeros(0, dtype=np.int64)
            return {"user": z, "ts": z, "n": z, "node": z, "visit": z}
        cols = [np.concatenate(c) for c in zip(*self.m_parts, strict=True)]
        return dict(zip(("user", "ts", "n", "node", "visit"), cols, strict=True))

    def responses(self) -> dict[str, np.ndarray]:
        """The simulated responses queued: ``user, ts, number`` (the user's own count), ``kind``
        (0 unsubscribed, 1 viewed, 2 clicked, 3 the lift event), ``message`` (into :meth:`sends`)."""
        if not self.resp_log:
            z = np.zeros(0, dtype=np.int64)
            return {"user": z, "ts": z, "number": z, "kind": z, "message": z}
        cols = [np.concatenate(c) for c in zip(*self.resp_log, strict=True)]
        return dict(zip(("user", "ts", "number", "kind", "message"), cols, strict=True))

    # ================================================================== the clock
    def next_instant(self) -> int | None:
        """The earliest instant at which any user has something to do (``None``: nothing more)."""
        if self._next_t is None:
            self._next_t = self._next_all(np.arange(self.U))
        t = int(self._next_t.min()) if self.U else NEVER
        return None if t >= NEVER else t

    def run_until(self, t_end: int) -> None:
        """Move every user through everything due before ``t_end`` (a period of the driver's
        clock): timers first at an instant, then cohort events, then simulated responses."""
        if self._next_t is None:
            self._next_t = self._next_all(np.arange(self.U))
        active = np.flatnonzero(self._next_t < t_end)
        for _ in range(10_000_000):
            if not len(active):
                self._seal()
                return
            active = self._round(active, t_end)
        raise EngineInvariantError("the batched engine does not make progress")  # pragma: no cover

    def _seal(self) -> None:
        """Sort this period's trace rows into canonical order (everything in a period lies in
        it, so the periods' blocks need no merging afterwards)."""
        if not self.rows:
            return
        lens = np.fromiter((len(r[0]) for r in self.rows), dtype=np.int64, count=len(self.rows))
        cols = [
            _stitch(list(c), lens, dtype) for c, dtype in zip(zip(*self.rows, strict=True), _ROW_DTYPES, strict=True)
        ]
        self.rows = []
        user, ts = cols[0], cols[1]
        # a user's rows were emitted in their own order: a stable sort by (instant, user) is enough
        by_pair = order_by_pair(ts, user, max(self.U, 1))
        if by_pair is not None:  # (the sorted instants and users come with the order: not gathered)
            order, ts, user = by_pair
            self.blocks.append((user.astype(cols[0].dtype), ts, *(np.take(c, order) for c in cols[2:])))
            return
        lo = int(ts.min())
        if (int(ts.max()) - lo + 1) * max(self.U, 1) < 1 << 62:
            key = ts - lo  # (one array, the key made in place)
            key *= max(self.U, 1)
            key += user
            order = stable_order(key)
        else:  # pragma: no cover - spans of centuries (lexsort is stable: emission order kept)
            order = np.lexsort((user, ts))
        self.blocks.append(tuple(np.take(c, order) for c in cols))

    def _next_all(self, users: np.ndarray) -> np.ndarray:
        tt, _ = self._next_timer(users)
        te, _ = self._next_event(users)
        tr, _ = self._next_response(users)
        return np.minimum(tt, np.minimum(te, tr))

    # ================================================================== one round
    def _round(self, users: np.ndarray, t_end: int) -> np.ndarray:
        tt, rule = self._next_timer(users)
        te, ei = self._next_event(users)
        tr, ri = self._next_response(users)
        t_in = np.minimum(te, tr)
        timer = tt <= t_in
        t = np.where(timer, tt, t_in)
        if self._next_t is not None:  # as known now: users done for this period keep it
            self._next_t[users] = t
        keep = t < t_end
        users, t, timer, rule, ei, ri = users[keep], t[keep], timer[keep], rule[keep], ei[keep], ri[keep]
        te, tr = te[keep], tr[keep]
        if not len(users):
            return users
        self.clock_u[users] = np.maximum(self.clock_u[users], t)
        # timers (events before them could not act: skip them; events at their instant come after)
        if timer.any():
            tu, ttt, tr_rule = users[timer], t[timer], rule[timer]
            self.ev_ptr[tu] = np.maximum(self.ev_ptr[tu], self._lower(tu, ttt))
            for r in _present(tr_rule, _NONE_RULE + 1):
                m = tr_rule == r
                self._fire(int(r), tu[m], ttt[m])
        # cohort events (at one instant before responses)
        is_ev = ~timer & (te <= tr)
        if is_ev.any():
            eu, ets, eix = users[is_ev], t[is_ev], ei[is_ev]
            self.ev_ptr[eu] = eix + 1
            self._on_event(eu, ets, self.ev_bits[eix])
        is_r = ~timer & ~is_ev
        if is_r.any():  # cohort events up to its instant came first: the rest of them could not act
            ru, rt = users[is_r], t[is_r]
            self.ev_ptr[ru] = np.maximum(self.ev_ptr[ru], self._lower(ru, rt + 1))
            self._on_response(ru, rt)
        return users

    # ================================================================== what is next
    def _next_timer(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(users)
        best = np.full(n, NEVER, dtype=np.int64)
        rule = np.full(n, _NONE_RULE, dtype=np.int64)
        node = self.node[users]
        inside = node >= 0

        def take(cand: np.ndarray, r: int, mask: np.ndarray) -> None:
            better = mask & (cand < best)
            best[better] = cand[better]
            rule[better] = r

        if self.stop_at is not None:
            take(np.maximum(self.stop_at, self.clock_u[users]), _STOPPED, inside)
        if self.goals_pb:
            idx = np.flatnonzero(inside)
            if len(idx):
                cand = np.full(n, NEVER, dtype=np.int64)
                cand[idx] = self.ca.next_daily(self.goal_mark[users[idx]])
                take(cand, _GOAL_EVALUATION, inside)
        if self.timeout is not None:
            take(self.entered_at[users] + self.timeout, _JOURNEY_TIMEOUT, inside)
        to = self.timed_out[users]
        take(self.timeout_at[users], _NODE_TIMEOUT, inside & to)
        take(self.window_end[users], _WINDOW_END, inside & ~to)
        take(self.due[users], _NODE_DUE, inside & ~to)
        if self.inaction is not None:
            pend = self.pend0[users]
            has = pend < NEVER
            cand = np.where(has, pend + self.in_within, NEVER)
            take(cand, _INACTION_WAIT_INSIDE, inside & has)
            take(cand, _INACTION_ENTRY, ~inside & has & self._may_ever_enter(users))
        return best, rule

    def _may_ever_enter(self, users: np.ndarray) -> np.ndarray:
        ok = ~((self.entries[users] > 0) & (not self.reentry))
        clk = self.clock_u[users]
        if self.stop_at is not None:
            ok &= clk < self.stop_at
        if self.end is not None:
            ok &= clk < self.end
        return ok

    def _next_event(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each user's next cohort event that may act in their present state (its time and index)."""
        n = len(users)
        best = np.full(n, NEVER, dtype=np.int64)
        idx = np.full(n, -1, dtype=np.int64)
        if not len(self.ev.ts) or not n:
            return best, idx
        start = self.ev_ptr[users]  # (moved past what could not act when a timer or response came)
        hi = self.ev_hi[users]
        node = self.node[users]
        inside = node >= 0
        cands: list[tuple[int, np.ndarray]] = []  # (predicate, which users)
        if self.goals_action:
            for _, p in self.goals_action:
                cands.append((p, inside))
        waiting = inside & ~self.timed_out[users]
        lp = np.where(waiting, self.listen[np.where(inside, node, 0)], -1)
        for p in np.unique(lp[lp >= 0]):
            cands.append((int(p), lp == p))
        if self.entry_action:
            can = ~inside & self._may_ever_enter(users)
            for _, p, _ in self.entry_action:
                cands.append((p, can))
        if self.attribution is not None:  # after a non-goal exit, a goal's event may convert
            attributed = ~inside & (self.attr_until[users] < NEVER)
            for _, p in self.goals_action:
                cands.append((p, attributed))
        if self.inaction is not None:
            cands.append((self.p_start, (self.entries[users] == 0) | self.reentry))
            cands.append((self.p_absent, self.pend0[users] < NEVER))
        for p, who in cands:
            pos = self.pos[p]
            if not len(pos):
                continue
            w = np.flatnonzero(who & (start < hi))
            if not len(w):
                continue
            # each user's cached place in this predicate's event list only moves forward
            cache = self.cand[p]
            uw = users[w]
            j = cache[uw]
            stale = pos[np.minimum(j, len(pos) - 1)] < start[w]
            if stale.any():
                js = np.searchsorted(pos, start[w[stale]])
                j[stale] = js
                cache[uw[stale]] = js
            ok = j < len(pos)
            k = pos[np.minimum(j, len(pos) - 1)]
            ok &= (k < hi[w]) & (k >= start[w])
            w, k = w[ok], k[ok]
            tk = self.ev.ts[k]
            better = (tk < best[w]) | ((tk == best[w]) & (k < idx[w]))
            w, k, tk = w[better], k[better], tk[better]
            best[w] = tk
            idx[w] = k
        return best, idx

    def _lower(self, users: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Index of each user's first event at or after ``t``."""
        key = (users << self._eshift) | np.clip(t - self._ebase, 0, (1 << self._eshift) - 1)
        return np.searchsorted(self.ekey, key, "left")

    def _next_response(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(users)
        best = np.full(n, NEVER, dtype=np.int64)
        idx = np.full(n, -1, dtype=np.int64)
        R = len(self.r_user)
        if not R:
            return best, idx
        p = self.r_ptr[users]
        ok = p < R
        w = np.flatnonzero(ok)
        pw = p[w]
        same = self.r_user[pw] == users[w]
        w, pw = w[same], pw[same]
        best[w] = self.r_ts[pw]
        idx[w] = pw
        return best, idx

    # ================================================================== timers
    def _fire(self, rule: int, u: np.ndarray, t: np.ndarray) -> None:
        if rule == _STOPPED:
            self._exit(u, t, "stopped")
        elif rule == _GOAL_EVALUATION:
            d = self.ca.next_daily(self.goal_mark[u])
            self.goal_mark[u] = d
            left = np.ones(len(u), dtype=bool)
            for g in self.goals_pb:
                ok = left & self._pb_ok(u, g, d)
                if ok.any():
                    self._exit(u[ok], t[ok], f"goal:{g.name}")
                left &= ~ok
        elif rule == _JOURNEY_TIMEOUT:
            self._exit(u, t, "journey_timeout")
        elif rule == _WINDOW_END:
            self.timed_out[u] = True
            node = self.node[u]
            self._emit(u, t, node, "timed_out")
            has = self.conn[node, self.pix["timeout"]] >= 0
            wa, wn = u[has], u[~has]
            if len(wa):
                self.timeout_at[wa] = self.ca.next_hourly(self.window_end[wa])
            if len(wn):
                self.timeout_at[wn] = NEVER
                self._emit(wn, t[~has], self.node[wn], "waiting")
        elif rule == _NODE_TIMEOUT:
            self.timeout_at[u] = NEVER
            self._move(u, t, np.full(len(u), self.pix["timeout"]))
        elif rule == _NODE_DUE:
            kind = self.due_kind[u].copy()
            self.due[u] = NEVER
            self.due_kind[u] = 0
            for k in _present(kind.astype(np.int64), 8):
                m = kind == k
                uu, tt = u[m], t[m]
                if k in (_INACTION, _AT):
                    self._move(uu, tt, np.full(len(uu), self.pix["yes"]))
                elif k == _DELAY:
                    self._move(uu, tt, np.full(len(uu), self.pix["next"]))
                elif k == _PB:
                    port = np.empty(len(uu), dtype=np.int64)
                    for nd in _present(self.node[uu], len(self.nodes)):
                        mm = self.node[uu] == nd
                        ok = self._pb_ok(uu[mm], self.nodes[nd], tt[mm])
                        port[mm] = np.where(ok, self.pix["yes"], self.pix["no"])
                    self._move(uu, tt, port)
                elif k == _SEND:
                    # the nodes they are due at, read once: a user sent here moves on (maybe to a
                    # node of a later turn of this loop, where nothing is due for them yet)
                    at = self.node[uu]
                    for nd in _present(at, len(self.nodes)):
                        mm = at == nd
                        res = self._send(uu[mm], tt[mm], int(nd))
                        go = res >= 0
                        if go.any():
                            self._move(uu[mm][go], tt[mm][go], res[go])
                else:  # pragma: no cover
                    raise EngineInvariantError(f"unknown due kind {k}")
        elif rule == _INACTION_WAIT_INSIDE:
            self._pop_pending(u)
        elif rule == _INACTION_ENTRY:
            self._pop_pending(u)
            ok = self._can_enter(u, t)
            if ok.any():
                self._enter(u[ok], t[ok], np.full(int(ok.sum()), self.in_node))
        else:  # pragma: no cover
            raise EngineInvariantError(f"unknown timer rule {rule}")

    def _pop_pending(self, u: np.ndarray) -> None:
        self.pend0[u] = NEVER
        for x in u.tolist():
            more = self.pend_more.get(x)
            if more:
                self.pend0[x] = more.pop(0)
                if not more:
                    del self.pend_more[x]

    def _push_pending(self, u: np.ndarray, t: np.ndarray) -> None:
        empty = self.pend0[u] == NEVER
        self.pend0[u[empty]] = t[empty]
        for x, tx in zip(u[~empty].tolist(), t[~empty].tolist(), strict=True):
            self.pend_more.setdefault(x, []).append(tx)

    def _clear_pending(self, u: np.ndarray) -> None:
        self.pend0[u] = NEVER
        if self.pend_more:
            for x in u.tolist():
                self.pend_more.pop(x, None)

    # ================================================================== entry & exit
    def _status_running(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self._status_t, t, "right") - 1
        return (i >= 0) & self._status_run[np.maximum(i, 0)]

    def _can_enter(self, u: np.ndarray, t: np.ndarray) -> np.ndarray:
        ok = (self.node[u] == OUT) & ~((self.entries[u] > 0) & (not self.reentry)) & self._status_running(t)
        if self.start is not None:
            ok &= t >= self.start
        if self.end is not None:
            ok &= t < self.end
        return ok

    def _enter(self, u: np.ndarray, t: np.ndarray, entry: np.ndarray) -> None:
        self.entries[u] += 1
        self.attr_until[u] = NEVER  # later conversions belong to the new enrollment
        self.node[u] = entry
        self.visits[u] = 0
        self.visits[u, entry] = 1
        self.visit[u] = 1
        self.entered_at[u] = t
        self.goal_mark[u] = t
        self._reset_node(u)
        self._emit(u, t, entry, "entered", 0, "entry")
        self._move(u, t, np.full(len(u), self.pix["yes"]))

    def _exit(self, u: np.ndarray, t: np.ndarray, reason: str) -> None:
        if not len(u):
            return
        self._emit(u, t, self.node[u], "exited", 0, reason)
        if self.attribution is not None and not reason.startswith("goal:"):
            self.attr_until[u] = t + self.attribution
            self.attr_node[u] = self.node[u]
        self.node[u] = OUT

    def _reset_node(self, u: np.ndarray) -> None:
        self.window_end[u] = NEVER
        self.timed_out[u] = False
        self.timeout_at[u] = NEVER
        self.due[u] = NEVER
        self.due_kind[u] = 0
        self.msg[u] = -1

    # ================================================================== moving
    def _move(self, u: np.ndarray, t: np.ndarray, port: np.ndarray) -> None:
        """Leave the current node by ``port`` and follow connectors until each user waits."""
        for _ in range(10_000):
            if not len(u):
                return
            src = self.node[u]
            self._emit(u, t, src, "left", port)
            target = self.conn[src, port]
            done = target < 0
            if done.any():
                self._exit(u[done], t[done], "completed")
            u, t, target = u[~done], t[~done], target[~done]
            if not len(u):
                return
            # arrive
            self.node[u] = target
            self.visits[u, target] += 1
            self.visit[u] = self.visits[u, target]
            self._reset_node(u)
            self._emit(u, t, target, "entered")
            nxt = np.full(len(u), _WAIT, dtype=np.int64)
            for nd in _present(target, len(self.nodes)):
                m = target == nd
                nxt[m] = self._arrive(u[m], t[m], int(nd))
            go = nxt >= 0
            u, t, port = u[go], t[go], nxt[go]
        raise EngineInvariantError("users moved 10,000 times at one instant")  # pragma: no cover

    def _arrive(self, u: np.ndarray, t: np.ndarray, nd: int) -> np.ndarray:
        """A node's arrival rule for the users who just arrived: the port each leaves by at once,
        or ``_WAIT``/``_GONE``."""
        # narrowed by its kind's timing (NODE_KINDS), a table mypy cannot follow
        node: Any = self.nodes[nd]
        timing = NODE_KINDS[self.kinds[nd]].timing
        out = np.full(len(u), _WAIT, dtype=np.int64)
        if timing == "window":
            if node.window is not None:
                self.window_end[u] = t + int(node.window.total_seconds())
        elif timing == "inaction":
            self.due[u] = t + int(node.within.total_seconds())
            self.due_kind[u] = _INACTION
        elif timing == "past_behavior":
            if node.window is not None:
                self.window_end[u] = t + int(node.window.total_seconds())
            self.due[u] = self.ca.next_daily(t)
            self.due_kind[u] = _PB
        elif timing == "date_time":
            v = self._profile_epoch(u, node.property)
            missing = v == NEVER
            at = np.where(missing, NEVER, v + int(node.offset.total_seconds()))
            out[missing | (at < t)] = self.pix["no"]
            out[~missing & (at == t)] = self.pix["yes"]
            w = ~missing & (at > t)
            if node.window is not None:
                self.window_end[u[w]] = t[w] + int(node.window.total_seconds())
            self.due[u[w]] = at[w]
            self.due_kind[u[w]] = _AT
        elif timing == "profile":
            out[:] = np.where(self._profile_ok(u, node.profile), self.pix["yes"], self.pix["no"])
        elif timing == "entry_only":  # pragma: no cover - refused by validation mid-journey
            out[:] = self.pix["yes"]
        elif timing == "delay":
            end = self._delay_end(u, t, node)
            now = end <= t
            out[now] = self.pix["next"]
            self.due[u[~now]] = end[~now]
            self.due_kind[u[~now]] = _DELAY
        elif timing == "force_exit":
            self._exit(u, t, "force_exit")
            out[:] = _GONE
        elif timing == "profile_update":
            self._update_profile(u, t, nd, node)
            out[:] = self.pix["next"]
        elif timing == "split":
            ports = self._split(u, nd, node)
            control = self.control_ports.get(nd)
            if control is not None:  # a control (hold-out) branch: held here, never messaged
                held = np.isin(ports, control)
                if held.any():
                    self._emit(u[held], t[held], nd, "held", ports[held])
                    ports[held] = _WAIT
            out[:] = ports
        elif timing == "engagement":
            out[:] = self._arrive_engagement(u, t, nd, node)
        else:  # pragma: no cover
            raise EngineInvariantError(f"no batched rule for {timing!r}")
        return out

    def _delay_end(self, u: np.ndarray, t: np.ndarray, node: Delay) -> np.ndarray:
        if node.duration is not None:
            return t + int(node.duration.total_seconds())
        if node.at_time is not None:
            return self.ca.next_time_of_day(t + 1, node.at_time, node.weekdays)
        if node.property is not None:
            v = self._profile_epoch(u, node.property)
            return np.where(v == NEVER, t, v + int(node.offset.total_seconds()))
        return t.copy()

    def _split(self, u: np.ndarray, nd: int, node: Split) -> np.ndarray:
        x = (
            split_draw_array(
                self.seed, self._jhash, self.ukey[u], self.entries[u], int(self._node_hash[nd]), self.visit[u]
            )
            * 100.0
        )
        out = np.full(len(u), self.pix[node.branches[-1].name], dtype=np.int64)
        done = np.zeros(len(u), dtype=bool)
        acc = 0.0
        for b in node.branches:
            acc += b.percent
            hit = ~done & (x < acc)
            out[hit] = self.pix[b.name]
            done |= hit
        return out

    # ================================================================== profiles
    def _column(self, prop: str) -> np.ndarray:
        col = self.profile.get(prop)
        if col is None:
            col = self.profile[prop] = np.full(self.U, None, dtype=object)
        return col

    def _truthy(self, prop: str, u: np.ndarray) -> np.ndarray:
        """Whether each user's ``prop`` is set and true (reachability), from a per-column table
        computed once (a Profile Update of the column drops it)."""
        table = self._truthy_cache.get(prop)
        if table is None:
            table = _truthy_table(self._column(prop))
            self._truthy_cache[prop] = table
        return table[u]

    def _flag(self, prop: str, yes: bool, u: np.ndarray) -> np.ndarray:
        """:func:`~journeylab.model.policy.flag_true` (``yes``) or ``flag_false`` of each user's
        ``prop``, from a per-column table (a Profile Update of the column drops it)."""
        table = self._flag_cache.get((prop, yes))
        if table is None:
            col = self._column(prop)
            table = _per_value(col, flag_true if yes else flag_false)
            self._flag_cache[prop, yes] = table
        return table[u]

    def _blocked(self, u: np.ndarray, ch: str) -> np.ndarray:
        """:meth:`Consent.blocked <journeylab.model.Consent.blocked>` for arrays of users."""
        c = self.consent
        out = np.zeros(len(u), dtype=bool)
        if c is None:
            return out
        prop = c.opt_out.get(ch)
        if prop is not None:
            out |= self._flag(prop, True, u)
            if c.unsubscribed:
                out |= self._flag(c.unsubscribed, True, u)
        on = c.enabled.get(ch)
        if on is not None:
            out |= self._flag(on, False, u)
        return out

    def _profile_ok(self, u: np.ndarray, filters: Sequence[Any]) -> np.ndarray:
        ok = np.ones(len(u), dtype=bool)
        for f in filters:
            vals = self._column(f.property)[u]
            cache: dict[Any, bool] = {}
            res = np.empty(len(u), dtype=bool)
            for i, v in enumerate(vals.tolist()):
                try:
                    r = cache.get(v)
                except TypeError:  # unhashable (a list)
                    r = None
                    res[i] = f.test({} if is_missing(v) else {f.property: v})
                    continue
                if r is None:
                    r = f.test({} if is_missing(v) else {f.property: v})
                    cache[v] = r
                res[i] = r
            ok &= res
        return ok

    def _profile_epoch(self, u: np.ndarray, prop: str) -> np.ndarray:
        vals = self._column(prop)[u]
        out = np.empty(len(u), dtype=np.int64)
        for i, v in enumerate(vals.tolist()):
            e = None if is_missing(v) else as_epoch(v)
            out[i] = NEVER if e is None else e
        return out

    def _set_profile(self, u: np.ndarray, prop: str, value: Any) -> None:
        """Set ``prop`` to one ``value`` for these users, keeping the column's tables current."""
        self._column(prop)[u] = value
        for yes in (True, False):
            table = self._flag_cache.get((prop, yes))
            if table is not None:
                table[u] = flag_true(value) if yes else flag_false(value)
        truthy = self._truthy_cache.get(prop)
        if truthy is not None:
            truthy[u] = is_set_and_true(value)

    def _update_profile(self, u: np.ndarray, t: np.ndarray, nd: int, node: ProfileUpdate) -> None:
        col = self._column(node.property)
        self._truthy_cache.pop(node.property, None)
        self._flag_cache.pop((node.property, True), None)
        self._flag_cache.pop((node.property, False), None)
        details = np.empty(len(u), dtype=np.int64)
        for i, (x, tx) in enumerate(zip(u.tolist(), t.tolist(), strict=True)):
            old = col[x]
            old = None if is_missing(old) else old
            new = updated_value(node, old)
            col[x] = new
            details[i] = self._detail(update_detail(node, old, new))
            self.changes.append((self.user_ids[x], tx, self.d.id, node.id, node.property, new))
        self._emit(u, t, nd, "profile_updated", 0, details)

    # ================================================================== sending
    def _arrive_engagement(self, u: np.ndarray, t: np.ndarray, nd: int, node: Engagement) -> np.ndarray:
        out = np.full(len(u), _WAIT, dtype=np.int64)
        reach = NODE_KINDS[self.kinds[nd]].reachability
        ok = np.ones(len(u), dtype=bool)
        if reach is not None:
            ok = self._truthy(reach, u)
            if (~ok).any():
                out[~ok] = self._discard(u[~ok], t[~ok], nd, "unreachable")
        w = np.flatnonzero(ok)
        if node.send_at is not None and len(w):
            at = self.ca.next_time_of_day(t[w], node.send_at)
            later = at > t[w]
            self.due[u[w[later]]] = at[later]
            self.due_kind[u[w[later]]] = _SEND
            w = w[~later]
        if len(w):
            out[w] = self._send(u[w], t[w], nd)
        return out

    def _send(self, u: np.ndarray, t: np.ndarray, nd: int) -> np.ndarray:
        """A send attempt now: DND, frequency, limits, then the send. Returns the port to leave by
        (or ``_WAIT``)."""
        node = self.nodes[nd]
        assert isinstance(node, Engagement)  # only engagement nodes send
        ch = self.channel[nd]
        out = np.full(len(u), _WAIT, dtype=np.int64)
        todo = np.ones(len(u), dtype=bool)
        if self.consent is not None:
            no = self._blocked(u, ch)
            if no.any():
                out[no] = self._discard(u[no], t[no], nd, "consent")
                todo &= ~no
        dnd = self.d.settings.dnd
        if dnd is not None and ch in dnd.channels:
            ind = self.ca.in_ranges(t, dnd.ranges) & todo
            if ind.any():
                if dnd.mode == "defer":
                    du, dt_ = u[ind], t[ind]
                    self._emit(du, dt_, nd, "deferred", 0, "dnd")
                    self.due[du] = self.ca.range_end(dt_, dnd.ranges)
                    self.due_kind[du] = _SEND
                else:
                    out[ind] = self._discard(u[ind], t[ind], nd, "dnd")
                todo &= ~ind
        if ch in FREQUENCY_CHANNELS and node.frequency is not None:
            w = np.flatnonzero(todo)
            bad = ~self.ca.in_ranges(t[w], node.frequency)
            if bad.any():
                out[w[bad]] = self._discard(u[w[bad]], t[w[bad]], nd, "frequency")
                todo[w[bad]] = False
        if self.limits:
            w = np.flatnonzero(todo)
            over = self._over_limit(u[w], t[w], ch)
            if over.any():
                out[w[over]] = self._discard(u[w[over]], t[w[over]], nd, "limit")
                todo[w[over]] = False
        w = np.flatnonzero(todo)
        if not len(w):
            return out
        su, st = u[w], t[w]
        self._emit(su, st, nd, "sent", 0, ch)
        serial = np.arange(self._m_count, self._m_count + len(su))
        self._m_count += len(su)
        n, visit = self.entries[su].copy(), self.visit[su].copy()
        self.m_parts.append((su.astype(np.int64), st.astype(np.int64), n, np.full(len(su), nd, dtype=np.int64), visit))
        self.m_flags = np.concatenate([self.m_flags, np.zeros(len(su), dtype=np.int8)])
        self.m_nodes = np.concatenate([self.m_nodes, np.full(len(su), nd, dtype=np.int64)])
        if self.limits:
            self._count_sends(su, st, ch)
        if self.phantom[nd]:
            self.msg[su] = serial
            self.window_end[su] = st + int(node.response_window.total_seconds())
        else:
            out[w] = self.pix["next"]
        if self.responder is not None:
            self._respond(su, st, n, visit, nd, serial)
        return out

    def _discard(self, u: np.ndarray, t: np.ndarray, nd: int, reason: str) -> np.ndarray:
        self._emit(u, t, nd, "discarded", 0, reason)
        if self.conn[nd, self.pix["not_sent"]] >= 0:
            return np.full(len(u), self.pix["not_sent"], dtype=np.int64)
        if self.phantom[nd] and self.conn[nd, self.pix["next"]] < 0:
            node = self.nodes[nd]
            assert isinstance(node, Engagement)  # phantom: an engagement node
            self.window_end[u] = t + int(node.response_window.total_seconds())
            return np.full(len(u), _WAIT, dtype=np.int64)
        return np.full(len(u), self.pix["next"], dtype=np.int64)

    def _limit_key(self, lim: Any, t: np.ndarray) -> np.ndarray:
        if lim.per == "day":
            return self.ca.local_day(t)
        if lim.per == "week":
            return self.ca.week_key(t)
        return np.zeros(len(t), dtype=np.int64)

    def _over_limit(self, u: np.ndarray, t: np.ndarray, ch: str) -> np.ndarray:
        over = np.zeros(len(u), dtype=bool)
        for k, lim in enumerate(self.limits):
            if lim.channel is not None and lim.channel != ch:
                continue
            key = self._limit_key(lim, t)
            cnt = np.where(self.lim_key[k][u] == key, self.lim_cnt[k][u], 0)
            over |= cnt >= lim.max
        return over

    def _count_sends(self, u: np.ndarray, t: np.ndarray, ch: str) -> None:
        for k, lim in enumerate(self.limits):
            if lim.channel is not None and lim.channel != ch:
                continue
            key = self._limit_key(lim, t)
            same = self.lim_key[k][u] == key
            self.lim_cnt[k][u] = np.where(same, self.lim_cnt[k][u] + 1, 1)
            self.lim_key[k][u] = key

    # ================================================================== responses
    def _respond(
        self, u: np.ndarray, t: np.ndarray, n: np.ndarray, visit: np.ndarray, nd: int, serial: np.ndarray
    ) -> None:
        keys = mix_array(self._jhash, self.version, self.ukey[u], n, self._node_hash[nd], visit)
        assert self.responder is not None
        r = self.responder(keys, np.full(len(u), nd, dtype=np.int64), t, u)
        parts = []
        for kind, when in ((0, r.unsubscribed), (1, r.viewed), (2, r.clicked), (3, r.lift)):
            if when is None:
                continue
            m = when < NEVER
            if m.any():
                parts.append((u[m], when[m], np.full(int(m.sum()), kind, dtype=np.int8), serial[m]))
        if not parts:
            return
        ru = np.concatenate([p[0] for p in parts])
        rts = np.concatenate([p[1] for p in parts])
        rk = np.concatenate([p[2] for p in parts])
        rm = np.concatenate([p[3] for p in parts])
        # the order they are drawn in: per message unsubscribed, viewed, clicked, lift; messages
        # in send order
        draw_order = np.lexsort((rk, rm))
        ru, rts, rk, rm = ru[draw_order], rts[draw_order], rk[draw_order], rm[draw_order]
        rseq = np.arange(self._r_seq_next, self._r_seq_next + len(ru))
        self._r_seq_next += len(ru)
        # per-user numbers (the responses table's seq), shard-independent
        order = np.lexsort((rseq, ru))
        num = np.empty(len(ru), dtype=np.int64)
        uu = ru[order]
        first = np.r_[True, uu[1:] != uu[:-1]]
        grp_start = np.maximum.accumulate(np.where(first, np.arange(len(uu)), 0))
        num[order] = self.r_count[uu] + (np.arange(len(uu)) - grp_start) + 1
        np.add.at(self.r_count, ru, 1)
        self.resp_log.append((ru, rts, num, rk, rm))
        self._queue(ru, rts, rseq, rk, rm)

    def _queue(self, ru: np.ndarray, rts: np.ndarray, rseq: np.ndarray, rk: np.ndarray, rm: np.ndarray) -> None:
        """Add responses to the outstanding queue (consumed ones are dropped now)."""
        R = len(self.r_user)
        if R:
            alive = np.ones(R, dtype=bool)
            # entries before each user's pointer have been consumed
            first = np.searchsorted(self.r_user, self.r_user, "left")
            alive = np.arange(R) >= np.maximum(first, self.r_ptr[self.r_user])
            keep = np.flatnonzero(alive)
            cu = np.concatenate([self.r_user[keep], ru])
            cts = np.concatenate([self.r_ts[keep], rts])
            cseq = np.concatenate([self.r_seq[keep], rseq])
            ck = np.concatenate([self.r_kind[keep], rk])
            cm = np.concatenate([self.r_msg[keep], rm])
        else:
            cu, cts, cseq, ck, cm = ru, rts, rseq, rk, rm
        order = np.lexsort((cseq, cts, cu))
        self.r_user, self.r_ts, self.r_seq, self.r_kind, self.r_msg = (
            cu[order],
            cts[order],
            cseq[order],
            ck[order],
            cm[order],
        )
        # each present user's pointer at their first response (an absent user's old pointer can
        # only land on another user's entry, which _next_response does not take for theirs)
        ru_sorted = self.r_user
        first = np.flatnonzero(np.r_[True, ru_sorted[1:] != ru_sorted[:-1]]) if len(ru_sorted) else ru_sorted
        self.r_ptr[ru_sorted[first]] = first

    def _on_response(self, u: np.ndarray, t: np.ndarray) -> None:
        # each user's head response (the queue may have been rebuilt since it was chosen)
        ri = self.r_ptr[u]
        kind = self.r_kind[ri]
        msg = self.r_msg[ri]
        self.r_ptr[u] = ri + 1
        ev = kind == 3
        if ev.any():  # a goal-lift event: an event like any other (after the cohort's at one instant)
            bits = np.array([self._lift_bits.get(int(nd), 0) for nd in self.m_nodes[msg[ev]].tolist()], dtype=np.int64)
            self._on_event(u[ev], t[ev], bits)
        fb = ~ev
        if fb.any():
            self._on_feedback(u[fb], t[fb], msg[fb], kind[fb])

    def _on_feedback(self, u: np.ndarray, t: np.ndarray, m: np.ndarray, kind: np.ndarray) -> None:
        unsub = kind == 0
        if unsub.any():
            self._on_opt_out(u[unsub], t[unsub], m[unsub])
            keep = ~unsub
            u, t, m, kind = u[keep], t[keep], m[keep], kind[keep]
            if not len(u):
                return
        flags = self.m_flags[m]
        nd = self.m_nodes[m]
        new_view = (flags & 1) == 0
        self.m_flags[m[new_view]] |= 1
        self._emit(u[new_view], t[new_view], nd[new_view], "viewed")
        new_click = (kind == 2) & ((flags & 2) == 0)
        self.m_flags[m[new_click]] |= 2
        self._emit(u[new_click], t[new_click], nd[new_click], "clicked")
        here = (self.node[u] == nd) & (self.msg[u] == m) & ~self.timed_out[u]
        click = here & new_click & (self.conn[nd, self.pix["clicked"]] >= 0)
        view = here & ~click & new_view & (self.conn[nd, self.pix["viewed"]] >= 0)
        if click.any():
            self._move(u[click], t[click], np.full(int(click.sum()), self.pix["clicked"]))
        if view.any():
            self._move(u[view], t[view], np.full(int(view.sum()), self.pix["viewed"]))

    def _on_opt_out(self, u: np.ndarray, t: np.ndarray, m: np.ndarray) -> None:
        """``unsubscribed`` feedback: :meth:`Engine._opt_out <journeylab.engine.Engine>` for arrays
        of users — the consent opt-out of the message's channel, recorded once while the user
        stays opted out (with consent off, or on a channel without an opt-out property, recorded
        and changing nothing)."""
        nd_of = self.m_nodes[m]
        for nd in _present(nd_of, len(self.nodes)):
            w = nd_of == nd
            uu, tt = u[w], t[w]
            change = self.opt_out_change[nd]
            if change:
                done = np.ones(len(uu), dtype=bool)
                for prop in change:
                    done &= self._flag(prop, True, uu)
                uu, tt = uu[~done], tt[~done]
                if not len(uu):
                    continue
            self._emit(uu, tt, int(nd), "unsubscribed", 0, self.channel[nd])
            for prop, value in change.items():
                self._set_profile(uu, prop, value)
                node_id = self.node_ids[nd]
                for x, tx in zip(uu.tolist(), tt.tolist(), strict=True):
                    self.changes.append((self.user_ids[x], tx, self.d.id, node_id, prop, value))

    # ================================================================== events
    def _on_event(self, u: np.ndarray, t: np.ndarray, bits: np.ndarray) -> None:
        if self.inaction is not None:
            clear = ((bits >> self.p_absent) & 1).astype(bool) & (self.pend0[u] < NEVER)
            if clear.any():
                self._clear_pending(u[clear])
        acted = np.zeros(len(u), dtype=bool)
        inside = self.node[u] >= 0
        # goals win over the node
        for g, p in self.goals_action:
            hit = inside & ~acted & ((bits >> p) & 1).astype(bool)
            if hit.any():
                self._exit(u[hit], t[hit], f"goal:{g.name}")
                acted |= hit
        react = inside & ~acted & ~self.timed_out[u]
        if react.any():
            w = np.flatnonzero(react)
            node = self.node[u[w]]
            lp = self.listen[node]
            has = (lp >= 0) & ((bits[w] >> np.maximum(lp, 0)) & 1).astype(bool)
            w, node = w[has], node[has]
            for nd in _present(node, len(self.nodes)):
                m = node == nd
                ww = w[m]
                n = self.nodes[nd]
                if isinstance(n, Action):
                    ok = self._profile_ok(u[ww], n.profile) if n.profile else np.ones(len(ww), dtype=bool)
                    port = self.pix["yes"]
                else:  # Inaction: the absent event came
                    ok = self.due_kind[u[ww]] == _INACTION
                    port = self.pix["no"]
                ww = ww[ok]
                if len(ww):
                    acted[ww] = True
                    self._move(u[ww], t[ww], np.full(len(ww), port))
        if self.attribution is not None:
            self._attribute(u[~inside], t[~inside], bits[~inside])
        # not inside: live entry (the first entry node whose condition holds)
        out = np.flatnonzero(~inside)
        if len(out) and self.entry_action:
            undecided = np.ones(len(out), dtype=bool)
            for nd, p, n in self.entry_action:
                cand = undecided & ((bits[out] >> p) & 1).astype(bool)
                if not cand.any():
                    continue
                w = out[cand]
                ok = self._profile_ok(u[w], n.profile) if n.profile else np.ones(len(w), dtype=bool)
                w = w[ok]
                undecided[np.flatnonzero(cand)[ok]] = False
                if not len(w):
                    continue
                can = self._can_enter(u[w], t[w])
                if can.any():
                    self._enter(u[w[can]], t[w[can]], np.full(int(can.sum()), nd))
                    acted[w[can]] = True
        if self.inaction is not None:
            start = ~acted & ((bits >> self.p_start) & 1).astype(bool) & (self.reentry | (self.entries[u] == 0))
            if start.any():
                self._push_pending(u[start], t[start])

    def _attribute(self, u: np.ndarray, t: np.ndarray, bits: np.ndarray) -> None:
        """:meth:`Engine._attribute <journeylab.engine.Engine>` for arrays of users outside the
        journey: an action goal's event within the attribution window is a conversion of the
        last enrollment (a ``converted`` row at the node of the exit), once; an observation, not
        the event's action (it may still enter)."""
        w = np.flatnonzero(self.attr_until[u] < NEVER)
        if not len(w):
            return
        late = t[w] >= self.attr_until[u[w]]
        self.attr_until[u[w[late]]] = NEVER
        w = w[~late]
        for g, p in self.goals_action:
            hit = ((bits[w] >> p) & 1).astype(bool)
            if hit.any():
                x, tx = u[w[hit]], t[w[hit]]
                self._emit(x, tx, self.attr_node[x], "converted", 0, f"goal:{g.name}")
                self.attr_until[x] = NEVER
                w = w[~hit]

    # ================================================================== evaluation
    def _pb_ok(self, u: np.ndarray, src: Any, t: np.ndarray) -> np.ndarray:
        lo = t - src.days * 86400
        a = self._lower(u, lo)
        b = self._lower(u, t)
        ok = np.ones(len(u), dtype=bool)
        for c in src.did:
            pos = self.pos[self.pb_conds[id(c)]]
            cnt = np.searchsorted(pos, b) - np.searchsorted(pos, a)
            ok &= cnt >= c.at_least
        for c in src.did_not:
            pos = self.pos[self.pb_conds[id(c)]]
            ok &= (np.searchsorted(pos, b) - np.searchsorted(pos, a)) == 0
        if src.profile:
            w = np.flatnonzero(ok)
            ok[w] = self._profile_ok(u[w], src.profile)
        return ok


def _present(values: np.ndarray, n: int) -> np.ndarray:
    """The distinct small non-negative integers in ``values`` (below ``n``), ascending."""
    if not len(values):
        return values
    return np.flatnonzero(np.bincount(values, minlength=n))


def _per_value(col: np.ndarray, test: Callable[[Any], bool]) -> np.ndarray:
    """``test`` of every value of an object column where missing (``None``) is no: computed once
    per distinct value (a column of a million users holds a few), each value where it is
    unhashable or does not compare elementwise.

    >>> _per_value(np.array([None, "yes", "no", "yes", 1], dtype=object), flag_true).tolist()
    [False, True, False, True, True]
    """
    out = np.zeros(len(col), dtype=bool)
    try:
        present = np.flatnonzero(np.asarray(col != None, dtype=bool))  # noqa: E711 - elementwise
        values = col[present].tolist()
        verdict = {v: test(v) for v in set(values)}
        out[present] = np.fromiter(map(verdict.__getitem__, values), dtype=bool, count=len(values))
    except (TypeError, ValueError):  # unhashable or odd values: one at a time
        out = np.fromiter(map(test, col.tolist()), dtype=bool, count=len(col))
    return out


def _truthy_table(col: np.ndarray) -> np.ndarray:
    """:func:`~journeylab.engine.core.is_set_and_true` of every value of an object column, in
    numpy's C loops: ``bool(v)``, except ``None`` and NaN (the values not equal to themselves)."""
    try:
        with np.errstate(invalid="ignore"):
            table = col.astype(bool) & (col != None) & (col == col)  # noqa: E711, PLR0124 - elementwise
        if isinstance(table, np.ndarray) and table.dtype == bool and table.shape == col.shape:
            return table
    except (TypeError, ValueError):  # values that do not compare or convert elementwise
        pass
    return np.fromiter(map(is_set_and_true, col.tolist()), dtype=bool, count=len(col))
