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
from typing import Any, Literal, TypeVar, Union

import msgspec

from journeylab._docs import filler
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
    "DND_CHANNELS",
    "FREQUENCY_CHANNELS",
    "ports_of",
]

_T = TypeVar("_T")

#: numpydoc entries of the fields every node has, and every message node has
_FIELDS = {
    "node": """id : str
    The node's id, unique in its journey.
label : str, default ""
    Its label on the canvas; default a label made from the kind and settings.
position : Position or None, default None
    Where it stands on the canvas; default laid out automatically.""",
    "message": """content : dict of str to str, default {}
    The "What" of the message (title, body, subject, url...), Jinja2 templates.
send_at : datetime.time or None, default None
    A fixed account-local time of day for the send; default at once.
response_window : datetime.timedelta, default 1 day
    How long ``viewed`` / ``clicked`` connectors wait for the response.
frequency : list of DayRange or None, default None
    Delivery windows (in-app, web pop-up and exit intent only).""",
    "window": """window : datetime.timedelta or None, default None
    The qualifying window mid-journey: how long the user waits here for it; None waits
    until the journey timeout.""",
}
_FIELDS["engagement"] = _FIELDS["node"] + "\n" + _FIELDS["message"]
_FIELDS["profile_window"] = (
    "profile : list of PropertyFilter, default []\n    Conditions on the user's profile.\n" + _FIELDS["window"]
)
_fill = filler(_FIELDS)


def _message_doc(cls: _T) -> _T:
    """Complete the docstring of a channel's node class: its fields and an example."""
    name, tag = cls.__name__, cls.__struct_config__.tag  # type: ignore[attr-defined]
    example = f'>>> from journeylab.model import {name}, kind_of\n>>> kind_of({name}(id="n", content={{"title": "Hi"}}))\n{tag!r}'
    cls.__doc__ = f"{cls.__doc__}\n\nParameters\n----------\n{_FIELDS['engagement']}\n\nExamples\n--------\n{example}\n"
    return cls


_STRUCT = dict(frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True, tag_field="kind")


class NodeBase(msgspec.Struct, **_STRUCT):
    """Fields every node has: a unique ``id``, an optional ``label`` and canvas ``position``."""

    id: str
    label: str = ""
    position: Position | None = None


# --------------------------------------------------------------------------- segments


@_fill
class Action(NodeBase, tag="action", kw_only=True):
    """Live segment: the user does ``event`` (matching ``filters`` and ``profile`` filters).

    As entry, the user enters the moment the event happens. Mid-journey, the user waits for
    the event and leaves by ``yes``, or by ``timeout`` when ``window`` ends first.

    Parameters
    ----------
    %(node)s
    event : str
        The event's name.
    filters : list of PropertyFilter, default []
        Conditions on the event's properties.
    %(profile_window)s

    Examples
    --------
    >>> from journeylab.model import Action, PropertyFilter
    >>> a = Action(id="viewed", event="Product Viewed", filters=[PropertyFilter(property="price", op=">", value=100)])
    >>> a.event, a.filters[0].test({"price": 120})
    ('Product Viewed', True)
    """

    event: str
    filters: list[PropertyFilter] = []
    profile: list[PropertyFilter] = []
    window: dt.timedelta | None = None


@_fill
class Inaction(NodeBase, tag="inaction", kw_only=True):
    """Live segment: ``event`` happens and ``absent`` does not follow ``within`` the time.

    As entry (``event`` required), the user qualifies at event + within. Mid-journey
    (``event`` not used): ``absent`` within the window → ``no`` at once, else ``yes`` at
    arrival + within.

    Parameters
    ----------
    %(node)s
    absent : str
        The event that must not happen.
    within : datetime.timedelta
        How long ``absent`` must stay away.
    event : str or None, default None
        The event that starts the wait (entry only).
    filters : list of PropertyFilter, default []
        Conditions on ``event``'s properties.
    absent_filters : list of PropertyFilter, default []
        Conditions on ``absent``'s properties: only a matching event counts.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeylab.model import Inaction
    >>> Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)).within
    datetime.timedelta(seconds=900)
    """

    absent: str
    within: dt.timedelta
    event: str | None = None
    filters: list[PropertyFilter] = []
    absent_filters: list[PropertyFilter] = []


@_fill
class PastBehavior(NodeBase, tag="past_behavior", kw_only=True):
    """Did the events in ``did`` (at least k times) and none in ``did_not`` in the last ``days``.

    As entry it is evaluated at each scheduled run; mid-journey at the next daily evaluation
    (00:00 account-local). ``profile`` filters also apply.

    Parameters
    ----------
    %(node)s
    did : list of EventCount, default []
        Events the user did, each at least its ``at_least`` times.
    did_not : list of EventMatch, default []
        Events the user did not do.
    days : int, default 30
        How many days back the history counts.
    %(profile_window)s

    Examples
    --------
    >>> from journeylab.model import EventCount, PastBehavior
    >>> PastBehavior(id="loyal", did=[EventCount(event="Charged", at_least=3)], days=90).days
    90
    """

    did: list[EventCount] = []
    did_not: list[EventMatch] = []
    days: int = 30
    profile: list[PropertyFilter] = []
    window: dt.timedelta | None = None


@_fill
class DateTime(NodeBase, tag="date_time", kw_only=True):
    """Qualifies at the datetime profile ``property`` + ``offset`` (e.g. flight time − 2 h).

    Parameters
    ----------
    %(node)s
    property : str
        The profile property holding a datetime.
    offset : datetime.timedelta, default 0
        Added to the property's time (negative: before it).
    %(window)s

    Examples
    --------
    >>> import datetime as dt
    >>> from journeylab.model import DateTime
    >>> DateTime(id="before", property="flight_time", offset=-dt.timedelta(hours=2)).offset
    datetime.timedelta(days=-1, seconds=79200)
    """

    property: str
    offset: dt.timedelta = dt.timedelta(0)
    window: dt.timedelta | None = None


@_fill
class PageVisit(NodeBase, tag="page_visit", kw_only=True):
    """A page-view ``event`` whose ``url_property`` matches ``url``.

    Parameters
    ----------
    %(node)s
    url : str
        The URL (or pattern) to match.
    match : {"exact", "prefix", "contains", "regex"}, default "exact"
        How ``url`` is matched (:func:`match_text`).
    event : str, default "Page Viewed"
        The page-view event.
    url_property : str, default "url"
        The event property holding the URL.
    %(window)s

    Examples
    --------
    >>> from journeylab.model import PageVisit
    >>> PageVisit(id="pricing", url="/pricing", match="prefix").event
    'Page Viewed'
    """

    url: str
    match: UrlMatch = "exact"
    event: str = "Page Viewed"
    url_property: str = "url"
    window: dt.timedelta | None = None


@_fill
class Referrer(NodeBase, tag="referrer", kw_only=True):
    """A session's first page view whose referrer or UTM source matches ``source``.

    Parameters
    ----------
    %(node)s
    source : str
        The referrer or source to match.
    match : {"exact", "prefix", "contains", "regex"}, default "contains"
        How ``source`` is matched.
    event : str, default "Page Viewed"
        The page-view event.
    properties : list of str, default ["referrer", "utm_source"]
        The event properties compared with ``source``, any of them.
    %(window)s

    Examples
    --------
    >>> from journeylab.model import Referrer
    >>> Referrer(id="from-google", source="google").properties
    ['referrer', 'utm_source']
    """

    source: str
    match: UrlMatch = "contains"
    event: str = "Page Viewed"
    properties: list[str] = msgspec.field(default_factory=lambda: ["referrer", "utm_source"])
    window: dt.timedelta | None = None


@_fill
class PageCount(NodeBase, tag="page_count", kw_only=True):
    """The ``count``-th page view within one session.

    Sessions end after the journey's ``session_gap`` without events.

    Parameters
    ----------
    %(node)s
    count : int
        Which page view of the session qualifies (3: the third).
    event : str, default "Page Viewed"
        The page-view event.
    %(window)s

    Examples
    --------
    >>> from journeylab.model import PageCount
    >>> PageCount(id="third-page", count=3).count
    3
    """

    count: int
    event: str = "Page Viewed"
    window: dt.timedelta | None = None


@_fill
class ProfileMatch(NodeBase, tag="profile", kw_only=True):
    """A condition on the user's profile as it is now (sees Profile Update changes at once).

    Parameters
    ----------
    %(node)s
    profile : list of PropertyFilter
        The conditions, all of which must hold.

    Examples
    --------
    >>> from journeylab.model import ProfileMatch, PropertyFilter
    >>> ProfileMatch(id="gold", profile=[PropertyFilter(property="tier", value="gold")]).profile[0].test({"tier": "gold"})
    True
    """

    profile: list[PropertyFilter]


@_fill
class JourneyTrigger(NodeBase, tag="journey_trigger", kw_only=True):
    """Entry only: the user passes ``node`` of journey ``journey``.

    An engagement node is passed when its message was sent; any other node when the user left
    it (by ``port``, if given).

    Parameters
    ----------
    %(node)s
    journey : str
        The id of the other journey.
    node : str
        The id of its node.
    port : str or None, default None
        Only users who left ``node`` by this port enter; default any port.

    Examples
    --------
    >>> from journeylab.model import JourneyTrigger
    >>> JourneyTrigger(id="after-1", journey="journey-1", node="push").port is None
    True
    """

    journey: str
    node: str
    port: str | None = None


@_fill
class CustomList(NodeBase, tag="custom_list", kw_only=True):
    """Entry only: the listed user ids enter at each scheduled run (or at the start).

    Parameters
    ----------
    %(node)s
    users : list of str, default []
        The user ids.
    path : str or None, default None
        A file of user ids, one per line, read instead of ``users``.

    Examples
    --------
    >>> from journeylab.model import CustomList
    >>> CustomList(id="vip", users=["u1", "u2"]).users
    ['u1', 'u2']
    """

    users: list[str] = []
    path: str | None = None


# --------------------------------------------------------------------------- engagement


@_fill
class Engagement(NodeBase, kw_only=True):
    """A message on one channel: the fields every channel's node has.

    ``content`` may use templates: ``{{ profile.first_name | default("there") }}``,
    ``{{ event.item }}`` (the triggering event) or the older ``{{first_name|there}}``
    (:mod:`journeylab.model.templates`); it is the only part editable after publishing.

    Parameters
    ----------
    %(engagement)s

    Examples
    --------
    >>> from journeylab.model import Engagement, Push
    >>> isinstance(Push(id="push", content={"title": "Hi"}), Engagement)
    True
    """

    content: dict[str, str] = {}  # Jinja2 templates (journeylab.model.templates)
    send_at: dt.time | None = None
    response_window: dt.timedelta = dt.timedelta(days=1)
    frequency: list[DayRange] | None = None


@_message_doc
class Push(Engagement, tag="push", kw_only=True):
    """Mobile push notification (needs a push token)."""


@_message_doc
class Email(Engagement, tag="email", kw_only=True):
    """Email (needs an email address)."""


@_message_doc
class Sms(Engagement, tag="sms", kw_only=True):
    """SMS (needs a phone number)."""


@_message_doc
class WhatsApp(Engagement, tag="whatsapp", kw_only=True):
    """WhatsApp message (needs a phone number)."""


@_message_doc
class WebPush(Engagement, tag="web_push", kw_only=True):
    """Web push notification (needs a web push subscription)."""


@_message_doc
class InApp(Engagement, tag="in_app", kw_only=True):
    """In-app message, shown while the user is in the app."""


@_message_doc
class WebPopup(Engagement, tag="web_popup", kw_only=True):
    """Web pop-up on the user's next page."""


@_message_doc
class WebExitIntent(Engagement, tag="web_exit_intent", kw_only=True):
    """Web exit-intent pop-up."""


@_message_doc
class Webhook(Engagement, tag="webhook", kw_only=True):
    """An HTTP call to your system with the user's data."""


# --------------------------------------------------------------------------- controllers


@_fill
class Delay(NodeBase, tag="delay", kw_only=True):
    """Wait: a ``duration``, until a local time of day, or until a profile date. Exactly one form.

    Parameters
    ----------
    %(node)s
    duration : datetime.timedelta or None, default None
        Wait this long.
    at_time : datetime.time or None, default None
        Wait until this account-local time of day.
    weekdays : list of str, default []
        With ``at_time``: only on these days (``"mon"`` ... ``"sun"``).
    property : str or None, default None
        Wait until the datetime in this profile property ...
    offset : datetime.timedelta, default 0
        ... plus this offset.

    Examples
    --------
    >>> import datetime as dt
    >>> from journeylab.model import Delay
    >>> Delay(id="wait", at_time=dt.time(9), weekdays=["mon"]).at_time
    datetime.time(9, 0)
    """

    duration: dt.timedelta | None = None
    at_time: dt.time | None = None
    weekdays: list[Weekday] = []
    property: str | None = None
    offset: dt.timedelta = dt.timedelta(0)


@_fill
class ForceExit(NodeBase, tag="force_exit", kw_only=True):
    """The user exits the journey (and may re-enter later when re-entry is on).

    Parameters
    ----------
    %(node)s

    Examples
    --------
    >>> from journeylab.model import ForceExit, ports_of
    >>> ports_of(ForceExit(id="stop"))
    ()
    """


@_fill
class ProfileUpdate(NodeBase, tag="profile_update", kw_only=True):
    """Change a profile property: set it, add to or remove from an array, increment or decrement it.

    Parameters
    ----------
    %(node)s
    property : str
        The profile property.
    op : {"set", "add", "remove", "increment", "decrement"}, default "set"
        Set it, add to or remove from an array, or increment or decrement a number.
    value : object, default None
        The value to set, add or remove, or the step (default 1).

    Examples
    --------
    >>> from journeylab.model import ProfileUpdate
    >>> ProfileUpdate(id="tier", property="tier", value="gold").op
    'set'
    """

    property: str
    op: Literal["set", "add", "remove", "increment", "decrement"] = "set"
    value: Any = None


class SplitBranch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One path of a random split: its port ``name`` and its share in percent.

    A ``control`` branch is a hold-out group: its users are assigned (a ``held`` trace row),
    never messaged and kept at the Split until a goal, the journey timeout or a stop, so their
    goals are tracked like everyone else's; nothing may follow a control branch.

    Parameters
    ----------
    name : str
        The branch's port.
    percent : float
        Its share of users, in percent.
    control : bool, default False
        A hold-out group.

    Examples
    --------
    >>> SplitBranch(name="holdout", percent=10, control=True).control
    True
    """

    name: str
    percent: float
    control: bool = False


@_fill
class Split(NodeBase, tag="split", kw_only=True):
    """Random split for experiments: each user goes down one branch.

    The branch is deterministic per user, enrollment and seed. Percentages must sum to 100.

    Parameters
    ----------
    %(node)s
    branches : list of SplitBranch
        The branches, each a port.

    Examples
    --------
    >>> from journeylab.model import Split, SplitBranch, ports_of
    >>> ports_of(Split(id="ab", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="B", percent=50)]))
    ('A', 'B')
    """

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
        return Reads(profile=frozenset(names | ({reach} if reach else set())))
    if isinstance(n, Delay):
        return Reads(profile=frozenset({n.property}) if n.property else frozenset())
    if isinstance(n, ProfileUpdate):
        return Reads(profile=frozenset({n.property}))
    return Reads()  # journey trigger, custom list, force exit, split: nothing of the user's


@dataclass(frozen=True)
class KindInfo:
    """Everything journeylab needs to know about one node kind, in one row.

    Parameters
    ----------
    kind : str
        The kind's tag, as in the JSON.
    cls : type
        The node class.
    family : {"segment", "engagement", "controller"}
        What the kind does: qualify users, send a message, or steer them.
    ports : tuple of str
        The ports a node of the kind can be left by.
    timing : str
        The engine's arrival rule for the kind (``window``: waits for an event in a
        qualifying window; ``inaction``; ``past_behavior``; ``date_time``; ``profile``;
        ``entry_only``; ``engagement``; ``delay``; ``force_exit``; ``profile_update``;
        ``split``).
    style : Style
        How it is drawn on the canvas and in the static graph.
    defaults : dict, default {}
        The fields a node added from the palette gets.
    entry_only : bool, default False
        It may only stand at the entry.
    can_be_entry : bool, default False
        It may stand at the entry.
    title : str, default ""
        Its name in the palette and the docs.
    reachability : str or None, default None
        The profile property that says the channel is reachable (engagement kinds).

    Examples
    --------
    >>> NODE_KINDS["push"].family, NODE_KINDS["push"].ports
    ('engagement', ('next', 'viewed', 'clicked', 'not_sent', 'timeout'))
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
    """The ``kind`` tag of a node instance.

    Parameters
    ----------
    node : Node
        A node.

    Returns
    -------
    str
        Its kind, as in the JSON (``"push"``, ``"delay"``...), a key of :data:`NODE_KINDS`.

    Examples
    --------
    >>> kind_of(ForceExit(id="stop"))
    'force_exit'
    """
    return type(node).__struct_config__.tag  # type: ignore[no-any-return]


def ports_of(node: Any) -> tuple[str, ...]:
    """The ports a node can be left by (a Split's ports are its branch names).

    Parameters
    ----------
    node : Node
        A node.

    Returns
    -------
    tuple of str
        Its ports, in order.

    Examples
    --------
    >>> ports_of(Delay(id="d", duration=dt.timedelta(minutes=20)))
    ('next',)
    >>> ports_of(Split(id="s", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="B", percent=50)]))
    ('A', 'B')
    """
    if isinstance(node, Split):
        return tuple(b.name for b in node.branches)
    return NODE_KINDS[kind_of(node)].ports
