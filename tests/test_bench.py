"""The benchmark's models agree: journeylab, the naive SimPy model and the pandas lower bound
give the same node counts on a cohort as ``write_cohort`` stores it (the benchmark refuses to
print a table otherwise; this catches a model that reads the files wrongly before a long run)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_simulator", BENCH / "bench_simulator.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    from journeylab.datasets import write_cohort

    path = tmp_path_factory.mktemp("cohort")
    write_cohort(path, 3000, seed=5)
    return str(path)


def test_every_model_counts_the_same_on_a_written_cohort(written, capsys, monkeypatch):
    bench = _bench_module()
    monkeypatch.setattr(sys, "path", [*sys.path])  # (the child puts bench/ on the path)
    runs = {}
    for kind in ("journeylab", "journeylab-1", "naive", "pandas"):
        bench._child(kind, 3000, written, 0)
        runs[kind] = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    ours = runs["journeylab"]["counts"]
    assert ours["push.entered"] > 100 and ours["email.entered"] > 10  # (a journey that does something)
    assert runs["journeylab-1"]["counts"] == ours
    for kind in ("naive", "pandas"):
        assert bench._same(ours, runs[kind]["counts"]), kind
