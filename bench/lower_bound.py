"""A lower bound for the simulator benchmark: the reference journey in whole-array steps.

No engine at all: the journey's rules written as pandas/numpy operations over the event log,
for this one journey only (the same rules as ``bench/naive_simpy.py`` and journeylab: timers
before events at one instant, the node timeout at the next full hour, goal "Charged" anywhere).
It gives the same node counts, and shows how fast the arithmetic alone can be on this machine.

Reference journey: entry on "Added To Cart" (no re-entry) -> Inaction: no "Charged" within
15 min -> push -> wait 1 day -> "App Launched" within 24 h: yes -> email; timeout (the next
full hour after the window) -> exit node; goal "Charged"; journey timeout 3 days (never binds).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

DAY = 86400
HOUR = 3600
TIES = 64


def _first_after(user: np.ndarray, key: np.ndarray, ev_user: np.ndarray, ev_key: np.ndarray) -> np.ndarray:
    """For each (user, key) query, the position of the user's first event with a key strictly
    greater (``-1`` if none); events sorted by (user, key)."""
    pos = np.searchsorted(ev_user * (1 << 40) + ev_key, user * (1 << 40) + key, side="right")
    ok = pos < len(ev_user)
    ok[ok] = ev_user[pos[ok]] == user[ok]
    return np.where(ok, pos, -1)


def run_lower_bound(profiles: pd.DataFrame, events: pd.DataFrame, start: int, end: int) -> Counter:
    """The node counts of the reference journey over a cohort, with array operations only."""
    ev = events[events["event"].isin(["Added To Cart", "Charged", "App Launched"])]
    ts = ev["ts"].to_numpy(dtype="datetime64[s]").astype(np.int64)
    codes, users = pd.factorize(ev["user_id"])
    order = np.lexsort((np.arange(len(ts)), ts, codes))
    u, t = codes[order].astype(np.int64), ts[order]
    name = ev["event"].to_numpy()[order]
    # an event's place among the user's events: its time, and its input order at one instant
    # (seconds since the first event) * TIES + the event's index among the user's events at that
    # instant: small enough that user * 2**40 + key never overflows (30 days * 64 < 2**28)
    rank = np.arange(len(t))
    group = np.r_[True, (u[1:] != u[:-1]) | (t[1:] != t[:-1])] if len(t) else np.zeros(0, bool)
    tie = rank - np.maximum.accumulate(np.where(group, rank, 0))
    if len(t) and tie.max() >= TIES:
        raise ValueError(f"more than {TIES} events of one user at one instant")
    key = (t - t.min()) * TIES + tie if len(t) else t
    c = Counter()

    # entry: each user's first cart at or after the start
    cart = np.flatnonzero((name == "Added To Cart") & (t >= start) & (t < end))
    first = cart[np.r_[True, u[cart][1:] != u[cart][:-1]]] if len(cart) else cart
    eu, e0, ekey = u[first], t[first], key[first]
    c["entry.entered"] = c["entry.left_yes"] = c["no_purchase.entered"] = len(eu)

    charged = np.flatnonzero(name == "Charged")
    ch_user, ch_key, ch_t = u[charged], key[charged], t[charged]
    nxt = _first_after(eu, ekey, ch_user, ch_key)  # the first Charged after the entry event
    c_t = np.where(nxt >= 0, ch_t[np.maximum(nxt, 0)], np.iinfo(np.int64).max)

    def leave_by_goal(node: str, before: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Users still ``alive`` whose first Charged comes before ``before`` (and the end) exit."""
        goal = alive & (c_t < np.minimum(before, end))
        c[f"{node}.exited"] += int(goal.sum())
        c["exits.goal"] += int(goal.sum())
        return alive & ~goal

    alive = np.ones(len(eu), dtype=bool)
    # Inaction 15 min: the wait ends at e0 + 900 (a Charged at exactly that instant comes after it)
    alive = leave_by_goal("no_purchase", e0 + 900, alive)
    alive &= e0 + 900 < end
    c["no_purchase.left_yes"] = c["push.entered"] = c["push.left_next"] = c["wait.entered"] = int(alive.sum())
    tok = profiles.set_index("user_id")["push_token"].reindex(users[eu]).notna().to_numpy()
    c["push.sent"], c["push.discarded"] = int((alive & tok).sum()), int((alive & ~tok).sum())
    # wait 1 day
    arrive = e0 + 900 + DAY
    alive = leave_by_goal("wait", arrive, alive)
    alive &= arrive < end
    c["wait.left_next"] = c["launched.entered"] = int(alive.sum())
    # App Launched within 24 h of arrival (at or after it: the timer came first), the goal first
    launched = np.flatnonzero(name == "App Launched")
    la_user, la_key, la_t = u[launched], key[launched], t[launched]
    arrive_key = (arrive - t.min()) * TIES - 1 if len(t) else arrive  # before any event at that instant
    lx = _first_after(eu, arrive_key, la_user, la_key)
    l_t = np.where(lx >= 0, la_t[np.maximum(lx, 0)], np.iinfo(np.int64).max)
    l_key = np.where(lx >= 0, la_key[np.maximum(lx, 0)], np.iinfo(np.int64).max)
    cx = _first_after(eu, arrive_key, ch_user, ch_key)  # the first Charged after arrival
    c_key = np.where(cx >= 0, ch_key[np.maximum(cx, 0)], np.iinfo(np.int64).max)
    window_end = arrive + DAY
    yes = alive & (l_t < np.minimum(window_end, end)) & (l_key < c_key)
    c["launched.left_yes"] = c["email.entered"] = c["email.left_next"] = c["email.exited"] = int(yes.sum())
    c["exits.completed"] = int(yes.sum())
    alive &= ~yes
    timeout_at = -(-window_end // HOUR) * HOUR  # the next full hour at or after the window end (UTC)
    alive = leave_by_goal("launched", timeout_at, alive)
    alive &= timeout_at < end
    c["launched.left_timeout"] = c["exit.entered"] = c["exit.exited"] = int(alive.sum())
    c["exits.force_exit"] = int(alive.sum())
    return c
