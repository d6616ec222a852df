"""What the history cannot tell: how users respond to messages the journey would send.

A :class:`BehaviourModel` gives, per channel (and optionally per node), the delivery rate,
the view and click probabilities with their latency distributions, and an optional lift
on a goal event after a click. Draws are deterministic per (seed, message, purpose) — see
:mod:`journeylab.engine.draws` — and latencies come from quantile tables with the same
arithmetic in the per-user and the batched simulator: a user's outcome never depends on cohort
order, sharding or which simulator ran.

Defaults (documented in docs/simulator.md) are conservative industry-typical rates:

======== ======== ===== =================== ====== ==================
channel  delivery view  view latency        click  click latency
======== ======== ===== =================== ====== ==================
push     0.92     0.25  exponential, 30 min 0.10   exponential, 3 min
email    0.98     0.22  lognormal, med 2 h  0.12   lognormal, med 5 min
sms      0.97     0.60  exponential, 15 min 0.05   exponential, 5 min
whatsapp 0.95     0.70  exponential, 20 min 0.08   exponential, 5 min
web_push 0.90     0.15  exponential, 20 min 0.08   exponential, 3 min
in_app   1.00     0.85  fixed 10 s          0.12   exponential, 1 min
web_*    1.00     0.80  fixed 5 s           0.08   exponential, 1 min
webhook  1.00     0.00  -                   0.00   -
======== ======== ===== =================== ====== ==================

>>> m = BehaviourModel.default().with_channel("push", view=0.3, view_latency=Latency.exponential(minutes=10))
>>> m.for_node("push", "any").view
0.3
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from journeylab.engine.draws import PURPOSES, mix, mix_array, uniform, uniform_array
from journeylab.errors import JourneyDefinitionError

__all__ = ["Latency", "ChannelBehaviour", "GoalLift", "OptOut", "BehaviourModel", "draw", "draw_array"]


def draw(seed: int, key: int, purpose: str) -> float:
    """A deterministic uniform draw in (0, 1) for a message (its :func:`message key
    <journeylab.engine.draws.message_key>`) and a ``purpose`` (``"viewed"``, ``"click_latency"``...)."""
    return uniform(mix(seed, PURPOSES[purpose], key))


def draw_array(seed: int, keys: np.ndarray, purpose: str) -> np.ndarray:
    """:func:`draw` for many messages at once (the same doubles)."""
    return uniform_array(mix_array(seed, PURPOSES[purpose], keys))


_N = 1 << 16  # quantile tables: 65,536 intervals, linear in each; the same arithmetic in both forms

# Wichura's AS241 rational approximations of the standard normal quantile (the algorithm of
# ``statistics.NormalDist.inv_cdf``), highest degree first: the centre (|p - 0.5| <= 0.425) and
# the tails (r = sqrt(-log(min(p, 1 - p))), r <= 5 and r > 5). In numpy so that a table of
# 65,536 quantiles costs ~2 ms, not ~40 ms of Python calls in every fresh process (and
# scipy.special, which has ``ndtri``, takes ~0.4 s to import).
# fmt: off
_AS241 = (
    (
        [2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
         13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608],
        [5226.495278852854561, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
         5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1.0],
    ),
    (
        [7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177, 1.27045825245236838258,
         3.64784832476320460504, 5.7694972214606914055, 4.6303378461565452959, 1.42343711074968357734],
        [1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966, 0.14810397642748007459,
         0.68976733498510000455, 1.6763848301838038494, 2.05319162663775882187, 1.0],
    ),
    (
        [2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386, 0.026532189526576123093,
         0.29656057182850489123, 1.7848265399172913358, 5.4637849111641143699, 6.6579046435011037772],
        [2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5, 7.868691311456132591e-4,
         0.0148753612908506148525, 0.13692988092273580531, 0.59983220655588793769, 1.0],
    ),
)
# fmt: on


def _normal_quantiles(p: np.ndarray) -> np.ndarray:
    """Standard normal quantiles of ``p`` in (0, 1) (AS241, as ``NormalDist().inv_cdf``).

    >>> from statistics import NormalDist
    >>> p = np.array([1e-300, 0.001, 0.2, 0.5, 0.9, 0.999999])
    >>> bool(np.allclose(_normal_quantiles(p), [NormalDist().inv_cdf(x) for x in p], rtol=1e-15, atol=0))
    True
    """
    q = p - 0.5
    out = np.empty_like(p)
    centre = np.abs(q) <= 0.425
    (cn, cd), near, far = _AS241
    r = 0.180625 - q[centre] ** 2
    out[centre] = q[centre] * np.polyval(cn, r) / np.polyval(cd, r)
    tail = ~centre
    r = np.sqrt(-np.log(np.where(q[tail] <= 0.0, p[tail], 1.0 - p[tail])))
    x = np.where(r <= 5.0, np.polyval(near[0], r - 1.6) / np.polyval(near[1], r - 1.6), 0.0)
    deep = r > 5.0
    x[deep] = np.polyval(far[0], r[deep] - 5.0) / np.polyval(far[1], r[deep] - 5.0)
    out[tail] = np.where(q[tail] < 0.0, -x, x)
    return out


def _interp(table: list[float], u: float) -> float:
    x = u * _N
    i = int(x)
    return table[i] + (x - i) * (table[i + 1] - table[i])


def _interp_array(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    x = u * _N
    i = x.astype(np.int64)
    return table[i] + (x - i) * (table[i + 1] - table[i])


_U_MIN, _U_MAX = uniform(0), uniform((1 << 64) - 1)


@lru_cache(maxsize=64)
def _quantiles(kind: str, sigma: float) -> np.ndarray:
    """Quantiles of the unit exponential, or of exp(sigma * Z) with Z standard normal, at
    k / 65536 (k = 0..65536), the ends replaced by the quantiles of the smallest and largest
    draws (a draw lies strictly inside (0, 1)), for many draws (:func:`_quantile_list`: for one).

    >>> arr = _quantiles("exponential", 1.0)
    >>> len(arr), _quantile_list("exponential", 1.0) == arr.tolist(), round(float(arr[_N // 2]), 12) == round(math.log(2), 12)
    (65537, True, True)
    """
    if kind == "exponential":
        return -np.log1p(-_grid())
    return np.exp(sigma * _standard_normal_grid())


@lru_cache(maxsize=1)
def _grid() -> np.ndarray:
    """The probabilities k / 65536 (k = 0..65536), the ends those of the smallest and largest draws."""
    return np.concatenate(([_U_MIN], np.arange(1, _N, dtype=np.float64) / _N, [_U_MAX]))


@lru_cache(maxsize=1)
def _standard_normal_grid() -> np.ndarray:
    """Standard normal quantiles at :func:`_grid` (one table for every lognormal sigma)."""
    return _normal_quantiles(_grid())


@lru_cache(maxsize=64)
def _quantile_list(kind: str, sigma: float) -> list[float]:
    """:func:`_quantiles` as Python floats (one draw at a time reads a list faster; made only
    for the per-user engine, which draws so)."""
    out: list[float] = _quantiles(kind, sigma).tolist()
    return out


@dataclass(frozen=True)
class Latency:
    """A latency distribution in seconds: exponential (mean), lognormal (median, sigma) or fixed.

    Parameters
    ----------
    kind : {"exponential", "lognormal", "fixed"}, default "exponential"
        The distribution.
    mean : float, default 600.0
        Exponential: the mean, in seconds.
    median : float, default 600.0
        Lognormal: the median, in seconds.
    sigma : float, default 1.0
        Lognormal: the log standard deviation.
    value : float, default 0.0
        Fixed: the latency, in seconds.

    Examples
    --------
    >>> Latency(kind="fixed", value=60).value
    60
    """

    kind: Literal["exponential", "lognormal", "fixed"] = "exponential"
    mean: float = 600.0  # seconds (exponential)
    median: float = 600.0  # seconds (lognormal)
    sigma: float = 1.0  # lognormal shape
    value: float = 0.0  # seconds (fixed)

    @classmethod
    def exponential(cls, *, minutes: float = 0.0, seconds: float = 0.0) -> Latency:
        return cls("exponential", mean=minutes * 60 + seconds)

    @classmethod
    def lognormal(cls, *, median_minutes: float, sigma: float = 1.0) -> Latency:
        return cls("lognormal", median=median_minutes * 60, sigma=sigma)

    @classmethod
    def fixed(cls, *, minutes: float = 0.0, seconds: float = 0.0) -> Latency:
        return cls("fixed", value=minutes * 60 + seconds)

    def sample(self, u: float) -> int:
        """Seconds (at least 1) for the uniform draw ``u``: the distribution's quantile, read
        from a 65,536-interval table with linear interpolation (the same arithmetic as
        :meth:`sample_array`, so a draw gives the same latency in every driver).

        >>> lat = Latency.lognormal(median_minutes=5, sigma=1.2)
        >>> [lat.sample(u) for u in (0.25, 0.5, 0.75)] == lat.sample_array(np.array([0.25, 0.5, 0.75])).tolist()
        True
        >>> Latency.lognormal(median_minutes=5).sample(0.5), Latency.exponential(minutes=10).sample(0.5)
        (300, 416)
        """
        if self.kind == "fixed":
            return max(1, int(round(self.value)))
        s = self.scale * _interp(_quantile_list(self.kind, self.sigma), u)
        return max(1, int(round(s)))

    def sample_array(self, u: np.ndarray) -> np.ndarray:
        """:meth:`sample` of many draws (``int64`` seconds)."""
        if self.kind == "fixed":
            return np.full(len(u), max(1, int(round(self.value))), dtype=np.int64)
        s = self.scale * _interp_array(_quantiles(self.kind, self.sigma), u)
        return np.maximum(1, np.round(s)).astype(np.int64)

    @property
    def scale(self) -> float:
        return self.mean if self.kind == "exponential" else self.median


@dataclass(frozen=True)
class GoalLift:
    """After a click, the user does ``event`` with probability ``probability`` after ``latency``.

    Parameters
    ----------
    event : str
        The event (a goal's, typically).
    probability : float
        Its chance after a click.
    latency : Latency, default Latency()
        The time from the click to the event.
    props : dict, default {}
        The event's properties.

    Examples
    --------
    >>> GoalLift("Charged", 0.3).probability
    0.3
    """

    event: str
    probability: float
    latency: Latency = field(default_factory=lambda: Latency.exponential(minutes=30))
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OptOut:
    """Fatigue: the chance that a delivered message makes the user opt out of its channel.

    ``p = 1 / (1 + exp(-(intercept + per_day * n_day + per_week * n_week)))`` where ``n_day``
    and ``n_week`` count the messages on the channel delivered to the user in the last 24 hours
    and 7 days, across every journey of the run, this message included. An opt-out arrives
    ``latency`` after the message as an ``unsubscribed`` feedback: the account policy's consent
    change for the channel (``push_opt_out`` set), so the engine discards later sends on it for
    ``consent``, as after the channel's ``Unsubscribed`` event.

    Parameters
    ----------
    intercept : float, default -7.0
        The log-odds of opting out with no other message.
    per_day : float, default 0.0
        Added to the log-odds per message in the last 24 hours.
    per_week : float, default 0.0
        Added per message in the last 7 days.
    latency : Latency, default Latency()
        The time from the message to the opt-out.

    Examples
    --------
    >>> f = OptOut(intercept=-6.0, per_day=1.0)
    >>> round(f.probability(1, 1), 4), round(f.probability(3, 3), 4)
    (0.0067, 0.0474)
    """

    intercept: float = -7.0
    per_day: float = 0.0
    per_week: float = 0.0
    latency: Latency = field(default_factory=lambda: Latency.fixed(minutes=1))

    def __post_init__(self) -> None:
        for name in ("intercept", "per_day", "per_week"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
                raise JourneyDefinitionError(f"{name} must be a finite number, got {v!r}", f"$.opt_out.{name}")

    def probability(self, n_day: int, n_week: int) -> float:
        """The opt-out probability after the ``n_day``-th message of the day (``n_week``-th of the week)."""
        x = self.intercept + self.per_day * n_day + self.per_week * n_week
        return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


@dataclass(frozen=True)
class ChannelBehaviour:
    """Response of users to one channel (or one node).

    Parameters
    ----------
    delivery : float, default 1.0
        The chance a sent message is delivered.
    view : float, default 0.0
        The chance a delivered message is viewed.
    view_latency : Latency, default Latency()
        The time from delivery to the view.
    click : float, default 0.0
        The chance a viewed message is clicked.
    click_latency : Latency, default Latency()
        The time from the view to the click.
    lift : GoalLift or None, default None
        What a click leads to; default nothing.
    opt_out : OptOut or None, default None
        Fatigue opt-outs; default none.

    Examples
    --------
    >>> ChannelBehaviour(view=0.4, click=0.5).click
    0.5
    """

    delivery: float = 1.0
    view: float = 0.0
    view_latency: Latency = field(default_factory=lambda: Latency.exponential(minutes=30))
    click: float = 0.0  # probability of a click given a view
    click_latency: Latency = field(default_factory=lambda: Latency.exponential(minutes=3))
    lift: GoalLift | None = None
    opt_out: OptOut | None = None  # fatigue: unsubscribes that grow with the messages received

    def __post_init__(self) -> None:
        for name in ("delivery", "view", "click"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise JourneyDefinitionError(f"{name} must be a probability between 0 and 1, got {v}", f"$.{name}")


_DEFAULTS: dict[str, ChannelBehaviour] = {
    "push": ChannelBehaviour(0.92, 0.25, Latency.exponential(minutes=30), 0.10, Latency.exponential(minutes=3)),
    "email": ChannelBehaviour(
        0.98, 0.22, Latency.lognormal(median_minutes=120, sigma=1.2), 0.12, Latency.lognormal(median_minutes=5)
    ),
    "sms": ChannelBehaviour(0.97, 0.60, Latency.exponential(minutes=15), 0.05, Latency.exponential(minutes=5)),
    "whatsapp": ChannelBehaviour(0.95, 0.70, Latency.exponential(minutes=20), 0.08, Latency.exponential(minutes=5)),
    "web_push": ChannelBehaviour(0.90, 0.15, Latency.exponential(minutes=20), 0.08, Latency.exponential(minutes=3)),
    "in_app": ChannelBehaviour(1.0, 0.85, Latency.fixed(seconds=10), 0.12, Latency.exponential(minutes=1)),
    "web_popup": ChannelBehaviour(1.0, 0.80, Latency.fixed(seconds=5), 0.08, Latency.exponential(minutes=1)),
    "web_exit_intent": ChannelBehaviour(1.0, 0.80, Latency.fixed(seconds=5), 0.08, Latency.exponential(minutes=1)),
    "webhook": ChannelBehaviour(1.0, 0.0, Latency.fixed(), 0.0, Latency.fixed()),
}


@dataclass(frozen=True)
class BehaviourModel:
    """Per-channel behaviour, with per-node overrides (node id -> behaviour).

    Parameters
    ----------
    channels : dict of str to ChannelBehaviour, default {}
        The behaviour per channel (``"push"``, ``"email"``...).
    nodes : dict of str to ChannelBehaviour, default {}
        Overrides per node id.

    Examples
    --------
    >>> m = BehaviourModel.default().with_channel("push", view=0.4, click=0.5, lift=GoalLift("Charged", 0.5))
    >>> m.channels["push"].view
    0.4
    """

    channels: dict[str, ChannelBehaviour] = field(default_factory=lambda: dict(_DEFAULTS))
    nodes: dict[str, ChannelBehaviour] = field(default_factory=dict)

    @classmethod
    def default(cls) -> BehaviourModel:
        return cls()

    @classmethod
    def silent(cls) -> BehaviourModel:
        """Nobody views or clicks anything (for replaying recorded feedback instead)."""
        return cls({ch: ChannelBehaviour(1.0, 0.0) for ch in _DEFAULTS})

    def for_node(self, channel: str, node: str) -> ChannelBehaviour:
        b = self.nodes.get(node)
        if b is not None:
            return b
        return self.channels.get(channel) or _DEFAULTS.get(channel) or ChannelBehaviour()

    def with_channel(self, channel: str, **changes: Any) -> BehaviourModel:
        """A copy with some fields of one channel changed."""
        base = self.channels.get(channel, _DEFAULTS.get(channel, ChannelBehaviour()))
        return replace(self, channels={**self.channels, channel: replace(base, **changes)})

    def with_node(
        self, node: str, behaviour: ChannelBehaviour | None = None, *, channel: str = "push", **changes: Any
    ) -> BehaviourModel:
        """A copy where node ``node`` behaves as given (or as its channel with ``changes``)."""
        b = behaviour or replace(self.for_node(channel, node), **changes)
        return replace(self, nodes={**self.nodes, node: b})

    @classmethod
    def fit(cls, messages: Any, *, min_sends: int = 30) -> BehaviourModel:
        """Fit rates and lognormal latencies per channel from a history of sends.

        ``messages`` has ``channel``, ``ts`` (send), ``delivered`` (bool), ``viewed_ts`` and
        ``clicked_ts`` (NaT when none). Channels with fewer than ``min_sends`` sends keep
        their defaults. With ``user_id`` and ``unsubscribed`` columns the opt-out model is
        fitted too (:meth:`fit_opt_out`): fatigue as the history shows it.
        """
        import numpy as np
        import pandas as pd

        need = {"channel", "ts", "delivered", "viewed_ts", "clicked_ts"}
        missing = need - set(messages.columns)
        if missing:
            raise JourneyDefinitionError(f"messages history lacks columns {sorted(missing)}", "messages")
        out = dict(_DEFAULTS)
        messages = messages.copy()
        for c in ("ts", "viewed_ts", "clicked_ts"):
            messages[c] = pd.to_datetime(messages[c], utc=True)
        for ch, g in messages.groupby("channel"):
            if len(g) < min_sends:
                continue
            delivered = g["delivered"].astype(bool)
            viewed = g["viewed_ts"].notna() & delivered
            clicked = g["clicked_ts"].notna() & viewed
            base = out.get(str(ch), ChannelBehaviour())

            def lognorm(lat: pd.Series, fallback: Latency) -> Latency:
                secs = lat.dt.total_seconds().to_numpy()
                secs = secs[np.isfinite(secs) & (secs > 0)]
                if len(secs) < 5:
                    return fallback
                logs = np.log(secs)
                return Latency("lognormal", median=float(np.exp(np.median(logs))), sigma=float(max(np.std(logs), 0.05)))

            out[str(ch)] = replace(
                base,
                delivery=float(delivered.mean()),
                view=float(viewed.sum() / max(delivered.sum(), 1)),
                view_latency=lognorm(g.loc[viewed, "viewed_ts"] - g.loc[viewed, "ts"], base.view_latency),
                click=float(clicked.sum() / max(viewed.sum(), 1)),
                click_latency=lognorm(g.loc[clicked, "clicked_ts"] - g.loc[clicked, "viewed_ts"], base.click_latency),
            )
        if {"user_id", "unsubscribed"} <= set(messages.columns):
            for ch, oo in cls.fit_opt_out(messages, min_sends=min_sends).items():
                out[ch] = replace(out.get(ch, ChannelBehaviour()), opt_out=oo)
        return cls(out)

    @property
    def fatigue(self) -> bool:
        """Whether some channel or node lets users opt out (fatigue)."""
        return any(b.opt_out is not None for b in [*self.channels.values(), *self.nodes.values()])

    def with_fatigue(self, channels: Any = None, **opt_out: Any) -> BehaviourModel:
        """A copy where ``channels`` carry an :class:`OptOut` with these fields (default: the
        channels a user can opt out of, those with an opt-out property in the default account
        policy's :class:`~journeylab.model.Consent`: push, email, SMS, WhatsApp, web push; an
        opt-out is the consent change of its channel, and in-app messages or webhooks have none).

        >>> m = BehaviourModel.default().with_fatigue(["push"], intercept=-5.0, per_day=0.8)
        >>> m.channels["push"].opt_out.per_day, m.channels["email"].opt_out is None, m.fatigue
        (0.8, True, True)
        >>> sorted(ch for ch, b in BehaviourModel.default().with_fatigue().channels.items() if b.opt_out)
        ['email', 'push', 'sms', 'web_push', 'whatsapp']
        """
        if channels is None:
            from journeylab.model.policy import Consent

            channels = [ch for ch in self.channels if ch in Consent().opt_out]
        names = [channels] if isinstance(channels, str) else list(channels)
        out = self
        for ch in names:
            out = out.with_channel(ch, opt_out=OptOut(**opt_out))
        return out

    @staticmethod
    def fit_opt_out(messages: Any, *, min_sends: int = 30) -> dict[str, OptOut]:
        """Fit an :class:`OptOut` per channel from a history of sends with an ``unsubscribed`` column.

        ``messages`` has ``user_id``, ``channel``, ``ts`` and ``unsubscribed`` (true when that
        message made the user opt out); ``n_day``/``n_week`` are counted per user and channel
        from the history itself, and a logistic regression (statsmodels, the ``experiments``
        extra) gives the three coefficients. Channels with fewer than ``min_sends`` sends, or no
        opt-out at all, are left out.
        """
        import numpy as np
        import pandas as pd

        need = {"user_id", "channel", "ts", "unsubscribed"}
        missing = need - set(messages.columns)
        if missing:
            raise JourneyDefinitionError(f"messages history lacks columns {sorted(missing)}", "messages")
        try:
            import statsmodels.api as sm
        except ImportError:  # pragma: no cover - depends on the environment
            from journeylab.errors import MissingExtraError

            raise MissingExtraError("statsmodels", "experiments") from None
        m = messages[["user_id", "channel", "ts", "unsubscribed"]].copy()
        m["ts"] = pd.to_datetime(m["ts"], utc=True)
        m["unsubscribed"] = m["unsubscribed"].fillna(False).astype(bool)
        m = m.sort_values(["user_id", "channel", "ts"], kind="stable")
        out: dict[str, OptOut] = {}
        for ch, g in m.groupby("channel", sort=True):
            if len(g) < min_sends or not g["unsubscribed"].any() or g["unsubscribed"].all():
                continue
            secs = g["ts"].dt.as_unit("s").astype("int64").to_numpy()  # whatever unit the column came in
            secs = secs - secs.min()
            users = pd.factorize(g["user_id"].astype(str))[0].astype(np.int64)
            # sorted by (user, time): one key per send, users far apart, so a window's start is
            # found by one search over every user; counts in (t - 1 day, t] and (t - 7 days, t]
            key = users * (int(secs.max()) + 8 * 86400) + secs
            pos = np.arange(1, len(key) + 1)
            n_day = pos - np.searchsorted(key, key - 86400, side="right")
            n_week = pos - np.searchsorted(key, key - 7 * 86400, side="right")
            x = sm.add_constant(np.column_stack([n_day, n_week]), has_constant="add")
            fit = sm.Logit(g["unsubscribed"].to_numpy(dtype=float), x).fit(disp=0)
            a, b, c = (float(v) for v in fit.params)
            out[str(ch)] = OptOut(intercept=a, per_day=b, per_week=c)
        return out

    def describe(self) -> Any:
        """A table of the model's parameters (one row per channel and node override)."""
        import pandas as pd

        rows = []
        for scope, items in (("channel", self.channels), ("node", self.nodes)):
            for k, b in items.items():
                rows.append(
                    {
                        "scope": scope,
                        "name": k,
                        "delivery": b.delivery,
                        "view": b.view,
                        "view_latency": _lat(b.view_latency),
                        "click": b.click,
                        "click_latency": _lat(b.click_latency),
                        "lift": f"{b.lift.event} p={b.lift.probability}" if b.lift else "",
                        "opt_out": (
                            f"logit {b.opt_out.intercept:g} + {b.opt_out.per_day:g}/day + {b.opt_out.per_week:g}/week"
                        )
                        if b.opt_out
                        else "",
                    }
                )
        return pd.DataFrame(rows)


def _lat(x: Latency) -> str:
    if x.kind == "exponential":
        return f"exponential mean {x.mean / 60:.1f} min"
    if x.kind == "lognormal":
        return f"lognormal median {x.median / 60:.1f} min, sigma {x.sigma:.2f}"
    return f"fixed {x.value:.0f} s"
