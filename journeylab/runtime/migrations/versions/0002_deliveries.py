"""Runtime schema 2: quarantine, file identities, destinations and per-destination deliveries.

Messages written under schema 1 get one delivery each for the destination ``default`` (what
an external drainer takes), with the state, attempts and error they had.

Revision ID: 0002
Revises: 0001
"""

import time

import sqlalchemy as sa
from alembic import op

from journeylab.runtime import _schema as s

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    s.meta.create_all(bind, tables=[s.rt_quarantine, s.rt_sources, s.rt_destinations, s.rt_deliveries])
    o, d = s.rt_outbox, s.rt_deliveries
    now = time.time()
    if bind.execute(sa.select(sa.func.count()).select_from(o)).scalar():
        if not bind.execute(sa.select(s.rt_destinations.c.name).where(s.rt_destinations.c.name == "default")).first():
            bind.execute(sa.insert(s.rt_destinations).values(name="default", active=True, added_at=now))
        bind.execute(
            sa.insert(d).from_select(
                [
                    "message_id",
                    "destination",
                    "status",
                    "attempts",
                    "not_before",
                    "lease_owner",
                    "created_at",
                    "last_error",
                    "sent_at",
                ],
                sa.select(
                    o.c.id,
                    sa.literal("default"),
                    o.c.status,
                    o.c.attempts,
                    o.c.not_before,
                    sa.null(),
                    sa.literal(now),
                    o.c.last_error,
                    o.c.sent_at,
                ),
            )
        )
    bind.execute(sa.update(s.rt_meta).where(s.rt_meta.c.key == "schema_version").values(value="2"))


def downgrade() -> None:  # pragma: no cover - never run by journeylab
    raise NotImplementedError
