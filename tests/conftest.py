"""Shared test set-up: make ``tests/helpers.py`` importable as ``helpers``; property tests are
deterministic by default (the same examples on every run: CI is reproducible), and explore
new examples with ``HYPOTHESIS_PROFILE=explore``."""

import os
import sys
from pathlib import Path

from hypothesis import settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("journeylab", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "journeylab"))
