"""Shared test helpers: small random cohorts and trace conversions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from journeylab import examples

START = pd.Timestamp("2026-10-01", tz="UTC")
END = pd.Timestamp("2026-10-15", tz="UTC")
NAMES = ["App Launched", "Added To Cart", "Charged", "Ride Completed", "Page Viewed", "Product Viewed"]


JOURNEYS = {
    "reference": lambda: [examples.reference_journey()],
    "cart": lambda: [examples.cart_abandonment()],
    "promo_reentry": lambda: [examples.purchase_promo(reentry=True)],
    "ride_tier": lambda: [examples.ride_tier()],
    "trigger_pair": lambda: list(examples.journey_trigger_pair()),
}


def cohort(n: int = 300, seed: int = 0, per_user: int = 25) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    users = np.array([f"u{i:04d}" for i in range(n)], dtype=object)
    m = n * per_user
    ts = START.value // 10**9 - 2 * 86400 + rng.integers(0, 16 * 86400, m)
    # some events land on the same second, and on exact minutes, to exercise ties
    ts[rng.random(m) < 0.2] //= 60
    ts[ts < 10**9] *= 60
    ev = pd.DataFrame(
        {
            "user_id": users[rng.integers(0, n, m)],
            "ts": pd.to_datetime(ts, unit="s", utc=True),
            "event": rng.choice(NAMES, m, p=[0.25, 0.15, 0.08, 0.12, 0.3, 0.1]),
            "amount": np.round(rng.random(m) * 100, 2),
        }
    ).sort_values("ts", kind="stable", ignore_index=True)
    prof = pd.DataFrame(
        {
            "user_id": users,
            "push_token": np.where(rng.random(n) < 0.7, "tok", None),
            "email": np.where(rng.random(n) < 0.8, "x@example.com", None),
            "phone": np.where(rng.random(n) < 0.5, "+1", None),
            "first_name": "Sam",
            "ride_count": rng.integers(0, 12, n),
        }
    )
    return prof, ev


def sim_rows(res):
    t = res.trace
    return list(
        zip(
            t["user_id"],
            t["ts"].dt.as_unit("s").astype("int64").tolist(),
            t["journey"].astype(str),
            t["version"],
            t["node"].astype(str),
            t["event"].astype(str),
            t["port"].astype(str),
            t["detail"].astype(str),
            strict=True,
        )
    )
