"""Crash safety: the runtime as a subprocess, killed with SIGKILL at random points while it
consumes a JSON-lines stream and restarted each time, ends with exactly the uninterrupted
run's outbox (every action id once), trace, refusals and user states."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time

import pandas as pd
import sqlalchemy as sa
from runtime_helpers import (  # noqa: F401
    END,
    JOURNEYS,
    ROOT,
    START,
    _slow_only_when_asked,
    cli_run,
    cohort,
    db_url,
    profiles_of,
    rows,
)

from journeylab.model.io import save
from journeylab.runtime import input_to_json
from journeylab.sim import simulate
from journeylab.sim.replay import replay_inputs

UNTIL = (END - pd.Timedelta(seconds=1)).isoformat()


def _stream(tmp_path, n_users=120):
    journeys = JOURNEYS["trigger_pair"]()
    prof, ev = cohort(n=n_users, per_user=20, seed=5)
    res = simulate(journeys, (prof, ev), START, END, seed=0)
    inputs = replay_inputs(ev[ev["ts"] < END], res.responses)
    rng = random.Random(1)
    created = int((START - pd.Timedelta(days=30)).timestamp())
    lines = [
        json.dumps({"type": "profile", "user_id": u, "ts": created, "props": p}) for u, p in profiles_of(prof).items()
    ]
    events = []
    for i, inp in enumerate(inputs):
        d = input_to_json(inp)
        if d.get("type") is None:
            d["event_id"] = f"e{i}"
            events.append(d)
        lines.append(json.dumps(d))
        r = rng.random()
        if r < 0.01:
            lines.append('{"user_id": "u0001", "event": "Charged", "ts": ')  # bad JSON
        elif r < 0.02:
            lines.append(json.dumps({"event": "Charged", "ts": d["ts"]}))  # no user_id
        elif r < 0.03:
            lines.append(json.dumps({"user_id": "u0002", "event": "Charged", "ts": "2026-10-02T10:00:00"}))  # naive
        elif r < 0.05 and events:
            lines.append(json.dumps(rng.choice(events)))  # a duplicate (same event_id)
        if rng.random() < 0.01:
            lines.append("")
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    paths = []
    for j in journeys:
        paths.append(str(save(j.definition, tmp_path / f"{j.id}.json")))
    return paths, path, len(lines), res


def _cmd(paths, src, url, batch):
    return [
        *cli_run(*paths, db=url),
        "--source",
        str(src),
        "--clock",
        "replay",
        "--start",
        START.isoformat(),
        "--until",
        UNTIL,
        "--batch",
        str(batch),
        "--log-level",
        "WARNING",
    ]


def _offset(db):
    """The committed offset (``db``: a URL, or an engine kept open while the test polls)."""
    eng = sa.create_engine(db) if isinstance(db, str) else db
    try:
        with eng.connect() as c:
            return c.exec_driver_sql('SELECT max("offset") FROM rt_offsets').scalar() or 0
    except sa.exc.DBAPIError:
        return 0  # the tables may not exist yet
    finally:
        if eng is not db:
            eng.dispose()


def _dump(url):
    eng = sa.create_engine(url)
    with eng.connect() as c:
        q = lambda sql: [tuple(r) for r in c.exec_driver_sql(sql)]  # noqa: E731
        out = {
            "outbox": q(
                "SELECT id, journey, version, user_id, node, channel, ts, payload, status, attempts FROM rt_outbox ORDER BY id"
            ),
            "trace": q("SELECT user_id, ts, journey, version, node, event, port, detail FROM rt_trace ORDER BY seq"),
            "rejected": q('SELECT source, "offset", kind, path, reason, raw FROM rt_rejected ORDER BY "offset"'),
            "seen": q("SELECT user_id, event_id FROM rt_seen ORDER BY user_id, event_id"),
            "states": q("SELECT user_id, journey_id, state FROM rt_states ORDER BY user_id, journey_id"),
            "users": q("SELECT user_id, created, profile, next_wake FROM rt_users ORDER BY user_id"),
        }
    eng.dispose()
    return out


def _canonical(trace_rows):
    return sorted(trace_rows, key=lambda r: (r[1], r[0]))  # stable: each user's rows keep their order


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path, db_url):  # noqa: F811
    paths, src, n_lines, res = _stream(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    # the uninterrupted run
    if db_url.startswith("sqlite"):
        ref_url = f"sqlite:///{tmp_path / 'ref.db'}"
    else:
        from runtime_helpers import pg_database

        ref_url, drop_ref = pg_database()
    done = subprocess.run(_cmd(paths, src, ref_url, 1), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    ref = _dump(ref_url)

    # the same stream, killed again and again
    rng = random.Random(20261001)
    poll = sa.create_engine(db_url)  # one engine for the polling below: a new one each time costs a core
    targets = sorted(rng.sample(range(1, n_lines - 50), 7))
    kills = []
    for target in [None, *targets]:
        batch = rng.choice([1, 1, 5, 20])
        before = _offset(db_url)
        p = subprocess.Popen(
            _cmd(paths, src, db_url, batch), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        if target is None:
            time.sleep(rng.uniform(0.05, 0.5))  # during start-up
        else:
            t0 = time.time()
            while _offset(poll) < target and p.poll() is None and time.time() - t0 < 120:
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.004))  # somewhere inside the next transactions
        if p.poll() is not None:  # it got to the end first: not a kill
            continue
        p.send_signal(signal.SIGKILL)
        p.wait()
        kills.append(_offset(db_url))
        assert kills[-1] >= before  # committed progress is never lost
    poll.dispose()
    final = subprocess.run(_cmd(paths, src, db_url, 3), env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr[-2000:]
    got = _dump(db_url)

    mid = [k for k in kills if 0 < k < n_lines]
    print(f"{n_lines} lines; killed {len(kills)} times at committed offsets {kills}")
    assert len(mid) >= 5, kills
    # the outbox equals the uninterrupted run's: every action id exactly once
    assert got["outbox"] == ref["outbox"]
    assert len({r[0] for r in got["outbox"]}) == len(got["outbox"]) == len(res.sends)
    # the trace is identical (canonical order), with no row twice, and it is the simulator's
    assert _canonical(got["trace"]) == _canonical(ref["trace"])
    assert len(got["trace"]) == len(ref["trace"]) == len(res.trace)
    assert _canonical(got["trace"]) == rows(res.trace)
    # refusals recorded once each, duplicates ignored once, and the same states
    assert got["rejected"] == ref["rejected"] and len(ref["rejected"]) > 10
    assert got["seen"] == ref["seen"]
    assert got["states"] == ref["states"]
    assert got["users"] == ref["users"]
    if not db_url.startswith("sqlite"):
        drop_ref()
