"""Poison inputs (#16 findings 1 and 6): every input that cannot be applied becomes a dead letter
with its raw text, path and reason; the stream moves on; nothing good around it is lost; no
timestamp can move a clock out of bounds."""
# ruff: noqa: UP031 - the poison lines are JSON templates

from __future__ import annotations

import json
import os
import subprocess

import pytest
from runtime_helpers import ROOT, START, SteppedWallClock, cli_run, db_url  # noqa: F401 - fixture
from test_runtime_io import journey

from journeylab.errors import JourneyDefinitionError, JourneyError
from journeylab.model.io import save
from journeylab.runtime import InputError, ReplayClock, Runtime, create_app

T0 = int(START.timestamp())
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")


def ev(user, t, **kw):
    return {"user_id": user, "event": "Go", "ts": t, **kw}


#: (line, path, words of the reason): valid JSON (or nearly) that used to stop a stream
POISON = [
    ('{"user_id": "p1", "event": "Go", "ts": %d, "props": {"x": "\\udfff"}}' % T0, "$.props.x", "surrogate"),
    ('{"user_id": "p2", "event": "Go", "ts": %d, "props": {"x": %s}}' % (T0, "9" * 5000), "$.props.x", "integer"),
    ('{"user_id": "p\\u0000nul", "event": "Go", "ts": %d}' % T0, "$.user_id", "NUL"),
    ('{"user_id": "p3", "event": "Go\\u0000", "ts": %d}' % T0, "$.event", "NUL"),
    ('{"user_id": "p4", "event": "Go", "ts": %d, "props": {"x": NaN}}' % T0, "$.props.x", "NaN"),
    ('{"user_id": "p5", "event": "Go", "ts": %d, "props": {"x": 1e999}}' % T0, "$.props.x", "finite"),
    ('{"user_id": "p6", "event": "Go", "ts": %d, "props": {"\\ud800": 1}}' % T0, "$.props", "surrogate"),
    ('{"user_id": "p7", "event": "Go", "ts": %d, "event_id": "\\udfff"}' % T0, "$.event_id", "surrogate"),
    ('{"user_id": "p8", "event": "Go", "ts": %d, "props": %s1%s}' % (T0, '{"a":[' * 3000, "]}" * 3000), "$", "deep"),
    ('{"user_id": "p9", "event": "Go", "ts": "9999-12-31T23:59:59Z"}', "$.ts", "after"),
    ('{"user_id": "p10", "event": "Go", "ts": "0001-01-01T00:00:00Z"}', "$.ts", "before 1970"),
    ('{"user_id": "p11", "event": "Go", "ts": 1e300}', "$.ts", "epoch"),
    ('{"user_id": "p12", "event": "Go", "ts": "2026-10-01T00:00:00\\u0000Z"}', "$.ts", "ISO 8601"),
]


def _lines(n_good=6):
    good = [json.dumps(ev(f"u{i}", T0 + 60 * i, event_id=f"e{i}")) for i in range(n_good)]
    lines = []
    for i, g in enumerate(good):
        lines.append(g)
        lines.extend(p[0] for p in POISON[i::n_good])
    return good, lines


def test_poison_lines_become_dead_letters_and_the_stream_moves_on(db_url, tmp_path):  # noqa: F811
    good, lines = _lines()
    src = tmp_path / "in.jsonl"
    src.write_bytes(("\n".join(lines) + "\n").encode())
    rt = Runtime([journey()], db_url, clock=ReplayClock(START))
    counts = rt.ingest_jsonl(src, batch=4)
    assert counts == {"ok": len(good), "duplicate": 0, "rejected": len(POISON), "error": 0, "skip": 0}
    assert rt.offset(f"file:{src.resolve()}") == len(lines)
    rej = rt.rejected()
    assert len(rej) == len(POISON) and set(rej["kind"]) == {"malformed"}
    by_line = {lines[int(o) - 1]: (p, r, raw) for o, p, r, raw in rej[["offset", "path", "reason", "raw"]].values}
    for line, path, word in POISON:
        p, reason, raw = by_line[line]
        assert (p, word.lower() in reason.lower()) == (path, True), (line[:80], p, reason)
        assert "\x00" not in raw and raw.encode("utf-8")  # stored text is safe for both databases
    rt.advance_to(T0 + 7200)
    assert sorted(m["user_id"] for m in rt.outbox.rows()) == [f"u{i}" for i in range(len(good))]
    assert rt.clock.now() == T0 + 7200  # no bad timestamp moved the clock
    rt.close()


def test_a_restarted_cli_run_does_not_fail_on_a_poison_line(tmp_path):
    good, lines = _lines()
    src = tmp_path / "in.jsonl"
    src.write_bytes(("\n".join(lines) + "\n").encode())
    path = save(journey(), tmp_path / "hook.json")
    cmd = [
        *cli_run(str(path), db=f"sqlite:///{tmp_path / 'rt.db'}"),
        "--source",
        str(src),
        "--clock",
        "replay",
        "--start",
        START.isoformat(),
        "--until",
        "2026-10-02T00:00:00Z",
        "--log-level",
        "ERROR",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    res = json.loads(out.stdout)
    assert res["input"]["ok"] == len(good) and res["input"]["rejected"] == len(POISON)
    assert res["outbox"]["pending"] == len(good) and res["rejected"] == len(POISON)


def test_python_api_values_that_json_cannot_hold_are_refused_with_a_path(tmp_path):
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    for obj, path in [
        (ev("a", T0, props={"x": "\udfff"}), "$.props.x"),
        (ev("a", T0, props={"x": float("nan")}), "$.props.x"),
        (ev("a", T0, props={"x": 10**30}), "$.props.x"),
        (ev("a\x00", T0), "$.user_id"),
        (ev("a", T0, props={"x": object()}), "$.props.x"),
        (ev("a", T0, props={1: 2}), "$.props"),
    ]:
        with pytest.raises(InputError) as e:
            rt.ingest(obj)
        assert e.value.path == path, (obj, e.value)
    assert len(rt.rejected()) == 6 and rt.ingest(ev("a", T0)) == "ok"
    rt.close()


def test_input_error_is_its_own_error_not_a_journey_definition_error():
    assert issubclass(InputError, JourneyError) and issubclass(InputError, ValueError)
    assert not issubclass(InputError, JourneyDefinitionError)


def test_http_answers_per_item_and_keeps_the_good_items_around_poison(db_url):  # noqa: F811
    from starlette.testclient import TestClient

    rt = Runtime([journey()], db_url, clock=ReplayClock(START))
    body = (
        "["
        + ",".join(
            [
                json.dumps(ev("a", T0)),
                POISON[0][0],
                json.dumps(ev("b", T0)),
                POISON[2][0],
                POISON[1][0],
                json.dumps(ev("c", T0)),
            ]
        )
        + "]"
    )
    with TestClient(create_app(rt), base_url="http://127.0.0.1") as c:
        r = c.post("/events", content=body.encode(), headers={"Content-Type": "application/json"})
        out = r.json()
        assert r.status_code == 400 and out["accepted"] == 3
        assert [x["status"] for x in out["results"]] == [
            "accepted",
            "refused",
            "accepted",
            "refused",
            "refused",
            "accepted",
        ]
        assert [(e["index"], e["path"]) for e in out["errors"]] == [
            (1, "$[1].props.x"),
            (3, "$[3].user_id"),
            (4, "$[4].props.x"),
        ]
    rt.advance_to(T0 + 7200)
    assert sorted(m["user_id"] for m in rt.outbox.rows()) == ["a", "b", "c"]
    assert len(rt.rejected()) == 3
    rt.close()


def test_replay_horizon_refuses_a_jump_of_the_clock(tmp_path):
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START), replay_horizon=86400)
    src = tmp_path / "in.jsonl"
    lines = [ev("a", T0), ev("x", T0 + 10 * 86400), ev("b", T0 + 60), ev("c", T0 + 86400 - 100)]
    src.write_text("\n".join(map(json.dumps, lines)) + "\n")
    assert rt.ingest_jsonl(src, batch=10)["rejected"] == 1
    assert rt.rejected()[["offset", "path"]].values.tolist() == [[2, "$.ts"]]
    assert "ahead of the runtime clock" in rt.rejected()["reason"][0]
    assert rt.clock.now() == T0 + 86400 - 100
    rt.close()


def test_wall_clock_bounds_hold_for_iso_strings_too(tmp_path):
    rt = Runtime([journey()], tmp_path / "rt.db", clock=SteppedWallClock(T0), max_future=600)  # a wall clock at T0
    with pytest.raises(InputError, match=r"^\$\.ts: \d+ s ahead"):
        rt.ingest(ev("a", "2100-01-01T00:00:00Z"))
    with pytest.raises(InputError, match=r"^\$\.ts: .*before 1970"):
        rt.ingest(ev("a", "0001-01-01T00:00:00+00:00"))
    rt.close()


def test_an_input_the_database_refuses_is_a_dead_letter_and_its_batch_goes_on(tmp_path, monkeypatch):
    """A backstop beside the checks: whatever the database refuses to store for one input
    (here an IntegrityError injected for one user's rows) is set aside, the rest of its
    batch is applied."""
    import sqlite3

    from journeylab.runtime import _runtime

    real = _runtime._Unit.collect

    def collect(self, acts):
        if any(getattr(a, "user_id", None) == "poison" for a in acts):
            raise sqlite3.IntegrityError("injected: the database refused a row")
        return real(self, acts)

    monkeypatch.setattr(_runtime._Unit, "collect", collect)
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    res = rt.ingest_many([ev("a", T0), ev("poison", T0), ev("b", T0)])
    assert (res.accepted, [k for k, _, _ in res.errors]) == (2, [1])
    rej = rt.rejected()
    assert rej["kind"].tolist() == ["error"] and "database error: IntegrityError" in rej["reason"][0]
    assert '"poison"' in rej["raw"][0]
    monkeypatch.setattr(_runtime._Unit, "collect", real)
    rt.advance_to(T0 + 7200)
    assert sorted(m["user_id"] for m in rt.outbox.rows()) == ["a", "b"]
    rt.close()


# ---------------------------------------------------------------------- file identity (#16 finding 7)
def _write(path, users, t=T0):
    path.write_text("".join(json.dumps(ev(u, t + i, event_id=f"{u}-{i}")) + "\n" for i, u in enumerate(users)))


def test_a_file_replaced_at_the_same_path_is_read_from_its_start(tmp_path):
    import os

    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    src = tmp_path / "in.jsonl"
    _write(src, [f"a{i}" for i in range(5)])
    assert rt.ingest_jsonl(src)["ok"] == 5
    # rotation: the file is moved away and a new one written at the path (another inode)
    os.rename(src, tmp_path / "in.jsonl.1")
    _write(src, [f"b{i}" for i in range(8)], T0 + 100)
    assert rt.ingest_jsonl(src)["ok"] == 8  # not 3: its first 5 lines are not skipped
    # the same file grown: resumes after the committed line, by byte position
    with open(src, "a") as f:
        f.write(json.dumps(ev("c0", T0 + 200)) + "\n")
    assert rt.ingest_jsonl(src)["ok"] == 1
    # truncated and rewritten in place (same inode): read from the start
    with open(src, "r+") as f:
        f.truncate(0)
    with open(src, "a") as f:
        f.write("".join(json.dumps(ev(f"d{i}", T0 + 300 + i)) + "\n" for i in range(2)))
    assert rt.ingest_jsonl(src)["ok"] == 2
    users = set(rt.trace()["user_id"].astype(str))
    assert users == {*(f"a{i}" for i in range(5)), *(f"b{i}" for i in range(8)), "c0", "d0", "d1"}
    rt.close()


def test_a_file_rewritten_in_place_with_the_same_size_is_noticed(tmp_path):
    rt = Runtime([journey()], tmp_path / "rt.db", clock=ReplayClock(START))
    src = tmp_path / "in.jsonl"
    _write(src, ["x0", "x1", "x2"])
    assert rt.ingest_jsonl(src)["ok"] == 3
    data = src.read_bytes().replace(b'"x', b'"y')
    with open(src, "r+b") as f:  # same inode, same size, other content
        f.write(data)
    assert rt.ingest_jsonl(src)["ok"] == 3
    assert sorted(set(rt.trace()["user_id"].astype(str))) == ["x0", "x1", "x2", "y0", "y1", "y2"]
    rt.close()
