"""Runtime schema 1: the tables of the first runtime (before migrations existed).

Revision ID: 0001
Revises:
"""

from alembic import op

from journeylab.runtime import _schema as s

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: these tables have not changed since schema 1; a change to one goes in a new revision
TABLES = (
    "rt_meta",
    "rt_journeys",
    "rt_versions",
    "rt_users",
    "rt_states",
    "rt_trace",
    "rt_outbox",
    "rt_seen",
    "rt_offsets",
    "rt_rejected",
)


def upgrade() -> None:
    bind = op.get_bind()
    s.meta.create_all(bind, tables=[s.meta.tables[t] for t in TABLES])


def downgrade() -> None:  # pragma: no cover - never run by journeylab
    raise NotImplementedError
