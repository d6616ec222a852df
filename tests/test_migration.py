"""Version migration (#18 item 5): a new version published while users wait; they stay on their
version (default) or move to the node of the same id (refused for nodes gone or changed kind).
The engine core decides; the runtime (publish_version(..., migrate=True)) and the simulators (a
``publish v2 migrate`` lifecycle entry) give the same trace."""

from __future__ import annotations

import datetime as dt

import msgspec
import pandas as pd
import pytest
from drivers import run_example

from journeylab.engine import Control, Event, TraceRecord, to_epoch
from journeylab.errors import JourneyDefinitionError
from journeylab.model import Action, Delay, Email, Journey, JourneyDef, Push
from journeylab.sim import Cohort, simulate

DAY = dt.timedelta(days=1)


def t(d: int, hh: int, mm: int = 0) -> int:
    return to_epoch(dt.datetime(2026, 3, d, hh, mm, tzinfo=dt.UTC))


START, PUBLISH = t(2, 0), t(2, 12)
PROFILE = {"push_token": "tok", "email": "x@example.com"}


def versions() -> tuple[JourneyDef, JourneyDef]:
    """v1: three entries, each to a one-day Delay, then a push. v2 keeps ``wait`` (then an email
    instead), drops ``slow`` (``slow2`` instead) and turns ``k`` from a Delay into a push."""
    v1 = Journey("Onboarding", id="onb")
    v1.add(Action(id="su", event="Signed Up"))
    v1.then("su", "yes", Delay(id="wait", duration=DAY))
    v1.then("wait", "next", Push(id="push", content={"title": "v1"}))
    v1.add(Action(id="br", event="Browsed"))
    v1.then("br", "yes", Delay(id="slow", duration=DAY))
    v1.connect("slow", "next", "push")
    v1.add(Action(id="vw", event="Viewed"))
    v1.then("vw", "yes", Delay(id="k", duration=DAY))
    v1.connect("k", "next", "push")
    for e in ("su", "br", "vw"):
        v1.mark_entry(e)
    v2 = Journey("Onboarding", id="onb")
    v2.add(Action(id="su", event="Signed Up"))
    v2.then("su", "yes", Delay(id="wait", duration=2 * DAY))
    v2.then("wait", "next", Email(id="mail", content={"subject": "v2", "body": "v2"}))
    v2.add(Action(id="br", event="Browsed"))
    v2.then("br", "yes", Delay(id="slow2", duration=DAY))
    v2.connect("slow2", "next", "mail")
    v2.add(Action(id="vw", event="Viewed"))
    v2.then("vw", "yes", Push(id="k", content={"title": "v2"}))
    v2.connect("k", "next", "mail")
    for e in ("su", "br", "vw"):
        v2.mark_entry(e)
    return v1.definition, msgspec.structs.replace(v2.definition, version=2)


INPUTS = [
    Event("a", t(2, 10), "Signed Up"),
    Event("b", t(2, 10), "Browsed"),
    Event("c", t(2, 10), "Viewed"),
    Event("d", t(2, 13), "Signed Up"),
]


def run_with(driver: str, status: str):
    v1, v2 = versions()
    return run_example(
        driver,
        [v1, v2],
        INPUTS,
        until=t(5, 0),
        start=START,
        controls={"onb": Control.running_from(START).with_status(PUBLISH, status)},
        profiles={u: dict(PROFILE) for u in "abcd"},
    )


def test_waiting_users_migrate_from_v1_to_v2_with_the_same_trace_in_every_driver(driver):
    run = run_with(driver, "publish v2 migrate")
    rows = [r for r in run.trace if r.event in ("migrated", "not_migrated", "sent")]
    assert rows == [
        TraceRecord("a", PUBLISH, "onb", 2, "wait", "migrated", "", "from v1"),
        TraceRecord("b", PUBLISH, "onb", 1, "slow", "not_migrated", "", "node 'slow' is not in version 2"),
        TraceRecord(
            "c", PUBLISH, "onb", 1, "k", "not_migrated", "", "node 'k' is a delay in version 1 and a push in version 2"
        ),
        # the migrated delay keeps its end (set by v1: one day); then v2's path: the email
        TraceRecord("a", t(3, 10), "onb", 2, "mail", "sent", "", "email"),
        TraceRecord("b", t(3, 10), "onb", 1, "push", "sent", "", "push"),  # stayed: v1 to the end
        TraceRecord("c", t(3, 10), "onb", 1, "push", "sent", "", "push"),
        TraceRecord("d", t(4, 13), "onb", 2, "mail", "sent", "", "email"),  # entered v2: its two-day wait
    ]
    assert [(r.user_id, r.version) for r in run.trace if r.event == "entered" and r.detail == "entry"] == [
        ("a", 1),
        ("b", 1),
        ("c", 1),
        ("d", 2),
    ]
    assert run.trace == run_with("reference", "publish v2 migrate").trace


def test_by_default_users_stay_on_their_version_and_new_entrants_take_the_new_one(driver):
    run = run_with(driver, "publish v2")
    assert not [r for r in run.trace if r.event in ("migrated", "not_migrated")]
    assert [(r.user_id, r.version, r.node) for r in run.trace if r.event == "sent"] == [
        ("a", 1, "push"),
        ("b", 1, "push"),
        ("c", 1, "push"),
        ("d", 2, "mail"),
    ]


def test_lifecycle_errors_name_the_entry():
    v1, v2 = versions()
    cohort = Cohort(
        pd.DataFrame({"user_id": ["a"]}),
        pd.DataFrame({"user_id": ["a"], "ts": [pd.Timestamp("2026-03-02T10:00Z")], "event": ["Signed Up"]}),
    )
    with pytest.raises(JourneyDefinitionError) as e:
        simulate(
            [v1, v2],
            cohort,
            "2026-03-02T00:00Z",
            "2026-03-03T00:00Z",
            lifecycle={"onb": [("2026-03-02T12:00Z", "publish v3")]},
        )
    assert e.value.path == "lifecycle.onb[0]" and "version 3 of journey 'onb' is not among" in e.value.message
    with pytest.raises(JourneyDefinitionError, match="publish v<N>"):
        simulate(
            [v1, v2],
            cohort,
            "2026-03-02T00:00Z",
            "2026-03-03T00:00Z",
            lifecycle={"onb": [("2026-03-02T12:00Z", "publish 2")]},
        )


def test_runtime_publish_version_migrates_and_survives_a_restart(tmp_path):
    from journeylab.runtime import ReplayClock, Runtime

    v1, v2 = versions()
    db = f"sqlite:///{tmp_path / 'rt.db'}"
    rt = Runtime([v1], db, clock=ReplayClock(START), profiles={u: dict(PROFILE) for u in "ab"})
    rt.replay([INPUTS[0], INPUTS[1]], until=PUBLISH - 1)
    rt.clock.advance_to(PUBLISH)
    assert rt.publish_version(v2, migrate=True) == 2
    tr = rt.trace()
    assert tr[tr["event"].isin(["migrated", "not_migrated"])][
        ["user_id", "version", "node", "event"]
    ].values.tolist() == [["a", 2, "wait", "migrated"], ["b", 1, "slow", "not_migrated"]]
    rt.close()
    rt = Runtime([v1, v2], db, clock=ReplayClock(PUBLISH))
    try:
        rt.replay([], until=t(4, 0))
        sent = rt.trace()
        sent = sent[sent["event"] == "sent"][["user_id", "version", "node"]].values.tolist()
        assert sent == [["a", 2, "mail"], ["b", 1, "push"]]
    finally:
        rt.close()


def test_publishing_the_only_version_changes_nothing_in_the_batched_engine():
    """A ``publish v1`` entry with one version is a version change to itself: the batched
    engine (one version) reads the status from the timeline without it, like the engine."""
    v1, _ = versions()
    prof = pd.DataFrame([{"user_id": u, **PROFILE} for u in "ad"])
    ev = pd.DataFrame(
        {
            "user_id": ["a", "d"],
            "ts": pd.to_datetime([INPUTS[0].ts, INPUTS[3].ts], unit="s", utc=True),
            "event": ["Signed Up", "Signed Up"],
        }
    )
    plain = simulate(v1, Cohort(prof, ev), "2026-03-02T00:00Z", "2026-03-05T00:00Z")
    again = simulate(
        v1,
        Cohort(prof, ev),
        "2026-03-02T00:00Z",
        "2026-03-05T00:00Z",
        lifecycle={"onb": [("2026-03-02T12:00Z", "publish v1 migrate")]},
    )
    assert again.trace.equals(plain.trace) and plain.trace["event"].eq("sent").sum() == 2
