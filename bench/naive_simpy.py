"""The obvious SimPy model an analyst would write by hand for the reference journey.

One SimPy process per user replays that user's events; the journey's rules are written
inline for this one journey. It is the yardstick of ``bench/bench_simulator.py``.

Reference journey: entry on "Added To Cart" (no re-entry) -> Inaction: no "Charged" within
15 min -> push (needs a push token) -> wait 1 day -> "App Launched" within 24 h: yes ->
email (needs an email); timeout (at the next full hour) -> exit node; goal "Charged";
journey timeout 3 days; hourly evaluation on the hour (UTC).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import simpy

DAY = 86400


def _user(env, evs, push_ok, email_ok, counts, end):
    """The journey for one user: ``evs`` is its list of (ts, name), time-ordered."""
    n = len(evs)
    i = 0
    while i < n and evs[i][1] != "Added To Cart":
        i += 1
    if i == n:
        return
    t0 = evs[i][0]
    if t0 >= end:
        return
    yield env.timeout(t0 - env.now)
    i += 1
    counts["entry.entered"] += 1
    counts["entry.left_yes"] += 1
    counts["no_purchase.entered"] += 1
    timeout_at = t0 + 3 * DAY

    def wait_until(t_end, node, watch=None):
        """Replay events until t_end (exclusive); returns 'goal', a watched name, or None."""
        nonlocal i
        while i < n and evs[i][0] < t_end and evs[i][0] < timeout_at:
            ts, name = evs[i]
            i += 1
            if ts > env.now:
                yield env.timeout(ts - env.now)
            if name == "Charged":
                counts[f"{node}.exited"] += 1
                counts["exits.goal"] += 1
                return "goal"
            if watch is not None and name == watch:
                return watch
        target = min(t_end, timeout_at, end)
        if target > env.now:
            yield env.timeout(target - env.now)
        if env.now >= end:
            return "end"
        if env.now >= timeout_at:
            counts[f"{node}.exited"] += 1
            counts["exits.journey_timeout"] += 1
            return "timeout"
        return None

    r = yield from wait_until(t0 + 900, "no_purchase")
    if r:
        return
    counts["no_purchase.left_yes"] += 1
    counts["push.entered"] += 1
    counts["push.sent" if push_ok else "push.discarded"] += 1
    counts["push.left_next"] += 1
    counts["wait.entered"] += 1
    r = yield from wait_until(env.now + DAY, "wait")
    if r:
        return
    counts["wait.left_next"] += 1
    counts["launched.entered"] += 1
    arrived = env.now
    r = yield from wait_until(arrived + DAY, "launched", watch="App Launched")
    if r == "App Launched":
        counts["launched.left_yes"] += 1
        counts["email.entered"] += 1
        counts["email.sent" if email_ok else "email.discarded"] += 1
        counts["email.left_next"] += 1
        counts["email.exited"] += 1
        counts["exits.completed"] += 1
        return
    if r:
        return
    counts["launched.timed_out"] += 1
    hourly = -(-(arrived + DAY) // 3600) * 3600
    r = yield from wait_until(hourly, "launched")
    if r:
        return
    counts["launched.left_timeout"] += 1
    counts["exit.entered"] += 1
    counts["exit.exited"] += 1
    counts["exits.force_exit"] += 1


def run_naive(profiles: pd.DataFrame, events: pd.DataFrame, start: int, end: int) -> Counter:
    """Run the hand-written model; returns node counts like ``node.entered``."""
    env = simpy.Environment(initial_time=start)
    counts: Counter = Counter()
    ts = events["ts"].to_numpy(dtype="datetime64[s]").astype(np.int64)
    # in time order, rows at one instant in input order (the file need not be in time order)
    keep = np.flatnonzero(ts >= start)
    keep = keep[np.argsort(ts[keep], kind="stable")]
    ev = pd.DataFrame(
        {"user_id": events["user_id"].to_numpy()[keep], "ts": ts[keep], "event": events["event"].to_numpy()[keep]}
    )
    prof = profiles.set_index("user_id")
    push = prof["push_token"].notna().to_dict()
    email = prof["email"].notna().to_dict()
    for uid, g in ev.groupby("user_id", sort=True):
        evs = list(zip(g["ts"].tolist(), g["event"].tolist(), strict=True))
        env.process(_user(env, evs, push.get(uid, False), email.get(uid, False), counts, end))
    env.run(until=end)
    return counts
