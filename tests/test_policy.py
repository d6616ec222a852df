"""Account policies (#18), through every driver (the ``driver`` fixture: reference, simulate in
one process, two workers and per user, sharded, runtime): account-wide frequency caps with
journey priority, consent at send time, local-time delivery from each user's timezone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from drivers import run_example

from journeylab.engine import Event, to_epoch
from journeylab.errors import JourneyDefinitionError
from journeylab.model import (
    AccountPolicy,
    Action,
    Cap,
    Consent,
    Email,
    Journey,
    Limit,
    Push,
    policy_from_dict,
    policy_from_json,
    policy_to_json,
)

UTC = dt.UTC


def t(y: int, mo: int, d: int, hh: int, mm: int = 0, tz: str = "UTC") -> int:
    return to_epoch(dt.datetime(y, mo, d, hh, mm, tzinfo=ZoneInfo(tz)))


START = t(2026, 3, 2, 0)  # a Monday


def sent_and_discarded(run, user: str | None = None) -> list[tuple[str, str, str, str, int]]:
    return [
        (r.user_id, r.journey, r.event, r.detail, r.ts)
        for r in run.canonical_trace()
        if r.event in ("sent", "discarded") and (user is None or r.user_id == user)
    ]


# --------------------------------------------------------------------------- caps


def push_journey(jid: str, priority: int) -> Journey:
    """Opened App -> a push, at most one push a day in this journey (its own campaign limit)."""
    j = Journey(jid.title(), id=jid, priority=priority, reentry=True, limits=[Limit(max=1, per="day")])
    j.add(Action(id="open", event="Opened App"))
    j.then("open", "yes", Push(id="push", content={"title": f"{jid} news"}))
    return j


def test_two_journeys_capped_per_journey_send_two_pushes_without_an_account_cap(driver):
    journeys = [push_journey("news", 1), push_journey("promo", 2)]
    run = run_example(
        driver,
        journeys,
        [Event("u", t(2026, 3, 2, 10), "Opened App")],
        until=t(2026, 3, 3, 0),
        profiles={"u": {"push_token": "tok"}},
        start=START,
    )
    assert [(j, e) for _, j, e, _, _ in sent_and_discarded(run)] == [("promo", "sent"), ("news", "sent")]


def test_an_account_cap_lets_the_higher_priority_journey_send_and_discards_the_other_with_cap(driver):
    """The issue's case: two journeys each capped at 1 push a day; with an account cap of 1 push a
    day the user gets one push that day, from the journey of higher priority (``promo``, although
    ``news`` comes first by id), and ``news`` says ``cap``; the next day the cap is free again."""
    journeys = [push_journey("news", 1), push_journey("promo", 2)]
    policy = AccountPolicy(caps=[Cap(max=1, per="day", channel="push")])
    inputs = [Event("u", t(2026, 3, 2, 10), "Opened App")]
    run = run_example(
        driver,
        journeys,
        inputs,
        until=t(2026, 3, 3, 0),
        profiles={"u": {"push_token": "tok"}},
        start=START,
        policy=policy,
    )
    assert sent_and_discarded(run) == [
        ("u", "promo", "sent", "push", t(2026, 3, 2, 10)),
        ("u", "news", "discarded", "cap", t(2026, 3, 2, 10)),
    ]


def test_caps_count_the_users_local_day_and_every_channel_when_no_channel_is_named(driver):
    """A cap of 2 messages a day on every channel, counted in the user's own day: Kolkata's day
    starts at 18:30 UTC, so a third message at 19:00 UTC is on a new local day."""
    j = Journey("Chatty", id="chatty", reentry=True)
    j.add(Action(id="open", event="Opened App"))
    j.then("open", "yes", Push(id="push"))
    j.then("push", "next", Email(id="mail"))
    policy = AccountPolicy(caps=[Cap(max=2, per="day")])
    inputs = [
        Event("k", t(2026, 3, 2, 9), "Opened App"),
        Event("k", t(2026, 3, 2, 12), "Opened App"),
        Event("k", t(2026, 3, 2, 19), "Opened App"),
    ]
    run = run_example(
        driver,
        [j],
        inputs,
        until=t(2026, 3, 3, 0),
        start=START,
        policy=policy,
        profiles={"k": {"push_token": "tok", "email": "k@x", "timezone": "Asia/Kolkata"}},
    )
    assert [(e, d, ts) for _, _, e, d, ts in sent_and_discarded(run)] == [
        ("sent", "push", t(2026, 3, 2, 9)),
        ("sent", "email", t(2026, 3, 2, 9)),
        ("discarded", "cap", t(2026, 3, 2, 12)),
        ("discarded", "cap", t(2026, 3, 2, 12)),
        ("sent", "push", t(2026, 3, 2, 19)),
        ("sent", "email", t(2026, 3, 2, 19)),
    ]


def test_message_load_table_and_chart():
    import pandas as pd

    from journeylab.sim import simulate

    journeys = [push_journey("news", 1), push_journey("promo", 2)]
    profiles = pd.DataFrame({"user_id": ["a", "b"], "push_token": ["t", "t"]})
    ts = pd.to_datetime([t(2026, 3, 2, 10), t(2026, 3, 2, 10), t(2026, 3, 3, 10)], unit="s", utc=True)
    events = pd.DataFrame({"user_id": ["a", "b", "a"], "ts": ts, "event": "Opened App"})
    policy = AccountPolicy(caps=[Cap(max=1, per="day", channel="push")])
    res = simulate(journeys, (profiles, events), "2026-03-02T00:00Z", "2026-03-05T00:00Z", policy=policy)
    per_user = res.messages_per_user_day
    got = {(r.user_id, f"{r.day:%Y-%m-%d}"): (r.messages, r.journeys, r.capped) for r in per_user.itertuples()}
    assert got == {("a", "2026-03-02"): (1, 1, 1), ("b", "2026-03-02"): (1, 1, 1), ("a", "2026-03-03"): (1, 1, 1)}
    load = res.message_load
    assert load[["users", "messages", "max", "capped"]].values.tolist() == [[2, 2, 1, 2], [1, 1, 1, 1]]
    from journeylab import charts

    fig = charts.message_load(res)
    capped = [tr for tr in fig.data if tr.name == "sends stopped by an account cap"]
    assert len(capped) == 1 and list(capped[0].y) == [2, 1]


# --------------------------------------------------------------------------- consent


def newsletter() -> Journey:
    j = Journey("Newsletter", id="newsletter", reentry=True)
    j.add(Action(id="due", event="Newsletter Due"))
    j.then("due", "yes", Email(id="mail", content={"subject": "News"}))
    return j


def test_an_opted_out_user_is_never_emailed(driver):
    users = {
        "out": {"email": "o@x", "email_opt_out": True},
        "unsub": {"email": "u@x", "unsubscribed": "yes"},
        "in": {"email": "i@x", "email_opt_out": False},
        "text": {"email": "t@x", "email_opt_out": "false"},
    }
    inputs = [Event(u, t(2026, 3, 2, 10 + k), "Newsletter Due") for k in range(3) for u in sorted(users)]
    run = run_example(driver, [newsletter()], inputs, until=t(2026, 3, 3, 0), profiles=users, start=START)
    got = sent_and_discarded(run)
    assert {(u, e, d) for u, _, e, d, _ in got} == {
        ("out", "discarded", "consent"),
        ("unsub", "discarded", "consent"),
        ("in", "sent", "email"),
        ("text", "sent", "email"),
    }
    assert len(got) == 12  # three attempts each
    assert not [m for m in run.sends if m.user_id in ("out", "unsub")]


def test_an_unsubscribe_event_takes_effect_at_once_and_a_subscribe_undoes_it(driver):
    """``Unsubscribed`` (channel email) at 10:00, before the due event at the same instant: that
    send is refused; ``Subscribed`` at 11:00 opts the user back in for the 12:00 one."""
    inputs = [
        Event("c", t(2026, 3, 2, 9), "Newsletter Due"),
        Event("c", t(2026, 3, 2, 10), "Unsubscribed", {"channel": "email"}),
        Event("c", t(2026, 3, 2, 10), "Newsletter Due"),
        Event("c", t(2026, 3, 2, 11), "Subscribed", {"channel": "email"}),
        Event("c", t(2026, 3, 2, 12), "Newsletter Due"),
    ]
    run = run_example(
        driver, [newsletter()], inputs, until=t(2026, 3, 3, 0), start=START, profiles={"c": {"email": "c@x"}}
    )
    assert [(e, d, ts) for _, _, e, d, ts in sent_and_discarded(run)] == [
        ("sent", "email", t(2026, 3, 2, 9)),
        ("discarded", "consent", t(2026, 3, 2, 10)),
        ("sent", "email", t(2026, 3, 2, 12)),
    ]
    if run.exposes_profiles:
        assert run.profile("c")["email_opt_out"] is False


def test_an_unsubscribe_long_before_the_run_still_counts(driver):
    """Consent changes last: an ``Unsubscribed`` 40 days before the run (far beyond any look-back
    the journey needs) keeps the user from being emailed in every driver; the simulators used to
    feed only the events within the look-back and emailed them."""
    inputs = [
        Event("c", START - 40 * 86400, "Unsubscribed", {"channel": "email"}),
        Event("c", t(2026, 3, 2, 9), "Newsletter Due"),
        Event("k", t(2026, 3, 2, 9), "Newsletter Due"),
    ]
    run = run_example(
        driver,
        [newsletter()],
        inputs,
        until=t(2026, 3, 3, 0),
        start=START,
        created=START - 50 * 86400,
        profiles={"c": {"email": "c@x"}, "k": {"email": "k@x"}},
    )
    assert [(u, e, d) for u, _, e, d, _ in sent_and_discarded(run)] == [
        ("c", "discarded", "consent"),
        ("k", "sent", "email"),
    ]


def test_consent_off_and_push_disabled_on_the_device(driver):
    j = Journey("Ping", id="ping")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="push"))
    users = {"off": {"push_token": "t", "push_enabled": False}, "on": {"push_token": "t", "push_enabled": True}}
    inputs = [Event(u, t(2026, 3, 2, 10), "Go") for u in sorted(users)]
    run = run_example(driver, [j], inputs, until=t(2026, 3, 3, 0), profiles=users, start=START)
    assert [(u, d) for u, _, _, d, _ in sent_and_discarded(run)] == [("off", "consent"), ("on", "push")]
    if driver == "reference":
        ignored = run_example(
            driver, [j], inputs, until=t(2026, 3, 3, 0), profiles=users, start=START, policy=AccountPolicy(consent=None)
        )
        assert [d for *_, d, _ in sent_and_discarded(ignored)] == ["push", "push"]


def test_the_email_sunsetting_example_stops_emailing_opted_out_users():
    """The bundled example: a user who opened recently is emailed daily, until they opt out; an
    opted-out user who still opens is never emailed; one who never opens is sunset once."""
    import pandas as pd

    from journeylab.examples import email_sunsetting
    from journeylab.sim import simulate

    profiles = pd.DataFrame(
        {"user_id": ["fan", "gone", "quiet"], "email": ["f@x", "g@x", "q@x"], "email_opt_out": [False, True, False]}
    )
    ev = pd.DataFrame(
        {
            "user_id": ["fan", "fan", "gone", "gone", "quiet", "fan"],
            "event": ["Email Sent", "Email Opened", "Email Sent", "Email Opened", "Email Sent", "Unsubscribed"],
            "ts": pd.to_datetime(
                [
                    "2026-02-01 00:00",
                    "2026-02-02 00:00",
                    "2026-02-01 00:00",
                    "2026-02-02 00:00",
                    "2026-02-01 00:00",
                    "2026-03-04 12:00",
                ],
                utc=True,
            ),
            "channel": [None, None, None, None, None, "email"],
        }
    )
    res = simulate(email_sunsetting(), (profiles, ev), "2026-03-02T00:00Z", "2026-03-07T00:00Z")
    sent = res.trace[res.trace["event"] == "sent"]
    assert sorted(set(sent["user_id"])) == ["fan"]
    assert sent["ts"].max() < pd.Timestamp("2026-03-04 12:00", tz="UTC")  # none after the unsubscribe
    refused = res.trace[(res.trace["event"] == "discarded") & (res.trace["detail"] == "consent")]
    assert set(refused["user_id"]) == {"gone", "fan"}


# --------------------------------------------------------------------------- local time


def morning_push(local_time: bool = True) -> Journey:
    j = Journey("Morning", id="morning", local_time=local_time, reentry=True)
    j.add(Action(id="signup", event="Signed Up"))
    j.then("signup", "yes", Push(id="push", send_at=dt.time(9, 0)))
    return j


USERS = {
    "ny": {"push_token": "t", "timezone": "America/New_York"},
    "kol": {"push_token": "t", "timezone": "Asia/Kolkata"},
    "none": {"push_token": "t"},
    "bad": {"push_token": "t", "timezone": "Mars/Olympus"},
}


def test_send_at_nine_in_new_york_and_kolkata(driver):
    """Both sign up at 12:00 UTC on Saturday 7 March 2026: 07:00 in New York (EST, UTC-5), 17:30 in
    Kolkata (UTC+5:30). New York gets the push at 09:00 EST = 14:00 UTC that day; Kolkata at
    09:00 IST the next morning = 03:30 UTC on the 8th; a user without a (valid) timezone at 09:00
    in the journey's timezone (UTC)."""
    inputs = [Event(u, t(2026, 3, 7, 12), "Signed Up") for u in sorted(USERS)]
    run = run_example(driver, [morning_push()], inputs, until=t(2026, 3, 9, 0), profiles=USERS, start=START)
    got = {u: ts for u, _, e, _, ts in sent_and_discarded(run)}
    assert got == {
        "ny": t(2026, 3, 7, 9, tz="America/New_York"),
        "kol": t(2026, 3, 8, 9, tz="Asia/Kolkata"),
        "none": t(2026, 3, 8, 9),
        "bad": t(2026, 3, 8, 9),
    }
    assert got["ny"] == t(2026, 3, 7, 14) and got["kol"] == t(2026, 3, 8, 3, 30)


def test_send_at_is_exact_across_the_new_york_spring_forward(driver):
    """DST starts in New York at 02:00 on Sunday 8 March 2026: a sign-up at 12:00 UTC on the 7th
    (07:00 EST) is pushed at 14:00 UTC, one at 12:00 UTC on the 8th (08:00 EDT) at 13:00 UTC: 09:00
    local both days. Kolkata has no DST: 03:30 UTC both next mornings."""
    inputs = [Event(u, t(2026, 3, d, 12), "Signed Up") for d in (7, 8) for u in ("kol", "ny")]
    run = run_example(driver, [morning_push()], inputs, until=t(2026, 3, 10, 0), profiles=USERS, start=START)
    got = [(u, ts) for u, _, _, _, ts in sent_and_discarded(run)]
    assert sorted(got) == [
        ("kol", t(2026, 3, 8, 3, 30)),
        ("kol", t(2026, 3, 9, 3, 30)),
        ("ny", t(2026, 3, 7, 14)),
        ("ny", t(2026, 3, 8, 13)),
    ]


def test_without_local_time_everyone_gets_the_account_time(driver):
    inputs = [Event(u, t(2026, 3, 7, 12), "Signed Up") for u in ("kol", "ny")]
    run = run_example(
        driver, [morning_push(local_time=False)], inputs, until=t(2026, 3, 9, 0), profiles=USERS, start=START
    )
    assert {ts for *_, ts in sent_and_discarded(run)} == {t(2026, 3, 8, 9)}


# --------------------------------------------------------------------------- the policy itself


def test_policy_round_trips_and_errors_carry_a_path():
    p = AccountPolicy(
        caps=[Cap(max=3, per="week", channel="email")],
        timezone="Europe/Berlin",
        consent=Consent(opt_out={"email": "no_mail"}, unsubscribed=None),
    )
    assert policy_from_json(policy_to_json(p)) == p
    with pytest.raises(JourneyDefinitionError) as e:
        policy_from_dict({"caps": [{"max": "two"}]})
    assert e.value.path == "$.settings.caps[0].max"
    with pytest.raises(JourneyDefinitionError) as e:
        policy_from_dict({"timezones": "UTC"})
    assert "timezones" in str(e.value)
    for bad, path in (
        ({"caps": [{"max": 0}]}, "$.settings.caps[0].max"),
        ({"caps": [{"max": 1, "channel": "pigeon"}]}, "$.settings.caps[0]"),
        ({"timezone": "Mars/Olympus"}, "$.settings.timezone"),
    ):
        with pytest.raises(JourneyDefinitionError) as e:
            policy_from_dict(bad)
        assert e.value.path == path, bad
