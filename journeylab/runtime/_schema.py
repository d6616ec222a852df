"""The runtime's tables (SQLAlchemy Core) and how a database is opened.

Every table name starts with ``rt_`` so a runtime can share a database with a workspace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from journeylab.errors import JourneyError, StorageError

__all__ = ["meta", "open_database", "migrate", "SCHEMA_VERSION"]

SCHEMA_VERSION = 2

meta = sa.MetaData()
_Seq = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # rowid alias on SQLite

#: key/value facts: schema version, the replay clock's position
rt_meta = sa.Table(
    "rt_meta",
    meta,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
#: one row per journey id: its place in the set's order and its lifecycle timeline
rt_journeys = sa.Table(
    "rt_journeys",
    meta,
    sa.Column("journey_id", sa.String(200), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("timeline", sa.Text, nullable=False),  # JSON [[epoch, status], ...]
)
#: every version ever loaded (users inside an old version finish on it)
rt_versions = sa.Table(
    "rt_versions",
    meta,
    sa.Column("journey_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("loaded_at", sa.BigInteger, nullable=False),
)
#: one row per user: the shared profile, when their clock started, and their next wake-up
rt_users = sa.Table(
    "rt_users",
    meta,
    sa.Column("user_id", sa.String(255), primary_key=True),
    sa.Column("created", sa.BigInteger, nullable=False),
    sa.Column("profile", sa.Text, nullable=False),
    sa.Column("next_wake", sa.BigInteger, nullable=True),
    sa.Index("ix_rt_users_next_wake", "next_wake"),
)
#: UserState.to_dict() (without the shared profile) per user and journey
rt_states = sa.Table(
    "rt_states",
    meta,
    sa.Column("user_id", sa.String(255), primary_key=True),
    sa.Column("journey_id", sa.String(200), primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
)
#: the trace: one row per thing that happened to a user, in the order it happened
rt_trace = sa.Table(
    "rt_trace",
    meta,
    sa.Column("seq", _Seq, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.String(255), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("journey", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("node", sa.String(200), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("port", sa.String(200), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index("ix_rt_trace_journey_ts", "journey", "ts"),
)
#: messages to send: the action id is the primary key, so each exists at most once
rt_outbox = sa.Table(
    "rt_outbox",
    meta,
    sa.Column("id", sa.String(700), primary_key=True),
    sa.Column("journey", sa.String(200), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("user_id", sa.String(255), nullable=False),
    sa.Column("node", sa.String(200), nullable=False),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("ts", sa.BigInteger, nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # pending | leased | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("not_before", sa.Float, nullable=False, default=0.0),  # next attempt / lease end
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("sent_at", sa.Float, nullable=True),
    sa.Index("ix_rt_outbox_status", "status", "not_before"),
)
#: event ids already processed, per user (de-duplication across restarts)
rt_seen = sa.Table(
    "rt_seen",
    meta,
    sa.Column("user_id", sa.String(255), primary_key=True),
    sa.Column("event_id", sa.String(255), primary_key=True),
)
#: how far each named source (a JSON-lines file, stdin) has been consumed
rt_offsets = sa.Table(
    "rt_offsets",
    meta,
    sa.Column("source", sa.String(1000), primary_key=True),
    sa.Column("offset", sa.BigInteger, nullable=False),
)
#: which file a file source's offset belongs to: device and inode, a fingerprint of its
#: first bytes, and the byte position after the last committed line
rt_sources = sa.Table(
    "rt_sources",
    meta,
    sa.Column("source", sa.String(1000), primary_key=True),
    sa.Column("identity", sa.String(100), nullable=False),  # "device:inode"
    sa.Column("fingerprint", sa.String(64), nullable=False),  # sha256 of the first fp_len bytes
    sa.Column("fp_len", sa.Integer, nullable=False),
    sa.Column("position", sa.BigInteger, nullable=False),
)
#: inputs refused (malformed) or that failed in the engine, with where and why
rt_rejected = sa.Table(
    "rt_rejected",
    meta,
    sa.Column("id", _Seq, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("source", sa.String(1000), nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),  # malformed | error
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw", sa.Text, nullable=True),
)


#: where messages go: each active destination gets every message written while it is active
rt_destinations = sa.Table(
    "rt_destinations",
    meta,
    sa.Column("name", sa.String(1000), primary_key=True),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("added_at", sa.Float, nullable=False),
)
#: one row per message and destination: its own delivery state, retries and lease
rt_deliveries = sa.Table(
    "rt_deliveries",
    meta,
    sa.Column("message_id", sa.String(700), primary_key=True),
    sa.Column("destination", sa.String(1000), primary_key=True),
    sa.Column("status", sa.String(16), nullable=False),  # pending | leased | sent | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("not_before", sa.Float, nullable=False, default=0.0),  # next attempt / lease end
    sa.Column("lease_owner", sa.String(32), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),  # start of the retry horizon
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("sent_at", sa.Float, nullable=True),
    sa.Index("ix_rt_deliveries_due", "destination", "status", "not_before"),
)

#: users whose timers failed in the engine: taken out of the timer index, their inputs set aside
rt_quarantine = sa.Table(
    "rt_quarantine",
    meta,
    sa.Column("user_id", sa.String(255), primary_key=True),
    sa.Column("at", sa.Float, nullable=False),  # wall time of the failure
    sa.Column("clock", sa.BigInteger, nullable=False),  # the runtime's clock then
    sa.Column("reason", sa.Text, nullable=False),
)


def open_database(db_url: str | Path, *, synchronous: str = "NORMAL", echo: bool = False) -> sa.Engine:
    """A SQLAlchemy engine for ``db_url`` (a URL, or a file path for SQLite), tables created.

    SQLite runs in WAL mode with real transactions: ``BEGIN IMMEDIATE`` takes the write lock at
    the start of each transaction, so writers in several processes (the runtime, an outbox
    drainer) never interleave.

    Parameters
    ----------
    db_url : str or pathlib.Path
        The database.
    synchronous : {"NORMAL", "FULL"}, default "NORMAL"
        SQLite's setting: ``NORMAL`` survives a crash of the process (SIGKILL), ``FULL`` also
        a power loss.
    echo : bool, default False
        Log every SQL statement.

    Returns
    -------
    sqlalchemy.Engine
        The engine.

    Raises
    ------
    journeylab.errors.StorageError
        When the database cannot be used (unreachable, read-only, of a newer schema).

    Examples
    --------
    >>> engine = open_database("sqlite://")
    >>> engine.dialect.name
    'sqlite'
    """
    url = str(db_url)
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("sqlite:///") and url not in ("sqlite:///", "sqlite:///:memory:"):
        try:
            Path(url[len("sqlite:///") :]).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StorageError(f"cannot create the database's folder: {e}", url) from None
    kw: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        if memory:
            from sqlalchemy.pool import StaticPool

            kw.update(poolclass=StaticPool)
        kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
        engine = sa.create_engine(url, **kw)
        sync = synchronous.upper()
        if sync not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={sync}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: sa.Connection) -> None:
            ro = conn.get_execution_options().get("readonly", False)
            conn.exec_driver_sql("BEGIN" if ro else "BEGIN IMMEDIATE")
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, **kw)
    try:
        migrate(engine)
    except JourneyError:
        engine.dispose()
        raise
    except Exception as e:  # noqa: BLE001 - what the driver says, as the library's error
        engine.dispose()
        from journeylab._migrations import cannot_use

        raise cannot_use(e, engine.url.render_as_string(hide_password=True)) from e
    return engine


def migrate(engine: sa.Engine) -> str:
    """Bring the runtime's tables to the newest revision (alembic, see
    :mod:`journeylab.runtime.migrations`), in one transaction; returns the revision."""
    from journeylab._migrations import upgrade

    def legacy(conn: sa.Connection) -> str | None:
        if not sa.inspect(conn).has_table("rt_meta"):
            return None  # a new database
        row = conn.execute(sa.select(rt_meta.c.value).where(rt_meta.c.key == "schema_version")).first()
        if row is not None and int(row[0]) > SCHEMA_VERSION:
            raise StorageError(
                f"this database holds runtime schema {row[0]}; this journeylab knows schema "
                f"{SCHEMA_VERSION}: upgrade journeylab",
                engine.url.render_as_string(hide_password=True),
            )
        return "0001"  # schema 1, from before migrations

    with engine.begin() as conn:
        head = upgrade(
            conn, Path(__file__).with_name("migrations"), "rt_alembic_version", what="runtime", legacy=legacy
        )
        if not conn.execute(sa.select(rt_meta.c.value).where(rt_meta.c.key == "schema_version")).first():
            conn.execute(sa.insert(rt_meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
    return head
