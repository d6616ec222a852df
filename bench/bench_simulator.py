"""Simulator benchmark: journeylab beside the obvious SimPy model and a pandas lower bound.

Reference journey (``journeylab.examples.reference_journey``): entry on "Added To Cart" (no
re-entry) -> Inaction: no "Charged" within 15 min -> push (view probability 0.3, exponential
latency mean 10 min) -> wait 1 day -> "App Launched" within 24 h: yes -> email; timeout ->
exit; goal "Charged"; journey timeout 3 days. Cohorts from ``journeylab.datasets`` (about 20
events per user over 30 days), written once to Parquet (``bench/data/``).

For each size, ``--pairs`` rounds; in each round, one fresh process per measurement, side by
side (so a busy moment hurts all of them alike):

* **journeylab**: ``simulate`` straight from the Parquet cohort (reading it included), the
  full trace and node statistics, with the default workers: a cohort of 5M events or more
  (1M users here, not 100k) is read, prepared and run in parts, one per core
  (``journeylab.sim.parts``; 2 here) ...
* **journeylab, 1 worker**: ... and all in the calling process (``workers=1``);
* **naive SimPy** (``bench/naive_simpy.py``, one SimPy process per user; up to ``--naive-max``
  users) and the **pandas lower bound** (``bench/lower_bound.py``: the one journey in array
  steps, no engine), both from the same Parquet files.

Each process imports its model's modules first (timed apart and printed below the table: an
analyst's notebook pays them once per kernel); the times run from reading the Parquet cohort to
the result. All must give the same node counts. Printed: min / median / max seconds of each, the ratios
naive / journeylab (per round, then min / median / max), peak memory (summed PSS of a run's
processes), growth between sizes. ``--sweep`` adds the analyst's sweep: a node timeout over 10
values with 20 replicates each at 100k users (``replicate``-style runs on every core).
``--experiment`` adds the analyst's experiment at 100k users: the reference journey behind a
10 % control group (a Split with a control branch), a 3-day attribution window and users who
tire of messages (fatigue on push and email, ``FATIGUE``); the default (batched) engine beside
``engine="per-user"``, paired, node counts and trace lengths equal.

    python bench/bench_simulator.py                      # 100k and 1M, 3 rounds
    python bench/bench_simulator.py --sizes 100000 --pairs 5 --sweep --experiment
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KINDS = ("journeylab", "journeylab-1", "naive", "lower")
#: the fatigue model of ``--experiment`` (keyword arguments of ``BehaviourModel.with_fatigue``)
FATIGUE = {"channels": ["push", "email"], "intercept": -3.0, "per_day": 0.9, "per_week": 0.2}


class _TreeMemory:
    """Peak memory of a measured process and its child processes together: the summed
    proportional set size (shared pages split between the processes sharing them), sampled
    every 50 ms from this (the benchmark's) process, so that the measured one runs no sampler
    of its own: reading a process's page tables takes the measured process's memory lock, and
    a sampling thread inside it would take turns with it for the interpreter lock."""

    def __init__(self, pid: int, every: float = 0.05) -> None:
        import threading

        import psutil

        self._root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, args=(every,), daemon=True)
        self._thread.start()

    def _sample(self) -> int:
        total = 0
        with contextlib.suppress(Exception):  # the process just left
            for p in [self._root, *self._root.children(recursive=True)]:
                with contextlib.suppress(Exception):  # a child that just left
                    total += p.memory_full_info().pss
        return total

    def _watch(self, every: float) -> None:
        while True:
            self.peak = max(self.peak, self._sample())
            if self._stop.wait(every):
                return

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak / 2**20


def _counts_of(ns) -> dict[str, int]:  # noqa: ANN001 - a node stats frame
    return {
        f"{node}.{col}": int(ns.loc[node, col])
        for node in ns.index
        for col in ("entered", "left_yes", "left_next", "left_timeout", "exited")
    }


def _child(kind: str, n: int, path: str, seed: int) -> None:
    """One measurement in this fresh process: the model's modules are imported first (timed
    apart, ``import_s``), then ``wall`` runs from reading the Parquet cohort to the result."""
    import pandas as pd

    t_import = time.perf_counter()
    timings: dict[str, float] = {}
    if kind.startswith(("journeylab", "experiment")):
        from journeylab.examples import reference_journey
        from journeylab.sim import BehaviourModel, Latency, simulate
        from journeylab.sim.scale import ParquetCohort
    else:
        sys.path.insert(0, str(HERE))
        import pyarrow.parquet  # noqa: F401 - what read_parquet imports on first use
        from lower_bound import run_lower_bound
        from naive_simpy import run_naive
    t0 = time.perf_counter()
    import_s = t0 - t_import
    if kind.startswith(("journeylab", "experiment")):
        behaviour = BehaviourModel.default().with_channel(
            "push", view=0.3, view_latency=Latency.exponential(minutes=10)
        )
        journey = reference_journey()
        if kind.startswith("experiment"):
            behaviour = behaviour.with_fatigue(**FATIGUE)
            journey = _experiment_journey()
        res = simulate(
            journey,
            ParquetCohort(path),
            seed=seed,
            behaviour=behaviour,
            workers=1 if kind == "journeylab-1" else None,
            engine="per-user" if kind == "experiment-per-user" else "auto",
        )
        counts = _counts_of(res.node_stats)
        timings = res.timings
        rows = len(res.trace)
    else:
        events = pd.read_parquet(Path(path) / "events.parquet", columns=["user_id", "ts", "event"])
        profiles = pd.read_parquet(Path(path) / "profiles.parquet", columns=["user_id", "push_token", "email"])
        start = events["ts"].min().floor("D")
        end = events["ts"].max().floor("s") + pd.Timedelta(seconds=1)
        model = run_naive if kind == "naive" else run_lower_bound
        c = model(profiles, events, int(start.timestamp()), int(end.timestamp()))
        counts = {k: int(v) for k, v in c.items()}
        rows = 0
    wall = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "kind": kind,
                "n": n,
                "wall": wall,
                "import_s": import_s,
                "counts": counts,
                "rows": rows,
                "timings": timings,
            }
        )
    )


def _compile() -> None:
    """Byte-compile journeylab and the bench's models once, as an installation does: with
    ``PYTHONDONTWRITEBYTECODE`` set (or an editable install not imported yet) each fresh process
    would otherwise compile journeylab's modules from source, which is not the package's time."""
    import compileall

    import journeylab

    for where in (Path(journeylab.__file__).parent, HERE):
        compileall.compile_dir(str(where), quiet=1)


def _measure(kind: str, n: int, path: str, seed: int) -> dict:
    """One measurement in a fresh process, its peak memory watched from here."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(n), path, str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    mem = _TreeMemory(child.pid)
    out, err = child.communicate()
    peak = mem.stop()
    if child.returncode:
        raise SystemExit(f"{kind} at {n:,} users failed:\n{err}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_mb": peak}


def _cohort(n: int, seed: int) -> str:
    """The cohort of ``n`` users, written once (again when the files are of an older layout)."""
    import pyarrow.parquet as pq

    from journeylab.datasets import write_cohort
    from journeylab.datasets._cohort import EVENTS_LAYOUT, LAYOUT_KEY

    path = HERE / "data" / f"cohort_{n}"
    events = path / "events.parquet"
    meta = (pq.read_schema(events).metadata or {}) if events.exists() else {}
    if meta.get(LAYOUT_KEY) != EVENTS_LAYOUT:
        write_cohort(path, n, seed=seed)
    return str(path)


def _same(a: dict, b: dict) -> bool:
    """journeylab's node counts equal another model's (a count it never made is 0)."""
    return all(b.get(k, 0) == v for k, v in a.items())


def _mmm(xs: list[float], fmt: str = "{:.2f}") -> str:
    if not xs:
        return "–"
    return "/".join(fmt.format(x) for x in (min(xs), statistics.median(xs), max(xs)))


def _sweep(pairs: int) -> None:
    """10 values of the "launched" window x 20 replicates at 100k users, timed."""
    import datetime as dt

    from journeylab.examples import reference_journey
    from journeylab.sim.experiments import sweep
    from journeylab.sim.scale import ParquetCohort

    path = _cohort(100_000, 0)
    values = [dt.timedelta(hours=h) for h in (1, 2, 4, 6, 8, 12, 24, 36, 48, 72)]
    walls = []
    for _ in range(pairs):
        t0 = time.perf_counter()
        out = sweep(
            reference_journey(), ParquetCohort(path), node="launched", field="window", values=values, replications=20
        )
        walls.append(time.perf_counter() - t0)
        assert out["value"].nunique() == len(values)
    print(
        f"sweep: 10 values x 20 replicates = 200 simulations of 100,000 users: {_mmm(walls)} s (min/median/max "
        f"of {pairs})"
    )


def _experiment_journey():  # noqa: ANN202 - a journeylab Journey (imported in the child)
    """The reference journey behind a 10 % control group, with a 3-day attribution window."""
    import datetime as dt

    from journeylab.examples import reference_journey
    from journeylab.model import Journey, Split, SplitBranch

    ref = reference_journey()
    j = Journey.from_def(ref.definition)
    j.configure(attribution_window=dt.timedelta(days=3))
    first = next(c for c in j.connectors if c.source == "entry")
    j.disconnect("entry", first.port)
    split = Split(
        id="ab", branches=[SplitBranch(name="test", percent=90), SplitBranch(name="control", percent=10, control=True)]
    )
    j.then("entry", first.port, split)
    j.connect("ab", "test", first.target)
    return j


def _experiment(pairs: int, seed: int) -> None:
    """The analyst's experiment at 100k users: the default engine beside the per-user one,
    paired rounds, node counts and trace lengths equal."""
    path = _cohort(100_000, seed)
    runs: dict[str, list[dict]] = {"experiment": [], "experiment-per-user": []}
    for _ in range(pairs):
        for kind in runs:
            runs[kind].append(_measure(kind, 100_000, path, seed))
    a, b = runs["experiment"], runs["experiment-per-user"]
    for r in (*a, *b):
        if r["counts"] != a[0]["counts"] or r["rows"] != a[0]["rows"]:
            raise SystemExit("experiment: the engines disagree")
    ratios = [y["wall"] / x["wall"] for x, y in zip(a, b, strict=True)]
    print(
        f"experiment (100,000 users; 10 % control, 3-day attribution, fatigue {FATIGUE}): default "
        f"{_mmm([r['wall'] for r in a])} s (batched: {a[0]['timings'].get('batched') == 1.0}), per-user "
        f"{_mmm([r['wall'] for r in b])} s on {int(b[0]['timings']['workers'])} worker(s), ratio "
        f"{_mmm(ratios, '{:.1f}x')}; {a[0]['rows']:,} trace rows, node counts equal",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--pairs", type=int, default=3, help="rounds of side-by-side measurements (at least 3)")
    ap.add_argument("--naive-max", type=int, default=100_000, help="largest size the naive model runs at")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sweep", action="store_true", help="also time a 10 x 20 sweep at 100k users")
    ap.add_argument("--experiment", action="store_true", help="also time the analyst's experiment at 100k")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, n, path, seed = args.child
        _child(kind, int(n), path, int(seed))
        return
    _compile()
    print(
        f"{'users':>9} | {'journeylab s':>17} | {'1 worker s':>17} | {'naive SimPy s':>17} | {'pandas bound s':>17} | "
        f"{'naive/journeylab':>17} | {'peak MB':>6}"
    )
    prev = None
    for n in args.sizes:
        path = _cohort(n, args.seed)
        res: dict[str, list[dict]] = {k: [] for k in KINDS}
        for _ in range(max(args.pairs, 1)):
            for kind in KINDS:
                if kind == "naive" and n > args.naive_max:
                    continue
                res[kind].append(_measure(kind, n, path, args.seed))
        ref = res["journeylab"][0]
        for kind in KINDS[1:]:
            for r in res[kind]:
                if not _same(ref["counts"], r["counts"]):
                    diff = {k: (v, r["counts"].get(k)) for k, v in ref["counts"].items() if r["counts"].get(k, 0) != v}
                    raise SystemExit(f"{kind} differs from journeylab at {n:,} users: {diff}")
        wall = {k: [r["wall"] for r in v] for k, v in res.items()}
        ratios = [b["wall"] / a["wall"] for a, b in zip(res["journeylab"], res["naive"], strict=False)]
        peak = max(r["peak_mb"] for r in res["journeylab"])
        print(
            f"{n:>9,} | {_mmm(wall['journeylab']):>17} | {_mmm(wall['journeylab-1']):>17} | "
            f"{_mmm(wall['naive']):>17} | {_mmm(wall['lower']):>17} | {_mmm(ratios, '{:.1f}x'):>17} | {peak:>6.0f}",
            flush=True,
        )
        t = ref["timings"]
        where = (
            f"in {int(t['workers'])} parts ({t['parts_s']:.2f} s; the slowest part's cohort "
            f"{t['cohort_s']:.2f} s, prepare {t['prepare_s']:.2f} s, run {t['run_s']:.2f} s)"
            if "parts_s" in t
            else f"cohort {t['cohort_s']:.2f} s, prepare {t['prepare_s']:.2f} s, run {t['run_s']:.2f} s "
            f"on {int(t['workers'])} worker(s)"
        )
        one = [b["wall"] / a["wall"] for a, b in zip(res["journeylab-1"], res["naive"], strict=False)]
        print(
            f"{'':>9}   {ref['rows']:,} trace rows, node counts equal in all; journeylab's time: {where}, "
            f"results {t['results_s']:.2f} s; naive / journeylab on 1 worker: {_mmm(one, '{:.1f}x')}",
            flush=True,
        )
        imports = {k: [r["import_s"] for r in v] for k, v in res.items()}
        whole = [
            (b["wall"] + b["import_s"]) / (a["wall"] + a["import_s"])
            for a, b in zip(res["journeylab"], res["naive"], strict=False)
        ]
        print(
            f"{'':>9}   imports before the times above: journeylab {_mmm(imports['journeylab'])} s, naive "
            f"{_mmm(imports['naive'])} s, pandas bound {_mmm(imports['lower'])} s; naive/journeylab with "
            f"the imports counted: {_mmm(whole, '{:.1f}x')}",
            flush=True,
        )
        med = statistics.median(wall["journeylab"])
        if prev is not None:
            print(f"{'':>9}   growth x{med / prev[1]:.1f} for x{n / prev[0]:.0f} users (medians)", flush=True)
        prev = (n, med)
    if args.experiment:
        _experiment(max(args.pairs, 1), args.seed)
    if args.sweep:
        _sweep(max(args.pairs, 1))


if __name__ == "__main__":
    main()
