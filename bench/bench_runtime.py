"""Load figure of the production runtime on SQLite: events per second, and latency at that rate.

    python bench/bench_runtime.py [--events 20000] [--users 2000]

1. Throughput: a stream of user events for three journeys (reference journey, purchase promo,
   journey-trigger pair) ingested through ``Runtime.ingest`` — one transaction per event,
   timers firing as they come due (a replay clock that follows the events) — on a fresh
   SQLite file (WAL, synchronous=NORMAL). Also with synchronous=FULL, and with 100 events per
   transaction (``Runtime.replay``), for comparison.
2. Latency: the same stream fed open-loop at 50 %, 80 % and 100 % of the measured rate of
   real time: event i is scheduled at t0 + i / rate and its latency runs from that instant
   to the commit of its transaction (timers due before it included; queueing included, so
   falling behind shows). Percentiles p50/p95/p99 per event.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from journeylab import examples  # noqa: E402
from journeylab.engine import Event  # noqa: E402
from journeylab.runtime import ReplayClock, Runtime  # noqa: E402

START = 1790812800  # 2026-10-01T00:00Z
NAMES = ["App Launched", "Added To Cart", "Charged", "Ride Completed", "Page Viewed", "Product Viewed"]
P = [0.25, 0.15, 0.08, 0.12, 0.3, 0.1]


def journeys():
    j1, j2 = examples.journey_trigger_pair()
    return [examples.reference_journey().definition, examples.purchase_promo().definition, j1.definition, j2.definition]


def make_events(n: int, users: int, seed: int = 0, span: int = 5 * 86400) -> list[tuple[str, int, str, dict]]:
    rng = np.random.default_rng(seed)
    ts = np.sort(START + rng.integers(0, span, n))
    u = rng.integers(0, users, n)
    names = rng.choice(NAMES, n, p=P)
    amount = np.round(rng.random(n) * 100, 2)
    return [(f"u{u[i]:05d}", int(ts[i]), str(names[i]), {"amount": float(amount[i])}) for i in range(n)]


def profiles(users: int) -> dict[str, dict]:
    rng = np.random.default_rng(1)
    return {
        f"u{i:05d}": {
            "push_token": "tok" if rng.random() < 0.7 else None,
            "email": "x@example.com",
            "first_name": "Sam",
        }
        for i in range(users)
    }


def throughput(events, users: int, *, synchronous: str = "NORMAL", batch: int = 1) -> tuple[float, dict]:
    d = tempfile.mkdtemp(prefix="jl-bench-")
    rt = Runtime(
        journeys(),
        os.path.join(d, "rt.db"),
        clock=ReplayClock(START),
        profiles=profiles(users),
        synchronous=synchronous,
    )
    t0 = time.perf_counter()
    service = np.empty(len(events))
    if batch == 1:
        pc = time.perf_counter
        for k, (uid, ts, name, props) in enumerate(events):
            a = pc()
            rt.advance_to(ts)
            rt.ingest(Event(uid, ts, name, props, f"e{k}"))
            service[k] = pc() - a
    else:
        rt.replay(
            (Event(uid, ts, name, props, f"e{k}") for k, (uid, ts, name, props) in enumerate(events)), batch=batch
        )
    dt_ = time.perf_counter() - t0
    h = rt.health()
    rt.close()
    ms = service * 1000
    pct = {f"p{q}": float(np.percentile(ms, q)) for q in (50, 95, 99)} if batch == 1 else {}
    return len(events) / dt_, {"outbox": sum(h["outbox"].values()), "timers": h["metrics"]["timers"], **pct}


def latency(events, rate: float, users: int) -> dict[str, float]:
    """Feed the same stream open-loop at ``rate`` events/s of real time (the replay clock
    follows the events, so timers fire as in the throughput run)."""
    d = tempfile.mkdtemp(prefix="jl-bench-")
    rt = Runtime(journeys(), os.path.join(d, "rt.db"), clock=ReplayClock(START), profiles=profiles(users))
    n = len(events)
    lat = np.empty(n)
    t0 = time.perf_counter() + 0.2
    for i, (uid, ts, name, props) in enumerate(events):
        due = t0 + i / rate
        now = time.perf_counter()
        if now < due:
            time.sleep(due - now)
        rt.advance_to(ts)
        rt.ingest(Event(uid, ts, name, props, f"e{i}"))
        lat[i] = time.perf_counter() - due
    total = time.perf_counter() - t0
    rt.close()
    ms = lat * 1000
    return {
        "rate": rate,
        "achieved": n / total,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "max": float(ms.max()),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3, help="throughput runs (the median is reported)")
    a = ap.parse_args(argv)
    import platform

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}, load average {os.getloadavg()[0]:.1f}"
    )
    evs = make_events(a.events, a.users)
    print(f"stream: {a.events} events, {a.users} users, 4 journeys (reference, purchase promo, trigger pair)")
    runs = sorted((throughput(evs, a.users) for _ in range(a.repeat)), key=lambda r: r[0])
    rate, info = runs[len(runs) // 2]
    print(
        f"throughput, 1 event per transaction, synchronous=NORMAL: {rate:8.0f} events/s "
        f"(runs: {', '.join(f'{r:.0f}' for r, _ in runs)}; {info['outbox']} messages, {info['timers']} timer wake-ups)"
    )
    print(
        f"  time per event at that rate (closed loop, timers included): p50 {info['p50']:.2f} ms, "
        f"p95 {info['p95']:.2f} ms, p99 {info['p99']:.2f} ms"
    )
    full, _ = throughput(evs, a.users, synchronous="FULL")
    print(f"throughput, 1 event per transaction, synchronous=FULL:   {full:8.0f} events/s")
    batched, _ = throughput(evs, a.users, batch=100)
    print(f"throughput, 100 events per transaction:                  {batched:8.0f} events/s")
    print("latency per event (open loop: from its scheduled arrival to its commit, timers included):")
    print("  target/s  achieved/s   p50 ms   p95 ms   p99 ms   max ms")
    for frac in (0.5, 0.65, 0.8, 1.0):
        r = latency(evs, rate * frac, a.users)
        print(
            f"  {r['rate']:8.0f}  {r['achieved']:10.0f} {r['p50']:8.2f} {r['p95']:8.2f} {r['p99']:8.2f} {r['max']:8.1f}"
            f"   ({int(frac * 100)} % of the measured rate)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
