"""Chaos (#16, must show): ``journeylab run`` as a subprocess on PostgreSQL, fed a JSON-lines
file with poison lines, delivering to a slow and a flaky webhook receiver on loopback, is
killed with SIGKILL again and again and has its database stopped and started under it. At the
end nothing is lost: every message reached both destinations, repeats only as at-least-once
retries with the same idempotency key, every poison line is a dead letter, and /health was
honest throughout. Bounded: loopback only, a fixed number of kills, a deadline."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa
from runtime_helpers import ROOT, HookReceiver, cli_run, pg_outage  # noqa: F401 - fixture
from test_runtime_io import _free_port, journey

from journeylab.model.io import save

pytestmark = pytest.mark.postgres
TOKEN = "chaos-token-0123456789abcdef"
N_USERS = 120
OUTAGE_PROBES = 10  # probes of /health, 0.2 s apart, once it said the database is down
POISON = [
    '{"user_id": "p1", "event": "Go", "props": {"x": "\\udfff"}}',
    '{"user_id": "p2", "event": "Go", "props": {"x": ' + "9" * 5000 + "}}",
    '{"user_id": "p\\u0000", "event": "Go"}',
    '{"user_id": "p4", "event": "Go", "ts": "9999-01-01T00:00:00Z"}',
    "{not json",
    '{"user_id": "p6", "event": "Go", "props": {"x": NaN}}',
]


def _health(base):
    try:
        r = httpx.get(base + "/health", timeout=2)
        return r.status_code, r.json()
    except httpx.HTTPError:
        return None, None


def test_chaos_kills_outage_poison_and_bad_receivers(pg_outage, tmp_path):  # noqa: F811
    t_start = time.time()
    rng = random.Random(16)
    slow, flaky = HookReceiver(delay=0.05), HookReceiver(fail=1, status=503)
    path = save(journey(delay_s=1), tmp_path / "hook.json")
    src = tmp_path / "in.jsonl"
    lines = []
    for i in range(N_USERS):
        lines.append(json.dumps({"user_id": f"u{i:03d}", "event": "Go", "event_id": f"e{i}"}))
        if i % 25 == 7:
            lines.append(POISON[(i // 25) % len(POISON)])
    src.write_text("\n".join(lines) + "\n")
    n_poison = sum(1 for line in lines if not line.startswith('{"user_id": "u'))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOURNEYLAB_TOKEN": TOKEN}
    cmd = [
        *cli_run(str(path), db=pg_outage.url),
        "--source",
        str(src),
        "--port",
        str(port),
        "--webhook",
        slow.url + "/",
        "--webhook",
        flaky.url + "/",
        "--webhook-timeout",
        "5",
        "--log-level",
        "WARNING",
    ]

    def start():
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while _health(base)[0] is None:
            assert p.poll() is None, p.stderr.read()[-3000:]
            assert time.time() < deadline
            time.sleep(0.05)
        return p

    kills = restarts = 0
    honest = []
    p = start()
    for k in range(5):  # SIGKILL at random points: while ingesting, firing timers, sending
        time.sleep(rng.uniform(0.2, 2.0))
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills += 1
        if k == 2:  # a database outage while the runtime is up
            p = start()
            restarts += 1
            time.sleep(0.5)
            pg_outage.stop()
            # /health notices (a generous deadline), then says so at every probe for a while
            deadline = time.time() + 30
            while not honest or honest[-1][0] == 200:
                assert time.time() < deadline, f"/health never noticed the outage: {honest}"
                code, h = _health(base)
                honest.append((code, h and h["status"]))
                time.sleep(0.2)
            down = len(honest) - 1
            for _ in range(OUTAGE_PROBES):
                code, h = _health(base)
                honest.append((code, h and h["status"]))
                time.sleep(0.2)
            pg_outage.start()
            continue
        p = start()
        restarts += 1
    # no more chaos: everything must arrive, and be recorded as sent (an ack commits after
    # the receiver has answered)
    deadline = time.time() + 120
    eng = sa.create_engine(pg_outage.url)
    try:
        while time.time() < deadline:
            with eng.connect() as c:
                ids = [r[0] for r in c.exec_driver_sql("SELECT id FROM rt_outbox")]
                unsent = c.exec_driver_sql("SELECT count(*) FROM rt_deliveries WHERE status <> 'sent'").scalar()
            if (
                len(ids) == N_USERS
                and not unsent
                and set(ids) <= set(slow.delivered.get("/", {}))
                and set(ids) <= set(flaky.delivered.get("/", {}))
            ):
                break
            assert p.poll() is None, p.stderr.read()[-3000:]
            time.sleep(0.1)
        code, h = _health(base)
        with eng.connect() as c:
            rejected = c.exec_driver_sql("SELECT kind, count(*) FROM rt_rejected GROUP BY kind").all()
            entered = c.exec_driver_sql("SELECT count(DISTINCT user_id) FROM rt_trace WHERE event = 'entered'").scalar()
            states = c.exec_driver_sql("SELECT status, count(*) FROM rt_deliveries GROUP BY status").all()
    finally:
        eng.dispose()
        p.send_signal(signal.SIGTERM)
        try:
            p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        slow.close()
        flaky.close()
    took = time.time() - t_start
    # nothing lost, nothing twice in the database
    assert len(ids) == len(set(ids)) == N_USERS and entered == N_USERS
    assert set(slow.delivered["/"]) == set(ids) and set(flaky.delivered["/"]) == set(ids)
    assert dict(states) == {"sent": 2 * N_USERS}
    # repeats only as at-least-once retries of the same key (the flaky one fails each key once)
    reps = {name: Counter(r.keys("/")) for name, r in (("slow", slow), ("flaky", flaky))}
    dup_slow = sum(n - 1 for n in reps["slow"].values())
    dup_flaky = sum(n - 2 for n in reps["flaky"].values())
    assert set(reps["slow"]) == set(reps["flaky"]) == set(ids)
    assert all(n >= 2 for n in reps["flaky"].values())
    # poison lines are dead letters, each once
    assert dict(rejected) == {"malformed": n_poison}
    # /health was honest: 503 while the database was down, ok at the end
    assert ("degraded" in {s for _, s in honest}) or (None in {c for c, _ in honest})
    assert all(c in (503, None) for c, s in honest[down:]), honest  # once it noticed, down means down
    assert code == 200 and h["status"] == "ok" and h["rejected"] == n_poison
    print(
        f"chaos: {kills} SIGKILLs, {restarts} restarts, 1 database outage ({len(honest)} probes of /health), "
        f"{N_USERS} messages x 2 destinations, "
        f"{n_poison} poison lines; repeats beyond the required: slow {dup_slow}, flaky {dup_flaky}; {took:.1f} s"
    )
