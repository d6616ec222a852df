"""The simulator keeps freed memory pages for reuse (glibc malloc thresholds, journeylab/sim/_allocator.py)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="glibc malloc tuning (Linux)"
)

# several arrays made and dropped, three times over: the page faults of the last round
_ROUNDS = """
import json, resource, sys
import numpy as np
from journeylab.sim._allocator import keep_freed_pages
np._core.multiarray._set_madvise_hugepage(False)  # (4 KB pages: each first touch is one fault)
set_ = keep_freed_pages()
for r in range(3):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(1_000_000, dtype=np.int64) for _ in range(5)]  # 5 x 8 MB, filled
    del arrays
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(json.dumps({"set": set_, "faults": faults}))
"""


def _run(env: dict[str, str]) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("JOURNEYLAB_KEEP_PAGES", "GLIBC_TUNABLES")}
    clean = {k: v for k, v in clean.items() if not k.startswith("MALLOC_")}
    out = subprocess.run(
        [sys.executable, "-c", _ROUNDS], env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_freed_arrays_pages_are_reused_instead_of_faulted_in_again():
    """40 MB of arrays made, dropped and made again: with the thresholds set, the third round
    reuses the pages (almost no faults); with malloc left alone its heap is trimmed after each
    round and most pages of 40 MB (~10,000) fault in again."""
    kept, default = _run({}), _run({"JOURNEYLAB_KEEP_PAGES": "0"})
    assert kept["set"] is True and default["set"] is False
    if default["faults"] < 1_000:  # pragma: no cover - a kernel giving huge pages to every array
        pytest.skip(f"malloc alone faulted only {default['faults']} times: nothing to compare")
    assert kept["faults"] < default["faults"] / 10, (kept, default)


@pytest.mark.parametrize(
    "env",
    [
        {"JOURNEYLAB_KEEP_PAGES": "0"},
        {"MALLOC_TRIM_THRESHOLD_": "131072"},
        {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"},
    ],
)
def test_the_users_own_malloc_settings_are_left_alone(env):
    assert _run(env)["set"] is False


def test_simulate_sets_the_thresholds():
    """A simulation sets them (once per process)."""
    code = (
        "from journeylab.sim import simulate; from journeylab.examples import reference_journey;"
        "import journeylab.sim._allocator as a;"
        "assert 'set' not in a._state; simulate(reference_journey(), 'ecommerce'); print(a._state['set'])"
    )
    env = {k: v for k, v in os.environ.items() if k != "JOURNEYLAB_KEEP_PAGES" and not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
