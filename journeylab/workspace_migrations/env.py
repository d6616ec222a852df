"""Alembic environment: the connection comes from ``config.attributes["connection"]``."""

from alembic import context

try:
    config = context.config
except AttributeError:  # imported outside alembic (doctest collection): nothing to do
    config = None

if config is not None:
    context.configure(connection=config.attributes["connection"], target_metadata=None,
                      version_table="journeylab_alembic_version", render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
