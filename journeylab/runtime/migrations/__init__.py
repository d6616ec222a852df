"""Alembic migrations of the runtime's tables (version table ``rt_alembic_version``).

:func:`journeylab.runtime.open_database` runs them: a new database is built to the head
revision, a database of runtime schema 1 (before migrations existed) is stamped ``0001`` and
upgraded, a database of a newer revision than this journeylab knows is refused.
"""
