"""Shared helpers of the runtime tests: cohorts, trace rows, PostgreSQL databases."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest
from helpers import END, JOURNEYS, NAMES, START  # noqa: F401 - shared with the simulator tests
from helpers import cohort as _cohort

from journeylab.runtime import WallClock

ROOT = Path(__file__).resolve().parents[1]


def cohort(n: int = 150, seed: int = 0, per_user: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small random cohort (see ``helpers.cohort``), sized for runtime tests."""
    return _cohort(n, seed, per_user)


def profiles_of(prof: pd.DataFrame) -> dict[str, dict]:
    return {
        r["user_id"]: {k: v for k, v in r.items() if k != "user_id" and v is not None and v == v}
        for r in prof.to_dict("records")
    }


def cli_run(*journeys: str | Path, db: str) -> list[str]:
    """The command line of ``journeylab run <journeys> --db <db>`` in this Python (options follow)."""
    return [sys.executable, "-m", "journeylab.cli", "run", *map(str, journeys), "--db", db]


def rows(trace: pd.DataFrame) -> list[tuple]:
    """Trace rows as plain tuples (the simulator's and the runtime's compare equal)."""
    t = trace
    return list(
        zip(
            t["user_id"].astype(str),
            t["ts"].dt.as_unit("s").astype("int64").tolist(),
            t["journey"].astype(str),
            t["version"].astype("int64").tolist(),
            t["node"].astype(str),
            t["event"].astype(str),
            t["port"].astype(str),
            t["detail"].astype(str),
            strict=True,
        )
    )


# ---------------------------------------------------------------------- PostgreSQL
_PG: dict[str, object] = {}


def pg_server() -> str:
    """The server URL: JOURNEYLAB_PG_URL, else a throwaway cluster started by
    scripts/start_postgres.sh (stopped at exit); skips with the reason when neither works."""
    if "url" in _PG:
        return _PG["url"]  # type: ignore[return-value]
    if "skip" in _PG:
        pytest.skip(str(_PG["skip"]))
    url = os.environ.get("JOURNEYLAB_PG_URL")
    if not url:
        import atexit
        import tempfile

        d = tempfile.mkdtemp(prefix="journeylab-pg-")
        shutil.rmtree(d)
        try:
            out = subprocess.run(
                ["bash", str(ROOT / "scripts" / "start_postgres.sh"), d], capture_output=True, text=True, timeout=120
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            out = None
            reason = f"{type(e).__name__}: {e}"
        if out is not None and out.returncode == 0 and out.stdout.strip():
            url = out.stdout.strip().splitlines()[-1]
            atexit.register(
                lambda: subprocess.run(
                    ["bash", str(ROOT / "scripts" / "start_postgres.sh"), "stop", d], capture_output=True
                )
            )
        else:
            if out is not None:
                reason = (out.stderr or out.stdout).strip().splitlines()[-1:] or ["unknown error"]
                reason = reason[0]
            msg = f"PostgreSQL tests skipped: JOURNEYLAB_PG_URL is unset and no server could be started ({reason})"
            print(msg)
            _PG["skip"] = msg
            pytest.skip(msg)
    _PG["url"] = url
    return url


def pg_database() -> tuple[str, object]:
    """A new empty database on the server: ``(url, drop)``."""
    import sqlalchemy as sa

    server = pg_server()
    name = "jl_" + uuid.uuid4().hex[:12]
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    url = server.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()

    return url, drop


class PgOutage:
    """A throwaway PostgreSQL server of one's own, to stop and start again (an outage).

    One server serves the whole test session (``pg_outage_server`` in ``tests/conftest.py``:
    starting a cluster costs seconds); each test gets a new empty database on it as ``url``
    (:meth:`new_database`), and the server running again afterwards."""

    def __init__(self) -> None:
        import tempfile

        pg_server()  # skips with the reason where PostgreSQL cannot run
        self.dir = tempfile.mkdtemp(prefix="journeylab-pg-outage-")
        shutil.rmtree(self.dir)
        out = subprocess.run(
            ["bash", str(ROOT / "scripts" / "start_postgres.sh"), self.dir], capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 0, out.stderr
        self.server_url = self.url = out.stdout.strip().splitlines()[-1]
        self.running = True

    def new_database(self) -> object:
        """Point ``url`` at a new empty database on this server; returns its ``drop()``."""
        import sqlalchemy as sa

        name = "jl_" + uuid.uuid4().hex[:12]
        # no pooled connection: the server may have been restarted between the two statements
        admin = sa.create_engine(self.server_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        with admin.connect() as c:
            c.exec_driver_sql(f"CREATE DATABASE {name}")
        self.url = self.server_url.rsplit("/", 1)[0] + "/" + name

        def drop() -> None:
            if not self.running:
                self.start()
            with admin.connect() as c:
                c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

        return drop

    def _do(self, what: str) -> None:
        out = subprocess.run(
            ["bash", str(ROOT / "scripts" / "start_postgres.sh"), what, self.dir],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr

    def stop(self) -> None:
        self._do("pause")
        self.running = False

    def start(self) -> None:
        self._do("resume")
        self.running = True

    def close(self) -> None:
        self._do("stop")


@pytest.fixture
def pg_outage(pg_outage_server):
    """A PostgreSQL server the test may stop and start (``.url``: a new database of this
    test's, ``.stop()``, ``.start()``); the session's one (see :class:`PgOutage`)."""
    drop = pg_outage_server.new_database()
    yield pg_outage_server
    import gc

    gc.collect()  # dispose engines of runtimes the test left open
    drop()  # starts the server again if the test left it stopped


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'rt.db'}"
        return
    url, drop = pg_database()
    yield url
    import gc

    gc.collect()  # dispose engines of runtimes the test left open
    drop()


@pytest.fixture(autouse=True)
def _slow_only_when_asked(request):
    """Tests marked ``slow`` run with ``-m slow`` or JOURNEYLAB_SLOW=1 (not in the default run or CI)."""
    if request.node.get_closest_marker("slow") is None:
        return
    expr = request.config.option.markexpr or ""
    if "slow" in expr and "not slow" not in expr or os.environ.get("JOURNEYLAB_SLOW") == "1":
        return
    pytest.skip("slow test: run with -m slow or JOURNEYLAB_SLOW=1")


# ---------------------------------------------------------------------- waiting and clocks
def wait_until(cond, timeout: float = 60.0, step: float = 0.02) -> bool:  # noqa: ANN001 - a predicate
    """Wait for ``cond()`` to be true; False after ``timeout`` seconds. Tests that must run in
    real time (threads, processes, a browser) wait for what they expect this way: the
    deadline is generous, only a hang runs into it, and a slow machine only takes longer."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


class FakeTime:
    """Seconds for an ``Outbox`` or a ``WebhookSender`` (``clock=``) that move only when the test
    moves them (``t``, :meth:`advance`) or when the code under test pauses (``sleep=fake.sleep``:
    the pause is recorded in ``slept`` and the clock moves by it; nothing waits).

    It starts at the real time by default: messages a ``Runtime`` writes are due from the real
    time of writing (its own outbox reads ``time.time``), so the fake clock starts after them."""

    def __init__(self, t: float | None = None) -> None:
        import time

        self.t = time.time() if t is None else float(t)
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


class SteppedWallClock(WallClock):
    """The runtime's wall clock (``replay`` is False: the rules of real time apply) at the
    instant the test sets (``t``, epoch seconds), for the timer loop of ``run_forever`` in a
    thread: what fires when depends on ``t``, not on how fast the machine is."""

    def __init__(self, t: float) -> None:
        self.t = float(t)

    def now(self) -> int:
        return int(self.t)

    def now_exact(self) -> float:
        return self.t

    def __repr__(self) -> str:
        return f"SteppedWallClock({self.t})"


# ---------------------------------------------------------------------- webhook receivers
class HookReceiver:
    """A real HTTP receiver on loopback: answers ``status`` (after ``delay`` seconds) to the
    first ``fail`` requests of each Idempotency-Key, then 200; records every request with its
    headers, and the first successful body per key (``delivered``, by path)."""

    def __init__(self, *, fail: int = 0, status: int = 503, delay: float = 0.0, retry_after: str | None = None) -> None:
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.fail, self.status, self.delay, self.retry_after = fail, status, delay, retry_after
        self.requests: list[tuple[str, str, dict, dict]] = []  # path, key, headers, body
        self.delivered: dict[str, dict[str, dict]] = {}
        self.lock = threading.Lock()
        rec = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                import time

                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                key = self.headers.get("Idempotency-Key", "")
                with rec.lock:
                    rec.requests.append((self.path, key, dict(self.headers), body))
                    tries = sum(1 for p, k, _, _ in rec.requests if k == key and p == self.path)
                if rec.delay:
                    time.sleep(rec.delay)
                code = rec.status if tries <= rec.fail else 200
                if code == 200:
                    with rec.lock:
                        rec.delivered.setdefault(self.path, {}).setdefault(key, body)
                self.send_response(code)
                if code != 200 and rec.retry_after is not None:
                    self.send_header("Retry-After", rec.retry_after)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()  # quick shutdown()

    def keys(self, path: str = "/") -> list[str]:
        """Idempotency keys of every request to ``path`` (repeats included)."""
        with self.lock:
            return [k for p, k, _, _ in self.requests if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
