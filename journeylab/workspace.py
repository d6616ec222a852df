"""A workspace: many journeys in a real database, with versions and bulk lifecycle operations.

By default the workspace is an embedded SQLite file; any SQLAlchemy URL works
(``postgresql+psycopg://...``). Two tables:

* ``journeys`` — one row per journey: its working definition (what :meth:`Workspace.get`
  returns, the draft being edited or the published journey with its content edits) and the
  listing columns (name, status, version, archived, updated_at);
* ``journey_versions`` — one immutable row per publish: ``(journey_id, version)`` and the
  definition exactly as published (:meth:`Workspace.get_version`).

Every operation runs in its own transaction, so nothing is ever half-written; bulk
operations run one transaction per journey, and one failure does not stop the others.

The tables are built and migrated with alembic (:mod:`journeylab.workspace_migrations`, version
table ``journeylab_alembic_version``) each time a workspace is opened, in one transaction; a
database written before migrations existed (schema 1) is stamped and carries on, a newer one and
a database that cannot be used (corrupt, unreachable) raise :class:`~journeylab.errors.StorageError`.

>>> from journeylab.examples import purchase_promo, ride_tier
>>> ws = Workspace(":memory:")
>>> ws.save(purchase_promo()); ws.save(ride_tier())
>>> ws.publish("ride-tier").status
'running'
>>> ws.list()[["id", "status", "version"]].to_dict("records")
[{'id': 'purchase-promo', 'status': 'draft', 'version': 1}, {'id': 'ride-tier', 'status': 'running', 'version': 1}]
>>> ws.bulk_pause(["ride-tier", "purchase-promo"])
{'ride-tier': 'ok', 'purchase-promo': "journey 'purchase-promo' is draft: it cannot be paused"}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from journeylab._migrations import cannot_use
from journeylab.errors import JourneyError, LifecycleError, StorageError
from journeylab.model import lifecycle
from journeylab.model.io import from_json, to_json
from journeylab.model.journey import Journey, JourneyDef

__all__ = ["Workspace", "JourneyNotFound", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_meta = sa.MetaData()

_journeys = sa.Table(
    "journeys",
    _meta,
    sa.Column("id", sa.String(200), primary_key=True),
    sa.Column("name", sa.Text, nullable=False, default=""),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False, default=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

_versions = sa.Table(
    "journey_versions",
    _meta,
    sa.Column("journey_id", sa.String(200), sa.ForeignKey("journeys.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
)

_info = sa.Table(
    "journeylab_meta",
    _meta,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


def migrate(engine: sa.Engine) -> str:
    """Bring the workspace's tables to the newest revision (alembic, see
    :mod:`journeylab.workspace_migrations`), in one transaction; returns the revision.

    A database written before migrations existed (schema 1: the tables and
    ``journeylab_meta.schema_version``, no version table) is stamped ``0001`` and upgraded; one
    of a newer schema or revision is refused with :class:`StorageError`."""
    from journeylab import workspace_migrations
    from journeylab._migrations import upgrade

    url = engine.url.render_as_string(hide_password=True)

    def legacy(conn: sa.Connection) -> str | None:
        return "0001" if sa.inspect(conn).has_table("journeys") else None  # schema 1, or a new database

    with engine.begin() as conn:
        if sa.inspect(conn).has_table("journeylab_meta"):  # what every journeylab reads, migrations or not
            row = conn.execute(sa.select(_info.c.value).where(_info.c.key == "schema_version")).first()
            if row is not None and int(row[0]) > SCHEMA_VERSION:
                raise StorageError(
                    f"this workspace was written by a newer journeylab (schema {row[0]}); this one "
                    f"reads schema {SCHEMA_VERSION}: upgrade journeylab",
                    url,
                )
        return upgrade(
            conn,
            Path(workspace_migrations.__file__).parent,
            "journeylab_alembic_version",
            what="workspace",
            legacy=legacy,
        )


def _sqlite_transactions(engine: sa.Engine) -> None:
    """Real transactions on SQLite (the driver's own would run DDL outside them): a migration
    is then all or nothing."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
        dbapi_conn.isolation_level = None  # no implicit BEGIN: SQLAlchemy's begin issues it

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN")


class JourneyNotFound(JourneyError, KeyError):
    """No journey with this id (or version) in the workspace.

    Parameters
    ----------
    journey_id : str
        The id asked for.
    version : int or None, default None
        The version asked for.

    Examples
    --------
    >>> from journeylab.workspace import Workspace
    >>> with Workspace(":memory:") as ws:
    ...     try:
    ...         ws.get("nope")
    ...     except JourneyNotFound as e:
    ...         print(type(e).__name__)
    JourneyNotFound
    """

    def __init__(self, journey_id: str, version: int | None = None) -> None:
        super().__init__(journey_id)
        self.journey_id = journey_id
        self.version = version

    def __str__(self) -> str:
        if self.version is not None:
            return f"journey {self.journey_id!r} has no published version {self.version}"
        return f"there is no journey {self.journey_id!r} in this workspace"


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite gives naive datetimes back: we only ever store UTC.
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Workspace:
    """Many journeys persisted in a database (an embedded SQLite file by default).

    Lifecycle operations (``publish``, ``pause``, ``resume``, ``stop``, ``archive``,
    ``unarchive``) take a journey id, apply the same rules as :class:`Journey` and return the
    journey; ``bulk_*`` take many ids and return ``{id: "ok" | reason}``.

    Parameters
    ----------
    path_or_url : str or pathlib.Path, default "journeys.db"
        A file path, ``":memory:"``, or any SQLAlchemy URL.
    clock : callable or None, default None
        Returns the current UTC time (for ``updated_at`` and publishing); tests pass a fixed
        one. Default the system clock.
    echo : bool, default False
        Log every SQL statement.

    Raises
    ------
    journeylab.errors.StorageError
        When the database cannot be opened, or its workspace tables are of a newer version.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from journeylab.examples import cart_abandonment
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "journeys.db"
    >>> with Workspace(path) as ws:
    ...     ws.save(cart_abandonment())
    >>> Workspace(path).get("cart-abandonment").name
    'Cart abandonment'
    """

    def __init__(
        self,
        path_or_url: str | Path = "journeys.db",
        *,
        clock: Callable[[], dt.datetime] | None = None,
        echo: bool = False,
    ) -> None:
        target = str(path_or_url)
        if target == ":memory:":
            self.engine = sa.create_engine(
                "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}, echo=echo
            )
        elif "://" in target:
            self.engine = sa.create_engine(target, echo=echo)
        else:
            self.engine = sa.create_engine(f"sqlite:///{Path(target).expanduser().resolve()}", echo=echo)
        if self.engine.dialect.name == "sqlite":
            _sqlite_transactions(self.engine)
        self.url = self.engine.url
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        try:
            migrate(self.engine)
        except JourneyError:
            self.engine.dispose()
            raise
        except Exception as e:  # noqa: BLE001 - what the driver says, as the library's error
            self.engine.dispose()
            raise cannot_use(e, self.url.render_as_string(hide_password=True)) from e

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace({self.url.render_as_string(hide_password=True)!r})"

    def __contains__(self, journey_id: object) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(_journeys.c.id).where(_journeys.c.id == journey_id)).first() is not None

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_journeys)).scalar_one())

    def _now(self) -> dt.datetime:
        return _utc(self._clock())

    @staticmethod
    def _row(conn: sa.Connection, journey_id: str) -> Any:
        row = conn.execute(sa.select(_journeys).where(_journeys.c.id == journey_id)).first()
        if row is None:
            raise JourneyNotFound(journey_id)
        return row

    def _write(self, conn: sa.Connection, d: JourneyDef, *, insert: bool) -> None:
        now = self._now()
        values = dict(
            name=d.name,
            status=d.status,
            version=d.version,
            archived=d.archived,
            definition=to_json(d, indent=0),
            updated_at=now,
        )
        if insert:
            conn.execute(sa.insert(_journeys).values(id=d.id, created_at=now, **values))
        else:
            conn.execute(sa.update(_journeys).where(_journeys.c.id == d.id).values(**values))

    # ------------------------------------------------------------------ journeys
    def save(self, journey: Journey | JourneyDef) -> None:
        """Store a journey's working definition (insert or replace).

        * A new journey must be a draft (publish it with :meth:`publish`).
        * A stored draft can be replaced by any draft of the same journey.
        * A published (scheduled, running, paused) journey accepts only changes of engagement
          content and node positions — the same rule as :class:`Journey` editing.
        * A stopped journey can be replaced by a new draft of the next version
          (``journey.new_draft()``): publishing it stores version n + 1.

        >>> from journeylab.examples import ride_tier
        >>> ws = Workspace(":memory:")
        >>> j = ride_tier(); ws.save(j)
        >>> _ = j.rename("Ride tier v1"); ws.save(j)
        >>> ws.get("ride-tier").name
        'Ride tier v1'
        """
        d = journey.definition if isinstance(journey, Journey) else journey
        if not isinstance(d, JourneyDef):
            raise TypeError(f"save() takes a Journey or a JourneyDef, not {type(journey).__name__}")
        # refuse what could not be read back
        from_json(to_json(d))
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(_journeys).where(_journeys.c.id == d.id)).first()
            if row is None:
                if d.status != "draft":
                    raise LifecycleError(
                        f"journey {d.id!r} is {d.status}: a new journey is saved as a draft, then published with "
                        f"workspace.publish({d.id!r})"
                    )
                self._write(conn, d, insert=True)
                return
            stored = from_json(row.definition)
            self._check_save(stored, d)
            self._write(conn, d, insert=False)

    @staticmethod
    def _check_save(stored: JourneyDef, d: JourneyDef) -> None:
        jid = d.id
        if stored.status == "draft":
            if d.status != "draft":
                raise LifecycleError(
                    f"journey {jid!r} is a draft in the workspace: publish it with workspace.publish({jid!r}), "
                    f"not by saving a {d.status} copy"
                )
            return
        if stored.status == "stopped" and d.status == "draft":
            if d.version != stored.version + 1:
                raise LifecycleError(
                    f"journey {jid!r} is stopped at version {stored.version}: a new draft of it must be version "
                    f"{stored.version + 1} (use journey.new_draft())"
                )
            return
        if d.status == "draft":
            raise LifecycleError(
                f"journey {jid!r} is {stored.status}: it cannot be replaced by a draft; stop it first, or save the "
                f"draft under a new id"
            )
        if (d.status, d.version, d.archived) != (stored.status, stored.version, stored.archived):
            raise LifecycleError(
                f"journey {jid!r} is {stored.status}{' (archived)' if stored.archived else ''} at version "
                f"{stored.version}: change its state with workspace.pause/resume/stop/archive, not by saving"
            )
        lifecycle.check_published_change(stored, d)

    def get(self, journey_id: str) -> Journey:
        """The journey's working definition, as an editable :class:`Journey`.

        >>> Workspace(":memory:").get("nope")
        Traceback (most recent call last):
        ...
        journeylab.workspace.JourneyNotFound: there is no journey 'nope' in this workspace
        """
        with self.engine.connect() as conn:
            row = self._row(conn, journey_id)
        return Journey.from_def(from_json(row.definition))

    def get_version(self, journey_id: str, version: int) -> JourneyDef:
        """The definition exactly as published as ``version`` (immutable).

        >>> from journeylab.examples import ride_tier
        >>> ws = Workspace(":memory:"); ws.save(ride_tier()); _ = ws.publish("ride-tier")
        >>> ws.get_version("ride-tier", 1).status, ws.versions("ride-tier")
        ('running', [1])
        """
        with self.engine.connect() as conn:
            self._row(conn, journey_id)
            row = conn.execute(
                sa.select(_versions.c.definition).where(
                    _versions.c.journey_id == journey_id, _versions.c.version == version
                )
            ).first()
        if row is None:
            raise JourneyNotFound(journey_id, version)
        return from_json(row[0])

    def versions(self, journey_id: str) -> list[int]:
        """The published versions of a journey, oldest first (a draft never published: ``[]``).

        >>> from journeylab.examples import ride_tier
        >>> ws = Workspace(":memory:"); ws.save(ride_tier())
        >>> ws.versions("ride-tier")
        []
        """
        with self.engine.connect() as conn:
            self._row(conn, journey_id)
            rows = conn.execute(
                sa.select(_versions.c.version).where(_versions.c.journey_id == journey_id).order_by(_versions.c.version)
            ).all()
        return [r[0] for r in rows]

    def list(self, archived: bool | None = False):  # -> pandas.DataFrame
        """The journeys as a DataFrame: ``id, name, status, version, archived, updated_at``.

        ``archived=False`` (default) hides archived journeys, ``archived=True`` shows only
        archived ones ("Show archived Journeys only"), ``archived=None`` shows all. Sorted by
        id.

        >>> from journeylab.examples import purchase_promo, ride_tier
        >>> ws = Workspace(":memory:"); ws.save(purchase_promo()); ws.save(ride_tier())
        >>> _ = ws.archive("ride-tier")
        >>> ws.list()["id"].tolist(), ws.list(archived=True)["id"].tolist(), len(ws.list(archived=None))
        (['purchase-promo'], ['ride-tier'], 2)
        """
        import pandas as pd

        cols = ["id", "name", "status", "version", "archived", "updated_at"]
        q = sa.select(*(_journeys.c[c] for c in cols)).order_by(_journeys.c.id)
        if archived is not None:
            q = q.where(_journeys.c.archived == bool(archived))
        with self.engine.connect() as conn:
            rows = [(*r[:5], _utc(r[5])) for r in conn.execute(q).all()]
        df = pd.DataFrame(rows, columns=cols)
        df["version"] = df["version"].astype("int64")
        df["archived"] = df["archived"].astype(bool)
        df["updated_at"] = pd.to_datetime(df["updated_at"], utc=True)
        return df

    def delete(self, journey_id: str) -> None:
        """Delete a draft that was never published (published journeys are kept: archive them)."""
        with self.engine.begin() as conn:
            row = self._row(conn, journey_id)
            n = conn.execute(
                sa.select(sa.func.count()).select_from(_versions).where(_versions.c.journey_id == journey_id)
            ).scalar_one()
            if row.status != "draft" or n:
                raise LifecycleError(
                    f"journey {journey_id!r} has been published: it cannot be deleted, archive it instead"
                )
            conn.execute(sa.delete(_journeys).where(_journeys.c.id == journey_id))

    # ------------------------------------------------------------------ lifecycle
    def _apply(self, journey_id: str, op: Callable[[Journey], Any], *, publish: bool = False) -> Journey:
        with self.engine.begin() as conn:
            row = self._row(conn, journey_id)
            j = Journey.from_def(from_json(row.definition))
            op(j)
            self._write(conn, j.definition, insert=False)
            if publish:
                d = j.definition
                exists = conn.execute(
                    sa.select(_versions.c.version).where(
                        _versions.c.journey_id == journey_id, _versions.c.version == d.version
                    )
                ).first()
                if exists is not None:
                    raise LifecycleError(
                        f"journey {journey_id!r} already has a published version {d.version}; make a new draft "
                        f"with journey.new_draft()"
                    )
                conn.execute(
                    sa.insert(_versions).values(
                        journey_id=journey_id,
                        version=d.version,
                        definition=to_json(d, indent=0),
                        published_at=self._now(),
                    )
                )
        return j

    def publish(self, journey_id: str, now: dt.datetime | None = None) -> JourneyDef:
        """Validate and publish the stored draft; stores a new immutable version row.

        Validation errors block it (:class:`LifecycleError` listing them). ``now`` decides
        between ``scheduled`` (start in the future) and ``running``.

        >>> import datetime as dt
        >>> from journeylab.examples import cart_abandonment
        >>> ws = Workspace(":memory:"); j = cart_abandonment()
        >>> _ = j.configure(start=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)); ws.save(j)
        >>> d = ws.publish("cart-abandonment", now=dt.datetime(2029, 1, 1, tzinfo=dt.UTC))
        >>> d.status, d.version, ws.versions("cart-abandonment")
        ('scheduled', 1, [1])
        """
        when = now or self._now()
        return self._apply(journey_id, lambda j: j.publish(when), publish=True).definition

    def pause(self, journey_id: str) -> Journey:
        """Pause: no new entries (users inside keep moving)."""
        return self._apply(journey_id, Journey.pause)

    def resume(self, journey_id: str) -> Journey:
        """Resume a paused journey."""
        return self._apply(journey_id, Journey.resume)

    def stop(self, journey_id: str) -> Journey:
        """Stop for good."""
        return self._apply(journey_id, Journey.stop)

    def archive(self, journey_id: str) -> Journey:
        """Archive (refused for scheduled or running journeys)."""
        return self._apply(journey_id, Journey.archive)

    def unarchive(self, journey_id: str) -> Journey:
        """Bring an archived journey back to the listing."""
        return self._apply(journey_id, Journey.unarchive)

    def _bulk(self, ids: Iterable[str], fn: Callable[[str], Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for jid in dict.fromkeys(ids):  # each id once, in order
            try:
                fn(jid)
            except (JourneyError, sa.exc.SQLAlchemyError) as e:
                out[jid] = str(e)
            else:
                out[jid] = "ok"
        return out

    def bulk_pause(self, ids: Iterable[str]) -> dict[str, str]:
        """Pause each journey; returns ``{id: "ok" or the reason it failed}``."""
        return self._bulk(ids, self.pause)

    def bulk_resume(self, ids: Iterable[str]) -> dict[str, str]:
        """Resume each journey; returns ``{id: "ok" or the reason it failed}``."""
        return self._bulk(ids, self.resume)

    def bulk_stop(self, ids: Iterable[str]) -> dict[str, str]:
        """Stop each journey; returns ``{id: "ok" or the reason it failed}``."""
        return self._bulk(ids, self.stop)

    def bulk_archive(self, ids: Iterable[str]) -> dict[str, str]:
        """Archive each journey; returns ``{id: "ok" or the reason it failed}``."""
        return self._bulk(ids, self.archive)

    def bulk_unarchive(self, ids: Iterable[str]) -> dict[str, str]:
        """Unarchive each journey; returns ``{id: "ok" or the reason it failed}``."""
        return self._bulk(ids, self.unarchive)
