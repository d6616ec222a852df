"""One-user preview (#18): the path, the rendered messages with their times, why the user left."""

from __future__ import annotations

import datetime as dt

import pytest

from journeylab.errors import JourneyDefinitionError
from journeylab.examples import cart_abandonment
from journeylab.model import AccountPolicy

UTC = dt.UTC
ANA = {"push_token": "t", "email": "ana@example.com", "first_name": "Ana"}


def test_cart_abandonment_user_who_never_buys():
    p = cart_abandonment().preview(ANA, [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}], "2026-10-01T00:00Z")
    assert p.path == ["cart", "push", "wait", "charged", "reminder"]
    assert [(m.node, m.channel, m.ts) for m in p.messages] == [
        ("push", "push", dt.datetime(2026, 10, 1, 9, 15, tzinfo=UTC)),  # 15 minutes without Charged
        ("reminder", "email", dt.datetime(2026, 10, 3, 9, 30, tzinfo=UTC)),  # a day's wait, a day's window, next hour
    ]
    assert p.messages[0].content == {"title": "Forgot something, Ana?", "body": "Your cart is waiting for you."}
    assert p.messages[1].content["body"].startswith("Hi Ana,")
    assert (p.exit_reason, p.waiting_at) == ("completed", None)
    frame = p.to_frame()
    assert list(frame.columns) == ["ts", "node", "event", "port", "detail"] and len(frame) == len(p.steps)
    assert "Preview of cart-abandonment" in p._repr_html_()


def test_cart_abandonment_user_who_buys_leaves_by_the_goal():
    p = cart_abandonment().preview(
        ANA,
        [
            {"event": "Added To Cart", "ts": "2026-10-01T09:00Z"},
            {"event": "Charged", "ts": "2026-10-01T20:00Z", "amount": 40},
        ],
    )
    assert p.path == ["cart", "push", "wait"]
    assert [m.node for m in p.messages] == ["push"]
    assert p.exit_reason == "goal:Purchase"


def test_preview_of_an_opted_out_user_and_one_still_waiting():
    p = cart_abandonment().preview(
        {**ANA, "push_opt_out": True},
        [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}],
        until="2026-10-01T12:00Z",
    )
    assert p.messages == [] and [s.detail for s in p.steps if s.event == "discarded"] == ["consent"]
    assert (p.exit_reason, p.waiting_at) == (None, "wait")
    off = cart_abandonment().preview(
        {**ANA, "push_opt_out": True},
        [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}],
        until="2026-10-01T12:00Z",
        policy=AccountPolicy(consent=None),
    )
    assert [m.node for m in off.messages] == ["push"]


def test_preview_of_a_user_who_never_qualifies_and_bad_events():
    p = cart_abandonment().preview(ANA, [{"event": "App Launched", "ts": "2026-10-01T09:00Z"}])
    assert (p.path, p.messages, p.exit_reason) == ([], [], "not entered")
    with pytest.raises(JourneyDefinitionError) as e:
        cart_abandonment().preview(ANA, [{"event": "Added To Cart"}])
    assert e.value.path == "events[0]"
    with pytest.raises(JourneyDefinitionError) as e:
        cart_abandonment().preview(ANA, [{"event": "Added To Cart", "ts": "2026-10-01T09:00"}])
    assert e.value.path == "events[0].ts"
