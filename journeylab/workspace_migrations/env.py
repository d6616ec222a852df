"""Alembic environment: the connection comes from ``config.attributes["connection"]``."""

from typing import TYPE_CHECKING

from alembic import context

if TYPE_CHECKING:
    from alembic.config import Config

config: "Config | None"  # evaluated at run time (module level): quoted
try:
    config = context.config
except AttributeError:  # imported outside alembic (doctest collection): nothing to do
    config = None

if config is not None:
    context.configure(
        connection=config.attributes["connection"],
        target_metadata=None,
        version_table="journeylab_alembic_version",
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
