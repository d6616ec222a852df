"""Node kinds of a journey, as data.

Every node kind is a frozen, tagged ``msgspec.Struct`` (``{"kind": "delay", ...}``) and
:data:`NODE_KINDS` is the one table that says, for each kind, its family, its ports and
whether it may only stand at the entry. The validator, the engine's dispatch, the widget
palette, the JSON schema and the docs all read this table.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
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
    "Style",
    "Reads",
    "merge_reads",
    "reads_of_events",
    "placeholders",
    "render",
    "NODE_KINDS",
    "CHANNELS",
    "OPT_OUT_PROPERTY",
    "opted_out",
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
    templates: ``{{ profile.first_name | default("there") }}``, ``{{ event.item }}`` (the
    triggering event) or the older ``{{first_name|there}}`` (:mod:`journeylab.model.templates`);
    it is the only part editable after
    publishing. ``send_at`` fixes a local time of day for the send. ``response_window`` is
    the phantom node's qualifying window used when ``viewed``/``clicked`` connectors are drawn.
    ``frequency`` (in-app, web pop-up, exit intent only) lists the delivery windows.
    """

    content: dict[str, str] = {}  # Jinja2 templates (journeylab.model.templates)
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


class SplitBranch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One path of a random split: its port ``name`` and its share in percent.

    A ``control`` branch is a hold-out group: its users are assigned (a ``held`` trace row),
    never messaged and kept at the Split until a goal, the journey timeout or a stop, so their
    goals are tracked like everyone else's; nothing may follow a control branch.

    >>> SplitBranch(name="holdout", percent=10, control=True).control
    True
    """

    name: str
    percent: float
    control: bool = False


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
class Style:
    """How a kind is drawn on the canvas and in the static graph: a cytoscape shape name, fill
    and border colours, and a one-glyph icon."""

    shape: str
    fill: str
    border: str
    icon: str

    def as_dict(self) -> dict[str, str]:
        return {"shape": self.shape, "fill": self.fill, "border": self.border, "icon": self.icon}


@dataclass(frozen=True)
class Reads:
    """The inputs one node (or goal) can act on: the driver keeps these and may drop the rest.

    * ``events``: event names it reacts to or counts;
    * ``event_props``: per event name, the event properties it reads;
    * ``profile``: profile properties it reads (filters, reachability, dates, placeholders);
    * ``lookback``: how many seconds of an event's history before now it reads (past behaviour,
      an inaction entry's wait);
    * ``sessions``: it counts page views per session (the session gap's history matters).
    """

    events: frozenset[str] = frozenset()
    event_props: tuple[tuple[str, frozenset[str]], ...] = ()
    profile: frozenset[str] = frozenset()
    lookback: tuple[tuple[str, int], ...] = ()
    sessions: bool = False


def _props(fs: Any) -> frozenset[str]:
    return frozenset(f.property for f in fs)


def reads_of_events(items: Any, days: int = 0) -> Reads:
    """What a list of :class:`EventCount`/:class:`EventMatch` (past behaviour) reads."""
    evs = [c.event for c in items]
    return Reads(
        events=frozenset(evs),
        event_props=tuple((c.event, _props(c.filters)) for c in items if c.filters),
        lookback=tuple((e, days * 86400) for e in evs),
    )


def merge_reads(parts: Any) -> Reads:
    """One :class:`Reads` for several (a journey's nodes and goals)."""
    events: set[str] = set()
    props: dict[str, set[str]] = {}
    profile: set[str] = set()
    look: dict[str, int] = {}
    sessions = False
    for r in parts:
        events |= r.events
        for e, ps in r.event_props:
            props.setdefault(e, set()).update(ps)
        profile |= r.profile
        for e, sec in r.lookback:
            look[e] = max(look.get(e, 0), sec)
        sessions = sessions or r.sessions
    return Reads(
        frozenset(events),
        tuple(sorted((e, frozenset(ps)) for e, ps in props.items())),
        frozenset(profile),
        tuple(sorted(look.items())),
        sessions,
    )


_PLACEHOLDER = re.compile(r"\{\{\s*([^}|]+?)\s*(?:\|\s*([^}]*?)\s*)?\}\}")


def placeholders(text: str) -> list[tuple[str, str | None]]:
    """The ``{{property|default}}`` placeholders of a message text, as ``(property, default)``.

    >>> placeholders("Hi {{first_name|there}}, your {{ Plan Tier }} plan")
    [('first_name', 'there'), ('Plan Tier', None)]
    """
    return [(m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(text)]


def render(text: str, profile: dict[str, Any], event: dict[str, Any] | None = None) -> str:
    """A message text rendered for a user: Jinja2's sandbox over ``profile`` and the triggering
    ``event``, legacy ``{{property|default}}`` placeholders included (see
    :mod:`journeylab.model.templates`).

    >>> render("Hi {{first_name|there}}!", {}), render("Hi {{first_name|there}}!", {"first_name": "Ana"})
    ('Hi there!', 'Hi Ana!')
    """
    from journeylab.model.templates import render_text

    return render_text(text, profile, event)


def _reads(n: Any) -> Reads:  # noqa: PLR0911 - one branch per node family
    """What a node reads (see :class:`Reads`)."""
    if isinstance(n, Action):
        return Reads(frozenset({n.event}), ((n.event, _props(n.filters)),) if n.filters else (), _props(n.profile))
    if isinstance(n, Inaction):
        evs = {n.absent} | ({n.event} if n.event else set())
        props = [(n.absent, _props(n.absent_filters))] if n.absent_filters else []
        if n.event and n.filters:
            props.append((n.event, _props(n.filters)))
        look = ((n.event, int(n.within.total_seconds())),) if n.event else ()
        return Reads(frozenset(evs), tuple(props), lookback=look)
    if isinstance(n, PastBehavior):
        r = reads_of_events([*n.did, *n.did_not], n.days)
        return Reads(r.events, r.event_props, _props(n.profile), r.lookback)
    if isinstance(n, DateTime):
        return Reads(profile=frozenset({n.property}))
    if isinstance(n, PageVisit):
        return Reads(frozenset({n.event}), ((n.event, frozenset({n.url_property})),))
    if isinstance(n, Referrer):
        return Reads(frozenset({n.event}), ((n.event, frozenset(n.properties)),), sessions=True)
    if isinstance(n, PageCount):
        return Reads(frozenset({n.event}), sessions=True)
    if isinstance(n, ProfileMatch):
        return Reads(profile=_props(n.profile))
    if isinstance(n, Engagement):
        reach = NODE_KINDS[kind_of(n)].reachability
        from journeylab.model.templates import template_reads

        names = {p for text in n.content.values() for p in template_reads(text)[0]}
        return Reads(profile=frozenset(names | ({reach} if reach else set()) | {OPT_OUT_PROPERTY}))
    if isinstance(n, Delay):
        return Reads(profile=frozenset({n.property}) if n.property else frozenset())
    if isinstance(n, ProfileUpdate):
        return Reads(profile=frozenset({n.property}))
    return Reads()  # journey trigger, custom list, force exit, split: nothing of the user's


@dataclass(frozen=True)
class KindInfo:
    """Everything journeylab needs to know about one node kind, in one row.

    * ``family``, ``ports``, ``entry_only``, ``can_be_entry``, ``title``: the graph rules;
    * ``timing``: the engine's arrival rule for the kind (``window``: waits for an event in a
      qualifying window; ``inaction``; ``past_behavior``; ``date_time``; ``profile``;
      ``entry_only``; ``engagement``; ``delay``; ``force_exit``; ``profile_update``; ``split``);
    * ``reachability``: the profile property that says the channel is reachable;
    * ``style``: how it is drawn; ``defaults``: the fields a node added from the palette gets;
    * :meth:`reads`: the inputs a node of the kind can act on.
    """

    kind: str
    cls: type
    family: Literal["segment", "engagement", "controller"]
    ports: tuple[str, ...]
    timing: str
    style: Style
    defaults: dict[str, Any] = field(default_factory=dict)
    entry_only: bool = False
    can_be_entry: bool = False
    title: str = ""
    reachability: str | None = None  # profile property that says the channel is reachable

    def reads(self, node: Any) -> Reads:
        """The inputs ``node`` (of this kind) can act on."""
        return _reads(node)

    def palette_node(self, node_id: str) -> Any:
        """A node of this kind with the palette's default settings."""
        kw = {
            k: (list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
            for k, v in self.defaults.items()
        }
        return self.cls(id=node_id, **kw)


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

#: The profile property that lists the channels a user opted out of (unsubscribed from): a
#: list of channel names (or one name). A user who opted out of a channel is unreachable on it,
#: whatever its reachability property says. An ``unsubscribed`` feedback adds the channel.
OPT_OUT_PROPERTY = "opted_out_channels"


def opted_out(profile: dict[str, Any], channel: str) -> bool:
    """Whether the profile says the user opted out of ``channel`` (see :data:`OPT_OUT_PROPERTY`).

    >>> opted_out({"opted_out_channels": ["push", "email"]}, "push"), opted_out({"opted_out_channels": "sms"}, "push")
    (True, False)
    >>> opted_out({}, "push")
    False
    """
    v = profile.get(OPT_OUT_PROPERTY)
    if v is None:
        return False
    if isinstance(v, str):
        return v == channel
    if isinstance(v, list | tuple | set | frozenset):
        return channel in v
    return False


FREQUENCY_CHANNELS: tuple[str, ...] = ("in_app", "web_popup", "web_exit_intent")

_ENGAGEMENT_PORTS = ("next", "viewed", "clicked", "not_sent", "timeout")
_SEG = ("round-rectangle", "#e0ecff", "#2563eb")
_ENTRY = ("cut-rectangle", "#e0ecff", "#1d4ed8")


def _segment(
    kind: str,
    cls: type,
    ports: tuple[str, ...],
    title: str,
    icon: str,
    timing: str,
    defaults: dict[str, Any],
    *,
    entry: bool = True,
    entry_only: bool = False,
    look: tuple[str, str, str] = _SEG,
) -> KindInfo:
    return KindInfo(
        kind,
        cls,
        "segment",
        ports,
        timing,
        Style(*look, icon),
        defaults,
        entry_only=entry_only,
        can_be_entry=entry,
        title=title,
    )


def _channel(
    kind: str, cls: type, title: str, reach: str | None, fill: str, border: str, icon: str, content: dict[str, str]
) -> KindInfo:
    return KindInfo(
        kind,
        cls,
        "engagement",
        _ENGAGEMENT_PORTS,
        "engagement",
        Style("rectangle", fill, border, icon),
        {"content": content},
        title=title,
        reachability=reach,
    )


NODE_KINDS: dict[str, KindInfo] = {
    info.kind: info
    for info in [
        _segment("action", Action, ("yes", "timeout"), "Action", "⚡", "window", {"event": "App Launched"}),
        _segment(
            "inaction",
            Inaction,
            ("yes", "no"),
            "Inaction",
            "⊘",
            "inaction",
            {"absent": "Charged", "within": dt.timedelta(minutes=15)},
        ),
        _segment(
            "past_behavior",
            PastBehavior,
            ("yes", "no", "timeout"),
            "Past Behavior",
            "↻",
            "past_behavior",
            {"did": [EventCount(event="App Launched")], "days": 30},
            look=("round-rectangle", "#e9e3ff", "#6d28d9"),
        ),
        _segment(
            "date_time",
            DateTime,
            ("yes", "no", "timeout"),
            "Date Time",
            "◷",
            "date_time",
            {"property": "flight_time", "offset": -dt.timedelta(hours=2)},
        ),
        _segment(
            "page_visit",
            PageVisit,
            ("yes", "timeout"),
            "Page Visit",
            "⌂",
            "window",
            {"url": "https://example.com/", "match": "prefix"},
        ),
        _segment("referrer", Referrer, ("yes", "timeout"), "Referrer", "⤳", "window", {"source": "facebook"}),
        _segment("page_count", PageCount, ("yes", "timeout"), "Page Count", "☰", "window", {"count": 3}),
        _segment(
            "profile",
            ProfileMatch,
            ("yes", "no"),
            "Profile",
            "☺",
            "profile",
            {"profile": [PropertyFilter(property="tier", op="=", value="gold")]},
            entry=False,
            look=("round-rectangle", "#e0f2fe", "#0369a1"),
        ),
        _segment(
            "journey_trigger",
            JourneyTrigger,
            ("yes",),
            "Journey Trigger",
            "➜",
            "entry_only",
            {"journey": "other-journey", "node": "push"},
            entry_only=True,
            look=_ENTRY,
        ),
        _segment(
            "custom_list",
            CustomList,
            ("yes",),
            "Custom List",
            "☑",
            "entry_only",
            {"users": []},
            entry_only=True,
            look=_ENTRY,
        ),
        _channel("push", Push, "Push", "push_token", "#ffedd5", "#ea580c", "✆", {"title": "Title", "body": "Message"}),
        _channel(
            "email", Email, "Email", "email", "#ccfbf1", "#0d9488", "✉", {"subject": "Subject", "body": "Message"}
        ),
        _channel("sms", Sms, "SMS", "phone", "#ecfccb", "#65a30d", "☏", {"body": "Message"}),
        _channel("whatsapp", WhatsApp, "WhatsApp", "phone", "#a7f3d0", "#065f46", "☎", {"body": "Message"}),
        _channel(
            "web_push",
            WebPush,
            "Web Push",
            "web_push_token",
            "#ddd6fe",
            "#7c3aed",
            "☍",
            {"title": "Title", "body": "Message", "url": "https://example.com/"},
        ),
        _channel("in_app", InApp, "In-App", None, "#fbcfe8", "#db2777", "▶", {"title": "Title", "body": "Message"}),
        _channel(
            "web_popup", WebPopup, "Web Pop-up", None, "#f0abfc", "#c026d3", "◆", {"title": "Title", "body": "Message"}
        ),
        _channel(
            "web_exit_intent",
            WebExitIntent,
            "Web Exit Intent",
            None,
            "#fecdd3",
            "#e11d48",
            "✈",
            {"title": "Before you go", "body": "Message"},
        ),
        _channel("webhook", Webhook, "Webhook", None, "#d1d5db", "#4b5563", "⚙", {"url": "https://example.com/hook"}),
        KindInfo(
            "delay",
            Delay,
            "controller",
            ("next",),
            "delay",
            Style("barrel", "#fef9c3", "#ca8a04", "◔"),
            {"duration": dt.timedelta(days=1)},
            title="Delay",
        ),
        KindInfo(
            "force_exit",
            ForceExit,
            "controller",
            (),
            "force_exit",
            Style("octagon", "#fee2e2", "#dc2626", "✖"),
            title="Force Exit",
        ),
        KindInfo(
            "profile_update",
            ProfileUpdate,
            "controller",
            ("next",),
            "profile_update",
            Style("round-tag", "#f3f4f6", "#374151", "✎"),
            {"property": "tier", "op": "set", "value": "gold"},
            title="Profile Update",
        ),
        KindInfo(
            "split",
            Split,
            "controller",
            (),
            "split",
            Style("round-hexagon", "#e0f2fe", "#0284c7", "⋔"),
            {"branches": [SplitBranch(name="A", percent=50.0), SplitBranch(name="B", percent=50.0)]},
            title="Split",
        ),
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
