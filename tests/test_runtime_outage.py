"""A database outage (#16 finding 2): the timer and sender loops survive it with backoff,
``/health`` says degraded while they cannot work (and HTTP ingest answers 503, losing
nothing), and everything recovers by itself when the database is back."""

from __future__ import annotations

import threading

import pytest
from runtime_helpers import START, pg_outage, wait_until  # noqa: F401 - fixture
from test_runtime_io import Receiver, journey

from journeylab.runtime import ReplayClock, Runtime, WebhookSender, create_app

pytestmark = [pytest.mark.postgres, pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")]


def test_timers_and_senders_survive_a_database_outage_and_health_is_honest(pg_outage):  # noqa: F811
    """The runtime's clock is a :class:`ReplayClock` the test moves: the 2 s delay falls due
    while the database is down because the test says so, not because 2 s of wall time passed;
    the loops and the HTTP server are real threads, waited on for what they report."""
    from starlette.testclient import TestClient

    receiver = Receiver(fail=0)
    clock = ReplayClock(START)
    rt = Runtime(
        [journey(delay_s=2)],
        pg_outage.url,
        clock=clock,
        adapters=[WebhookSender(receiver.url, retries=1, backoff=0.05)],
    )
    th = threading.Thread(target=rt.run_forever, kwargs={"tick": 0.2, "adapters_every": 0.2}, daemon=True)
    th.start()
    try:
        with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
            assert c.get("/health").json()["status"] == "ok"
            r = c.post("/events", json={"user_id": "a", "event": "Go", "event_id": "e1"})
            assert r.status_code == 200
            pg_outage.stop()
            clock.advance_to(clock.now() + 2)  # the delay falls due while the database is down
            assert wait_until(lambda: c.get("/health").status_code == 503, 30), c.get("/health").json()
            assert wait_until(lambda: not c.get("/health").json()["components"]["timers"]["ok"], 30)
            h = c.get("/health").json()
            assert h["status"] == "degraded" and "database" in h
            assert h["components"]["timers"]["error"]
            r = c.post("/events", json={"user_id": "b", "event": "Go", "event_id": "e2"})
            assert r.status_code == 503 and r.headers["Retry-After"] and r.json()["accepted"] == 0
            # the timer loop tries again and again (with backoff) and lives on
            assert wait_until(lambda: c.get("/health").json()["components"]["timers"]["failures"] >= 3, 60)
            assert th.is_alive()
            pg_outage.start()
            # by itself: the timer fires, the message goes out, health says ok again
            assert wait_until(lambda: len(receiver.delivered) == 1, 60)
            assert wait_until(lambda: c.get("/health").status_code == 200, 30), c.get("/health").json()
            assert c.post("/events", json={"user_id": "b", "event": "Go", "event_id": "e2"}).status_code == 200
            clock.advance_to(clock.now() + 2)
            assert wait_until(lambda: len(receiver.delivered) == 2, 30)
            h = c.get("/health").json()
            assert h["status"] == "ok" and all(v["ok"] for v in h["components"].values())
            assert h["components"]["timers"]["failures"] >= 3
    finally:
        rt.shutdown()
        th.join(10)
        rt.close()
        receiver.close()
    assert not th.is_alive()
    assert sorted(b["user_id"] for b in receiver.delivered.values()) == ["a", "b"]


def test_a_file_source_waits_out_a_database_outage_and_goes_on_from_its_offset(pg_outage, tmp_path):  # noqa: F811
    """The database goes down after the 50th line and comes back once the source has failed
    three times (each failure backs off and reads the committed offset again): counted
    failures, not seconds, say that it waited."""
    import json

    t0 = int(START.timestamp())
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"user_id": f"u{i}", "event": "Go", "ts": t0 + i}) + "\n" for i in range(200)))
    rt = Runtime([journey(delay_s=2)], pg_outage.url, clock=ReplayClock(START))
    real_ops, real_failed = rt._run_ops, rt._failed
    calls = {"ops": 0, "failed": 0}

    def run_ops(ops, source):  # the outage starts after the 50th line
        calls["ops"] += 1
        if calls["ops"] == 6:
            pg_outage.stop()
        return real_ops(ops, source)

    def failed(name, e):
        delay = real_failed(name, e)
        if name == "source":
            calls["failed"] += 1
            if calls["failed"] == 3:
                pg_outage.start()
        return delay

    rt._run_ops, rt._failed = run_ops, failed
    counts = rt.ingest_jsonl(src, batch=10)
    assert calls["failed"] >= 3  # it waited for the database
    assert counts["ok"] == 200 and rt.offset(f"file:{src.resolve()}") == 200
    assert rt.health()["components"]["source"]["failures"] >= 3 and rt.health()["status"] == "ok"
    rt.advance_to(t0 + 3600)
    assert len(rt.outbox.rows()) == 200 and len(rt.trace()) == len(set(map(tuple, rt.trace().values.tolist())))
    rt.close()
