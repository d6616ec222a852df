"""Shared test set-up: make ``tests/helpers.py`` importable as ``helpers``; property tests are
deterministic by default (the same examples on every run: CI is reproducible), and explore
new examples with ``HYPOTHESIS_PROFILE=explore``; the ``driver`` fixture; what the session
shares: the sharded driver's pools of spawned workers (``drivers.shared_spawn_pools``) and one
PostgreSQL server for outage tests (``pg_outage_server``)."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("journeylab", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "journeylab"))

from drivers import DRIVERS, shutdown_shared_pools  # noqa: E402 - importable once the path is set


def pytest_sessionfinish(session, exitstatus) -> None:
    shutdown_shared_pools()  # the sharded driver's pools of spawned workers (drivers.py)


@pytest.fixture(scope="session")
def pg_outage_server():
    """One PostgreSQL server of the session's own that tests stop and start (outages): see
    ``runtime_helpers.PgOutage`` and the ``pg_outage`` fixture."""
    from runtime_helpers import PgOutage

    pg = PgOutage()
    yield pg
    pg.close()


@pytest.fixture(params=DRIVERS)
def driver(request) -> str:
    """Each driver in turn: a worked example written once runs through all of them
    (``drivers.run_example``)."""
    return request.param
