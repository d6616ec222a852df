"""Scale-out benchmark: one process vs 2 worker processes, side by side, same cohort and seed.

The cohort is written once to Parquet (``journeylab.datasets.write_cohort``, sharded by
bucket); every run reads it from there, keeping only the events and columns the journey
uses. The single-process run reads all users; the sharded run gives each worker only its
buckets (``shards`` > workers keeps each worker's memory low). ``--pairs`` rounds, each
running the two side by side (one fresh process each); printed: min / median / max of the
wall times, the speed-up per round and each worker's peak memory, and whether every trace
of every round is identical.

    python bench/bench_scale.py --users 1000000 5000000
    python bench/bench_scale.py --users 10000000 --against shards   # 16 shards vs 32
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def _single(path: str) -> None:
    from journeylab.examples import reference_journey
    from journeylab.sim import simulate
    from journeylab.sim.scale import ParquetCohort

    t0 = time.perf_counter()
    res = simulate(reference_journey(), ParquetCohort(path), seed=1, workers=1)  # reads what the journey needs
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "wall": wall,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rows": len(res.trace),
                "entered": int(res.journey_stats["entered"]),
                "digest": _digest(res.trace),
            }
        )
    )


def _sharded(path: str, workers: int, shards: int) -> None:
    from journeylab.examples import reference_journey
    from journeylab.sim import simulate
    from journeylab.sim.scale import ParquetCohort

    t0 = time.perf_counter()
    res = simulate(reference_journey(), ParquetCohort(path), seed=1, backend="processes", shards=shards)
    wall = time.perf_counter() - t0
    peaks = [v for k, v in res.timings.items() if k.endswith("_peak_mb")]
    print(
        json.dumps(
            {
                "wall": wall,
                "worker_peak_mb": max(peaks),
                "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "rows": len(res.trace),
                "entered": int(res.journey_stats["entered"]),
                "digest": _digest(res.trace),
                "workers": workers,
            }
        )
    )


def _digest(trace) -> str:
    import hashlib

    import pandas as pd

    cols = ["user_id", "ts", "journey", "version", "node", "event", "port", "detail"]
    # hashed by value in each column's own dtype (a categorical hashes like its values), so the
    # digest is cheap at 10M users and equal for equal traces however they were built
    h = pd.util.hash_pandas_object(trace[cols], index=False, categorize=True).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()[:16]


def _run(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shards", type=int, default=16)
    ap.add_argument(
        "--against",
        choices=["single", "shards"],
        default="single",
        help="compare the sharded run with one process (default) or, where one process would not fit "
        "in memory, with the same run over twice as many shards",
    )
    ap.add_argument("--pairs", type=int, default=3, help="rounds of side-by-side runs (at least 3)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        if a.child[0] == "single":
            _single(a.child[1])
        else:
            _sharded(a.child[1], int(a.child[2]), int(a.child[3]))
        return
    from journeylab.datasets import write_cohort

    print(
        f"{'users':>10} | {'compared with':>16} | {'s (min/med/max)':>17} | {f'{a.workers} workers s':>17} | "
        f"{'speed-up':>17} | {'worker peak MB':>14} | {'other peak MB':>13} | trace"
    )
    for n in a.users:
        path = DATA / f"cohort_{n}"
        if not (path / "events.parquet").exists():
            t = time.perf_counter()
            write_cohort(path, n, seed=0)
            print(f"(wrote {n:,} users to {path} in {time.perf_counter() - t:.0f} s)", flush=True)
        mine: list[dict] = []
        other: list[dict] = []
        for _ in range(max(a.pairs, 1)):
            mine.append(_run("--child", "sharded", str(path), str(a.workers), str(a.shards)))
            if a.against == "single":
                other.append(_run("--child", "single", str(path)))
            else:
                other.append(_run("--child", "sharded", str(path), str(a.workers), str(2 * a.shards)))
        runs = mine + other
        same = all(r["digest"] == runs[0]["digest"] and r["rows"] == runs[0]["rows"] for r in runs)
        label = "1 process" if a.against == "single" else f"{2 * a.shards} shards"
        other_peak = [r["peak_mb"] if a.against == "single" else r["worker_peak_mb"] for r in other]
        print(
            f"{n:>10,} | {label:>16} | {_mmm([r['wall'] for r in other]):>17} | {_mmm([r['wall'] for r in mine]):>17} | "
            f"{_mmm([o['wall'] / m['wall'] for o, m in zip(other, mine, strict=True)], '{:.2f}x'):>17} | "
            f"{_mmm([r['worker_peak_mb'] for r in mine], '{:.0f}'):>14} | {_mmm(other_peak, '{:.0f}'):>13} | "
            f"{'identical' if same else 'DIFFER'} in all {len(runs)} runs ({runs[0]['rows']:,} rows; "
            f"{a.shards} shards; parent peak {max(r['parent_peak_mb'] for r in mine):.0f} MB)",
            flush=True,
        )


def _mmm(xs: list[float], fmt: str = "{:.1f}") -> str:
    return "/".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


if __name__ == "__main__":
    main()
