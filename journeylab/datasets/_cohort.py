"""Synthetic e-commerce cohorts of any size, for benchmarks: ``generate_cohort``, ``write_cohort``, ``read_cohort``.

Fully vectorized (numpy code arrays turned into Arrow columns in C++): no Python loop per
user, session or event. The shape of the data follows what the reference journey of the
benchmark needs (entry on "Added To Cart", inaction "Charged" within 15 min, segment on
"App Launched"):

* users have a heavy-tailed activity (gamma), so many are light, some heavy and ~20% have no
  session at all in the period (churned);
* a session is an "App Launched" followed by a geometric number of browse events: a landing
  "Page Viewed" (with ``referrer`` and ``utm_source``), then "Page Viewed", "Product Viewed"
  and "Searched";
* ~40% of users add to cart at least once (a "Product Viewed" of the item just before); a
  purchase buys a session's whole cart: ~25% of carts are bought ("Charged") within 15 minutes
  of the last add, ~15% later (from 20 minutes to days later, in a new session that starts
  with "App Launched"), the rest are abandoned;
* about 75% of event rows are browse events ("Page Viewed", "Product Viewed", "Searched").
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from journeylab.datasets import _arrow as A
from journeylab.datasets._hash import N_BUCKETS, stable_hash_array
from journeylab.datasets._time import SHOPPING_HOURS, local_days, sample_local_times, utc
from journeylab.datasets._vocab import (
    INDIAN_CITIES,
    INDIAN_FIRST_NAMES,
    SHOP_CATALOGUE,
    SHOP_SEARCHES,
    TRAFFIC_REFERRERS,
    UTM_SOURCES,
    slug,
)
from journeylab.engine.order import stable_order

__all__ = ["generate_cohort", "write_cohort", "read_cohort", "COHORT_EVENTS", "COHORT_COLUMNS", "CATEGORICAL_COLUMNS"]

#: Event names of generated cohorts, in code order.
COHORT_EVENTS = ("App Launched", "Page Viewed", "Product Viewed", "Added To Cart", "Charged", "Searched")
_LAUNCH, _PAGE, _PRODUCT, _CART, _CHARGED, _SEARCH = range(6)

# Shares that fix the event mix (see the module docstring): per user and per ``events_per_user``
_SESSIONS_PER_EVENT = 0.1725  # sessions per user = 0.1725 * events_per_user
_CARTS_PER_EVENT = 0.05  # cart adds per user = 0.05 * events_per_user
_CART_USER_SHARE = 0.40
_QUICK_SHARE = 0.25  # cart adds followed by Charged within 15 min
_LATER_SHARE = 0.13  # carts bought later (measured per add, with other carts: ~15% within a day)
_BROWSE_PER_SESSION = 4.06

# Catalogue as flat arrays
_ITEMS = [(name, cat, price) for cat, (_, items) in SHOP_CATALOGUE.items() for name, price in items]
_ITEM_NAMES = [name for name, _, _ in _ITEMS]
_CATEGORY_NAMES = [SHOP_CATALOGUE[c][0] for c in SHOP_CATALOGUE]
_ITEM_CATEGORY = np.array([list(SHOP_CATALOGUE).index(cat) for _, cat, _ in _ITEMS])
_ITEM_PRICE = np.array([price for _, _, price in _ITEMS])
_ITEM_POPULARITY = 1.0 / np.arange(1, len(_ITEMS) + 1) ** 0.8
_ITEM_POPULARITY /= _ITEM_POPULARITY.sum()

# URL vocabulary (paths on the shop site, to keep 20M-row cohorts lean): home, cart, checkout,
# categories, products, searches
_URLS = (
    ["/", "/cart", "/checkout"]
    + [f"/category/{c}" for c in SHOP_CATALOGUE]
    + [f"/product/{slug(name)}" for name in _ITEM_NAMES]
    + [f"/search?q={q.replace(' ', '+')}" for q, _ in SHOP_SEARCHES]
)
_URL_HOME, _URL_CART, _URL_CHECKOUT = 0, 1, 2
_URL_CAT0 = 3
_URL_PROD0 = _URL_CAT0 + len(SHOP_CATALOGUE)
_URL_SEARCH0 = _URL_PROD0 + len(_ITEMS)
_REFERRERS = [r for r in TRAFFIC_REFERRERS.values() if r is not None]
_UTM_TO_REFERRER = np.array([_REFERRERS.index(r) if r else -1 for r in TRAFFIC_REFERRERS.values()])
_UTM_WEIGHTS = np.array([0.30, 0.15, 0.08, 0.12, 0.35])  # google, facebook, twitter, newsletter, direct
_UTM_CDF = np.cumsum(_UTM_WEIGHTS)[:-1] / _UTM_WEIGHTS.sum()
_BROWSE_KINDS = np.array([_PAGE, _PRODUCT, _SEARCH], dtype=np.int8)
_BROWSE_CDF = np.array([0.45, 0.80])  # Page Viewed 45%, Product Viewed 35%, Searched 20%
_ITEM_CDF = np.cumsum(_ITEM_POPULARITY)[:-1]
# page views: 100 equally likely slots (-1: a product page, item by popularity)
_PAGE_URLS = np.array(
    [_URL_HOME] * 22
    + [_URL_CART] * 5
    + [_URL_CAT0 + i % len(SHOP_CATALOGUE) for i in range(30)]
    + [_URL_SEARCH0 + i % len(SHOP_SEARCHES) for i in range(10)]
    + [-1] * 33,
    dtype=np.int16,
)


def _popular_items(rng: np.random.Generator, n: int) -> np.ndarray:
    """Item codes drawn by popularity (Zipf-like)."""
    return np.searchsorted(_ITEM_CDF, rng.random(n, dtype=np.float32), side="right").astype(np.int16)


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at each group (groups are consecutive, sizes ``counts``)."""
    total = np.cumsum(values)
    ends = np.cumsum(counts)
    starts = ends - counts
    base = np.zeros(len(counts), dtype=total.dtype)
    nonempty = counts > 0
    base[nonempty] = total[starts[nonempty]] - values[starts[nonempty]]
    return total - np.repeat(base, counts)


_EVENT_FIELDS = (
    # name, dtype, fill for rows without the field
    ("ts", np.int64, 0),
    ("user", np.int32, 0),
    ("event", np.int8, 0),
    ("url", np.int16, -1),
    ("utm", np.int8, -1),
    ("ref", np.int8, -1),
    ("item", np.int16, -1),
    ("amount", np.float64, np.nan),
)


class _Params:
    """Validated arguments of a generation, shared by every bucket."""

    def __init__(self, n_users: int, days: int, events_per_user: float, seed: int, start, tz: str) -> None:
        if int(n_users) < 1:
            raise ValueError("n_users must be at least 1")
        if int(days) < 1:
            raise ValueError("days must be at least 1")
        if not events_per_user > 0:
            raise ValueError("events_per_user must be positive")
        self.n = int(n_users)
        self.days = int(days)
        self.events_per_user = float(events_per_user)
        self.seed = int(seed)
        self.tz = tz
        self.t0 = utc(start)
        self.t_end = self.t0 + pd.Timedelta(days=self.days)
        self.start_s, self.end_s = self.t0.value // A.NS, self.t_end.value // A.NS
        self.local_days = local_days(self.t0, self.t_end, tz)
        self.width = max(7, len(str(self.n - 1)))


class _Users:
    """Ids, hashes and buckets of all users (user ``i`` is ``u{i:07d}``)."""

    def __init__(self, prm: _Params) -> None:
        n = prm.n
        self.ids = A.numbered("u", np.arange(n), prm.width)
        self.bucket = (stable_hash_array([f"u{i:0{prm.width}d}" for i in range(n)]) % np.uint64(N_BUCKETS)).astype(
            np.int16
        )
        by_bucket = np.argsort(self.bucket, kind="stable")
        bounds = np.searchsorted(self.bucket[by_bucket], np.arange(N_BUCKETS + 1))
        self.members = [by_bucket[bounds[b] : bounds[b + 1]].astype(np.int32) for b in range(N_BUCKETS)]


def _bucket(prm: _Params, users: np.ndarray, b: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Profiles fields and events of the users of bucket ``b`` (global user indices ``users``).

    Events come back as numpy code arrays grouped by event name (in ``COHORT_EVENTS`` order),
    each group sorted by ``ts`` (epoch seconds, stable). The
    randomness of a bucket depends only on ``(seed, b)`` and the bucket's users, so a shard
    can be generated alone and a cohort's rows do not depend on how it is processed.
    """
    rng = np.random.default_rng([prm.seed, 0x636F686F7274, b])  # "cohort"
    n = len(users)
    epu = prm.events_per_user

    # ------------------------------------------------------------------ users
    activity = rng.gamma(1.0, 1.0, n)
    # sessions fall on whole local days; the ones outside [start, end) are dropped at the end
    rate = _SESSIONS_PER_EVENT * epu * len(prm.local_days) / prm.days
    n_sess = rng.poisson(rate * activity).astype(np.int64)
    active = n_sess > 0
    cart_user = active & (rng.random(n) < min(1.0, _CART_USER_SHARE / (1.0 - 1.0 / (1.0 + rate))))
    extra_carts = max(_CARTS_PER_EVENT * epu / _CART_USER_SHARE - 1.0, 0.0)
    mean_act = 1.0 + 1.0 / (1.0 + rate)  # mean activity of active users (gamma(1) mixed with Poisson)
    n_carts = np.where(cart_user, 1 + rng.poisson(extra_carts * np.minimum(activity / mean_act, 6.0)), 0)
    profile = _profile_fields(rng, n, activity, prm)

    # ------------------------------------------------------------------ sessions
    n_sessions = int(n_sess.sum())
    sess_user = np.repeat(np.arange(n, dtype=np.int32), n_sess)
    day = rng.integers(0, len(prm.local_days), n_sessions)
    sess_start = sample_local_times(rng, day, prm.local_days, prm.tz, SHOPPING_HOURS)
    # each user's sessions in time order (cart adds pick "a session of the user")
    sess_start = sess_start[np.lexsort((sess_start, sess_user))]
    n_browse = rng.geometric(1.0 / _BROWSE_PER_SESSION, n_sessions).astype(np.int64)

    # ------------------------------------------------------------------ browse events
    n_b = int(n_browse.sum())
    b_sess = np.repeat(np.arange(n_sessions, dtype=np.int32), n_browse)
    first = np.zeros(n_b, dtype=bool)
    first[np.cumsum(n_browse) - n_browse] = True
    gap = rng.standard_exponential(n_b, dtype=np.float32)
    gaps = np.where(first, 2 + 4 * gap, 3 + 40 * gap).astype(np.int64)
    b_ts = sess_start[b_sess] + _group_cumsum(gaps, n_browse)
    sess_span = b_ts[np.cumsum(n_browse) - 1] - sess_start  # every session has >= 1 browse event
    kind = _BROWSE_KINDS[np.searchsorted(_BROWSE_CDF, rng.random(n_b, dtype=np.float32), side="right")]
    kind[first] = _PAGE
    b_item = np.full(n_b, -1, dtype=np.int16)
    is_prod = np.flatnonzero(kind == _PRODUCT)
    b_item[is_prod] = _popular_items(rng, len(is_prod))
    # pages: home / category / product / cart / search results
    url = np.full(n_b, -1, dtype=np.int16)
    is_page = np.flatnonzero(kind == _PAGE)
    url[is_page] = _PAGE_URLS[rng.integers(0, len(_PAGE_URLS), len(is_page))]
    is_prod_page = is_page[url[is_page] < 0]  # the product-page slots: pick an item by popularity
    url[is_prod_page] = _URL_PROD0 + _popular_items(rng, len(is_prod_page))
    utm = np.full(n_b, -1, dtype=np.int8)
    utm[first] = np.searchsorted(_UTM_CDF, rng.random(int(first.sum()), dtype=np.float32), side="right")
    ref = np.where(utm >= 0, _UTM_TO_REFERRER[np.maximum(utm, 0)], -1)

    # ------------------------------------------------------------------ carts and purchases
    n_c = int(n_carts.sum())
    c_user = np.repeat(np.arange(n, dtype=np.int32), n_carts)
    sess_offset = np.cumsum(n_sess) - n_sess
    c_sess = sess_offset[c_user] + (rng.random(n_c) * n_sess[c_user]).astype(np.int64)
    c_ts = sess_start[c_sess] + 15 + (rng.random(n_c) * (sess_span[c_sess] + 60)).astype(np.int64)
    pv_ts = c_ts - 2 - rng.integers(0, 9, n_c)
    c_item = _popular_items(rng, n_c)
    qty = rng.choice(3, size=n_c, p=[0.85, 0.12, 0.03]) + 1
    c_amount = _ITEM_PRICE[c_item] * qty
    # a purchase buys the whole cart of a session: outcome, item and amount per cart session
    by_sess = np.lexsort((c_ts, c_sess))
    c_user, c_sess, c_ts, pv_ts = c_user[by_sess], c_sess[by_sess], c_ts[by_sess], pv_ts[by_sess]
    c_item, c_amount = c_item[by_sess], c_amount[by_sess]
    group_start = np.flatnonzero(np.r_[True, c_sess[1:] != c_sess[:-1]]) if n_c else np.zeros(0, dtype=np.int64)
    group_last = np.append(group_start[1:], n_c)[: len(group_start)] - 1
    n_g = len(group_start)
    outcome = rng.random(n_g)
    quick = outcome < _QUICK_SHARE
    later = (outcome >= _QUICK_SHARE) & (outcome < _QUICK_SHARE + _LATER_SHARE)
    delay = np.where(
        quick,
        np.clip(np.rint(rng.lognormal(np.log(150.0), 0.7, n_g)), 20, 899),
        1200 + np.clip(np.rint(rng.lognormal(np.log(5 * 3600.0), 1.2, n_g)), 0, 7 * 86400),
    ).astype(np.int64)
    bought = quick | later
    ch_ts = (c_ts[group_last] + delay)[bought]
    ch_user = c_user[group_last][bought]
    ch_item = c_item[group_last][bought]
    ch_amount = (np.add.reduceat(c_amount, group_start) if n_g else np.zeros(0))[bought]
    back = later[bought]
    back_ts = ch_ts[back] - 30 - rng.integers(0, 270, int(back.sum()))
    back_user = ch_user[back]

    # ------------------------------------------------------------------ assemble, filter, sort
    parts = [
        {"ts": sess_start, "user": sess_user, "event": _LAUNCH},
        {"ts": b_ts, "user": sess_user[b_sess], "event": kind, "url": url, "utm": utm, "ref": ref, "item": b_item},
        {"ts": pv_ts, "user": c_user, "event": _PRODUCT, "item": c_item, "amount": _ITEM_PRICE[c_item]},
        {"ts": c_ts, "user": c_user, "event": _CART, "item": c_item, "amount": c_amount},
        {"ts": ch_ts, "user": ch_user, "event": _CHARGED, "item": ch_item, "amount": ch_amount},
        {"ts": back_ts, "user": back_user, "event": _LAUNCH},
    ]
    ts = np.concatenate([p["ts"] for p in parts])
    keep = np.flatnonzero((ts >= prm.start_s) & (ts < prm.end_s))
    # grouped by event name (in ``COHORT_EVENTS`` order), each group by time (stable): the
    # order ``write_cohort`` stores, one row group per name, so that a reader of a few names
    # skips the other groups
    names = np.concatenate([np.broadcast_to(np.asarray(p["event"], dtype=np.int64), p["ts"].shape) for p in parts])
    order = keep[stable_order(names[keep] * (prm.end_s - prm.start_s) + (ts[keep] - prm.start_s))]
    events = {}
    for name, dtype, fill in _EVENT_FIELDS:
        col = np.concatenate(
            [np.broadcast_to(np.asarray(p.get(name, fill), dtype=dtype), p["ts"].shape) for p in parts]
        )
        events[name] = col[order]
    events["user"] = users[events["user"]]  # global user index
    return profile, events


def _events_table(events: dict[str, np.ndarray], event_ids: pa.Array, users: _Users) -> pa.Table:
    """Arrow events table of code arrays already in output order.

    The low-cardinality, mostly missing property columns are dictionary-encoded (pandas
    ``category``): on 20M rows that is ~1.5 GB less than ``str`` and seconds faster.
    """
    item = events["item"]
    return pa.table(
        {
            "user_id": users.ids.take(pa.array(events["user"])),
            "ts": A.timestamps(np.multiply(events["ts"], A.NS, out=events["ts"])),
            "event": A.decode(events["event"], COHORT_EVENTS),
            "event_id": event_ids,
            "url": A.categorical(events["url"], _URLS),
            "referrer": A.categorical(events["ref"], _REFERRERS),
            "utm_source": A.categorical(events["utm"], UTM_SOURCES),
            "item": A.categorical(item, _ITEM_NAMES),
            "category": A.categorical(np.where(item >= 0, _ITEM_CATEGORY[np.maximum(item, 0)], -1), _CATEGORY_NAMES),
            "amount": A.floats(events["amount"]),
            "bucket": pa.array(users.bucket[events["user"]]),
        }
    )


#: Columns of generated cohorts: ``"table.column" -> description``.
COHORT_COLUMNS = {
    "profiles.user_id": "Unique user id: 'u0000000', 'u0000001', ... (7 digits, more for 10M+ users).",
    "profiles.push_token": "Push token or missing (~70%).",
    "profiles.email": "E-mail address or missing (~85%).",
    "profiles.phone": "Mobile number (+91...) or missing (~60%).",
    "profiles.web_push_token": "Browser push subscription or missing (~30%).",
    "profiles.first_name": "First name.",
    "profiles.city": "Home city in India.",
    "profiles.signup_ts": "Sign-up instant (UTC), 1 day to 2 years before the period.",
    "profiles.lifetime_value": "Past spend, INR (0 for ~35%).",
    "profiles.bucket": "stable_hash(user_id) % 64 (int16): the shard of the user.",
    "events.user_id": "The user (always in profiles).",
    "events.ts": "datetime64[ns, UTC], whole seconds; rows sorted by ts (stable).",
    "events.event": "'App Launched', 'Page Viewed', 'Product Viewed', 'Added To Cart', 'Charged' or 'Searched' (str).",
    "events.event_id": "Unique: 'e' + 2-digit bucket + 8-digit sequence in the bucket (str).",
    "events.url": "Page Viewed: a path on the shop site, '/', '/category/...', '/product/...', '/cart', "
    "'/search?q=...' (category dtype).",
    "events.referrer": "Page Viewed, first page of a session: HTTP referrer, missing for direct traffic (category).",
    "events.utm_source": "Page Viewed, first page of a session: 'google', 'facebook', 'twitter', 'newsletter' or "
    "'direct' (category).",
    "events.item": "Product Viewed, Added To Cart, Charged: the product (category).",
    "events.category": "Product Viewed, Added To Cart, Charged: the product's category (category).",
    "events.amount": "INR: Product Viewed the price, Added To Cart price x quantity, Charged the cart total.",
    "events.bucket": "stable_hash(user_id) % 64 (int16): the user's shard.",
}

#: Dictionary-encoded (pandas ``category``) event columns and their categories, in order.
CATEGORICAL_COLUMNS = {
    "url": _URLS,
    "referrer": _REFERRERS,
    "utm_source": list(UTM_SOURCES),
    "item": _ITEM_NAMES,
    "category": _CATEGORY_NAMES,
}


def _event_ids(bucket: int, count: int) -> np.ndarray:
    """Numbers behind event ids ``e{bucket:02d}{seq:08d}``: unique, and ordered like (bucket, seq)."""
    if count >= 10**8:
        raise ValueError("more than 10**8 events in one bucket; generate fewer events")
    return bucket * 10**8 + np.arange(count, dtype=np.int64)


def _generate(prm: _Params, buckets) -> tuple[_Users, list[dict], list[dict], list[int]]:
    users = _Users(prm)
    chosen = range(N_BUCKETS) if buckets is None else _bucket_list(buckets)
    profiles, events = [], []
    for b in chosen:
        p, e = _bucket(prm, users.members[b], b)
        profiles.append(p)
        events.append(e)
    return users, profiles, events, list(chosen)


def _bucket_list(buckets: int | Sequence[int]) -> list[int]:
    if not np.isscalar(buckets) and isinstance(buckets, Iterable):
        wanted = sorted({int(b) for b in buckets})
    else:  # a scalar: one bucket (an int, numpy's too; np.isscalar's guard widens the type)
        wanted = [int(cast(int, buckets))]
    if any(not 0 <= b < N_BUCKETS for b in wanted):
        raise ValueError(f"buckets are 0..{N_BUCKETS - 1}")
    return wanted


def _profiles_from_fields(users: _Users, chosen: list[int], fields: list[dict], prm: _Params) -> pa.Table:
    idx = np.concatenate([users.members[b] for b in chosen])
    order = np.argsort(idx, kind="stable")
    idx = idx[order]
    f = {k: np.concatenate([d[k] for d in fields])[order] for k in fields[0]}
    user_ids = users.ids.take(pa.array(idx))
    first_name = A.decode(f["first_name"], INDIAN_FIRST_NAMES)
    email = A.concat_strings(pc.utf8_lower(first_name), ".", user_ids, "@mail.example")
    email = pc.if_else(pa.array(f["has_email"]), email, pa.scalar(None, pa.large_string()))
    return pa.table(
        {
            "user_id": user_ids,
            "push_token": A.hex_tokens("fcm:", f["push_token"], valid=f["has_push"]),
            "email": email,
            "phone": A.numbered("+91", f["phone"], 10, valid=f["has_phone"]),
            "web_push_token": A.hex_tokens("wp:", f["web_push_token"], valid=f["has_web_push"]),
            "first_name": first_name,
            "city": A.decode(f["city"], [c for c, _ in INDIAN_CITIES]),
            "signup_ts": A.timestamps(f["signup_s"] * A.NS),
            "lifetime_value": pa.array(f["lifetime_value"]),
            "bucket": pa.array(users.bucket[idx]),
        }
    )


def _profile_fields(rng: np.random.Generator, n: int, activity: np.ndarray, prm: _Params) -> dict[str, np.ndarray]:
    city_p = np.array([w for _, w in INDIAN_CITIES])
    buyer = rng.random(n) < 0.65
    ltv = rng.lognormal(np.log(2500.0), 1.0, n) * (0.5 + np.minimum(activity, 5.0))
    return {
        "has_push": rng.random(n) < 0.70,
        "has_email": rng.random(n) < 0.85,
        "has_phone": rng.random(n) < 0.60,
        "has_web_push": rng.random(n) < 0.30,
        "push_token": rng.integers(0, 2**63, n, dtype=np.uint64),
        "web_push_token": rng.integers(0, 2**63, n, dtype=np.uint64),
        "phone": 9_000_000_000 + rng.integers(0, 1_000_000_000, n),
        "first_name": rng.integers(0, len(INDIAN_FIRST_NAMES), n),
        "city": rng.choice(len(city_p), size=n, p=city_p / city_p.sum()),
        "signup_s": prm.start_s - rng.integers(86_400, 730 * 86_400, n),
        "lifetime_value": np.where(buyer, np.round(ltv, 2), 0.0),
    }


def generate_cohort(
    n_users: int,
    *,
    days: int = 30,
    events_per_user: float = 20,
    seed: int = 0,
    start: str | pd.Timestamp = "2026-10-01",
    tz: str = "Asia/Kolkata",
    buckets: int | Sequence[int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic e-commerce cohort of any size: ``(profiles, events)`` DataFrames.

    Deterministic for given arguments; vectorized, so 1,000,000 users with ~20 events each
    (20M event rows) take seconds. Users are ``u0000000``, ``u0000001``, ... and live in
    India: sessions follow a local diurnal pattern in ``tz``. The period is
    ``[start, start + days)``; a naive ``start`` is read as UTC.

    ``profiles`` (ordered by ``user_id``): ``user_id``, ``push_token``, ``email``, ``phone``,
    ``web_push_token`` (str, or missing when the user cannot be reached on that channel),
    ``first_name``, ``city``, ``signup_ts`` (UTC), ``lifetime_value`` (INR), ``bucket``.

    ``events`` (sorted by ``ts``; rows at one instant by bucket, then in ``COHORT_EVENTS`` order,
    then as generated): ``user_id``, ``ts`` (``datetime64[ns, UTC]``),
    ``event`` (one of ``COHORT_EVENTS``), ``event_id`` (unique), ``url`` (a path on the shop
    site: ``/``, ``/category/...``, ``/product/...``, ``/cart``, ``/search?q=...``),
    ``referrer`` and ``utm_source`` (on a session's first page view), ``item``, ``category``,
    ``amount`` (missing where the event has no such property) and ``bucket``. ``user_id``,
    ``event`` and ``event_id`` are ``str``; the sparse, low-cardinality properties ``url``,
    ``referrer``, ``utm_source``, ``item`` and ``category`` are pandas ``category`` (on 20M
    rows that saves ~1.5 GB over ``str``; they compare, ``isin`` and ``.str`` like strings).

    ``bucket`` is ``stable_hash(user_id) % 64`` (int16). Users are generated bucket by bucket
    with randomness seeded by ``(seed, bucket)``, so ``buckets=[3, 7]`` generates just those
    shards, identical to the same users' rows in the full cohort.

    Proportions: ~40% of users add to cart at least once; of cart adds ~25% are followed by
    "Charged" within 15 min and ~15% later (within a day); ~75% of rows are "Page Viewed",
    "Product Viewed" or "Searched"; ~20% of users have no event (churned).

    >>> profiles, events = generate_cohort(1000, seed=1)
    >>> len(profiles), profiles["user_id"].is_unique, str(events["ts"].dtype)
    (1000, True, 'datetime64[ns, UTC]')
    >>> 15_000 < len(events) < 25_000 and events["ts"].is_monotonic_increasing
    True
    >>> events["event"].value_counts().index[0]
    'Page Viewed'
    >>> shard = generate_cohort(1000, seed=1, buckets=[5])[1]
    >>> shard.reset_index(drop=True).equals(events[events["bucket"] == 5].reset_index(drop=True))
    True
    """
    profiles, events = _cohort_tables(n_users, days, events_per_user, seed, start, tz, buckets)
    frames = A.to_frame(profiles), A.to_frame(events)
    del profiles, events
    A.release_memory()
    return frames


def _cohort_tables(n_users, days, events_per_user, seed, start, tz, buckets) -> tuple[pa.Table, pa.Table]:
    prm = _Params(n_users, days, events_per_user, seed, start, tz)
    users, fields, events, chosen = _generate(prm, buckets)
    profiles = _profiles_from_fields(users, chosen, fields, prm)
    del fields
    A.release_memory()
    # one global stable sort by ts of the buckets' rows in bucket order: ties keep (bucket, event
    # name, seq). Each bucket is a few sorted runs (one per name), and timsort merges runs fast.
    ts = np.concatenate([e.pop("ts") for e in events])
    order = np.argsort(ts, kind="stable")
    cols = {"ts": ts[order]}
    del ts
    scratch = np.empty(len(order), dtype=np.int64)
    pos = 0
    for b, e in zip(chosen, events, strict=True):
        k = len(e["user"])
        scratch[pos : pos + k] = _event_ids(b, k)
        pos += k
    A.release_memory()
    event_ids = A.numbered("e", scratch[order], 10)
    for name, dtype, _ in _EVENT_FIELDS[1:]:
        buf = scratch.view(np.uint8)[: len(order) * np.dtype(dtype).itemsize].view(dtype)
        np.concatenate([e.pop(name) for e in events], out=buf)
        cols[name] = buf[order]
    del events, order, scratch
    A.release_memory()
    return profiles, _events_table(cols, event_ids, users)


# Parquet options of events.parquet: dictionaries only where values repeat, delta encodings
# for the sorted timestamps and the sequential ids, statistics only where filters use them.
UNIQUE_KEY = b"journeylab.unique"  # schema metadata: the columns whose values the writer made distinct
LAYOUT_KEY = b"journeylab.layout"  # schema metadata: how the writer ordered the rows, in row groups
#: ``events.parquet``'s layout (:func:`write_cohort`): a row group per (bucket, event name)
EVENTS_LAYOUT = b"bucket,event"

_EVENTS_PARQUET = {
    "compression": "zstd",
    "use_dictionary": ["user_id", "event", "url", "referrer", "utm_source", "item", "category", "bucket"],
    "column_encoding": {"ts": "DELTA_BINARY_PACKED", "event_id": "DELTA_BYTE_ARRAY"},
    "write_statistics": ["ts", "bucket", "event"],
}


def write_cohort(
    path_dir: str | os.PathLike,
    n_users: int,
    *,
    days: int = 30,
    events_per_user: float = 20,
    seed: int = 0,
    start: str | pd.Timestamp = "2026-10-01",
    tz: str = "Asia/Kolkata",
) -> dict[str, Path]:
    """Generate a cohort (see ``generate_cohort``) into ``profiles.parquet`` and ``events.parquet``.

    Streams bucket by bucket, so memory stays small whatever ``n_users``. ``events.parquet``
    holds the buckets in order (0..63), each as one row group per event name (in
    ``COHORT_EVENTS`` order), rows sorted by ``ts`` within each; the row groups' statistics
    name their bucket and event. So a worker reads its shard cheaply, and a reader of a few
    event names skips the other row groups::

        pd.read_parquet(path / "events.parquet", filters=[("bucket", "==", 7)])

    or with ``read_cohort(path, buckets=[7])``, which also restores the global ``ts`` order
    (the file's order at one instant: bucket, then event name, as ``generate_cohort`` gives it).
    ``profiles.parquet`` is ordered by ``user_id``. Returns the paths written.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     paths = write_cohort(d, 300, seed=3)
    ...     profiles, events = read_cohort(d)
    >>> sorted(paths), len(profiles)
    (['events', 'profiles'], 300)
    >>> events.equals(generate_cohort(300, seed=3)[1])
    True
    """
    prm = _Params(n_users, days, events_per_user, seed, start, tz)
    out = Path(path_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"profiles": out / "profiles.parquet", "events": out / "events.parquet"}
    users = _Users(prm)
    fields = []
    writer = None
    try:
        for b in range(N_BUCKETS):
            p, e = _bucket(prm, users.members[b], b)
            fields.append(p)
            table = _events_table(e, A.numbered("e", _event_ids(b, len(e["ts"])), 10), users)
            if writer is None:
                # event ids are distinct by construction (bucket and row numbered): the file says
                # so, and a reader may skip checking them (``ParquetCohort.unique_event_ids``)
                meta = {**(table.schema.metadata or {}), UNIQUE_KEY: b"event_id", LAYOUT_KEY: EVENTS_LAYOUT}
                schema = table.schema.with_metadata(meta)
                writer = pq.ParquetWriter(paths["events"], schema, **_EVENTS_PARQUET)
            # one row group per event name of the bucket (its rows are grouped by name)
            bounds = np.searchsorted(e["event"], np.arange(len(COHORT_EVENTS) + 1))
            for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
                if hi > lo or len(table) == 0 and lo == 0:  # (an empty bucket: one empty row group)
                    writer.write_table(table.slice(lo, hi - lo), row_group_size=max(int(hi - lo), 1))
    finally:
        if writer is not None:
            writer.close()
    pq.write_table(
        _profiles_from_fields(users, list(range(N_BUCKETS)), fields, prm), paths["profiles"], compression="zstd"
    )
    return paths


def read_cohort(
    path_dir: str | os.PathLike, *, buckets: int | Sequence[int] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a cohort written by ``write_cohort``: ``(profiles, events)``, events sorted by ``ts``.

    ``buckets`` (an int or a list of ints in 0..63) keeps only those shards: the users whose
    ``stable_hash(user_id) % 64`` is in it, and their events. The rows are the ones
    ``generate_cohort`` (with the same ``buckets``) returns, in the same order.
    """
    path = Path(path_dir)
    filters = None if buckets is None else [("bucket", "in", _bucket_list(buckets))]
    profiles = pq.read_table(path / "profiles.parquet", filters=filters)
    table = pq.read_table(path / "events.parquet", filters=filters)  # bucket-major, ts-sorted within
    order = pa.array(np.argsort(table.column("ts").cast(pa.int64()).to_numpy(), kind="stable"))  # merges runs
    names = table.column_names
    columns = dict(zip(names, table.columns, strict=True))
    del table
    for name in names:  # one column at a time: peak memory is the table plus one column
        columns[name] = columns[name].take(order).combine_chunks()
    events = pa.table(columns)
    del columns, order
    profiles, events = A.to_frame(profiles), A.to_frame(events)
    for name, vocab in CATEGORICAL_COLUMNS.items():  # the file keeps only the values used
        if name in events and isinstance(events[name].dtype, pd.CategoricalDtype):
            events[name] = events[name].cat.set_categories(pd.Index(vocab, dtype="str"))
    return profiles, events
