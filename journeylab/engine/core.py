"""The engine core: every journey rule, as one sans-I/O state machine.

A driver (the SimPy simulator, the production runtime, the reference driver in tests)
owns the clock, the storage and the user states. For each user it calls

* :meth:`Engine.step` with an input (an event, profile change, delivery feedback, journey
  trigger or clock wake-up) and gets back a list of actions (trace records, sends, profile
  changes, node passes), and
* :meth:`Engine.next_wake` to learn when the user next needs a wake-up.

The engine reads no clock, draws no global randomness and does no I/O. The journey's
lifecycle over time (running, paused, stopped) comes in as a :class:`Control`.

Where does a user leave a segment by timeout? :meth:`Engine._on_timers` marks the
qualifying window's end and then moves the user at the next hourly evaluation.

Order at one instant (SPEC §1): everything due by time first (stop, daily goals, journey
timeout, window ends, node timers, evaluations), then the input, then what it causes.
Inputs must come in time order per user; a late input is processed at the user's clock
(its own time is kept in the history), and an event whose ``event_id`` was already seen
is ignored — see docs/engine.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from journeylab.engine.clock import LocalClock, clock_for, user_clock
from journeylab.engine.draws import split_draw, stable_hash, user_key
from journeylab.engine.state import Control, Enrollment, UserState
from journeylab.engine.types import (
    Action,
    Event,
    Feedback,
    Input,
    Inputs,
    NodePassed,
    ProfileChanged,
    ProfileSet,
    Send,
    TraceRecord,
    Trigger,
    Wake,
)
from journeylab.errors import EngineInvariantError
from journeylab.model.conditions import EventCount, EventMatch, PropertyFilter, match_text
from journeylab.model.journey import JourneyDef
from journeylab.model.lifecycle import migration_plan
from journeylab.model.nodes import (
    FREQUENCY_CHANNELS,
    NODE_KINDS,
    CustomList,
    DateTime,
    Delay,
    Engagement,
    ForceExit,
    Inaction,
    JourneyTrigger,
    PageCount,
    PageVisit,
    PastBehavior,
    ProfileMatch,
    ProfileUpdate,
    Reads,
    Referrer,
    Split,
    kind_of,
    merge_reads,
)
from journeylab.model.nodes import (
    Action as ActionSeg,
)
from journeylab.model.policy import AccountPolicy, ConsentEvent, as_policy, flag_true
from journeylab.model.settings import ActionGoal, PastBehaviorGoal
from journeylab.model.templates import render_content, template_reads

__all__ = ["Engine", "Control", "UserState", "TIMER_RULES"]

_MAX_MOVES = 10_000
# records are built with tuple.__new__: a NamedTuple's own constructor is a Python-level
# function, three times slower on the engine's hottest path
_new = tuple.__new__
_NEVER = 1 << 62
_SEEN_IDS = 64
_LEDGER_SPAN = 8 * 86400  # the ledger keeps a week and a day: the longest cap period (a local ISO week)

#: Every timer of the engine, in the order they go at one instant (SPEC §1: what falls due by
#: time first, in this order). ``next_wake`` and firing both come from this one list
#: (:meth:`Engine._next_timer` and the ``_fire_<rule>`` methods).
TIMER_RULES: tuple[str, ...] = (
    # a user inside the journey
    "stopped",  # the journey was stopped: everyone inside exits
    "version_change",  # a new version is published: migrate (or not) who is inside; others enter it from now
    "goal_evaluation",  # the daily evaluation of past-behaviour goals
    "journey_timeout",  # entry + journey timeout
    "window_end",  # a qualifying or phantom window ends: marked timed out (or waiting)
    "node_timeout",  # the hourly evaluation after the window end moves by `timeout`
    "node_due",  # the node's own instant: inaction end, date-time, daily past-behaviour, delay end, send time
    "inaction_wait_inside",  # an inaction entry's wait matures while the user is inside: nothing
    # a user outside the journey
    "inaction_entry",  # an inaction entry's wait matures: entry
    "date_entry",  # a date-time entry's instant
    "scheduled_run",  # a scheduled run (past behaviour, custom list)
)
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
    _DATE_ENTRY,
    _SCHEDULED_RUN,
) = range(len(TIMER_RULES))


def _next_change(control: Control, mark: int) -> int | None:
    """The first version change after ``mark`` (the user has been through those up to it)."""
    for at, _, _ in control.version_changes:
        if at > mark:
            return at
    return None


def _secs(d: dt.timedelta | None) -> int | None:
    return None if d is None else int(d.total_seconds())


def as_epoch(value: Any) -> int | None:
    """Epoch seconds of a datetime-like profile value (datetime, ISO string, number)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() // 1)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value != value:  # NaN
            return None
        return int(value)
    if isinstance(value, str):
        try:
            return as_epoch(dt.datetime.fromisoformat(value))
        except ValueError:
            return None
    ts = getattr(value, "timestamp", None)  # e.g. numpy/pandas scalars
    if callable(ts):
        try:
            return int(ts() // 1)
        except (TypeError, ValueError):
            return None
    return None


class Engine:
    """The rules of one journey version.

    >>> from journeylab.model import Journey, Action, Delay, Push
    >>> from journeylab.engine import Engine, Event, UserState, Control
    >>> j = Journey("Promo", id="promo")
    >>> _ = j.add(Action(id="buy", event="Charged"))
    >>> _ = j.then("buy", "yes", Delay(id="wait", duration=dt.timedelta(minutes=20)))
    >>> _ = j.then("wait", "next", Push(id="push", content={"title": "20% off"}))
    >>> eng, ctl = Engine(j.definition), Control.running_from(0)
    >>> st = UserState("u1", {"push_token": "t"})
    >>> _, acts = eng.step(st, Event("u1", 1000, "Charged"), ctl)
    >>> eng.next_wake(st, ctl)
    2200
    >>> _, acts = eng.step(st, eng.wake_input(st, ctl), ctl)
    >>> [(a.node, a.event, a.port, a.detail) for a in acts if isinstance(a, TraceRecord)]
    [('wait', 'left', 'next', ''), ('push', 'entered', '', ''), ('push', 'sent', '', 'push'), ('push', 'left', 'next', ''), ('push', 'exited', '', 'completed')]
    """

    def __init__(
        self,
        journey: JourneyDef,
        *,
        seed: int = 0,
        watched: Iterable[str] = (),
        custom_lists: Mapping[str, Iterable[str]] | None = None,
        policy: AccountPolicy | None = None,
        versions: Iterable[JourneyDef] = (),
    ) -> None:
        self.definition = journey
        self.id = journey.id
        self.version = journey.version
        #: for each later version run alongside (``versions``): whether users at each node can
        #: move to it (:func:`journeylab.model.lifecycle.migration_plan`), read by :meth:`migrate`
        versions = [v for v in versions if v.id == journey.id]
        self.migration_plans: dict[int, dict[str, str | None]] = {
            v.version: migration_plan(journey, v) for v in versions if v.version > journey.version
        }
        #: the kind of each node of every version run alongside: the feedback on a message an
        #: earlier version sent may reach this version's engine (the user's journey moved on)
        self.version_kinds: dict[tuple[int, str], str] = {
            (v.version, n.id): kind_of(n) for v in (*versions, journey) for n in v.nodes
        }
        self.seed = seed
        s = journey.settings
        self.settings = s
        self.clock = clock_for(s.timezone, s.hourly_offset_minutes) or LocalClock(s.timezone, s.hourly_offset_minutes)
        self._policy(as_policy(policy), journey)
        self.nodes: dict[str, Any] = {n.id: n for n in journey.nodes}
        self.kinds: dict[str, str] = {n.id: kind_of(n) for n in journey.nodes}
        self.conn: dict[tuple[str, str], str] = {(c.source, c.port): c.target for c in journey.connectors}
        self.timeout = _secs(s.journey_timeout)
        self.start = int(s.start.timestamp()) if s.start else None
        self.end = int(s.end.timestamp()) if s.end else None
        self.gap = _secs(s.session_gap) or 1800
        self.watched = frozenset(watched)
        self.engagement_ids = frozenset(n.id for n in journey.nodes if isinstance(n, Engagement))
        self.phantom = frozenset(
            n.id
            for n in journey.nodes
            if isinstance(n, Engagement) and ((n.id, "viewed") in self.conn or (n.id, "clicked") in self.conn)
        )
        lists = custom_lists or {}
        self.custom_lists = {
            n.id: frozenset(lists.get(n.id, n.users)) for n in journey.nodes if isinstance(n, CustomList)
        }
        #: every user a Custom List names: they enter at its run whether or not a driver has
        #: seen a profile or an event of theirs, so every driver registers them up front
        self.listed_users: frozenset[str] = frozenset().union(*self.custom_lists.values())

        # entry criteria
        entries = journey.entry_nodes()
        self.entry_ids = frozenset(n.id for n in entries)
        self.entry_by_event: dict[str, list[Any]] = {}
        self.inaction_entries: list[Inaction] = []
        self.date_entries: list[DateTime] = []
        self.scheduled_entries: list[Any] = []
        self.trigger_entries: dict[tuple[str, str], list[JourneyTrigger]] = {}
        for n in entries:
            if isinstance(n, ActionSeg | PageVisit | Referrer | PageCount):
                self.entry_by_event.setdefault(n.event, []).append(n)
            elif isinstance(n, Inaction):
                if n.event:
                    self.inaction_entries.append(n)
            elif isinstance(n, DateTime):
                self.date_entries.append(n)
            elif isinstance(n, PastBehavior | CustomList):
                self.scheduled_entries.append(n)
            elif isinstance(n, JourneyTrigger):
                self.trigger_entries.setdefault((n.journey, n.node), []).append(n)
        self.inaction_by_event: dict[str, list[Inaction]] = {}
        self.absent_by_event: dict[str, list[Inaction]] = {}
        for n in self.inaction_entries:
            assert n.event is not None
            self.inaction_by_event.setdefault(n.event, []).append(n)
            self.absent_by_event.setdefault(n.absent, []).append(n)

        # goals
        self.action_goals: dict[str, list[ActionGoal]] = {}
        self.pb_goals: list[PastBehaviorGoal] = []
        for g in journey.goals:
            if isinstance(g, ActionGoal):
                self.action_goals.setdefault(g.event, []).append(g)
            else:
                self.pb_goals.append(g)

        # events the nodes listen to while a user waits there
        self.page_events: frozenset[str] = frozenset(
            n.event for n in journey.nodes if isinstance(n, PageVisit | Referrer | PageCount)
        )
        lookback: dict[str, int] = {}
        pb_sources: list[Any] = [n for n in journey.nodes if isinstance(n, PastBehavior)] + self.pb_goals
        for src in pb_sources:
            for c in [*src.did, *src.did_not]:
                lookback[c.event] = max(lookback.get(c.event, 0), src.days * 86400)
        self.lookback = lookback
        #: event properties the messages' templates read (``{{ event.item }}``): an entry keeps them
        self.template_event_props: frozenset[str] = frozenset().union(
            *(template_reads(v)[1] for n in journey.nodes if isinstance(n, Engagement) for v in n.content.values())
        )
        entry_events = sorted(self.entry_by_event.keys() | self.inaction_by_event.keys())
        reads = merge_reads(
            [
                *(NODE_KINDS[self.kinds[n.id]].reads(n) for n in journey.nodes),
                *(g.reads() for g in journey.goals),
                self._policy_reads(),
                Reads(
                    event_props=tuple((ev, self.template_event_props) for ev in entry_events)
                    if self.template_event_props
                    else ()
                ),
            ]
        )
        lead = max((sec for _, sec in reads.lookback), default=0)
        #: what the journey can act on: drivers keep these inputs and may drop everything else
        self.inputs = Inputs(
            reads.events, dict(reads.event_props), reads.profile, max(lead, self.gap) if reads.sessions else lead
        )
        self.relevant_events: frozenset[str] = self.inputs.events
        #: whether every user of the cohort must be evaluated (not only those with events)
        self.needs_all_users = bool(self.scheduled_entries or self.date_entries)
        self._arrivals = {kind: getattr(self, f"_arr_{info.timing}") for kind, info in NODE_KINDS.items()}
        self._fire = tuple(getattr(self, f"_fire_{rule}") for rule in TIMER_RULES)
        # per node: its arrival rule, and its durations in seconds (read on every arrival)
        self._arrive_at = {n.id: (self._arrivals[self.kinds[n.id]], n) for n in journey.nodes}
        self._secs: dict[tuple[str, str], int] = {
            (n.id, f): int(getattr(n, f).total_seconds())
            for n in journey.nodes
            for f in ("window", "within", "duration")
            if isinstance(getattr(n, f, None), dt.timedelta)
        }
        self._hash = stable_hash(self.id)
        self._node_hash = {n.id: stable_hash(n.id) for n in journey.nodes}
        self._content_cache: dict[str, bool] = {
            n.id: any("{" in v for v in n.content.values()) for n in journey.nodes if isinstance(n, Engagement)
        }
        # experiments (issue 17): control branches hold their users; conversions after exit
        #: (split node, branch) pairs that are control (hold-out) branches
        self.control_branches = frozenset(
            (n.id, b.name) for n in journey.nodes if isinstance(n, Split) for b in n.branches if b.control
        )
        #: seconds after a non-goal exit in which an action goal's event still converts (None: off)
        self.attribution = _secs(s.attribution_window)

    def _policy(self, policy: AccountPolicy, journey: JourneyDef) -> None:
        """What the account policy means for this journey: consent for its channels, the caps
        that concern them, the users' clocks (see :mod:`journeylab.model.policy`)."""
        self.policy = policy
        channels = {kind_of(n) for n in journey.nodes if isinstance(n, Engagement)}
        c = policy.consent
        #: consent rules that refuse sends, when the journey sends on a channel that needs consent
        self.consent = c if c is not None and channels & c.channels() else None
        self.channels = frozenset(channels)
        #: the consent events (``Unsubscribed``...) change the shared profile in every journey
        #: while the account has consent on, whatever the journey sends: what a user's consent
        #: is cannot depend on which journeys run beside it or which version owns the user
        self.consent_events: dict[str, list[ConsentEvent]] = {}
        if c is not None:
            for ev in c.events:
                self.consent_events.setdefault(ev.event, []).append(ev)
        self.caps = [cap for cap in policy.caps if cap.channel is None or cap.channel in channels]
        self.tz_prop = policy.timezone_property
        self.local_time = journey.settings.local_time
        self.cap_clock = clock_for(policy.timezone) or LocalClock("UTC")

    def _policy_reads(self) -> Any:
        """The inputs the account policy makes the journey read."""
        from journeylab.model.nodes import Reads

        profile: set[str] = set()
        if self.consent is not None:
            for ch in self.channels:
                profile |= self.consent.properties(ch)
        if self.local_time or self.caps:
            profile.add(self.tz_prop)
        props = tuple(
            (name, frozenset({e.channel_property for e in evs if e.channel is None}))
            for name, evs in self.consent_events.items()
        )
        return Reads(frozenset(self.consent_events), tuple(p for p in props if p[1]), frozenset(profile))

    def local_clock(self, st: UserState) -> LocalClock:
        """The clock of the local-time rules (fixed send times, DND, delivery windows, delays
        until a time of day): the user's own timezone when the journey sends in local time,
        else the account's."""
        return user_clock(st.profile, self.tz_prop, self.clock) if self.local_time else self.clock

    # ================================================================== public API
    def new_user(self, user_id: str, profile: dict[str, Any] | None = None, created: int = 0) -> UserState:
        """A fresh state for a user first seen at ``created``."""
        return UserState(user_id, profile, created)

    def step(self, st: UserState, inp: Input, control: Control) -> tuple[UserState, list[Action]]:
        """Apply one input to a user's state; returns the (updated) state and the actions.

        Timers due at or before the input's instant run first. The state object is updated
        in place (like h11's connection), so a driver may keep its reference.
        """
        out: list[Action] = []
        if isinstance(inp, Event):
            self._on_event(st, inp, control, out)
        elif isinstance(inp, Wake):
            self.advance(st, inp.ts, control, out)
        elif isinstance(inp, Feedback):
            self._on_feedback(st, inp, control, out)
        elif isinstance(inp, ProfileSet):
            self.advance(st, inp.ts, control, out)
            st.profile.update(inp.props)
        elif isinstance(inp, Trigger):
            self._on_trigger(st, inp, control, out)
        else:
            raise TypeError(f"not an engine input: {inp!r}")
        return st, out

    def wake_input(self, st: UserState, control: Control) -> Wake:
        """The :class:`Wake` input for the user's next wake-up (``next_wake`` must not be None)."""
        t = self.next_wake(st, control)
        if t is None:
            raise EngineInvariantError("wake_input called for a user with nothing due")
        return Wake(st.user_id, t)

    def advance(self, st: UserState, t: int, control: Control, out: list[Action]) -> int | None:
        """Run every timer of the user due at or before ``t``, in time order; returns the
        user's next wake-up (as :meth:`next_wake`)."""
        return self._timers_until(st, self.next_wake(st, control), t, control, out)

    def wake(self, st: UserState, t: int, control: Control, out: list[Action]) -> int | None:
        """:meth:`advance` to ``t`` when ``t`` is the user's next wake-up as the engine last
        returned it (a driver's calendar knows it; nothing has happened to the user since):
        the timers due at ``t`` run without recomputing when they are due."""
        return self._timers_until(st, t, t, control, out)

    def _timers_until(self, st: UserState, nw: int | None, t: int, control: Control, out: list[Action]) -> int | None:
        """Run the timers from the due instant ``nw`` up to ``t``; the user's clock reaches ``t``."""
        n = 0
        while nw is not None and nw <= t:
            self._on_timers(st, nw, control, out)
            nw = self.next_wake(st, control)
            n += 1
            if n > _MAX_MOVES:  # pragma: no cover - guarded invariant
                raise EngineInvariantError(f"user {st.user_id!r}: timers do not make progress at {t}")
        if t > st.clock:
            st.clock = t
        return nw

    def next_wake(self, st: UserState, control: Control) -> int | None:
        """When the user next needs a wake-up (``None``: only an input can change anything)."""
        nt = self._next_timer(st, control)
        return None if nt is None else nt[0]

    def _next_timer(self, st: UserState, control: Control) -> tuple[int, int] | None:
        """The user's next timer: ``(instant, rule)`` with ``rule`` an index into
        :data:`TIMER_RULES`. At one instant the earlier rule of that list goes first (each check
        below is in list order and replaces the best only when strictly earlier)."""
        best, rule = _NEVER, -1
        e = st.active
        if e is not None:
            if control.stop_at is not None:
                best, rule = (control.stop_at if control.stop_at > st.clock else st.clock), _STOPPED
            if control.version_changes:
                x = _next_change(control, st.version_mark)
                if x is not None and x < best:
                    best, rule = x, _VERSION_CHANGE
            if self.pb_goals:
                x = self.clock.next_daily(e.goal_mark)
                if x < best:
                    best, rule = x, _GOAL_EVALUATION
            if self.timeout is not None:
                x = e.entered_at + self.timeout
                if x < best:
                    best, rule = x, _JOURNEY_TIMEOUT
            if e.timed_out:
                y = e.timeout_at
                if y is not None and y < best:
                    best, rule = y, _NODE_TIMEOUT
            else:
                y = e.window_end
                if y is not None and y < best:
                    best, rule = y, _WINDOW_END
                y = e.due
                if y is not None and y < best:
                    best, rule = y, _NODE_DUE
            if st.pending:
                x = self._pending_due(st)
                if x < best:
                    best, rule = x, _INACTION_WAIT_INSIDE
            return None if rule < 0 else (best, rule)
        if not self._may_ever_enter(st, control):
            return None
        if control.version_changes:
            # a user outside wakes at a version change: from then on the new version is theirs
            x = _next_change(control, st.version_mark)
            if x is not None:
                best, rule = x, _VERSION_CHANGE
        if st.pending:
            x = self._pending_due(st)
            if x < best:
                best, rule = x, _INACTION_ENTRY
        for n in self.date_entries:
            at = self._date_entry_at(st, n)
            if at is not None and at < best:
                best, rule = at, _DATE_ENTRY
        if self.scheduled_entries:
            # runs that passed while the user was inside are gone (entry is ignored inside)
            r = self.clock.next_run(self.settings.schedule, max(st.sched_from, st.clock), self._anchor(control))
            if r is not None and r < best:
                best, rule = r, _SCHEDULED_RUN
        return None if rule < 0 else (best, rule)

    def activity_bounds(self) -> tuple[frozenset[str], frozenset[str], int | None, bool] | None:
        """What a driver may use to drop events early: ``None`` when entries do not come from
        events (schedules, date-time, journey triggers). Otherwise ``(triggers, exempt, tail,
        first_only)``: a user can only be inside from their first event named in ``triggers``
        until ``tail`` seconds after their last one (``None``: no limit); events named in
        ``exempt`` (past-behaviour history, page views for sessions) matter before that too;
        with ``first_only`` (no re-entry, unconditional entry) only the first trigger after the
        journey starts can enter, so ``tail`` counts from it.
        """
        if self.scheduled_entries or self.date_entries or self.trigger_entries:
            return None
        triggers = frozenset(self.entry_by_event) | frozenset(self.inaction_by_event)
        exempt = frozenset(self.lookback) | self.page_events | frozenset(self.consent_events)
        tail: int | None = None
        if self.timeout is not None:
            within = max((int(n.within.total_seconds()) for n in self.inaction_entries), default=0)
            tail = within + self.timeout + (self.attribution or 0)
        first_only = (
            not self.settings.reentry
            and not self.inaction_entries
            and self.start is None
            and self.end is None
            and all(
                isinstance(n, ActionSeg) and not n.filters and not n.profile
                for ns in self.entry_by_event.values()
                for n in ns
            )
        )
        return triggers, exempt, tail, first_only

    def is_done(self, st: UserState, control: Control) -> bool:
        """True when nothing can ever happen to this user in this journey again."""
        if st.attribution is not None and st.clock < st.attribution[0]:
            return False  # a goal event may still convert them (attribution window)
        return st.active is None and not self._may_ever_enter(st, control)

    # ================================================================== inputs
    def event(self, st: UserState, ev: Event, control: Control, out: list[Action]) -> int | None:
        """Apply a user event (timers up to its instant first); returns the next wake-up."""
        self._on_event(st, ev, control, out)
        return self.next_wake(st, control)

    def _on_event(self, st: UserState, ev: Event, control: Control, out: list[Action]) -> None:
        _, ts, name, props, event_id = ev
        if event_id is not None:
            if event_id in st.seen_ids:
                return  # duplicate: already acted on
            st.seen_ids.append(event_id)
            if len(st.seen_ids) > _SEEN_IDS:
                del st.seen_ids[0]
        if name not in self.relevant_events:
            if ts > st.clock:
                self.advance(st, ts, control, out)
            return
        t = ts if ts > st.clock else st.clock  # a late event acts at the user's clock
        self.advance(st, t, control, out)

        # observations: history, sessions, inaction-entry bookkeeping
        if name in self.lookback:
            h = st.history.setdefault(name, [])
            h.append((ts, props))
            horizon = ts - self.lookback[name]
            if h[0][0] < horizon:
                st.history[name] = [x for x in h if x[0] >= horizon]
        first_in_session = False
        if name in self.page_events:
            if st.session_last is None or t - st.session_last >= self.gap:
                st.session_count = 0
            st.session_count += 1
            st.session_last = t
            first_in_session = st.session_count == 1
        if name in self.consent_events:
            self._consent_change(st, t, name, props, out)
        if (
            name in self.absent_by_event
            and st.pending
            and any(_all(n.absent_filters, props) for n in self.absent_by_event[name])
        ):
            st.pending.clear()
            st.pending_props.clear()
        acted = self._act(st, t, name, props, first_in_session, control, out)
        # an event that acted in the journey (met a goal, moved the user, ended or started the
        # enrollment) does not also start an inaction entry's wait (SPEC §3)
        if not acted and name in self.inaction_by_event and (self.settings.reentry or st.entries == 0):
            for n in self.inaction_by_event[name]:
                if all(f.test(props) for f in n.filters):
                    st.pending.append(t)
                    st.pending_props.append(self._trigger_props(props))
                    break

    def _act(
        self, st: UserState, t: int, name: str, props: dict[str, Any], first: bool, control: Control, out: list[Action]
    ) -> bool:
        """The event's one action in the journey: a goal, a move at the user's node, or a live
        entry. Returns whether it acted."""
        e = st.active
        if e is not None:
            # goals win over the node (SPEC §6)
            for g in self.action_goals.get(name, ()):
                if g.matches(name, props):
                    self._exit(st, t, f"goal:{g.name}", out)
                    return True
            if not e.timed_out:
                port = self._node_reacts(st, e, name, props, first)
                if port is not None:
                    self._move(st, port, t, out)
                    return True
            return False
        if st.attribution is not None:  # an observation, not the event's action (it may still enter)
            self._attribute(st, t, name, props, out)
        # not inside: live entry
        for n in self.entry_by_event.get(name, ()):
            if self._entry_matches(st, n, name, props, first):
                if self._can_enter(st, t, control):
                    self._enter(st, n, t, out, self._trigger_props(props))
                    return True
                return False
        return False

    def _consent_change(self, st: UserState, t: int, name: str, props: dict[str, Any], out: list[Action]) -> None:
        """A consent event (an unsubscribe...) changes the profile at once: a send attempt from
        this instant on sees it (the profile is shared by the user's journeys)."""
        c = self.policy.consent
        assert c is not None
        for ev in self.consent_events[name]:
            for prop, value in c.changes(ev, props).items():
                if st.profile.get(prop) is not value:
                    st.profile[prop] = value
                    out.append(ProfileChanged(st.user_id, t, self.id, "", prop, value))

    def _node_reacts(self, st: UserState, e: Enrollment, name: str, props: dict[str, Any], first: bool) -> str | None:
        node = self.nodes[e.node]
        if isinstance(node, ActionSeg):
            if name == node.event and _all(node.filters, props) and _all(node.profile, st.profile):
                return "yes"
        elif isinstance(node, Inaction):
            if name == node.absent and e.due_kind == "inaction" and _all(node.absent_filters, props):
                return "no"
        elif isinstance(node, PageVisit):
            if name == node.event and match_text(props.get(node.url_property), node.url, node.match):
                return "yes"
        elif isinstance(node, Referrer):
            if (
                name == node.event
                and first
                and any(match_text(props.get(p), node.source, node.match) for p in node.properties)
            ):
                return "yes"
        elif isinstance(node, PageCount) and name == node.event and st.session_count == node.count:
            return "yes"
        return None

    def _entry_matches(self, st: UserState, n: Any, name: str, props: dict[str, Any], first: bool) -> bool:
        if isinstance(n, ActionSeg):
            return name == n.event and _all(n.filters, props) and _all(n.profile, st.profile)
        if isinstance(n, PageVisit):
            return name == n.event and match_text(props.get(n.url_property), n.url, n.match)
        if isinstance(n, Referrer):
            return name == n.event and first and any(match_text(props.get(p), n.source, n.match) for p in n.properties)
        if isinstance(n, PageCount):
            return name == n.event and st.session_count == n.count
        return False  # pragma: no cover

    def feedback(self, st: UserState, fb: Feedback, control: Control, out: list[Action]) -> int | None:
        """Apply delivery feedback (timers up to its instant first); returns the next wake-up."""
        self._on_feedback(st, fb, control, out)
        return self.next_wake(st, control)

    def _on_feedback(self, st: UserState, fb: Feedback, control: Control, out: list[Action]) -> None:
        t = fb.ts if fb.ts > st.clock else st.clock
        self.advance(st, t, control, out)
        mid = fb.message_id or self._latest_message(st, fb.node)
        rec = st.messages.get(mid)
        if rec is None:
            return  # not a message of this journey for this user
        # feedback belongs to the message: it is recorded even after the user exited (it
        # moves nobody then), so engagement statistics count every view and click
        node_id = rec[0]
        v = rec[4]
        e = st.active
        if fb.kind == "unsubscribed":
            self._opt_out(st, t, v, node_id, out)
            return
        if fb.kind == "delivered":
            if not rec[3]:
                rec[3] = True
                out.append(_new(TraceRecord, (st.user_id, t, self.id, v, node_id, "delivered", "", "")))
            return
        new_view = not rec[1]
        if new_view:
            rec[1] = True
            out.append(_new(TraceRecord, (st.user_id, t, self.id, v, node_id, "viewed", "", "")))
        new_click = False
        if fb.kind == "clicked" and not rec[2]:
            rec[2] = True
            new_click = True
            out.append(_new(TraceRecord, (st.user_id, t, self.id, v, node_id, "clicked", "", "")))
        if e is not None and e.node == node_id and e.msg_id == mid and not e.timed_out:
            if new_click and (node_id, "clicked") in self.conn:
                self._move(st, "clicked", t, out)
            elif new_view and (node_id, "viewed") in self.conn:
                self._move(st, "viewed", t, out)

    @staticmethod
    def _latest_message(st: UserState, node: str) -> str:
        """The id of the latest message ``node`` sent the user ("" when none)."""
        for mid in reversed(st.messages):
            if st.messages[mid][0] == node:
                return mid
        return ""

    def _on_trigger(self, st: UserState, tr: Trigger, control: Control, out: list[Action]) -> None:
        t = tr.ts if tr.ts > st.clock else st.clock
        self.advance(st, t, control, out)
        for n in self.trigger_entries.get((tr.journey, tr.node), ()):
            if n.port is None or n.port == tr.port:
                if self._can_enter(st, t, control):
                    self._enter(st, n, t, out)
                return

    # ================================================================== timers
    def _on_timers(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        """The user's first timer due at instant ``t`` (in :data:`TIMER_RULES` order)."""
        if t > st.clock:
            st.clock = t
        nt = self._next_timer(st, control)
        if nt is None or nt[0] > t:  # pragma: no cover - drivers call this only when something is due
            return
        self._fire[nt[1]](st, t, control, out)

    # timer rules, in TIMER_RULES order: each fires one thing due for the user at ``t``
    def _fire_stopped(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        self._exit(st, t, "stopped", out)

    def _fire_version_change(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        st.version_mark = t
        for at, version, migrate in control.version_changes:
            if at == t and migrate:
                self.migrate(st, version, t, out)

    def migrate(self, st: UserState, version: int, t: int, out: list[Action]) -> bool:
        """Move the user inside an older version of this journey to ``version`` (published at
        ``t`` with migration on): to the node of the same id, if ``version`` still has it with the
        same kind. Returns whether the user moved.

        The rule of what a migrated enrollment keeps: everything — its number, entry instant
        (the journey timeout counts from the first entry, with the new version's timeout), arrival
        instant, visit counters, the timers already set at its node (window end, node timeout,
        delay end, send time: computed under the old version, they keep their instants), the
        message its response window waits on, the triggering event. Only its version changes; the
        new version's rules apply from its next timer, event or move. Trace: ``migrated`` at the
        node (version: the new one; detail ``from v<old>``), or ``not_migrated`` (the old version;
        detail: why — the node is gone or changed kind) and the user stays on the old version.

        >>> import datetime as dt
        >>> from journeylab.model import Action, Delay, JourneyDef
        >>> from journeylab.engine import Control, Engine, Event
        >>> from journeylab.model import Connector
        >>> v1 = JourneyDef(id="j", nodes=[Action(id="a", event="E"), Delay(id="d", duration=dt.timedelta(days=1))],
        ...                 connectors=[Connector(source="a", port="yes", target="d")])
        >>> v2 = JourneyDef(id="j", version=2, nodes=v1.nodes, connectors=v1.connectors)
        >>> eng = Engine(v1, versions=[v2])
        >>> st = eng.new_user("u")
        >>> _ = eng.step(st, Event("u", 10, "E"), Control.running_from(0))
        >>> out = []
        >>> eng.migrate(st, 2, 20, out), st.active.version, st.active.due, [(r.event, r.detail) for r in out]
        (True, 2, 86410, [('migrated', 'from v1')])
        """
        e = st.active
        if e is None or e.version >= version:
            return False
        plan = self.migration_plans.get(version)
        why = (
            plan.get(e.node, f"node {e.node!r} is not in version {version}")
            if plan is not None
            else f"version {version} of journey {self.id!r} is not part of this run"
        )
        if why is not None:
            out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, e.node, "not_migrated", "", why)))
            return False
        old = e.version
        e.version = version
        out.append(_new(TraceRecord, (st.user_id, t, self.id, version, e.node, "migrated", "", f"from v{old}")))
        return True

    def _fire_goal_evaluation(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        e = st.active
        assert e is not None
        d = self.clock.next_daily(e.goal_mark)
        e.goal_mark = d
        for g in self.pb_goals:
            if self._pb_ok(st, g.did, g.did_not, g.days, g.profile, d):
                self._exit(st, t, f"goal:{g.name}", out)
                break

    def _fire_journey_timeout(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        self._exit(st, t, "journey_timeout", out)

    def _fire_window_end(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        # the qualifying (or phantom) window is over: marked timed out
        e = st.active
        assert e is not None and e.window_end is not None
        e.timed_out = True
        out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, e.node, "timed_out", "", "")))
        if (e.node, "timeout") in self.conn:
            e.timeout_at = self.clock.next_hourly(e.window_end)
        else:
            e.timeout_at = None
            out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, e.node, "waiting", "", "")))

    def _fire_node_timeout(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        # the hourly node-timeout evaluation moves the user by `timeout`
        e = st.active
        assert e is not None
        e.timeout_at = None
        self._move(st, "timeout", t, out)

    def _fire_node_due(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        e = st.active
        assert e is not None
        self._on_due(st, e, t, out)

    def _fire_inaction_wait_inside(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        self._drop_matured(st, t)  # the user is inside: the matured wait enters nobody

    def _fire_inaction_entry(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        matured = self._drop_matured(st, t)
        if matured is not None and self._can_enter(st, t, control):
            self._enter(st, matured[0], t, out, matured[1])

    def _fire_date_entry(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        for n in self.date_entries:
            at = self._date_entry_at(st, n)
            if at is not None and at <= t:
                st.date_entry_done = at
                if self._can_enter(st, t, control):
                    self._enter(st, n, t, out)
                return

    def _fire_scheduled_run(self, st: UserState, t: int, control: Control, out: list[Action]) -> None:
        r = self.clock.next_run(self.settings.schedule, max(st.sched_from, st.clock), self._anchor(control))
        if r is None or r > t:  # pragma: no cover - only fired when due
            return
        st.sched_from = r + 1
        if self._can_enter(st, t, control):
            for n in self.scheduled_entries:
                if self._scheduled_qualifies(st, n, r):
                    self._enter(st, n, t, out)
                    break

    def _on_due(self, st: UserState, e: Enrollment, t: int, out: list[Action]) -> None:
        kind = e.due_kind
        e.due = None
        e.due_kind = ""
        node = self.nodes[e.node]
        if kind == "inaction":
            self._move(st, "yes", t, out)
        elif kind == "pb":
            ok = self._pb_ok(st, node.did, node.did_not, node.days, node.profile, t)
            self._move(st, "yes" if ok else "no", t, out)
        elif kind == "at":
            self._move(st, "yes", t, out)
        elif kind == "delay":
            self._move(st, "next", t, out)
        elif kind == "send":
            port = self._send(st, e, node, t, out)
            if port is not None:
                self._move(st, port, t, out)
        else:  # pragma: no cover
            raise EngineInvariantError(f"unknown timer kind {kind!r}")

    def _pending_due(self, st: UserState) -> int:
        within = min(int(n.within.total_seconds()) for n in self.inaction_entries)
        return st.pending[0] + within

    def _drop_matured(self, st: UserState, t: int) -> tuple[Inaction, dict[str, Any]] | None:
        """The inaction entry whose wait matured by ``t`` (dropped from the pending waits), with
        the properties of the event that started it."""
        for n in self.inaction_entries:
            w = int(n.within.total_seconds())
            if st.pending and st.pending[0] + w <= t:
                st.pending.pop(0)
                return n, (st.pending_props.pop(0) if st.pending_props else {})
        return None  # pragma: no cover

    def _date_entry_at(self, st: UserState, n: DateTime) -> int | None:
        v = as_epoch(st.profile.get(n.property))
        if v is None:
            return None
        at = v + int(n.offset.total_seconds())
        if at == st.date_entry_done or at < st.sched_from or at < st.clock:
            return None
        return at

    def _anchor(self, control: Control) -> int | None:
        return self.start if self.start is not None else control.first_running()

    def _scheduled_qualifies(self, st: UserState, n: Any, r: int) -> bool:
        if isinstance(n, CustomList):
            return st.user_id in self.custom_lists.get(n.id, frozenset())
        return self._pb_ok(st, n.did, n.did_not, n.days, n.profile, r)

    # ================================================================== entry & exit
    def _may_ever_enter(self, st: UserState, control: Control) -> bool:
        if st.entries and not self.settings.reentry:
            return False
        if control.stop_at is not None and st.clock >= control.stop_at:
            return False
        return not (self.end is not None and st.clock >= self.end)

    def _can_enter(self, st: UserState, t: int, control: Control) -> bool:
        if st.active is not None or (st.entries and not self.settings.reentry):
            return False
        if control.status_at(t) != "running":
            return False
        if self.start is not None and t < self.start:
            return False
        return not (self.end is not None and t >= self.end)

    def _enter(
        self, st: UserState, node: Any, t: int, out: list[Action], trigger: dict[str, Any] | None = None
    ) -> None:
        st.entries += 1
        st.attribution = None  # later conversions belong to the new enrollment
        e = Enrollment(st.entries, self.version, t)
        st.active = e
        if trigger:
            e.trigger = trigger
        e.node = node.id
        e.visits[node.id] = 1
        e.visit = 1
        out.append(_new(TraceRecord, (st.user_id, t, self.id, self.version, node.id, "entered", "", "entry")))
        self._move(st, "yes", t, out)

    def _exit(self, st: UserState, t: int, reason: str, out: list[Action]) -> None:
        e = st.active
        if e is None:  # pragma: no cover
            raise EngineInvariantError("exit of a user who is not inside")
        out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, e.node, "exited", "", reason)))
        st.active = None
        st.last_exit = t
        if self.attribution is not None and not reason.startswith("goal:"):
            st.attribution = [t + self.attribution, e.node, e.version]

    # ================================================================== moving
    def _move(self, st: UserState, port: str, t: int, out: list[Action]) -> None:
        """Leave the current node by ``port`` and follow connectors until the user waits."""
        uid, jid, conn, watched = st.user_id, self.id, self.conn, self.watched
        moves = 0
        while True:
            e = st.active
            if e is None:
                return
            src = e.node
            out.append(_new(TraceRecord, (uid, t, jid, e.version, src, "left", port, "")))
            if watched and src in watched and src not in self.engagement_ids:
                out.append(NodePassed(uid, t, jid, src, port))
            target = conn.get((src, port))
            if target is None:
                self._exit(st, t, "completed", out)
                return
            nxt = self._arrive(st, e, target, t, out)
            if nxt is None:
                return
            port = nxt
            moves += 1
            if moves >= _MAX_MOVES:
                raise EngineInvariantError(f"user {uid!r} moved {_MAX_MOVES} times at one instant")

    def _arrive(self, st: UserState, e: Enrollment, node_id: str, t: int, out: list[Action]) -> str | None:
        """Arrive at a node; returns the port to leave by at once, or None to wait."""
        e.node = node_id
        e.arrived_at = t
        v = e.visits.get(node_id, 0) + 1
        e.visits[node_id] = v
        e.visit = v
        e.window_end = None
        e.timed_out = False
        e.timeout_at = None
        e.due = None
        e.due_kind = ""
        e.msg_id = None
        out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, node_id, "entered", "", "")))
        rule, node = self._arrive_at[node_id]
        port: str | None = rule(st, e, node, t, out)
        return port

    # arrival rules, one per node kind (dispatch table built in __init__)
    def _arr_window(self, st: UserState, e: Enrollment, node: Any, t: int, out: list[Action]) -> str | None:
        w = self._secs.get((node.id, "window"))
        if w is not None:
            e.window_end = t + w
        return None

    def _arr_inaction(self, st: UserState, e: Enrollment, node: Inaction, t: int, out: list[Action]) -> str | None:
        e.due = t + self._secs[node.id, "within"]
        e.due_kind = "inaction"
        return None

    def _arr_past_behavior(
        self, st: UserState, e: Enrollment, node: PastBehavior, t: int, out: list[Action]
    ) -> str | None:
        self._open_window(e, node, t)
        e.due = self.clock.next_daily(t)
        e.due_kind = "pb"
        return None

    def _arr_date_time(self, st: UserState, e: Enrollment, node: DateTime, t: int, out: list[Action]) -> str | None:
        v_at = as_epoch(st.profile.get(node.property))
        if v_at is None:
            return "no"
        at = v_at + int(node.offset.total_seconds())
        if at < t:
            return "no"
        if at == t:
            return "yes"
        self._open_window(e, node, t)
        e.due = at
        e.due_kind = "at"
        return None

    def _arr_profile(self, st: UserState, e: Enrollment, node: ProfileMatch, t: int, out: list[Action]) -> str | None:
        return "yes" if _all(node.profile, st.profile) else "no"

    def _arr_delay(self, st: UserState, e: Enrollment, node: Delay, t: int, out: list[Action]) -> str | None:
        end = self._delay_end(st, node, t)
        if end <= t:
            return "next"
        e.due = end
        e.due_kind = "delay"
        return None

    def _arr_force_exit(self, st: UserState, e: Enrollment, node: ForceExit, t: int, out: list[Action]) -> str | None:
        self._exit(st, t, "force_exit", out)
        return None

    def _arr_profile_update(
        self, st: UserState, e: Enrollment, node: ProfileUpdate, t: int, out: list[Action]
    ) -> str | None:
        self._update_profile(st, e, node, t, out)
        return "next"

    def _arr_split(self, st: UserState, e: Enrollment, node: Split, t: int, out: list[Action]) -> str | None:
        port = self._split(st, e, node)
        if self.control_branches and (node.id, port) in self.control_branches:
            # a control (hold-out) branch: assigned, held here, never messaged; goals still exit them
            out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, node.id, "held", port, "")))
            return None
        return port

    def _arr_entry_only(self, st: UserState, e: Enrollment, node: Any, t: int, out: list[Action]) -> str | None:
        return "yes"  # entry-only kinds mid-journey are refused by validation

    @staticmethod
    def _open_window(e: Enrollment, node: Any, t: int) -> None:
        w = node.window
        if w is not None:
            e.window_end = t + int(w.total_seconds())

    def _delay_end(self, st: UserState, node: Delay, t: int) -> int:
        if node.duration is not None:
            return t + self._secs[node.id, "duration"]
        if node.at_time is not None:
            # the next such time strictly after arrival: a delay always lets time pass
            return self.local_clock(st).next_time_of_day(t + 1, node.at_time, node.weekdays)
        if node.property is not None:
            v = as_epoch(st.profile.get(node.property))
            if v is None:
                return t  # no such date on the profile: nothing to wait for
            return v + int(node.offset.total_seconds())
        return t

    def _update_profile(self, st: UserState, e: Enrollment, node: ProfileUpdate, t: int, out: list[Action]) -> None:
        p = st.profile
        old = p.get(node.property)
        new = updated_value(node, old)
        p[node.property] = new
        out.append(
            _new(
                TraceRecord,
                (st.user_id, t, self.id, e.version, node.id, "profile_updated", "", update_detail(node, old, new)),
            )
        )
        out.append(ProfileChanged(st.user_id, t, self.id, node.id, node.property, new))

    def _split(self, st: UserState, e: Enrollment, node: Split) -> str:
        u = split_draw(self.seed, self._hash, user_key(st.user_id), e.n, self._node_hash[node.id], e.visit) * 100.0
        acc = 0.0
        for b in node.branches:
            acc += b.percent
            if u < acc:
                return b.name
        return node.branches[-1].name

    # ================================================================== sending
    def _arr_engagement(self, st: UserState, e: Enrollment, node: Engagement, t: int, out: list[Action]) -> str | None:
        reach = NODE_KINDS[self.kinds[node.id]].reachability
        if reach is not None and not is_set_and_true(st.profile.get(reach)):
            return self._discard(st, e, node, t, "unreachable", out)
        if node.send_at is not None:
            at = self.local_clock(st).next_time_of_day(t, node.send_at)
            if at > t:
                e.due = at
                e.due_kind = "send"
                return None
        return self._send(st, e, node, t, out)

    def _send(self, st: UserState, e: Enrollment, node: Engagement, t: int, out: list[Action]) -> str | None:
        ch = self.kinds[node.id]
        if self.consent is not None and self.consent.blocked(ch, st.profile):
            return self._discard(st, e, node, t, "consent", out)
        dnd = self.settings.dnd
        clock = user_clock(st.profile, self.tz_prop, self.clock) if self.local_time else self.clock
        if dnd is not None and ch in dnd.channels and clock.in_ranges(t, dnd.ranges):
            if dnd.mode == "defer":
                end = clock.range_end(t, dnd.ranges)
                out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, node.id, "deferred", "", "dnd")))
                e.due = end
                e.due_kind = "send"
                return None
            return self._discard(st, e, node, t, "dnd", out)
        if ch in FREQUENCY_CHANNELS and node.frequency is not None and not clock.in_ranges(t, node.frequency):
            return self._discard(st, e, node, t, "frequency", out)
        if self.settings.limits and self._over_limit(st, ch, t):
            return self._discard(st, e, node, t, "limit", out)
        if self.caps and self._over_cap(st, ch, t):
            return self._discard(st, e, node, t, "cap", out)
        mid = f"{self.id}:{e.version}:{st.user_id}:{e.n}:{node.id}:{e.visit}"
        out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, node.id, "sent", "", ch)))
        out.append(
            _new(
                Send,
                (mid, self.id, e.version, st.user_id, node.id, ch, t, self._render(node, st.profile, e), e.n, e.visit),
            )
        )
        if node.id in self.watched:
            out.append(NodePassed(st.user_id, t, self.id, node.id, "sent"))
        if self.settings.limits:
            st.sends.append((t, ch))
        if self.caps:
            led = st.ledger
            if led and led[0][0] < t - _LEDGER_SPAN:
                led[:] = [x for x in led if x[0] >= t - _LEDGER_SPAN]
            led.append((t, ch))
        st.messages[mid] = [node.id, False, False, False, e.version]
        if node.id in self.phantom:
            e.msg_id = mid
            e.window_end = t + int(node.response_window.total_seconds())
            return None
        return "next"

    def _discard(
        self, st: UserState, e: Enrollment, node: Engagement, t: int, reason: str, out: list[Action]
    ) -> str | None:
        out.append(_new(TraceRecord, (st.user_id, t, self.id, e.version, node.id, "discarded", "", reason)))
        if (node.id, "not_sent") in self.conn:
            return "not_sent"
        if node.id in self.phantom and (node.id, "next") not in self.conn:
            e.window_end = t + int(node.response_window.total_seconds())
            return None  # like a message nobody opens: waits out the response window
        return "next"

    def _over_limit(self, st: UserState, ch: str, t: int) -> bool:
        for lim in self.settings.limits:
            if lim.channel is not None and lim.channel != ch:
                continue
            sends = [s for s in st.sends if lim.channel is None or s[1] == lim.channel]
            if lim.per == "day":
                day = self.clock.local_date(t)
                n = sum(1 for s in sends if self.clock.local_date(s[0]) == day)
            elif lim.per == "week":
                wk = self.clock.week_key(t)
                n = sum(1 for s in sends if self.clock.week_key(s[0]) == wk)
            else:
                n = len(sends)
            if n >= lim.max:
                return True
        return False

    def _over_cap(self, st: UserState, ch: str, t: int) -> bool:
        """Whether a send on ``ch`` at ``t`` would go over an account frequency cap: the user's
        messages from every journey on the cap's channel in the user's local day or ISO week
        (their own timezone, else the account's)."""
        clock = user_clock(st.profile, self.tz_prop, self.cap_clock)
        for cap in self.caps:
            if cap.channel is not None and cap.channel != ch:
                continue
            key: Any = clock.local_date(t) if cap.per == "day" else clock.week_key(t)
            n = 0
            for ts, c in st.ledger:
                if cap.channel is not None and c != cap.channel:
                    continue
                if (clock.local_date(ts) if cap.per == "day" else clock.week_key(ts)) == key:
                    n += 1
            if n >= cap.max:
                return True
        return False

    def _opt_out(self, st: UserState, t: int, version: int, node_id: str, out: list[Action]) -> None:
        """An ``unsubscribed`` feedback (the message's unsubscribe link, a simulated opt-out): the
        account policy's consent change for the message's channel, the same as that channel's
        ``Unsubscribed`` event (:meth:`~journeylab.model.Consent.channel_change`: ``push_opt_out``
        set in the profile the user's journeys share), so later sends on it are discarded for
        ``consent``. Recorded on the node that sent the message, once while the user stays opted
        out; with consent off, or on a channel without an opt-out property (in-app, webhooks), it is
        recorded and changes nothing."""
        ch = self.version_kinds[version, node_id]
        c = self.policy.consent
        change = c.channel_change(ch) if c is not None else {}
        if change and all(flag_true(st.profile.get(p)) for p in change):
            return  # opted out of the channel already
        out.append(_new(TraceRecord, (st.user_id, t, self.id, version, node_id, "unsubscribed", "", ch)))
        for prop, value in change.items():
            st.profile[prop] = value
            out.append(ProfileChanged(st.user_id, t, self.id, node_id, prop, value))

    def _attribute(self, st: UserState, t: int, name: str, props: dict[str, Any], out: list[Action]) -> None:
        """After a non-goal exit: an action goal's event within the attribution window is a
        conversion of that enrollment (a ``converted`` row at the node of the exit), once."""
        if st.attribution is None:
            return
        until, node, version = st.attribution
        if t >= until:
            st.attribution = None
            return
        for g in self.action_goals.get(name, ()):
            if g.matches(name, props):
                out.append(
                    _new(TraceRecord, (st.user_id, t, self.id, version, node, "converted", "", f"goal:{g.name}"))
                )
                st.attribution = None
                return

    def _trigger_props(self, props: dict[str, Any]) -> dict[str, Any]:
        """The triggering event's properties an enrollment keeps for its messages' templates
        (only those the templates read: nothing when no template reads the event)."""
        keep = self.template_event_props
        return {k: props[k] for k in keep if k in props} if keep else {}

    def _render(self, node: Engagement, profile: dict[str, Any], e: Enrollment) -> dict[str, str]:
        """A message's content rendered for the user: the one place every driver's messages are
        rendered (:func:`journeylab.model.templates.render_content`)."""
        if not self._content_cache.get(node.id):
            return node.content
        return render_content(node.content, profile, e.trigger)

    # ================================================================== evaluation
    def _pb_ok(
        self,
        st: UserState,
        did: list[EventCount],
        did_not: list[EventMatch],
        days: int,
        profile: list[PropertyFilter],
        t: int,
    ) -> bool:
        lo = t - days * 86400
        for c in did:
            n = 0
            for ts, props in st.history.get(c.event, ()):
                if lo <= ts < t and _all(c.filters, props):
                    n += 1
            if n < c.at_least:
                return False
        for m in did_not:
            for ts, props in st.history.get(m.event, ()):
                if lo <= ts < t and _all(m.filters, props):
                    return False
        return _all(profile, st.profile)


def _all(filters: Sequence[PropertyFilter], props: dict[str, Any]) -> bool:
    for f in filters:  # noqa: SIM110 - a plain loop is the fastest form here
        if not f.test(props):
            return False
    return True


def is_missing(v: Any) -> bool:
    """A profile value that is not there: ``None`` or NaN."""
    return v is None or (isinstance(v, float) and v != v)


def is_set_and_true(v: Any) -> bool:
    """Reachability: a profile property reaches the user when it is set and true
    (``True``, a non-empty text, a non-zero number); missing (``None``, NaN) does not."""
    return not is_missing(v) and bool(v)


def updated_value(node: ProfileUpdate, old: Any) -> Any:
    """The value a Profile Update node writes, given the property's value before (``None`` when
    missing): ``set`` the node's value; ``increment``/``decrement`` by it (1 when empty) from the
    old number (0 when not a number); ``add``/``remove`` it to/from the old list (a single old
    value counts as a list of one)."""
    op, val = node.op, node.value
    if op == "set":
        return val
    if op in ("increment", "decrement"):
        step = 1 if val is None else val
        base = old if isinstance(old, int | float) and not isinstance(old, bool) and old == old else 0
        return base + step if op == "increment" else base - step
    cur = list(old) if isinstance(old, list | tuple) else ([] if old is None else [old])
    if op == "add":
        return cur if val in cur else [*cur, val]
    return [x for x in cur if x != val]  # remove


def update_detail(node: ProfileUpdate, old: Any, new: Any) -> str:
    """The trace detail of a Profile Update: ``"property: old -> new"``."""
    return f"{node.property}: {_shown(old)} -> {_shown(new)}"


def _shown(value: Any) -> str:
    """A profile value as the trace prints it: dates and datetimes as their ISO text (the form
    a durable store keeps them in), so every driver prints the same detail; anything else as
    its ``repr``."""
    if isinstance(value, dt.date):  # datetime and pandas.Timestamp included
        return repr(value.isoformat())
    return repr(value)
