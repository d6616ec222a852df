"""Workspace schema migrations with alembic (#16 finding 9, workspace part): a database written
before migrations existed opens and carries on, a newer one is refused, a migration is all or
nothing, and a database that cannot be used is the library's StorageError (#16 finding 8)."""

from __future__ import annotations

import datetime as dt
import os

import msgspec
import pytest
import sqlalchemy as sa
from runtime_helpers import START, db_url  # noqa: F401 - fixture

from journeylab.errors import JourneyError, StorageError
from journeylab.examples import purchase_promo, reference_journey, ride_tier
from journeylab.model.io import to_json
from journeylab.workspace import Workspace

T0 = dt.datetime(2024, 6, 1, 12, tzinfo=dt.UTC)

# The tables as the workspace wrote them before migrations existed (schema 1), frozen here.
_v1 = sa.MetaData()
_V1_JOURNEYS = sa.Table(
    "journeys",
    _v1,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, default=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
_V1_VERSIONS = sa.Table(
    "journey_versions",
    _v1,
    sa.Column("journey_id", sa.String(200), sa.ForeignKey("journeys.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)
_V1_META = sa.Table(
    "journeylab_meta",
    _v1,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def _write_schema_1(url):
    """A workspace database as schema 1 left it: a running journey with its published version,
    a stopped one, and a draft."""
    ref = msgspec.structs.replace(reference_journey().definition, status="running")
    ride = msgspec.structs.replace(ride_tier().definition, status="stopped")
    promo = purchase_promo().definition
    eng = sa.create_engine(url)
    _v1.create_all(eng)
    with eng.begin() as c:
        c.execute(sa.insert(_V1_META).values(key="schema_version", value="1"))
        for d in (ref, ride, promo):
            c.execute(
                sa.insert(_V1_JOURNEYS).values(
                    id=d.id,
                    name=d.name,
                    status=d.status,
                    version=d.version,
                    archived=False,
                    definition=to_json(d, indent=0),
                    created_at=T0,
                    updated_at=T0,
                )
            )
        for d in (ref, ride):
            c.execute(
                sa.insert(_V1_VERSIONS).values(
                    journey_id=d.id, version=1, definition=to_json(d, indent=0), published_at=T0
                )
            )
    eng.dispose()
    return ref


def _tables(url):
    eng = sa.create_engine(url)
    with eng.connect() as c:
        names = set(sa.inspect(c).get_table_names())
        rev = (
            c.exec_driver_sql("SELECT version_num FROM journeylab_alembic_version").scalar()
            if "journeylab_alembic_version" in names
            else None
        )
    eng.dispose()
    return names, rev


def test_a_workspace_database_of_the_previous_schema_is_migrated_and_carries_on(db_url):  # noqa: F811
    ref = _write_schema_1(db_url)
    with Workspace(db_url) as ws:
        assert _tables(db_url)[1] == "0001"  # stamped: its tables are schema 1
        listing = ws.list(archived=None).set_index("id")[["status", "version"]].to_dict("index")
        assert listing == {
            "purchase-promo": {"status": "draft", "version": 1},
            "reference": {"status": "running", "version": 1},
            "ride-tier": {"status": "stopped", "version": 1},
        }
        assert ws.get_version("reference", 1) == ref
        # and carries on: content edits, a new version of the stopped journey, a publish, a new journey
        j = ws.get("reference")
        j.set_content("push", {"title": "edited"})
        ws.save(j)
        ws.save(ws.get("ride-tier").new_draft())
        assert ws.publish("ride-tier", now=T0).version == 2
        ws.publish("purchase-promo", now=T0)
        ws.save(msgspec.structs.replace(ride_tier().definition, id="ride-tier-2"))
        assert ws.versions("ride-tier") == [1, 2] and ws.versions("purchase-promo") == [1]
    with Workspace(db_url) as ws:  # a second open changes nothing
        assert ws.get("reference").node("push").content == {"title": "edited"}
        assert ws.get_version("reference", 1) == ref
        assert len(ws) == 4
    assert _tables(db_url)[1] == "0001"


def test_a_new_workspace_database_is_built_by_the_migrations(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    Workspace(url).close()
    names, rev = _tables(url)
    assert rev == "0001"
    assert {"journeys", "journey_versions", "journeylab_meta", "journeylab_alembic_version"} <= names


def test_a_workspace_of_a_newer_revision_or_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    Workspace(url).close()
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql("UPDATE journeylab_alembic_version SET version_num = '0999'")
    eng.dispose()
    with pytest.raises(StorageError, match="workspace schema revision '0999', newer than this journeylab knows"):
        Workspace(url)
    old = f"sqlite:///{tmp_path / 'old.db'}"
    _write_schema_1(old)
    eng = sa.create_engine(old)
    with eng.begin() as c:  # a newer journeylab from before migrations
        c.exec_driver_sql("UPDATE journeylab_meta SET value = '2' WHERE key = 'schema_version'")
    eng.dispose()
    with pytest.raises(JourneyError, match="written by a newer journeylab"):
        Workspace(old)
    assert _tables(old)[1] is None  # nothing was changed


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path):
    """The migration runs in one transaction, DDL included (SQLite's driver would otherwise commit
    each CREATE TABLE on its own): a failure part-way leaves no table behind."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql("CREATE TABLE journey_versions (x INTEGER)")  # in the way of the second table
    eng.dispose()
    with pytest.raises(StorageError, match="cannot use this database"):
        Workspace(url)
    names, rev = _tables(url)
    assert names == {"journey_versions"} and rev is None  # "journeys", created first, is gone


def test_a_runtime_and_a_workspace_share_one_database(db_url):  # noqa: F811
    from journeylab.runtime import ReplayClock, Runtime

    with Workspace(db_url) as ws:
        ws.save(purchase_promo())
        ws.publish("purchase-promo", now=T0)
    Runtime([purchase_promo().definition], db_url, clock=ReplayClock(START)).close()
    with Workspace(db_url) as ws:
        assert ws.versions("purchase-promo") == [1]
    names, rev = _tables(db_url)
    assert rev == "0001" and {"rt_alembic_version", "journeylab_alembic_version", "rt_journeys", "journeys"} <= names


def test_workspace_databases_that_cannot_be_used_raise_storage_error(tmp_path):
    bad = tmp_path / "corrupt.db"
    bad.write_bytes(b"this is not a database" * 500)
    with pytest.raises(StorageError, match="corrupt.db"):
        Workspace(bad)
    good = tmp_path / "w.db"
    with Workspace(good) as ws:
        for i in range(50):
            ws.save(msgspec.structs.replace(purchase_promo().definition, id=f"p{i}"))
    with open(good, "r+b") as f:  # truncated in the middle of a page
        f.truncate(os.path.getsize(good) // 2 + 7)
    with pytest.raises(StorageError):
        Workspace(good)
    with pytest.raises(StorageError, match="cannot use this database"):
        Workspace("postgresql+psycopg://nobody@127.0.0.1:9/none")
    with pytest.raises(StorageError, match="cannot use this database"):
        Workspace(tmp_path / "no-such-folder" / "w.db")
