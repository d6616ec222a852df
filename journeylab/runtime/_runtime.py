"""The production runtime: the engine core on a live stream, with durable state.

One :class:`Runtime` owns one database (SQLite file by default, PostgreSQL by URL). Work is
done in *units*, each one database transaction: an input (or a batch of inputs) with the
timers due before it, or a batch of users whose timers are due. A unit reads the users it
touches, runs the engine (:class:`~journeylab.engine.JourneySet`), and writes in the same
transaction:

* the users' new states (``rt_states``) and next wake-ups (``rt_users.next_wake``, indexed),
* the trace rows (``rt_trace``) and the messages to send (``rt_outbox``),
* the event ids seen (``rt_seen``) and how far each source was read (``rt_offsets``),
* refused inputs (``rt_rejected``).

So a crash at any point loses nothing and duplicates nothing: either the whole unit is in
the database, or none of it is, and the source resumes after the last committed offset.
The engine state is never cached between units: every unit reads what the database holds,
so a restarted runtime behaves exactly like one that never stopped.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple, cast

import msgspec
import sqlalchemy as sa

from journeylab.engine.multi import JourneySet
from journeylab.engine.state import Control, Enrollment, UserState
from journeylab.engine.types import Action, Event, Feedback, Input, ProfileSet, Send, TraceRecord
from journeylab.errors import EngineInvariantError, JourneyDefinitionError, LifecycleError
from journeylab.model import lifecycle
from journeylab.model.io import from_json, load, to_json
from journeylab.model.journey import Journey, JourneyDef
from journeylab.model.policy import as_policy
from journeylab.runtime._clock import ReplayClock, WallClock, epoch_of
from journeylab.runtime._faults import fault_kind
from journeylab.runtime._inputs import (
    InputError,
    check_ids,
    json_value,
    normalize,
    parse_input,
    parse_json,
    safe_text,
)
from journeylab.runtime._log import log
from journeylab.runtime._outbox import DEFAULT_DESTINATION, Outbox
from journeylab.runtime._schema import (
    open_database,
    rt_journeys,
    rt_meta,
    rt_offsets,
    rt_quarantine,
    rt_rejected,
    rt_sources,
    rt_trace,
    rt_users,
    rt_versions,
)
from journeylab.validate import check_journeys

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Runtime", "IngestResult"]

_dec = msgspec.json.Decoder()


class _SQL:
    """The hot statements as plain SQL, run on the DBAPI cursor of the unit's transaction.

    They are portable (SQLite >= 3.24, PostgreSQL >= 9.5); going around SQLAlchemy's
    statement machinery here roughly halves the time per input on SQLite.
    """

    def __init__(self, dialect: sa.Dialect) -> None:
        p = "?" if dialect.paramstyle == "qmark" else "%s"

        def q(sql: str) -> str:
            return sql.replace("?", p)

        self.user = q(
            "SELECT u.created, u.profile, u.next_wake, s.journey_id, s.state FROM rt_users u "
            "LEFT OUTER JOIN rt_states s ON s.user_id = u.user_id WHERE u.user_id = ?"
        )
        self.ins_user = q("INSERT INTO rt_users (user_id, created, profile, next_wake) VALUES (?, ?, ?, ?)")
        self.upd_user = q("UPDATE rt_users SET profile = ?, next_wake = ? WHERE user_id = ?")
        self.upd_wake = q("UPDATE rt_users SET next_wake = ? WHERE user_id = ?")
        self.ins_state = q("INSERT INTO rt_states (user_id, journey_id, state) VALUES (?, ?, ?)")
        self.upd_state = q("UPDATE rt_states SET state = ? WHERE user_id = ? AND journey_id = ?")
        self.ins_seen = q("INSERT INTO rt_seen (user_id, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING")
        self.min_wake = "SELECT min(next_wake) FROM rt_users"
        self.due = q("SELECT user_id FROM rt_users WHERE next_wake = ? ORDER BY user_id LIMIT ?")
        self.msg_user = q("SELECT user_id FROM rt_outbox WHERE id = ?")
        self.ins_trace = q(
            "INSERT INTO rt_trace (user_id, ts, journey, version, node, event, port, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        self.ins_outbox = q(
            "INSERT INTO rt_outbox (id, journey, version, user_id, node, channel, ts, payload, status, attempts, not_before) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, 0.0)"
        )
        self.ins_delivery = q(
            "INSERT INTO rt_deliveries (message_id, destination, status, attempts, not_before, created_at) "
            "VALUES (?, ?, 'pending', 0, 0.0, ?)"
        )
        self.upd_offset = q('UPDATE rt_offsets SET "offset" = ? WHERE source = ?')
        self.ins_offset = q('INSERT INTO rt_offsets (source, "offset") VALUES (?, ?)')


class IngestResult(NamedTuple):
    """What happened to a batch of inputs: counts, and ``(index, path, reason)`` per refusal.

    Parameters
    ----------
    accepted : int
        Inputs applied.
    duplicates : int
        Inputs already seen (same id), skipped.
    rejected : list of (int, str, str)
        Inputs refused as invalid: index, JSON path, reason.
    errors : list of (int, str, str)
        Inputs that failed while being applied.
    duplicate_items : list of int, default []
        The indexes of the duplicates.

    Examples
    --------
    >>> r = IngestResult(accepted=2, duplicates=0, rejected=[(2, "$[2].ts", "naive timestamp")], errors=[])
    >>> r.accepted, r.rejected[0][1]
    (2, '$[2].ts')
    """

    accepted: int
    duplicates: int
    rejected: list[tuple[int, str, str]]
    errors: list[tuple[int, str, str]]
    duplicate_items: list[int] = []


class _EngineFailure(Exception):
    """The engine raised while handling an input (``op`` index) or a user's timers."""

    def __init__(self, op: int | None, user_id: str | None, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.op = op
        self.user_id = user_id
        self.exc = exc


class _Quarantined(Exception):
    """An input for a user who is quarantined (their timers failed in the engine)."""

    def __init__(self, user_id: str) -> None:
        super().__init__(user_id)
        self.user_id = user_id


class _User:
    __slots__ = ("states", "profile_text", "texts", "exists", "next_wake", "dirty", "created")

    def __init__(
        self,
        states: dict[str, UserState],
        profile_text: bytes | None,
        texts: dict[str, bytes],
        exists: bool,
        next_wake: int | None,
        created: int,
    ) -> None:
        self.created = created
        self.states = states
        self.profile_text = profile_text
        self.texts = texts
        self.exists = exists
        self.next_wake = next_wake
        self.dirty = False


class _Unit:
    """One transaction's worth of work (see the module docstring)."""

    def __init__(self, rt: Runtime, conn: sa.Connection) -> None:
        self.rt = rt
        self.conn = conn
        self.sql = rt._sql
        self.cur = conn.connection.cursor()
        self.users: dict[str, _User] = {}
        self.trace: list[tuple] = []
        self.outbox: list[tuple] = []
        self.seen_keys: set[tuple[str, str]] = set()
        self.offsets: dict[str, int] = {}
        self.rejected: list[dict[str, Any]] = []
        self.accepted = 0
        self.duplicates = 0

    # ------------------------------------------------------------------ users
    def user(self, uid: str, created: int) -> _User:
        u = self.users.get(uid)
        if u is not None:
            return u
        js = self.rt.js
        self.cur.execute(self.sql.user, (uid,))
        rows = self.cur.fetchall()
        if not rows:
            states = js.new_user(uid, None, created)
            u = _User(states, None, {}, False, None, created)
        else:
            created0, ptext, nw = rows[0][0], rows[0][1], rows[0][2]
            profile = _dec.decode(ptext)
            states = {}
            texts: dict[str, bytes] = {}
            for r in rows:
                jid, text = r[3], r[4]
                if jid is None or jid not in js.versions:
                    continue
                d = _dec.decode(text)
                d["profile"] = profile
                st = _state_from(d)
                st.profile = profile  # one profile shared by the user's journeys (from_dict copies it)
                states[jid] = st
                texts[jid] = text.encode() if isinstance(text, str) else text
            for jid in js.ids:
                if jid not in states:
                    states[jid] = UserState(uid, profile, created0)
            JourneySet.link(states)  # one message ledger for the account caps, like the profile
            u = _User(states, ptext.encode() if isinstance(ptext, str) else ptext, texts, True, nw, created0)
        self.users[uid] = u
        return u

    def flush_users(self) -> None:
        """Write the changed users and states (one executemany per kind of statement)."""
        js = self.rt.js
        ins_u: list[tuple] = []
        upd_u: list[tuple] = []
        upd_w: list[tuple] = []
        ins_s: list[tuple] = []
        upd_s: list[tuple] = []
        for uid, u in self.users.items():
            if not u.dirty:
                continue
            u.dirty = False
            states = u.states
            nw = js.next_wake(states)
            any_state = next(iter(states.values()))
            ptext = json_value(any_state.profile)
            if not u.exists:
                ins_u.append((uid, u.created, ptext.decode(), nw))
                u.exists = True
            elif ptext != u.profile_text:
                upd_u.append((ptext.decode(), nw, uid))
            elif nw != u.next_wake:
                upd_w.append((nw, uid))
            u.profile_text = ptext
            u.next_wake = nw
            self.rt._lower_wake(nw)
            for jid, st in states.items():
                d = st.to_dict()
                del d["profile"]
                text = json_value(d)
                old = u.texts.get(jid)
                if text == old:
                    continue
                if old is None:
                    ins_s.append((uid, jid, text.decode()))
                else:
                    upd_s.append((text.decode(), uid, jid))
                u.texts[jid] = text
        q, cur = self.sql, self.cur
        for stmt, params in (
            (q.ins_user, ins_u),
            (q.upd_user, upd_u),
            (q.upd_wake, upd_w),
            (q.ins_state, ins_s),
            (q.upd_state, upd_s),
        ):
            if len(params) == 1:
                cur.execute(stmt, params[0])
            elif params:
                cur.executemany(stmt, params)

    def collect(self, acts: list[Action]) -> None:
        for a in acts:
            if type(a) is TraceRecord:
                self.trace.append(tuple(a))
            elif type(a) is Send:
                payload = {
                    "id": a.id,
                    "journey": a.journey,
                    "version": a.version,
                    "user_id": a.user_id,
                    "node": a.node,
                    "channel": a.channel,
                    "ts": a.ts,
                    "content": a.content,
                }
                self.outbox.append(
                    (a.id, a.journey, a.version, a.user_id, a.node, a.channel, a.ts, json_value(payload).decode())
                )

    # ------------------------------------------------------------------ work
    def apply(self, inp: Input, op: int | None = None) -> str:
        """Apply one input; returns ``"ok"`` or ``"duplicate"``."""
        rt = self.rt
        if rt._quarantined and inp.user_id in rt._quarantined:
            raise _Quarantined(inp.user_id)
        if type(inp) is Event and inp.event_id is not None:
            key = (inp.user_id, inp.event_id)
            # one statement: insert the id unless it is there (the insert commits with the rest)
            if key in self.seen_keys:
                self.duplicates += 1
                return "duplicate"
            self.cur.execute(self.sql.ins_seen, key)
            if self.cur.rowcount == 0:
                self.duplicates += 1
                return "duplicate"
            self.seen_keys.add(key)
        if type(inp) is Feedback and not inp.user_id:
            uid = self._message_user(inp.message_id)
            if uid is None:
                raise InputError(f"no message {inp.message_id!r} in the outbox: give user_id", "$.message_id")
            inp = inp._replace(user_id=uid)
            if uid in rt._quarantined:
                raise _Quarantined(uid)
        now = rt.clock.now()
        u = self.user(inp.user_id, inp.ts if inp.ts < now else now)
        out: list[Action] = []
        try:
            nw = rt.js.deliver(u.states, inp, out)
        except Exception as e:  # noqa: BLE001 - an engine failure: the unit is rolled back
            raise _EngineFailure(op, inp.user_id, e) from e
        rt._lower_wake(nw)  # before the user is written: later timer passes of this unit see it
        u.dirty = True
        self.collect(out)
        self.accepted += 1
        return "ok"

    def _message_user(self, mid: str) -> str | None:
        for r in self.outbox:
            if r[0] == mid:
                return r[3]
        self.cur.execute(self.sql.msg_user, (mid,))
        row = self.cur.fetchone()
        return None if row is None else row[0]

    def fire_due(self, t: int, limit: int | None = None) -> int:
        """Run the timers of users due at or before ``t``, instant by instant, users by id."""
        rt = self.rt
        if rt._min_wake is None or rt._min_wake > t:
            return 0
        n = 0
        while limit is None or n < limit:
            self.flush_users()
            self.cur.execute(self.sql.min_wake)
            w = cast("Sequence[int | None]", self.cur.fetchone())[0]  # min(): always one row
            rt._min_wake = w  # exact, in this transaction
            if w is None or w > t:
                break
            self.cur.execute(self.sql.due, (w, 1_000_000_000 if limit is None else limit - n))
            uids = [r[0] for r in self.cur.fetchall()]
            for uid in sorted(uids):
                u = self.user(uid, w)
                out: list[Action] = []
                try:
                    nw = rt.js.advance(u.states, w, out)
                except Exception as e:  # noqa: BLE001
                    raise _EngineFailure(None, uid, e) from e
                if nw is not None and nw <= w:
                    raise _EngineFailure(None, uid, EngineInvariantError(f"user {uid!r}: next wake {nw} not after {w}"))
                rt._lower_wake(nw)
                u.dirty = True
                self.collect(out)
                n += 1
        return n

    def reject(
        self, source: str, offset: int | None, path: str, reason: str, raw: str | None, kind: str = "malformed"
    ) -> None:
        self.rejected.append(
            {
                "at": time.time(),
                "source": safe_text(source, 1000),
                "offset": offset,
                "kind": kind,
                "path": safe_text(path, 500),
                "reason": safe_text(reason, 10_000),
                "raw": safe_text(raw, 10_000),
            }
        )

    def commit_rows(self) -> None:
        conn = self.conn
        self.flush_users()
        if self.trace:
            self.cur.executemany(self.sql.ins_trace, self.trace)
        if self.outbox:
            self.cur.executemany(self.sql.ins_outbox, self.outbox)
            now = time.time()
            self.cur.executemany(
                self.sql.ins_delivery, [(r[0], d, now) for r in self.outbox for d in self.rt.destinations]
            )
        if self.rejected:
            conn.execute(sa.insert(rt_rejected), self.rejected)
        for src, off in self.offsets.items():
            self.cur.execute(self.sql.upd_offset, (off, src))
            if not self.cur.rowcount:
                self.cur.execute(self.sql.ins_offset, (src, off))
            ident = self.rt._src_ident.get(src)
            pos = self.rt._src_pos.get(off)
            if ident is not None and pos is not None:
                fp_len = min(pos, _FP_LEN)
                values = {
                    "identity": ident[0],
                    "fingerprint": _fingerprint(ident[1], fp_len),
                    "fp_len": fp_len,
                    "position": pos,
                }
                r = conn.execute(sa.update(rt_sources).where(rt_sources.c.source == src).values(**values))
                if not r.rowcount:
                    conn.execute(sa.insert(rt_sources).values(source=src, **values))
        rt = self.rt
        if isinstance(rt.clock, ReplayClock) and rt.clock.now() >= (rt._persisted_clock or 0) + 3600:
            # a lower bound is enough: a restarted replay moves the clock on with its inputs
            _put_meta(conn, "replay_clock", str(rt.clock.now()))
            rt._persisted_clock = rt.clock.now()


_FP_LEN = 4096
_PENDING = "pending_publish"  # rt_meta: [[journey_id, "running" | "paused"], ...] stored, not yet published
_STATE_DEFAULTS = {k: v for k, v in UserState("", {}, 0).to_dict().items() if k not in ("user_id", "profile", "clock")}
_ENROLLMENT_DEFAULTS = Enrollment(0, 0, 0).to_dict()


def _state_from(d: dict[str, Any]) -> UserState:
    """A stored state document as the engine's state, whatever version wrote it: fields a
    newer engine added take their defaults, fields it dropped are ignored."""
    d = {
        **_STATE_DEFAULTS,
        **{k: v for k, v in d.items() if k in _STATE_DEFAULTS or k in ("user_id", "profile", "clock")},
    }
    if d.get("active") is not None:
        d["active"] = {**_ENROLLMENT_DEFAULTS, **{k: v for k, v in d["active"].items() if k in _ENROLLMENT_DEFAULTS}}
    return UserState.from_dict(d)


def _fingerprint(fh: IO[bytes], n: int) -> str:
    """sha256 of the first ``n`` bytes of an open file (its position is kept)."""
    here = fh.tell()
    try:
        fh.seek(0)
        return hashlib.sha256(fh.read(n)).hexdigest()
    finally:
        fh.seek(here)


def _put_meta(conn: sa.Connection, key: str, value: str) -> None:
    r = conn.execute(sa.update(rt_meta).where(rt_meta.c.key == key).values(value=value))
    if not r.rowcount:
        conn.execute(sa.insert(rt_meta).values(key=key, value=value))


def _get_meta(conn: sa.Connection, key: str) -> str | None:
    row = conn.execute(sa.select(rt_meta.c.value).where(rt_meta.c.key == key)).first()
    return None if row is None else row[0]


def _as_def(j: Any) -> JourneyDef:
    if isinstance(j, JourneyDef):
        return j
    if isinstance(j, Journey):
        return j.definition
    if isinstance(j, str | Path):
        return load(j)
    raise JourneyDefinitionError(f"expected a JourneyDef, Journey or JSON path, got {type(j).__name__}", "$")


class Runtime:
    """Run exported journeys on a live stream of events, with durable, restart-safe state.

    Parameters
    ----------
    journeys : iterable of JourneyDef, Journey, str or pathlib.Path, default ()
        Journey definitions or JSON paths (several journeys, several versions of one).
        Versions already in the database stay (users inside them finish on them).
    db_url : str or pathlib.Path, default "sqlite:///journeylab.db"
        A SQLAlchemy URL or a SQLite file path.
    clock : WallClock, ReplayClock or None, default None
        :class:`WallClock` (default) fires timers on real time in :meth:`run_forever`;
        :class:`ReplayClock` moves only with :meth:`advance_to` (replays, tests).
    adapters : sequence, default ()
        Senders such as :class:`WebhookSender` that :meth:`run_forever` pumps.
    profiles : dict or None, default None
        ``{user_id: {...}}`` registered up front (users with no events yet, for scheduled
        and date-time entries).
    created : datetime-like or None, default None
        When those users' clocks start; default now.
    autopublish : bool, default True
        Publish journeys loaded for the first time at the clock's now (a JSON ``status`` of
        ``paused`` or ``stopped`` is applied too); otherwise they stay drafts until
        :meth:`publish`.
    seed : int or None, default None
        The seed of Split draws, stored with the database (default 0); a different seed for
        an existing database is refused.
    custom_lists : dict or None, default None
        The user ids of Custom List entries, per journey id and node id; the users are
        registered too (with an empty profile if none given).
    max_future : int or None, default 3600
        On the wall clock, refuse inputs more than this many seconds ahead; None: no limit.
    replay_horizon : int or None, default 30 days
        On a replay clock, the same limit, in seconds.
    timer_batch : int, default 500
        Timers fired per transaction.
    synchronous : {"NORMAL", "FULL"}, default "NORMAL"
        SQLite's durability: ``NORMAL`` survives a crash of the process, ``FULL`` also a
        power loss.
    max_attempts : int or None, default None
        The most delivery attempts of a message; default no limit (see :class:`Outbox`).
    retry_horizon : float, default 86400.0
        Seconds after which an undelivered message is ``failed``.
    retry_backoff : float, default 1.0
        Seconds before the first retry (doubling after each).
    destinations : sequence of str or None, default None
        The delivery destinations every message is queued for; default the adapters'.
    policy : AccountPolicy, dict, str or None, default None
        The account policy the journeys share: frequency caps, consent, the users' timezones.
        Give the same policy at every start; the users' message ledgers are stored with their
        states.

    Raises
    ------
    journeylab.JourneyDefinitionError
        When a journey does not validate, or the seed differs from the database's.
    journeylab.errors.StorageError
        When the database cannot be used.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeylab.examples import purchase_promo
    >>> rt = Runtime([purchase_promo().definition], "sqlite://", clock=ReplayClock("2026-10-01T00:00Z"),
    ...              profiles={"ana": {"push_token": "tok"}})
    >>> rt.ingest({"user_id": "ana", "event": "Charged", "ts": "2026-10-01T09:00:00Z"})
    'ok'
    >>> rt.advance_to(rt.clock.now() + 86400)
    >>> [(m["user_id"], m["channel"], m["status"]) for m in rt.outbox.rows()]
    [('ana', 'push', 'pending')]
    >>> int(rt.stats("purchase-promo").journey["entered"])
    1
    """

    def __init__(
        self,
        journeys: Iterable[JourneyDef | Journey | str | Path] = (),
        db_url: str | Path = "sqlite:///journeylab.db",
        clock: WallClock | ReplayClock | None = None,
        adapters: Sequence[Any] = (),
        profiles: dict[str, dict[str, Any]] | None = None,
        *,
        created: Any = None,
        autopublish: bool = True,
        seed: int | None = None,
        custom_lists: dict[str, dict[str, Iterable[str]]] | None = None,
        max_future: int | None = 3600,
        replay_horizon: int | None = 30 * 86400,
        timer_batch: int = 500,
        synchronous: str = "NORMAL",
        max_attempts: int | None = None,
        retry_horizon: float = 86400.0,
        retry_backoff: float = 1.0,
        destinations: Sequence[str] | None = None,
        policy: Any = None,
    ) -> None:
        self.clock = clock if clock is not None else WallClock()
        #: the account policy every journey shares (frequency caps, consent, users' timezones)
        self.policy = as_policy(policy)
        self.adapters = list(adapters)
        self.max_future = max_future
        self.replay_horizon = replay_horizon
        self.timer_batch = timer_batch
        self.custom_lists = custom_lists
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self.metrics: dict[str, int] = {"accepted": 0, "duplicates": 0, "rejected": 0, "errors": 0, "timers": 0}
        self.engine = open_database(db_url, synchronous=synchronous)
        self._persisted_clock: int | None = None
        self._min_wake: int | None = None
        self._quarantined: set[str] = set()
        self._components: dict[str, dict[str, Any]] = {}
        self._src_ident: dict[str, tuple[str, IO[bytes]]] = {}
        self._src_pos: dict[int, int] = {}
        self.outbox = Outbox(self.engine, max_attempts=max_attempts, horizon=retry_horizon, backoff=retry_backoff)
        if destinations is None:
            destinations = [a.destination for a in self.adapters if getattr(a, "destination", None)] or [
                DEFAULT_DESTINATION
            ]
        self.destinations: list[str] = list(dict.fromkeys(destinations))
        others = set(self.outbox.destinations()) - set(self.destinations)
        if others:
            self.outbox.unregister(*others)
        self.outbox.register(*self.destinations)
        self._sql = _SQL(self.engine.dialect)
        self._checked: set[tuple[str, int]] = set()  # journey versions validated (warnings logged once)
        self._checked_set: tuple[tuple[str, int], ...] | None = None  # the set last checked as a whole
        defs = [_as_def(j) for j in journeys]
        for d in defs:  # before anything is stored: a journey with errors is refused
            self._check_definition(d)
        with self.engine.begin() as conn:
            stored_seed = _get_meta(conn, "seed")
            if stored_seed is None:
                self.seed = 0 if seed is None else int(seed)
                _put_meta(conn, "seed", str(self.seed))
            else:
                self.seed = int(stored_seed)
                if seed is not None and int(seed) != self.seed:
                    raise JourneyDefinitionError(f"this database runs with seed {self.seed}, not {seed}", "seed")
            if isinstance(self.clock, ReplayClock):
                c = _get_meta(conn, "replay_clock")
                if c is not None:
                    self._persisted_clock = int(c)
                    self.clock.advance_to(int(c))
            new_ids = self._store_definitions(conn, defs)
            if autopublish and new_ids:
                # what to publish is stored with the journeys: a crash before it is done leaves it
                # pending, and the next start finishes it (see _publish_pending)
                first = {d.id: d for d in reversed(defs)}
                todo = [
                    [jid, "paused" if first[jid].status == "paused" else "running"]
                    for jid in dict.fromkeys(d.id for d in defs)
                    if jid in new_ids and first[jid].status != "stopped"
                ]
                if todo:
                    _put_meta(conn, _PENDING, json.dumps(json.loads(_get_meta(conn, _PENDING) or "[]") + todo))
            self._quarantined = {r[0] for r in conn.execute(sa.select(rt_quarantine.c.user_id))}
        self._reload()
        self._publish_pending()
        # users named by a Custom List are known from the start, profile or not: the list's
        # scheduled run enters them like every other driver does (profiles given win)
        listed: dict[str, dict[str, Any]] = {uid: {} for uid in sorted(self.js.listed_users)}
        if profiles or listed:
            self.add_profiles({**listed, **(profiles or {})}, created=created)
        self._min_wake = self.next_wake()
        log.info(
            "runtime started",
            extra={
                "fields": {
                    "db": str(self.engine.url.render_as_string(hide_password=True)),
                    "journeys": self.js.ids,
                    "clock": repr(self.clock),
                }
            },
        )

    # ================================================================== definitions
    def _publish_pending(self) -> None:
        """Publish the journeys a start-up stored as new (``rt_meta`` key ``pending_publish``):
        all of them at the clock's now, in one transaction that also writes their timelines,
        recomputes the users' wake-ups and clears the key. A crash anywhere before its commit
        leaves the key, so the next start does it; after it, nothing is left to do."""
        with self._reader() as conn:
            raw = _get_meta(conn, _PENDING)
        if raw is None:
            return
        with self._lock:
            now = self.clock.now()
            ctls: dict[str, Control] = {}
            for jid, status in json.loads(raw):
                if jid not in self.js.versions or self.js.control(jid).timeline or jid in ctls:
                    continue  # gone, or given a lifecycle since (never published twice)
                lifecycle.publish_check(self.definitions[jid])
                ctl = Control.running_from(now)
                ctls[jid] = ctl.with_status(now, "paused") if status == "paused" else ctl
            if ctls:
                self._fire(now - 1)  # what was due before the change happens under the old rules
            old = {jid: self.js.control(jid) for jid in ctls}
            for jid, ctl in ctls.items():
                self.js.set_control(jid, ctl)
            try:
                with self._unit() as u:
                    for jid, ctl in ctls.items():
                        u.conn.execute(
                            sa.update(rt_journeys)
                            .where(rt_journeys.c.journey_id == jid)
                            .values(timeline=json.dumps(ctl.timeline))
                        )
                    if ctls:
                        self._recompute(u)
                    u.conn.execute(sa.delete(rt_meta).where(rt_meta.c.key == _PENDING))
            except BaseException:
                for jid, c in old.items():
                    self.js.set_control(jid, c)
                raise
        for jid, ctl in ctls.items():
            log.info("journey lifecycle", extra={"fields": {"journey": jid, "timeline": ctl.timeline}})

    def _store_definitions(self, conn: sa.Connection, defs: Sequence[JourneyDef]) -> set[str]:
        known = {r[0]: r[1] for r in conn.execute(sa.select(rt_journeys.c.journey_id, rt_journeys.c.position))}
        pos = max(known.values(), default=-1) + 1
        new_ids: set[str] = set()
        for d in defs:
            if d.id not in known:
                conn.execute(sa.insert(rt_journeys).values(journey_id=d.id, position=pos, timeline="[]"))
                known[d.id] = pos
                pos += 1
                new_ids.add(d.id)
            self._store_version(conn, d)
        return new_ids

    def _store_version(self, conn: sa.Connection, d: JourneyDef) -> bool:
        row = conn.execute(
            sa.select(rt_versions.c.definition).where(
                rt_versions.c.journey_id == d.id, rt_versions.c.version == d.version
            )
        ).first()
        text = to_json(d)
        if row is None:
            conn.execute(
                sa.insert(rt_versions).values(
                    journey_id=d.id, version=d.version, definition=text, loaded_at=self.clock.now()
                )
            )
            return True
        old = from_json(row[0])
        if lifecycle.locked_part(old) == lifecycle.locked_part(d):
            if old != d:  # content or layout edits: allowed after publishing (SPEC §7)
                conn.execute(
                    sa.update(rt_versions)
                    .where(rt_versions.c.journey_id == d.id, rt_versions.c.version == d.version)
                    .values(definition=text)
                )
            return False
        raise LifecycleError(
            f"journey {d.id!r} version {d.version} differs from the stored version {d.version} beyond message content: "
            "publish it as a new version"
        )

    def _check_definition(self, d: JourneyDef, where: str = "") -> None:
        """Validate a journey the runtime loads (a file, a definition, a stored version): errors
        refuse it (:class:`LifecycleError` listing each with its JSON path); warnings are logged,
        once per journey version."""
        try:
            report = lifecycle.publish_check(d)
        except LifecycleError as e:
            lines = str(e).partition("\n")[2]
            raise LifecycleError(
                f"journey {d.id!r} version {d.version}{where} cannot be run, validation found errors:\n{lines}"
            ) from None
        key = (d.id, d.version)
        if report.warnings and key not in self._checked:
            log.warning(
                "journey has validation warnings",
                extra={
                    "fields": {
                        "journey": d.id,
                        "version": d.version,
                        "warnings": [f"{w.path}: {w.message} [{w.code}]" for w in report.warnings],
                    }
                },
            )
        self._checked.add(key)

    def _reload(self) -> None:
        with self._reader() as conn:
            js_rows = conn.execute(sa.select(rt_journeys).order_by(rt_journeys.c.position)).mappings().all()
            vs = conn.execute(sa.select(rt_versions).order_by(rt_versions.c.version)).mappings().all()
        by_id: dict[str, list[JourneyDef]] = {}
        for r in vs:
            where = " (as stored in the database)"
            try:
                d = from_json(r["definition"])
            except JourneyDefinitionError as e:
                raise JourneyDefinitionError(
                    f"{e.message} (version {r['version']} of journey {r['journey_id']!r} as stored in the database)",
                    e.path,
                ) from None
            if (d.id, d.version) not in self._checked:
                self._check_definition(d, where)
            by_id.setdefault(r["journey_id"], []).append(d)
        defs = [d for r in js_rows for d in by_id.get(r["journey_id"], [])]
        controls = {r["journey_id"]: Control(tuple((int(t), s) for t, s in json.loads(r["timeline"]))) for r in js_rows}
        if not defs:
            raise JourneyDefinitionError("give at least one journey (none in the database yet)", "journeys")
        # the journeys as a set (a trigger on a node its journey lacks, a version twice): the one
        # check every driver runs; each definition's own warnings were logged above
        set_key = tuple(sorted((d.id, d.version) for d in defs))
        if set_key != self._checked_set:
            check_journeys(defs, warn=False)
            self._checked_set = set_key
        self.js = JourneySet(
            defs, seed=self.seed, controls=controls, custom_lists=self.custom_lists, policy=self.policy
        )
        self.definitions = {jid: self.js.latest[jid].definition for jid in self.js.ids}

    # ================================================================== units of work
    @contextmanager
    def _unit(self) -> Iterator[_Unit]:
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    u = _Unit(self, conn)
                    yield u
                    u.commit_rows()
            except BaseException:
                self._min_wake = 0  # unknown after a rollback: the next timer pass asks the database
                raise
        self._after_commit(u)

    def _lower_wake(self, nw: int | None) -> None:
        """Keep ``_min_wake`` a lower bound of every stored next wake-up."""
        if nw is not None and (self._min_wake is None or nw < self._min_wake):
            self._min_wake = nw

    def _after_commit(self, u: _Unit) -> None:
        self.metrics["accepted"] += u.accepted
        self.metrics["duplicates"] += u.duplicates
        for r in u.rejected:
            self.metrics["errors" if r["kind"] == "error" else "rejected"] += 1
            lvl = log.error if r["kind"] == "error" else log.warning
            lvl(
                "input rejected" if r["kind"] != "error" else "input failed in the engine",
                extra={"fields": {k: r[k] for k in ("source", "offset", "path", "reason")}},
            )

    def _check_time(self, inp: Input, path: str) -> None:
        """Refuse an input too far ahead of the runtime's clock: ``max_future`` seconds on the
        wall clock, ``replay_horizon`` on a replay clock (once it has left the epoch)."""
        now = self.clock.now()
        limit = self.replay_horizon if isinstance(self.clock, ReplayClock) else self.max_future
        if limit is None or (isinstance(self.clock, ReplayClock) and now <= 0):
            return
        ahead = inp.ts - now
        if ahead > limit:
            raise InputError(f"{ahead} s ahead of the runtime clock (at most {limit})", f"{path}.ts")

    def _coerce(self, item: Any, path: str, expect: str | None = None, *, follow: bool = False) -> Input:
        """Check one input (an engine input, or its JSON object); anything that cannot be
        applied raises :class:`InputError` with its path, whatever went wrong. ``follow``: the
        clock will move to the input first, so its horizon is checked then (in :meth:`_op`)."""
        try:
            if expect is not None and isinstance(item, dict):
                t = item.get("type", "event")
                if t != expect:
                    raise InputError(f"expected a {expect} here, not {safe_text(repr(t), 100)}", f"{path}.type")
            if isinstance(item, Event | ProfileSet | Feedback):
                check_ids(item, path)
                inp: Input = (
                    item
                    if isinstance(item, Feedback)
                    else item._replace(props=normalize(dict(item.props), f"{path}.props"))
                )
            else:
                inp = parse_input(item, path, now=self.clock.now())
            if not follow:
                self._check_time(inp, path)
            return inp
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - a bad input must never stop the runtime
            raise InputError(f"cannot read this input: {type(e).__name__}: {e}", path) from None

    def _run_ops(self, ops: list[tuple], source: str) -> list[Any]:
        """Run ops in one unit: ``("input", offset, inp)``, ``("reject", offset, path, reason, raw)``,
        ``("skip", offset)``. With a replay clock that follows the inputs, ``("input", ...,
        inp, True)`` first advances the clock to the input's instant.

        An engine failure rolls the unit back, and the unit is redone (a loop, never a
        recursion): a failing input is set aside as a dead letter (kind ``error``); a user
        whose timers fail is quarantined first (see :meth:`_quarantine`), so that their inputs
        are set aside too and every other user's work goes on."""
        failed: dict[int, BaseException] = {}
        for _ in range(len(ops) + len(self._quarantined) + 64):
            try:
                return self._attempt(ops, source, failed)
            except _EngineFailure as f:
                uid = f.user_id or ""
                if f.op is None or self._timers_fail(uid, ops[f.op][2].ts):
                    self._quarantine(uid, f.exc)
                else:
                    log.error(
                        "engine failure", exc_info=f.exc, extra={"fields": {"source": source, "offset": ops[f.op][1]}}
                    )
                    failed[f.op] = f.exc
            except Exception as e:
                if fault_kind(e) != "input":
                    raise
                if len(ops) == 1 and ops[0][0] == "input":  # the database refused what this input wrote
                    log.error("input refused by the database", exc_info=e, extra={"fields": {"source": source}})
                    failed[0] = e
                    continue
                if len(ops) == 1:
                    raise
                return [r for op in ops for r in self._run_ops([op], source)]  # one unit each: find the culprit
        raise EngineInvariantError(f"a unit of {len(ops)} inputs kept failing in the engine")  # pragma: no cover

    def _attempt(self, ops: list[tuple], source: str, failed: dict[int, BaseException]) -> list[Any]:
        """One try at a unit of ops; a rolled-back unit puts a replay clock back where it was,
        so that the unit is redone from where it started."""
        clock0 = self.clock.now()
        try:
            results: list[Any] = []
            with self._unit() as u:
                for i, op in enumerate(ops):
                    if i in failed:
                        results.append(self._op_failed(u, op, failed[i], source))
                    else:
                        results.append(self._op(u, i, op, source))
            return results
        except BaseException:
            if isinstance(self.clock, ReplayClock):
                self.clock._rewind(clock0)
            raise

    def _op_failed(self, u: _Unit, op: tuple, exc: BaseException, source: str) -> str:
        what = (
            "engine error"
            if isinstance(exc, _EngineFailure | EngineInvariantError) or fault_kind(exc) != "input"
            else "database error"
        )
        u.reject(source, op[1], "$", f"{what}: {type(exc).__name__}: {exc}", _raw(op[2]), kind="error")
        if op[1] is not None:
            u.offsets[source] = op[1]
        return "error"

    def _timers_fail(self, uid: str, t: int) -> bool:
        """Whether the user's own timers due by ``t`` raise in the engine (not the input)."""
        with self._reader() as conn:
            u = _Unit(self, conn)
            try:
                states = u.user(uid, t).states
            except Exception:  # noqa: BLE001 - an unreadable state is the user's fault too
                return True
            try:
                self.js.advance(states, t, [])
            except Exception:  # noqa: BLE001
                return True
        return False

    def _op(self, u: _Unit, i: int, op: tuple, source: str) -> Any:
        kind, off = op[0], op[1]
        res: Any = "skip"
        if kind == "input":
            inp = op[2]
            try:
                if len(op) > 3 and op[3]:
                    self._check_time(inp, "$")
                    self.clock.advance_to(inp.ts)
                    self.metrics["timers"] += u.fire_due(self.clock.now())
                res = u.apply(inp, i)
            except _Quarantined as q:
                reason = f"user {q.user_id!r} is quarantined (their timers failed in the engine): input set aside"
                u.reject(source, off, "$.user_id", reason, _raw(inp), kind="quarantined")
                res = ("rejected", "$.user_id", reason)
            except InputError as e:
                base = op[4] if len(op) > 4 else "$"
                path = base + e.path[1:]
                u.reject(source, off, path, e.message, _raw(inp))
                res = ("rejected", path, e.message)
        elif kind == "reject":
            u.reject(source, off, op[2], op[3], op[4])
            res = ("rejected", op[2], op[3])
        if off is not None:
            u.offsets[source] = off
        return res

    def _quarantine(self, uid: str, exc: BaseException) -> None:
        """Take a user whose timers fail in the engine out of the timer index, for good (until
        :meth:`release`): the failure is recorded as a dead letter (kind ``error``, source
        ``timers``), and every later input of the user is set aside (kind ``quarantined``)."""
        log.error(
            "engine failure in a user's timers: user quarantined", exc_info=exc, extra={"fields": {"user_id": uid}}
        )
        reason = f"engine error in the timers of user {uid!r}: {type(exc).__name__}: {exc}"
        with self._unit() as u:
            u.conn.execute(sa.update(rt_users).where(rt_users.c.user_id == uid).values(next_wake=None))
            u.conn.execute(sa.delete(rt_quarantine).where(rt_quarantine.c.user_id == uid))
            u.conn.execute(
                sa.insert(rt_quarantine).values(user_id=uid, at=time.time(), clock=self.clock.now(), reason=reason)
            )
            u.reject("timers", None, "$", reason, uid, kind="error")
        self._quarantined.add(uid)

    def quarantined(self) -> dict[str, dict[str, Any]]:
        """Users taken out of the timer index after an engine failure:
        ``{user_id: {"at": wall time, "clock": runtime clock, "reason": ...}}``."""
        with self._reader() as conn:
            rows = conn.execute(sa.select(rt_quarantine).order_by(rt_quarantine.c.user_id)).mappings().all()
        return {r["user_id"]: {"at": r["at"], "clock": int(r["clock"]), "reason": r["reason"]} for r in rows}

    def release(self, user_id: str) -> bool:
        """Put a quarantined user back (after the engine is fixed): their timers are due again
        from their stored state; inputs set aside meanwhile stay in the dead letters."""
        with self._lock:
            if user_id not in self._quarantined:
                return False
            with self._unit() as u:
                u.conn.execute(sa.delete(rt_quarantine).where(rt_quarantine.c.user_id == user_id))
                usr = u.user(user_id, self.clock.now())
                nw = self.js.next_wake(usr.states) if usr.exists else None
                u.cur.execute(u.sql.upd_wake, (nw, user_id))
                self._lower_wake(nw)
            self._quarantined.discard(user_id)
            log.info("user released from quarantine", extra={"fields": {"user_id": user_id}})
            return True

    # ================================================================== inputs
    def ingest(self, item: Event | Feedback | ProfileSet | dict[str, Any], *, source: str = "api") -> str:
        """Apply one input (an engine input or its JSON object) in one transaction.

        Returns ``"ok"`` or ``"duplicate"`` (an ``event_id`` already processed for the user).
        A malformed input is recorded in ``rt_rejected`` and raises :class:`InputError`.
        """
        try:
            inp = self._coerce(item, "$")
        except InputError as e:
            self._run_ops([("reject", None, e.path, e.message, _raw(item))], source)
            raise
        res = self._run_ops([("input", None, inp)], source)[0]
        if isinstance(res, tuple):
            raise InputError(res[2], res[1])
        return res

    def record_rejected(
        self, source: str, path: str, reason: str, raw: str | None = None, offset: int | None = None
    ) -> None:
        """Record an input refused before it could be parsed (bad JSON), and count it."""
        self._run_ops([("reject", offset, path, reason, raw)], source)

    def feedback(self, message_id: str, kind: str, ts: Any = None, user_id: str | None = None) -> str:
        """Delivery feedback (``delivered``, ``viewed``, ``clicked``, ``unsubscribed``) for a sent message."""
        obj: dict[str, Any] = {"type": "feedback", "message_id": message_id, "kind": kind}
        if ts is not None:
            obj["ts"] = epoch_of(ts)
        if user_id is not None:
            obj["user_id"] = user_id
        return self.ingest(obj)

    def set_profile(self, user_id: str, props: dict[str, Any], ts: Any = None) -> str:
        """New profile values for a user, at ``ts`` (default now)."""
        t = self.clock.now() if ts is None else epoch_of(ts)
        return self.ingest(ProfileSet(user_id, t, props))

    def ingest_many(
        self,
        items: Sequence[Any],
        *,
        source: str = "api",
        paths: Sequence[str] | None = None,
        expect: str | None = None,
    ) -> IngestResult:
        """Apply several inputs in one transaction; malformed ones are refused (and recorded)
        without stopping the others. Refusals carry the item's path (``$[3].ts``; ``paths``
        gives each item's own). ``expect`` refuses items of another ``type``."""
        ops: list[tuple] = []
        for k, item in enumerate(items):
            p = paths[k] if paths is not None else f"$[{k}]"
            try:
                ops.append(("input", None, self._coerce(item, p, expect), False, p))
            except InputError as e:
                ops.append(("reject", None, e.path, e.message, _raw(item)))
        return self._result(ops, self._run_ops(ops, source) if ops else [])

    def _result(self, ops: list[tuple], res: list[Any]) -> IngestResult:
        rejected, errors, dups = [], [], []
        acc = dup = 0
        for k, r in enumerate(res):
            if r == "ok":
                acc += 1
            elif r == "duplicate":
                dup += 1
                dups.append(k)
            elif isinstance(r, tuple):
                rejected.append((k, r[1], r[2]))
            elif r == "error":
                errors.append((k, "$", "engine error (see the logs)"))
        return IngestResult(acc, dup, rejected, errors, dups)

    def replay(self, inputs: Iterable[Input], *, until: Any = None, batch: int = 500) -> None:
        """Feed time-ordered inputs, moving a :class:`ReplayClock` to each input's instant first
        (timers due by then fire before it), ``batch`` inputs per transaction; then advance
        to ``until``."""
        if not isinstance(self.clock, ReplayClock):
            raise TypeError("replay needs a ReplayClock")
        ops: list[tuple] = []
        for inp in inputs:
            ops.append(("input", None, self._coerce(inp, "$", follow=True), True))
            if len(ops) >= batch:
                self._run_ops(ops, "replay")
                ops = []
        if ops:
            self._run_ops(ops, "replay")
        if until is not None:
            self.advance_to(epoch_of(until))

    def ingest_jsonl(
        self,
        stream: str | Path | IO[bytes],
        *,
        source: str | None = None,
        batch: int = 1,
        follow_clock: bool | None = None,
    ) -> dict[str, int]:
        """Consume a JSON-lines file or stream (``"-"``: stdin), one input per line.

        The source's offset (lines consumed) commits with each unit, so a restarted runtime
        resumes after the last committed line (stdin: the same stream must be fed again).
        ``follow_clock`` (default: with a :class:`ReplayClock`) moves the clock to each input's
        instant first. Returns counts by outcome.
        """
        import sys

        if follow_clock is None:
            follow_clock = isinstance(self.clock, ReplayClock)
        close = False
        if isinstance(stream, str | Path):
            if str(stream) == "-":
                fh: IO[bytes] = sys.stdin.buffer
                name = source or "stdin"
            else:
                fh = open(stream, "rb")  # noqa: SIM115 - closed below
                close = True
                name = source or f"file:{Path(stream).resolve()}"
        else:
            fh = stream
            name = source or "stream"
        counts = {"ok": 0, "duplicate": 0, "rejected": 0, "error": 0, "skip": 0}
        try:
            done = self.offset(name)
            k = 0
            pos = None
            if close:  # a file: check it is the one the offset belongs to
                done, seek = self._file_identity(fh, name, done)
                pos = 0
                if seek:
                    fh.seek(seek)
                    k, pos = done, seek
                    self._src_pos = {k: pos}
            ops: list[tuple] = []
            for line in fh:
                k += 1
                if pos is not None:
                    pos += len(line)
                    self._src_pos[k] = pos
                if k <= done:
                    continue
                ops.append(self._line_op(line, k, follow_clock))
                if len(ops) >= batch:
                    for r in self._run_source_ops(ops, name):
                        counts[r if isinstance(r, str) else r[0]] += 1
                    ops = []
                    self._src_pos = {kk: v for kk, v in self._src_pos.items() if kk >= k}
                if self._stop.is_set():
                    break
            if ops:
                for r in self._run_source_ops(ops, name):
                    counts[r if isinstance(r, str) else r[0]] += 1
        finally:
            if close:
                fh.close()
            self._src_ident.pop(name, None)
            self._src_pos = {}
        return counts

    def _file_identity(self, fh: IO[bytes], name: str, done: int) -> tuple[int, int | None]:
        """Match an opened file with the stored identity of its source: ``(lines done, byte
        position to resume at)``. A file replaced at the same path (another device/inode, or
        other first bytes) or truncated below the committed position is read from its start
        (and a warning says so); a file never seen before, or an offset stored without an
        identity (an older database), counts lines as before."""
        st = os.fstat(fh.fileno())
        ident = f"{st.st_dev}:{st.st_ino}"
        with self._reader() as conn:
            row = conn.execute(sa.select(rt_sources).where(rt_sources.c.source == name)).mappings().first()
        pos: int | None = None
        if row is not None and done:
            fp = _fingerprint(fh, row["fp_len"])
            why = (
                "replaced (another file at this path)"
                if row["identity"] != ident and fp != row["fingerprint"]
                else "truncated"
                if st.st_size < row["position"]
                else "rewritten (its first bytes changed)"
                if fp != row["fingerprint"]
                else None
            )
            if why is None:  # the same file (also after a move within the device): resume at the byte
                pos = int(row["position"])
            else:
                log.warning(
                    f"source file {why}: reading it from the start",
                    extra={"fields": {"source": name, "lines_done_before": done}},
                )
                with self._unit() as u:
                    u.conn.execute(sa.update(rt_offsets).where(rt_offsets.c.source == name).values(offset=0))
                    u.conn.execute(sa.delete(rt_sources).where(rt_sources.c.source == name))
                done = 0
        # else: a new file, or an offset from before file identities: count lines (and record it)
        fh.seek(0)
        self._src_ident[name] = (ident, fh)
        self._src_pos = {0: 0}
        return done, pos

    def _run_source_ops(self, ops: list[tuple], name: str) -> list[Any]:
        """Run a source's ops; while the database is unreachable, back off and try again from
        the source's committed offset (component ``source`` in :meth:`health`)."""
        comp = "source"
        while True:
            try:
                res = self._run_ops(ops, name)
            except Exception as e:
                if fault_kind(e) != "transient" or self._stop.is_set():
                    raise
                self._stop.wait(self._failed(comp, e))
                try:
                    done = self.offset(name)
                except Exception as e2:  # noqa: BLE001 - still down: the next try says so
                    self._failed(comp, e2)
                    continue
                ops = [op for op in ops if op[1] is None or op[1] > done]
                continue
            self._worked(comp)
            return res

    def _line_op(self, line: bytes, k: int, follow_clock: bool) -> tuple:
        text = line.strip()
        if not text:
            return ("skip", k)
        raw = text.decode("utf-8", "backslashreplace")
        try:
            obj = parse_json(text)
            inp = self._coerce(obj, "$", follow=follow_clock)
        except InputError as e:
            return ("reject", k, e.path, e.message, raw)
        return ("input", k, inp, follow_clock)

    def offset(self, source: str) -> int:
        """Lines of ``source`` consumed so far (committed)."""
        with self._reader() as conn:
            r = conn.execute(sa.select(rt_offsets.c.offset).where(rt_offsets.c.source == source)).first()
        return 0 if r is None else int(r[0])

    def add_profiles(self, profiles: dict[str, dict[str, Any]], *, created: Any = None) -> int:
        """Register users up front (those already stored keep their stored profile)."""
        c = self.clock.now() if created is None else epoch_of(created)
        n = 0
        items = sorted(profiles.items())
        for i in range(0, len(items), 1000):
            with self._unit() as u:
                chunk = items[i : i + 1000]
                have = {
                    r[0]
                    for r in u.conn.execute(
                        sa.select(rt_users.c.user_id).where(rt_users.c.user_id.in_([k for k, _ in chunk]))
                    )
                }
                for uid, prof in chunk:
                    if uid in have:
                        continue
                    states = self.js.new_user(uid, normalize(dict(prof), f"profiles.{uid}"), c)
                    u.users[uid] = _User(states, None, {}, False, None, c)
                    u.users[uid].dirty = True
                    n += 1
        return n

    # ================================================================== time
    def advance_to(self, t: Any = None) -> None:
        """Fire every timer due at or before ``t`` (default: the clock's now), instant by
        instant; with a :class:`ReplayClock` the clock moves to ``t`` first."""
        t = self.clock.now() if t is None else epoch_of(t)
        self.clock.advance_to(t)
        self._fire(t)

    def _fire(self, t: int) -> None:
        with self._lock:
            while self._min_wake is not None and self._min_wake <= t:
                try:
                    with self._unit() as u:
                        n = u.fire_due(t, self.timer_batch)
                    self.metrics["timers"] += n
                except _EngineFailure as f:
                    self._quarantine(f.user_id or "", f.exc)
                    continue
                if n < self.timer_batch:
                    break

    def persist_clock(self) -> None:
        """Store a :class:`ReplayClock`'s position (a restarted runtime starts from it)."""
        if isinstance(self.clock, ReplayClock) and self.clock.now() != self._persisted_clock:
            with self._lock, self.engine.begin() as conn:
                _put_meta(conn, "replay_clock", str(self.clock.now()))
            self._persisted_clock = self.clock.now()

    def _reader(self) -> sa.Connection:
        return self.engine.connect().execution_options(readonly=True)

    def next_wake(self) -> int | None:
        """The earliest wake-up of any user (``None``: nothing scheduled)."""
        with self._reader() as conn:
            return conn.execute(sa.select(sa.func.min(rt_users.c.next_wake))).scalar()

    def run_forever(self, *, tick: float = 1.0, adapters_every: float = 1.0) -> None:
        """Fire due timers on the clock until :meth:`shutdown` (or Ctrl-C); pump the adapters
        in their own threads.

        Both loops are supervised: an error (a database outage, a bug) is logged, the
        component is reported degraded in :meth:`health`, and the loop tries again after a
        backoff (0.2 s doubling to 30 s, with jitter) until it works again."""
        self._stop.clear()
        threads = [
            threading.Thread(
                target=self._pump_loop, args=(a, adapters_every, f"sender-{i}"), daemon=True, name=f"adapter-{i}"
            )
            for i, a in enumerate(self.adapters)
        ]
        for th in threads:
            th.start()
        log.info("timer loop started", extra={"fields": {"tick": tick}})
        self._component("timers")
        try:
            while not self._stop.is_set():
                try:
                    self.advance_to(None)
                except Exception as e:  # noqa: BLE001 - supervised: report, back off, try again
                    self._stop.wait(self._failed("timers", e))
                    continue
                self._worked("timers")
                nw = self._min_wake
                wait = tick
                if nw is not None:
                    wait = min(tick, max(0.0, nw - self.clock.now_exact()))
                self._stop.wait(max(wait, 0.01))
        finally:
            self._stop.set()
            for th in threads:
                th.join(timeout=10)
            self._components.pop("timers", None)
            log.info("timer loop stopped")

    def _pump_loop(self, adapter: Any, every: float, name: str = "sender") -> None:
        self._component(name)
        while not self._stop.is_set():
            try:
                n = adapter.pump(self.outbox)
                busy = bool(n and any(n.values()))
            except Exception as e:  # noqa: BLE001 - an adapter must not stop the runtime
                self._stop.wait(self._failed(name, e))
                continue
            self._worked(name)
            if not busy:
                self._stop.wait(every)
        self._components.pop(name, None)

    # ------------------------------------------------------------------ supervision
    def _component(self, name: str) -> None:
        self._components[name] = {"ok": True, "since": time.time(), "error": None, "failures": 0, "streak": 0}

    def _failed(self, name: str, e: BaseException) -> float:
        """Record a failure of a supervised loop; returns how long to back off."""
        c = self._components.setdefault(
            name, {"ok": True, "since": time.time(), "error": None, "failures": 0, "streak": 0}
        )
        kind = fault_kind(e)
        if c["ok"]:
            c.update(ok=False, since=time.time())
        c["failures"] += 1
        c["streak"] += 1
        c["error"] = safe_text(f"{type(e).__name__}: {e}", 500)
        c["kind"] = kind
        delay = min(30.0, 0.2 * 2 ** min(c["streak"] - 1, 10)) * (0.8 + 0.4 * random.random())
        lvl = log.warning if kind == "transient" else log.error
        lvl(
            f"{name} failed: retrying",
            exc_info=e if kind != "transient" else None,
            extra={
                "fields": {
                    "component": name,
                    "kind": kind,
                    "error": c["error"],
                    "retry_in": round(delay, 2),
                    "failures": c["streak"],
                }
            },
        )
        return delay

    def _worked(self, name: str) -> None:
        c = self._components.get(name)
        if c is not None and not c["ok"]:
            log.info(
                f"{name} recovered", extra={"fields": {"component": name, "after": round(time.time() - c["since"], 3)}}
            )
            c.update(ok=True, since=time.time(), error=None, streak=0, kind=None)

    def pump_adapters(self) -> list[Any]:
        """Run each adapter's ``pump`` once (synchronously)."""
        return [a.pump(self.outbox) for a in self.adapters]

    def shutdown(self) -> None:
        """Stop :meth:`run_forever` and a running :meth:`ingest_jsonl`."""
        self._stop.set()

    def close(self) -> None:
        self.shutdown()
        self.persist_clock()
        for a in self.adapters:
            close = getattr(a, "close", None)
            if callable(close):
                close()
        self.engine.dispose()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ================================================================== lifecycle
    def status(self, journey_id: str) -> str:
        """``draft``, ``scheduled``, ``running``, ``paused`` or ``stopped`` now."""
        self._known(journey_id)
        now = self.clock.now()
        s = self.js.control(journey_id).status_at(now)
        start = self.definitions[journey_id].settings.start
        if s == "running" and start is not None and int(start.timestamp()) > now:
            return "scheduled"
        return s

    def _known(self, jid: str) -> None:
        if jid not in self.js.versions:
            raise KeyError(f"no journey {jid!r} in this runtime")

    def publish(self, journey_id: str) -> str:
        """Publish a draft: validation errors block it; entries start now (or at its start)."""
        with self._lock:
            lifecycle.next_status(self.status(journey_id), "publish", journey_id)
            lifecycle.publish_check(self.definitions[journey_id])
            now = self.clock.now()
            self._control(journey_id, Control.running_from(now), now, recompute=True)
            return self.status(journey_id)

    def pause(self, journey_id: str) -> str:
        """No new entries; users inside keep moving and receiving messages."""
        return self._transition(journey_id, "pause")

    def resume(self, journey_id: str) -> str:
        return self._transition(journey_id, "resume")

    def stop(self, journey_id: str) -> str:
        """Stop for good: users inside exit with ``stopped`` now; no entries, no sends."""
        return self._transition(journey_id, "stop")

    def _transition(self, jid: str, verb: str) -> str:
        with self._lock:
            status = lifecycle.next_status(self.status(jid), verb, jid)
            now = self.clock.now()
            ctl = self.js.control(jid).with_status(now, status)
            # pause/resume change no one's next wake-up (only entries look at them); stop does
            self._control(jid, ctl, now, recompute=status == "stopped")
            if status == "stopped":
                self._fire(now)
            return self.status(jid)

    def _control(self, jid: str, ctl: Control, now: int, *, recompute: bool) -> None:
        self._fire(now - 1)  # what was due before the change happens under the old rules
        self.js.set_control(jid, ctl)
        with self._unit() as u:
            u.conn.execute(
                sa.update(rt_journeys).where(rt_journeys.c.journey_id == jid).values(timeline=json.dumps(ctl.timeline))
            )
            if recompute:
                self._recompute(u)
        log.info("journey lifecycle", extra={"fields": {"journey": jid, "timeline": ctl.timeline}})

    def _recompute(self, u: _Unit) -> None:
        """Recompute every user's next wake-up (after a change of rules), in this unit."""
        last = None
        while True:
            q = sa.select(rt_users.c.user_id).order_by(rt_users.c.user_id).limit(1000)
            if last is not None:
                q = q.where(rt_users.c.user_id > last)
            ids = [r[0] for r in u.conn.execute(q)]
            if not ids:
                break
            for uid in ids:
                usr = u.user(uid, self.clock.now())
                nw = self.js.next_wake(usr.states)
                if nw != usr.next_wake:
                    u.cur.execute(u.sql.upd_wake, (nw, uid))
                    usr.next_wake = nw
                    self._lower_wake(nw)
                del u.users[uid]
            last = ids[-1]

    def publish_version(self, definition: JourneyDef | Journey | str | Path, *, migrate: bool = False) -> int:
        """Add a new version of a journey (or a new journey, as a draft). New entrants use
        it at once. Users inside an older version finish on theirs, or, with ``migrate=True``,
        move now to the node of the same id in the new version (refused, with the reason in the
        trace as ``not_migrated``, for nodes the new version lacks or that changed kind: those
        users stay; see :meth:`journeylab.engine.Engine.migrate`). Returns the version.

        The change is a ``publish v<N>[ migrate]`` entry in the journey's lifecycle timeline
        (stored with it), so the version in force at any instant survives a restart."""
        d = _as_def(definition)
        with self._lock:
            lifecycle.publish_check(d)
            published = False
            if d.id in self.js.versions:
                st = self.status(d.id)
                if st == "stopped":
                    raise LifecycleError(f"journey {d.id!r} is stopped: stop is final")
                top = max(self.js.versions[d.id])
                same = lifecycle.locked_part(self.js.versions[d.id][top].definition) == lifecycle.locked_part(d)
                if d.version < top or (d.version == top and not same):
                    raise LifecycleError(f"journey {d.id!r} already has version {top}: give version {top + 1} or later")
                published = bool(self.js.control(d.id).timeline)
            elif migrate:
                raise LifecycleError(f"journey {d.id!r} is new: there is nobody to migrate")
            now = self.clock.now()
            self._fire(now - 1)
            with self._unit() as u:
                self._store_definitions(u.conn, [d])
            self._reload()
            if published:
                # the version in force from now on (and the migration) is part of the timeline
                self._control(
                    d.id, self.js.control(d.id).with_version(now, d.version, migrate=migrate), now, recompute=True
                )
                self._fire(now)
            else:
                with self._unit() as u:
                    self._recompute(u)
            log.info(
                "journey version published",
                extra={"fields": {"journey": d.id, "version": d.version, "migrate": migrate}},
            )
            return d.version

    # ================================================================== reading
    def trace(self, journey: str | None = None) -> pd.DataFrame:
        """The stored trace in canonical order (by instant, then user id, each user's rows in
        the order they happened), with the simulator's columns."""
        from journeylab.trace import empty_trace, trace_frame

        q = sa.select(rt_trace)
        if journey is not None:
            q = q.where(rt_trace.c.journey == journey)
        with self._reader() as conn:
            rows = conn.execute(q.order_by(rt_trace.c.seq)).all()
        if not rows:
            return empty_trace()
        rows = sorted(rows, key=lambda r: (r[2], r[1]))  # canonical order (stable: a user's rows keep theirs)
        _, user, ts, jid, version, node, event, port, detail = zip(*rows, strict=True)
        return trace_frame(user, [int(t) for t in ts], jid, version, node, event, port, detail)

    def stats(self, journey_id: str):  # -> journeylab.stats.Stats (pandas is imported on first use)
        """Node, journey and goal statistics (SPEC §8) from the stored trace: the same
        :class:`~journeylab.stats.Stats` a simulation reports."""
        from journeylab.stats import summarize

        self._known(journey_id)
        versions = [self.js.versions[journey_id][v].definition for v in sorted(self.js.versions[journey_id])]
        return summarize(self.trace(journey_id), versions)

    def rejected(self):  # -> pandas.DataFrame
        """Refused and failed inputs: ``at, source, offset, kind, path, reason, raw``."""
        import pandas as pd

        with self._reader() as conn:
            rows = conn.execute(sa.select(rt_rejected).order_by(rt_rejected.c.id)).mappings().all()
        return pd.DataFrame(
            [dict(r) for r in rows], columns=["id", "at", "source", "offset", "kind", "path", "reason", "raw"]
        )

    def user_states(self, user_id: str) -> dict[str, UserState] | None:
        """The stored states of a user (``None``: never seen)."""
        with self._reader() as conn:
            u = _Unit(self, conn)
            exists = conn.execute(sa.select(rt_users.c.user_id).where(rt_users.c.user_id == user_id)).first()
            return u.user(user_id, 0).states if exists else None

    def health(self) -> dict[str, Any]:
        """For monitoring: ``status`` is ``ok``, or ``degraded`` while the database cannot be
        read or a supervised loop (timers, senders, a file source) is failing (its
        ``components`` entry says since when and why); then the counts: users, outbox by
        status, refused inputs, journeys' status."""
        comps = {k: {kk: vv for kk, vv in v.items() if kk != "streak"} for k, v in list(self._components.items())}
        out: dict[str, Any] = {"status": "ok", "clock": self.clock.now(), "components": comps}
        try:
            with self._reader() as conn:
                users = conn.execute(sa.select(sa.func.count()).select_from(rt_users)).scalar()
                rej: dict[str, int] = dict(
                    conn.execute(sa.select(rt_rejected.c.kind, sa.func.count()).group_by(rt_rejected.c.kind)).all()
                )
                nw = conn.execute(sa.select(sa.func.min(rt_users.c.next_wake))).scalar()
            outbox = self.outbox.counts()
            deliveries = self.outbox.counts(by_destination=True)
        except Exception as e:  # noqa: BLE001 - health must answer while the database is down
            out.update(status="degraded", database=safe_text(f"{type(e).__name__}: {e}", 500))
            return out
        if not all(c["ok"] for c in comps.values()):
            out["status"] = "degraded"
        out.update(
            {
                "users": int(users or 0),
                "next_wake": nw,
                "outbox": outbox,
                "deliveries": deliveries,
                "rejected": int(sum(n for k, n in rej.items() if k != "error")),
                "errors": int(rej.get("error", 0)),
                "quarantined": len(self._quarantined),
                "journeys": {jid: self.status(jid) for jid in self.js.ids},
                "versions": {jid: sorted(vs) for jid, vs in self.js.versions.items()},
                "metrics": dict(self.metrics),
            }
        )
        return out


def _raw(item: Any) -> str | None:
    if item is None:
        return None
    if isinstance(item, str):
        return item
    try:
        if isinstance(item, Event | Feedback | ProfileSet):
            from journeylab.runtime._inputs import input_to_json

            item = input_to_json(item)
        return json.dumps(item, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(item)
