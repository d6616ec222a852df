"""Regressions of engine rules found by independent checks (issue 13), through the reference
driver and the simulator (1 and 2 workers)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from journeylab.engine import Control, Event, ReferenceDriver
from journeylab.model import Action, ActionGoal, Delay, Inaction, Journey
from journeylab.sim import BehaviourModel, simulate
from journeylab.trace import trace_rows

T0 = pd.Timestamp("2026-03-02 00:00", tz="UTC")  # a Monday
H = dt.timedelta(hours=1)


def s(hh: float) -> int:
    return int((T0 + pd.Timedelta(hours=hh)).timestamp())


def traces(j: Journey, events: list[tuple[str, float, str]], until_h: float, profiles=None):
    """The trace of one journey through the reference driver and the simulator (1 and 2 workers,
    nobody responding to a message), as ``(user, hour, node, event, port, detail)`` rows; asserts
    the drivers agree."""
    profiles = profiles or {u: {"push_token": "t"} for u, _, _ in events}
    drv = ReferenceDriver([j.definition], controls={j.id: Control.running_from(s(0))}, profiles=profiles, created=s(0))
    drv.feed([Event(u, s(h), name) for u, h, name in sorted(events, key=lambda x: x[1])])
    drv.run_until(s(until_h) - 1)
    ref = [tuple(r) for r in drv.canonical_trace()]
    prof = pd.DataFrame([{"user_id": u, **p} for u, p in profiles.items()])
    ev = pd.DataFrame(
        {
            "user_id": [u for u, _, _ in events],
            "ts": [T0 + pd.Timedelta(hours=h) for _, h, _ in events],
            "event": [n for _, _, n in events],
        }
    )
    for workers in (1, 2):
        res = simulate(
            j, (prof, ev), T0, T0 + pd.Timedelta(hours=until_h), workers=workers, behaviour=BehaviourModel.silent()
        )
        assert trace_rows(res.trace) == ref, f"simulate(workers={workers}) differs from the reference driver"
    return [(r[0], (r[1] - s(0)) / 3600, r[4], r[5], r[6], r[7]) for r in ref]


def _inaction_entry(goal: str | None) -> Journey:
    j = Journey("Cart", id="cart", reentry=True)
    j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
    j.then("cart", "yes", Delay(id="wait", duration=dt.timedelta(days=1)))
    if goal:
        j.add_goal(ActionGoal(name="Again", event=goal))
    return j


def test_an_event_that_meets_a_goal_does_not_also_start_an_inaction_entry_wait():
    rows = traces(_inaction_entry("Added To Cart"), [("u", 0, "Added To Cart"), ("u", 1, "Added To Cart")], 48)
    assert [(h, node, ev, port, det) for _, h, node, ev, port, det in rows] == [
        (0.25, "cart", "entered", "", "entry"),
        (0.25, "cart", "left", "yes", ""),
        (0.25, "wait", "entered", "", ""),
        (1.0, "wait", "exited", "", "goal:Again"),
    ]


def test_an_event_that_does_not_act_still_starts_the_wait_with_reentry():
    # the 01:00 event neither meets a goal nor moves the user (she waits at a delay): after the
    # journey timeout she is out, and that event's wait matures into a second entry
    j = _inaction_entry(None)
    j.configure(journey_timeout=dt.timedelta(minutes=20))  # inside 00:15-00:35
    rows = traces(j, [("u", 0, "Added To Cart"), ("u", 0.5, "Added To Cart")], 24)
    assert [(h, ev, det) for _, h, node, ev, _, det in rows if ev in ("exited",) or det == "entry"] == [
        (0.25, "entered", "entry"),
        (35 / 60, "exited", "journey_timeout"),
        (0.75, "entered", "entry"),
        (65 / 60, "exited", "journey_timeout"),
    ]


@pytest.mark.parametrize("ends", [True, False])
def test_an_event_that_moves_the_user_out_of_a_node_does_not_also_start_an_inaction_entry_wait(ends):
    j = Journey("Cart", id="cart", reentry=True)
    j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
    j.then("cart", "yes", Action(id="again", event="Added To Cart", window=dt.timedelta(hours=4)))
    if not ends:
        j.then("again", "yes", Delay(id="wait", duration=dt.timedelta(hours=2)))
    rows = traces(j, [("u", 0, "Added To Cart"), ("u", 1, "Added To Cart")], 48)
    entries = [h for _, h, node, ev, _, det in rows if ev == "entered" and det == "entry"]
    assert entries == [0.25], rows
    left = [(h, node, port) for _, h, node, ev, port, _ in rows if ev == "left"]
    assert (1.0, "again", "yes") in left


@pytest.mark.parametrize("minute", [7, 1, 22, 59])
def test_any_hourly_offset_minute_runs_and_moves_by_timeout_at_that_minute(minute):
    """Regression: hourly_offset_minutes not a multiple of 15 raised AssertionError in every driver."""
    j = Journey("Offset", id="offset", hourly_offset_minutes=minute)
    j.add(Action(id="x", event="X"))
    j.then("x", "yes", Action(id="again", event="X", window=H))
    j.then("again", "timeout", Delay(id="wait", duration=H))
    rows = traces(j, [("u", 10.5, "X"), ("u", 28.5, "Y")], 40)
    left = [(round(h * 60), node, port) for _, h, node, ev, port, _ in rows if ev == "left"]
    # window 10:30 + 1 h = 11:30 -> the first HH:MM evaluation at or after it
    first = 11 * 60 + minute if minute >= 30 else 12 * 60 + minute
    assert left == [(630, "x", "yes"), (first, "again", "timeout"), (first + 60, "wait", "next")]


def test_a_user_sent_at_one_due_node_is_not_sent_again_at_the_next_in_the_same_step():
    """Two users due to send at the same step of the batched engine, at two nodes: the one sent
    at the first node moves on to the second, whose send time is later that day; being due at
    the second node is the other user's, not theirs (found by the random parts test)."""
    from journeylab.model import Push

    j = Journey("Twice", id="twice")
    j.add(Action(id="cart", event="Added To Cart"))
    j.then("cart", "yes", Push(id="first", content={"title": "a"}, send_at=dt.time(0, 0)))
    j.then("first", "next", Push(id="second", content={"title": "b"}, send_at=dt.time(9, 30)))
    rows = traces(j, [("a", 1, "Added To Cart"), ("b", 0, "Added To Cart")], 48)
    sent = [(u, h, node) for u, h, node, ev, _, _ in rows if ev == "sent"]
    assert sent == [("b", 0, "first"), ("b", 9.5, "second"), ("a", 24, "first"), ("a", 33.5, "second")]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_users_due_to_send_at_one_step_at_different_nodes_match_the_reference(data):
    """Chains of messages with send times, several users entering at their own times: steps of
    the batched engine where users are due to send at different nodes of the chain give the
    reference driver's trace (the class of the regression above, drawn at random)."""
    from journeylab.model import Push, Webhook

    times = st.none() | st.sampled_from([dt.time(0, 0), dt.time(9, 30), dt.time(18, 0), dt.time(23, 45)])
    j = Journey("Chain", id="chain", reentry=data.draw(st.booleans()))
    j.add(Action(id="cart", event="Added To Cart"))
    prev, port = "cart", "yes"
    for i in range(data.draw(st.integers(2, 4))):
        kind = data.draw(st.sampled_from([Push, Webhook]))
        window = data.draw(st.sampled_from([dt.timedelta(minutes=1), H, 6 * H]))
        j.then(prev, port, kind(id=f"m{i}", content={"title": "x"}, send_at=data.draw(times), response_window=window))
        prev, port = f"m{i}", "next"
    # entries on the send times half of the time: a user who enters at one passes that node at
    # once, a step ahead of the others (what puts users due at different nodes in one step)
    hour = st.sampled_from([0, 9.5, 18, 23.75]) | st.integers(0, 95).map(lambda q: q / 4)
    entries = st.tuples(st.sampled_from("abcdef"), st.integers(0, 2), hour)
    users = data.draw(st.lists(entries, min_size=2, max_size=8))
    rows = traces(j, [(u, 24 * d + h, "Added To Cart") for u, d, h in users], 120)  # asserts the drivers agree
    assert any(ev == "sent" for _, _, _, ev, _, _ in rows)
