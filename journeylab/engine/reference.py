"""The reference driver: time-ordered inputs through the engine core, no SimPy.

It is the simplest correct driver — a heap of user wake-ups and a list of inputs — and
the yardstick the simulator and the production runtime are compared with.

>>> import datetime as dt
>>> from journeylab.examples import purchase_promo
>>> from journeylab.engine import Event, Control, ReferenceDriver
>>> j = purchase_promo().definition
>>> drv = ReferenceDriver([j], controls={j.id: Control.running_from(0)},
...                       profiles={"ana": {"push_token": "tok"}})
>>> drv.feed([Event("ana", 3600, "Charged")])
>>> drv.run_until(3600 + 20 * 60)
>>> [(r.ts - 3600, r.node, r.event) for r in drv.trace if r.event in ("sent", "exited")]
[(1200, 'promo', 'sent'), (1200, 'promo', 'exited')]
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from journeylab.engine.multi import JourneySet, PolicyLike
from journeylab.engine.state import Control, UserState
from journeylab.engine.types import Action, Input, ProfileChanged, Send, TraceRecord
from journeylab.model.journey import JourneyDef
from journeylab.validate import check_journeys

__all__ = ["ReferenceDriver", "canonical"]


def canonical(trace: Iterable[TraceRecord]) -> list[TraceRecord]:
    """The canonical order of a trace: by instant, then user id, keeping each user's order."""
    return sorted(trace, key=lambda r: (r.ts, r.user_id))


class ReferenceDriver:
    """Feed inputs in time order; timers fire from a heap of per-user wake-ups."""

    def __init__(
        self,
        journeys: Sequence[JourneyDef],
        *,
        controls: dict[str, Control] | None = None,
        profiles: dict[str, dict[str, Any]] | None = None,
        created: int = 0,
        seed: int = 0,
        custom_lists: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        validate: bool = True,
        policy: PolicyLike = None,
    ) -> None:
        if validate:  # errors stop here with the report; warnings are shown once
            check_journeys(list(journeys), stacklevel=3)
        self.set = JourneySet(journeys, seed=seed, controls=controls, custom_lists=custom_lists, policy=policy)
        self.profiles = dict(profiles or {})
        self.created = created
        self.users: dict[str, dict[str, UserState]] = {}
        self.trace: list[TraceRecord] = []
        self.sends: list[Send] = []
        self.profile_changes: list[ProfileChanged] = []
        self.actions: list[Action] = []
        self._heap: list[tuple[int, str]] = []
        self.now = created
        if self.set.needs_all_users:
            for uid in sorted(self.set.listed_users.union(self.profiles)):  # listed users enter, profile or not
                self._user(uid)

    def _user(self, uid: str) -> dict[str, UserState]:
        states = self.users.get(uid)
        if states is None:
            states = self.set.new_user(uid, self.profiles.get(uid), self.created)
            self.users[uid] = states
            self._schedule(uid)
        return states

    def _schedule(self, uid: str) -> None:
        w = self.set.next_wake(self.users[uid])
        if w is not None:
            heapq.heappush(self._heap, (w, uid))

    def _collect(self, acts: list[Action]) -> None:
        for a in acts:
            self.actions.append(a)
            if isinstance(a, TraceRecord):
                self.trace.append(a)
            elif isinstance(a, Send):
                self.sends.append(a)
            elif isinstance(a, ProfileChanged):
                self.profile_changes.append(a)

    def run_until(self, t: int) -> None:
        """Fire every timer due at or before ``t`` (instant by instant, users by id)."""
        while self._heap and self._heap[0][0] <= t:
            w, uid = heapq.heappop(self._heap)
            states = self.users[uid]
            if self.set.next_wake(states) != w:
                continue  # stale entry: the user's plans changed
            acts: list[Action] = []
            self.set.advance(states, w, acts)
            self._collect(acts)
            self._schedule(uid)
            self.now = max(self.now, w)
        self.now = max(self.now, t)

    def feed(self, inputs: Iterable[Input]) -> None:
        """Process inputs in the given (time) order; timers at an input's instant go first."""
        for inp in inputs:
            self.run_until(inp.ts)
            states = self._user(inp.user_id)
            acts: list[Action] = []
            self.set.deliver(states, inp, acts)
            self._collect(acts)
            self._schedule(inp.user_id)

    def control(self, jid: str, t: int, status: str) -> None:
        """Change a journey's lifecycle at ``t`` (pause, resume, stop) and wake its users."""
        self.run_until(t - 1)
        self.set.set_control(jid, self.set.control(jid).with_status(t, status))
        for uid in sorted(self.users):
            self._schedule(uid)

    def canonical_trace(self) -> list[TraceRecord]:
        return canonical(self.trace)
