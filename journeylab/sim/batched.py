"""The simulator's batched period loop: SimPy as the clock, the batched engine for the users.

For a journey the batched engine can run (:func:`journeylab.engine.batch.unsupported`), the
simulation keeps every user's state in arrays: SimPy jumps from period to period where some
user has something due, and in each period :meth:`BatchEngine.run_until` moves every such user
through their timers, events and simulated responses, a round at a time, with array
operations. The preparation (filtering, ordering, profiles) is the per-user loop's; the output
(trace chunks, sends, responses, profile changes) has the same form, so a result does not say
which loop made it — except in its speed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import simpy

from journeylab.engine.batch import NEVER, BatchEngine, EventColumn, Events, Responses
from journeylab.model.nodes import NODE_KINDS
from journeylab.sim.behaviour import BehaviourModel, draw_array
from journeylab.sim.simulator import _Run

__all__ = ["BatchedRun", "responder"]


def responder(behaviour: BehaviourModel, seed: int, node_ids: list[str], kinds: list[str], end: int):
    """The behaviour model's draws for batches of messages, as the batched engine asks for them
    (the same draws, in the same order, as the per-user loop's ``_respond``)."""
    per_node = [behaviour.for_node(k, nid) if NODE_KINDS[k].family == "engagement" else None
                for nid, k in zip(node_ids, kinds, strict=True)]

    def respond(keys: np.ndarray, nodes: np.ndarray, ts: np.ndarray) -> Responses:
        n = len(keys)
        viewed = np.full(n, NEVER, dtype=np.int64)
        clicked = np.full(n, NEVER, dtype=np.int64)
        lift = np.full(n, NEVER, dtype=np.int64)
        for nd in np.unique(nodes):
            b = per_node[int(nd)]
            if b is None or b.view <= 0.0:
                continue
            w = np.flatnonzero(nodes == nd)
            k = keys[w]
            ok = (draw_array(seed, k, "delivered") < b.delivery) & (draw_array(seed, k, "viewed") < b.view)
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
        return Responses(viewed, clicked, lift)

    return respond


class BatchedRun(_Run):
    """A :class:`~journeylab.sim.simulator._Run` whose period loop is the batched engine's."""

    def _materialize(self, part: tuple[int, int] | None) -> None:
        users = self._user
        if part is None:
            sel = np.arange(len(users))
            mine = np.arange(len(self.user_ids))
        else:
            k, parts = part
            sel = np.flatnonzero(users % parts == k)
            mine = np.arange(k, len(self.user_ids), parts)
        # the engine's users are this part's users, numbered in user id order
        local = np.full(len(self.user_ids), -1, dtype=np.int64)
        local[mine] = np.arange(len(mine))
        self._mine = mine
        order = np.argsort(users[sel], kind="stable")  # by user, then (already) time and input order
        idx = sel[order]
        codes, names = pd.factorize(self._names[idx])
        props = {}
        for c, arr in self._props.items():
            pc, pv = pd.factorize(arr[idx], use_na_sentinel=True)
            props[c] = EventColumn(pc.astype(np.int64), list(pv))
        self._events = Events(local[users[idx]], self._ts[idx], codes.astype(np.int32), list(names), props)
        prof = {}
        for c, values in self.prof_cols:
            col = np.empty(len(mine), dtype=object)
            col[:] = [values[u] for u in mine.tolist()]
            prof[c] = col
        self._prof = prof

    def _loop(self, report: Any) -> None:
        (jid, _eng), = [(jid, e) for jid, e in self.js.latest.items()]
        d = self.js.latest[jid].definition
        user_ids = [self.user_ids[u] for u in self._mine.tolist()]
        lift = {}
        for i, n in enumerate(d.nodes):
            kind = NODE_KINDS[type(n).__struct_config__.tag]
            if kind.family == "engagement":
                b = self.behaviour.for_node(kind.kind, n.id)
                if b.lift is not None:
                    lift[i] = (b.lift.event, dict(b.lift.props))
        eng = BatchEngine(
            d, self.js.control(jid), seed=self.seed, user_ids=user_ids, profile=self._prof, events=self._events,
            created=self.created, lift=lift,
            responder=responder(self.behaviour, self.seed, [n.id for n in d.nodes],
                                [type(n).__struct_config__.tag for n in d.nodes], self.end),
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

    def _chunk(self) -> dict[str, Any]:
        eng: BatchEngine = self._eng
        mine = self._mine
        jid, ver = eng.d.id, eng.version
        tr = eng.trace_columns()
        n = len(tr["ts"])
        # sends, responses and profile changes, in the per-user loop's tuple forms
        s = eng.sends()
        uid = eng.user_ids
        mids = [f"{jid}:{ver}:{uid[u]}:{k}:{eng.node_ids[nd]}:{v}"
                for u, k, nd, v in zip(s["user"].tolist(), s["n"].tolist(), s["node"].tolist(), s["visit"].tolist(),
                                       strict=True)]
        sends = [(mids[i], jid, ver, uid[u], eng.node_ids[nd], eng.channel[nd], t)
                 for i, (u, nd, t) in enumerate(zip(s["user"].tolist(), s["node"].tolist(), s["ts"].tolist(), strict=True))]
        r = eng.responses()
        kinds = {1: "viewed", 2: "clicked", 3: "event"}
        lifts = eng.lift
        responses = []
        for u, t, num, k, m in zip(r["user"].tolist(), r["ts"].tolist(), r["number"].tolist(), r["kind"].tolist(),
                                   r["message"].tolist(), strict=True):
            if k == 3:
                name, props = lifts[int(s["node"][m])]
                responses.append((uid[u], t, num, "event", "", name, dict(props) or None))
            else:
                responses.append((uid[u], t, num, kinds[k], mids[m], "", None))
        chunk: dict[str, Any] = {"n": n, "sends": sends, "responses": responses, "changes": list(eng.changes)}
        if not n:
            return chunk
        chunk["user"] = mine[tr["user"]].astype(np.int32)
        chunk["ts"] = tr["ts"]
        chunk["version"] = np.full(n, ver, dtype=np.int32)
        chunk["journey"] = (np.zeros(n, dtype=np.uint8), [jid])
        chunk["node"] = (tr["node"], list(eng.node_ids))
        from journeylab.engine.types import TRACE_EVENTS

        chunk["event"] = (tr["event"].astype(np.int64), list(TRACE_EVENTS))
        chunk["port"] = (tr["port"], list(eng.ports))
        chunk["detail"] = (tr["detail"], list(eng.details) or [""])
        return chunk
