"""The ``rides`` dataset: a ride-hailing app in the UK, October 2026 (clocks go back on the 25th).

Riders are commuters (weekday rush hours), regulars, occasional riders, dormant users and
new sign-ups. A ride is an "App Launched", a "Ride Requested", then "Ride Completed" (or
"Ride Cancelled", often followed by a second request) and sometimes a "Rating Given".
``ride_count`` counts the rides before the period, so riders cross 10 rides during it;
``tier`` is "Standard" or "Gold" (nobody is "Platinum" yet: a journey can make them so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylab.datasets import _arrow as A
from journeylab.datasets._build import EventBuffer, Prop, events_table, pick, renumber_by_time, separate_sessions
from journeylab.datasets._time import (
    RIDES_WEEKDAY_HOURS,
    RIDES_WEEKEND_HOURS,
    local_day_index,
    local_days,
    local_to_utc_seconds,
    not_before,
)
from journeylab.datasets._vocab import UK_CITIES, UK_FIRST_NAMES

NAME = "rides"
SEED = 20261001
N_USERS = 5000
START = pd.Timestamp("2026-10-01", tz="UTC")
END = pd.Timestamp("2026-10-31", tz="UTC")
TIMEZONE = "Europe/London"

EVENTS = ("App Launched", "Ride Requested", "Ride Completed", "Ride Cancelled", "Rating Given")
SEGMENTS = ("commuter", "regular", "occasional", "dormant", "new")
_SEGMENT_SHARE = (0.22, 0.20, 0.38, 0.12, 0.08)
_RIDES_MEAN = np.array([16.0, 6.0, 2.2, 0.0, 3.5])  # requested rides per 30 days
_CHECKS_MEAN = np.array([3.0, 2.0, 1.5, 0.3, 2.5])  # app opens without a ride
_WEEKEND_FACTOR = np.array([0.35, 1.3, 1.4, 1.0, 1.2])

CITIES = [c for c, _ in UK_CITIES]
RIDE_TYPES = ("Standard", "XL", "Comfort", "Green")
_RIDE_TYPE_SHARE = (0.72, 0.10, 0.12, 0.06)
_RIDE_TYPE_PRICE = np.array([1.0, 1.6, 1.35, 1.05])
CANCELLED_BY = ("rider", "driver", "no_driver")
REASONS = ("changed plans", "driver too far", "wrong pickup", "driver cancelled", "no drivers available")
TIERS = ("Standard", "Gold")

PROPS = {
    "ride_id": Prop("str", ()),  # codes: ride numbers; the vocabulary is made per build
    "ride_type": Prop("str", RIDE_TYPES),
    "city": Prop("str", CITIES),
    "surge": Prop("float"),
    "estimated_fare": Prop("float"),
    "fare": Prop("float"),
    "distance_km": Prop("float"),
    "duration_min": Prop("float"),
    "cancelled_by": Prop("str", CANCELLED_BY),
    "reason": Prop("str", REASONS),
    "rating": Prop("int"),
}


def _surge(rng: np.random.Generator, local_hour: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    rush = ~weekend & np.isin(local_hour, (7, 8, 17, 18))
    night = weekend & np.isin(local_hour, (22, 23, 0, 1, 2))
    base = np.where(rush | night, 1.35, 1.0)
    return np.round(np.maximum(1.0, base + rng.normal(0.0, 0.12, len(local_hour)) * (rush | night)), 1)


def build(seed: int = SEED) -> tuple[pa.Table, pa.Table, None]:
    """Profiles and events tables of the dataset (deterministic for ``seed``)."""
    rng = np.random.default_rng([seed, 2])
    n = N_USERS
    user_ids = [f"ride-{i + 1:05d}" for i in range(n)]
    start_s, end_s = START.value // A.NS, END.value // A.NS
    days = local_days(START, END, TIMEZONE)
    weekend_day = np.asarray(days.day_of_week >= 5)

    # ------------------------------------------------------------------ riders
    seg = pick(rng, _SEGMENT_SHARE, n)
    is_new = seg == SEGMENTS.index("new")
    signup = np.where(
        is_new,
        start_s + rng.integers(0, 26 * 86400, n),
        start_s
        - np.clip(np.rint(rng.lognormal(np.log(400 * 86400.0), 0.7, n)), 5 * 86400, 2500 * 86400).astype(np.int64),
    )
    ride_count = np.select(
        [seg == 0, seg == 1, seg == 2, seg == 3],
        [
            np.rint(rng.lognormal(np.log(60.0), 0.6, n)),
            np.rint(rng.lognormal(np.log(24.0), 0.5, n)),
            rng.poisson(6.5, n),
            rng.poisson(4.0, n),
        ],
        0,
    ).astype(np.int64)
    tier = np.where(ride_count >= 50, 1, 0)
    home_city = pick(rng, [w for _, w in UK_CITIES], n)
    activity = rng.gamma(3.0, 1 / 3.0, n)

    # ------------------------------------------------------------------ sessions: rides and app opens
    n_ride = rng.poisson(_RIDES_MEAN[seg] * activity)
    n_check = rng.poisson(_CHECKS_MEAN[seg] * activity)
    s_user = np.r_[np.repeat(np.arange(n), n_ride), np.repeat(np.arange(n), n_check)]
    is_ride = np.r_[np.ones(n_ride.sum(), bool), np.zeros(n_check.sum(), bool)]
    ns = len(s_user)
    dw = np.where(weekend_day[None, :], _WEEKEND_FACTOR[:, None], 1.0)  # (segment, day)
    s_day = np.empty(ns, dtype=np.int64)
    for g in range(len(SEGMENTS)):
        rows = np.flatnonzero(seg[s_user] == g)
        s_day[rows] = pick(rng, dw[g], len(rows))
    s_day = not_before(rng, s_day, local_day_index(days, signup, TIMEZONE)[s_user], len(days))
    s_weekend = weekend_day[s_day]
    hours = np.where(s_weekend, pick(rng, RIDES_WEEKEND_HOURS, ns), pick(rng, RIDES_WEEKDAY_HOURS, ns))
    naive = days.asi8[s_day] + (hours * 3600 + rng.integers(0, 3600, ns)) * A.NS
    s_start = np.maximum(local_to_utc_seconds(naive, TIMEZONE), signup[s_user] + 120)

    buf = EventBuffer(EVENTS, PROPS)
    sess = np.arange(ns)
    buf.emit(sess, 0, "App Launched")
    dur = np.full(ns, 30, dtype=np.int64) + rng.integers(0, 90, ns)  # app opens without a ride

    # ------------------------------------------------------------------ rides: request, outcome, retry
    rides = np.flatnonzero(is_ride)
    nr = len(rides)
    r_city = np.where(rng.random(nr) < 0.93, home_city[s_user[rides]], pick(rng, [w for _, w in UK_CITIES], nr))
    r_type = pick(rng, _RIDE_TYPE_SHARE, nr)
    r_surge = _surge(rng, hours[rides], s_weekend[rides])
    dist = np.round(np.clip(rng.lognormal(np.log(6.0), 0.7, nr), 0.8, 60.0), 1)
    minutes = np.round(dist / np.clip(rng.normal(21.0, 5.0, nr), 8.0, 45.0) * 60 + 3, 1)
    fare = np.round(np.maximum(5.0, (2.5 + 1.25 * dist + 0.2 * minutes) * r_surge * _RIDE_TYPE_PRICE[r_type]), 2)
    estimate = np.round(fare * rng.normal(1.0, 0.06, nr), 2)
    t_req = 20 + rng.integers(0, 100, nr)
    cancelled = rng.random(nr) < 0.16
    retry = cancelled & (rng.random(nr) < 0.6)
    ride_no = np.arange(nr)  # ride ids: first requests, then retries
    retry_no = nr + np.arange(int(retry.sum()))
    common = {"ride_type": r_type, "city": r_city, "surge": r_surge}
    buf.emit(sess[rides], t_req, "Ride Requested", ride_id=ride_no, estimated_fare=estimate, **common)
    by = pick(rng, (0.55, 0.25, 0.20), nr)
    reason = np.select([by == 0, by == 1], [pick(rng, (0.5, 0.3, 0.2), nr), 3], 4)
    t_cancel = t_req + np.where(by == 2, 60 + rng.integers(0, 120, nr), 30 + rng.integers(0, 420, nr))
    c = np.flatnonzero(cancelled)
    buf.emit(
        sess[rides[c]], t_cancel[c], "Ride Cancelled", ride_id=ride_no[c], cancelled_by=by[c], reason=reason[c],
        **{k: v[c] for k, v in common.items()},
    )  # fmt: skip
    # completed rides: the first request, or the retry after a cancellation
    t_again = t_cancel + 60 + rng.integers(0, 180, nr)
    r = np.flatnonzero(retry)
    buf.emit(
        sess[rides[r]], t_again[r], "Ride Requested", ride_id=retry_no, estimated_fare=estimate[r],
        **{k: v[r] for k, v in common.items()},
    )  # fmt: skip
    done = ~cancelled | retry
    t_from = np.where(retry, t_again, t_req)
    t_done = t_from + rng.integers(180, 720, nr) + np.rint(minutes * 60).astype(np.int64)
    d = np.flatnonzero(done)
    done_id = np.where(retry, 0, ride_no)
    done_id[r] = retry_no
    buf.emit(
        sess[rides[d]], t_done[d], "Ride Completed", ride_id=done_id[d], fare=fare[d], distance_km=dist[d],
        duration_min=minutes[d], **{k: v[d] for k, v in common.items()},
    )  # fmt: skip
    rated = done & (rng.random(nr) < 0.65)
    t_rate = t_done + np.clip(np.rint(rng.lognormal(np.log(240.0), 1.0, nr)), 20, 5400).astype(np.int64)
    q = np.flatnonzero(rated)
    stars = 5 - pick(rng, (0.72, 0.18, 0.05, 0.02, 0.03), len(q))
    buf.emit(sess[rides[q]], t_rate[q], "Rating Given", ride_id=done_id[q], rating=stars)
    dur[rides] = np.where(rated, t_rate, np.where(done, t_done, t_cancel))

    # ------------------------------------------------------------------ place sessions in time
    s_start = separate_sessions(s_user, s_start, dur, gap=10 * 60)
    ev = buf.arrays()
    ts = s_start[ev["owner"]] + ev["t"]
    keep = (ts >= start_s) & (ts < end_s)
    ev = {k: v[keep] for k, v in ev.items()}
    ev["ride_id"] = renumber_by_time(ev["ride_id"], ts[keep])  # R000001 is the first ride of the month
    props = dict(PROPS, ride_id=Prop("str", [f"R{i + 1:06d}" for i in range(nr + len(retry_no))]))
    events = events_table(user_ids, s_user[ev["owner"]], ts[keep], ev, EVENTS, props, "rd-")

    # ------------------------------------------------------------------ profiles
    uid = pa.array(user_ids, pa.large_string())
    first_name = A.decode(rng.integers(0, len(UK_FIRST_NAMES), n), UK_FIRST_NAMES)
    has_push = rng.random(n) < 0.80
    has_email = rng.random(n) < 0.90
    has_phone = rng.random(n) < 0.97
    has_web_push = rng.random(n) < 0.04
    email = A.concat_strings(pc.utf8_lower(first_name), ".", pc.utf8_slice_codeunits(uid, 5), "@post.example")
    rating = np.round(np.clip(rng.normal(4.82, 0.12, n), 4.0, 5.0), 2)
    profiles = pa.table(
        {
            "user_id": uid,
            "push_token": A.hex_tokens("apns:", rng.integers(0, 2**63, n, dtype=np.uint64), valid=has_push),
            "email": pc.if_else(pa.array(has_email), email, pa.scalar(None, pa.large_string())),
            "phone": A.numbered("+447", rng.integers(0, 10**9, n), 9, valid=has_phone),
            "web_push_token": A.hex_tokens("wp:", rng.integers(0, 2**63, n, dtype=np.uint64), valid=has_web_push),
            "first_name": first_name,
            "city": A.decode(home_city, CITIES),
            "signup_ts": A.timestamps(signup * A.NS),
            "ride_count": pa.array(ride_count, pa.int64()),
            "tier": A.decode(tier, TIERS),
            "rating": pa.array(rating, pa.float64()),
            "payment_method": A.decode(
                pick(rng, (0.62, 0.18, 0.12, 0.08), n), ("card", "apple_pay", "google_pay", "cash")
            ),
        }
    )
    return profiles, events, None


DESCRIPTION = (
    "A ride-hailing app in the UK (GBP; account timezone Europe/London, clocks go back on 25 October), "
    "5,000 riders over October 2026: app opens, ride requests, completions with fares, cancellations "
    "(often retried), ratings; commuters ride at rush hours, others at weekends and nights. ride_count "
    "counts rides before the period (riders cross 10 during it); tier is Standard or Gold."
)

COLUMNS = {
    "profiles.user_id": "Unique user id, 'ride-00001' to 'ride-05000'.",
    "profiles.push_token": "App push token or missing (~80%: the rest turned notifications off).",
    "profiles.email": "E-mail address or missing (~90%).",
    "profiles.phone": "Mobile number (+447...) or missing (~97% have one).",
    "profiles.web_push_token": "Browser push subscription or missing (~4%: riders use the app).",
    "profiles.first_name": "First name.",
    "profiles.city": "Home city (London, Manchester, Birmingham, ...).",
    "profiles.signup_ts": "Sign-up instant (UTC); ~8% sign up during the period.",
    "profiles.ride_count": "Completed rides before the period; segments such as ride_count >= 10 change as "
    "a journey increments it.",
    "profiles.tier": "'Standard' or 'Gold' (ride_count >= 50); nobody is 'Platinum' yet.",
    "profiles.rating": "The rider's average rating from drivers, 4.00 to 5.00.",
    "profiles.payment_method": "'card', 'apple_pay', 'google_pay' or 'cash'.",
    "events.user_id": "The rider (always in profiles).",
    "events.ts": "When it happened, datetime64[ns, UTC], whole seconds; rows sorted by ts (stable).",
    "events.event": "'App Launched', 'Ride Requested', 'Ride Completed', 'Ride Cancelled' or 'Rating Given'.",
    "events.event_id": "Unique event id, 'rd-0000000', ... in ts order.",
    "events.ride_id": "Ride events and Rating Given: the ride ('R000001', ...); a retry after a cancellation "
    "is a new ride.",
    "events.ride_type": "Ride events: 'Standard', 'XL', 'Comfort' or 'Green'.",
    "events.city": "Ride events: the city of the ride (mostly the rider's home city).",
    "events.surge": "Ride events: price multiplier, 1.0 off-peak, higher at rush hours and weekend nights.",
    "events.estimated_fare": "Ride Requested: the fare shown, GBP.",
    "events.fare": "Ride Completed: the fare charged, GBP.",
    "events.distance_km": "Ride Completed: distance, km.",
    "events.duration_min": "Ride Completed: duration, minutes.",
    "events.cancelled_by": "Ride Cancelled: 'rider', 'driver' or 'no_driver'.",
    "events.reason": "Ride Cancelled: 'changed plans', 'driver too far', 'wrong pickup', 'driver cancelled' or "
    "'no drivers available'.",
    "events.rating": "Rating Given: stars given to the driver, 1 to 5 (Int64).",
}
