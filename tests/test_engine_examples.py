"""Every worked example of SPEC.md, to the minute, through every driver: the reference driver,
``simulate`` (one process and two workers; the per-user engine too), the sharded backend and the
runtime on SQLite
(the ``driver`` fixture; ``drivers.run_example`` feeds each the same journeys, inputs and
profiles)."""

from __future__ import annotations

import datetime as dt

import pytest
from drivers import KEEPS_STATE, ExampleRun, run_example

from journeylab.engine import Control, Event, Feedback, to_epoch
from journeylab.errors import JourneyDefinitionError
from journeylab.model import (
    Action,
    ActionGoal,
    DayRange,
    Delay,
    Dnd,
    Email,
    EventCount,
    Inaction,
    Journey,
    JourneyTrigger,
    PastBehavior,
    ProfileMatch,
    ProfileUpdate,
    PropertyFilter,
    Push,
)

H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
DAY0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # a Monday


def at(hh: int, mm: int = 0, ss: int = 0, *, day: int = 0, tz: str = "UTC") -> int:
    from zoneinfo import ZoneInfo

    d = (DAY0 + dt.timedelta(days=day)).date()
    return to_epoch(dt.datetime(d.year, d.month, d.day, hh, mm, ss, tzinfo=ZoneInfo(tz)))


def hm(t: int, tz: str = "UTC") -> str:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromtimestamp(t, ZoneInfo(tz)).strftime("%H:%M")


def run(driver, journeys, inputs, *, until, profiles=None, start=0, controls=None, **kw) -> ExampleRun:
    """Run a worked example through ``driver``: journeys published at ``start`` (or following
    ``controls``), ``inputs`` (events and feedback), everything due up to ``until``."""
    defs = [j.definition if isinstance(j, Journey) else j for j in journeys]
    return run_example(driver, defs, inputs, until=until, profiles=profiles, start=start, controls=controls, **kw)


def rows(drv, user=None, events=None):
    return [
        (r.node, r.event, r.port, r.detail, r.ts)
        for r in drv.canonical_trace()
        if (user is None or r.user_id == user) and (events is None or r.event in events)
    ]


def timeout_journey(tz: str = "UTC", minute: int = 0) -> Journey:
    j = Journey("Node timeout", id="nt", timezone=tz, hourly_offset_minutes=minute)
    j.add(Action(id="start", event="Reached"))
    j.then("start", "yes", Action(id="node4", event="Bought", window=H))
    j.then("node4", "yes", Push(id="thanks"))
    j.then("node4", "timeout", Email(id="nudge"))
    return j


@pytest.mark.parametrize(
    ("tz", "arrive", "leave"),
    [
        ("UTC", (14, 30), "16:00"),  # user A
        ("UTC", (15, 30), "17:00"),  # user B
        ("UTC", (15, 0), "16:00"),  # window ends exactly at an evaluation
        ("Asia/Kolkata", (14, 30), "16:00"),  # half-hour zone: local hours
        ("Asia/Kolkata", (15, 30), "17:00"),
        ("America/New_York", (14, 30), "16:00"),
    ],
)
def test_node_timeout_users_a_and_b(tz, arrive, leave, driver):
    j = timeout_journey(tz)
    t0 = at(*arrive, tz=tz)
    # an action after the window ended does not move the user by yes
    drv = run(driver, [j], [Event("a", t0, "Reached"), Event("a", t0 + 75 * 60, "Bought")], until=t0 + 6 * 3600)
    out = rows(drv, "a", {"timed_out", "left", "exited"})
    node4 = [r for r in out if r[0] == "node4"]
    assert node4[0][1] == "timed_out" and node4[0][4] == t0 + 3600
    assert node4[1][1:3] == ("left", "timeout") and hm(node4[1][4], tz) == leave
    assert all(r[2] != "yes" for r in node4)


def test_user_a_acting_inside_the_window_leaves_by_yes_at_that_moment(driver):
    j = timeout_journey()
    t0 = at(14, 30)
    drv = run(driver, [j], [Event("a", t0, "Reached"), Event("a", t0 + 59 * 60, "Bought")], until=t0 + 6 * 3600)
    assert ("node4", "left", "yes", "", t0 + 59 * 60) in rows(drv, "a")


def test_action_exactly_at_window_end_is_outside_half_open(driver):
    j = timeout_journey()
    t0 = at(14, 30)
    drv = run(driver, [j], [Event("a", t0, "Reached"), Event("a", t0 + 3600, "Bought")], until=t0 + 6 * 3600)
    out = rows(drv, "a", {"left"})
    assert ("node4", "left", "timeout", "", at(16)) in out
    assert not any(r[0] == "node4" and r[2] == "yes" for r in out)


def test_hourly_offset_minute_and_dst_change(driver):
    # evaluations at HH:15 local
    j = timeout_journey("UTC", minute=15)
    t0 = at(14, 30)
    drv = run(driver, [j], [Event("a", t0, "Reached")], until=t0 + 6 * 3600)
    assert hm(rows(drv, "a", {"left"})[-1][4]) == "16:15"
    # New York springs forward on 2026-03-08 at 02:00 -> 03:00; arrive 01:30 local, 1 h window
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    t1 = to_epoch(dt.datetime(2026, 3, 8, 1, 30, tzinfo=ny))
    drv = run(driver, [timeout_journey("America/New_York")], [Event("b", t1, "Reached")], until=t1 + 6 * 3600)
    left = [r for r in rows(drv, "b", {"left"}) if r[2] == "timeout"][0][4]
    # window ends 1 h later = 03:30 EDT; the next local full hour is 04:00 EDT
    assert dt.datetime.fromtimestamp(left, ny).strftime("%H:%M") == "04:00"
    assert left - t1 == 90 * 60


def cart_inaction() -> Journey:
    j = Journey("Cart", id="cart")
    j.add(Inaction(id="abandoned", event="Added To Cart", absent="Charged", within=15 * M))
    j.then("abandoned", "yes", Push(id="push"))
    return j


def test_inaction_qualifies_at_a_plus_t_exactly(driver):
    t0 = at(10)
    drv = run(
        driver,
        [cart_inaction()],
        [Event("u", t0, "Added To Cart")],
        until=t0 + 3600,
        profiles={"u": {"push_token": "x"}},
    )
    assert rows(drv, "u", {"entered"})[0] == ("abandoned", "entered", "", "entry", t0 + 15 * 60)
    assert rows(drv, "u", {"sent"})[0][4] == t0 + 15 * 60


@pytest.mark.parametrize(("charged_after", "enters"), [(14 * 60 + 59, False), (15 * 60, True), (16 * 60, True)])
def test_inaction_window_is_half_open(charged_after, enters, driver):
    t0 = at(10)
    drv = run(
        driver,
        [cart_inaction()],
        [Event("u", t0, "Added To Cart"), Event("u", t0 + charged_after, "Charged")],
        until=t0 + 3600,
    )
    assert bool(rows(drv, "u", {"entered"})) is enters


def promo(reentry: bool) -> Journey:
    j = Journey("Promo", id="promo", reentry=reentry)
    j.add(Action(id="purchase", event="Charged"))
    j.then("purchase", "yes", Delay(id="wait", duration=20 * M))
    j.then("wait", "next", Push(id="promo", content={"title": "Hi {{first_name|there}}, 20% off"}))
    return j


@pytest.mark.parametrize(("reentry", "pushes"), [(False, 1), (True, 2)])
def test_purchase_then_20_minutes_then_push_with_and_without_reentry(reentry, pushes, driver):
    t0 = at(9)
    prof = {"u": {"push_token": "t", "first_name": "Asha"}}
    evs = [Event("u", t0, "Charged"), Event("u", t0 + 3 * 3600, "Charged")]
    drv = run(driver, [promo(reentry)], evs, until=t0 + 10 * 3600, profiles=prof)
    assert [s.ts - t0 for s in drv.sends] == [20 * 60, 3 * 3600 + 20 * 60][:pushes]
    if driver in KEEPS_STATE:  # the simulators do not keep message contents
        assert drv.sends[0].content == {"title": "Hi Asha, 20% off"}
    # second purchase while inside (10 min later) is ignored even with re-entry
    drv = run(
        driver,
        [promo(True)],
        [Event("u", t0, "Charged"), Event("u", t0 + 600, "Charged")],
        until=t0 + 7200,
        profiles=prof,
    )
    assert len(drv.sends) == 1


def test_journey_1_push_triggers_journey_2(driver):
    j1 = Journey("Journey 1", id="j1")
    j1.add(Action(id="launch", event="App Launched"))
    j1.then("launch", "yes", Push(id="p1"))
    j2 = Journey("Journey 2", id="j2")
    j2.add(JourneyTrigger(id="from_j1", journey="j1", node="p1"))
    j2.then("from_j1", "yes", Delay(id="wait", duration=H))
    j2.then("wait", "next", Email(id="mail"))
    prof = {"sent": {"push_token": "t", "email": "a@x"}, "unreachable": {"email": "b@x"}}
    t0 = at(8)
    drv = run(
        driver,
        [j1, j2],
        [Event("sent", t0, "App Launched"), Event("unreachable", t0, "App Launched")],
        until=t0 + 7200,
        profiles=prof,
    )
    j2_entries = [r for r in drv.trace if r.journey == "j2" and r.event == "entered" and r.detail == "entry"]
    assert [(r.user_id, r.ts) for r in j2_entries] == [("sent", t0)]
    assert [(s.user_id, s.journey, s.ts) for s in drv.sends] == [("sent", "j1", t0), ("sent", "j2", t0 + 3600)]


def ride_tier() -> Journey:
    j = Journey("Ride tier", id="rides", reentry=True)
    j.add(Action(id="ride", event="Ride Completed"))
    j.then("ride", "yes", ProfileUpdate(id="count", property="ride_count", op="increment", value=1))
    j.then("count", "next", ProfileMatch(id="ten", profile=[PropertyFilter(property="ride_count", op=">=", value=10)]))
    j.then("ten", "yes", ProfileUpdate(id="platinum", property="tier", op="set", value="Platinum"))
    return j


def test_ride_count_increment_is_seen_at_once_and_sets_platinum(driver):
    t0 = at(7)
    evs = [Event("r", t0 + i * 3600, "Ride Completed") for i in range(3)]
    drv = run(driver, [ride_tier()], evs, until=t0 + 5 * 3600, profiles={"r": {"ride_count": 8, "tier": "Gold"}})
    if driver in KEEPS_STATE:  # the simulators do not keep final profiles
        prof = drv.profile("r")
        assert prof["ride_count"] == 11 and prof["tier"] == "Platinum"
    ten = [(r.port, r.ts - t0) for r in drv.trace if r.node == "ten" and r.event == "left"]
    assert ten == [("no", 0), ("yes", 3600), ("yes", 7200)]
    upd = [r.detail for r in drv.trace if r.event == "profile_updated"]
    assert upd[:2] == ["ride_count: 8 -> 9", "ride_count: 9 -> 10"] and "tier: 'Gold' -> 'Platinum'" in upd


def pbs_journey(window: dt.timedelta) -> Journey:
    j = Journey("PBS mid-journey", id="pbs")
    j.add(Action(id="start", event="Signed Up"))
    j.then(
        "start",
        "yes",
        PastBehavior(id="active", did=[EventCount(event="App Launched", at_least=1)], days=7, window=window),
    )
    j.then("active", "yes", Push(id="welcome"))
    j.then("active", "timeout", Email(id="fallback"))
    return j


@pytest.mark.parametrize(
    ("window_h", "port", "when"),
    [
        (6, "timeout", (16, 0, 0)),  # window ends 16:00, before the daily evaluation
        (13, "timeout", (23, 0, 0)),
        (14, "timeout", (0, 0, 1)),  # ends exactly at 00:00: half-open, timed out first
        (23, "yes", (0, 0, 1)),  # the daily evaluation at 00:00 falls inside the window
    ],
)
def test_past_behavior_mid_journey_with_short_window_leaves_by_timeout(window_h, port, when, driver):
    # arrives 10:00; the daily evaluation is at 00:00 the next day
    t0 = at(10)
    evs = [Event("u", t0 - 3600, "App Launched"), Event("u", t0, "Signed Up")]
    drv = run(
        driver,
        [pbs_journey(window_h * H)],
        evs,
        until=t0 + 3 * 86400,
        profiles={"u": {"push_token": "t", "email": "e"}},
    )
    left = [(r.port, r.ts) for r in drv.trace if r.node == "active" and r.event == "left"]
    assert left == [(port, at(when[0], when[1], day=when[2]))]


def dnd_journey(mode: str) -> Journey:
    j = Journey("DND", id="dnd", dnd=Dnd(ranges=[DayRange(start=dt.time(22), end=dt.time(8))], mode=mode))
    j.add(Action(id="start", event="Browsed"))
    j.then("start", "yes", Push(id="push"))
    return j


def test_dnd_defer_sends_at_the_end_of_the_period(driver):
    t0 = at(23, 10)
    drv = run(
        driver,
        [dnd_journey("defer")],
        [Event("u", t0, "Browsed"), Event("v", at(12), "Browsed")],
        until=t0 + 86400,
        profiles={"u": {"push_token": "t"}, "v": {"push_token": "t"}},
    )
    assert rows(drv, "u", {"deferred"}) == [("push", "deferred", "", "dnd", t0)]
    assert [(s.user_id, s.ts) for s in drv.sends] == [("v", at(12)), ("u", at(8, day=1))]


def test_dnd_discard_drops_the_send_and_the_user_continues(driver):
    t0 = at(23, 10)
    drv = run(
        driver,
        [dnd_journey("discard")],
        [Event("u", t0, "Browsed")],
        until=t0 + 86400,
        profiles={"u": {"push_token": "t"}},
    )
    assert drv.sends == []
    assert rows(drv, "u", {"discarded", "left", "exited"})[-3:] == [
        ("push", "discarded", "", "dnd", t0),
        ("push", "left", "next", "", t0),
        ("push", "exited", "", "completed", t0),
    ]


def test_a_fourth_goal_is_refused():
    j = promo(False)
    for i in range(3):
        j.add_goal(ActionGoal(name=f"g{i}", event=f"E{i}"))
    with pytest.raises(JourneyDefinitionError) as err:
        j.add_goal(ActionGoal(name="g3", event="E3"))
    assert err.value.path == "$.goals[3]"


def test_pause_blocks_entries_but_inside_users_keep_moving_and_stop_exits_everyone(driver):
    j = promo(True)
    t0 = at(9)
    ctl = Control.running_from(0).with_status(t0 + 60, "paused").with_status(t0 + 7200, "running")
    prof = {u: {"push_token": "t"} for u in "abc"}
    evs = [Event("a", t0, "Charged"), Event("b", t0 + 600, "Charged"), Event("c", t0 + 7300, "Charged")]
    drv = run(driver, [j], evs, until=t0 + 86400, profiles=prof, controls={"promo": ctl})
    assert [(s.user_id, s.ts - t0) for s in drv.sends] == [("a", 1200), ("c", 7300 + 1200)]
    # stop: users inside exit "stopped" at once, no sends afterwards
    ctl = Control.running_from(0).with_status(t0 + 300, "stopped")
    drv = run(
        driver,
        [j],
        [Event("a", t0, "Charged"), Event("b", t0 + 400, "Charged")],
        until=t0 + 86400,
        profiles=prof,
        controls={"promo": ctl},
    )
    assert drv.sends == []
    assert rows(drv, None, {"exited"}) == [("wait", "exited", "", "stopped", t0 + 300)]


def test_goal_wins_over_the_node_and_is_not_reused_for_reentry(driver):
    j = Journey("Goal", id="g", reentry=True)
    j.add(Action(id="start", event="Added To Cart"))
    j.then("start", "yes", Action(id="buy", event="Charged", window=H))
    j.then("buy", "yes", Push(id="p"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    j2 = Journey("Goal2", id="g2", reentry=True)
    j2.add(Action(id="start", event="Charged"))
    j2.then("start", "yes", Action(id="again", event="Charged", window=H))
    j2.add_goal(ActionGoal(name="Purchase", event="Charged"))
    t0 = at(9)
    drv = run(
        driver,
        [j, j2],
        [Event("u", t0, "Added To Cart"), Event("u", t0 + 60, "Charged"), Event("u", t0 + 120, "Charged")],
        until=t0 + 7200,
        profiles={"u": {"push_token": "t"}},
    )
    g = rows(drv, "u", {"exited", "entered"})
    assert ("buy", "exited", "", "goal:Purchase", t0 + 60) in g
    assert not drv.sends
    # in g2 the first Charged enters; the second is a goal (not the node); no re-entry from it
    g2 = [
        (r.node, r.event, r.detail, r.ts - t0)
        for r in drv.trace
        if r.journey == "g2" and r.event in ("entered", "exited")
    ]
    assert g2 == [
        ("start", "entered", "entry", 60),
        ("again", "entered", "", 60),
        ("again", "exited", "goal:Purchase", 120),
    ]


def test_viewed_connector_phantom_window(driver):
    j = Journey("Phantom", id="ph")
    j.add(Action(id="start", event="Go"))
    j.then("start", "yes", Push(id="push", response_window=2 * H))
    j.then("push", "viewed", Email(id="viewed_mail"))
    j.then("push", "timeout", Email(id="late_mail"))
    t0 = at(9, 30)
    prof = {"a": {"push_token": "t", "email": "e"}, "b": {"push_token": "t", "email": "e"}}
    mid_a = "ph:1:a:1:push:1"
    drv = run(
        driver,
        [j],
        [Event("a", t0, "Go"), Event("b", t0, "Go"), Feedback("a", t0 + 600, mid_a, "viewed")],
        until=t0 + 86400,
        profiles=prof,
    )
    assert ("push", "left", "viewed", "", t0 + 600) in rows(drv, "a")
    # b: window ends 11:30, leaves by timeout at the 12:00 evaluation
    assert ("push", "left", "timeout", "", at(12)) in rows(drv, "b")


def test_an_event_that_acted_does_not_also_start_an_inaction_entry_wait(driver):
    """SPEC §3: each event acts at most once; an event that met a goal, moved the user out of a
    node or ended the enrollment does not also start an Inaction entry's wait — only a later A can."""
    j = Journey("Cart", id="cart", reentry=True)
    j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=15 * M))
    j.then("cart", "yes", Delay(id="wait", duration=24 * H))
    j.add_goal(ActionGoal(name="Again", event="Added To Cart"))
    drv = run(
        driver,
        [j],
        [Event("u", at(0), "Added To Cart"), Event("u", at(1), "Added To Cart"), Event("u", at(3), "Added To Cart")],
        until=at(12),
    )
    assert rows(drv, "u", {"entered", "exited"}) == [
        ("cart", "entered", "", "entry", at(0, 15)),
        ("wait", "entered", "", "", at(0, 15)),
        ("wait", "exited", "", "goal:Again", at(1)),
        ("cart", "entered", "", "entry", at(3, 15)),  # a later A, not the one that met the goal
        ("wait", "entered", "", "", at(3, 15)),
    ]


@pytest.mark.parametrize("goal", [False, True])
def test_a_journey_entered_by_a_trigger_does_not_see_the_event_that_caused_the_pass(goal, driver):
    """SPEC §3 (issue 21): the trigger entry comes after the instant's timers and after the event
    has gone through every journey; the triggered journey's nodes and goals do not see that
    event, and the result is the same whatever order the journeys are listed in."""
    from journeylab.model import JourneyTrigger, Sms

    j1 = Journey("J1", id="j1")
    j1.add(Action(id="e", event="Y"))
    j1.then("e", "yes", Sms(id="n0"))
    j2 = Journey("J2", id="j2")
    j2.add(JourneyTrigger(id="t", journey="j1", node="n0"))
    if goal:
        j2.then("t", "yes", Delay(id="n0", duration=H))
        j2.add_goal(ActionGoal(name="Again", event="Y"))
    else:
        j2.then("t", "yes", Inaction(id="n0", absent="Y", within=H))
    traces = []
    for order in ([j1, j2], [j2, j1]):
        drv = run(
            driver,
            order,
            [Event("u0", at(10), "Y"), Event("u0", at(10, 30), "Z")],
            until=at(23),
            profiles={"u0": {"phone": "+1"}},
        )
        traces.append(drv.canonical_trace())
        assert rows(drv, "u0", {"entered", "left", "exited"}) == [
            ("e", "entered", "", "entry", at(10)),
            ("e", "left", "yes", "", at(10)),
            ("n0", "entered", "", "", at(10)),
            ("n0", "left", "next", "", at(10)),
            ("n0", "exited", "", "completed", at(10)),
            ("t", "entered", "", "entry", at(10)),
            ("t", "left", "yes", "", at(10)),
            ("n0", "entered", "", "", at(10)),
            ("n0", "left", "next" if goal else "yes", "", at(11)),
            ("n0", "exited", "", "completed", at(11)),
        ]
    assert traces[0] == traces[1]
    # a later event at the same instant does count
    drv = run(
        driver,
        [j2, j1],
        [Event("u0", at(10), "Y"), Event("u0", at(10), "Y")],
        until=at(23),
        profiles={"u0": {"phone": "+1"}},
    )
    assert [(r.node, r.port or r.detail) for r in drv.trace if r.journey == "j2" and r.event in ("left", "exited")] == (
        [("t", "yes"), ("n0", "goal:Again")] if goal else [("t", "yes"), ("n0", "no"), ("n0", "completed")]
    )
