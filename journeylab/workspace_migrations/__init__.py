"""Alembic migrations of the workspace's tables (version table ``journeylab_alembic_version``).

:class:`journeylab.workspace.Workspace` runs them when it opens a database: a new database is
built to the head revision, a database of workspace schema 1 (written before migrations
existed) is stamped ``0001`` and upgraded, a database of a newer revision than this journeylab
knows is refused with :class:`~journeylab.errors.StorageError`.
"""
