"""Access control of the HTTP endpoint (#16 finding 3): bearer token, JSON content type only,
a Host allow-list, a body limit enforced while the body streams in, and no listening beyond
loopback without a token."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import httpx
import pytest
from runtime_helpers import ROOT, START, cli_run
from test_runtime_io import _free_port, journey

from journeylab.errors import ArgumentError
from journeylab.model.io import save
from journeylab.runtime import ReplayClock, Runtime, create_app, serve

TOKEN = "t0ken-for-tests-0123456789"
T0 = int(START.timestamp())
EV = {"user_id": "a", "event": "Go", "ts": T0}
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture
def guarded(tmp_path):
    from starlette.testclient import TestClient

    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    with TestClient(create_app(rt, token=TOKEN, max_body=10_000), base_url="http://127.0.0.1") as c:
        c.rt = rt
        yield c
    rt.close()


def test_token_is_required_for_posts_and_non_health_gets(guarded):
    c = guarded
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert c.post("/events", json=EV).status_code == 401
    r = c.post("/events", json=EV, headers={"Authorization": "Bearer wrong-token-0123456789"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    assert c.get("/stats/hook").status_code == 401
    assert c.get("/health").status_code == 200  # monitoring needs no token
    assert c.rt.health()["users"] == 0  # nothing got in
    assert c.post("/events", json=EV, headers=ok).json() == {"accepted": 1, "duplicates": 0}
    assert c.get("/stats/hook", headers=ok).status_code == 200


def test_only_json_bodies_are_accepted(guarded):
    c = guarded
    ok = {"Authorization": f"Bearer {TOKEN}"}
    import json

    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""):
        r = c.post("/events", content=json.dumps(EV), headers={**ok, "Content-Type": ctype})
        assert r.status_code == 415, ctype
    assert c.rt.health()["users"] == 0
    r = c.post("/events", content=json.dumps(EV), headers={**ok, "Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200


def test_hosts_outside_the_allow_list_are_refused(guarded):
    c = guarded
    for host in ("evil.example", "evil.example:8765", "127.0.0.1.evil.example"):
        assert c.get("/health", headers={"Host": host}).status_code == 421, host
    for host in ("127.0.0.1:8765", "localhost", "[::1]:8765"):
        assert c.get("/health", headers={"Host": host}).status_code == 200, host


def test_the_body_limit_holds_while_streaming(guarded):
    c = guarded
    ok = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    r = c.post("/events", content=b"[" + b" " * 20_000 + b"]", headers=ok)
    assert r.status_code == 413

    def chunks():
        yield b"["
        for _ in range(100):
            yield b" " * 1000
        yield b"]"

    r = c.post("/events", content=chunks(), headers=ok)  # chunked: no Content-Length
    assert r.status_code == 413


def test_no_listening_beyond_loopback_without_a_token(tmp_path):
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    with pytest.raises(ArgumentError, match="without a token"):
        serve(rt, "0.0.0.0", _free_port())
    rt.close()
    path = save(journey(), tmp_path / "hook.json")
    env = {k: v for k, v in os.environ.items() if k != "JOURNEYLAB_TOKEN"}
    out = subprocess.run(
        [
            *cli_run(str(path), db=f"sqlite:///{tmp_path / 'c.db'}"),
            "--host",
            "0.0.0.0",
            "--port",
            str(_free_port()),
        ],
        capture_output=True,
        text=True,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert out.returncode == 2 and "without a token" in out.stderr


def test_a_large_chunked_post_does_not_grow_the_server(tmp_path):
    """The real server (uvicorn, a subprocess): 100 MB streamed in chunks is refused at the
    limit without being held in memory; the server goes on."""
    import psutil

    path = save(journey(), tmp_path / "hook.json")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JOURNEYLAB_TOKEN": TOKEN}
    p = subprocess.Popen(
        [
            *cli_run(str(path), db=f"sqlite:///{tmp_path / 'rt.db'}"),
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    ok = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    try:
        deadline = time.time() + 30
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert p.poll() is None and time.time() < deadline
            time.sleep(0.1)
        rss0 = psutil.Process(p.pid).memory_info().rss

        def chunks():
            yield b"["
            for _ in range(100):
                yield b" " * (1 << 20)
            yield b"]"

        try:
            r = httpx.post(base + "/events", content=chunks(), headers=ok, timeout=60)
            assert r.status_code == 413
        except httpx.HTTPError:
            pass  # the server may close the connection while the client still sends: refused all the same
        grew = psutil.Process(p.pid).memory_info().rss - rss0
        assert grew < 30 * (1 << 20), f"the server grew by {grew >> 20} MB"
        r = httpx.post(base + "/events", json={"user_id": "a", "event": "Go"}, headers=ok, timeout=10)
        assert r.status_code == 200
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
