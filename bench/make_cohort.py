"""Write a synthetic e-commerce cohort for the benchmarks (``journeylab.datasets.write_cohort``).

    python bench/make_cohort.py --users 1000000 --out bench/data/1m
    python bench/make_cohort.py --users 100000 --out bench/data/100k --seed 1

Writes ``profiles.parquet`` and ``events.parquet`` (one row group per ``bucket`` =
``stable_hash(user_id) % 64`` and event name, sorted by ``ts`` within each) and prints rows, sizes, time
and peak memory. Read it back with ``journeylab.datasets.read_cohort(out)`` (or one shard
with ``read_cohort(out, buckets=[k])``). Deterministic: the same arguments give the same rows.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402

from journeylab.datasets import write_cohort  # noqa: E402


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, required=True, help="number of users")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--days", type=int, default=30, help="length of the period (default 30)")
    parser.add_argument("--events-per-user", type=float, default=20, help="mean events per user (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--start", default="2026-10-01", help="period start, UTC (default 2026-10-01)")
    parser.add_argument("--tz", default="Asia/Kolkata", help="timezone of the users' daily rhythm")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    paths = write_cohort(
        args.out,
        args.users,
        days=args.days,
        events_per_user=args.events_per_user,
        seed=args.seed,
        start=args.start,
        tz=args.tz,
    )
    elapsed = time.perf_counter() - t0
    if args.out.resolve().parent == (ROOT / "bench" / "data").resolve():
        (args.out.parent / ".gitignore").write_text("*\n")  # generated data stays out of git
    for name, path in paths.items():
        meta = pq.ParquetFile(path).metadata
        print(
            f"{name:9s} {meta.num_rows:>12,} rows {meta.num_row_groups:>3} row groups {path.stat().st_size / 1e6:9.1f} MB  {path}"
        )
    print(f"generated in {elapsed:.1f} s, peak RSS {_peak_rss_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
