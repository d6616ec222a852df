"""The ``media`` dataset: a video streaming service in the US, October 2026, with message history.

Viewers are on a Free, Trial, Basic, Standard or Premium plan. They open the app and watch
episodes (favourite shows more often); subscriptions renew monthly on ``renewal_ts`` or are
cancelled before; free viewers start 7-day trials that convert or not. A ``messages``
history (September and October) holds every e-mail and push sent, with delivery, view and
click times: weekly picks, renewal and trial-ending reminders, win-back e-mails, new-episode
and continue-watching pushes. Opens and clicks of e-mails in the period are also events
("Email Opened", "Email Clicked"); a clicked push opens the app.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylab.datasets import _arrow as A
from journeylab.datasets._build import EventBuffer, Prop, events_table, pick, separate_sessions
from journeylab.datasets._time import (
    STREAMING_HOURS,
    day_weights,
    local_day_index,
    local_days,
    local_to_utc_seconds,
    not_before,
)
from journeylab.datasets._vocab import SHOWS, STREAM_HOST, US_CITIES, US_FIRST_NAMES, slug

NAME = "media"
SEED = 20261001
N_USERS = 5000
START = pd.Timestamp("2026-10-01", tz="UTC")
END = pd.Timestamp("2026-10-31", tz="UTC")
HISTORY_START = START - pd.Timedelta(days=30)  # messages cover [HISTORY_START, END)
TIMEZONE = "America/New_York"
DAY = 86400

EVENTS = (
    "App Launched",
    "Video Watched",
    "Trial Started",
    "Subscription Paid",
    "Subscription Cancelled",
    "Email Opened",
    "Email Clicked",
)
PLANS = ("Free", "Trial", "Basic", "Standard", "Premium")
_PLAN_SHARE = (0.34, 0.05, 0.21, 0.25, 0.15)
PRICES = {"Basic": 7.99, "Standard": 12.99, "Premium": 17.99}
_PRICE = np.array([0.0, 0.0, 7.99, 12.99, 17.99])
_SESSIONS_MEAN = np.array([4.0, 12.0, 8.0, 11.0, 14.0])  # per 30 days, by plan
_CANCEL_PROB = np.array([0.0, 0.0, 0.07, 0.05, 0.04])  # paid plans, per renewal
REASONS = ("too expensive", "not enough to watch", "switching service", "taking a break", "technical issues")
TITLES = [s[0] for s in SHOWS]
GENRES = sorted({s[1] for s in SHOWS})
_SHOW_GENRE = np.array([GENRES.index(s[1]) for s in SHOWS])
_SHOW_MINUTES = np.array([s[2] for s in SHOWS], dtype=float)
_SHOW_SEASONS = np.array([s[3] for s in SHOWS])
_SHOW_DAY = np.array([s[4] for s in SHOWS])
_SHOW_POP = 1.0 / (1 + np.arange(len(SHOWS))) ** 0.6
EPISODES = [f"S{s}E{e}" for s in range(1, 10) for e in range(1, 11)]
CAMPAIGNS = ("Weekly Picks", "Renewal Reminder", "Trial Ending", "We Miss You", "New Episode", "Continue Watching")
_CAMPAIGN_CHANNEL = ("email", "email", "email", "email", "push", "push")
_CAMPAIGN_LIFT = np.array([1.0, 1.35, 1.4, 0.6, 1.0, 1.0])  # how much more (or less) than usual it is opened
CHANNELS = ("email", "push")
URLS = [f"{STREAM_HOST}/picks", f"{STREAM_HOST}/account"] + [f"{STREAM_HOST}/show/{slug(t)}" for t in TITLES]

PROPS = {
    "title": Prop("str", TITLES),
    "genre": Prop("str", GENRES),
    "episode": Prop("str", EPISODES),
    "minutes": Prop("float"),
    "plan": Prop("str", PLANS),
    "amount": Prop("float"),
    "reason": Prop("str", REASONS),
    "campaign": Prop("str", CAMPAIGNS),
    "url": Prop("str", URLS),
}


def _local(days: pd.DatetimeIndex, day: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """UTC epoch seconds of local clock times (seconds after local midnight) on given local days."""
    return local_to_utc_seconds(days.asi8[day] + np.asarray(seconds, dtype=np.int64) * A.NS, TIMEZONE)


def _favourites(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3) show codes, -1 padded: 0 to 3 favourite shows per user, popular ones more often."""
    k = pick(rng, (0.10, 0.35, 0.35, 0.20), n)
    keys = np.log(_SHOW_POP)[None, :] + rng.gumbel(size=(n, len(SHOWS)))  # Gumbel top-k sampling
    top = np.argsort(-keys, axis=1)[:, :3]
    return np.where(np.arange(3)[None, :] < k[:, None], top, -1)


def _watch(rng, buf: EventBuffer, owner: np.ndarray, t: np.ndarray, show: np.ndarray) -> np.ndarray:
    """One "Video Watched" per row; returns when the viewing ends."""
    episode = pick(rng, np.ones(10), len(show)) + 10 * (
        (rng.random(len(show)) * _SHOW_SEASONS[show]).astype(np.int64)
    )  # fmt: skip
    length = _SHOW_MINUTES[show]
    minutes = np.round(np.minimum(length, length * rng.beta(4.0, 1.2, len(show)) + 0.1), 1)
    buf.emit(owner, t, "Video Watched", title=show, genre=_SHOW_GENRE[show], episode=episode, minutes=minutes)
    return t + np.rint(minutes * 60).astype(np.int64)


def _pick_show(rng: np.random.Generator, fav: np.ndarray, p_fav: float) -> np.ndarray:
    """A favourite show (probability ``p_fav``, when the user has one) or a popular one."""
    n = len(fav)
    k = (fav >= 0).sum(axis=1)
    slot = (rng.random(n) * np.maximum(k, 1)).astype(np.int64)
    own = fav[np.arange(n), slot]
    return np.where((k > 0) & (rng.random(n) < p_fav), own, pick(rng, _SHOW_POP, n))


def build(seed: int = SEED) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Profiles, events and messages tables of the dataset (deterministic for ``seed``)."""
    rng = np.random.default_rng([seed, 3])
    n = N_USERS
    user_ids = [f"media-{i + 1:05d}" for i in range(n)]
    start_s, end_s, hist_s = START.value // A.NS, END.value // A.NS, HISTORY_START.value // A.NS
    days = local_days(HISTORY_START, END, TIMEZONE)  # local days of the history window
    first_day = int(np.searchsorted(days.asi8, START.tz_convert(TIMEZONE).normalize().tz_localize(None).value))

    # ------------------------------------------------------------------ viewers and plans
    plan = pick(rng, _PLAN_SHARE, n)
    is_new = (plan == 0) & (rng.random(n) < 0.18)  # free viewers who sign up during the month
    paid = plan >= 2
    on_trial = plan == 1
    renewal = np.full(n, np.iinfo(np.int64).min)
    renewal[paid] = start_s + rng.integers(3600, 30 * DAY - 3600, int(paid.sum()))
    renewal[on_trial] = start_s + rng.integers(3600, 7 * DAY, int(on_trial.sum()))  # trial end
    trial_plan = np.where(rng.random(n) < 0.7, 3, 4)  # Standard or Premium after a trial
    signup = start_s - np.clip(np.rint(rng.lognormal(np.log(420 * DAY), 0.8, n)), 40 * DAY, 3000 * DAY).astype(np.int64)
    signup[on_trial] = renewal[on_trial] - 7 * DAY - rng.integers(0, 2 * DAY, int(on_trial.sum())) * (
        rng.random(int(on_trial.sum())) < 0.5
    )  # fmt: skip
    signup[is_new] = start_s + rng.integers(0, 28 * DAY, int(is_new.sum()))
    activity = rng.gamma(2.0, 0.5, n)
    fav = _favourites(rng, n)
    has_email = rng.random(n) < 0.92
    has_push = rng.random(n) < 0.55
    email_p = np.clip(rng.beta(2.0, 6.3, n), 0.0, 0.9)  # per-user e-mail open probability, mean ~0.24
    push_p = np.clip(rng.beta(2.0, 4.5, n), 0.0, 0.9)  # per-user push view probability, mean ~0.31
    bounces = rng.random(n) < 0.02  # e-mail address that bounces
    stale_token = rng.random(n) < 0.06  # push token no longer valid

    buf = EventBuffer(EVENTS, PROPS)
    owners_user: list[np.ndarray] = []  # session owner -> user
    owners_start: list[np.ndarray] = []
    owners_dur: list[np.ndarray] = []
    owners_fixed: list[np.ndarray] = []
    n_owner = 0

    def sessions(user: np.ndarray, start: np.ndarray, dur: np.ndarray | int = 60, fixed: bool = False) -> np.ndarray:
        """Register sessions (owners of events); ``fixed`` ones happen at a set time and are never moved."""
        nonlocal n_owner
        ids = n_owner + np.arange(len(user))
        n_owner += len(user)
        owners_fixed.append(np.full(len(user), fixed))
        owners_user.append(np.asarray(user))
        owners_start.append(np.asarray(start, dtype=np.int64))
        owners_dur.append(np.broadcast_to(np.asarray(dur, dtype=np.int64), (len(user),)).copy())
        return ids

    # ------------------------------------------------------------------ subscriptions
    renews = paid.copy()
    cancel = renews & (rng.random(n) < _CANCEL_PROB[plan] * np.where(activity < 0.5, 1.8, 1.0))
    u = np.flatnonzero(renews & ~cancel)
    s = sessions(u, renewal[u] + rng.integers(0, 600, len(u)), fixed=True)
    buf.emit(s, 0, "Subscription Paid", plan=plan[u], amount=_PRICE[plan[u]])
    u = np.flatnonzero(cancel)
    t = np.maximum(start_s + 600, renewal[u] - rng.integers(3600, 20 * DAY, len(u)))
    s = sessions(u, t, 200)
    buf.emit(s, 0, "App Launched")
    buf.emit(
        s,
        40 + rng.integers(0, 120, len(u)),
        "Subscription Cancelled",
        plan=plan[u],
        reason=pick(rng, (4, 3, 2, 2, 1), len(u)),
    )
    # trials running at the start, and trials started during the month
    trial_user = np.flatnonzero(on_trial)
    trial_end = renewal[trial_user]
    trial_to = trial_plan[trial_user]
    starters = np.flatnonzero((plan == 0) & (rng.random(n) < np.where(is_new, 0.35, 0.10)))
    t_start = np.where(
        is_new[starters],
        signup[starters] + rng.integers(120, 3 * 3600, len(starters)),
        start_s + rng.integers(0, 29 * DAY, len(starters)),
    )
    s = sessions(starters, t_start, 200)
    buf.emit(s, 0, "App Launched")
    buf.emit(s, 30 + rng.integers(0, 90, len(starters)), "Trial Started", plan=trial_plan[starters])
    trial_user = np.r_[trial_user, starters]
    trial_end = np.r_[trial_end, t_start + 7 * DAY]
    trial_to = np.r_[trial_to, trial_plan[starters]]
    converts = rng.random(len(trial_user)) < 0.46
    k = np.flatnonzero(converts)
    s = sessions(trial_user[k], trial_end[k] + rng.integers(0, 600, len(k)), fixed=True)
    buf.emit(s, 0, "Subscription Paid", plan=trial_to[k], amount=_PRICE[trial_to[k]])
    k = np.flatnonzero(~converts)
    t = np.maximum(trial_end[k] - rng.integers(3600, 3 * DAY, len(k)), trial_end[k] - 7 * DAY + 3600)
    s = sessions(trial_user[k], t, 200)
    buf.emit(s, 0, "App Launched")
    buf.emit(
        s, 40 + rng.integers(0, 120, len(k)), "Subscription Cancelled", plan=trial_to[k],
        reason=pick(rng, (4, 3, 1, 2, 1), len(k)),
    )  # fmt: skip

    # ------------------------------------------------------------------ viewing sessions
    n_sess = rng.poisson(_SESSIONS_MEAN[plan] * activity)
    su = np.repeat(np.arange(n), n_sess)
    dw = day_weights(days[first_day:], weekend=1.25)
    day = not_before(rng, first_day + pick(rng, dw, len(su)), local_day_index(days, signup, TIMEZONE)[su], len(days))
    st = np.maximum(
        _local(days, day, pick(rng, STREAMING_HOURS, len(su)) * 3600 + rng.integers(0, 3600, len(su))), signup[su] + 300
    )
    n_videos = rng.geometric(0.55, len(su))
    s = sessions(su, st)
    buf.emit(s, 0, "App Launched")
    t = np.full(len(su), 20) + rng.integers(0, 60, len(su))
    alive = np.ones(len(su), dtype=bool)
    for i in range(int(n_videos.max(initial=0))):
        alive &= n_videos > i
        a = np.flatnonzero(alive)
        show = _pick_show(rng, fav[su[a]], 0.55)
        t[a] = _watch(rng, buf, s[a], t[a], show) + rng.integers(5, 90, len(a))
    owners_dur[-1] = t

    # ------------------------------------------------------------------ message history
    m_user, m_ts, m_camp, m_show = [], [], [], []

    def send(users: np.ndarray, ts: np.ndarray, campaign: str, show: np.ndarray | int = -1) -> None:
        ok = (ts >= hist_s) & (ts < end_s) & (ts > signup[users])
        m_user.append(users[ok])
        m_ts.append(np.asarray(ts)[ok])
        m_camp.append(np.full(int(ok.sum()), CAMPAIGNS.index(campaign)))
        m_show.append(np.broadcast_to(np.asarray(show), ts.shape)[ok])

    mailable = np.flatnonzero(has_email)
    pushable = np.flatnonzero(has_push)
    for d in np.flatnonzero(np.asarray(days.day_of_week == 3)):  # Thursdays, 10:00 local
        t0 = _local(days, np.array([d]), np.array([10 * 3600]))[0]
        send(mailable, t0 + rng.integers(0, 1800, len(mailable)), "Weekly Picks")
    sub = np.flatnonzero(paid & has_email)
    for months_back in (0, 1):
        send(sub, renewal[sub] - months_back * 30 * DAY - 3 * DAY, "Renewal Reminder")
    k = np.flatnonzero(has_email[trial_user])
    send(trial_user[k], trial_end[k] - 2 * DAY, "Trial Ending")
    lapsed = np.flatnonzero(has_email & ((plan == 0) | (activity < 0.35)) & (rng.random(n) < 0.6))
    for date in ("2026-09-15", "2026-10-20"):
        on = int(np.searchsorted(days.asi8, pd.Timestamp(date).value))
        send(
            lapsed,
            _local(days, np.full(len(lapsed), on), 11 * 3600 + rng.integers(0, 3600, len(lapsed))),
            "We Miss You",
        )
    for nth in range(len(SHOWS)):  # a new episode every week, 18:00 local on the show's day
        fans = pushable[(fav[pushable] == nth).any(axis=1)]
        for d in np.flatnonzero(np.asarray(days.day_of_week == _SHOW_DAY[nth])):
            send(
                fans,
                _local(days, np.full(len(fans), d), 18 * 3600 + rng.integers(0, 300, len(fans))),
                "New Episode",
                nth,
            )
    for week in range(len(days) // 7 + 1):
        who = pushable[rng.random(len(pushable)) < 0.5 * np.minimum(activity[pushable], 1.5)]
        when = np.minimum(week * 7 + rng.integers(0, 7, len(who)), len(days) - 1)
        send(who, _local(days, when, 19 * 3600 + rng.integers(0, 5400, len(who))), "Continue Watching")

    mu = np.concatenate(m_user)
    mts = np.concatenate(m_ts)
    mc = np.concatenate(m_camp)
    mshow = np.concatenate(m_show)
    is_email = np.array([c == "email" for c in _CAMPAIGN_CHANNEL])[mc]
    nm = len(mu)
    delivered = np.where(is_email, ~bounces[mu] & (rng.random(nm) < 0.985), ~stale_token[mu] & (rng.random(nm) < 0.97))
    p_view = np.where(is_email, email_p[mu], push_p[mu]) * _CAMPAIGN_LIFT[mc]
    viewed = delivered & (rng.random(nm) < np.clip(p_view, 0.0, 0.95))
    view_lat = np.where(
        is_email, rng.lognormal(np.log(75 * 60.0), 1.3, nm), rng.lognormal(np.log(6 * 60.0), 1.2, nm)
    ).clip(5, 4 * DAY)
    view_ts = mts + np.rint(view_lat).astype(np.int64)
    clicked = viewed & (rng.random(nm) < np.where(is_email, 0.17, 0.20))
    click_ts = view_ts + np.rint(rng.lognormal(np.log(np.where(is_email, 90.0, 25.0)), 1.0)).astype(np.int64).clip(
        2, 6 * 3600
    )
    viewed &= view_ts < end_s  # what happens after the period is not known yet
    clicked &= viewed & (click_ts < end_s)

    # e-mail opens and clicks during the period are events; a clicked push or e-mail opens the app
    k = np.flatnonzero(is_email & viewed & (view_ts >= start_s))
    s = sessions(mu[k], view_ts[k], 5, fixed=True)
    buf.emit(s, 0, "Email Opened", campaign=mc[k])
    k = np.flatnonzero(is_email & clicked & (click_ts >= start_s))
    url = np.where(mc[k] == CAMPAIGNS.index("Weekly Picks"), 0, 1)
    s = sessions(mu[k], click_ts[k], 5, fixed=True)
    buf.emit(s, 0, "Email Clicked", campaign=mc[k], url=url)
    k = np.flatnonzero(clicked & (click_ts >= start_s) & (~is_email | (mc == 0)) & (rng.random(nm) < 0.8))
    s = sessions(mu[k], click_ts[k] + 3, fixed=True)
    buf.emit(s, 0, "App Launched")
    show = np.where(mshow[k] >= 0, mshow[k], _pick_show(rng, fav[mu[k]], 0.7))
    owners_dur[-1] = _watch(rng, buf, s, 25 + rng.integers(0, 60, len(k)), show)

    # ------------------------------------------------------------------ place sessions in time
    o_user = np.concatenate(owners_user)
    o_start = separate_sessions(
        o_user, np.concatenate(owners_start), np.concatenate(owners_dur), gap=120, fixed=np.concatenate(owners_fixed)
    )
    ev = buf.arrays()
    ts = o_start[ev["owner"]] + ev["t"]
    keep = (ts >= start_s) & (ts < end_s)
    ev = {key: v[keep] for key, v in ev.items()}
    events = events_table(user_ids, o_user[ev["owner"]], ts[keep], ev, EVENTS, PROPS, "md-")

    # ------------------------------------------------------------------ messages table
    order = np.argsort(mts, kind="stable")
    uid_arr = pa.array(user_ids, pa.large_string())
    messages = pa.table(
        {
            "message_id": A.numbered("msg-", np.arange(nm), 6),
            "user_id": uid_arr.take(pa.array(mu[order])),
            "ts": A.timestamps(mts[order] * A.NS),
            "channel": A.decode(is_email[order].astype(np.int8) * -1 + 1, CHANNELS),
            "campaign": A.decode(mc[order], CAMPAIGNS),
            "delivered": pa.array(delivered[order]),
            "viewed_ts": A.timestamps(view_ts[order] * A.NS, valid=viewed[order]),
            "clicked_ts": A.timestamps(click_ts[order] * A.NS, valid=clicked[order]),
        }
    )

    # ------------------------------------------------------------------ profiles
    email_open = is_email & viewed & (view_ts < start_s)
    last_open = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last_open, mu[email_open], view_ts[email_open])
    older = (last_open < 0) & has_email & (signup < hist_s - DAY) & (rng.random(n) < 2.0 * email_p)
    span = np.minimum(hist_s - signup[older], 400 * DAY)
    last_open[older] = hist_s - 1 - (rng.random(int(older.sum())) * span).astype(np.int64)
    first_name = A.decode(rng.integers(0, len(US_FIRST_NAMES), n), US_FIRST_NAMES)
    email = A.concat_strings(pc.utf8_lower(first_name), ".", pc.utf8_slice_codeunits(uid_arr, 6), "@inbox.example")
    favs = pa.array([[TITLES[c] for c in row if c >= 0] for row in fav], pa.large_list(pa.large_string()))
    plan_now = np.where(is_new, 0, plan)
    renewal_ok = renewal > np.iinfo(np.int64).min
    profiles = pa.table(
        {
            "user_id": uid_arr,
            "push_token": A.hex_tokens("fcm:", rng.integers(0, 2**63, n, dtype=np.uint64), valid=has_push),
            "email": pc.if_else(pa.array(has_email), email, pa.scalar(None, pa.large_string())),
            "phone": A.numbered(
                "+1", 2_000_000_000 + rng.integers(0, 7_999_999_999, n), 10, valid=rng.random(n) < 0.40
            ),
            "web_push_token": A.hex_tokens(
                "wp:", rng.integers(0, 2**63, n, dtype=np.uint64), valid=rng.random(n) < 0.20
            ),
            "first_name": first_name,
            "city": A.decode(pick(rng, [w for _, w in US_CITIES], n), [c for c, _ in US_CITIES]),
            "signup_ts": A.timestamps(signup * A.NS),
            "plan": A.decode(plan_now, PLANS),
            "renewal_ts": A.timestamps(np.where(renewal_ok, renewal, 0) * A.NS, valid=renewal_ok),
            "favourite_shows": favs,
            "last_email_open_ts": A.timestamps(np.where(last_open >= 0, last_open, 0) * A.NS, valid=last_open >= 0),
        }
    )
    return profiles, events, messages


DESCRIPTION = (
    "A video streaming service in the US (USD; account timezone America/New_York), 5,000 viewers over "
    "October 2026: app opens and episodes watched, monthly renewals and cancellations, 7-day trials, "
    "e-mail opens and clicks; plus a message history (September-October) of e-mails and pushes with "
    "delivery, view and click times for fitting a behaviour model."
)

COLUMNS = {
    "profiles.user_id": "Unique user id, 'media-00001' to 'media-05000'.",
    "profiles.push_token": "App push token or missing (~55% have the app with notifications on).",
    "profiles.email": "E-mail address or missing (~92%).",
    "profiles.phone": "Phone number (+1...) or missing (~40%).",
    "profiles.web_push_token": "Browser push subscription or missing (~20%).",
    "profiles.first_name": "First name.",
    "profiles.city": "City (New York, Los Angeles, Chicago, ...).",
    "profiles.signup_ts": "Sign-up instant (UTC); ~6% of viewers sign up during the period (on the Free plan).",
    "profiles.plan": "Plan at the start of the period: 'Free', 'Trial', 'Basic' ($7.99), 'Standard' ($12.99) "
    "or 'Premium' ($17.99).",
    "profiles.renewal_ts": "Datetime property (UTC): next monthly renewal for paid plans, end of the 7-day trial "
    "for 'Trial'; missing for 'Free'. For Date Time segments and delays (e.g. 3 days before renewal).",
    "profiles.favourite_shows": "List of show titles (0 to 3) the viewer follows; new-episode pushes go to fans.",
    "profiles.last_email_open_ts": "Last time the viewer opened an e-mail before the period (UTC), or missing "
    "if never.",
    "events.user_id": "The viewer (always in profiles).",
    "events.ts": "When it happened, datetime64[ns, UTC], whole seconds; rows sorted by ts (stable).",
    "events.event": "'App Launched', 'Video Watched', 'Trial Started', 'Subscription Paid', "
    "'Subscription Cancelled', 'Email Opened' or 'Email Clicked'.",
    "events.event_id": "Unique event id, 'md-0000000', ... in ts order.",
    "events.title": "Video Watched: the show.",
    "events.genre": "Video Watched: the show's genre.",
    "events.episode": "Video Watched: season and episode, e.g. 'S2E5'.",
    "events.minutes": "Video Watched: minutes watched (at most the episode's length).",
    "events.plan": "Trial Started, Subscription Paid, Subscription Cancelled: the plan concerned.",
    "events.amount": "Subscription Paid: amount charged, USD.",
    "events.reason": "Subscription Cancelled: 'too expensive', 'not enough to watch', 'switching service', "
    "'taking a break' or 'technical issues'.",
    "events.campaign": "Email Opened, Email Clicked: the campaign of the e-mail (see messages.campaign).",
    "events.url": "Email Clicked: the link followed (picks page or account page on https://www.streamly.example).",
    "messages.message_id": "Unique message id, 'msg-000000', ... in send order.",
    "messages.user_id": "Recipient (always in profiles).",
    "messages.ts": "Send time, datetime64[ns, UTC]; the history covers 2026-09-01 to 2026-10-31.",
    "messages.channel": "'email' or 'push' (only users reachable on the channel are sent to).",
    "messages.campaign": "'Weekly Picks' (e-mail, Thursdays 10:00 local), 'Renewal Reminder' (3 days before "
    "renewal), 'Trial Ending' (2 days before), 'We Miss You' (win-back), 'New Episode' (push to fans, 18:00 on "
    "release day), 'Continue Watching' (push, evenings).",
    "messages.delivered": "Delivered (bool): e-mail ~97% (a few addresses always bounce), push ~91% (stale tokens).",
    "messages.viewed_ts": "When it was viewed (e-mail opened, push viewed), or NaT. E-mail ~24% of sends, "
    "push ~30%; latency log-normal (e-mail median ~75 min, push ~6 min). Views after the period are not known: NaT.",
    "messages.clicked_ts": "When it was clicked, or NaT: ~4% of e-mails sent, ~6% of pushes; always after viewed_ts.",
}
