"""Crash safety of start-up: ``journeylab run`` is killed with SIGKILL inside each transaction
of its start-up, just before its ``COMMIT`` is sent (migrating a new database, registering
destinations, storing the journeys, publishing them, registering profiles), restarted, and
must end exactly as a run that was never interrupted: same outbox, trace, refusals, event
ids, states, journeys' timelines and versions. Killing before the k-th commit leaves the
database as the first k - 1 transactions left it, so these kills reach every state a crash
during start-up can leave.

The runs are forked from the test process (so each costs start-up, not imports); the child
counts the commits SQLAlchemy reports and kills itself with SIGKILL at the chosen one, so the
database sees a real crash (no rollback, no clean-up).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import msgspec
import pandas as pd
import sqlalchemy as sa
from runtime_helpers import END, START, _slow_only_when_asked, cohort, db_url, profiles_of  # noqa: F401
from test_runtime_crash import _dump

from journeylab import examples
from journeylab.model.io import save
from journeylab.runtime import input_to_json
from journeylab.sim.replay import replay_inputs

UNTIL = (END - pd.Timedelta(seconds=1)).isoformat()


def _files(tmp_path, n_users=25):
    """Journeys (one given with status "paused"), a profiles file, and two streams: the
    inputs before and after the middle of the span."""
    j1, j2 = examples.journey_trigger_pair()
    promo = msgspec.structs.replace(examples.purchase_promo().definition, status="paused")
    cart = examples.cart_abandonment().definition
    defs = {"j1": j1.definition, "j2": j2.definition, "promo": promo, "cart": cart}
    paths = {k: str(save(d, tmp_path / f"{k}.json")) for k, d in defs.items()}
    prof, ev = cohort(n=n_users, per_user=12, seed=11)
    (tmp_path / "profiles.json").write_text(json.dumps(profiles_of(prof), default=str))
    mid = START + (END - START) / 2
    for name, part in (("a", ev[ev["ts"] < mid]), ("b", ev[(ev["ts"] >= mid) & (ev["ts"] < END)])):
        lines = []
        for i, inp in enumerate(replay_inputs(part, None)):
            d = input_to_json(inp)
            d["event_id"] = f"{name}{i}"
            lines.append(json.dumps(d))
        (tmp_path / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    return paths, mid


def _argv(journeys, url, src, until):
    return [
        "run",
        *journeys,
        "--db",
        url,
        "--source",
        str(src),
        "--clock",
        "replay",
        "--start",
        START.isoformat(),
        "--until",
        until,
        "--profiles",
        str(src.parent / "profiles.json"),
        "--batch",
        "25",
        "--log-level",
        "ERROR",
    ]


def _fork_run(argv, log, kill_at=None):
    """Run ``journeylab run argv`` in a forked child; with ``kill_at`` the child kills itself
    with SIGKILL just before the ``kill_at``-th commit of its start-up. Returns ``(outcome,
    commits during start-up)``: outcome is the exit status, or ``"killed"``."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 99
        try:
            os.close(r)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            sys.stdout = sys.stderr = open(fd, "w", buffering=1, closefd=False)  # noqa: SIM115
            from journeylab import cli
            from journeylab.runtime import _runtime

            seen = [0]
            started = [False]

            def boundary(*_a):
                if started[0]:
                    return
                seen[0] += 1
                if seen[0] == kill_at:
                    os.kill(os.getpid(), signal.SIGKILL)

            sa.event.listen(sa.engine.Engine, "commit", boundary)
            init = _runtime.Runtime.__init__

            def counted_init(self, *a, **k):
                init(self, *a, **k)
                started[0] = True
                os.write(w, str(seen[0]).encode())

            _runtime.Runtime.__init__ = counted_init
            code = cli.main(argv)
        except BaseException:  # noqa: BLE001
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(r) as fh:
        text = fh.read()
    n = int(text) if text else None
    if os.WIFSIGNALED(status):
        assert os.WTERMSIG(status) == signal.SIGKILL
        return "killed", n
    return os.WEXITSTATUS(status), n


def _state(url):
    d = _dump(url)
    eng = sa.create_engine(url)
    with eng.connect() as c:
        d["journeys"] = [
            tuple(r)
            for r in c.exec_driver_sql("SELECT journey_id, position, timeline FROM rt_journeys ORDER BY journey_id")
        ]
        d["versions"] = [
            tuple(r)
            for r in c.exec_driver_sql(
                "SELECT journey_id, version, definition, loaded_at FROM rt_versions ORDER BY journey_id, version"
            )
        ]
        d["meta"] = [tuple(r) for r in c.exec_driver_sql("SELECT key, value FROM rt_meta ORDER BY key")]
    eng.dispose()
    return d


def _diff(got, want):
    """What differs: per table, the row counts (got, wanted) of the tables that differ."""
    if got is None:
        return "the restart failed"
    return {key: (len(got[key]), len(want[key])) for key in want if got[key] != want[key]}


def _new_db(db_url, tmp_path, k):  # noqa: F811
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / f'k{k}.db'}", lambda: None
    from runtime_helpers import pg_database

    return pg_database()


def test_sigkill_at_every_startup_step_ends_as_an_uninterrupted_run(tmp_path, db_url):  # noqa: F811
    paths, mid = _files(tmp_path)
    first = [paths["j1"], paths["j2"], paths["promo"]]
    second = [*first, paths["cart"]]  # a journey new to an existing database
    log = str(tmp_path / "child.log")

    def phase_a(url):  # a new database, up to the middle of the span
        return _argv(first, url, tmp_path / "a.jsonl", (mid - pd.Timedelta(seconds=1)).isoformat())

    def phase_b(url):  # a restart with one more journey, to the end
        return _argv(second, url, tmp_path / "b.jsonl", UNTIL)

    # the uninterrupted runs
    ref, drop = _new_db(db_url, tmp_path, "ref")
    code, n_a = _fork_run(phase_a(ref), log)
    assert code == 0, Path(log).read_text()[-3000:]
    want_a = _state(ref)
    code, n_b = _fork_run(phase_b(ref), log)
    assert code == 0, Path(log).read_text()[-3000:]
    want_b = _state(ref)
    drop()
    assert n_a >= 5 and n_b >= 5, (n_a, n_b)  # migrate, destinations, journeys, publish, profiles
    start = int(START.timestamp())
    assert {j: json.loads(t) for j, _, t in want_b["journeys"]} == {
        "journey-1": [[start, "running"]],
        "journey-2": [[start, "running"]],
        "purchase-promo": [[start, "running"], [start, "paused"]],  # its file says "paused"
        "cart-abandonment": [[int(mid.timestamp()) - 1, "running"]],
    }
    assert 0 < len(want_a["outbox"]) < len(want_b["outbox"])

    # for each k: a first start killed before its k-th commit, then (a restart may take other
    # steps) killed again before its own k-th, then run to the end; then the same for the
    # restart that brings a new journey
    failures = []
    for k in range(1, max(n_a, n_b) + 1):
        url, drop = _new_db(db_url, tmp_path, k)
        for phase, n, want, name in ((phase_a, n_a, want_a, "first start"), (phase_b, n_b, want_b, "new journey")):
            if k <= n:
                assert _fork_run(phase(url), log, kill_at=k)[0] == "killed"
                assert _fork_run(phase(url), log, kill_at=k)[0] in ("killed", 0)
            code, _ = _fork_run(phase(url), log)
            got = _state(url) if code == 0 else None
            if got != want:
                failures.append((name, k, code, _diff(got, want)))
        drop()
    assert not failures, "\n".join(map(str, failures))
