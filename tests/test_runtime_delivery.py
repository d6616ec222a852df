"""Delivery (#16 findings 4 and 5): each destination gets every message; durable retries with
backoff, Retry-After and a 24 h horizon, then a re-drive; leases that let a slow but healthy
receiver get each message once; signed payloads and custom headers.

Retry schedules, pauses and leases run on a clock the test moves (``runtime_helpers.FakeTime``),
so no test waits for them or depends on how fast the machine is."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from runtime_helpers import START, FakeTime, HookReceiver, cli_run, db_url  # noqa: F401 - fixture
from test_runtime_io import journey

from journeylab.runtime import Outbox, ReplayClock, Runtime, WebhookSender

T0 = int(START.timestamp())


def _messages(rt, n):
    for i in range(n):
        rt.ingest({"user_id": f"u{i:03d}", "event": "Go", "ts": T0 + i})
    rt.advance_to(T0 + 3600)
    assert len(rt.outbox.rows()) == n


def test_each_webhook_gets_every_message(db_url):  # noqa: F811
    rec = HookReceiver()
    a, b = WebhookSender(rec.url + "/a", retries=1), WebhookSender(rec.url + "/b", retries=1)
    rt = Runtime([journey()], db_url, clock=ReplayClock(START), adapters=[a, b])
    _messages(rt, 50)
    while any(sum(n.values()) for n in rt.pump_adapters()):
        pass
    ids = sorted(m["id"] for m in rt.outbox.rows())
    assert sorted(rec.delivered["/a"]) == ids and sorted(rec.delivered["/b"]) == ids
    assert len(rec.keys("/a")) == len(rec.keys("/b")) == 50  # once each
    assert rt.outbox.counts() == {"pending": 0, "leased": 0, "sent": 50, "failed": 0}
    assert rt.health()["deliveries"] == {
        d: {"pending": 0, "leased": 0, "sent": 50, "failed": 0} for d in (a.url, b.url)
    }
    rt.close()
    rec.close()


def test_one_destination_failing_does_not_hold_back_the_other(tmp_path):
    up, down = HookReceiver(), HookReceiver(fail=10**6, status=503)
    good, bad = WebhookSender(up.url + "/", retries=1), WebhookSender(down.url + "/", retries=1)
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START), adapters=[good, bad])
    _messages(rt, 3)
    rt.pump_adapters()
    assert sorted(up.delivered["/"]) == sorted(m["id"] for m in rt.outbox.rows())
    per = rt.health()["deliveries"]
    assert per[good.destination]["sent"] == 3 and per[bad.destination]["pending"] == 3
    assert rt.outbox.counts()["pending"] == 3  # a message is done when every destination has it
    rt.close()
    up.close()
    down.close()


def test_retries_are_durable_until_the_horizon_then_failed_and_redriven(tmp_path):
    rec = HookReceiver(fail=10**6, status=503)
    clock = FakeTime()
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    _messages(rt, 1)
    ob = Outbox(rt.engine, clock=clock)  # default policy: 24 h horizon, 1 s doubling to 1 h
    sender = WebhookSender(rec.url + "/", retries=1, destination="default")
    start = clock.t
    gaps = []
    while True:
        due = [d["not_before"] for d in ob.deliveries() if d["status"] == "pending"]
        if not due:
            break
        gaps.append(due[0] - clock.t)
        clock.t = max(clock.t, due[0])
        sender.pump(ob)
    (row,) = ob.deliveries()
    assert row["status"] == "failed" and row["last_error"].startswith("HTTP 503")
    waited = clock.t - start
    assert 20 * 3600 < waited <= 24 * 3600  # gave up only at the horizon
    assert row["attempts"] == len(rec.keys()) and 25 <= row["attempts"] <= 40
    assert gaps[1] < gaps[5] < gaps[10] and max(gaps) <= 3600 * 1.2 + 1  # exponential, capped at an hour
    assert len({round(g, 3) for g in gaps[12:]}) > 1  # jitter
    # re-drive: due at once, and delivered when the receiver is back
    rec.fail = 0
    assert ob.redrive() == 1
    assert sender.pump(ob) == {"sent": 1, "retry": 0, "failed": 0}
    assert ob.rows()[0]["status"] == "sent"
    rt.close()
    rec.close()


def test_retry_after_is_honoured(tmp_path):
    rec = HookReceiver(fail=1, status=429, retry_after="120")
    clock = FakeTime()
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    _messages(rt, 1)
    ob = Outbox(rt.engine, clock=clock)
    sender = WebhookSender(
        rec.url + "/", retries=3, backoff=0.01, destination="default", clock=clock, sleep=clock.sleep
    )
    assert sender.pump(ob) == {"sent": 0, "retry": 1, "failed": 0}
    assert clock.slept == [] and len(rec.keys()) == 1  # no quick retries against the receiver's wish
    (row,) = ob.deliveries()
    assert row["not_before"] >= clock.t + 120
    clock.t += 119
    assert sender.pump(ob) == {"sent": 0, "retry": 0, "failed": 0}
    clock.t += 2
    assert sender.pump(ob) == {"sent": 1, "retry": 0, "failed": 0}
    rt.close()
    rec.close()


class SlowClient:
    """An HTTP client for the senders whose receiver takes ``per_message`` seconds of the test's
    clock to answer each request (200), recording the Idempotency-Key of every request; after
    the ``cut_in``-th request it lets ``other`` (another sender) pump the outbox: the second
    sender working while the first waits for the receiver."""

    def __init__(self, clock: FakeTime, keys: list[str], per_message: float) -> None:
        self.clock, self.keys, self.per_message = clock, keys, per_message
        self.cut_in: tuple[int, object, object] | None = None  # (request number, sender, outbox)

    def post(self, url, content, headers):  # noqa: ANN001, ANN201 - what WebhookSender calls
        import httpx

        self.keys.append(headers["Idempotency-Key"])
        self.clock.advance(self.per_message)
        if self.cut_in is not None and len(self.keys) == self.cut_in[0]:
            _, other, outbox = self.cut_in
            self.cut_in = None
            other.pump(outbox)
        return httpx.Response(200, request=httpx.Request("POST", url))

    def close(self) -> None:
        pass


def test_a_slow_but_healthy_receiver_gets_each_message_once(db_url):  # noqa: F811
    """Two senders drain one destination from a receiver that takes 0.6 s per message; one
    message's lease is 1.5 s, a batch of 8 takes 4.8 s. Sender A takes the batch; while it
    waits for its third answer (1.8 s in, every lease of the batch has run out), sender B
    pumps: it takes the five messages A has not sent yet and sends them. A, going on, finds
    each of those leases renewed by B (``lost``) and does not send it. Every message once."""
    rt = Runtime([journey()], db_url, clock=ReplayClock(START))
    _messages(rt, 8)
    clock = FakeTime()
    ob = Outbox(rt.engine, clock=clock)
    keys: list[str] = []
    a, b = (
        WebhookSender(
            "http://receiver.invalid/",
            retries=1,
            timeout=1.0,
            destination="default",
            client=SlowClient(clock, keys, 0.6),
            clock=clock,
            sleep=clock.sleep,
        )
        for _ in range(2)
    )
    for s in (a, b):
        s.lease = 1.5  # one message's worst case here (a 1 s timeout), with a small margin
    a._client.cut_in = (3, b, ob)
    assert a.pump(ob) == {"sent": 3, "retry": 0, "failed": 0, "lost": 5}  # the batch outlived the leases
    assert sorted(keys) == sorted(m["id"] for m in rt.outbox.rows())
    assert len(keys) == len(set(keys)) == 8, f"{len(keys) - len(set(keys))} messages were sent twice"
    assert ob.counts() == {"pending": 0, "leased": 0, "sent": 8, "failed": 0}
    rt.close()


def test_payloads_are_signed_and_carry_custom_headers(tmp_path):
    rec = HookReceiver()
    sender = WebhookSender(
        rec.url + "/",
        headers={"Authorization": "Bearer abc", "X-Tenant": "t1"},
        secret="s3cret",
        clock=lambda: 1790812800.5,
    )
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START), adapters=[sender])
    _messages(rt, 2)
    rt.pump_adapters()
    assert len(rec.requests) == 2
    for _, key, headers, body in rec.requests:
        assert headers["Authorization"] == "Bearer abc" and headers["X-Tenant"] == "t1"
        t, v1 = (p.split("=", 1)[1] for p in headers["X-Journeylab-Signature"].split(","))
        import json

        raw = json.dumps(body, ensure_ascii=False).encode()
        assert hmac.compare_digest(v1, hmac.new(b"s3cret", f"{t}.".encode() + raw, hashlib.sha256).hexdigest())
        assert t == "1790812800" and body["id"] == key  # signed at the sender's clock
    rt.close()
    rec.close()


@pytest.mark.parametrize("n", [1])
def test_lease_covers_one_messages_worst_case(n):
    s = WebhookSender("http://127.0.0.1:9/", retries=3, timeout=10.0, backoff=0.5)
    assert 30 + 1.5 <= s.lease <= 30 + 1.5 * 1.2 + 5


def test_cli_two_webhooks_headers_secret_and_redrive(tmp_path):
    import json
    import os
    import subprocess
    import sys

    from runtime_helpers import ROOT

    from journeylab.model.io import save

    a, b = HookReceiver(), HookReceiver(fail=10**6, status=400)
    path = save(journey(), tmp_path / "hook.json")
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"user_id": f"u{i}", "event": "Go", "ts": T0 + i}) + "\n" for i in range(5)))
    db = f"sqlite:///{tmp_path / 'rt.db'}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOURNEYLAB_WEBHOOK_SECRET": "k"}
    cmd = [
        *cli_run(str(path), db=db),
        "--source",
        str(src),
        "--clock",
        "replay",
        "--start",
        START.isoformat(),
        "--until",
        "2026-10-02T00:00:00Z",
        "--webhook",
        a.url + "/",
        "--webhook",
        b.url + "/",
        "--webhook-header",
        "X-Tenant: t1",
        "--log-level",
        "ERROR",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert len(a.delivered["/"]) == 5 and len(b.keys()) == 5  # both got every message
    assert all(h["X-Tenant"] == "t1" and h["X-Journeylab-Signature"].startswith("t=") for _, _, h, _ in a.requests)
    ob = Outbox(db)
    assert ob.counts(by_destination=True)[b.url + "/"]["failed"] == 5  # a 400 is permanent
    red = subprocess.run(
        [sys.executable, "-m", "journeylab.cli", "redrive", "--db", db, "--destination", b.url + "/"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert red.returncode == 0 and json.loads(red.stdout) == {"redriven": 5}
    assert ob.counts(by_destination=True)[b.url + "/"]["pending"] == 5
    a.close()
    b.close()
