"""The ``ecommerce`` dataset: a shopping app and web shop in India, October 2026.

Users belong to hidden segments (heavy, regular, light, churned, new) that set how often
they come. A session is an "App Launched" (app sessions) and a walk over the shop's pages
(a Markov chain: home, category, product, search, cart, checkout) whose first page view
carries the traffic source. Products are viewed, added to cart and sometimes bought in the
session ("Charged" a few minutes after the add); abandoned carts are sometimes bought
hours later in a return session landing on the cart. A festive sale (9-12 October) brings
more sessions and newsletter traffic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylab.datasets import _arrow as A
from journeylab.datasets._build import EventBuffer, Prop, events_table, pick, pick_rows, separate_sessions
from journeylab.datasets._time import (
    SHOPPING_HOURS,
    day_weights,
    local_day_index,
    local_days,
    local_to_utc_seconds,
    not_before,
)
from journeylab.datasets._vocab import (
    INDIAN_CITIES,
    INDIAN_FIRST_NAMES,
    SHOP_CATALOGUE,
    SHOP_HOST,
    SHOP_SEARCHES,
    TRAFFIC_REFERRERS,
    UTM_SOURCES,
    slug,
)

NAME = "ecommerce"
SEED = 20261001
N_USERS = 5000
START = pd.Timestamp("2026-10-01", tz="UTC")
END = pd.Timestamp("2026-10-31", tz="UTC")
TIMEZONE = "Asia/Kolkata"
SALE_DAYS = ("2026-10-09", "2026-10-10", "2026-10-11", "2026-10-12")

EVENTS = ("App Launched", "Page Viewed", "Product Viewed", "Searched", "Added To Cart", "Charged")
SEGMENTS = ("heavy", "regular", "light", "churned", "new")
_SEGMENT_SHARE = (0.06, 0.24, 0.42, 0.20, 0.08)
_SESSIONS_MEAN = np.array([22.0, 8.0, 2.5, 0.35, 6.0])  # per 30 days
_APP_SHARE = np.array([0.85, 0.78, 0.65, 0.55, 0.75])  # has the app (push token)
_ADD_PROB = np.array([0.22, 0.15, 0.10, 0.08, 0.14])  # product page -> add to cart
_CHECKOUT_PROB = np.array([0.30, 0.25, 0.21, 0.18, 0.23])  # cart page -> checkout
_RETURN_PROB = np.array([0.16, 0.14, 0.10, 0.05, 0.12])  # abandoned cart bought in a return session
_PAST_ORDERS = np.array([15.0, 5.0, 1.5, 2.0, 0.0])

# ----------------------------------------------------------------------------- catalogue
_CAT_SLUGS = list(SHOP_CATALOGUE)
CATEGORIES = [SHOP_CATALOGUE[c][0] for c in _CAT_SLUGS]
ITEMS = [name for c in _CAT_SLUGS for name, _ in SHOP_CATALOGUE[c][1]]
_ITEM_CAT = np.array([i for i, c in enumerate(_CAT_SLUGS) for _ in SHOP_CATALOGUE[c][1]])
_ITEM_PRICE = np.array([price for c in _CAT_SLUGS for _, price in SHOP_CATALOGUE[c][1]])
_ITEM_POP = 1.0 / (1 + np.arange(len(ITEMS)) % 10) ** 0.7  # best sellers lead each category
_CAT_POP = np.array([0.26, 0.24, 0.18, 0.11, 0.06, 0.08, 0.07])
QUERIES = [q for q, _ in SHOP_SEARCHES]
_QUERY_CAT = np.array([_CAT_SLUGS.index(c) for _, c in SHOP_SEARCHES])

URLS = (
    [f"{SHOP_HOST}/", f"{SHOP_HOST}/cart", f"{SHOP_HOST}/checkout"]
    + [f"{SHOP_HOST}/category/{c}" for c in _CAT_SLUGS]
    + [f"{SHOP_HOST}/product/{slug(n)}" for n in ITEMS]
    + [f"{SHOP_HOST}/search?q={q.replace(' ', '+')}" for q in QUERIES]
)
_U_HOME, _U_CART, _U_CHECKOUT, _U_CAT, _U_PROD = 0, 1, 2, 3, 3 + len(_CAT_SLUGS)
_U_SEARCH = _U_PROD + len(ITEMS)
REFERRERS = [r for r in TRAFFIC_REFERRERS.values() if r]
_UTM_REF = np.array([REFERRERS.index(r) if r else -1 for r in TRAFFIC_REFERRERS.values()])
_UTM = {u: i for i, u in enumerate(UTM_SOURCES)}  # google, facebook, twitter, newsletter, direct

PROPS = {
    "url": Prop("str", URLS),
    "referrer": Prop("str", REFERRERS),
    "utm_source": Prop("str", UTM_SOURCES),
    "query": Prop("str", QUERIES),
    "item": Prop("str", ITEMS),
    "category": Prop("str", CATEGORIES),
    "quantity": Prop("int"),
    "amount": Prop("float"),
}

# ----------------------------------------------------------------------------- page walk
HOME, CAT, PROD, SEARCH, CART, CHECKOUT, EXIT = range(7)
# landing page by traffic source (rows: google, facebook, twitter, newsletter, direct; cols HOME CAT PROD SEARCH)
_LANDING = np.array(
    [
        [0.25, 0.25, 0.40, 0.10],
        [0.15, 0.25, 0.60, 0.00],
        [0.15, 0.25, 0.60, 0.00],
        [0.20, 0.50, 0.30, 0.00],
        [0.65, 0.10, 0.05, 0.20],
    ]
)
# next state (cols HOME CAT PROD SEARCH CART CHECKOUT EXIT); PROD->CART and CART->CHECKOUT are per user
_NEXT = np.array(
    [
        [0.00, 0.35, 0.18, 0.22, 0.00, 0.00, 0.25],  # HOME
        [0.05, 0.08, 0.55, 0.10, 0.00, 0.00, 0.22],  # CAT
        [0.00, 0.05, 0.58, 0.12, 0.00, 0.00, 0.25],  # SEARCH -> (row used for SEARCH)
    ]
)
_MAX_STEPS = 40


def _item_in(rng: np.random.Generator, cats: np.ndarray) -> np.ndarray:
    """A popular item of each given category (or of any category where cats < 0)."""
    out = np.empty(len(cats), dtype=np.int64)
    for c in range(-1, len(_CAT_SLUGS)):
        rows = np.flatnonzero(cats == c)
        if len(rows) == 0:
            continue
        pool = np.arange(len(ITEMS)) if c < 0 else np.flatnonzero(c == _ITEM_CAT)
        w = _ITEM_POP[pool] * (_CAT_POP[_ITEM_CAT[pool]] if c < 0 else 1.0)
        out[rows] = pool[rng.choice(len(pool), size=len(rows), p=w / w.sum())]
    return out


def _dwell(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(np.rint(rng.lognormal(np.log(40.0), 0.9, n)), 3, 600).astype(np.int64)


def _walk(rng, buf: EventBuffer, sess_seg: np.ndarray, sess_app: np.ndarray, sess_utm: np.ndarray, add_p, co_p):
    """Run every session's page walk at once; returns duration, cart value/item/qty at exit and exit time."""
    n = len(sess_seg)
    idx = np.arange(n)
    t = np.zeros(n, dtype=np.int64)
    # app sessions open with App Launched; the landing page view follows
    buf.emit(idx[sess_app], 0, "App Launched")
    t[sess_app] = 2 + rng.integers(0, 4, int(sess_app.sum()))
    state = pick_rows(rng, _LANDING[sess_utm])
    cat = np.where(state == CAT, pick(rng, _CAT_POP, n), -1)
    item = np.full(n, -1)
    query = np.full(n, -1)
    cart_value = np.zeros(n)
    cart_qty = np.zeros(n, dtype=np.int64)
    cart_item = np.full(n, -1)
    landing = np.ones(n, dtype=bool)
    alive = np.ones(n, dtype=bool)
    for _ in range(_MAX_STEPS):
        a = np.flatnonzero(alive)
        if len(a) == 0:
            break
        st = state[a]
        first = landing[a]
        utm = np.where(first, sess_utm[a], -1)
        ref = np.where(utm >= 0, _UTM_REF[np.maximum(utm, 0)], -1)
        # ------------------------------------------------------------- emit the page
        for s, code in ((HOME, _U_HOME), (CAT, None), (CHECKOUT, _U_CHECKOUT)):
            m = st == s
            if m.any():
                url = _U_CAT + cat[a[m]] if code is None else code
                buf.emit(a[m], t[a[m]], "Page Viewed", url=url, referrer=ref[m], utm_source=utm[m])
        m = st == SEARCH
        if m.any():
            q = rng.integers(0, len(QUERIES), int(m.sum()))
            query[a[m]] = q
            cat[a[m]] = _QUERY_CAT[q]
            buf.emit(a[m], t[a[m]], "Searched", query=q)
            buf.emit(a[m], t[a[m]] + 1, "Page Viewed", url=_U_SEARCH + q, referrer=ref[m], utm_source=utm[m])
        m = st == PROD
        if m.any():
            rows = a[m]
            it = _item_in(rng, cat[rows])
            item[rows] = it
            cat[rows] = _ITEM_CAT[it]
            buf.emit(rows, t[rows], "Page Viewed", url=_U_PROD + it, referrer=ref[m], utm_source=utm[m])
            buf.emit(rows, t[rows] + 1, "Product Viewed", item=it, category=_ITEM_CAT[it], amount=_ITEM_PRICE[it])
        m = st == CART  # arrived from a product page: the add, then the cart page
        if m.any():
            rows = a[m]
            it = item[rows]
            qty = pick(rng, [0.86, 0.11, 0.03], len(rows)) + 1
            cart_value[rows] += _ITEM_PRICE[it] * qty
            cart_qty[rows] += qty
            cart_item[rows] = it
            buf.emit(
                rows, t[rows], "Added To Cart", item=it, category=_ITEM_CAT[it], quantity=qty,
                amount=_ITEM_PRICE[it] * qty,
            )  # fmt: skip
            buf.emit(rows, t[rows] + 2, "Page Viewed", url=_U_CART)
        landing[a] = False
        # ------------------------------------------------------------- move on
        nxt = np.full(len(a), EXIT)
        for s, row in ((HOME, 0), (CAT, 1), (SEARCH, 2)):
            m = st == s
            if m.any():
                nxt[m] = pick_rows(rng, np.broadcast_to(_NEXT[row], (int(m.sum()), 7)))
        m = st == PROD
        if m.any():
            p_add = add_p[a[m]]
            probs = np.column_stack(
                [
                    np.full(len(p_add), 0.03),
                    np.full(len(p_add), 0.12),
                    np.full(len(p_add), 0.25),
                    np.full(len(p_add), 0.08),
                    p_add,
                    np.zeros(len(p_add)),
                    np.maximum(0.52 - p_add, 0.05),
                ]
            )
            nxt[m] = pick_rows(rng, probs)
        m = st == CART
        if m.any():
            p_co = co_p[a[m]]
            probs = np.column_stack(
                [np.zeros_like(p_co), np.zeros_like(p_co), np.full(len(p_co), 0.25), np.zeros_like(p_co)]
                + [np.zeros_like(p_co), p_co, np.maximum(0.75 - p_co, 0.05)]
            )
            nxt[m] = pick_rows(rng, probs)
        m = st == CHECKOUT  # pay, then leave
        if m.any():
            rows = a[m]
            paid = rows[rng.random(len(rows)) < 0.85]
            t_pay = t[paid] + np.clip(np.rint(rng.lognormal(np.log(90.0), 0.5, len(paid))), 20, 600).astype(np.int64)
            buf.emit(
                paid, t_pay, "Charged", item=cart_item[paid], category=_ITEM_CAT[cart_item[paid]],
                quantity=cart_qty[paid], amount=cart_value[paid],
            )  # fmt: skip
            t[paid] = t_pay
            cart_value[paid] = 0.0
            cart_qty[paid] = 0
            cart_item[paid] = -1
        # a category picked when moving to a category page
        to_cat = nxt == CAT
        cat[a[to_cat]] = pick(rng, _CAT_POP, int(to_cat.sum()))
        to_other = (nxt == HOME) | (nxt == SEARCH)
        cat[a[to_other]] = -1
        state[a] = nxt
        t[a] += np.where(nxt == EXIT, 0, _dwell(rng, len(a)))
        alive[a[nxt == EXIT]] = False
    return t, cart_value, cart_qty, cart_item


def build(seed: int = SEED) -> tuple[pa.Table, pa.Table, None]:
    """Profiles and events tables of the dataset (deterministic for ``seed``)."""
    rng = np.random.default_rng([seed, 1])
    n = N_USERS
    user_ids = [f"ecom-{i + 1:05d}" for i in range(n)]
    start_s, end_s = START.value // A.NS, END.value // A.NS
    days = local_days(START, END, TIMEZONE)

    # ------------------------------------------------------------------ users
    seg = pick(rng, _SEGMENT_SHARE, n)
    has_app = rng.random(n) < _APP_SHARE[seg]
    has_email = rng.random(n) < 0.85
    has_phone = rng.random(n) < 0.60
    has_web_push = rng.random(n) < np.where(has_app, 0.24, 0.45)
    is_new = seg == SEGMENTS.index("new")
    signup = np.where(
        is_new,
        start_s + rng.integers(0, 27 * 86400, n),
        start_s - np.rint(rng.lognormal(np.log(300 * 86400.0), 0.8, n)).astype(np.int64).clip(3 * 86400, 1500 * 86400),
    )
    orders = rng.poisson(_PAST_ORDERS[seg])
    ltv = np.round(orders * rng.lognormal(np.log(1400.0), 0.8, n), 2)
    add_p = np.clip(_ADD_PROB[seg] * rng.lognormal(0, 0.35, n), 0.01, 0.45)
    co_p = np.clip(_CHECKOUT_PROB[seg] * rng.lognormal(0, 0.25, n), 0.05, 0.70)

    # ------------------------------------------------------------------ sessions
    activity = rng.gamma(2.0, 0.5, n)
    n_sess = rng.poisson(_SESSIONS_MEAN[seg] * activity)
    s_user = np.repeat(np.arange(n), n_sess)
    dw = day_weights(days, weekend=1.15, boosts=dict.fromkeys(SALE_DAYS, 1.8))
    s_day = pick(rng, dw, len(s_user))
    churned = seg[s_user] == SEGMENTS.index("churned")
    s_day = np.where(churned, rng.integers(0, 10, len(s_user)), s_day)  # churned users fade out early
    s_day = not_before(rng, s_day, local_day_index(days, signup, TIMEZONE)[s_user], len(days))
    hours = pick(rng, SHOPPING_HOURS, len(s_user))
    naive = days.asi8[s_day] + (hours * 3600 + rng.integers(0, 3600, len(s_user))) * A.NS
    s_start = local_to_utc_seconds(naive, TIMEZONE)
    s_start = np.maximum(s_start, signup[s_user] + 60)  # nobody shops before signing up
    s_app = has_app[s_user] & (rng.random(len(s_user)) < 0.85)
    sale = np.isin(np.asarray(days.strftime("%Y-%m-%d"))[s_day], SALE_DAYS)
    web_w = np.array([0.38, 0.16, 0.10, 0.14, 0.22])
    app_w = np.array([0.00, 0.08, 0.00, 0.12, 0.80])
    w = np.where(s_app[:, None], app_w, web_w) * np.where(sale[:, None], [1, 1.3, 1, 2.2, 1], 1.0)
    s_utm = pick_rows(rng, w)

    buf = EventBuffer(EVENTS, PROPS)
    dur, cart_value, cart_qty, cart_item = _walk(rng, buf, seg[s_user], s_app, s_utm, add_p[s_user], co_p[s_user])

    # ------------------------------------------------------------------ abandoned carts bought later
    s_start = separate_sessions(s_user, s_start, dur, gap=31 * 60)
    ab = np.flatnonzero((cart_qty > 0) & (rng.random(len(s_user)) < _RETURN_PROB[seg[s_user]]))
    r_sess = len(s_user) + np.arange(len(ab))
    r_user = s_user[ab]
    r_start = s_start[ab] + dur[ab] + np.clip(np.rint(rng.lognormal(np.log(4 * 3600.0), 1.0, len(ab))), 2100, 5 * 86400)
    r_app = has_app[r_user] & (rng.random(len(ab)) < 0.85)
    r_utm = np.where(rng.random(len(ab)) < 0.4, _UTM["newsletter"], _UTM["direct"])  # cart reminder e-mail
    t = np.zeros(len(ab), dtype=np.int64)
    buf.emit(r_sess[r_app], 0, "App Launched")
    t[r_app] = 3
    ref = np.where(r_utm == _UTM["newsletter"], _UTM_REF[_UTM["newsletter"]], -1)
    buf.emit(r_sess, t, "Page Viewed", url=_U_CART, referrer=ref, utm_source=r_utm)
    t = t + _dwell(rng, len(ab))
    buf.emit(r_sess, t, "Page Viewed", url=_U_CHECKOUT)
    t = t + np.clip(np.rint(rng.lognormal(np.log(90.0), 0.5, len(ab))), 20, 600).astype(np.int64)
    it = cart_item[ab]
    buf.emit(
        r_sess, t, "Charged", item=it, category=_ITEM_CAT[it], quantity=cart_qty[ab], amount=cart_value[ab]
    )  # fmt: skip

    # ------------------------------------------------------------------ place sessions in time
    all_user = np.r_[s_user, r_user]
    all_start = np.r_[s_start, r_start]
    all_dur = np.r_[dur, t]
    all_start = separate_sessions(all_user, all_start, all_dur, gap=31 * 60)  # return sessions only move later
    ev = buf.arrays()
    ts = all_start[ev["owner"]] + ev["t"]
    keep = (ts >= start_s) & (ts < end_s)
    ev = {k: v[keep] for k, v in ev.items()}
    events = events_table(user_ids, all_user[ev["owner"]], ts[keep], ev, EVENTS, PROPS, "ec-")

    # ------------------------------------------------------------------ profiles
    first_name = A.decode(rng.integers(0, len(INDIAN_FIRST_NAMES), n), INDIAN_FIRST_NAMES)
    uid = pa.array(user_ids, pa.large_string())
    email = A.concat_strings(pc.utf8_lower(first_name), ".", pc.utf8_slice_codeunits(uid, 5), "@mail.example")
    city_names = [c for c, _ in INDIAN_CITIES]
    platform = np.where(has_app, np.where(rng.random(n) < 0.82, 0, 1), 2)
    profiles = pa.table(
        {
            "user_id": uid,
            "push_token": A.hex_tokens("fcm:", rng.integers(0, 2**63, n, dtype=np.uint64), valid=has_app),
            "email": pc.if_else(pa.array(has_email), email, pa.scalar(None, pa.large_string())),
            "phone": A.numbered("+91", 9_000_000_000 + rng.integers(0, 999_999_999, n), 10, valid=has_phone),
            "web_push_token": A.hex_tokens("wp:", rng.integers(0, 2**63, n, dtype=np.uint64), valid=has_web_push),
            "first_name": first_name,
            "city": A.decode(pick(rng, [w for _, w in INDIAN_CITIES], n), city_names),
            "signup_ts": A.timestamps(signup * A.NS),
            "platform": A.decode(platform, ["Android", "iOS", "Web"]),
            "orders_count": pa.array(orders, pa.int64()),
            "lifetime_value": pa.array(ltv, pa.float64()),
        }
    )
    return profiles, events, None


DESCRIPTION = (
    "A shopping app and web shop in India (INR; account timezone Asia/Kolkata), 5,000 users over "
    "October 2026: sessions of page views with URLs, referrers and UTM sources, product views, "
    "searches, cart adds, purchases (in the session, hours later, or never), a festive sale on "
    "9-12 October, heavy, light, churned and new users."
)

COLUMNS = {
    "profiles.user_id": "Unique user id, 'ecom-00001' to 'ecom-05000'.",
    "profiles.push_token": "App push token (FCM-like) or missing: ~70% of users have the app.",
    "profiles.email": "E-mail address or missing (~85% have one).",
    "profiles.phone": "Mobile number (+91...) or missing (~60%); reachability for SMS and WhatsApp.",
    "profiles.web_push_token": "Browser push subscription or missing (~30%, more often web-only users).",
    "profiles.first_name": "First name, for personalised messages.",
    "profiles.city": "Home city (Mumbai, Delhi, Bengaluru, ...).",
    "profiles.signup_ts": "Sign-up instant (UTC); ~8% of users sign up during the period and are active only after.",
    "profiles.platform": "'Android', 'iOS' (app users) or 'Web'.",
    "profiles.orders_count": "Orders placed before the period.",
    "profiles.lifetime_value": "Sum of orders before the period, INR (0 for users who never bought).",
    "events.user_id": "The user (always in profiles).",
    "events.ts": "When it happened, datetime64[ns, UTC], whole seconds; rows sorted by ts (stable).",
    "events.event": "'App Launched', 'Page Viewed', 'Product Viewed', 'Searched', 'Added To Cart' or 'Charged'.",
    "events.event_id": "Unique event id, 'ec-0000000', ... in ts order.",
    "events.url": "Page Viewed: full URL on https://www.kartly.example (/, /category/<slug>, /product/<slug>, "
    "/search?q=..., /cart, /checkout).",
    "events.referrer": "Page Viewed, first page of a session: HTTP referrer (google, facebook, t.co, mail); "
    "missing for direct traffic and later pages.",
    "events.utm_source": "Page Viewed, first page of a session: 'google', 'facebook', 'twitter', 'newsletter' or "
    "'direct'; missing on later pages. Sessions are 30+ minutes apart.",
    "events.query": "Searched: the search terms.",
    "events.item": "Product Viewed, Added To Cart: the product; Charged: the last product added to the cart.",
    "events.category": "Product Viewed, Added To Cart, Charged: the product's category.",
    "events.quantity": "Added To Cart: units added; Charged: units in the order (Int64).",
    "events.amount": "INR: Product Viewed the price, Added To Cart price x quantity, Charged the order total.",
}
