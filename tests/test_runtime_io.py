"""The runtime's edges: the outbox and the webhook sender against a real local HTTP server,
the HTTP ingest endpoint, and ``journeylab run`` under uvicorn on the wall clock.

Retry pauses, backoff and leases run on a clock the test moves (``runtime_helpers.FakeTime``:
the sender's ``sleep`` and the outbox's ``clock``); the timer loop on a wall clock whose time
the test sets (``SteppedWallClock``). Only ``journeylab run`` as a process uses real time, and
waits for what it does, never bounding how long it took."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from runtime_helpers import ROOT, START, FakeTime, SteppedWallClock, cli_run, wait_until

from journeylab.model import Action, Delay, Journey, Webhook
from journeylab.model.io import save
from journeylab.runtime import Outbox, ReplayClock, Runtime, WallClock, WebhookSender, create_app

T0 = int(START.timestamp())
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def journey(delay_s: int = 60):
    j = Journey("Hook", id="hook")
    j.add(Action(id="go", event="Go"))
    j.then("go", "yes", Delay(id="wait", duration=dt.timedelta(seconds=delay_s)))
    j.then("wait", "next", Webhook(id="call", content={"text": "hello {{name|you}}"}))
    return j.definition


class Receiver:
    """A local HTTP server that fails the first ``fail`` attempts of each Idempotency-Key."""

    def __init__(self, fail: int = 2, status: int = 503) -> None:
        self.fail, self.status = fail, status
        self.requests: list[tuple[str, str, dict]] = []
        self.delivered: dict[str, dict] = {}
        self.delivered_at: dict[str, float] = {}  # the wall time of each key's first success
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                key = self.headers.get("Idempotency-Key", "")
                rec.requests.append((self.path, key, body))
                tries = sum(1 for _, k, _ in rec.requests if k == key)
                if self.path == "/bad":
                    code = 400
                elif tries <= rec.fail:
                    code = rec.status
                else:
                    code = 200
                    rec.delivered_at.setdefault(key, time.time())
                    rec.delivered.setdefault(key, body)  # idempotent: a key is handled once
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()  # quick shutdown()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _runtime_with_messages(tmp_path, n=3, **kw):
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START), **kw)
    for i in range(n):
        rt.ingest({"user_id": f"u{i}", "event": "Go", "ts": T0 + i})
    rt.advance_to(T0 + 3600)
    assert len(rt.outbox.rows()) == n
    return rt


def test_webhook_sender_retries_with_backoff_and_the_action_id_as_idempotency_key(tmp_path, receiver):
    clock = FakeTime()
    sender = WebhookSender(receiver.url + "/hook", retries=4, backoff=0.01, sleep=clock.sleep)
    rt = _runtime_with_messages(tmp_path, adapters=[sender])
    ids = sorted(m["id"] for m in rt.outbox.rows())
    assert rt.pump_adapters() == [{"sent": 3, "retry": 0, "failed": 0}]
    # before each message's third try, two pauses: 0.01 s then 0.02 s, each with +-20 % jitter
    assert len(clock.slept) == 6, clock.slept
    for first, second in zip(clock.slept[::2], clock.slept[1::2], strict=True):
        assert 0.008 <= first <= 0.012 and 0.016 <= second <= 0.024, clock.slept
    assert sorted(receiver.delivered) == ids
    assert len(receiver.requests) == 9  # two failures then success, for each message
    for key in ids:
        tries = [b for _, k, b in receiver.requests if k == key]
        assert len(tries) == 3 and all(b == tries[0] for b in tries)
        assert (
            tries[0]["id"] == key and tries[0]["content"] == {"text": "hello you"} and tries[0]["channel"] == "webhook"
        )
    assert {m["status"] for m in rt.outbox.rows()} == {"sent"}
    assert rt.pump_adapters() == [{"sent": 0, "retry": 0, "failed": 0}]  # nothing is sent twice
    rt.close()


def test_failed_sends_go_back_to_the_outbox_and_are_retried_later(tmp_path, receiver):
    receiver.fail = 3
    clock = FakeTime()
    sender = WebhookSender(receiver.url, retries=1, backoff=0.05)
    rt = _runtime_with_messages(tmp_path, n=1, adapters=[sender])
    ob = Outbox(rt.engine, clock=clock, backoff=0.05)  # the runtime's outbox, on the test's clock
    assert sender.pump(ob) == {"sent": 0, "retry": 1, "failed": 0}
    row = ob.rows()[0]
    assert row["status"] == "pending" and row["attempts"] == 1 and "HTTP 503" in row["last_error"]
    assert sender.pump(ob)["sent"] == 0  # not due yet (backoff)
    gaps = []
    while not receiver.delivered:
        (due,) = [d["not_before"] for d in ob.deliveries() if d["status"] == "pending"]
        gaps.append(due - clock.t)
        clock.t = due
        assert sender.pump(ob)["retry" if len(gaps) < 3 else "sent"] == 1
    assert list(receiver.delivered) == [row["id"]]
    assert ob.rows()[0]["status"] == "sent" and ob.rows()[0]["attempts"] == 4
    # due again after 0.05 s, 0.1 s, 0.2 s (doubling, +-20 % jitter)
    for gap, base in zip(gaps, (0.05, 0.1, 0.2), strict=True):
        assert 0.8 * base - 1e-9 <= gap <= 1.2 * base + 1e-9, gaps
    rt.close()


def test_permanent_errors_and_too_many_attempts_mark_a_message_failed(tmp_path, receiver):
    rt = _runtime_with_messages(tmp_path, n=1, adapters=[WebhookSender(receiver.url + "/bad", retries=3, backoff=0.01)])
    assert rt.pump_adapters() == [{"sent": 0, "retry": 0, "failed": 1}]
    assert len(receiver.requests) == 1  # a 400 is not retried
    row = rt.outbox.rows()[0]
    assert row["status"] == "failed" and row["last_error"].startswith("HTTP 400")
    rt.close()
    receiver.requests.clear()
    receiver.fail = 100
    rt = _runtime_with_messages(
        tmp_path / "b",
        n=1,
        max_attempts=2,
        retry_backoff=0.001,
        adapters=[WebhookSender(receiver.url, retries=1, backoff=0.001, max_backoff=0.001)],
    )
    clock = FakeTime()
    ob = Outbox(rt.engine, clock=clock, max_attempts=2, backoff=0.001)
    (sender,) = rt.adapters
    assert sender.pump(ob) == {"sent": 0, "retry": 1, "failed": 0}
    clock.advance(0.01)  # past the backoff
    assert sender.pump(ob) == {"sent": 0, "retry": 0, "failed": 1}
    assert rt.outbox.counts()["failed"] == 1 and len(receiver.requests) == 2
    rt.close()


def test_unreachable_receiver_is_retried(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    rt = _runtime_with_messages(
        tmp_path, n=1, adapters=[WebhookSender(f"http://127.0.0.1:{port}/", retries=2, backoff=0.01)]
    )
    assert rt.pump_adapters() == [{"sent": 0, "retry": 1, "failed": 0}]
    assert "ConnectError" in rt.outbox.rows()[0]["last_error"]
    rt.close()


def test_outbox_drain_ack_and_lease_expiry_from_another_process(tmp_path):
    rt = _runtime_with_messages(tmp_path, n=4)
    clock = FakeTime()
    ext = Outbox(f"sqlite:///{tmp_path / 'rt.db'}", clock=clock)  # an external sender's own connection
    first = ext.drain(3, lease=0.2)
    assert [m.user_id for m in first] == ["u0", "u1", "u2"] and all(m.attempts == 1 for m in first)
    assert first[0].payload["content"] == {"text": "hello you"}
    assert [m.user_id for m in ext.drain(10)] == ["u3"]  # leased ones are not handed out twice
    assert ext.drain(10) == []
    assert ext.ack([first[0].id, first[1].id]) == 2
    clock.advance(0.25)  # the lease of the third ran out before it was acked: handed out again
    again = ext.drain(10)
    assert [m.user_id for m in again] == ["u2"] and again[0].attempts == 2
    assert ext.drain(10, channels=["email"]) == []
    assert rt.outbox.counts() == {"pending": 0, "leased": 2, "sent": 2, "failed": 0}
    rt.close()


# ---------------------------------------------------------------------- HTTP ingest
@pytest.fixture
def client(tmp_path):
    from starlette.testclient import TestClient

    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        c.rt = rt
        yield c
    rt.close()


def test_http_events_one_or_many(client):
    r = client.post("/events", json={"user_id": "a", "event": "Go", "ts": T0 + 5, "event_id": "e1"})
    assert r.status_code == 200 and r.json() == {"accepted": 1, "duplicates": 0}
    r = client.post(
        "/events",
        json=[
            {"user_id": "b", "event": "Go", "ts": "2026-10-01T00:00:09+00:00"},
            {"user_id": "a", "event": "Go", "ts": T0 + 5, "event_id": "e1"},
        ],
    )
    assert r.json() == {"accepted": 1, "duplicates": 1}
    client.rt.advance_to(T0 + 3600)
    assert sorted(m["user_id"] for m in client.rt.outbox.rows()) == ["a", "b"]


def test_http_malformed_events_answer_400_with_path_and_reason(client):
    r = client.post("/events", content=b'{"user_id": "a", "event": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"].startswith("$: not valid JSON")
    r = client.post("/events", json={"user_id": "a", "event": "Go", "ts": "2026-10-01T10:00:00"})
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {
            "index": 0,
            "path": "$.ts",
            "reason": "naive timestamp '2026-10-01T10:00:00': give a UTC offset such as 'Z' or '+05:30'",
        }
    ]
    batch = [
        {"user_id": "a", "event": "Go", "ts": T0},
        {"event": "Go", "ts": T0},
        {"user_id": "c", "event": "Go", "ts": T0 + 1},
        {"user_id": "d", "event": "Go", "ts": T0, "extra": 1},
        {"type": "feedback", "message_id": "m", "kind": "viewed"},
    ]
    r = client.post("/events", json=batch)
    assert r.status_code == 400
    body = r.json()
    assert body["accepted"] == 2
    assert [(e["index"], e["path"]) for e in body["errors"]] == [
        (1, "$[1].user_id"),
        (3, "$[3].extra"),
        (4, "$[4].type"),
    ]
    assert body["error"] == "$[1].user_id: missing required field 'user_id'"
    h = client.get("/health").json()
    assert h["rejected"] == 5 and h["users"] == 2 and h["journeys"] == {"hook": "running"}
    client.rt.advance_to(T0 + 3600)
    assert sorted(m["user_id"] for m in client.rt.outbox.rows()) == ["a", "c"]  # the good ones around the bad


def test_http_feedback_and_stats(client):
    client.post("/events", json={"user_id": "a", "event": "Go", "ts": T0})
    client.rt.advance_to(T0 + 3600)
    mid = client.rt.outbox.rows()[0]["id"]
    r = client.post("/feedback", json={"message_id": mid, "kind": "delivered", "ts": T0 + 3600})
    assert r.status_code == 200, r.text
    r = client.post("/feedback", json={"message_id": "nope", "kind": "viewed", "ts": T0 + 3600})
    assert r.status_code == 400 and r.json()["errors"][0]["path"] == "$.message_id"
    s = client.get("/stats/hook").json()
    assert s["journey"]["entered"] == 1 and s["nodes"]["call"]["sent"] == 1
    assert s["journey"]["time_to_goal_median_min"] is None
    assert client.get("/stats/nope").status_code == 404


# ---------------------------------------------------------------------- the CLI on the wall clock
def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_journeylab_run_serves_http_fires_timers_on_time_and_calls_the_webhook(tmp_path, receiver):
    import httpx

    receiver.fail = 1
    path = save(journey(delay_s=2), tmp_path / "hook.json")
    port = _free_port()
    cmd = [
        *cli_run(str(path), db=f"sqlite:///{tmp_path / 'rt.db'}"),
        "--source",
        "http",
        "--port",
        str(port),
        "--webhook",
        receiver.url + "/hook",
    ]
    p = subprocess.Popen(
        cmd, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert p.poll() is None, p.stderr.read()
            assert time.time() < deadline
            time.sleep(0.1)
        before = int(time.time())
        r = httpx.post(base + "/events", json={"user_id": "w1", "event": "Go", "event_id": "x"}, timeout=5)
        after = int(time.time())
        assert r.json() == {"accepted": 1, "duplicates": 0}
        deadline = time.time() + 60
        while not receiver.delivered and time.time() < deadline:
            assert p.poll() is None, p.stderr.read()
            time.sleep(0.05)
        assert receiver.delivered, "the webhook was not called"
        ((key, body),) = receiver.delivered.items()
        assert body["user_id"] == "w1" and body["node"] == "call"
        # the event was stamped on the server's wall clock while it was posted; the 2 s delay
        # made the message due 2 s later, and it was not sent before then
        assert before + 2 <= body["ts"] <= after + 2, (before, body["ts"], after)
        assert receiver.delivered_at[key] >= body["ts"]
        assert httpx.get(base + "/stats/hook", timeout=5).json()["nodes"]["call"]["sent"] == 1
        assert (
            httpx.post(
                base + "/events", content=b"[{]", headers={"Content-Type": "application/json"}, timeout=5
            ).status_code
            == 400
        )
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            out, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    assert p.returncode == 0, err[-3000:]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    msgs = {r["msg"] for r in logs}
    assert {"runtime started", "http ingest listening", "message delivered", "input rejected"} <= msgs


def test_run_forever_fires_delays_on_the_wall_clock(tmp_path):
    """The timer loop in its thread on a wall clock whose time the test sets: nothing fires
    while the clock is before the due instant, however many times the loop looks; the delay
    fires once the clock reaches it."""
    now = T0 + 7200
    clock = SteppedWallClock(now)
    rt = Runtime([journey(delay_s=1)], tmp_path / "rt.db", clock=clock)
    looked: list[int] = []
    real = rt.advance_to

    def advance_to(t=None):
        real(t)
        if t is None:  # the loop's look at the clock
            looked.append(clock.now())

    rt.advance_to = advance_to
    th = threading.Thread(target=rt.run_forever, kwargs={"tick": 0.05}, daemon=True)
    th.start()
    try:
        rt.ingest({"user_id": "a", "event": "Go", "ts": now})
        seen = len(looked)
        assert wait_until(lambda: len(looked) >= seen + 3)  # the loop looked again, at the same instant
        assert rt.outbox.rows() == []  # not due before now + 1
        clock.t = now + 1
        assert wait_until(lambda: rt.outbox.rows())
        m = rt.outbox.rows()
        assert len(m) == 1 and m[0]["ts"] == now + 1
    finally:
        rt.shutdown()
        th.join(5)
        rt.close()
    with pytest.raises(ValueError, match="wall clock cannot be advanced"):
        WallClock().advance_to(time.time() + 100)


def test_journeylab_run_replays_stdin_and_resumes_after_the_committed_lines(tmp_path):
    path = save(journey(delay_s=60), tmp_path / "hook.json")
    lines = [json.dumps({"user_id": f"u{i}", "event": "Go", "ts": T0 + 10 * i, "event_id": f"e{i}"}) for i in range(5)]
    lines.insert(2, '{"user_id": 1}')
    cmd = [
        *cli_run(str(path), db=f"sqlite:///{tmp_path / 'rt.db'}"),
        "--source",
        "-",
        "--clock",
        "replay",
        "--start",
        START.isoformat(),
        "--until",
        "2026-10-02T00:00:00Z",
        "--log-level",
        "ERROR",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(cmd, input="\n".join(lines[:4]) + "\n", capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    first = json.loads(out.stdout)
    assert first["input"] == {"ok": 3, "duplicate": 0, "rejected": 1, "error": 0, "skip": 0}
    assert first["outbox"]["pending"] == 3 and first["rejected"] == 1
    # the producer replays the whole stream: the first 4 lines are skipped, not redone
    out = subprocess.run(cmd, input="\n".join(lines) + "\n", capture_output=True, text=True, env=env, timeout=60)
    second = json.loads(out.stdout)
    assert second["input"] == {"ok": 2, "duplicate": 0, "rejected": 0, "error": 0, "skip": 0}
    assert second["outbox"]["pending"] == 5 and second["rejected"] == 1
