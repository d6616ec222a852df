"""What the history cannot tell: how users respond to messages the journey would send.

A :class:`BehaviourModel` gives, per channel (and optionally per node), the delivery rate,
the view and click probabilities with their latency distributions, and an optional lift
on a goal event after a click. Draws are deterministic per (seed, message id, purpose):
a user's outcome never depends on cohort order or on how users are sharded.

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

import hashlib
import math
from dataclasses import dataclass, field, replace
from statistics import NormalDist
from typing import Any, Literal

from journeylab.errors import JourneyDefinitionError

__all__ = ["Latency", "ChannelBehaviour", "GoalLift", "BehaviourModel", "draw"]

_ND = NormalDist()


def draw(seed: int, key: str, purpose: str) -> float:
    """A deterministic uniform draw in (0, 1) for ``key`` (a message id) and ``purpose``."""
    h = hashlib.blake2b(f"{seed}|{key}|{purpose}".encode(), digest_size=8).digest()
    return (int.from_bytes(h, "big") + 0.5) / 2**64


@dataclass(frozen=True)
class Latency:
    """A latency distribution in seconds: exponential (mean), lognormal (median, sigma) or fixed."""

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
        """Seconds (at least 1) for the uniform draw ``u``."""
        if self.kind == "exponential":
            s = -self.mean * math.log(1.0 - u)
        elif self.kind == "lognormal":
            s = self.median * math.exp(self.sigma * _ND.inv_cdf(u))
        else:
            s = self.value
        return max(1, int(round(s)))


@dataclass(frozen=True)
class GoalLift:
    """After a click, the user does ``event`` with probability ``probability`` after ``latency``."""

    event: str
    probability: float
    latency: Latency = field(default_factory=lambda: Latency.exponential(minutes=30))
    props: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChannelBehaviour:
    """Response of users to one channel (or one node)."""

    delivery: float = 1.0
    view: float = 0.0
    view_latency: Latency = field(default_factory=lambda: Latency.exponential(minutes=30))
    click: float = 0.0  # probability of a click given a view
    click_latency: Latency = field(default_factory=lambda: Latency.exponential(minutes=3))
    lift: GoalLift | None = None

    def __post_init__(self) -> None:
        for name in ("delivery", "view", "click"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise JourneyDefinitionError(f"{name} must be a probability between 0 and 1, got {v}", f"$.{name}")


_DEFAULTS: dict[str, ChannelBehaviour] = {
    "push": ChannelBehaviour(0.92, 0.25, Latency.exponential(minutes=30), 0.10, Latency.exponential(minutes=3)),
    "email": ChannelBehaviour(0.98, 0.22, Latency.lognormal(median_minutes=120, sigma=1.2), 0.12, Latency.lognormal(median_minutes=5)),
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
    """Per-channel behaviour, with per-node overrides (node id -> behaviour)."""

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

    def with_node(self, node: str, behaviour: ChannelBehaviour | None = None, *, channel: str = "push", **changes: Any) -> BehaviourModel:
        """A copy where node ``node`` behaves as given (or as its channel with ``changes``)."""
        b = behaviour or replace(self.for_node(channel, node), **changes)
        return replace(self, nodes={**self.nodes, node: b})

    @classmethod
    def fit(cls, messages: Any, *, min_sends: int = 30) -> BehaviourModel:
        """Fit rates and lognormal latencies per channel from a history of sends.

        ``messages`` has ``channel``, ``ts`` (send), ``delivered`` (bool), ``viewed_ts`` and
        ``clicked_ts`` (NaT when none). Channels with fewer than ``min_sends`` sends keep
        their defaults.
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
        return cls(out)

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
                    }
                )
        return pd.DataFrame(rows)


def _lat(x: Latency) -> str:
    if x.kind == "exponential":
        return f"exponential mean {x.mean / 60:.1f} min"
    if x.kind == "lognormal":
        return f"lognormal median {x.median / 60:.1f} min, sigma {x.sigma:.2f}"
    return f"fixed {x.value:.0f} s"
