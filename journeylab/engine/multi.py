"""Several journeys (and versions) for one user: the order of work at one instant.

:class:`JourneySet` is still engine core (pure, no I/O): it decides, for one user, in which
order the journeys see timers and inputs, and routes what one journey causes in another
(journey triggers; profile updates are shared through the one profile dict). Every driver
uses it, so the simulator, the runtime and the reference driver order work identically:

1. timers due at the instant, journey by journey, then the journey triggers they caused;
2. the input, journey by journey, then the journey triggers it caused (so a journey entered
   by a trigger does not see the input that caused the pass, SPEC §3).

"Journey by journey" is by priority (the journey setting, highest first), then by journey id,
whatever order the journeys were given in, so results never depend on the listing order and a
higher-priority journey wins the last slot of an account frequency cap; triggers go round by
round (a trigger entry that passes a watched node triggers in the next round).

The account policy (:class:`~journeylab.model.AccountPolicy`: frequency caps, consent, the
users' timezones) is given to every engine; the user's states share one profile and one
message ledger (what the caps count).

A user who is inside a journey stays on the version they entered with; new entries use
the latest version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from journeylab.engine.core import Engine
from journeylab.engine.state import Control, UserState
from journeylab.engine.types import Action, Event, Feedback, Input, Inputs, NodePassed, ProfileSet, Trigger, Wake
from journeylab.errors import EngineInvariantError, JourneyDefinitionError
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import JourneyTrigger
from journeylab.model.policy import AccountPolicy, as_policy

__all__ = ["JourneySet", "PolicyLike"]

#: what :func:`~journeylab.model.policy.as_policy` turns into an AccountPolicy (None: the default)
PolicyLike = AccountPolicy | dict[str, Any] | str | bytes | None

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
        custom_lists: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
        policy: PolicyLike = None,
    ) -> None:
        if not journeys:
            raise JourneyDefinitionError("give at least one journey", "$")
        watched: dict[str, set[str]] = {}
        for d in journeys:
            for n in d.nodes:
                if isinstance(n, JourneyTrigger):
                    watched.setdefault(n.journey, set()).add(n.node)
        self.policy = as_policy(policy)
        self.ids: list[str] = []
        self.versions: dict[str, dict[int, Engine]] = {}
        for d in journeys:
            if d.id not in self.versions:
                self.ids.append(d.id)
                self.versions[d.id] = {}
            if d.version in self.versions[d.id]:
                raise JourneyDefinitionError(f"journey {d.id!r} version {d.version} given twice", "$")
            self.versions[d.id][d.version] = Engine(
                d,
                seed=seed,
                watched=watched.get(d.id, ()),
                custom_lists=(custom_lists or {}).get(d.id),
                policy=self.policy,
                versions=[x for x in journeys if x.id == d.id],
            )
        self.latest: dict[str, Engine] = {jid: vs[max(vs)] for jid, vs in self.versions.items()}
        self.controls: dict[str, Control] = dict(controls or {})
        #: the order in which the journeys see one instant's work: by priority (highest first), then
        #: by id, so that results never depend on the order the journeys were listed in (SPEC §3)
        self.order: list[str] = sorted(self.ids, key=lambda j: (-self.latest[j].settings.priority, j))
        self.triggers: dict[tuple[str, str], list[str]] = {}
        for jid in self.order:
            for key in self.latest[jid].trigger_entries:
                self.triggers.setdefault(key, []).append(jid)
        #: what any of the journeys can act on (see :class:`~journeylab.engine.Inputs`)
        self.inputs = Inputs.union([e.inputs for e in self.all_engines()])
        self.relevant_events: frozenset[str] = self.inputs.events
        self._solo: tuple[str, Engine] | None = None
        if len(self.ids) == 1 and len(self.versions[self.ids[0]]) == 1:
            self._solo = (self.ids[0], self.latest[self.ids[0]])
        self.needs_all_users = any(e.needs_all_users for e in self.all_engines())
        #: page-view events that make sessions, and the longest session gap of the journeys that
        #: count them: a session open at the start may have begun any time before it
        paging = [e for e in self.all_engines() if e.page_events]
        self.session_events: frozenset[str] = frozenset().union(*(e.page_events for e in paging))
        self.session_gap: int = max((e.gap for e in paging), default=0)
        #: events whose effect lasts however long ago they happened (consent changes): every
        #: driver feeds all of them, not only those within the look-back before the start
        self.lasting_events: frozenset[str] = frozenset().union(*(e.consent_events for e in self.all_engines()))
        #: the users any Custom List names (see :attr:`Engine.listed_users`)
        self.listed_users: frozenset[str] = frozenset().union(*(e.listed_users for e in self.all_engines()))

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
        """The engine that owns the user now: their enrollment's version, else the version live
        at the user's clock (the latest, unless the lifecycle publishes versions during the run;
        every user wakes at such a change, see :class:`~journeylab.engine.Control`)."""
        e = st.active
        vs = self.versions[jid]
        if e is not None:
            eng = vs.get(e.version)
            if eng is not None:
                return eng
        ctl = self.controls.get(jid)
        if ctl is not None and ctl.version_changes:
            v = ctl.version_at(st.clock, vs)
            if v is not None and v in vs:
                return vs[v]
        return self.latest[jid]

    # ------------------------------------------------------------------ users
    def new_user(self, user_id: str, profile: dict[str, Any] | None = None, created: int = 0) -> dict[str, UserState]:
        """States of one user in every journey, sharing one profile dict and one message ledger."""
        prof = dict(profile) if profile else {}
        ledger: list[tuple[int, str]] = []
        return {jid: UserState(user_id, prof, created, ledger) for jid in self.ids}

    @staticmethod
    def link(states: dict[str, UserState]) -> dict[str, UserState]:
        """Make a user's states (read back from storage one by one) share one profile and one
        message ledger again: the first state's profile, the longest ledger (every state is
        stored whenever the shared ledger changes, so they are equal)."""
        if not states:
            return states
        first = next(iter(states.values()))
        ledger = max((s.ledger for s in states.values()), key=len)
        for s in states.values():
            s.profile = first.profile
            s.ledger = ledger
        return states

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
        the user's next wake-up. At each instant every journey's timers run first (in the
        canonical journey order), then the journey triggers they caused."""
        if self._solo is not None:
            jid, eng = self._solo
            acts: list[Action] = []
            nw = eng.advance(states[jid], t, self.controls.get(jid) or _DRAFT, acts)
            out += acts
            return nw
        for _ in range(1_000_000):
            w = self.next_wake(states)
            if w is None or w > t:
                for jid in self.ids:
                    st = states[jid]
                    if t > st.clock:
                        st.clock = t
                return w
            passes: list[NodePassed] = []
            for jid in self.order:
                st = states[jid]
                ctl = self.control(jid)
                eng = self.engine_for(jid, st)
                nw = eng.next_wake(st, ctl)
                if nw is not None and nw <= w:
                    acts = []
                    eng.advance(st, w, ctl, acts)
                    self._collect(acts, out, passes)
            self._triggers(states, passes, out)
        raise EngineInvariantError("timers do not make progress")  # pragma: no cover

    def deliver(self, states: dict[str, UserState], inp: Input, out: list[Action]) -> int | None:
        """Timers up to the input's instant, then the input in every journey it concerns (in the
        canonical journey order), then the journey triggers it caused; returns the user's next
        wake-up. A journey entered by a trigger does not see the input that caused the pass
        (SPEC §3): the trigger comes after the input has gone through every journey."""
        if self._solo is not None and type(inp) is Event:
            jid, eng = self._solo
            st = states[jid]
            acts: list[Action] = []
            nw = eng.event(st, inp, self.controls.get(jid) or _DRAFT, acts)
            out += acts
            return nw
        self.advance(states, inp.ts, out)
        passes: list[NodePassed] = []
        if isinstance(inp, Wake):
            pass
        elif isinstance(inp, Feedback):
            for jid in self.order:
                if inp.message_id:
                    if inp.message_id.startswith(jid + ":"):
                        self._step(states, jid, inp, out, passes)
                        break
                elif inp.journey in ("", jid) and any(
                    inp.node in e.engagement_ids for e in self.versions[jid].values()
                ):
                    self._step(states, jid, inp, out, passes)  # by node: the journeys that have it
        elif isinstance(inp, ProfileSet):
            next(iter(states.values())).profile.update(inp.props)
        elif isinstance(inp, Event | Trigger):
            for jid in self.order:
                # the version that owns the user now decides (a version published later in the
                # run may not care for the event: a consent event before it still counts)
                if isinstance(inp, Event) and inp.name not in self.engine_for(jid, states[jid]).relevant_events:
                    continue
                self._step(states, jid, inp, out, passes)
        else:
            raise TypeError(f"not an engine input: {inp!r}")
        self._triggers(states, passes, out)
        return self.next_wake(states)

    def _step(
        self, states: dict[str, UserState], jid: str, inp: Input, out: list[Action], passes: list[NodePassed]
    ) -> None:
        st = states[jid]
        _, acts = self.engine_for(jid, st).step(st, inp, self.control(jid))
        self._collect(acts, out, passes)

    @staticmethod
    def _collect(acts: list[Action], out: list[Action], passes: list[NodePassed]) -> None:
        for a in acts:
            out.append(a)
            if type(a) is NodePassed:
                passes.append(a)

    def _triggers(self, states: dict[str, UserState], passes: list[NodePassed], out: list[Action]) -> None:
        """Journey Trigger entries for the passes of one instant, round by round (a pass that a
        trigger entry causes triggers in the next round), each round in the canonical order."""
        depth = 0
        while passes:
            depth += 1
            if depth > _MAX_CHAIN:
                raise JourneyDefinitionError("journey triggers form an endless chain at one instant", "$")
            caused: list[NodePassed] = []
            for p in passes:
                for target in self.triggers.get((p.journey, p.node), ()):
                    self._step(states, target, Trigger(p.user_id, p.ts, p.journey, p.node, p.port), out, caused)
            passes = caused


_DRAFT = Control(())
