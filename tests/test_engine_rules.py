"""Engine rules beyond the worked examples: every entry kind, segment, delay form and send rule,
through every driver where the inputs are a cohort's (the ``driver`` fixture); the policies
for late, duplicate and profile inputs, which only the engine API and the runtime take, through
the reference driver."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from drivers import KEEPS_STATE
from test_engine_examples import at, run

from journeylab.engine import Control, Event, Feedback, ProfileSet, ReferenceDriver, to_epoch
from journeylab.model import (
    AccountPolicy,
    Action,
    ActionGoal,
    CustomList,
    DateTime,
    DayRange,
    Delay,
    Email,
    EventCount,
    InApp,
    Journey,
    Limit,
    PageCount,
    PageVisit,
    PastBehavior,
    PastBehaviorGoal,
    ProfileUpdate,
    PropertyFilter,
    Push,
    Recurring,
    Referrer,
    Split,
    SplitBranch,
)

H = dt.timedelta(hours=1)
PUSH = {"push_token": "t", "email": "e"}


def test_action_entry_property_filters_and_profile_filters(driver):
    j = Journey("Shoes", id="shoes")
    j.add(
        Action(
            id="buy",
            event="Charged",
            filters=[PropertyFilter(property="item", op="in", value=["Red Nike Shoes"])],
            profile=[PropertyFilter(property="city", op="!=", value="Pune")],
        )
    )
    j.then("buy", "yes", Push(id="p"))
    t = at(9)
    evs = [
        Event("a", t, "Charged", {"item": "Blue"}),
        Event("a", t + 60, "Charged", {"item": "Red Nike Shoes"}),
        Event("b", t, "Charged", {"item": "Red Nike Shoes"}),
    ]
    drv = run(driver, [j], evs, until=t + 3600, profiles={"a": {**PUSH, "city": "Goa"}, "b": {**PUSH, "city": "Pune"}})
    assert [(r.user_id, r.ts - t) for r in drv.trace if r.detail == "entry"] == [("a", 60)]


def test_page_visit_referrer_and_page_count_entries_with_sessions(driver):
    jv = Journey("Visit", id="visit")
    jv.add(PageVisit(id="v", url="/cart", match="prefix"))
    jv.then("v", "yes", Push(id="p"))
    jr = Journey("Ref", id="ref")
    jr.add(Referrer(id="r", source="facebook"))
    jr.then("r", "yes", Push(id="p"))
    jc = Journey("Count", id="count")
    jc.add(PageCount(id="c", count=3))
    jc.then("c", "yes", Push(id="p"))
    t = at(9)
    pv = "Page Viewed"
    evs = [
        Event("u", t, pv, {"url": "/", "referrer": "https://google.com"}),
        Event("u", t + 60, pv, {"url": "/cart?x=1", "referrer": "https://facebook.com"}),  # not first in session
        Event("u", t + 120, pv, {"url": "/p"}),  # 3rd page of the session
        Event("u", t + 120 + 1800, pv, {"url": "/", "utm_source": "facebook"}),  # new session (30 min gap)
    ]
    drv = run(driver, [jv, jr, jc], evs, until=t + 7200, profiles={"u": PUSH})
    entries = {(r.journey, r.ts - t) for r in drv.trace if r.detail == "entry"}
    assert entries == {("visit", 60), ("count", 120), ("ref", 1920)}


def test_a_session_that_began_before_the_start_counts_its_earlier_pages(driver):
    """The journey starts at 10:00; a session runs from 09:00 in views 20 minutes apart (each
    within the 30-minute gap), so the view at 10:05 is its 5th page: 'count' (3rd page of a
    session) does not enter — the session's 3rd page was before the start — and 'five' (5th
    page) enters at 10:05. The simulators used to feed pages from one gap before the start only
    and counted 10:05 as the 3rd page. Another user's session breaks at 09:20 -> 10:00 (a
    40-minute gap): their 10:00 view starts a new session."""
    start = at(10)
    jc = Journey("Count", id="count", start=dt.datetime.fromtimestamp(start, dt.UTC))
    jc.add(PageCount(id="c", count=3))
    jc.then("c", "yes", Push(id="p"))
    j5 = Journey("Five", id="five", start=dt.datetime.fromtimestamp(start, dt.UTC))
    j5.add(PageCount(id="c", count=5))
    j5.then("c", "yes", Push(id="p"))
    pv = "Page Viewed"
    evs = sorted(
        [
            *(Event("u", at(9, m), pv, {"url": "/"}) for m in (0, 20, 40)),
            Event("u", at(10, 0), pv, {"url": "/"}),
            Event("u", at(10, 5), pv, {"url": "/"}),
            Event("u", at(10, 10), pv, {"url": "/"}),
            Event("w", at(9, 0), pv, {"url": "/"}),
            Event("w", at(9, 20), pv, {"url": "/"}),
            *(Event("w", at(10, m), pv, {"url": "/"}) for m in (0, 1, 2)),
        ],
        key=lambda e: e.ts,
    )
    drv = run(driver, [jc, j5], evs, until=at(12), profiles={"u": PUSH, "w": PUSH}, start=start, created=at(0))
    entries = sorted((r.journey, r.user_id, r.ts) for r in drv.trace if r.detail == "entry")
    assert entries == [("count", "w", at(10, 2)), ("five", "u", at(10, 5))]


def test_segments_after_entry_inaction_date_time_and_past_behavior(driver):
    j = Journey("Mid", id="mid")
    j.add(Action(id="s", event="Start"))
    j.then("s", "yes", DateTime(id="flight", property="flight", offset=-2 * H, window=dt.timedelta(days=2)))
    j.then("flight", "yes", Push(id="reminder"))
    j.then("flight", "no", Email(id="too_late"))
    t = at(8)
    prof = {
        "soon": {**PUSH, "flight": dt.datetime.fromtimestamp(t + 5 * 3600, dt.UTC)},
        "past": {**PUSH, "flight": (dt.datetime.fromtimestamp(t + 3600, dt.UTC)).isoformat()},
        "none": PUSH,
    }
    drv = run(driver, [j], [Event(u, t, "Start") for u in prof], until=t + 86400, profiles=prof)
    left = {(r.user_id, r.port, r.ts - t) for r in drv.trace if r.node == "flight" and r.event == "left"}
    assert left == {("soon", "yes", 3 * 3600), ("past", "no", 0), ("none", "no", 0)}


def test_every_delay_form(driver):
    j = Journey("Delays", id="delays", timezone="Asia/Kolkata")
    j.add(Action(id="s", event="Go"))
    j.then("s", "yes", Delay(id="d1", duration=dt.timedelta(minutes=90)))
    j.then("d1", "next", Delay(id="d2", at_time=dt.time(10, 0), weekdays=["sat"]))
    j.then("d2", "next", Delay(id="d3", property="renewal", offset=-H))
    j.then("d3", "next", Push(id="p"))
    ist = ZoneInfo("Asia/Kolkata")
    t = to_epoch(dt.datetime(2026, 3, 2, 9, 0, tzinfo=ist))  # Monday 09:00 IST
    renewal = dt.datetime(2026, 3, 9, 12, 0, tzinfo=ist)
    drv = run(driver, [j], [Event("u", t, "Go")], until=t + 14 * 86400, profiles={"u": {**PUSH, "renewal": renewal}})
    left = {
        r.node: dt.datetime.fromtimestamp(r.ts, ist) for r in drv.trace if r.event == "left" and r.node.startswith("d")
    }
    assert left["d1"] == dt.datetime(2026, 3, 2, 10, 30, tzinfo=ist)
    assert left["d2"] == dt.datetime(2026, 3, 7, 10, 0, tzinfo=ist)  # next Saturday 10:00
    assert left["d3"] == dt.datetime(2026, 3, 9, 11, 0, tzinfo=ist)


def test_split_is_deterministic_per_user_and_seed_and_follows_percentages(driver):
    j = Journey("AB", id="ab")
    j.add(Action(id="s", event="Go"))
    j.then("s", "yes", Split(id="sp", branches=[SplitBranch(name="A", percent=30), SplitBranch(name="B", percent=70)]))
    users = {f"u{i}": {} for i in range(2000)}
    t = at(9)
    evs = [Event(u, t, "Go") for u in users]

    def branches(name, seed):
        drv = run(name, [j], evs, until=t + 60, profiles=users, seed=seed)
        return {r.user_id: r.port for r in drv.trace if r.node == "sp" and r.event == "left"}

    a, b, c = branches(driver, 1), branches("reference", 1), branches("reference", 2)
    assert a == b and b != c  # the same branch for each user in every driver; another seed, other branches
    share = sum(p == "A" for p in a.values()) / len(a)
    assert len(a) == 2000 and 0.27 < share < 0.33


def test_fixed_send_time_frequency_windows_and_campaign_limits(driver):
    j = Journey("Sends", id="sends", limits=[Limit(max=1, per="day", channel="push")])
    j.add(Action(id="s", event="Go"))
    j.then("s", "yes", Push(id="morning", send_at=dt.time(9, 30)))
    j.then("morning", "next", Push(id="again"))
    j.then(
        "again",
        "next",
        InApp(id="banner", frequency=[DayRange(days=["mon", "tue"], start=dt.time(8), end=dt.time(20))]),
    )
    j.then("banner", "next", Email(id="mail"))
    t = at(11)  # Monday 11:00
    drv = run(driver, [j], [Event("u", t, "Go")], until=t + 2 * 86400, profiles={"u": PUSH})
    got = [(r.node, r.event, r.detail, r.ts) for r in drv.trace if r.event in ("sent", "discarded")]
    assert got == [
        ("morning", "sent", "push", at(9, 30, day=1)),  # next 09:30
        ("again", "discarded", "limit", at(9, 30, day=1)),  # one push a day
        ("banner", "sent", "in_app", at(9, 30, day=1)),  # Tuesday inside the window
        ("mail", "sent", "email", at(9, 30, day=1)),
    ]
    drv = run(driver, [j], [Event("u", at(11, day=2), "Go")], until=at(0, day=5), profiles={"u": PUSH})
    banner = [(r.event, r.detail) for r in drv.trace if r.node == "banner" and r.event in ("sent", "discarded")]
    assert banner == [("discarded", "frequency")]  # Thursday: outside the in-app windows


def test_unreachable_goes_by_not_sent_when_drawn(driver):
    j = Journey("Reach", id="reach")
    j.add(Action(id="s", event="Go"))
    j.then("s", "yes", Push(id="p"))
    j.then("p", "not_sent", Email(id="fallback"))
    drv = run(driver, [j], [Event("u", at(9), "Go")], until=at(10), profiles={"u": {"email": "e"}})
    assert [(r.node, r.event, r.port, r.detail) for r in drv.trace if r.event in ("discarded", "left")][-3:] == [
        ("p", "discarded", "", "unreachable"),
        ("p", "left", "not_sent", ""),
        ("fallback", "left", "next", ""),
    ]


def test_scheduled_past_behavior_entry_monthly_and_past_behavior_goal(driver):
    j = Journey(
        "Monthly",
        id="monthly",
        timezone="Asia/Kolkata",
        schedule=Recurring(every="month", day_of_month=1, time=dt.time(10, 0)),
        journey_timeout=dt.timedelta(days=20),
        reentry=True,
    )
    j.add(PastBehavior(id="due", did=[EventCount(event="Bill Generated")], days=40))
    j.then("due", "yes", Delay(id="wait", duration=dt.timedelta(days=10)))
    j.then("wait", "next", Push(id="remind"))
    j.add_goal(PastBehaviorGoal(name="Paid", did=[EventCount(event="Bill Paid")], days=2))
    ist = ZoneInfo("Asia/Kolkata")
    t0 = to_epoch(dt.datetime(2026, 1, 20, tzinfo=ist))
    evs = [
        Event("payer", t0, "Bill Generated"),
        Event("late", t0, "Bill Generated"),
        Event("payer", to_epoch(dt.datetime(2026, 2, 3, 15, 0, tzinfo=ist)), "Bill Paid"),
    ]
    drv = run(
        driver,
        [j],
        evs,
        until=to_epoch(dt.datetime(2026, 3, 15, tzinfo=ist)),
        profiles={"payer": PUSH, "late": PUSH, "never": PUSH},
        start=t0,
    )
    entries = sorted(
        (r.user_id, dt.datetime.fromtimestamp(r.ts, ist).strftime("%m-%d %H:%M"))
        for r in drv.trace
        if r.detail == "entry"
    )
    assert entries == [("late", "02-01 10:00"), ("payer", "02-01 10:00")]  # March: history older than 40 days
    exits = {
        r.user_id: (r.detail, dt.datetime.fromtimestamp(r.ts, ist).strftime("%m-%d %H:%M"))
        for r in drv.trace
        if r.event == "exited"
    }
    assert exits["payer"] == ("goal:Paid", "02-04 00:00")  # past-behaviour goal: next daily evaluation
    assert exits["late"] == ("completed", "02-11 10:00")


def test_custom_list_entry_and_profile_array_ops(driver):
    j = Journey("POS", id="pos", start=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    j.add(CustomList(id="list", users=["a", "b"]))
    j.then("list", "yes", ProfileUpdate(id="fav", property="shows", op="add", value="Gotham"))
    j.then("fav", "next", ProfileUpdate(id="unfav", property="shows", op="remove", value="Lost"))
    j.then("unfav", "next", ProfileUpdate(id="trials", property="trials", op="decrement"))
    prof = {"a": {"shows": ["Lost"], "trials": 3}, "b": {}, "c": {}}
    drv = run(driver, [j], [], until=at(12), profiles=prof, created=at(0))
    assert sorted(r.user_id for r in drv.trace if r.detail == "entry") == ["a", "b"]
    updates = {(r.user_id, r.node): r.detail for r in drv.trace if r.event == "profile_updated"}
    assert updates[("a", "unfav")] == "shows: ['Lost', 'Gotham'] -> ['Gotham']"
    assert updates[("b", "trials")] == "trials: None -> -1"
    if driver in KEEPS_STATE:  # the simulators do not keep final profiles
        assert drv.profile("a") == {"shows": ["Gotham"], "trials": 2}
        assert drv.profile("b") == {"shows": ["Gotham"], "trials": -1}


def test_custom_list_users_enter_whatever_the_driver_knows_of_them(driver):
    """A list names 'a' (a profile), 'e' (events only) and 'z' (neither): all three enter at the
    run in every driver: the runtime registers listed users up front, the simulator adds them
    to its users, and the sharded backend gives each to exactly one shard."""
    j = Journey("POS", id="pos", start=dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC))
    j.add(CustomList(id="list", users=["a", "z", "e"]))
    j.then("list", "yes", ProfileUpdate(id="n", property="n", op="increment"))
    drv = run(driver, [j], [Event("e", at(1), "Browsed", {}, "x1")], until=at(12), profiles={"a": {}}, created=at(0))
    entries = [(r.user_id, r.ts) for r in drv.trace if r.detail == "entry"]
    assert sorted(entries) == [("a", at(10)), ("e", at(10)), ("z", at(10))]


def test_late_and_duplicate_inputs_follow_the_policy():
    j = Journey("Promo", id="promo", reentry=True)
    j.add(Action(id="s", event="Charged"))
    j.then("s", "yes", Delay(id="wait", duration=dt.timedelta(minutes=20)))
    j.then("wait", "next", Push(id="p"))
    t = at(9)
    drv = ReferenceDriver([j.definition], controls={"promo": Control.running_from(0)}, profiles={"u": PUSH})
    drv.feed([Event("u", t, "Charged", {}, "e1"), Event("u", t + 3600, "Charged", {}, "e1")])  # duplicate id
    drv.run_until(t + 7200)
    assert len(drv.sends) == 1
    drv.feed([Event("u", t + 7300, "Charged", {}, "e2"), Event("u", t + 7000, "Charged", {}, "e3")])  # e3 is late
    drv.run_until(t + 4 * 3600)
    entries = [r.ts - t for r in drv.trace if r.detail == "entry"]
    assert entries == [0, 7300]  # e3 arrived while the user was inside (at the user's clock): ignored
    drv.feed([Event("u", t + 5 * 3600, "Charged", {}, "e4"), Event("u", t + 4 * 3600, "Charged", {}, "e5")])
    drv.run_until(t + 8 * 3600)
    entries = [r.ts - t for r in drv.trace if r.detail == "entry"]
    assert entries[-1] == 5 * 3600  # the late e5 acts at the user's clock (5 h), while they are inside


def test_profile_set_input_and_feedback_after_exit_is_recorded_but_moves_nobody():
    j = Journey("P", id="p")
    j.add(Action(id="s", event="Go"))
    j.then("s", "yes", Push(id="push"))
    t = at(9)
    drv = ReferenceDriver([j.definition], controls={"p": Control.running_from(0)}, profiles={"u": {}})
    drv.feed([ProfileSet("u", t - 60, {"push_token": "new"}), Event("u", t, "Go")])
    assert len(drv.sends) == 1
    n = len(drv.trace)
    drv.feed(
        [
            Feedback("u", t + 60, drv.sends[0].id, "viewed"),
            Feedback("u", t + 90, drv.sends[0].id, "viewed"),
            Feedback("u", t + 99, "p:1:u:1:nope:1", "clicked"),
        ]
    )
    # the user completed at once; the view of their message still counts, once, and moves nobody
    assert [(r.node, r.event) for r in drv.trace[n:]] == [("push", "viewed")]
    assert drv.users["u"]["p"].active is None


def test_timers_due_at_one_instant_go_in_the_order_of_the_one_timer_list(driver):
    """engine.core.TIMER_RULES is the order at one instant; next_wake and firing both read it."""
    from journeylab.engine.core import TIMER_RULES

    assert TIMER_RULES.index("stopped") < TIMER_RULES.index("goal_evaluation") < TIMER_RULES.index("journey_timeout")
    assert TIMER_RULES.index("journey_timeout") < TIMER_RULES.index("window_end") < TIMER_RULES.index("node_timeout")
    # stop and journey timeout at the same instant: stopped
    j = Journey("T", id="t", journey_timeout=dt.timedelta(hours=2))
    j.add(Action(id="a", event="Go"))
    j.then("a", "yes", Action(id="b", event="Never", window=dt.timedelta(hours=2)))
    t0 = at(9)
    stop = Control.running_from(0).with_status(t0 + 7200, "stopped")
    drv = run(driver, [j], [Event("u", t0, "Go")], until=t0 + 86400, controls={"t": stop})
    assert [(r.event, r.detail, r.ts - t0) for r in drv.trace if r.event in ("exited", "timed_out")] == [
        ("exited", "stopped", 7200)
    ]
    # journey timeout and window end at the same instant: the journey timeout, no timed_out row
    drv = run(driver, [j], [Event("u", t0, "Go")], until=t0 + 86400)
    assert [(r.event, r.detail, r.ts - t0) for r in drv.trace if r.event in ("exited", "timed_out")] == [
        ("exited", "journey_timeout", 7200)
    ]
    # a past-behaviour goal evaluated at 00:00 and a journey timeout at 00:00: the goal
    g = Journey("G", id="g", journey_timeout=dt.timedelta(hours=15))
    g.add(Action(id="a", event="Go"))
    g.then("a", "yes", Delay(id="d", duration=dt.timedelta(days=3)))
    g.add_goal(PastBehaviorGoal(name="Active", did=[EventCount(event="Go")], days=1))
    drv = run(driver, [g], [Event("u", t0, "Go")], until=t0 + 86400)
    assert [(r.event, r.detail, r.ts) for r in drv.trace if r.event == "exited"] == [
        ("exited", "goal:Active", at(0, day=1))
    ]


# ------------------------------------------------------------------ experiments (issue 17)


def _holdout_journey(**settings) -> Journey:
    j = Journey("Holdout", id="hold", journey_timeout=dt.timedelta(days=1), **settings)
    j.add(Action(id="go", event="Go"))
    j.then(
        "go",
        "yes",
        Split(
            id="ab", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="hold", percent=50, control=True)]
        ),
    )
    j.then("ab", "A", Push(id="p"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    return j


def test_a_control_branch_is_never_messaged_and_its_goals_are_tracked(driver):
    t = at(9)
    users = [f"u{i:02d}" for i in range(24)]
    evs = [Event(u, t, "Go") for u in users] + [Event(u, t + 3600, "Charged") for u in users[::2]]
    drv = run(driver, [_holdout_journey()], evs, until=t + 2 * 86400, profiles={u: dict(PUSH) for u in users})
    held = {r.user_id for r in drv.trace if r.event == "held"}
    assert {(r.node, r.port) for r in drv.trace if r.event == "held"} == {("ab", "hold")}
    assert 0 < len(held) < len(users)  # the split drew users into both branches
    sent = {s.user_id for s in drv.sends}
    assert sent == set(users) - held  # every A user got the push, no control user did
    exits = {r.user_id: (r.node, r.detail, r.ts - t) for r in drv.trace if r.event == "exited"}
    for u in held:  # held at the Split until the goal or the journey timeout
        assert exits[u] == (("ab", "goal:Purchase", 3600) if u in users[::2] else ("ab", "journey_timeout", 86400))
    assert not [
        r
        for r in drv.trace
        if r.user_id in held and ((r.event == "left" and r.node == "ab") or r.event in ("sent", "discarded"))
    ]


def test_a_goal_event_within_the_attribution_window_after_exit_converts_once(driver):
    j = Journey("Promo", id="promo", attribution_window=2 * H)
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="p"))  # leaving the push by `next` completes the journey at once
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    t = at(9)
    evs = [Event(u, t, "Go") for u in ("a", "b", "c", "d")]
    evs += [
        Event("a", t + 3600, "Charged"),  # within 2 h: a conversion after exit
        Event("b", t + 3 * 3600, "Charged"),  # too late
        Event("c", t + 1800, "Charged"),
        Event("c", t + 3600, "Charged"),  # counted once
        Event("d", t + 2 * 3600, "Charged"),
    ]  # exactly at the end of the window: too late
    drv = run(driver, [j], evs, until=t + 86400, profiles={u: dict(PUSH) for u in "abcd"})
    conv = [(r.user_id, r.node, r.detail, r.ts - t) for r in drv.trace if r.event == "converted"]
    assert conv == [("c", "p", "goal:Purchase", 1800), ("a", "p", "goal:Purchase", 3600)]
    assert all(r.detail == "completed" for r in drv.trace if r.event == "exited")


def test_without_an_attribution_window_a_purchase_after_exit_is_no_conversion(driver):
    j = Journey("Promo", id="promo")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="p"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    t = at(9)
    drv = run(
        driver, [j], [Event("a", t, "Go"), Event("a", t + 600, "Charged")], until=t + 86400, profiles={"a": dict(PUSH)}
    )
    assert not [r for r in drv.trace if r.event == "converted"]


def test_an_unsubscribed_feedback_opts_the_user_out_of_that_channel(driver):
    j = Journey("Twice", id="tw", reentry=True)
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="p"))
    j.then("p", "next", Email(id="m"))
    t = at(9)
    mid = "tw:1:a:1:p:1"
    evs = [
        Event("a", t, "Go"),
        Feedback("a", t + 60, mid, "unsubscribed"),
        Feedback("a", t + 120, mid, "unsubscribed"),  # the link clicked twice: one opt-out
        Event("a", t + 3600, "Go"),
    ]
    drv = run(driver, [j], evs, until=t + 86400, profiles={"a": dict(PUSH)})
    assert [(r.node, r.detail, r.ts - t) for r in drv.trace if r.event == "unsubscribed"] == [("p", "push", 60)]
    # the second enrollment: the push is refused for consent, the email (another channel) still goes
    second = [(r.node, r.event, r.detail) for r in drv.trace if r.ts == t + 3600 and r.event in ("sent", "discarded")]
    assert second == [("p", "discarded", "consent"), ("m", "sent", "email")]
    if driver in KEEPS_STATE:
        assert drv.profile("a")["push_opt_out"] is True


def test_an_unsubscribed_feedback_is_the_unsubscribe_event_of_its_channel(driver):
    """One consent rule: a message's unsubscribe link (``unsubscribed`` feedback) makes the change
    the channel's ``Unsubscribed`` event makes, and is refused the same way; with consent off it
    is recorded and nobody is refused."""
    j = Journey("Again", id="ag", reentry=True)
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="p"))
    t = at(9)
    evs = [
        *(Event(u, t, "Go") for u in "abc"),
        Feedback("a", t + 60, "ag:1:a:1:p:1", "unsubscribed"),
        Event("b", t + 60, "Unsubscribed", {"channel": "push"}),
        Event("c", t + 60, "Unsubscribed", {"channel": "email"}),
        *(Event(u, t + 3600, "Go") for u in "abc"),
    ]
    profiles = {u: dict(PUSH) for u in "abc"}

    def second(policy=None):
        drv = run(driver, [j], evs, until=t + 86400, profiles=profiles, policy=policy)
        out = sorted(
            (r.user_id, r.event, r.detail) for r in drv.trace if r.ts == t + 3600 and r.event in ("sent", "discarded")
        )
        return out, [(r.user_id, r.detail) for r in drv.trace if r.event == "unsubscribed"]

    assert second() == (
        [("a", "discarded", "consent"), ("b", "discarded", "consent"), ("c", "sent", "push")],
        [("a", "push")],
    )
    off = AccountPolicy(consent=None)
    assert second(off) == ([("a", "sent", "push"), ("b", "sent", "push"), ("c", "sent", "push")], [("a", "push")])
