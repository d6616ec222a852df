"""Node kinds of a journey, as data.

Every node kind is a frozen, tagged ``msgspec.Struct`` (``{"kind": "delay", ...}``) and
:data:`NODE_KINDS` is the one table that says, for each kind, its family, its ports and
whether it may only stand at the entry. The validator, the engine's dispatch, the widget
palette, the JSON schema and the docs all read this table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Union

import msgspec

from journeylab.model.conditions import (
    DayRange,
    EventCount,
    EventMatch,
    Position,
    PropertyFilter,
    UrlMatch,
    Weekday,
)

__all__ = [
    "NodeBase",
    "Action",
    "Inaction",
    "PastBehavior",
    "DateTime",
    "PageVisit",
    "Referrer",
    "PageCount",
    "ProfileMatch",
    "JourneyTrigger",
    "CustomList",
    "Engagement",
    "Push",
    "Email",
    "Sms",
    "WhatsApp",
    "WebPush",
    "InApp",
    "WebPopup",
    "WebExitIntent",
    "Webhook",
    "Delay",
    "ForceExit",
    "ProfileUpdate",
    "SplitBranch",
    "Split",
    "Node",
    "KindInfo",
    "NODE_KINDS",
    "CHANNELS",
    "DND_CHANNELS",
    "FREQUENCY_CHANNELS",
    "ports_of",
]

_STRUCT = dict(frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True, tag_field="kind")


class NodeBase(msgspec.Struct, **_STRUCT):
    """Fields every node has: a unique ``id``, an optional ``label`` and canvas ``position``."""

    id: str
    label: str = ""
    position: Position | None = None


# --------------------------------------------------------------------------- segments


class Action(NodeBase, tag="action", kw_only=True):
    """Live segment: the user does ``event`` (matching ``filters``, and ``profile`` filters).

    As entry, the user enters the moment the event happens. Mid-journey, the user waits for
    the event; ``window`` is the qualifying window (none: wait until the journey timeout).
    """

    event: str
    filters: list[PropertyFilter] = []
    profile: list[PropertyFilter] = []
    window: dt.timedelta | None = None


class Inaction(NodeBase, tag="inaction", kw_only=True):
    """Live segment: ``event`` happens and ``absent`` does not follow ``within`` the time.

    As entry (``event`` required), the user qualifies at event + within. Mid-journey
    (``event`` not used): ``absent`` within the window → ``no`` at once, else ``yes`` at
    arrival + within.
    """

    absent: str
    within: dt.timedelta
    event: str | None = None
    filters: list[PropertyFilter] = []
    absent_filters: list[PropertyFilter] = []


class PastBehavior(NodeBase, tag="past_behavior", kw_only=True):
    """Did the events in ``did`` (at least k times) and none in ``did_not`` in the last ``days``.

    As entry it is evaluated at each scheduled run; mid-journey at the next daily evaluation
    (00:00 account-local). ``profile`` filters also apply.
    """

    did: list[EventCount] = []
    did_not: list[EventMatch] = []
    days: int = 30
    profile: list[PropertyFilter] = []
    window: dt.timedelta | None = None


class DateTime(NodeBase, tag="date_time", kw_only=True):
    """Qualifies at the datetime profile ``property`` + ``offset`` (e.g. flight time − 2 h)."""

    property: str
    offset: dt.timedelta = dt.timedelta(0)
    window: dt.timedelta | None = None


class PageVisit(NodeBase, tag="page_visit", kw_only=True):
    """A page-view ``event`` whose ``url_property`` matches ``url`` (exact/prefix/contains/regex)."""

    url: str
    match: UrlMatch = "exact"
    event: str = "Page Viewed"
    url_property: str = "url"
    window: dt.timedelta | None = None


class Referrer(NodeBase, tag="referrer", kw_only=True):
    """A session's first page view whose referrer or UTM source matches ``source``."""

    source: str
    match: UrlMatch = "contains"
    event: str = "Page Viewed"
    properties: list[str] = msgspec.field(default_factory=lambda: ["referrer", "utm_source"])
    window: dt.timedelta | None = None


class PageCount(NodeBase, tag="page_count", kw_only=True):
    """The ``count``-th page view within one session (sessions end after the journey's
    ``session_gap`` without events)."""

    count: int
    event: str = "Page Viewed"
    window: dt.timedelta | None = None


class ProfileMatch(NodeBase, tag="profile", kw_only=True):
    """A condition on the user's profile as it is now (sees Profile Update changes at once)."""

    profile: list[PropertyFilter]


class JourneyTrigger(NodeBase, tag="journey_trigger", kw_only=True):
    """Entry only: the user passes ``node`` of journey ``journey`` (an engagement node: the
    message was sent; any other node: the user left it, by ``port`` if given)."""

    journey: str
    node: str
    port: str | None = None


class CustomList(NodeBase, tag="custom_list", kw_only=True):
    """Entry only: the listed user ids enter at each scheduled run (or at the start)."""

    users: list[str] = []
    path: str | None = None


# --------------------------------------------------------------------------- engagement


class Engagement(NodeBase, kw_only=True):
    """A message on one channel.

    ``content`` is the "What" of the message (title, body, subject, url...) and may use
    profile placeholders such as ``{{first_name}}``; it is the only part editable after
    publishing. ``send_at`` fixes a local time of day for the send. ``response_window`` is
    the phantom node's qualifying window used when ``viewed``/``clicked`` connectors are drawn.
    ``frequency`` (in-app, web pop-up, exit intent only) lists the delivery windows.
    """

    content: dict[str, str] = {}
    send_at: dt.time | None = None
    response_window: dt.timedelta = dt.timedelta(days=1)
    frequency: list[DayRange] | None = None


class Push(Engagement, tag="push", kw_only=True):
    """Mobile push notification (needs a push token)."""


class Email(Engagement, tag="email", kw_only=True):
    """Email (needs an email address)."""


class Sms(Engagement, tag="sms", kw_only=True):
    """SMS (needs a phone number)."""


class WhatsApp(Engagement, tag="whatsapp", kw_only=True):
    """WhatsApp message (needs a phone number)."""


class WebPush(Engagement, tag="web_push", kw_only=True):
    """Web push notification (needs a web push subscription)."""


class InApp(Engagement, tag="in_app", kw_only=True):
    """In-app message, shown while the user is in the app."""


class WebPopup(Engagement, tag="web_popup", kw_only=True):
    """Web pop-up on the user's next page."""


class WebExitIntent(Engagement, tag="web_exit_intent", kw_only=True):
    """Web exit-intent pop-up."""


class Webhook(Engagement, tag="webhook", kw_only=True):
    """An HTTP call to your system with the user's data."""


# --------------------------------------------------------------------------- controllers


class Delay(NodeBase, tag="delay", kw_only=True):
    """Wait: a ``duration``; or until a local time of day ``at_time`` (on ``weekdays`` if
    given); or until the datetime profile ``property`` + ``offset``. Exactly one form."""

    duration: dt.timedelta | None = None
    at_time: dt.time | None = None
    weekdays: list[Weekday] = []
    property: str | None = None
    offset: dt.timedelta = dt.timedelta(0)


class ForceExit(NodeBase, tag="force_exit", kw_only=True):
    """The user exits the journey (and may re-enter later when re-entry is on)."""


class ProfileUpdate(NodeBase, tag="profile_update", kw_only=True):
    """Change a profile property: ``set``, ``add`` to array, ``remove`` from array,
    ``increment`` or ``decrement`` (by ``value``, default 1)."""

    property: str
    op: Literal["set", "add", "remove", "increment", "decrement"] = "set"
    value: Any = None


class SplitBranch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One path of a random split: its port ``name`` and its share in percent."""

    name: str
    percent: float


class Split(NodeBase, tag="split", kw_only=True):
    """Random split for experiments: each user goes down one branch (deterministic per
    user, enrollment and seed). Percentages must sum to 100."""

    branches: list[SplitBranch]


Node = Union[
    Action,
    Inaction,
    PastBehavior,
    DateTime,
    PageVisit,
    Referrer,
    PageCount,
    ProfileMatch,
    JourneyTrigger,
    CustomList,
    Push,
    Email,
    Sms,
    WhatsApp,
    WebPush,
    InApp,
    WebPopup,
    WebExitIntent,
    Webhook,
    Delay,
    ForceExit,
    ProfileUpdate,
    Split,
]


@dataclass(frozen=True)
class KindInfo:
    """What the rest of journeylab needs to know about one node kind."""

    kind: str
    cls: type
    family: Literal["segment", "engagement", "controller"]
    ports: tuple[str, ...]
    entry_only: bool = False
    can_be_entry: bool = False
    title: str = ""
    reachability: str | None = None  # profile property that says the channel is reachable


CHANNELS: tuple[str, ...] = (
    "push",
    "email",
    "sms",
    "whatsapp",
    "web_push",
    "in_app",
    "web_popup",
    "web_exit_intent",
    "webhook",
)
DND_CHANNELS: tuple[str, ...] = ("push", "sms", "email", "web_push")
FREQUENCY_CHANNELS: tuple[str, ...] = ("in_app", "web_popup", "web_exit_intent")

_ENGAGEMENT_PORTS = ("next", "viewed", "clicked", "not_sent", "timeout")

_REACH = {
    "push": "push_token",
    "email": "email",
    "sms": "phone",
    "whatsapp": "phone",
    "web_push": "web_push_token",
    "in_app": None,
    "web_popup": None,
    "web_exit_intent": None,
    "webhook": None,
}

NODE_KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in [
        KindInfo("action", Action, "segment", ("yes", "timeout"), can_be_entry=True, title="Action"),
        KindInfo("inaction", Inaction, "segment", ("yes", "no"), can_be_entry=True, title="Inaction"),
        KindInfo(
            "past_behavior", PastBehavior, "segment", ("yes", "no", "timeout"), can_be_entry=True,
            title="Past Behavior",
        ),
        KindInfo("date_time", DateTime, "segment", ("yes", "no", "timeout"), can_be_entry=True, title="Date Time"),
        KindInfo("page_visit", PageVisit, "segment", ("yes", "timeout"), can_be_entry=True, title="Page Visit"),
        KindInfo("referrer", Referrer, "segment", ("yes", "timeout"), can_be_entry=True, title="Referrer"),
        KindInfo("page_count", PageCount, "segment", ("yes", "timeout"), can_be_entry=True, title="Page Count"),
        KindInfo("profile", ProfileMatch, "segment", ("yes", "no"), title="Profile"),
        KindInfo(
            "journey_trigger", JourneyTrigger, "segment", ("yes",), entry_only=True, can_be_entry=True,
            title="Journey Trigger",
        ),
        KindInfo(
            "custom_list", CustomList, "segment", ("yes",), entry_only=True, can_be_entry=True, title="Custom List"
        ),
        *[
            KindInfo(ch, cls, "engagement", _ENGAGEMENT_PORTS, title=title, reachability=_REACH[ch])
            for ch, cls, title in [
                ("push", Push, "Push"),
                ("email", Email, "Email"),
                ("sms", Sms, "SMS"),
                ("whatsapp", WhatsApp, "WhatsApp"),
                ("web_push", WebPush, "Web Push"),
                ("in_app", InApp, "In-App"),
                ("web_popup", WebPopup, "Web Pop-up"),
                ("web_exit_intent", WebExitIntent, "Web Exit Intent"),
                ("webhook", Webhook, "Webhook"),
            ]
        ],
        KindInfo("delay", Delay, "controller", ("next",), title="Delay"),
        KindInfo("force_exit", ForceExit, "controller", (), title="Force Exit"),
        KindInfo("profile_update", ProfileUpdate, "controller", ("next",), title="Profile Update"),
        KindInfo("split", Split, "controller", (), title="Split"),
    ]
}

# segments whose ``window`` field is a qualifying window
WINDOWED_KINDS = frozenset(k for k, i in NODE_KINDS.items() if "timeout" in i.ports and i.family == "segment")


def kind_of(node: Any) -> str:
    """The ``kind`` tag of a node instance."""
    return type(node).__struct_config__.tag  # type: ignore[no-any-return]


def ports_of(node: Any) -> tuple[str, ...]:
    """The ports a node can be left by (a Split's ports are its branch names).

    >>> ports_of(Delay(id="d", duration=dt.timedelta(minutes=20)))
    ('next',)
    >>> ports_of(Split(id="s", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="B", percent=50)]))
    ('A', 'B')
    """
    if isinstance(node, Split):
        return tuple(b.name for b in node.branches)
    return NODE_KINDS[kind_of(node)].ports
