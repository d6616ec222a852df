"""Message templates (#18 item 6): Jinja2's sandbox over the profile and the triggering event,
rendered in the engine core (every driver, preview), checked by validate()."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from drivers import run_example

from journeylab.engine import Event, to_epoch
from journeylab.examples import cart_abandonment
from journeylab.model import Action, Email, Inaction, Journey, Push
from journeylab.model.templates import TemplateError, compile_template, render_text, template_reads
from journeylab.validate import validate


def t(y: int, mo: int, d: int, hh: int, mm: int = 0) -> int:
    return to_epoch(dt.datetime(y, mo, d, hh, mm, tzinfo=dt.UTC))


START = t(2026, 3, 2, 0)
TITLE = "{{ profile.first_name | default('there') | title }}, your {{ event.item }} is waiting"


def cart_journey() -> Journey:
    j = Journey("Cart", id="cart")
    j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
    j.then("cart", "yes", Push(id="push", content={"title": TITLE, "body": "Hi {{first_name|friend}}"}))
    j.then(
        "push",
        "next",
        Email(
            id="mail",
            content={
                "subject": "{{ event.price | round(1) }} EUR",
                "body": "{% if profile.vip %}VIP{% else %}-{% endif %}",
            },
        ),
    )
    return j


def test_renders_profile_and_trigger_event_with_filters_and_defaults():
    assert render_text(TITLE, {"first_name": "ana"}, {"item": "shoe"}) == "Ana, your shoe is waiting"
    assert render_text(TITLE, {"first_name": float("nan")}, {}) == "There, your  is waiting"
    assert render_text("{{ profile.address.city | default('?') }}", {}) == "?"


def test_legacy_placeholders_keep_their_meaning():
    assert render_text("Hi {{first_name|there}} {{ Plan Tier }}!", {"Plan Tier": "Gold"}) == "Hi there Gold!"
    assert render_text("{{first_name|upper}}", {}) == "upper"  # a legacy default, not a filter
    assert render_text("{{ profile.first_name|upper }}", {"first_name": "ana"}) == "ANA"
    assert render_text("{{count}}", {"count": 0}) == "0"  # a falsy value is still a value


def test_the_sandbox_refuses_python_internals_and_errors_render_nothing():
    assert render_text("{{ profile.__class__.__mro__ }}", {}) == ""
    assert render_text("{{ ''.__class__.__subclasses__() }}", {}) == ""
    assert render_text("{{ profile.age + 1 }}", {"age": "x"}) == ""
    with pytest.raises(TemplateError) as e:
        compile_template("{% for x in %}")
    assert e.value.lineno == 1


def test_template_reads():
    prof, ev, other = template_reads(
        "{{a|b}} {{ profile.c }} {{ profile['d e'] }} {{ event.f }} {% set x = 1 %}{{ x }}"
    )
    assert (prof, ev, other) == ({"a", "c", "d e"}, {"f"}, set())


def test_every_driver_renders_the_same_text_as_the_preview(driver):
    j = cart_journey()
    profile = {"push_token": "t", "email": "a@x", "first_name": "ana", "vip": True}
    inputs = [
        Event("u", t(2026, 3, 2, 9), "Added To Cart", {"item": "shoe", "price": 19.96}),
        Event("v", t(2026, 3, 2, 9), "Added To Cart", {"item": "hat", "price": 5.0}),
    ]
    run = run_example(
        driver,
        [j],
        inputs,
        until=t(2026, 3, 3, 0),
        start=START,
        profiles={"u": profile, "v": {"push_token": "t", "email": "v@x"}},
    )
    assert sorted((s.user_id, s.node, s.ts) for s in run.sends) == [
        ("u", "mail", t(2026, 3, 2, 9, 15)),
        ("u", "push", t(2026, 3, 2, 9, 15)),
        ("v", "mail", t(2026, 3, 2, 9, 15)),
        ("v", "push", t(2026, 3, 2, 9, 15)),
    ]
    expected = {
        ("u", "push"): {"title": "Ana, your shoe is waiting", "body": "Hi ana"},
        ("u", "mail"): {"subject": "20.0 EUR", "body": "VIP"},
        ("v", "push"): {"title": "There, your hat is waiting", "body": "Hi friend"},
        ("v", "mail"): {"subject": "5.0 EUR", "body": "-"},
    }
    if run.sends[0].content is not None:  # the reference driver and the runtime's outbox
        assert {(s.user_id, s.node): s.content for s in run.sends} == expected
    p = j.preview(
        profile,
        [{"event": "Added To Cart", "ts": "2026-03-02T09:00Z", "item": "shoe", "price": 19.96}],
        "2026-03-02T00:00Z",
    )
    assert [m.content for m in p.messages] == [expected["u", "push"], expected["u", "mail"]]


def test_an_action_entry_event_feeds_the_template_and_a_later_event_does_not():
    j = Journey("Welcome", id="w", reentry=True)
    j.add(Action(id="a", event="Viewed"))
    j.then("a", "yes", Push(id="p", content={"title": "{{ event.item | default('?') }}"}))
    p = j.preview(
        {"push_token": "t"},
        [{"event": "Viewed", "ts": "2026-03-02T09:00Z", "item": "tv"}, {"event": "Viewed", "ts": "2026-03-02T10:00Z"}],
    )
    assert [m.content["title"] for m in p.messages] == ["tv", "?"]


def test_validate_reports_syntax_errors_with_their_path_and_unknown_names():
    j = cart_journey()
    j.definition.nodes[1].content["body"] = "Hi {{ profile.first_name "
    j.definition.nodes[2].content["subject"] = "{{ 'x' ~ cart_value }}"
    r = validate(j)
    assert [(i.code, i.path) for i in r.errors] == [("template-syntax", "$.nodes[1].content.body")]
    assert "not a valid template: unexpected end of template" in r.errors[0].message
    assert "(line 1)" in r.errors[0].message
    warn = [(i.code, i.path) for i in r.warnings if i.code.startswith("template")]
    assert warn == [("template-unknown-name", "$.nodes[2].content.subject")]


def test_validate_against_a_cohort_names_properties_nobody_has():
    from journeylab.sim import Cohort

    profiles = pd.DataFrame({"user_id": ["u", "v"], "first_name": ["Ana", None], "vip": [None, None]})
    events = pd.DataFrame(
        {"user_id": ["u"], "ts": [pd.Timestamp("2026-03-02T09:00Z")], "event": ["Added To Cart"], "item": ["shoe"]}
    )
    r = validate(cart_journey(), cohort=Cohort(profiles, events))
    found = {i.path: i.message for i in r.warnings if i.code == "template-property-missing"}
    assert set(found) == {"$.nodes[2].content.subject", "$.nodes[2].content.body"}
    assert "event property 'price'" in found["$.nodes[2].content.subject"]
    assert "profile property 'vip'" in found["$.nodes[2].content.body"]
    assert not [i for i in validate(cart_journey(), cohort=profiles).warnings if i.path.endswith("content.title")]
    assert cart_journey().validate(cohort=profiles).ok
    with pytest.raises(TypeError, match="Cohort or a profiles DataFrame"):
        validate(cart_journey(), cohort=[1, 2])


def test_the_bundled_cart_example_still_renders_as_before():
    p = cart_abandonment().preview(
        {"push_token": "t", "first_name": "Ana"},
        [{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}],
        until="2026-10-01T10:00Z",
    )
    assert p.messages[0].content["title"] == "Forgot something, Ana?"
