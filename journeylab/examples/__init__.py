"""Example journeys from the CleverTap Journeys documentation, built with the public API.

Each function returns a fresh, editable :class:`~journeylab.model.Journey` (a draft) that
validates with zero errors. The same journeys ship as JSON files next to this module and in
the repository's ``examples/`` folder; regenerate both after changing a builder with::

    python -c "from journeylab.examples import write_all; write_all()"

>>> from journeylab.examples import cart_abandonment, EXAMPLES
>>> j = cart_abandonment()
>>> [n.id for n in j.nodes]
['cart', 'push', 'wait', 'charged', 'reminder']
>>> sorted(EXAMPLES)[:3]
['cart_abandonment', 'email_sunsetting', 'journey_trigger_1']

:func:`random_journeys` is a `hypothesis <https://hypothesis.readthedocs.io>`_ strategy of
random, valid-shaped journey definitions (every node kind, goal kind, schedule kind, DND,
limits, positions) for property tests and fuzzing; it needs the ``dev`` extra.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from journeylab.model import (
    NODE_KINDS,
    WEEKDAYS,
    Action,
    ActionGoal,
    Connector,
    CustomList,
    Dates,
    DateTime,
    DayRange,
    Delay,
    Dnd,
    Email,
    EventCount,
    EventMatch,
    ForceExit,
    Inaction,
    InApp,
    Journey,
    JourneyDef,
    JourneyTrigger,
    Limit,
    OneTime,
    PageCount,
    PageVisit,
    PastBehavior,
    PastBehaviorGoal,
    Position,
    ProfileMatch,
    ProfileUpdate,
    PropertyFilter,
    Push,
    Recurring,
    Referrer,
    Settings,
    Sms,
    Split,
    SplitBranch,
    WebExitIntent,
    Webhook,
    WebPopup,
    WebPush,
    WhatsApp,
    from_json,
    ports_of,
    to_json,
)

__all__ = [
    "cart_abandonment",
    "reference_journey",
    "purchase_promo",
    "ride_tier",
    "email_sunsetting",
    "monthly_payment_reminder",
    "journey_trigger_pair",
    "EXAMPLES",
    "example_path",
    "load",
    "write_all",
    "random_journeys",
]

_MIN = dt.timedelta(minutes=1)
_HOUR = dt.timedelta(hours=1)
_DAY = dt.timedelta(days=1)


def cart_abandonment() -> Journey:
    """Cart abandonment: remind shoppers who add to cart and do not buy.

    Entry: Inaction — "Added To Cart" and no "Charged" within 15 minutes → push
    "Forgot something?" → wait 1 day → Action segment "Charged" with a 24 h qualifying
    window: users who buy leave (the goal "Purchase" exits them the moment they do,
    wherever they are), users still without a purchase when the window ends go by
    ``timeout`` to a reminder email. Journey timeout 3 days, timezone Asia/Kolkata.

    >>> j = cart_abandonment()
    >>> j.validate().ok, j.settings.timezone
    (True, 'Asia/Kolkata')
    """
    j = Journey("Cart abandonment", id="cart-abandonment", timezone="Asia/Kolkata", journey_timeout=3 * _DAY)
    j.add(
        Inaction(
            id="cart",
            label="Added to cart, no purchase in 15 min",
            event="Added To Cart",
            absent="Charged",
            within=15 * _MIN,
        )
    )
    j.then(
        "cart",
        "yes",
        Push(
            id="push",
            label="Reminder push",
            content={
                "title": "Forgot something, {{first_name}}?",
                "body": "Your cart is waiting for you.",
            },
        ),
    )
    j.then("push", "next", Delay(id="wait", label="Wait 1 day", duration=_DAY))
    j.then("wait", "next", Action(id="charged", label="Did Charged?", event="Charged", window=_DAY))
    j.then(
        "charged",
        "timeout",
        Email(
            id="reminder",
            label="Reminder email",
            content={
                "subject": "Still thinking it over?",
                "body": "Hi {{first_name}}, the items in your cart are still available.",
            },
        ),
    )
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    return j


def reference_journey() -> Journey:
    """The benchmark journey of the simulator (exactly as specified there).

    Entry Action "Added To Cart" (no re-entry) → Inaction: no "Charged" within 15 min
    (``yes`` → push) → push → Delay 1 day → Action segment "App Launched" with a 24 h
    window: ``yes`` → email; ``timeout`` → Force Exit "exit". Goal "Purchase" (action
    "Charged"); journey timeout 3 days; timezone UTC.

    >>> j = reference_journey()
    >>> [(c.source, c.port, c.target) for c in j.connectors][-2:]
    [('launched', 'yes', 'email'), ('launched', 'timeout', 'exit')]
    """
    j = Journey("Reference journey", id="reference", timezone="UTC", journey_timeout=3 * _DAY, reentry=False)
    j.add(Action(id="entry", label="Added To Cart", event="Added To Cart"))
    j.then(
        "entry", "yes", Inaction(id="no_purchase", label="No Charged within 15 min", absent="Charged", within=15 * _MIN)
    )
    j.then("no_purchase", "yes", Push(id="push", content={"title": "Your cart misses you", "body": "Come back!"}))
    j.then("push", "next", Delay(id="wait", label="Wait 1 day", duration=_DAY))
    j.then("wait", "next", Action(id="launched", label="Did App Launched?", event="App Launched", window=_DAY))
    j.then("launched", "yes", Email(id="email", content={"subject": "Welcome back", "body": "Your cart is saved."}))
    j.then("launched", "timeout", ForceExit(id="exit"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    return j


def purchase_promo(reentry: bool = False) -> Journey:
    """Purchase → wait 20 minutes → push with a discount promo code.

    With ``reentry=False`` (the default behaviour) a user gets the promo once, ever; with
    ``reentry=True`` every later purchase (after the user has left the journey) gets a new one.

    >>> purchase_promo().settings.reentry, purchase_promo(reentry=True).id
    (False, 'purchase-promo-reentry')
    """
    j = Journey(
        "Purchase promo" + (" (re-entry)" if reentry else ""),
        id="purchase-promo" + ("-reentry" if reentry else ""),
        reentry=reentry,
    )
    j.add(Action(id="purchase", label="Charged", event="Charged"))
    j.then("purchase", "yes", Delay(id="wait", label="Wait 20 min", duration=20 * _MIN))
    j.then(
        "wait",
        "next",
        Push(
            id="promo",
            label="Promo push",
            content={
                "title": "Thanks for your purchase!",
                "body": "Take 10% off your next order with code THANKS10.",
                "promo_code": "THANKS10",
            },
        ),
    )
    return j


def ride_tier() -> Journey:
    """Ride-hailing loyalty: count rides and make a rider Platinum after 10.

    Entry Action "Ride Completed" with re-entry on → Profile Update: increment
    ``ride_count`` by 1 → Profile segment ``ride_count >= 10`` → ``yes``: Profile Update
    set ``tier = "Platinum"``. The segment sees the incremented value at once.

    >>> [type(n).__name__ for n in ride_tier().nodes]
    ['Action', 'ProfileUpdate', 'ProfileMatch', 'ProfileUpdate']
    """
    j = Journey("Ride tier", id="ride-tier", reentry=True)
    j.add(Action(id="ride", label="Ride Completed", event="Ride Completed"))
    j.then(
        "ride", "yes", ProfileUpdate(id="count", label="ride_count + 1", property="ride_count", op="increment", value=1)
    )
    j.then(
        "count",
        "next",
        ProfileMatch(
            id="ten_rides",
            label="ride_count >= 10",
            profile=[
                PropertyFilter(property="ride_count", op=">=", value=10),
            ],
        ),
    )
    j.then(
        "ten_rides",
        "yes",
        ProfileUpdate(id="platinum", label="tier = Platinum", property="tier", op="set", value="Platinum"),
    )
    return j


def email_sunsetting() -> Journey:
    """Email sunsetting: route each subscriber to a sending domain by how recently they opened.

    A Past Behavior entry (users sent an email in the last 180 days) runs every day at
    06:00 (re-entry on, so everyone is re-routed each day). Mid-journey Past Behavior
    segments, evaluated at the daily evaluation: opened an email in the last 90 days →
    email via domain 1 (``{"domain": "mail1"}``); otherwise opened in the last 180 days →
    email via domain 2 (``{"domain": "mail2"}``); otherwise → Profile Update
    ``email_opt_out = True`` (sunset).

    >>> [n.id for n in email_sunsetting().nodes]
    ['audience', 'opened_90', 'domain1', 'opened_180', 'domain2', 'sunset']
    """
    j = Journey(
        "Email sunsetting",
        id="email-sunsetting",
        reentry=True,
        journey_timeout=3 * _DAY,
        schedule=Recurring(every="day", time=dt.time(6, 0)),
    )
    j.add(
        PastBehavior(
            id="audience", label="Emailed in the last 180 days", did=[EventCount(event="Email Sent")], days=180
        )
    )
    j.then(
        "audience",
        "yes",
        PastBehavior(
            id="opened_90", label="Opened in the last 90 days", did=[EventCount(event="Email Opened")], days=90
        ),
    )
    j.then(
        "opened_90",
        "yes",
        Email(
            id="domain1",
            label="Email via domain 1",
            content={
                "domain": "mail1",
                "subject": "This week's news",
                "body": "Hi {{first_name}}, ...",
            },
        ),
    )
    j.then(
        "opened_90",
        "no",
        PastBehavior(
            id="opened_180", label="Opened in the last 180 days", did=[EventCount(event="Email Opened")], days=180
        ),
    )
    j.then(
        "opened_180",
        "yes",
        Email(
            id="domain2",
            label="Email via domain 2",
            content={
                "domain": "mail2",
                "subject": "This week's news",
                "body": "Hi {{first_name}}, ...",
            },
        ),
    )
    j.then(
        "opened_180",
        "no",
        ProfileUpdate(id="sunset", label="Opt out of email", property="email_opt_out", op="set", value=True),
    )
    return j


def monthly_payment_reminder() -> Journey:
    """Monthly payment reminder on the 1st of every month at 10:00 India time.

    A Past Behavior entry (a loan disbursed in the last 365 days and ``loan_status =
    "active"``) on a recurring monthly schedule (day 1, 10:00, Asia/Kolkata), re-entry on so
    the reminder repeats every month → SMS → email. DND 21:00–09:00 every day.

    >>> s = monthly_payment_reminder().settings.schedule
    >>> s.every, s.day_of_month, s.time
    ('month', 1, datetime.time(10, 0))
    """
    j = Journey(
        "Monthly payment reminder",
        id="monthly-payment-reminder",
        timezone="Asia/Kolkata",
        reentry=True,
        journey_timeout=_DAY,
        schedule=Recurring(every="month", day_of_month=1, time=dt.time(10, 0)),
        dnd=Dnd(ranges=[DayRange(start=dt.time(21, 0), end=dt.time(9, 0))]),
    )
    j.add(
        PastBehavior(
            id="due",
            label="Active loan",
            did=[EventCount(event="Loan Disbursed")],
            days=365,
            profile=[PropertyFilter(property="loan_status", op="=", value="active")],
        )
    )
    j.then(
        "due",
        "yes",
        Sms(
            id="sms",
            content={
                "body": "Hi {{first_name}}, your EMI of {{emi_amount}} is due on the 5th. Pay now: {{pay_link}}",
            },
        ),
    )
    j.then(
        "sms",
        "next",
        Email(
            id="email",
            content={
                "subject": "Your payment is due on the 5th",
                "body": "Hi {{first_name}}, your monthly payment of {{emi_amount}} is due on the 5th.",
            },
        ),
    )
    return j


def journey_trigger_pair() -> tuple[Journey, Journey]:
    """Two journeys: everyone sent the push "p1" in Journey 1 enters Journey 2.

    Journey 1: Action "App Launched" → push "p1". Journey 2: entry Journey Trigger
    (journey = Journey 1's id, node "p1") → wait 1 hour → email.

    >>> j1, j2 = journey_trigger_pair()
    >>> j2.nodes[0].journey == j1.id, j2.nodes[0].node
    (True, 'p1')
    """
    j1 = Journey("Journey 1: launch push", id="journey-1")
    j1.add(Action(id="launch", label="App Launched", event="App Launched"))
    j1.then("launch", "yes", Push(id="p1", content={"title": "Welcome back!", "body": "See what's new."}))
    j2 = Journey("Journey 2: follow-up email", id="journey-2")
    j2.add(JourneyTrigger(id="from_j1", label="Sent push p1 in Journey 1", journey=j1.id, node="p1"))
    j2.then("from_j1", "yes", Delay(id="wait", label="Wait 1 hour", duration=_HOUR))
    j2.then("wait", "next", Email(id="email", content={"subject": "More for you", "body": "Hi {{first_name}}!"}))
    return j1, j2


#: Every example, by file name (``<name>.json``), as a function returning a fresh Journey.
EXAMPLES: dict[str, Callable[[], Journey]] = {
    "cart_abandonment": cart_abandonment,
    "reference_journey": reference_journey,
    "purchase_promo": purchase_promo,
    "purchase_promo_reentry": lambda: purchase_promo(reentry=True),
    "ride_tier": ride_tier,
    "email_sunsetting": email_sunsetting,
    "monthly_payment_reminder": monthly_payment_reminder,
    "journey_trigger_1": lambda: journey_trigger_pair()[0],
    "journey_trigger_2": lambda: journey_trigger_pair()[1],
}


def example_path(name: str) -> Path:
    """The bundled JSON file of the example ``name`` (shipped in the package)."""
    if name not in EXAMPLES:
        raise KeyError(f"no example {name!r}; examples are {', '.join(sorted(EXAMPLES))}")
    return Path(__file__).with_name(f"{name}.json")


def load(name: str) -> Journey:
    """The example ``name`` read from the JSON file shipped in the package.

    >>> load("ride_tier").definition == ride_tier().definition
    True
    """
    return Journey.from_def(from_json(example_path(name).read_bytes()))


def write_all(*directories: str | Path) -> list[Path]:
    """Write every example as ``<name>.json`` into each directory (default: this package's
    folder and, when run from a checkout, the repository's ``examples/`` folder).

    >>> import tempfile
    >>> [p.name for p in write_all(tempfile.mkdtemp())][:2]
    ['cart_abandonment.json', 'reference_journey.json']
    """
    if not directories:
        here = Path(__file__).parent
        repo_examples = here.parent.parent / "examples"
        directories = (here, *([repo_examples] if repo_examples.is_dir() else []))
    written = []
    for d in directories:
        for name, fn in EXAMPLES.items():
            p = Path(d) / f"{name}.json"
            p.write_text(to_json(fn().definition) + "\n")
            written.append(p)
    return written


# --------------------------------------------------------------------------- hypothesis strategy


def random_journeys(max_nodes: int = 8) -> Any:
    """A hypothesis strategy of random, valid-shaped :class:`JourneyDef` objects.

    "Valid-shaped" means every value has the right type, so the definition round-trips
    through JSON; it need not pass :func:`journeylab.validate` (connectors may use unknown
    ports, percentages may not sum to 100, ...). Covers every node kind, goal kind,
    schedule kind, DND, limits and positions.

    >>> from hypothesis import given, settings
    >>> @settings(max_examples=5)
    ... @given(random_journeys())
    ... def test(d):
    ...     assert from_json(to_json(d)) == d
    >>> test()
    """
    try:
        from hypothesis import strategies as st
    except ImportError:  # pragma: no cover
        from journeylab.errors import MissingExtraError

        raise MissingExtraError("hypothesis", "dev") from None

    text = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
    word = st.text("abcdefghijklmnopqrstuvwxyz_ -", min_size=1, max_size=8)
    tz = st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8))])
    tds = st.timedeltas(min_value=dt.timedelta(days=-400), max_value=dt.timedelta(days=400))
    zones = st.none() | tz
    times = st.times(timezones=zones)
    # hypothesis's overloads of datetimes() leave out naive bounds with zones that may be None
    # or a timezone (which it accepts: a naive datetime, or one given a drawn timezone)
    datetimes = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=zones)  # type: ignore[arg-type, unused-ignore]
    ints = st.integers(min_value=-(2**31), max_value=2**31)
    floats = st.floats(allow_nan=False, allow_infinity=False)
    scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | floats | text
    values = st.recursive(
        scalars, lambda c: st.lists(c, max_size=3) | st.dictionaries(text, c, max_size=3), max_leaves=5
    )
    weekdays = st.lists(st.sampled_from(WEEKDAYS), max_size=7)
    ops = st.sampled_from(["=", "!=", ">", "<", ">=", "<=", "contains", "in", "exists"])
    filters = st.lists(st.builds(PropertyFilter, property=word, op=ops, value=values), max_size=2)
    matches = st.sampled_from(["exact", "prefix", "contains", "regex"])
    event_match = st.builds(EventMatch, event=word, filters=filters)
    event_count = st.builds(EventCount, event=word, at_least=ints, filters=filters)
    day_range = st.builds(DayRange, days=weekdays, start=times, end=times)
    position = st.none() | st.builds(Position, x=floats, y=floats)
    opt = st.none
    content = st.dictionaries(word, text, max_size=3)

    def engagement(cls: type) -> Callable[..., Any]:
        return lambda **kw: st.builds(
            cls,
            content=content,
            send_at=opt() | times,
            response_window=tds,
            frequency=opt() | st.lists(day_range, max_size=2),
            **kw,
        )

    kinds: dict[str, Callable[..., Any]] = {
        "action": lambda **kw: st.builds(
            Action, event=word, filters=filters, profile=filters, window=opt() | tds, **kw
        ),
        "inaction": lambda **kw: st.builds(
            Inaction, absent=word, within=tds, event=opt() | word, filters=filters, absent_filters=filters, **kw
        ),
        "past_behavior": lambda **kw: st.builds(
            PastBehavior,
            did=st.lists(event_count, max_size=2),
            did_not=st.lists(event_match, max_size=2),
            days=ints,
            profile=filters,
            window=opt() | tds,
            **kw,
        ),
        "date_time": lambda **kw: st.builds(DateTime, property=word, offset=tds, window=opt() | tds, **kw),
        "page_visit": lambda **kw: st.builds(
            PageVisit, url=text, match=matches, event=word, url_property=word, window=opt() | tds, **kw
        ),
        "referrer": lambda **kw: st.builds(
            Referrer,
            source=text,
            match=matches,
            event=word,
            properties=st.lists(word, max_size=2),
            window=opt() | tds,
            **kw,
        ),
        "page_count": lambda **kw: st.builds(PageCount, count=ints, event=word, window=opt() | tds, **kw),
        "profile": lambda **kw: st.builds(ProfileMatch, profile=filters, **kw),
        "journey_trigger": lambda **kw: st.builds(JourneyTrigger, journey=word, node=word, port=opt() | word, **kw),
        "custom_list": lambda **kw: st.builds(CustomList, users=st.lists(word, max_size=3), path=opt() | text, **kw),
        "push": engagement(Push),
        "email": engagement(Email),
        "sms": engagement(Sms),
        "whatsapp": engagement(WhatsApp),
        "web_push": engagement(WebPush),
        "in_app": engagement(InApp),
        "web_popup": engagement(WebPopup),
        "web_exit_intent": engagement(WebExitIntent),
        "webhook": engagement(Webhook),
        "delay": lambda **kw: st.builds(
            Delay,
            duration=opt() | tds,
            at_time=opt() | times,
            weekdays=weekdays,
            property=opt() | word,
            offset=tds,
            **kw,
        ),
        "force_exit": lambda **kw: st.builds(ForceExit, **kw),
        "profile_update": lambda **kw: st.builds(
            ProfileUpdate,
            property=word,
            op=st.sampled_from(["set", "add", "remove", "increment", "decrement"]),
            value=values,
            **kw,
        ),
        "split": lambda **kw: st.builds(
            Split, branches=st.lists(st.builds(SplitBranch, name=word, percent=floats), max_size=3), **kw
        ),
    }
    assert set(kinds) == set(NODE_KINDS), "random_journeys() must cover every node kind"
    goals = st.lists(
        st.builds(ActionGoal, name=word, event=word, filters=filters)
        | st.builds(
            PastBehaviorGoal,
            name=word,
            did=st.lists(event_count, max_size=2),
            did_not=st.lists(event_match, max_size=2),
            days=ints,
            profile=filters,
        ),
        max_size=4,
    )
    schedules = opt() | st.one_of(
        st.builds(OneTime, at=datetimes),
        st.builds(Dates, at=st.lists(datetimes, max_size=3)),
        st.builds(
            Recurring,
            every=st.sampled_from(["day", "week", "month"]),
            time=times,
            weekdays=weekdays,
            day_of_month=opt() | st.integers(-3, 40),
            start=opt() | st.dates(),
            end=opt() | st.dates(),
        ),
    )
    dnd = opt() | st.builds(
        Dnd,
        ranges=st.lists(day_range, max_size=3),
        mode=st.sampled_from(["defer", "discard"]),
        channels=st.lists(st.sampled_from(["push", "sms", "email", "web_push", "in_app"]), max_size=4),
    )
    limits = st.lists(
        st.builds(
            Limit,
            max=ints,
            per=st.sampled_from(["day", "week", "journey"]),
            channel=opt() | st.sampled_from(["push", "email", "sms", "fax"]),
        ),
        max_size=3,
    )
    settings = st.builds(
        Settings,
        timezone=st.sampled_from(["UTC", "Asia/Kolkata", "America/New_York", "Europe/Berlin", "Mars/Olympus"]),
        journey_timeout=opt() | tds,
        reentry=st.booleans(),
        hourly_offset_minutes=st.integers(-5, 70),
        start=opt() | datetimes,
        end=opt() | datetimes,
        schedule=schedules,
        dnd=dnd,
        limits=limits,
        session_gap=tds,
    )

    @st.composite
    def journeys(draw: Any) -> JourneyDef:
        ids = draw(st.lists(word, min_size=0, max_size=max_nodes, unique=True))
        nodes = []
        for nid in ids:
            kind = draw(st.sampled_from(sorted(kinds)))
            nodes.append(draw(kinds[kind](id=st.just(nid), label=text, position=position)))
        connectors = []
        if nodes:
            for _ in range(draw(st.integers(0, 2 * len(nodes)))):
                src = draw(st.sampled_from(nodes))
                ports = ports_of(src)
                port = draw(st.sampled_from(ports) if ports and draw(st.integers(0, 9)) else word)
                connectors.append(Connector(source=src.id, port=port, target=draw(st.sampled_from(ids))))
        return JourneyDef(
            id=draw(word),
            name=draw(text),
            version=draw(st.integers(1, 1000)),
            status=draw(st.sampled_from(["draft", "scheduled", "running", "paused", "stopped"])),
            archived=draw(st.booleans()),
            settings=draw(settings),
            nodes=nodes,
            connectors=connectors,
            goals=draw(goals),
        )

    return journeys()
