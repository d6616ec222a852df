"""Command line: ``journeylab simulate | validate | datasets | run``.

``journeylab simulate examples/cart_abandonment.json --dataset ecommerce --out out --report out/report.html``
simulates a journey over a cohort, writes the trace and statistics (Parquet and CSV), an
HTML report, and prints a summary table. A journey is a JSON file or the name of a bundled
example (``journeylab simulate cart_abandonment --dataset ecommerce``; ``journeylab examples``
lists them), so the installed package alone is enough to try it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from journeylab.errors import JourneyError

__all__ = ["main"]


def _journeys(items: Sequence[str]) -> list[object]:
    """Each item as given (a file path), or the bundled example of that name when no such
    file exists (the JSON shipped in the package, not built anew)."""
    from pathlib import Path

    from journeylab.examples import EXAMPLES, example_path
    from journeylab.model.io import load

    return [load(example_path(i)) if i in EXAMPLES and not Path(i).exists() else i for i in items]


def _simulate(args: argparse.Namespace) -> int:
    import pandas as pd

    from journeylab.sim import Cohort, simulate
    from journeylab.sim.behaviour import BehaviourModel

    if args.dataset:
        if args.events or args.profiles:
            raise SystemExit("give either --dataset or --events/--profiles, not both")
        cohort = Cohort.from_dataset(args.dataset)
    else:
        if not (args.events and args.profiles):
            raise SystemExit("give --dataset NAME, or both --events FILE and --profiles FILE")
        cohort = Cohort(args.profiles, args.events, timezone=args.timezone, unknown_users=args.unknown_users)
    behaviour = None
    if args.fit_messages:
        behaviour = BehaviourModel.fit(
            pd.read_parquet(args.fit_messages)
            if args.fit_messages.endswith(".parquet")
            else pd.read_csv(args.fit_messages)
        )
    elif args.dataset:
        from journeylab.datasets import load

        ds = load(args.dataset)
        if ds.messages is not None:
            behaviour = BehaviourModel.fit(ds.messages)
    t0 = time.perf_counter()
    res = simulate(
        _journeys(args.journeys),
        cohort,
        args.start,
        args.end,
        seed=args.seed,
        behaviour=behaviour,
        progress=args.progress,
        workers=args.workers,
    )
    took = time.perf_counter() - t0
    print(f"{cohort!r}")
    print(
        f"simulated {', '.join(d.id for d in res.journeys)} from {res.start:%Y-%m-%d %H:%M} to {res.end:%Y-%m-%d %H:%M} UTC, seed {res.seed}, in {took:.1f} s"
    )
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(res.summary().to_string(float_format=lambda x: f"{x:.3f}"))
    if args.out:
        files = res.write(args.out)
        print(f"wrote {len(files)} files to {args.out}: {', '.join(sorted(files))}")
    if args.report:
        p = res.to_html(args.report)
        print(f"wrote report {p}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from journeylab.model.io import load
    from journeylab.validate import validate

    bad = 0
    for path, d in zip(args.journeys, _journeys(args.journeys), strict=True):
        rep = validate(load(d) if isinstance(d, str) else d)
        print(f"{path}: {len(rep.errors)} errors, {len(rep.warnings)} warnings")
        for it in [*rep.errors, *rep.warnings]:
            print(f"  {it.severity:7} {it.path}: {it.message}")
        bad += len(rep.errors)
    return 1 if bad else 0


def _datasets(args: argparse.Namespace) -> int:
    from journeylab.datasets import load, names

    for n in names():
        ds = load(n)
        print(f"{n:10} {len(ds.profiles):>7,} users {len(ds.events):>9,} events  {ds.description}")
    return 0


def _examples(args: argparse.Namespace) -> int:
    from journeylab.examples import EXAMPLES, load

    for name in sorted(EXAMPLES):
        j = load(name)
        print(f"{name:26} {j.name}  ({len(j.nodes)} nodes)")
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="journeylab", description="Design and simulate customer-engagement journeys.")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("simulate", help="simulate journeys over a cohort and write the results")
    s.add_argument("journeys", nargs="+", help="journey JSON files or bundled example names (several run together)")
    s.add_argument("--dataset", help="a bundled dataset (see `journeylab datasets`)")
    s.add_argument("--events", help="events table (CSV or Parquet: user_id, ts, event, properties...)")
    s.add_argument("--profiles", help="profiles table (CSV or Parquet: user_id, properties...)")
    s.add_argument("--timezone", help="zone of naive event timestamps (they are refused otherwise)")
    s.add_argument(
        "--unknown-users", default="error", choices=["error", "add", "drop"], help="events of users not in profiles"
    )
    s.add_argument("--start", help="start instant, e.g. 2026-10-01T00:00Z (default: the first event's day)")
    s.add_argument("--end", help="end instant (default: just after the last event)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--fit-messages", help="past sends/opens table to fit the behaviour model from")
    s.add_argument("--out", help="directory for trace, node_stats and journey_stats (Parquet and CSV)")
    s.add_argument("--report", help="write a self-contained HTML report here")
    s.add_argument("--progress", action="store_true", help="show a progress bar")
    s.add_argument(
        "--workers", type=int, help="processes for the run (default: every core for a large run; 1: one process)"
    )
    s.set_defaults(fn=_simulate)

    v = sub.add_parser("validate", help="validate journey JSON files")
    v.add_argument("journeys", nargs="+", help="journey JSON files or bundled example names")
    v.set_defaults(fn=_validate)

    d = sub.add_parser("datasets", help="list the bundled datasets")
    d.set_defaults(fn=_datasets)

    e = sub.add_parser("examples", help="list the bundled example journeys (usable by name)")
    e.set_defaults(fn=_examples)

    try:
        from journeylab.cli_run import add_run_parser
    except ImportError:  # pragma: no cover - the runtime is optional
        pass
    else:
        add_run_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``journeylab`` command."""
    args = _parser().parse_args(argv)
    try:
        return int(args.fn(args) or 0)
    except JourneyError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
