"""Shared test set-up: make ``tests/helpers.py`` importable as ``helpers``; property tests are
deterministic by default (the same examples on every run: CI is reproducible), and explore
new examples with ``HYPOTHESIS_PROFILE=explore``; the ``driver`` fixture."""

import os
import sys
from pathlib import Path

import pytest
from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("journeylab", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "journeylab"))

from drivers import DRIVERS  # noqa: E402 - importable once the path is set


@pytest.fixture(params=DRIVERS)
def driver(request) -> str:
    """Each driver in turn: a worked example written once runs through all of them
    (``drivers.run_example``)."""
    return request.param
