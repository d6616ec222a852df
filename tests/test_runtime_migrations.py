"""Evolvable stored state and schema migrations (#16 finding 9), and databases that cannot be
used answered with the library's StorageError (#16 finding 8, runtime part)."""

from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa
from runtime_helpers import START, db_url  # noqa: F401 - fixture
from test_runtime_io import journey

from journeylab.errors import StorageError
from journeylab.runtime import Outbox, ReplayClock, Runtime, open_database

T0 = int(START.timestamp())
V2_TABLES = ("rt_quarantine", "rt_sources", "rt_destinations", "rt_deliveries", "rt_alembic_version")


def _as_schema_1(url):
    """Turn a database into what runtime schema 1 wrote: its tables only, schema_version 1."""
    eng = sa.create_engine(url)
    with eng.begin() as c:
        for t in V2_TABLES:
            c.exec_driver_sql(f"DROP TABLE IF EXISTS {t}")
        c.exec_driver_sql("UPDATE rt_meta SET value = '1' WHERE key = 'schema_version'")
    eng.dispose()


def test_a_database_of_the_previous_schema_is_migrated_and_carries_on(db_url):  # noqa: F811
    rt = Runtime([journey(delay_s=600)], db_url, clock=ReplayClock(START))
    for i in range(3):
        rt.ingest({"user_id": f"u{i}", "event": "Go", "ts": T0 + i})
    rt.advance_to(T0 + 700)  # one message each, waiting in the outbox
    rt.ingest({"user_id": "u9", "event": "Go", "ts": T0 + 800})  # a timer still pending
    rt.close()
    _as_schema_1(db_url)

    rt = Runtime([journey(delay_s=600)], db_url, clock=ReplayClock(START))
    eng = sa.create_engine(db_url)
    with eng.connect() as c:
        assert c.exec_driver_sql("SELECT version_num FROM rt_alembic_version").scalar() == "0002"
        assert c.exec_driver_sql("SELECT value FROM rt_meta WHERE key = 'schema_version'").scalar() == "2"
    eng.dispose()
    # the messages written under schema 1 are delivered; the pending timer fires; states load
    got = Outbox(rt.engine).drain(10)
    assert sorted(m.user_id for m in got) == ["u0", "u1", "u2"]
    rt.advance_to(T0 + 2000)
    assert sorted(m["user_id"] for m in rt.outbox.rows()) == ["u0", "u1", "u2", "u9"]
    assert rt.user_states("u9")["hook"].clock >= T0 + 1400
    rt.close()
    Runtime([journey(delay_s=600)], db_url, clock=ReplayClock(START)).close()  # a second open changes nothing


def test_stored_states_missing_new_fields_or_carrying_unknown_ones_still_load(tmp_path):
    url = f"sqlite:///{tmp_path / 'rt.db'}"
    rt = Runtime([journey(delay_s=600)], url, clock=ReplayClock(START))
    rt.ingest({"user_id": "a", "event": "Go", "ts": T0})
    rt.close()
    eng = sa.create_engine(url)
    with eng.begin() as c:
        (text,) = c.exec_driver_sql("SELECT state FROM rt_states WHERE user_id = 'a'").one()
        d = json.loads(text)
        for k in ("messages", "session_count", "seen_ids"):  # as an older engine wrote it
            d.pop(k)
        d["active"].pop("goal_mark")
        d["from_the_future"] = 1  # as a newer engine might write it
        c.exec_driver_sql("UPDATE rt_states SET state = ? WHERE user_id = 'a'", (json.dumps(d),))
    eng.dispose()
    rt = Runtime([journey(delay_s=600)], url, clock=ReplayClock(START))
    rt.advance_to(T0 + 700)
    assert [m["user_id"] for m in rt.outbox.rows()] == ["a"]
    rt.close()


def test_a_database_of_a_newer_revision_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'rt.db'}"
    open_database(url).dispose()
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql("UPDATE rt_alembic_version SET version_num = '0999'")
    eng.dispose()
    with pytest.raises(StorageError, match="newer than this journeylab"):
        open_database(url)


def test_databases_that_cannot_be_used_raise_storage_error(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not a database" * 500)
    with pytest.raises(StorageError, match="corrupt.db"):
        Runtime([journey()], bad, clock=ReplayClock(START))
    good = tmp_path / "t.db"
    Runtime([journey()], good, clock=ReplayClock(START)).close()
    with open(good, "r+b") as f:  # truncated in the middle of a page
        f.truncate(os.path.getsize(good) // 2 + 7)
    with pytest.raises(StorageError):
        Runtime([journey()], good, clock=ReplayClock(START))
    with pytest.raises(StorageError, match="cannot use this database"):
        Runtime([journey()], "postgresql+psycopg://nobody@127.0.0.1:9/none", clock=ReplayClock(START))
    if os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(StorageError):
            Runtime([journey()], ro / "sub" / "rt.db", clock=ReplayClock(START))
