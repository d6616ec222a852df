"""The runtime's policies: malformed, duplicate and out-of-order inputs, lifecycle operations,
versions, restarts, statistics and structured logs."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random

import msgspec
import pandas as pd
import pytest
import sqlalchemy as sa
from runtime_helpers import (
    END,
    ROOT,
    START,
    SteppedWallClock,
    cli_run,
    cohort,
    db_url,  # noqa: F401 - fixture
    profiles_of,
    rows,
)

from journeylab import examples
from journeylab.engine import Control, Event, Feedback, ReferenceDriver
from journeylab.errors import LifecycleError
from journeylab.model import Action, Delay, Journey, ProfileMatch, ProfileUpdate, PropertyFilter, Webhook
from journeylab.model.io import to_json
from journeylab.runtime import InputError, ReplayClock, Runtime, configure_logging, input_to_json
from journeylab.sim.replay import event_inputs

T0 = int(START.timestamp())


def promo(delay_min: int = 20, version: int = 1, reentry: bool = False):
    j = Journey("Promo", id="promo", reentry=reentry)
    j.add(Action(id="buy", event="Charged"))
    j.then("buy", "yes", Delay(id="wait", duration=dt.timedelta(minutes=delay_min)))
    j.then("wait", "next", Webhook(id="hook", content={"text": "hi {{first_name|there}}"}))
    d = j.definition
    import msgspec

    return msgspec.structs.replace(d, version=version)


def ev(user, t, name="Charged", **kw):
    return {"user_id": user, "event": name, "ts": t, **kw}


# ---------------------------------------------------------------------- malformed input
MALFORMED = [
    ({"event": "Charged", "ts": T0}, "$.user_id", "missing required field 'user_id'"),
    ({"user_id": 42, "event": "Charged", "ts": T0}, "$.user_id", "expected a string, got integer"),
    ({"user_id": "", "event": "Charged", "ts": T0}, "$.user_id", "must not be empty"),
    ({"user_id": "u1", "ts": T0}, "$.event", "missing required field 'event'"),
    ({"user_id": "u1", "event": ["Charged"], "ts": T0}, "$.event", "expected a string, got array"),
    ({"user_id": "u1", "event": "Charged", "ts": "2026-10-01T10:00:00"}, "$.ts", "naive timestamp"),
    ({"user_id": "u1", "event": "Charged", "ts": "yesterday"}, "$.ts", "not an ISO 8601 instant"),
    ({"user_id": "u1", "event": "Charged", "ts": 1790812800000}, "$.ts", "milliseconds"),
    ({"user_id": "u1", "event": "Charged", "ts": True}, "$.ts", "got boolean"),
    ({"user_id": "u1", "event": "Charged", "ts": T0, "colour": "red"}, "$.colour", "unknown field 'colour'"),
    ({"user_id": "u1", "event": "Charged", "ts": T0, "props": [1, 2]}, "$.props", "expected an object, got array"),
    ({"user_id": "u1", "event": "Charged", "ts": T0, "event_id": 7}, "$.event_id", "expected a string, got integer"),
    ({"type": "click", "user_id": "u1"}, "$.type", "type must be one of"),
    ({"type": "feedback", "message_id": "m1", "kind": "opened", "ts": T0}, "$.kind", "kind must be one of"),
    ({"type": "feedback", "message_id": "nope", "kind": "viewed", "ts": T0}, "$.message_id", "no message 'nope'"),
    ([1, 2], "$", "an input must be a JSON object, got array"),
]


@pytest.mark.parametrize(("obj", "path", "reason"), MALFORMED, ids=[m[1] + ":" + m[2][:20] for m in MALFORMED])
def test_malformed_input_is_refused_with_path_and_reason(obj, path, reason, tmp_path):
    rt = Runtime([promo()], tmp_path / "rt.db", clock=ReplayClock(START))
    with pytest.raises(InputError) as e:
        rt.ingest(obj)
    assert e.value.path == path and reason in e.value.message
    assert str(e.value).startswith(f"{path}: ")
    rej = rt.rejected()
    assert rej[["path", "kind"]].values.tolist() == [[path, "malformed"]]
    assert reason in rej["reason"][0]
    assert rt.health()["rejected"] == 1 and rt.metrics["rejected"] == 1
    # the runtime goes on
    assert rt.ingest(ev("u1", T0 + 60)) == "ok"
    rt.close()


def test_bad_lines_do_not_stop_a_stream_or_lose_the_good_lines_around_them(tmp_path):
    rt = Runtime([promo()], tmp_path / "rt.db", clock=ReplayClock(START))
    good = [ev(f"u{i}", T0 + 60 * i, event_id=f"e{i}") for i in range(6)]
    lines = [
        json.dumps(good[0]),
        "{not json",
        json.dumps(good[1]),
        json.dumps({"event": "Charged", "ts": T0}),
        json.dumps(good[2]),
        "",
        json.dumps(ev("u9", "2026-10-01T10:00:00")),
        json.dumps(good[3]),
        "\xff\xfe garbage",
        json.dumps(good[4]),
        json.dumps(good[1]),
        json.dumps(good[5]),
    ]
    src = tmp_path / "in.jsonl"
    src.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    counts = rt.ingest_jsonl(src)
    assert counts == {"ok": 6, "duplicate": 1, "rejected": 4, "error": 0, "skip": 1}
    rej = rt.rejected()
    assert rej[["offset", "path"]].values.tolist() == [[2, "$"], [4, "$.user_id"], [7, "$.ts"], [9, "$"]]
    assert rej["reason"][0].startswith("not valid JSON")
    assert rt.offset(f"file:{src.resolve()}") == len(lines)
    rt.advance_to(T0 + 86400)
    assert sorted(m["user_id"] for m in rt.outbox.rows()) == [f"u{i}" for i in range(6)]
    # reading the file again resumes after the last line: nothing twice
    assert rt.ingest_jsonl(src) == {"ok": 0, "duplicate": 0, "rejected": 0, "error": 0, "skip": 0}
    rt.close()


def test_ingest_many_keeps_the_good_items_of_a_batch(tmp_path):
    rt = Runtime([promo()], tmp_path / "rt.db", clock=ReplayClock(START))
    res = rt.ingest_many([ev("a", T0), ev("b", T0, props={"x": 1}, colour=1), ev("c", T0 + 1), {"user_id": "d"}])
    assert (res.accepted, res.duplicates) == (2, 0)
    assert res.rejected == [
        (1, "$[1].colour", "unknown field 'colour' (a event has: user_id, event, ts, props, event_id, type)"),
        (3, "$[3].event", "missing required field 'event'"),
    ]
    rt.close()


def test_wall_clock_refuses_events_far_in_the_future(tmp_path):
    now = T0 + 7200
    rt = Runtime([promo()], tmp_path / "rt.db", clock=SteppedWallClock(now), max_future=600)  # a wall clock at 'now'
    assert rt.ingest(ev("a", now + 30)) == "ok"
    with pytest.raises(InputError, match=r"^\$\.ts: \d+ s ahead of the runtime clock"):
        rt.ingest(ev("a", now + 3600))
    # a missing ts means now
    assert rt.ingest({"user_id": "b", "event": "Charged"}) == "ok"
    rt.close()


# ---------------------------------------------------------------------- duplicates
def test_duplicate_event_ids_are_ignored_also_after_a_restart(tmp_path):
    db = tmp_path / "rt.db"
    rt = Runtime([examples.ride_tier().definition], db, clock=ReplayClock(START), profiles={"r": {"ride_count": 0}})
    assert rt.ingest(ev("r", T0 + 10, "Ride Completed", event_id="x1")) == "ok"
    assert rt.ingest(ev("r", T0 + 20, "Ride Completed", event_id="x1")) == "duplicate"
    rt.close()
    rt = Runtime([examples.ride_tier().definition], db, clock=ReplayClock(START))
    assert rt.ingest(ev("r", T0 + 30, "Ride Completed", event_id="x1")) == "duplicate"
    # events without an id are never de-duplicated (the engine's policy)
    assert rt.ingest(ev("r", T0 + 40, "Ride Completed")) == "ok"
    assert rt.ingest(ev("r", T0 + 40, "Ride Completed")) == "ok"
    assert rt.user_states("r")["ride-tier"].profile["ride_count"] == 3
    assert rt.metrics["duplicates"] == 1
    # the same id for another user is another event
    assert rt.ingest(ev("s", T0 + 50, "Ride Completed", event_id="x1")) == "ok"
    rt.close()


# ---------------------------------------------------------------------- out of order
def test_late_event_acts_at_the_users_clock(tmp_path):
    rt = Runtime(
        [examples.cart_abandonment().definition],
        tmp_path / "rt.db",
        clock=ReplayClock(START),
        profiles={"a": {"push_token": "t"}},
    )
    rt.advance_to(T0 + 3600)
    rt.ingest(ev("a", T0 + 3600, "Added To Cart"))
    rt.advance_to(T0 + 3600 + 20 * 60)  # no Charged within 15 min: entered, push sent
    assert rt.trace()["event"].tolist()[:2] == ["entered", "left"]
    # arrives late: it acts at the user's clock (the last instant processed for them: the push at 01:15)
    rt.ingest(ev("a", T0 + 3600 + 5 * 60, "Charged"))
    t = rt.trace()
    last = t.iloc[-1]
    assert (last["event"], last["detail"]) == ("exited", "goal:Purchase")
    assert int(last["ts"].timestamp()) == T0 + 3600 + 15 * 60
    rt.close()


def test_out_of_order_streams_match_the_reference_driver(db_url):  # noqa: F811
    prof, evs = cohort(n=80, per_user=15, seed=4)
    journeys = [examples.cart_abandonment().definition, examples.purchase_promo(reentry=True).definition]
    inputs = event_inputs(evs[evs["ts"] < END])
    # arrival order: up to 2 hours late, so events of a user come out of order
    rng = random.Random(3)
    arrival = sorted(range(len(inputs)), key=lambda i: inputs[i].ts + rng.choice([0, 0, 0, rng.randint(0, 7200)]))
    stream = [inputs[i] for i in arrival]
    assert any(a.ts > b.ts and a.user_id == b.user_id for a, b in zip(stream, stream[1:], strict=False))
    profiles = profiles_of(prof)
    created = T0 - 30 * 86400
    drv = ReferenceDriver(
        journeys, controls={d.id: Control.running_from(T0) for d in journeys}, profiles=profiles, created=created
    )
    drv.feed(stream)
    drv.run_until(int(END.timestamp()) - 1)
    rt = Runtime(journeys, db_url, clock=ReplayClock(START), profiles=profiles, created=created)
    for inp in stream:
        rt.advance_to(inp.ts)
        rt.ingest(inp)
    rt.advance_to(int(END.timestamp()) - 1)
    assert rows(rt.trace()) == [tuple(r) for r in drv.canonical_trace()]
    rt.close()


# ---------------------------------------------------------------------- lifecycle
def test_lifecycle_operations_match_the_reference_driver(db_url):  # noqa: F811
    prof, evs = cohort(n=80, per_user=15, seed=8)
    d = examples.reference_journey().definition
    inputs = event_inputs(evs[evs["ts"] < END])
    profiles = profiles_of(prof)
    created = T0 - 30 * 86400
    ops = [(T0 + 2 * 86400, "paused"), (T0 + 4 * 86400 + 1234, "running"), (T0 + 9 * 86400 + 17, "stopped")]
    drv = ReferenceDriver([d], controls={d.id: Control.running_from(T0)}, profiles=profiles, created=created)
    rt = Runtime([d], db_url, clock=ReplayClock(START), profiles=profiles, created=created)
    i = 0
    for t, status in ops:
        j = i
        while j < len(inputs) and inputs[j].ts < t:
            j += 1
        drv.feed(inputs[i:j])
        drv.control(d.id, t, status)
        rt.replay(inputs[i:j], batch=100)
        rt.clock.advance_to(t)  # the operation happens at t; timers due at t run after it
        {"paused": rt.pause, "running": rt.resume, "stopped": rt.stop}[status](d.id)
        assert rt.status(d.id) == status
        i = j
    drv.feed(inputs[i:])
    drv.run_until(int(END.timestamp()) - 1)
    rt.replay(inputs[i:], until=int(END.timestamp()) - 1)
    got = rows(rt.trace())
    assert got == [tuple(r) for r in drv.canonical_trace()]
    stopped = [r for r in got if r[5] == "exited" and r[7] == "stopped"]
    assert stopped and {r[1] for r in stopped} == {ops[-1][0]}
    assert not [r for r in got if r[1] > ops[-1][0]]  # after stop nothing happens
    s = rt.stats(d.id).journey
    assert s["exits_stopped"] == len(stopped) and s["active"] == 0
    rt.close()


def test_lifecycle_rules_are_the_models(tmp_path):
    rt = Runtime([promo()], tmp_path / "rt.db", clock=ReplayClock(START), autopublish=False)
    assert rt.status("promo") == "draft"
    assert rt.ingest(ev("early", T0 + 1)) == "ok"  # a draft takes no one in
    for op, msg in [
        (rt.pause, "is draft: it cannot be paused"),
        (rt.resume, "is draft: it cannot be resumed"),
        (rt.stop, "is draft: it cannot be stopped"),
    ]:
        with pytest.raises(LifecycleError, match=msg):
            op("promo")
    rt.clock.advance_to(T0 + 100)
    assert rt.publish("promo") == "running"
    with pytest.raises(LifecycleError, match="only a draft can be published"):
        rt.publish("promo")
    with pytest.raises(LifecycleError, match="is running: it cannot be resumed"):
        rt.resume("promo")
    rt.ingest(ev("a", T0 + 200))
    assert rt.pause("promo") == "paused"
    rt.ingest(ev("b", T0 + 300))  # paused: no entry
    assert rt.resume("promo") == "running"
    rt.advance_to(T0 + 400)
    assert rt.stop("promo") == "stopped"
    with pytest.raises(LifecycleError, match="is stopped: it cannot be resumed"):
        rt.resume("promo")
    with pytest.raises(LifecycleError, match="stop is final"):
        rt.publish_version(promo(version=2))
    t = rt.trace()
    assert sorted(set(t["user_id"])) == ["a"]
    assert t.iloc[-1][["event", "detail"]].tolist() == ["exited", "stopped"]
    assert rt.outbox.rows() == []  # a was still waiting: no send after stop
    with pytest.raises(KeyError):
        rt.status("nope")
    rt.close()


def test_a_journey_with_validation_errors_is_refused_at_load_and_nothing_is_stored(tmp_path):
    j = Journey("Bad", id="bad")
    j.add(Action(id="a", event="X"))
    j.add(Webhook(id="w"))  # not an entry, not connected: a validation error
    for autopublish in (True, False):  # a draft too: the runtime would have to run it
        with pytest.raises(
            LifecycleError,
            match=r"journey 'bad' version 1 cannot be run, validation found errors:\n"
            r"  \$\.nodes\[1\]: Nothing leads into Webhook node 'w'",
        ):
            Runtime([promo(), j.definition], tmp_path / "rt.db", clock=ReplayClock(START), autopublish=autopublish)
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'rt.db'}")
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT count(*) FROM rt_versions").scalar() == 0
    eng.dispose()
    rt = Runtime([promo()], tmp_path / "rt.db", clock=ReplayClock(START))
    with pytest.raises(LifecycleError, match=r"\$\.nodes\[1\]"):
        rt.publish_version(msgspec.structs.replace(j.definition, id="promo", version=2))
    assert rt.js.ids == ["promo"] and sorted(rt.js.versions["promo"]) == [1]
    rt.close()


def test_a_stored_journey_with_validation_errors_is_refused_with_the_report(tmp_path):
    """A version in the database that does not validate (written by an older journeylab, or by
    hand) stops the start with its errors and where they are, instead of running it."""
    db = tmp_path / "rt.db"
    Runtime([promo()], db, clock=ReplayClock(START)).close()
    bad = json.loads(to_json(promo()))
    bad["nodes"].append({"kind": "webhook", "id": "orphan"})
    eng = sa.create_engine(f"sqlite:///{db}")
    with eng.begin() as c:
        c.exec_driver_sql("UPDATE rt_versions SET definition = ? WHERE journey_id = 'promo'", (json.dumps(bad),))
    eng.dispose()
    with pytest.raises(
        LifecycleError,
        match=r"journey 'promo' version 1 \(as stored in the database\) cannot be run, "
        r"validation found errors:\n  \$\.nodes\[3\]: Nothing leads into",
    ):
        Runtime([], db, clock=ReplayClock(START))


def test_validation_warnings_are_logged_once_per_journey_version(tmp_path):
    j = Journey("Wait", id="wait")
    j.add(Action(id="a", event="X"))
    j.then("a", "yes", Webhook(id="p", content={"t": "x"}))
    j.then("p", "next", Action(id="b", event="Y"))  # users wait at b for ever: a warning
    buf = io.StringIO()
    configure_logging("INFO", buf)
    try:
        rt = Runtime([j.definition, promo()], tmp_path / "rt.db", clock=ReplayClock(START))
        rt.publish_version(msgspec.structs.replace(j.definition, version=2))
        rt.publish_version(promo(version=2))  # reloads the set again: no repeat
        rt.close()
    finally:
        configure_logging("WARNING", io.StringIO())
    recs = [json.loads(line) for line in buf.getvalue().splitlines()]
    warned = [
        (r["journey"], r["version"], r["warnings"]) for r in recs if r["msg"] == "journey has validation warnings"
    ]
    assert [(jid, v) for jid, v, _ in warned] == [("wait", 1), ("wait", 2)]
    assert warned[0][2] == [
        "$.nodes[2]: Users wait here: users who never qualify at node 'b' stay there until the journey "
        "timeout; set a qualifying window and draw a timeout connector to move them on. "
        "[no-timeout-connector]"
    ]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('"name": "Promo"', '"name": "Promo \\udfff"', "$.name"),
        (
            '"event": "Charged"',
            '"event": "Charged", "filters": [{"property": "amount", "op": ">", "value": NaN}]',
            "$.nodes[0].filters[0].value",
        ),
        (
            '"event": "Charged"',
            '"event": "Charged", "filters": [{"property": "amount", "op": ">", "value": 1e999}]',
            "$.nodes[0].filters[0].value",
        ),
    ],
    ids=["lone-surrogate", "NaN", "infinity"],
)
def test_journeylab_run_refuses_a_journey_file_json_cannot_carry(tmp_path, old, new, path):
    import subprocess

    text = to_json(promo())
    assert old in text
    (tmp_path / "j.json").write_text(text.replace(old, new, 1))
    (tmp_path / "in.jsonl").write_text(json.dumps(ev("u", T0 + 60)) + "\n")
    out = subprocess.run(
        [
            *cli_run(str(tmp_path / "j.json"), db=str(tmp_path / "rt.db")),
            "--source",
            str(tmp_path / "in.jsonl"),
            "--clock",
            "replay",
            "--start",
            START.isoformat(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith(f"error: {path}: "), out.stderr
    assert "Traceback" not in out.stderr


def test_new_version_for_new_entrants_users_inside_finish_on_theirs(tmp_path):
    db = tmp_path / "rt.db"
    rt = Runtime([promo(20)], db, clock=ReplayClock(START))
    rt.ingest(ev("old", T0 + 60))
    rt.advance_to(T0 + 120)
    assert rt.publish_version(promo(40, version=2)) == 2
    with pytest.raises(LifecycleError, match="already has version 2"):
        rt.publish_version(promo(50, version=2))
    rt.ingest(ev("new", T0 + 180))
    rt.close()
    # a restart that names only the new version: version 1 comes from the database
    rt = Runtime([promo(40, version=2)], db, clock=ReplayClock(START))
    assert rt.status("promo") == "running"
    rt.advance_to(T0 + 86400)
    sent = {
        m["user_id"]: (m["version"], m["ts"] - t)
        for m in rt.outbox.rows()
        for t in [T0 + 60 if m["user_id"] == "old" else T0 + 180]
    }
    assert sent == {"old": (1, 20 * 60), "new": (2, 40 * 60)}
    assert rt.health()["versions"] == {"promo": [1, 2]}
    # content edits of a stored version are allowed; anything else needs a new version
    import msgspec

    d2 = promo(40, version=2)
    edited = msgspec.structs.replace(
        d2, nodes=[*d2.nodes[:2], msgspec.structs.replace(d2.nodes[2], content={"text": "new"})]
    )
    rt.close()
    Runtime([edited], db, clock=ReplayClock(START)).close()
    with pytest.raises(LifecycleError, match="differs from the stored version 2"):
        Runtime([promo(45, version=2)], db, clock=ReplayClock(START))


# ---------------------------------------------------------------------- feedback, stats, logs
def test_feedback_moves_users_and_user_id_comes_from_the_outbox(tmp_path):
    from journeylab.model import Push

    j = Journey("Nudge", id="nudge")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Push(id="p", content={"t": "x"}, response_window=dt.timedelta(hours=2)))
    j.then("p", "clicked", Webhook(id="thanks"))
    j.then("p", "timeout", Webhook(id="later"))
    rt = Runtime(
        [j.definition],
        tmp_path / "rt.db",
        clock=ReplayClock(START),
        profiles={"a": {"push_token": "t"}, "b": {"push_token": "t"}},
    )
    rt.ingest(ev("a", T0 + 10, "Go"))
    rt.ingest(ev("b", T0 + 10, "Go"))
    ids = {m["user_id"]: m["id"] for m in rt.outbox.rows()}
    assert rt.feedback(ids["a"], "clicked", ts=T0 + 600) == "ok"
    rt.ingest(Feedback("b", T0 + 700, ids["b"], "delivered"))
    rt.advance_to(T0 + 86400)
    t = rt.trace()
    a = t[t.user_id == "a"]
    assert list(zip(a["node"], a["event"], a["port"], strict=True))[4:9] == [
        ("p", "viewed", ""),
        ("p", "clicked", ""),
        ("p", "left", "clicked"),
        ("thanks", "entered", ""),
        ("thanks", "sent", ""),
    ]
    assert sorted(m["node"] for m in rt.outbox.rows()) == ["later", "p", "p", "thanks"]
    s = rt.stats("nudge")
    assert s.nodes.loc["p", ["sent", "delivered", "viewed", "clicked", "left_clicked", "left_timeout"]].tolist() == [
        2,
        1,
        1,
        1,
        1,
        1,
    ]
    d = s.to_dict()
    assert d["journey"]["entered"] == 2 and d["nodes"]["p"]["sent"] == 2
    json.dumps(d)  # JSON-ready
    rt.close()


def test_structured_logs_are_json_lines(tmp_path):
    buf = io.StringIO()
    configure_logging("INFO", buf)
    try:
        rt = Runtime([promo()], tmp_path / "rt.db", clock=ReplayClock(START))
        with pytest.raises(InputError):
            rt.ingest(ev("u", "2026-10-01T10:00:00"))
        rt.stop("promo")
        rt.close()
    finally:
        configure_logging("WARNING", io.StringIO())
    recs = [json.loads(line) for line in buf.getvalue().splitlines()]
    assert {"time", "level", "logger", "msg"} <= set(recs[0])
    rej = [r for r in recs if r["msg"] == "input rejected"]
    assert rej and rej[0]["path"] == "$.ts" and rej[0]["level"] == "WARNING" and rej[0]["source"] == "api"
    assert any(r["msg"] == "journey lifecycle" and r["journey"] == "promo" for r in recs)


def test_input_json_round_trip():
    evt = Event("u", T0, "Charged", {"amount": 3.5}, "e1")
    from journeylab.runtime import parse_input

    for inp in [evt, Feedback("u", T0, "m", "viewed")]:
        assert parse_input(json.loads(json.dumps(input_to_json(inp)))) == inp


def test_numpy_and_datetime_values_are_stored_as_json(tmp_path):
    import numpy as np

    rt = Runtime(
        [examples.ride_tier().definition],
        tmp_path / "rt.db",
        clock=ReplayClock(START),
        profiles={"r": {"ride_count": np.int64(9), "since": pd.Timestamp("2026-01-01", tz="UTC")}},
    )
    rt.ingest(Event("r", T0 + 5, "Ride Completed", {"km": np.float64(2.5)}))
    p = rt.user_states("r")["ride-tier"].profile
    assert p == {"ride_count": 10, "since": "2026-01-01T00:00:00+00:00", "tier": "Platinum"}
    rt.close()


def test_profile_updates_of_every_journey_are_kept_between_transactions(db_url):  # noqa: F811
    """A user's journeys share one profile, also when the user is read back from the database
    (a Profile Update in the second journey listed was lost after each transaction)."""
    other = Journey("Other", id="other")
    other.add(Action(id="a", event="Ping"))
    rides = Journey("Rides", id="rides", reentry=True)
    rides.add(Action(id="ride", event="Ride"))
    rides.then("ride", "yes", ProfileUpdate(id="count", property="ride_count", op="increment"))
    rides.then(
        "count", "next", ProfileMatch(id="third", profile=[PropertyFilter(property="ride_count", op=">=", value=3)])
    )
    t0 = int(START.timestamp()) + 8 * 3600
    rt = Runtime(
        [other.definition, rides.definition], db_url, clock=ReplayClock(START), profiles={"r": {"ride_count": 0}}
    )
    for i in range(3):  # one transaction each
        rt.ingest(Event("r", t0 + i * 3600, "Ride"))
    t = rt.trace()
    assert t.loc[t["event"] == "profile_updated", "detail"].tolist() == [
        "ride_count: 0 -> 1",
        "ride_count: 1 -> 2",
        "ride_count: 2 -> 3",
    ]
    assert t.loc[(t["node"] == "third") & (t["event"] == "left"), "port"].tolist() == ["no", "no", "yes"]
    assert rt.user_states("r")["other"].profile == {"ride_count": 3}
    rt.close()


def test_journeylab_run_refuses_profiles_with_a_missing_user_id(tmp_path):
    """#16 finding 8: a NaN user_id in a profiles table became the user "nan"."""
    from journeylab import cli
    from journeylab.cli_run import _read_profiles

    (tmp_path / "j.json").write_text(to_json(promo()))
    (tmp_path / "users.csv").write_text("user_id,tier\n007,gold\n12,silver\n,bronze\n")
    with pytest.raises(SystemExit, match=r"users.csv: profiles\[2\]\.user_id: missing user_id"):
        cli.main(
            [
                "run",
                str(tmp_path / "j.json"),
                "--db",
                str(tmp_path / "rt.db"),
                "--profiles",
                str(tmp_path / "users.csv"),
                "--source",
                str(tmp_path / "j.json"),
                "--clock",
                "replay",
            ]
        )
    assert not (tmp_path / "rt.db").exists()
    pd.DataFrame({"user_id": ["a", None], "tier": ["x", "y"]}).to_parquet(tmp_path / "users.parquet")
    with pytest.raises(SystemExit, match=r"profiles\[1\]\.user_id: missing user_id"):
        _read_profiles(str(tmp_path / "users.parquet"))
    (tmp_path / "users.csv").write_text("user_id,tier\n007,gold\n12,silver\n")
    assert _read_profiles(str(tmp_path / "users.csv")) == {"007": {"tier": "gold"}, "12": {"tier": "silver"}}
