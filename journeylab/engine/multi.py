"""Several journeys (and versions) for one user: the order of work at one instant.

:class:`JourneySet` is still engine core (pure, no I/O): it decides, for one user, in which
order the journeys see timers and inputs, and routes what one journey causes in another
(journey triggers; profile updates are shared through the one profile dict). Every driver
uses it, so the simulator, the runtime and the reference driver order work identically:

1. timers due at the instant, journey by journey (in the set's order), then
2. the input, journey by journey,
3. each consequence (a journey trigger) right after the action that caused it.

A user who is inside a journey stays on the version they entered with; new entries use
the latest version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from journeylab.engine.core import Engine
from journeylab.engine.state import Control, UserState
from journeylab.engine.types import Action, Event, Feedback, Input, Inputs, NodePassed, ProfileSet, Trigger, Wake
from journeylab.errors import EngineInvariantError, JourneyDefinitionError
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import JourneyTrigger

__all__ = ["JourneySet"]

_MAX_CHAIN = 1000


class JourneySet:
    """The engines of several journeys that run together over the same users.

    >>> from journeylab.examples import journey_trigger_pair
    >>> j1, j2 = journey_trigger_pair()
    >>> js = JourneySet([j1.definition, j2.definition])
    >>> js.ids == [j1.id, j2.id]
    True
    """

    def __init__(
        self,
        journeys: Sequence[JourneyDef],
        *,
        seed: int = 0,
        controls: dict[str, Control] | None = None,
        custom_lists: dict[str, dict[str, Iterable[str]]] | None = None,
    ) -> None:
        if not journeys:
            raise JourneyDefinitionError("give at least one journey", "$")
        watched: dict[str, set[str]] = {}
        for d in journeys:
            for n in d.nodes:
                if isinstance(n, JourneyTrigger):
                    watched.setdefault(n.journey, set()).add(n.node)
        self.ids: list[str] = []
        self.versions: dict[str, dict[int, Engine]] = {}
        for d in journeys:
            if d.id not in self.versions:
                self.ids.append(d.id)
                self.versions[d.id] = {}
            if d.version in self.versions[d.id]:
                raise JourneyDefinitionError(f"journey {d.id!r} version {d.version} given twice", "$")
            self.versions[d.id][d.version] = Engine(
                d, seed=seed, watched=watched.get(d.id, ()), custom_lists=(custom_lists or {}).get(d.id)
            )
        self.latest: dict[str, Engine] = {jid: vs[max(vs)] for jid, vs in self.versions.items()}
        self.controls: dict[str, Control] = dict(controls or {})
        self.triggers: dict[tuple[str, str], list[str]] = {}
        for jid, eng in self.latest.items():
            for key in eng.trigger_entries:
                self.triggers.setdefault(key, []).append(jid)
        #: what any of the journeys can act on (see :class:`~journeylab.engine.Inputs`)
        self.inputs = Inputs.union([e.inputs for e in self.all_engines()])
        self.relevant_events: frozenset[str] = self.inputs.events
        self._solo: tuple[str, Engine] | None = None
        if len(self.ids) == 1 and len(self.versions[self.ids[0]]) == 1:
            self._solo = (self.ids[0], self.latest[self.ids[0]])
        self.needs_all_users = any(e.needs_all_users for e in self.all_engines())

    @property
    def solo(self) -> tuple[str, Engine] | None:
        """``(journey id, engine)`` when the set is one journey version that triggers nothing:
        then a driver may call the engine directly (nothing needs routing)."""
        if self._solo is not None and not self._solo[1].watched:
            return self._solo
        return None

    def all_engines(self) -> list[Engine]:
        return [e for vs in self.versions.values() for e in vs.values()]

    def control(self, jid: str) -> Control:
        return self.controls.get(jid) or _DRAFT

    def set_control(self, jid: str, control: Control) -> None:
        self.controls[jid] = control

    def engine_for(self, jid: str, st: UserState) -> Engine:
        """The engine that owns the user now: their enrollment's version, else the latest."""
        e = st.active
        if e is not None:
            eng = self.versions[jid].get(e.version)
            if eng is not None:
                return eng
        return self.latest[jid]

    # ------------------------------------------------------------------ users
    def new_user(self, user_id: str, profile: dict[str, Any] | None = None, created: int = 0) -> dict[str, UserState]:
        """States of one user in every journey, sharing one profile dict."""
        prof = dict(profile) if profile else {}
        return {jid: UserState(user_id, prof, created) for jid in self.ids}

    def next_wake(self, states: dict[str, UserState]) -> int | None:
        if self._solo is not None:
            jid, eng = self._solo
            return eng.next_wake(states[jid], self.controls.get(jid) or _DRAFT)
        best: int | None = None
        for jid in self.ids:
            st = states[jid]
            w = self.engine_for(jid, st).next_wake(st, self.control(jid))
            if w is not None and (best is None or w < best):
                best = w
        return best

    def is_done(self, states: dict[str, UserState]) -> bool:
        return all(self.engine_for(j, states[j]).is_done(states[j], self.control(j)) for j in self.ids)

    # ------------------------------------------------------------------ work
    def advance(self, states: dict[str, UserState], t: int, out: list[Action]) -> int | None:
        """Run every timer of the user due at or before ``t``, instant by instant; returns
        the user's next wake-up."""
        if self._solo is not None:
            jid, eng = self._solo
            acts: list[Action] = []
            nw = eng.advance(states[jid], t, self.controls.get(jid) or _DRAFT, acts)
            if acts:
                self._route(states, acts, out, 0)
            return nw
        for _ in range(1_000_000):
            w = self.next_wake(states)
            if w is None or w > t:
                for jid in self.ids:
                    st = states[jid]
                    if t > st.clock:
                        st.clock = t
                return w
            for jid in self.ids:
                st = states[jid]
                ctl = self.control(jid)
                eng = self.engine_for(jid, st)
                nw = eng.next_wake(st, ctl)
                if nw is not None and nw <= w:
                    acts = []
                    eng.advance(st, w, ctl, acts)
                    self._route(states, acts, out, 0)
        raise EngineInvariantError("timers do not make progress")  # pragma: no cover

    def deliver(self, states: dict[str, UserState], inp: Input, out: list[Action]) -> int | None:
        """Timers up to the input's instant, then the input, in every journey it concerns;
        returns the user's next wake-up."""
        if self._solo is not None and type(inp) is Event:
            jid, eng = self._solo
            st = states[jid]
            acts: list[Action] = []
            nw = eng.event(st, inp, self.controls.get(jid) or _DRAFT, acts)
            if acts:
                self._route(states, acts, out, 0)
                if eng.watched:
                    return self.next_wake(states)
            return nw
        self.advance(states, inp.ts, out)
        if isinstance(inp, Wake):
            pass
        elif isinstance(inp, Feedback):
            for jid in self.ids:
                if inp.message_id:
                    if inp.message_id.startswith(jid + ":"):
                        self._step(states, jid, inp, out, 0)
                        break
                elif inp.journey in ("", jid) and any(inp.node in e.engagement_ids for e in self.versions[jid].values()):
                    self._step(states, jid, inp, out, 0)  # by node: the journeys that have it
        elif isinstance(inp, ProfileSet):
            next(iter(states.values())).profile.update(inp.props)
        elif isinstance(inp, Event | Trigger):
            for jid in self.ids:
                if isinstance(inp, Event) and inp.name not in self.latest[jid].relevant_events:
                    st = states[jid]
                    if st.active is None or inp.name not in self.engine_for(jid, st).relevant_events:
                        continue
                self._step(states, jid, inp, out, 0)
        else:
            raise TypeError(f"not an engine input: {inp!r}")
        return self.next_wake(states)

    def _step(self, states: dict[str, UserState], jid: str, inp: Input, out: list[Action], depth: int) -> None:
        st = states[jid]
        _, acts = self.engine_for(jid, st).step(st, inp, self.control(jid))
        self._route(states, acts, out, depth)

    def _route(self, states: dict[str, UserState], acts: list[Action], out: list[Action], depth: int) -> None:
        if depth > _MAX_CHAIN:
            raise JourneyDefinitionError("journey triggers form an endless chain at one instant", "$")
        for a in acts:
            out.append(a)
            if isinstance(a, NodePassed):
                for target in self.triggers.get((a.journey, a.node), ()):
                    self._step(states, target, Trigger(a.user_id, a.ts, a.journey, a.node, a.port), out, depth + 1)


_DRAFT = Control(())
