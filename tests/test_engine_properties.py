"""Property tests of the engine core over random valid journeys and random event streams."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from journeylab.engine import Control, Event, Feedback, ReferenceDriver, TraceRecord
from journeylab.engine.multi import JourneySet
from journeylab.model import (
    Action,
    ActionGoal,
    DayRange,
    Delay,
    Dnd,
    Email,
    EventCount,
    ForceExit,
    Inaction,
    InApp,
    JourneyDef,
    Limit,
    PastBehavior,
    PastBehaviorGoal,
    ProfileMatch,
    ProfileUpdate,
    PropertyFilter,
    Push,
    Settings,
    Split,
    SplitBranch,
)
from journeylab.model.settings import Connector

EVENTS = ["A", "B", "C"]
T0 = 1_772_409_600  # 2026-03-02 00:00 UTC
MIN = 60


@st.composite
def journeys(draw) -> JourneyDef:
    n = draw(st.integers(2, 7))
    mins = st.integers(1, 60 * 30).map(lambda m: dt.timedelta(minutes=m))
    entry_kind = draw(st.sampled_from(["action", "inaction"]))
    if entry_kind == "action":
        nodes: list = [Action(id="n0", event=draw(st.sampled_from(EVENTS)))]
    else:
        nodes = [Inaction(id="n0", event="A", absent=draw(st.sampled_from(["B", "C"])), within=draw(mins))]
    for i in range(1, n):
        k = draw(
            st.sampled_from(
                ["action", "inaction", "pb", "push", "email", "inapp", "delay", "update", "match", "split", "exit"]
            )
        )
        nid = f"n{i}"
        if k == "action":
            nodes.append(Action(id=nid, event=draw(st.sampled_from(EVENTS)), window=draw(st.none() | mins)))
        elif k == "inaction":
            nodes.append(Inaction(id=nid, absent=draw(st.sampled_from(EVENTS)), within=draw(mins)))
        elif k == "pb":
            nodes.append(
                PastBehavior(
                    id=nid, did=[EventCount(event=draw(st.sampled_from(EVENTS)))], days=2, window=draw(st.none() | mins)
                )
            )
        elif k == "push":
            nodes.append(Push(id=nid, response_window=draw(mins), send_at=draw(st.none() | st.just(dt.time(9, 30)))))
        elif k == "email":
            nodes.append(Email(id=nid))
        elif k == "inapp":
            nodes.append(InApp(id=nid, frequency=[DayRange(start=dt.time(8), end=dt.time(20))]))
        elif k == "delay":
            nodes.append(
                draw(
                    st.sampled_from(
                        [Delay(id=nid, duration=dt.timedelta(minutes=45)), Delay(id=nid, at_time=dt.time(10))]
                    )
                )
            )
        elif k == "update":
            nodes.append(ProfileUpdate(id=nid, property="count", op="increment", value=1))
        elif k == "match":
            nodes.append(ProfileMatch(id=nid, profile=[PropertyFilter(property="count", op=">=", value=2)]))
        elif k == "split":
            nodes.append(Split(id=nid, branches=[SplitBranch(name="a", percent=50), SplitBranch(name="b", percent=50)]))
        else:
            nodes.append(ForceExit(id=nid))
    from journeylab.model import ports_of

    waits = {nd.id for nd in nodes if isinstance(nd, Action | Inaction | PastBehavior | Delay)}
    conns = []
    for i, nd in enumerate(nodes):
        ports = list(ports_of(nd))
        if i == 0:
            ports = ["yes"]
        if isinstance(nd, Push | Email | InApp):
            ports = draw(
                st.sampled_from([["next", "not_sent"], ["viewed", "timeout"], ["clicked", "viewed", "timeout"]])
            )
        for p in ports:
            if draw(st.booleans()):
                continue
            if p == "timeout" and isinstance(nd, Action | PastBehavior) and nd.window is None:
                continue
            # forward edges, or back edges to a node that waits (cycles need waiting)
            later = [m.id for m in nodes[i + 1 :]]
            back = [m.id for m in nodes[1 : i + 1] if m.id in waits]
            choices = later + (back if nd.id in waits and p != "yes" or back else [])
            if not choices:
                continue
            conns.append(Connector(source=nd.id, port=p, target=draw(st.sampled_from(choices))))
    goals = []
    if draw(st.booleans()):
        goals.append(ActionGoal(name="g", event=draw(st.sampled_from(EVENTS))))
    if draw(st.booleans()):
        goals.append(PastBehaviorGoal(name="pb", did=[EventCount(event="C", at_least=2)], days=1))
    stt = Settings(
        timezone=draw(st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York"])),
        journey_timeout=draw(st.none() | st.integers(60, 3 * 24 * 60).map(lambda m: dt.timedelta(minutes=m))),
        reentry=draw(st.booleans()),
        hourly_offset_minutes=draw(st.sampled_from([0, 15])),
        dnd=draw(
            st.none()
            | st.just(Dnd(ranges=[DayRange(start=dt.time(22), end=dt.time(7))], mode="defer"))
            | st.just(Dnd(ranges=[DayRange(start=dt.time(13), end=dt.time(14))], mode="discard"))
        ),
        limits=draw(st.sampled_from([[], [Limit(max=1, per="day")], [Limit(max=2, per="journey", channel="push")]])),
    )
    return JourneyDef(id="j", settings=stt, nodes=nodes, connectors=conns, goals=goals)


@st.composite
def streams(draw):
    users = ["u1", "u2", "u3"]
    n = draw(st.integers(0, 40))
    evs = []
    for _ in range(n):
        t = T0 + draw(st.integers(0, 4 * 24 * 60)) * MIN
        evs.append((t, draw(st.sampled_from(users)), draw(st.sampled_from(EVENTS))))
    evs.sort(key=lambda x: x[0])
    return [Event(u, t, e) for t, u, e in evs]


PROFILES = {"u1": {"push_token": "t", "email": "e"}, "u2": {"email": "e", "count": 1}, "u3": {}}


def _drive(j: JourneyDef, inputs, chunks):
    # the engine must keep its invariants on any journey the model can express, valid or not
    # (the random-journey differential tests cover valid journeys through every driver)
    drv = ReferenceDriver([j], controls={"j": Control.running_from(T0)}, profiles=PROFILES, created=T0, validate=False)
    if chunks is None:
        drv.feed(inputs)
    else:
        for inp in inputs:
            drv.run_until(inp.ts - 1)
            drv.feed([inp])
    drv.run_until(T0 + 8 * 86400)
    return drv


def run(j: JourneyDef, events, *, chunks=None):
    """Run, then run again with recorded feedback: every message is viewed 5 minutes after
    it is sent (ids are deterministic) and every second one is clicked."""
    first = _drive(j, events, None)
    fb = []
    for i, s in enumerate(first.sends):
        fb.append(Feedback(s.user_id, s.ts + 300, s.id, "viewed"))
        if i % 2:
            fb.append(Feedback(s.user_id, s.ts + 400, s.id, "clicked"))
    inputs = sorted([*events, *fb], key=lambda x: x.ts)
    return _drive(j, inputs, chunks)


def check_positions(trace: list[TraceRecord]) -> None:
    by_user: dict[str, list[TraceRecord]] = {}
    for r in trace:
        by_user.setdefault(r.user_id, []).append(r)
    for rows in by_user.values():
        inside: str | None = None  # current node, None when outside
        moving = False  # between a `left` and the next `entered`
        for r in rows:
            if r.event == "entered":
                if r.detail == "entry":
                    assert inside is None, f"entered while inside: {r}"
                else:
                    assert moving, f"arrived without leaving: {r}"
                inside, moving = r.node, False
            elif r.event == "left":
                assert inside == r.node and not moving, f"left a node the user is not at: {r}"
                moving = True
            elif r.event == "exited":
                assert inside == r.node, f"exit from elsewhere: {r}"
                inside, moving = None, False
            elif r.event in ("viewed", "clicked", "delivered"):
                # feedback belongs to the message (and the node that sent it), whether the
                # user is still inside or not; it never moves anyone outside the journey
                pass
            else:
                assert inside == r.node and not moving, f"{r.event} outside the user's node: {r}"


SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(journeys(), streams())
def test_random_journeys_keep_the_invariants(j, events):
    drv = run(j, events)
    trace = drv.trace
    check_positions(trace)
    # time never runs backwards for a user
    last: dict[str, int] = {}
    for r in trace:
        assert r.ts >= last.get(r.user_id, 0)
        last[r.user_id] = r.ts
    # the same inputs give the same trace; one by one gives the same as a batch
    assert run(j, events).trace == trace
    assert run(j, events, chunks=1).canonical_trace() == drv.canonical_trace()


@SETTINGS
@given(journeys(), streams())
def test_every_wake_up_is_at_or_after_now(j, events):
    js = JourneySet([j], controls={"j": Control.running_from(T0)})
    states = {u: js.new_user(u, PROFILES[u], T0) for u in PROFILES}
    for ev in events:
        s = states[ev.user_id]
        out: list = []
        js.deliver(s, ev, out)
        w = js.next_wake(s)
        assert w is None or w >= s["j"].clock
    for s in states.values():
        for _ in range(500):
            w = js.next_wake(s)
            if w is None or w > T0 + 8 * 86400:
                break
            clock = s["j"].clock
            assert w >= clock
            js.advance(s, w, [])
