"""Schema migrations with alembic, shared by the two databases journeylab keeps: the runtime's
(``journeylab/runtime/migrations``, version table ``rt_alembic_version``) and the workspace's
(``journeylab/workspace_migrations``, version table ``journeylab_alembic_version``). Each part has
its own tables, revisions and version table, so both can live in one database.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

import sqlalchemy as sa

from journeylab.errors import StorageError

__all__ = ["upgrade", "cannot_use"]


def upgrade(
    conn: sa.Connection, location: Path, version_table: str, *, what: str, legacy: Callable[[sa.Connection], str | None]
) -> str:
    """Bring ``what``'s tables to the newest revision, inside ``conn``'s transaction (all of it or
    nothing). A database without the version table is asked to ``legacy``: the revision its tables
    already are (written before migrations existed; it is stamped so), or ``None`` (a new
    database). A revision this journeylab does not know (a newer one) raises
    :class:`StorageError`. Returns the head revision."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(location))
    cfg.attributes["connection"] = conn
    script = ScriptDirectory.from_config(cfg)
    # every migrations folder of the package ships its revisions (package-data versions/*.py)
    head = cast(str, script.get_current_head())
    current = MigrationContext.configure(conn, opts={"version_table": version_table}).get_current_revision()
    if current is not None and current not in {r.revision for r in script.walk_revisions()}:
        raise StorageError(
            f"this database holds {what} schema revision {current!r}, newer than this journeylab "
            f"knows ({head!r}): upgrade journeylab",
            conn.engine.url.render_as_string(hide_password=True),
        )
    if current is None:
        stamp = legacy(conn)
        if stamp is not None:
            command.stamp(cfg, stamp)
            current = stamp
    if current != head:
        command.upgrade(cfg, "head")
    return head


def cannot_use(e: BaseException, url: str) -> StorageError:
    """What the driver said about a database that cannot be used (unreachable, corrupt, not a
    database, read-only), as the library's :class:`StorageError`."""
    orig = getattr(e, "orig", None) or e
    text = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return StorageError(f"cannot use this database: {type(orig).__name__}: {text}", url)
