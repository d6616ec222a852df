"""Simulator benchmark: journeylab vs the obvious hand-written SimPy model, side by side.

Reference journey (``journeylab.examples.reference_journey``): entry on "Added To Cart" (no
re-entry) -> Inaction: no "Charged" within 15 min -> push (view probability 0.3,
exponential latency mean 10 min) -> wait 1 day -> "App Launched" within 24 h: yes -> email;
timeout -> exit; goal "Charged"; journey timeout 3 days. Cohorts come from
``journeylab.datasets.generate_cohort`` (about 20 events per user over 30 days).

For each size, in one process per measurement (so peak memory is the run's own; sizes above
``--naive-max`` are simulated from Parquet files written once, reading only what the journey
needs, and the naive model is not run):
(a) ``journeylab.simulate`` from the DataFrames (cohort checks, filtering, SimPy run, the
full trace and node statistics; by default on every core, ``--workers 1`` for one process)
and (b) ``bench/naive_simpy.py`` (one SimPy process per user replaying its events). Both
must give the same node counts; the ratio is printed. Peak memory is the summed PSS of the
measuring process and its workers (shared pages counted once), sampled every 50 ms.

    python bench/bench_simulator.py                 # 10k and 100k side by side, 1M journeylab only
    python bench/bench_simulator.py --sizes 10000 100000 1000000 --naive-max 100000
    python bench/bench_simulator.py --workers 1     # journeylab in one process
"""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class _TreeMemory:
    """Peak memory of this process and its worker processes together: the summed
    proportional set size (PSS: shared pages split between the processes sharing them),
    sampled every ``every`` seconds from a thread while the run goes on."""

    def __init__(self, every: float = 0.05) -> None:
        import threading

        import psutil

        self._me = psutil.Process()
        self.peak = self._sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(every,), daemon=True)
        self._thread.start()

    def _sample(self) -> int:
        import psutil

        total = 0
        for p in [self._me, *self._me.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                total += p.memory_full_info().pss
        return total

    def _watch(self, every: float) -> None:
        while not self._stop.wait(every):
            self.peak = max(self.peak, self._sample())

    def stop(self) -> float:
        """Stop sampling; the peak in MB."""
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())
        return self.peak / 2**20


def _child(kind: str, n: int, seed: int, parquet: str | None = None, workers: int | None = None) -> None:
    import resource

    import pandas as pd

    from journeylab.datasets import generate_cohort
    from journeylab.examples import reference_journey
    from journeylab.sim import BehaviourModel, Latency, simulate
    from journeylab.sim.scale import ParquetCohort

    behaviour = BehaviourModel.default().with_channel("push", view=0.3, view_latency=Latency.exponential(minutes=10))
    if parquet:  # large cohorts: simulate straight from the Parquet files (reads what the journey needs)
        mem = _TreeMemory()
        t0 = time.perf_counter()
        res = simulate(reference_journey(), ParquetCohort(parquet), seed=seed, behaviour=behaviour, workers=workers)
        ns = res.node_stats
        wall = time.perf_counter() - t0
        print(json.dumps({"kind": kind, "n": n, "wall": wall, "peak_mb": mem.stop(), "counts": {},
                          "trace_rows": len(res.trace), "events": int(n * 20), "entered": int(ns["entered"].iloc[0]),
                          "timings": res.timings}))
        return
    profiles, events = generate_cohort(n, seed=seed)
    start = events["ts"].iloc[0].floor("D")
    end = events["ts"].iloc[-1].floor("s") + pd.Timedelta(seconds=1)
    mem = _TreeMemory()
    t0 = time.perf_counter()
    if kind == "journeylab":
        res = simulate(reference_journey(), (profiles, events), start, end, seed=seed, behaviour=behaviour, workers=workers)
        ns = res.node_stats
        counts = {f"{node}.{col}": int(ns.loc[node, col]) for node in ns.index for col in ("entered", "left_yes", "left_next", "left_timeout", "exited")}
        rows = len(res.trace)
        timings = res.timings
    else:
        sys.path.insert(0, str(HERE))
        from naive_simpy import run_naive

        c = run_naive(profiles, events, int(start.timestamp()), int(end.timestamp()))
        counts = {k: int(v) for k, v in c.items()}
        rows = 0
        timings = {}
    wall = time.perf_counter() - t0
    print(json.dumps({"kind": kind, "n": n, "wall": wall, "peak_mb": mem.stop(), "counts": counts, "trace_rows": rows,
                      "events": len(events), "self_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "timings": timings}))


def _measure(kind: str, n: int, seed: int, parquet: str | None = None, workers: int | None = None) -> dict:
    extra = [parquet or "-", str(workers or 0)]
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(seed), *extra], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _same(a: dict, b: dict) -> bool:
    """journeylab's node counts equal the naive model's (a count it never made is 0)."""
    return all(b.get(k, 0) == v for k, v in a.items())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--naive-max", type=int, default=100_000, help="largest size the naive model runs at")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None, help="journeylab's worker processes (default: every core)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        parquet, workers = args.child[3], int(args.child[4])
        _child(args.child[0], int(args.child[1]), int(args.child[2]), None if parquet == "-" else parquet, workers or None)
        return
    print(f"{'users':>9} {'events':>11} {'journeylab s':>13} {'peak MB':>8} {'naive s':>9} {'peak MB':>8} {'ratio':>7}  counts")
    prev = None
    for n in args.sizes:
        parquet = None
        if n > args.naive_max:  # written once with bench/make_cohort.py's generator, then read per run
            from journeylab.datasets import write_cohort

            path = HERE / "data" / f"cohort_{n}"
            if not (path / "events.parquet").exists():
                write_cohort(path, n, seed=args.seed)
            parquet = str(path)
        a = _measure("journeylab", n, args.seed, parquet, args.workers)
        line = f"{n:>9,} {a['events']:>11,} {a['wall']:>13.2f} {a['peak_mb']:>8.0f}"
        if n <= args.naive_max:
            b = _measure("naive", n, args.seed)
            ok = _same(a["counts"], b["counts"])
            line += f" {b['wall']:>9.2f} {b['peak_mb']:>8.0f} {b['wall'] / a['wall']:>6.1f}x  {'equal' if ok else 'DIFFER'}"
            if not ok:
                diff = {k: (v, b["counts"].get(k)) for k, v in a["counts"].items() if b["counts"].get(k, 0) != v}
                line += f" {diff}"
        else:
            line += f" {'-':>9} {'-':>8} {'-':>7}"
        t = a["timings"]
        sim = a["wall"] - t.get("cohort_s", 0.0)  # without reading and checking the cohort
        if prev is not None:
            line += (f"   growth x{a['wall'] / prev[1]:.1f} for x{n / prev[0]:.0f} users"
                     f" (x{sim / prev[2]:.1f} without reading the cohort)")
        prev = (n, a["wall"], sim)
        print(line, flush=True)
        print(f"{'':>9} time: cohort {t['cohort_s']:.2f} s, prepare {t['prepare_s']:.2f} s, run {t['run_s']:.2f} s "
              f"on {int(t['workers'])} worker(s), results {t['results_s']:.2f} s, node stats and checks "
              f"{a['wall'] - sum(v for k, v in t.items() if k.endswith('_s')):.2f} s", flush=True)


if __name__ == "__main__":
    main()
