"""Shared test set-up: make ``tests/helpers.py`` importable as ``helpers``; the ``driver`` fixture."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from drivers import DRIVERS  # noqa: E402 - importable once the path is set


@pytest.fixture(params=DRIVERS)
def driver(request) -> str:
    """Each driver in turn: a worked example written once runs through all of them
    (``drivers.run_example``)."""
    return request.param
