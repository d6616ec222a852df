"""Account policies: the rules every journey of an account (a workspace, a run) shares.

An :class:`AccountPolicy` holds

* **frequency caps** (:class:`Cap`): at most ``max`` messages per user per local day or week, on
  one channel or on all, counting the sends of *every* journey; when a send would go over a
  cap it is discarded with the reason ``cap``. Journeys go by their ``priority`` (a journey
  setting, highest first) at one instant, so the higher-priority journey wins a cap's last slot;
* **consent** (:class:`Consent`): per-channel subscription state read from profile properties
  (an opt-out flag per channel, a global ``unsubscribed`` flag, a ``push_enabled`` flag) and
  checked at every send attempt; events such as ``Unsubscribed`` change it at once;
* the **account timezone** and the profile property holding each **user's timezone**: caps count
  per the user's local day (or the account's when the user has no valid timezone), and journeys
  with ``local_time`` read send times, DND, delivery windows and delays in it.

The default policy has no caps and honours the standard consent properties; a cohort that has
none of them is unaffected. The engine core reads the policy
(:class:`~journeylab.engine.Engine`, :class:`~journeylab.engine.JourneySet`); drivers only
pass it on (``simulate(..., policy=...)``, ``Runtime(..., policy=...)``, ``ReferenceDriver(..., policy=...)``).

>>> p = AccountPolicy(caps=[Cap(max=1, per="day", channel="push")])
>>> p.consent.blocked("email", {"email_opt_out": True}), p.consent.blocked("email", {})
(True, False)
>>> policy_from_dict({"caps": [{"max": 1, "per": "fortnight"}]})
Traceback (most recent call last):
...
journeylab.errors.JourneyDefinitionError: $.settings.caps[0].per: Invalid enum value 'fortnight': a cap counts messages per 'day' or per 'week'
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from journeylab._docs import filler
from journeylab.errors import JourneyDefinitionError

__all__ = [
    "Cap",
    "ConsentEvent",
    "Consent",
    "AccountPolicy",
    "DEFAULT_POLICY",
    "POLICY_ROOT",
    "policy_from_dict",
    "policy_from_json",
    "policy_to_json",
    "as_policy",
    "flag_true",
    "flag_false",
]

#: the Returns and Raises sections of the readers below, written once
_fill = filler(
    {
        "reads_policy": """Returns
-------
AccountPolicy
    The policy.

Raises
------
journeylab.JourneyDefinitionError"""
    }
)

_S = dict(frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True)

#: where an account policy's values are reported in validation paths (``$.settings.caps[0].per``):
#: the policy is the account's settings
POLICY_ROOT = "$.settings"


class Cap(msgspec.Struct, **_S):
    """At most ``max`` messages per user per local day or week, counting every journey's sends.

    Weeks are ISO weeks starting Monday.

    Parameters
    ----------
    max : int
        The most messages (at least 1).
    per : {"day", "week"}, default "day"
        Over what.
    channel : str or None, default None
        The channel it counts; default every channel.

    Examples
    --------
    >>> Cap(max=2, per="week").channel is None
    True
    """

    max: Annotated[int, msgspec.Meta(ge=1)]
    per: Literal["day", "week"] = "day"
    channel: str | None = None

    def __post_init__(self) -> None:
        from journeylab.model.nodes import NODE_KINDS

        if self.channel is not None and (
            self.channel not in NODE_KINDS or NODE_KINDS[self.channel].family != "engagement"
        ):
            raise ValueError(f"unknown channel {self.channel!r}")


class ConsentEvent(msgspec.Struct, **_S):
    """An event that changes a user's subscription at once (a profile update of consent).

    The channel is ``channel`` when fixed here, else the one the event's ``channel_property``
    names, else every channel (the global ``unsubscribed`` flag).

    Parameters
    ----------
    event : str
        The event's name.
    channel : str or None, default None
        The channel it changes.
    channel_property : str, default "channel"
        The event property naming the channel, when ``channel`` is not fixed.
    subscribe : bool, default False
        It opts back in instead of out.

    Examples
    --------
    >>> ConsentEvent(event="Unsubscribed").subscribe
    False
    """

    event: str
    channel: str | None = None
    channel_property: str = "channel"
    subscribe: bool = False


def _default_opt_out() -> dict[str, str]:
    return {
        "push": "push_opt_out",
        "email": "email_opt_out",
        "sms": "sms_opt_out",
        "whatsapp": "whatsapp_opt_out",
        "web_push": "web_push_opt_out",
    }


def _default_events() -> list[ConsentEvent]:
    return [ConsentEvent(event="Unsubscribed"), ConsentEvent(event="Subscribed", subscribe=True)]


class Consent(msgspec.Struct, **_S):
    """Per-channel subscription state from profile properties, honoured at every send attempt.

    Channels in none of these (in-app, web pop-ups, webhooks) need no consent.

    Parameters
    ----------
    opt_out : dict of str to str, default per channel
        Per channel, a property that, when true, means the user opted out of it.
    unsubscribed : str or None, default "unsubscribed"
        A property that, when true, opts the user out of every channel of ``opt_out``
        (None: no such flag).
    enabled : dict of str to str, default per channel
        Per channel, a property that, when explicitly false, means the channel is switched
        off (``push_enabled = False``: notifications disabled on the device).
    events : list of ConsentEvent, default []
        Events that change the state at once.

    Examples
    --------
    >>> c = Consent()
    >>> c.blocked("push", {"push_enabled": False}), c.blocked("sms", {"unsubscribed": True}), c.blocked("in_app", {"unsubscribed": True})
    (True, True, False)
    """

    opt_out: dict[str, str] = msgspec.field(default_factory=_default_opt_out)
    unsubscribed: str | None = "unsubscribed"
    enabled: dict[str, str] = msgspec.field(default_factory=lambda: {"push": "push_enabled"})
    events: list[ConsentEvent] = msgspec.field(default_factory=_default_events)

    def channels(self) -> frozenset[str]:
        """The channels that need consent."""
        return frozenset(self.opt_out) | frozenset(self.enabled)

    def properties(self, channel: str | None = None) -> frozenset[str]:
        """The profile properties the state of ``channel`` (or of any channel) is read from."""
        out: set[str] = set()
        for ch, prop in self.opt_out.items():
            if channel is None or ch == channel:
                out.add(prop)
                if self.unsubscribed:
                    out.add(self.unsubscribed)
        for ch, prop in self.enabled.items():
            if channel is None or ch == channel:
                out.add(prop)
        return frozenset(out)

    def blocked(self, channel: str, profile: dict[str, Any]) -> bool:
        """Whether the profile says no to messages on ``channel``."""
        prop = self.opt_out.get(channel)
        if prop is not None and (
            flag_true(profile.get(prop)) or (self.unsubscribed and flag_true(profile.get(self.unsubscribed)))
        ):
            return True
        on = self.enabled.get(channel)
        return on is not None and flag_false(profile.get(on))

    def changes(self, event: ConsentEvent, props: dict[str, Any]) -> dict[str, bool]:
        """The profile properties an occurrence of ``event`` (with ``props``) sets, and to what.

        >>> Consent().changes(ConsentEvent(event="Unsubscribed"), {"channel": "email"})
        {'email_opt_out': True}
        >>> Consent().changes(ConsentEvent(event="Unsubscribed"), {})
        {'unsubscribed': True}
        """
        channel = event.channel if event.channel is not None else props.get(event.channel_property)
        value = not event.subscribe
        if isinstance(channel, str) and channel:
            return self.channel_change(channel, value)
        if self.unsubscribed:
            return {self.unsubscribed: value}
        return {p: value for p in self.opt_out.values()}

    def channel_change(self, channel: str, opt_out: bool = True) -> dict[str, bool]:
        """The profile change that opts the user out of ``channel`` (or back in): its ``opt_out``
        property set; none for a channel without one. A channel's ``Unsubscribed`` event and an
        ``unsubscribed`` feedback on a message (its unsubscribe link, a simulated opt-out) both
        make this change, so both are the one consent rule.

        >>> Consent().channel_change("push"), Consent().channel_change("in_app")
        ({'push_opt_out': True}, {})
        """
        prop = self.opt_out.get(channel)
        return {} if prop is None else {prop: opt_out}


def flag_true(v: Any) -> bool:
    """Whether a consent property says yes: ``True``, a non-zero number, or the text ``true``,
    ``yes``, ``y``, ``t`` or ``1`` (any case); missing (``None``, NaN) does not.

    >>> flag_true("Yes"), flag_true("false"), flag_true(1), flag_true(None)
    (True, False, True, False)
    """
    if v is None or (isinstance(v, float) and v != v):
        return False
    if isinstance(v, str):
        return v.strip().lower() in ("true", "yes", "1", "y", "t")
    return bool(v)


def flag_false(v: Any) -> bool:
    """Whether a consent property explicitly says no: ``False``, zero, or the text ``false``,
    ``no``, ``n``, ``f`` or ``0`` (any case); missing (``None``, NaN) does not.

    >>> flag_false("no"), flag_false(0), flag_false(None), flag_false("maybe")
    (True, True, False, False)
    """
    if v is None or (isinstance(v, float) and v != v):
        return False
    if isinstance(v, str):
        return v.strip().lower() in ("false", "no", "0", "n", "f")
    return v is False or v == 0


class AccountPolicy(msgspec.Struct, **_S):
    """The rules every journey of an account shares: caps, consent, users' timezones.

    Parameters
    ----------
    caps : list of Cap, default []
        Account-wide frequency caps.
    consent : Consent or None, default Consent()
        Subscription state; None turns consent checks off.
    timezone : str, default "UTC"
        The account timezone caps count days in when a user has none.
    timezone_property : str, default "timezone"
        The profile property that holds a user's IANA timezone.

    Examples
    --------
    >>> AccountPolicy().caps, AccountPolicy().timezone_property
    ([], 'timezone')
    """

    caps: list[Cap] = []
    consent: Consent | None = msgspec.field(default_factory=Consent)
    timezone: str = "UTC"
    timezone_property: str = "timezone"

    def __post_init__(self) -> None:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(self.timezone)
        except (ValueError, OSError, TypeError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"not an IANA timezone: {self.timezone!r}") from None


#: the policy when none is given: no caps, the standard consent properties
DEFAULT_POLICY = AccountPolicy()


def _wrap(err: Exception) -> JourneyDefinitionError:
    from journeylab.model.io import _wrap as wrap

    e = wrap(err)
    msg = e.message
    if e.path.endswith(".per") and msg.startswith("Invalid enum value"):
        msg += ": a cap counts messages per 'day' or per 'week'"
    path = e.path + (".timezone" if msg.startswith("not an IANA timezone") else "")
    return JourneyDefinitionError(msg, POLICY_ROOT + path[1:])


@_fill
def policy_from_dict(data: dict[str, Any]) -> AccountPolicy:
    """An :class:`AccountPolicy` from its JSON-like dict.

    Parameters
    ----------
    data : dict
        The policy as in JSON.

    %(reads_policy)s
        When it is not a valid policy; the path says where (``$.caps[0].per``).

    Examples
    --------
    >>> policy_from_dict({"caps": [{"max": 2, "per": "week"}]}).caps[0].per
    'week'
    """
    try:
        return msgspec.convert(data, type=AccountPolicy, strict=False)
    except msgspec.ValidationError as e:
        raise _wrap(e) from None


@_fill
def policy_from_json(text: str | bytes) -> AccountPolicy:
    """An :class:`AccountPolicy` from JSON text.

    Parameters
    ----------
    text : str or bytes
        The policy as JSON.

    %(reads_policy)s
        When it is not valid JSON or not a valid policy (the path says where).

    Examples
    --------
    >>> policy_from_json('{"timezone": "Europe/Paris"}').timezone
    'Europe/Paris'
    """
    try:
        return msgspec.json.decode(text, type=AccountPolicy)
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise _wrap(e) from None


def policy_to_json(policy: AccountPolicy, *, indent: int = 2) -> str:
    """The policy as JSON text (defaults left out).

    Parameters
    ----------
    policy : AccountPolicy
        The policy.
    indent : int, default 2
        Spaces per level.

    Returns
    -------
    str
        The JSON text.

    Examples
    --------
    >>> import json
    >>> json.loads(policy_to_json(AccountPolicy(caps=[Cap(max=2)])))["caps"]
    [{'max': 2}]
    """
    return msgspec.json.format(msgspec.json.encode(policy), indent=indent).decode()


@_fill
def as_policy(policy: Any) -> AccountPolicy:
    """An :class:`AccountPolicy` from a policy, a dict, JSON text, or None (the default).

    Parameters
    ----------
    policy : AccountPolicy, dict, str, bytes or None
        The policy, or what describes one.

    %(reads_policy)s
        When it does not describe a valid policy (the error's path says where).

    Examples
    --------
    >>> as_policy({"caps": [{"max": 3}]}).caps[0].max
    3
    """
    if policy is None:
        return DEFAULT_POLICY
    if isinstance(policy, AccountPolicy):
        return policy
    if isinstance(policy, dict):
        return policy_from_dict(policy)
    if isinstance(policy, str | bytes):
        return policy_from_json(policy)
    raise JourneyDefinitionError(
        f"expected an AccountPolicy, a dict or JSON text, got {type(policy).__name__}", POLICY_ROOT
    )
