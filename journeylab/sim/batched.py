"""The simulator's batched period loop: SimPy as the clock, the batched engine for the users.

For a journey the batched engine can run (:func:`journeylab.engine.batch.unsupported`), the
simulation keeps every user's state in arrays: SimPy jumps from period to period where some
user has something due, and in each period :meth:`BatchEngine.run_until` moves every such user
through their timers, events and simulated responses, a round at a time, with array
operations. The preparation (:class:`~journeylab.sim.prepare.Prepared`) is shared with the per-user loop
(:mod:`journeylab.sim.loop`), and so is the output's form (trace chunks, sends, responses,
profile changes): a result does not say which loop made it — except in its speed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import simpy

from journeylab.engine.batch import NEVER, BatchEngine, EventColumn, Events, Responses
from journeylab.engine.types import TRACE_EVENTS
from journeylab.model.nodes import NODE_KINDS, kind_of
from journeylab.sim.behaviour import BehaviourModel, draw_array
from journeylab.sim.prepare import LoopBase
from journeylab.sim.result import props_text

__all__ = ["BatchedLoop", "responder"]


_DAY, _WEEK = 86400, 7 * 86400


class _Received:
    """Fatigue's memory of one channel: each user's delivered messages of the last 7 days, the
    times in a ring per user (grown when a user gets more in a week than it holds). The same
    counts as the per-user loop's history lists."""

    def __init__(self, n_users: int, slots: int = 8) -> None:
        self.t = np.full((n_users, slots), -NEVER, dtype=np.int64)
        self.pos = np.zeros(n_users, dtype=np.int64)

    def add(self, u: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Record a message for each of ``u`` (distinct users) at ``ts``; returns the counts of
        their messages in the last 24 hours and 7 days, this one included."""
        while True:
            slot = self.pos[u]
            if not (self.t[u, slot] > ts - _WEEK).any():  # the oldest entry has expired: reuse it
                break
            self._grow()
        self.t[u, slot] = ts
        k = self.t.shape[1]
        self.pos[u] = (slot + 1) % k
        rows = self.t[u]
        n_week = (rows > (ts - _WEEK)[:, None]).sum(axis=1)
        n_day = (rows > (ts - _DAY)[:, None]).sum(axis=1)
        return n_day, n_week

    def _grow(self) -> None:
        n, k = self.t.shape
        oldest_first = (self.pos[:, None] + np.arange(k)) % k
        grown = np.full((n, 2 * k), -NEVER, dtype=np.int64)
        grown[:, :k] = np.take_along_axis(self.t, oldest_first, axis=1)
        self.t = grown
        self.pos[:] = k


def responder(behaviour: BehaviourModel, seed: int, node_ids: list[str], kinds: list[str], end: int, n_users: int):
    """The behaviour model's draws for batches of messages, as the batched engine asks for them
    (the same draws, in the same order, as the per-user loop's ``_respond``), with fatigue's
    opt-outs counted from each user's delivered messages on the channel."""
    per_node = [
        behaviour.for_node(k, nid) if NODE_KINDS[k].family == "engagement" else None
        for nid, k in zip(node_ids, kinds, strict=True)
    ]
    received: dict[str, _Received] = {}

    def opt_outs(oo: Any, channel: str, users: np.ndarray, ts: np.ndarray, k: np.ndarray) -> np.ndarray:
        """When each delivered message's ``unsubscribed`` feedback comes (``NEVER``: none)."""
        hist = received.get(channel)
        if hist is None:
            hist = received[channel] = _Received(n_users)
        n_day, n_week = hist.add(users, ts)
        pairs, inverse = np.unique(np.stack([n_day, n_week]), axis=1, return_inverse=True)
        # the scalar probability per distinct count pair: the same doubles as the per-user loop
        p = np.array([oo.probability(int(d), int(w)) for d, w in pairs.T], dtype=np.float64)[inverse.ravel()]
        out = np.full(len(users), NEVER, dtype=np.int64)
        yes = draw_array(seed, k, "opt_out") < p
        out[yes] = ts[yes] + oo.latency.sample_array(draw_array(seed, k[yes], "opt_out_latency"))
        return out

    def respond(keys: np.ndarray, nodes: np.ndarray, ts: np.ndarray, users: np.ndarray) -> Responses:
        n = len(keys)
        viewed = np.full(n, NEVER, dtype=np.int64)
        clicked = np.full(n, NEVER, dtype=np.int64)
        lift = np.full(n, NEVER, dtype=np.int64)
        unsub = None
        for nd in np.unique(nodes):
            b = per_node[int(nd)]
            if b is None or (b.view <= 0.0 and b.opt_out is None):
                continue
            w = np.flatnonzero(nodes == nd)
            k = keys[w]
            dl = draw_array(seed, k, "delivered") < b.delivery
            w, k = w[dl], k[dl]
            if b.opt_out is not None and len(w):
                if unsub is None:
                    unsub = np.full(n, NEVER, dtype=np.int64)
                unsub[w] = opt_outs(b.opt_out, kinds[int(nd)], users[w], ts[w], k)
            if b.view <= 0.0:
                continue
            ok = draw_array(seed, k, "viewed") < b.view
            w, k = w[ok], k[ok]
            tv = ts[w] + b.view_latency.sample_array(draw_array(seed, k, "view_latency"))
            viewed[w] = tv
            if b.click <= 0.0:
                continue
            c = draw_array(seed, k, "clicked") < b.click
            w, k, tv = w[c], k[c], tv[c]
            tc = tv + b.click_latency.sample_array(draw_array(seed, k, "click_latency"))
            clicked[w] = tc
            if b.lift is None:
                continue
            lf = draw_array(seed, k, "lift") < b.lift.probability
            w, k, tc = w[lf], k[lf], tc[lf]
            lift[w] = tc + b.lift.latency.sample_array(draw_array(seed, k, "lift_latency"))
        # a response at or after the end of the simulation never comes (nor what follows it)
        late = viewed >= end
        viewed[late] = NEVER
        clicked[late | (clicked >= end)] = NEVER
        lift[(clicked == NEVER) | (lift >= end)] = NEVER
        if unsub is not None:
            unsub[unsub >= end] = NEVER
        return Responses(viewed, clicked, lift, unsub)

    return respond


class _Ids(Sequence[str]):
    """A part's user ids for the engine, read from their Arrow array one at a time when asked
    (the engine names a user only in the profile changes it records)."""

    def __init__(self, ids: pa.Array) -> None:
        self._ids = ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> list[str]: ...
    def __getitem__(self, i: int | slice) -> str | list[str]:
        if isinstance(i, slice):
            return list(self._ids[i].to_pylist())
        return str(self._ids[i].as_py())


class BatchedLoop(LoopBase):
    """The batched period loop over one part of the users (every user, or ``u % parts == k``)."""

    def materialize(self, part: tuple[int, int] | None) -> None:
        p = self.prep
        users = p.user
        if part is None:
            sel = np.arange(len(users))
            mine = np.arange(p.n_users)
        else:
            k, parts = part
            sel = np.flatnonzero(users % parts == k)
            mine = np.arange(k, p.n_users, parts)
        # the engine's users are this part's users, numbered in user id order
        local = np.full(p.n_users, -1, dtype=np.int64)
        local[mine] = np.arange(len(mine))
        self._mine = mine
        idx = sel  # already by user, then time and input order
        codes, names = p.names_of(idx)
        props = {}
        for c, arr in p.props.items():
            pcodes, pv = pd.factorize(arr[idx], use_na_sentinel=True)
            props[c] = EventColumn(pcodes.astype(np.int64), list(pv))
        self._events = Events(local[users[idx]], p.ts[idx], codes.astype(np.int32), list(names), props)
        self._prof = {c: np.asarray(values, dtype=object)[mine] for c, values in p.prof_cols}

    def run(self, report: Any) -> None:
        ((jid, _eng),) = [(jid, e) for jid, e in self.js.latest.items()]
        d = self.js.latest[jid].definition
        ids = self.prep.user_id_array
        self._ids = ids if len(self._mine) == len(ids) else ids.take(pa.array(self._mine))
        user_ids = _Ids(self._ids)
        lift = {}
        for i, n in enumerate(d.nodes):
            kind = NODE_KINDS[kind_of(n)]
            if kind.family == "engagement":
                b = self.behaviour.for_node(kind.kind, n.id)
                if b.lift is not None:
                    lift[i] = (b.lift.event, dict(b.lift.props))
        eng = BatchEngine(
            d,
            self.js.control(jid),
            seed=self.seed,
            user_ids=user_ids,
            profile=self._prof,
            events=self._events,
            created=self.created,
            lift=lift,
            user_keys=self.prep.user_keys(self._mine),
            policy=self.js.policy,
            responder=responder(
                self.behaviour,
                self.seed,
                [n.id for n in d.nodes],
                [kind_of(n) for n in d.nodes],
                self.end,
                len(self._mine),
            ),
        )
        self._eng = eng
        env = simpy.Environment(initial_time=0)
        env.process(self._periods(env, eng, report))
        env.run()

    def _periods(self, env: simpy.Environment, eng: BatchEngine, report: Any):
        """SimPy's clock: one step per period in which some user has something due."""
        eng.run_until(self.start)  # what happens before the simulated span (history, waits)
        last = (self.end - 1 - self.start) // self.period
        while True:
            t = eng.next_instant()
            if t is None or t >= self.end:
                break
            p = max(0, (t - self.start) // self.period)
            if p > last:
                break
            t0 = self.start + p * self.period
            if t0 - self.start > env.now:
                yield env.timeout(t0 - self.start - env.now)
            eng.run_until(min(t0 + self.period, self.end))
            if report is not None:
                report(p)

    def chunk(self) -> dict[str, Any]:
        """This part's output in the per-user loop's columnar form, built with Arrow: trace codes,
        and sends, responses and profile changes as tables."""
        eng: BatchEngine = self._eng
        mine = self._mine
        jid, ver = eng.d.id, eng.version
        tr = eng.trace_columns()
        n = len(tr["ts"])
        users = self._ids.cast(pa.string())
        nodes = pa.array(eng.node_ids, type=pa.string())
        s = eng.sends()
        su = users.take(pa.array(s["user"]))
        sn = nodes.take(pa.array(s["node"]))
        mids = pc.binary_join_element_wise(
            jid,
            str(ver),
            su,
            pc.cast(pa.array(s["n"]), pa.string()),
            sn,
            pc.cast(pa.array(s["visit"]), pa.string()),
            ":",
        )
        channels = pa.array(eng.channel, type=pa.string()).take(pa.array(s["node"]))
        sends = pa.table(
            {
                "message_id": mids,
                "journey": pa.repeat(pa.scalar(jid, pa.string()), len(su)),
                "version": pa.array(np.full(len(su), ver, dtype=np.int64)),
                "user_id": su,
                "node": sn,
                "channel": channels,
                "ts": pa.array(s["ts"]),
            }
        )
        r = eng.responses()
        lift_names = [eng.lift.get(i, ("", {}))[0] for i in range(len(eng.node_ids))]
        lift_props = [props_text(eng.lift.get(i, ("", {}))[1]) for i in range(len(eng.node_ids))]
        kind_names = pa.array(["unsubscribed", "viewed", "clicked", "event"], type=pa.string())
        rk = r["kind"].astype(np.int64)
        is_event = rk == 3
        rnode = s["node"][r["message"]] if len(r["message"]) else np.zeros(0, dtype=np.int64)
        responses = pa.table(
            {
                "user_id": users.take(pa.array(r["user"])),
                "ts": pa.array(r["ts"]),
                "seq": pa.array(r["number"]),
                "kind": kind_names.take(pa.array(rk)),
                "message_id": pc.if_else(pa.array(is_event), "", mids.take(pa.array(r["message"]))),
                "event": pc.if_else(
                    pa.array(~is_event), "", pa.array(lift_names, type=pa.string()).take(pa.array(rnode))
                ),
                "props": pc.if_else(
                    pa.array(~is_event),
                    pa.scalar(None, pa.string()),
                    pa.array(lift_props, type=pa.string()).take(pa.array(rnode)),
                ),
            }
        )
        chunk: dict[str, Any] = {"n": n, "sends": sends, "responses": responses, "changes": list(eng.changes)}
        if not n:
            return chunk
        everyone = len(mine) == self.prep.n_users  # (then mine[u] == u: no gather)
        chunk["user"] = (tr["user"] if everyone else mine[tr["user"]]).astype(np.int32)
        chunk["ts"] = tr["ts"]
        chunk["version"] = np.full(n, ver, dtype=np.int32)
        chunk["journey"] = (np.zeros(n, dtype=np.uint8), [jid])
        chunk["node"] = (tr["node"], list(eng.node_ids))
        chunk["event"] = (tr["event"], list(TRACE_EVENTS))  # (int8 codes: read through a table)
        chunk["port"] = (tr["port"], list(eng.ports))
        chunk["detail"] = (tr["detail"], list(eng.details) or [""])
        return chunk
