"""Every validation rule: its code, the JSON path and the message an analyst reads."""

from __future__ import annotations

import datetime as dt
import json

import msgspec
import pytest

from journeylab.errors import JourneyDefinitionError, LifecycleError
from journeylab.examples import EXAMPLES
from journeylab.model import (
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
    WebPopup,
)
from journeylab.model.io import to_dict
from journeylab.model.lifecycle import publish_check
from journeylab.validate import CODES, Issue, ValidationReport, check, validate

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
UTC = dt.UTC
E = Action(id="in", event="Start")  # a valid entry


def J(*nodes, conns=(), goals=(), jid="j", fmt=1, **settings) -> JourneyDef:
    """A definition from nodes, (from, port, to) connector tuples, goals and settings."""
    return JourneyDef(
        id=jid,
        nodes=list(nodes),
        connectors=[Connector(source=s, port=p, target=t) for s, p, t in conns],
        goals=list(goals),
        settings=Settings(**settings),
        format=fmt,
    )


def one(report: ValidationReport, code: str) -> Issue:
    found = [i for i in report if i.code == code]
    assert len(found) == 1, (code, [str(i) for i in report])
    return found[0]


def pb(nid: str, **kw) -> PastBehavior:
    return PastBehavior(id=nid, did=[EventCount(event="Charged")], **kw)


def split(*branches: tuple[str, float]) -> Split:
    return Split(id="s", branches=[SplitBranch(name=n, percent=p) for n, p in branches])


def dnd_push(send_at: dt.time, *ranges: DayRange, channels=None, node=Push) -> JourneyDef:
    extra = {} if channels is None else {"channels": channels}
    return J(E, node(id="p", send_at=send_at), conns=[("in", "yes", "p")], dnd=Dnd(ranges=list(ranges), **extra))


LOOP_MSG = (
    "The loop 'a' → 'b' → 'a' lets a user go round for ever without any time passing; put a Delay or a "
    "segment that waits (for example with a qualifying window) in the loop."
)

# (test id, definition, severity, code, path, message: exact text, or "...fragment" to match a part)
CASES = [
    ("invalid-format-json", "{not json", "error", "invalid-format", "$", "...Not valid JSON"),
    (
        "invalid-format-type",
        {"id": "j", "nodes": [{"kind": "delay", "id": 3}]},
        "error",
        "invalid-format",
        "$.nodes[0].id",
        "Expected `str`, got `int`",
    ),
    (
        "invalid-value",
        J(E, Delay(id="d", duration="soon")),
        "error",
        "invalid-value",
        "$.nodes[1].duration",
        "Invalid ISO8601 duration.",
    ),
    (
        "format-version",
        J(E, fmt=2),
        "error",
        "format-version",
        "$.format",
        "This definition says it is format 2; this journeylab reads format 1.",
    ),
    (
        "empty-id",
        J(E, Push(id=""), conns=[("in", "yes", "")]),
        "error",
        "empty-id",
        "$.nodes[1].id",
        "Node number 2 (Push) has no id; give it a unique name.",
    ),
    (
        "duplicate-node-id",
        J(E, Push(id="p"), Email(id="p"), conns=[("in", "yes", "p")]),
        "error",
        "duplicate-node-id",
        "$.nodes[2].id",
        "Two nodes are called 'p' (numbers 2 and 3); every node needs its own id.",
    ),
    (
        "dangling-to",
        J(E, conns=[("in", "yes", "ghost")]),
        "error",
        "dangling-connector",
        "$.connectors[0].to",
        "A connector leads to node 'ghost', which does not exist.",
    ),
    (
        "dangling-from",
        J(E, Push(id="p"), conns=[("in", "yes", "p"), ("ghost", "yes", "p")]),
        "error",
        "dangling-connector",
        "$.connectors[1].from",
        "A connector starts at node 'ghost', which does not exist.",
    ),
    (
        "unknown-port",
        J(E, Push(id="push"), conns=[("in", "yes", "push"), ("push", "yes", "in")]),
        "error",
        "unknown-port",
        "$.connectors[1].port",
        "Node 'push' has no port 'yes'; its ports are next, viewed, clicked, not_sent, timeout.",
    ),
    (
        "unknown-port-force-exit",
        J(E, ForceExit(id="x"), Push(id="p"), conns=[("in", "yes", "x"), ("x", "next", "p")]),
        "error",
        "unknown-port",
        "$.connectors[1].port",
        "Node 'x' has no ports: users leave the journey there, so no connector can leave it.",
    ),
    (
        "unknown-port-split",
        J(E, split(("A", 50), ("B", 50)), Push(id="p"), conns=[("in", "yes", "s"), ("s", "C", "p")]),
        "error",
        "unknown-port",
        "$.connectors[1].port",
        "Node 's' has no port 'C'; its ports are A, B.",
    ),
    (
        "port-used-twice",
        J(E, Push(id="a"), Push(id="b"), conns=[("in", "yes", "a"), ("in", "yes", "b")]),
        "error",
        "port-used-twice",
        "$.connectors[1].port",
        "Port 'yes' of node 'in' is connected twice (to 'a' and to 'b'); a user can only go one way, so delete one of them.",
    ),
    (
        "no-entry",
        J(
            Action(id="a", event="E", window=H),
            Delay(id="b", duration=H),
            conns=[("a", "yes", "b"), ("b", "next", "a"), ("a", "timeout", "b")],
        ),
        "error",
        "no-entry",
        "$.nodes",
        "The journey has no entry: every segment has a connector leading into it. Start the journey with a segment "
        "that nothing leads into.",
    ),
    (
        "no-entry-empty",
        J(),
        "error",
        "no-entry",
        "$.nodes",
        "The journey has no nodes yet: add an entry segment where users start.",
    ),
    (
        "not-an-entry",
        J(E, Push(id="p")),
        "error",
        "not-an-entry",
        "$.nodes[1]",
        "Nothing leads into Push node 'p', so it would have to start the journey, but only a segment can do that; "
        "connect a node to it or delete it.",
    ),
    (
        "entry-unknown",
        msgspec.structs.replace(J(E), entries=["in", "nope"]),
        "error",
        "entry-unknown",
        "$.entries[1]",
        "Entry 'nope' is not a node of this journey.",
    ),
    (
        "entry-has-incoming",
        msgspec.structs.replace(J(E, Delay(id="d", duration=H), conns=[("in", "yes", "d")]), entries=["in", "d"]),
        "error",
        "entry-has-incoming",
        "$.entries[1]",
        "'d' is listed as an entry, but 'in' leads into it; an entry is where users start, so remove that connector "
        "or take 'd' off the entries.",
    ),
    (
        "orphan-node",
        msgspec.structs.replace(J(E, Action(id="forgot", event="X")), entries=["in"]),
        "error",
        "orphan-node",
        "$.nodes[1]",
        "Nothing leads into node 'forgot' and it is not one of the journey's entries ('in'); connect a node to it, "
        "list it as an entry, or delete it.",
    ),
    (
        "implicit-entries",
        J(E, Action(id="forgot", event="X")),
        "warning",
        "implicit-entries",
        "$.nodes[1]",
        "Nothing leads into node 'forgot', so it starts the journey too, besides 'in'. If the journey has several "
        "entries, list them in 'entries' (Journey.mark_entry); otherwise connect a node to 'forgot'.",
    ),
    (
        "entry-only-trigger",
        J(E, JourneyTrigger(id="t", journey="other", node="p1"), conns=[("in", "yes", "t")]),
        "error",
        "entry-only-mid-journey",
        "$.connectors[0].to",
        "A Journey Trigger node ('t') can only start a journey, but 'in' leads into it; use it as an entry or use "
        "another segment here.",
    ),
    (
        "entry-only-list",
        J(E, CustomList(id="l", users=["u1"]), conns=[("in", "yes", "l")]),
        "error",
        "entry-only-mid-journey",
        "$.connectors[0].to",
        "...A Custom List node ('l') can only start a journey",
    ),
    (
        "entry-port",
        J(E, Push(id="p"), conns=[("in", "timeout", "p")]),
        "error",
        "entry-port",
        "$.connectors[0].port",
        "'in' starts the journey: users enter it only when they qualify and leave at once by 'yes', so its 'timeout' "
        "connector would never be used.",
    ),
    (
        "entry-port-inaction-no",
        J(Inaction(id="in", event="A", absent="B", within=M), Push(id="p"), conns=[("in", "no", "p")]),
        "error",
        "entry-port",
        "$.connectors[0].port",
        "...so its 'no' connector would never be used.",
    ),
    (
        "entry-window",
        J(Action(id="in", event="E", window=H)),
        "warning",
        "entry-window",
        "$.nodes[0].window",
        "'in' starts the journey, and an entry has no qualifying window; the window is ignored.",
    ),
    (
        "inaction-needs-event",
        J(Inaction(id="in", absent="Charged", within=15 * M)),
        "error",
        "inaction-needs-event",
        "$.nodes[0].event",
        "Inaction node 'in' starts the journey, so it needs the first event (for example 'Added To Cart') after which "
        "'Charged' must not happen.",
    ),
    (
        "inaction-event-ignored",
        J(E, Inaction(id="i", event="A", absent="B", within=M), conns=[("in", "yes", "i")]),
        "warning",
        "inaction-event-ignored",
        "$.nodes[1].event",
        "Inaction node 'i' is in the middle of the journey, where it waits from the user's arrival; its first event "
        "'A' is not used.",
    ),
    (
        "unreachable",
        J(E, Delay(id="a", duration=H), Delay(id="b", duration=H), conns=[("a", "next", "b"), ("b", "next", "a")]),
        "warning",
        "unreachable",
        "$.nodes[1]",
        "No user can reach node 'a': no path leads to it from the journey's entry.",
    ),
    (
        "spin-cycle-profile",
        J(
            E,
            ProfileMatch(id="a", profile=[]),
            ProfileUpdate(id="b", property="n", op="increment"),
            conns=[("in", "yes", "a"), ("a", "yes", "b"), ("b", "next", "a")],
        ),
        "error",
        "spin-cycle",
        "$.connectors[1]",
        LOOP_MSG,
    ),
    (
        "spin-cycle-engagement-next",
        J(
            E,
            Push(id="a"),
            Split(id="b", branches=[SplitBranch(name="x", percent=100)]),
            conns=[("in", "yes", "a"), ("a", "next", "b"), ("b", "x", "a")],
        ),
        "error",
        "spin-cycle",
        "$.connectors[1]",
        LOOP_MSG,
    ),
    (
        "spin-cycle-date-time-no",
        J(
            E,
            DateTime(id="a", property="t"),
            Push(id="b"),
            conns=[("in", "yes", "a"), ("a", "no", "b"), ("b", "not_sent", "a")],
        ),
        "error",
        "spin-cycle",
        "$.connectors[1]",
        LOOP_MSG,
    ),
    (
        "spin-cycle-delay-property",
        J(
            E,
            Delay(id="a", property="renewal"),
            ProfileUpdate(id="b", property="n"),
            conns=[("in", "yes", "a"), ("a", "next", "b"), ("b", "next", "a")],
        ),
        "error",
        "spin-cycle",
        "$.connectors[1]",
        LOOP_MSG,
    ),
    (
        "spin-cycle-self",
        J(E, ProfileUpdate(id="a", property="n"), conns=[("in", "yes", "a"), ("a", "next", "a")]),
        "error",
        "spin-cycle",
        "$.connectors[1]",
        "...The loop 'a' → 'a' lets a user go round for ever",
    ),
    (
        "no-timeout-connector-no-window",
        J(E, Action(id="a", event="Charged"), conns=[("in", "yes", "a")]),
        "warning",
        "no-timeout-connector",
        "$.nodes[1]",
        "Users wait here: users who never qualify at node 'a' stay there until the journey timeout; set a qualifying "
        "window and draw a timeout connector to move them on.",
    ),
    (
        "no-timeout-connector-window",
        J(E, Action(id="a", event="Charged", window=D), conns=[("in", "yes", "a")]),
        "warning",
        "no-timeout-connector",
        "$.nodes[1]",
        "Users wait here: users who do not qualify at node 'a' within its 1 day window stay there until the journey "
        "timeout; draw a timeout connector to move them on.",
    ),
    (
        "no-timeout-connector-date-time",
        J(E, DateTime(id="a", property="flight", window=2 * H), conns=[("in", "yes", "a")]),
        "warning",
        "no-timeout-connector",
        "$.nodes[1]",
        "...within its 2 hours window",
    ),
    (
        "timeout-without-window",
        J(E, Action(id="a", event="X"), Push(id="p"), conns=[("in", "yes", "a"), ("a", "timeout", "p")]),
        "error",
        "timeout-without-window",
        "$.connectors[1]",
        "Node 'a' has a timeout connector but no qualifying window, so no user would ever leave by it; set a qualifying "
        "window on the node.",
    ),
    (
        "short-past-behavior-window",
        J(E, pb("a", window=12 * H), Push(id="p"), conns=[("in", "yes", "a"), ("a", "timeout", "p")]),
        "warning",
        "short-past-behavior-window",
        "$.nodes[1].window",
        "Past Behavior node 'a' is checked once a day at midnight, but its window is only 12 hours: users may all "
        "leave by timeout before it is ever checked.",
    ),
    (
        "send-at-in-dnd",
        dnd_push(dt.time(23, 0), DayRange(days=["mon"], start=dt.time(22), end=dt.time(8))),
        "error",
        "send-at-in-dnd",
        "$.nodes[1].send_at",
        "Push node 'p' is set to send at 23:00, inside the do-not-disturb hours 22:00–08:00 (Mon); choose a send time "
        "outside DND or change the DND hours.",
    ),
    (
        "send-at-in-dnd-after-midnight",
        dnd_push(dt.time(7, 30), DayRange(days=["sun"], start=dt.time(22), end=dt.time(8)), node=Sms),
        "error",
        "send-at-in-dnd",
        "$.nodes[1].send_at",
        "...SMS node 'p' is set to send at 07:30, inside the do-not-disturb hours 22:00–08:00 (Sun)",
    ),
    (
        "next-with-response",
        J(
            E,
            Push(id="p"),
            Email(id="a"),
            Email(id="b"),
            Email(id="c"),
            conns=[("in", "yes", "p"), ("p", "next", "a"), ("p", "clicked", "b"), ("p", "timeout", "c")],
        ),
        "error",
        "next-with-response",
        "$.connectors[1]",
        "Node 'p' has both a 'next' connector and a 'clicked' connector; a user can only be in one place, so use "
        "either 'next' or 'viewed'/'clicked' with 'timeout'.",
    ),
    (
        "response-without-timeout",
        J(E, Push(id="p"), Email(id="a"), conns=[("in", "yes", "p"), ("p", "viewed", "a")]),
        "warning",
        "response-without-timeout",
        "$.nodes[1]",
        "Users wait here: users who do not react to node 'p' within its 1 day window stay there until the journey "
        "timeout; draw a timeout connector to move them on.",
    ),
    (
        "timeout-without-response",
        J(E, Push(id="p"), Email(id="a"), conns=[("in", "yes", "p"), ("p", "timeout", "a")]),
        "warning",
        "timeout-without-response",
        "$.connectors[1]",
        "Node 'p' has a timeout connector but no 'viewed' or 'clicked' connector, so the timeout is never used.",
    ),
    (
        "frequency-channel",
        J(E, Push(id="p", frequency=[DayRange(start=dt.time(9), end=dt.time(17))]), conns=[("in", "yes", "p")]),
        "error",
        "frequency-channel",
        "$.nodes[1].frequency",
        "Push node 'p' has delivery windows (campaign frequency), but only In-App, Web Pop-up and Web Exit Intent "
        "messages support them.",
    ),
    (
        "placeholder-content",
        J(E, Email(id="p", content={"subject": "Subject", "body": "Hi {{first_name}}"}), conns=[("in", "yes", "p")]),
        "warning",
        "placeholder-content",
        "$.nodes[1].content",
        "Email node 'p' still has the placeholder text of a new node in 'subject': write the message before it goes out.",
    ),
    (
        "template-syntax",
        J(E, Push(id="p", content={"title": "Hi {{ profile.first_name "}), conns=[("in", "yes", "p")]),
        "error",
        "template-syntax",
        "$.nodes[1].content.title",
        "The 'title' text of Push node 'p' is not a valid template: unexpected end of template, expected 'end of print "
        "statement' (line 1).",
    ),
    (
        "template-unknown-name",
        J(E, Push(id="p", content={"title": "{{ 'Hi ' ~ name }}"}), conns=[("in", "yes", "p")]),
        "warning",
        "template-unknown-name",
        "$.nodes[1].content.title",
        "...uses 'name', which is always empty",
    ),
    (
        "frequency-empty",
        J(E, InApp(id="p", frequency=[]), conns=[("in", "yes", "p")]),
        "warning",
        "frequency-empty",
        "$.nodes[1].frequency",
        "In-App node 'p' has campaign frequency on but no delivery window, so every message will be discarded.",
    ),
    (
        "control-branch-connector",
        J(
            E,
            Split(
                id="s", branches=[SplitBranch(name="A", percent=90), SplitBranch(name="hold", percent=10, control=True)]
            ),
            Push(id="p"),
            conns=[("in", "yes", "s"), ("s", "A", "p"), ("s", "hold", "p")],
            journey_timeout=dt.timedelta(days=1),
        ),
        "error",
        "control-branch-connector",
        "$.connectors[2]",
        "...Branch 'hold' of Split node 's' is a control branch",
    ),
    (
        "control-without-timeout",
        J(
            E,
            Split(
                id="s", branches=[SplitBranch(name="A", percent=90), SplitBranch(name="hold", percent=10, control=True)]
            ),
            Push(id="p"),
            conns=[("in", "yes", "s"), ("s", "A", "p")],
        ),
        "warning",
        "control-without-timeout",
        "$.nodes[1].branches[1].control",
        "...without a journey timeout they stay for ever",
    ),
    (
        "control-uneven-tracking",
        J(
            E,
            Split(
                id="s", branches=[SplitBranch(name="A", percent=90), SplitBranch(name="hold", percent=10, control=True)]
            ),
            Push(id="p"),
            conns=[("in", "yes", "s"), ("s", "A", "p")],
            journey_timeout=dt.timedelta(days=2),
            attribution_window=dt.timedelta(days=1),
        ),
        "warning",
        "control-uneven-tracking",
        "$.nodes[1].branches[1].control",
        "...set an attribution window of at least the journey timeout",
    ),
    (
        "split-sum",
        J(E, split(("A", 50), ("B", 40)), conns=[("in", "yes", "s")]),
        "error",
        "split-sum",
        "$.nodes[1].branches",
        "The branches of Split node 's' add up to 90%; they must add up to 100%.",
    ),
    (
        "split-branch-duplicate",
        J(E, split(("A", 50), ("A", 50)), conns=[("in", "yes", "s")]),
        "error",
        "split-branch-name",
        "$.nodes[1].branches[1].name",
        "Split node 's' has two branches called 'A'; branch names must differ.",
    ),
    (
        "split-branch-empty",
        J(E, split(("A", 50), ("", 50)), conns=[("in", "yes", "s")]),
        "error",
        "split-branch-name",
        "$.nodes[1].branches[1].name",
        "Branch 2 of Split node 's' has no name.",
    ),
    (
        "split-negative",
        J(E, split(("A", 110), ("B", -10)), conns=[("in", "yes", "s")]),
        "error",
        "split-negative",
        "$.nodes[1].branches[1].percent",
        "Branch 'B' of Split node 's' gets -10%; a share must be 0% or more.",
    ),
    (
        "invalid-timezone",
        J(E, timezone="Mars/Olympus"),
        "error",
        "invalid-timezone",
        "$.settings.timezone",
        "'Mars/Olympus' is not a timezone name; use an IANA name such as 'Asia/Kolkata' or 'UTC'.",
    ),
    (
        "invalid-timezone-path",
        J(E, timezone="../etc/passwd"),
        "error",
        "invalid-timezone",
        "$.settings.timezone",
        "...is not a timezone name",
    ),
    (
        "non-positive-window",
        J(
            E,
            Action(id="a", event="X", window=dt.timedelta(0)),
            Push(id="p"),
            conns=[("in", "yes", "a"), ("a", "timeout", "p")],
        ),
        "error",
        "non-positive-duration",
        "$.nodes[1].window",
        "The qualifying window of node 'a' is 0 seconds; it must be longer than zero.",
    ),
    (
        "non-positive-within",
        J(Inaction(id="in", event="A", absent="B", within=-15 * M)),
        "error",
        "non-positive-duration",
        "$.nodes[0].within",
        "The waiting time of Inaction node 'in' is -15 minutes; it must be longer than zero.",
    ),
    (
        "non-positive-response-window",
        J(E, Push(id="p", response_window=-H), conns=[("in", "yes", "p")]),
        "error",
        "non-positive-duration",
        "$.nodes[1].response_window",
        "The viewed/clicked window of node 'p' is -1 hour; it must be longer than zero.",
    ),
    (
        "non-positive-delay",
        J(E, Delay(id="d", duration=dt.timedelta(0)), conns=[("in", "yes", "d")]),
        "error",
        "non-positive-duration",
        "$.nodes[1].duration",
        "The wait of Delay node 'd' is 0 seconds; it must be longer than zero.",
    ),
    (
        "non-positive-journey-timeout",
        J(E, journey_timeout=-D),
        "error",
        "non-positive-duration",
        "$.settings.journey_timeout",
        "The journey timeout is -1 day; it must be longer than zero.",
    ),
    (
        "non-positive-session-gap",
        J(E, session_gap=dt.timedelta(0)),
        "error",
        "non-positive-duration",
        "$.settings.session_gap",
        "The session gap is 0 seconds; it must be longer than zero.",
    ),
    (
        "delay-form-none",
        J(E, Delay(id="d"), conns=[("in", "yes", "d")]),
        "error",
        "delay-form",
        "$.nodes[1]",
        "Delay node 'd' must wait in exactly one way: a duration, a time of day, or a date in a profile property "
        "(it has: none).",
    ),
    (
        "delay-form-two",
        J(E, Delay(id="d", duration=H, at_time=dt.time(9)), conns=[("in", "yes", "d")]),
        "error",
        "delay-form",
        "$.nodes[1]",
        "...(it has: duration, at_time).",
    ),
    (
        "delay-weekdays",
        J(E, Delay(id="d", duration=H, weekdays=["mon"]), conns=[("in", "yes", "d")]),
        "error",
        "delay-weekdays",
        "$.nodes[1].weekdays",
        "Delay node 'd' lists weekdays, which only make sense with a time of day to wait for.",
    ),
    (
        "delay-offset",
        J(E, Delay(id="d", duration=H, offset=-H), conns=[("in", "yes", "d")]),
        "error",
        "delay-offset",
        "$.nodes[1].offset",
        "Delay node 'd' has an offset, which only applies when waiting for a date in a profile property.",
    ),
    (
        "non-numeric-value",
        J(E, ProfileUpdate(id="u", property="rides", op="increment", value="one"), conns=[("in", "yes", "u")]),
        "error",
        "non-numeric-value",
        "$.nodes[1].value",
        "Profile Update node 'u' would increment 'rides' by 'one', which is not a number.",
    ),
    (
        "non-numeric-bool",
        J(E, ProfileUpdate(id="u", property="trials", op="decrement", value=True), conns=[("in", "yes", "u")]),
        "error",
        "non-numeric-value",
        "$.nodes[1].value",
        "...would decrement 'trials' by True",
    ),
    (
        "empty-property",
        J(E, ProfileUpdate(id="u", property=""), conns=[("in", "yes", "u")]),
        "error",
        "empty-property",
        "$.nodes[1].property",
        "Profile Update node 'u' does not name the property to change.",
    ),
    (
        "empty-event",
        J(Action(id="in", event="")),
        "error",
        "empty-event",
        "$.nodes[0].event",
        "Action node 'in' has no event name.",
    ),
    (
        "empty-event-goal",
        J(E, goals=[ActionGoal(name="Purchase", event="")]),
        "error",
        "empty-event",
        "$.goals[0].event",
        "Goal 'Purchase' has no event: say which event counts as a conversion.",
    ),
    (
        "empty-pattern",
        J(PageVisit(id="in", url="")),
        "error",
        "empty-pattern",
        "$.nodes[0].url",
        "Page Visit node 'in' has an empty url.",
    ),
    (
        "invalid-regex-page",
        J(PageVisit(id="in", url="/cart/(", match="regex")),
        "error",
        "invalid-regex",
        "$.nodes[0].url",
        "...The pattern '/cart/(' of node 'in' is not a valid regular expression",
    ),
    (
        "invalid-regex-referrer",
        J(Referrer(id="in", source="[fb", match="regex")),
        "error",
        "invalid-regex",
        "$.nodes[0].source",
        "...The pattern '[fb' of node 'in' is not a valid regular expression",
    ),
    (
        "invalid-count-page",
        J(PageCount(id="in", count=0)),
        "error",
        "invalid-count",
        "$.nodes[0].count",
        "Page Count node 'in' counts 0 pages; it must be at least 1.",
    ),
    (
        "invalid-count-at-least",
        J(PastBehavior(id="in", did=[EventCount(event="Charged", at_least=0)])),
        "error",
        "invalid-count",
        "$.nodes[0].did[0].at_least",
        "'Charged' must be done at least once; 'at least 0 times' means nothing.",
    ),
    (
        "invalid-days",
        J(pb("in", days=0)),
        "error",
        "invalid-days",
        "$.nodes[0].days",
        "Past Behavior node 'in' looks back 0 days; it must look back at least 1 day.",
    ),
    (
        "invalid-days-goal",
        J(E, goals=[PastBehaviorGoal(name="Spender", days=-1)]),
        "error",
        "invalid-days",
        "$.goals[0].days",
        "Goal 'Spender' looks back -1 days; it must look back at least 1 day.",
    ),
    (
        "filter-in-needs-list",
        J(Action(id="in", event="Charged", filters=[PropertyFilter(property="item", op="in", value="shoes")])),
        "error",
        "filter-in-needs-list",
        "$.nodes[0].filters[0].value",
        "The filter on 'item' uses 'in', so its value must be a list of allowed values.",
    ),
    (
        "custom-list-empty",
        J(CustomList(id="in")),
        "error",
        "custom-list-empty",
        "$.nodes[0]",
        "Custom List node 'in' has neither user ids nor a file of user ids, so nobody would enter.",
    ),
    (
        "trigger-incomplete",
        J(JourneyTrigger(id="in", journey="journey-1", node="")),
        "error",
        "trigger-incomplete",
        "$.nodes[0].node",
        "Journey Trigger node 'in' must name the journey and the node that trigger it.",
    ),
    (
        "self-trigger",
        J(JourneyTrigger(id="in", journey="j", node="p1")),
        "error",
        "self-trigger",
        "$.nodes[0].journey",
        "Journey Trigger node 'in' listens to node 'p1' of this same journey; a Journey Trigger starts a journey from "
        "another journey.",
    ),
    (
        "invalid-position",
        J(Action(id="in", event="E", position=Position(x=float("nan"), y=0))),
        "error",
        "invalid-position",
        "$.nodes[0].position",
        "Node 'in' has a canvas position that is not a number.",
    ),
    (
        "range-empty",
        J(E, dnd=Dnd(ranges=[DayRange(start=dt.time(22), end=dt.time(22))])),
        "error",
        "range-empty",
        "$.settings.dnd.ranges[0]",
        "A do-not-disturb range starts and ends at 22:00; give different start and end times (an end before the start "
        "runs past midnight).",
    ),
    (
        "range-no-days",
        J(E, dnd=Dnd(ranges=[DayRange(days=[], start=dt.time(22), end=dt.time(8))])),
        "error",
        "range-no-days",
        "$.settings.dnd.ranges[0].days",
        "A do-not-disturb range applies on no weekday; pick at least one.",
    ),
    (
        "time-with-offset",
        J(E, Push(id="p", send_at=dt.time(10, tzinfo=UTC)), conns=[("in", "yes", "p")]),
        "error",
        "time-with-offset",
        "$.nodes[1].send_at",
        "The send time of node 'p' 10:00:00+00:00 carries a UTC offset; times of day are read in the journey's timezone "
        "(UTC), so give it without an offset.",
    ),
    (
        "too-many-goals",
        J(E, goals=[ActionGoal(name=f"g{i}", event="E") for i in range(4)]),
        "error",
        "too-many-goals",
        "$.goals[3]",
        "A journey can have at most 3 goals; goal 'g3' is number 4. Remove a goal.",
    ),
    (
        "duplicate-goal-name",
        J(E, goals=[ActionGoal(name="Buy", event="A"), PastBehaviorGoal(name="Buy")]),
        "error",
        "duplicate-goal-name",
        "$.goals[1].name",
        "Two goals are called 'Buy'; give each goal its own name.",
    ),
    (
        "empty-goal-name",
        J(E, goals=[ActionGoal(name="", event="A")]),
        "error",
        "empty-goal-name",
        "$.goals[0].name",
        "Goal number 1 has no name; goals are reported by name.",
    ),
    (
        "hourly-offset",
        J(E, hourly_offset_minutes=60),
        "error",
        "hourly-offset",
        "$.settings.hourly_offset_minutes",
        "Node timeouts are evaluated every hour at minute 60; the minute must be between 0 and 59.",
    ),
    (
        "limit-max",
        J(E, limits=[Limit(max=0, per="week")]),
        "error",
        "limit-max",
        "$.settings.limits[0].max",
        "A campaign limit of 0 messages per week would block every message; use 1 or more.",
    ),
    (
        "limit-channel",
        J(E, limits=[Limit(max=1), Limit(max=2, channel="fax")]),
        "error",
        "limit-channel",
        "$.settings.limits[1].channel",
        "...A campaign limit names channel 'fax', which does not exist",
    ),
    (
        "dnd-always",
        J(
            E,
            dnd=Dnd(
                ranges=[
                    DayRange(start=dt.time(20), end=dt.time(9)),
                    DayRange(start=dt.time(8, 30), end=dt.time(20, 0, 1)),
                ]
            ),
        ),
        "error",
        "dnd-always",
        "$.settings.dnd.ranges",
        "The do-not-disturb ranges together cover every hour of the week, so no push/sms/email/web_push message "
        "could ever be sent (each would wait until the journey timeout).",
    ),
    (
        "dnd-channel",
        J(E, dnd=Dnd(ranges=[], channels=["push", "in_app"])),
        "error",
        "dnd-channel",
        "$.settings.dnd.channels[1]",
        "Do-not-disturb applies to push, sms, email, web_push only, not to 'in_app'.",
    ),
    (
        "schedule-weekdays",
        J(pb("in"), schedule=Recurring(every="week")),
        "error",
        "schedule-weekdays",
        "$.settings.schedule.weekdays",
        "A weekly schedule needs the weekdays it runs on.",
    ),
    (
        "schedule-day-of-month",
        J(pb("in"), schedule=Recurring(every="month", day_of_month=32)),
        "error",
        "schedule-day-of-month",
        "$.settings.schedule.day_of_month",
        "A monthly schedule needs the day of the month it runs on, from 1 to 31 (it has 32).",
    ),
    (
        "schedule-day-of-month-missing",
        J(pb("in"), schedule=Recurring(every="month")),
        "error",
        "schedule-day-of-month",
        "$.settings.schedule.day_of_month",
        "A monthly schedule needs the day of the month it runs on, from 1 to 31.",
    ),
    (
        "schedule-empty",
        J(pb("in"), schedule=Dates(at=[])),
        "error",
        "schedule-empty",
        "$.settings.schedule.at",
        "The schedule 'several dates' lists no date; add at least one.",
    ),
    (
        "start-after-end",
        J(E, start=dt.datetime(2024, 2, 1, tzinfo=UTC), end=dt.datetime(2024, 2, 1, tzinfo=UTC)),
        "error",
        "start-after-end",
        "$.settings.end",
        "The journey ends (2024-02-01T00:00:00+00:00) before or when it starts (2024-02-01T00:00:00+00:00); the end "
        "must come after the start.",
    ),
    (
        "start-after-end-recurring",
        J(pb("in"), schedule=Recurring(every="day", start=dt.date(2024, 3, 1), end=dt.date(2024, 2, 1))),
        "error",
        "start-after-end",
        "$.settings.schedule.end",
        "The recurring schedule ends on 2024-02-01, before it starts on 2024-03-01.",
    ),
    (
        "naive-datetime-start",
        J(E, start=dt.datetime(2024, 1, 1, 9)),
        "error",
        "naive-datetime",
        "$.settings.start",
        "The start (2024-01-01T09:00:00) has no timezone; write it with a UTC offset, for example "
        "2024-01-01T09:00:00+00:00.",
    ),
    (
        "naive-datetime-end",
        J(E, end=dt.datetime(2024, 1, 1, 9)),
        "error",
        "naive-datetime",
        "$.settings.end",
        "...The end (2024-01-01T09:00:00) has no timezone",
    ),
    (
        "naive-datetime-one-time",
        J(pb("in"), schedule=OneTime(at=dt.datetime(2024, 1, 1))),
        "error",
        "naive-datetime",
        "$.settings.schedule.at",
        "...The scheduled run (2024-01-01T00:00:00) has no timezone",
    ),
    (
        "naive-datetime-dates",
        J(pb("in"), schedule=Dates(at=[dt.datetime(2024, 1, 1, tzinfo=UTC), dt.datetime(2024, 1, 2)])),
        "error",
        "naive-datetime",
        "$.settings.schedule.at[1]",
        "...Scheduled run 2 (2024-01-02T00:00:00) has no timezone",
    ),
]


@pytest.mark.parametrize(
    ("defn", "severity", "code", "path", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_rule(defn, severity, code, path, message):
    found = [i for i in validate(defn) if i.code == code]
    assert found, [str(i) for i in validate(defn)]
    issue = found[0]
    assert (issue.severity, issue.code, issue.path) == (severity, code, path)
    if message.startswith("..."):
        assert message[3:] in issue.message
    else:
        assert issue.message == message
    assert CODES[code][0] == severity


SET_CODES = {"duplicate-version", "trigger-unknown-node", "trigger-journey-absent"}  # journeys run together
COHORT_CODES = {"template-property-missing"}  # validate(..., cohort=): tests/test_templates.py


def test_every_code_has_a_case():
    assert {c[3] for c in CASES} | SET_CODES | COHORT_CODES == set(CODES)


def test_journeys_run_together_are_checked_as_a_set():
    from journeylab.errors import InvalidJourneyError, JourneyWarning
    from journeylab.examples import journey_trigger_pair
    from journeylab.validate import check_journeys

    j1, j2 = (j.definition for j in journey_trigger_pair())
    assert set(check_journeys([j1, j2])) == {j1.id, j2.id}
    # the triggered journey alone: nobody can enter through its trigger (a warning, once per text)
    with pytest.warns(
        JourneyWarning,
        match=r"\$.nodes\[0\].journey: Journey Trigger node 'from_j1' listens to journey "
        r"'journey-1', which is not run here",
    ) as rec:
        reports = check_journeys([j2])
    assert [i.code for i in reports[j2.id].warnings] == ["trigger-journey-absent"] and len(rec) == 1
    # a trigger on a node the other journey does not have; one version given twice
    bad = msgspec.structs.replace(j2, nodes=[msgspec.structs.replace(j2.nodes[0], node="nope"), *j2.nodes[1:]])
    with pytest.raises(InvalidJourneyError) as e:
        check_journeys([j1, bad, j1])
    assert e.value.path == "$.version"
    assert [i.code for i in e.value.reports[j1.id].errors] == ["duplicate-version"]
    assert [(i.code, i.path) for i in e.value.reports[j2.id].errors] == [("trigger-unknown-node", "$.nodes[0].node")]
    assert (
        "journey 'journey-2' cannot run: validation found 1 error(s)\n  $.nodes[0].node: Journey Trigger node "
        "'from_j1' listens to node 'nope', which journey 'journey-1' does not have." in str(e.value)
    )


def test_valid_journey_has_no_issue():
    d = J(E, Push(id="p"), conns=[("in", "yes", "p")])
    r = validate(d)
    assert r.ok and not r.issues and str(r) == "No problems found."


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_examples_have_no_error(name):
    r = validate(EXAMPLES[name]())
    assert r.errors == [], str(r)
    assert r.warnings == [], str(r)


def test_issue_carries_the_node_id():
    r = validate(J(E, Push(id="p")))
    assert one(r, "not-an-entry").node == "p"


# ------------------------------------------------------------------ loops that wait are fine


@pytest.mark.parametrize(
    "waiter, port",
    [
        (Delay(id="w", duration=H), "next"),
        (Delay(id="w", at_time=dt.time(9)), "next"),
        (Action(id="w", event="Opened", window=H), "yes"),
        (Action(id="w", event="Opened", window=H), "timeout"),
        (Inaction(id="w", absent="Opened", within=H), "yes"),
        (Inaction(id="w", absent="Opened", within=H), "no"),
        (PastBehavior(id="w", did=[EventCount(event="Opened")]), "no"),
        (DateTime(id="w", property="renewal", window=H), "timeout"),
        (PageVisit(id="w", url="/cart", window=H), "yes"),
        (Referrer(id="w", source="facebook", window=H), "timeout"),
        (PageCount(id="w", count=3, window=H), "yes"),
        (Push(id="w"), "viewed"),
        (Push(id="w"), "clicked"),
        (Push(id="w"), "timeout"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_loop_through_a_waiting_node_is_allowed(waiter, port):
    conns = [("in", "yes", "w"), (("w", port, "u")), ("u", "next", "w")]
    d = J(E, waiter, ProfileUpdate(id="u", property="n", op="increment"), conns=conns)
    assert "spin-cycle" not in validate(d).codes


def test_loop_through_not_sent_spins():
    d = J(
        E,
        Push(id="w"),
        ProfileUpdate(id="u", property="n"),
        conns=[("in", "yes", "w"), ("w", "not_sent", "u"), ("u", "next", "w")],
    )
    assert one(validate(d), "spin-cycle").path == "$.connectors[1]"


def test_loop_through_date_time_yes_spins():
    """A user back at a Date Time node at no time later arrives at its very date and leaves by
    'yes' at once, again and again: every driver used to raise "moved 10000 times at one
    instant"; validation refuses the loop."""
    d = J(
        E,
        DateTime(id="w", property="renewal"),
        ProfileUpdate(id="u", property="n", op="increment"),
        conns=[("in", "yes", "w"), ("w", "yes", "u"), ("u", "next", "w")],
    )
    issue = one(validate(d), "spin-cycle")
    assert issue.path == "$.connectors[1]" and issue.severity == "error"


def test_two_separate_spinning_loops_are_both_reported():
    d = J(
        E,
        Split(id="s", branches=[SplitBranch(name="a", percent=50), SplitBranch(name="b", percent=50)]),
        ProfileUpdate(id="u1", property="n"),
        ProfileUpdate(id="u2", property="n"),
        conns=[("in", "yes", "s"), ("s", "a", "u1"), ("u1", "next", "s"), ("s", "b", "u2"), ("u2", "next", "u2")],
    )
    spins = [i for i in validate(d) if i.code == "spin-cycle"]
    assert len(spins) == 2


# ------------------------------------------------------------------ rules that do not fire


def test_entry_segments_do_not_warn_about_waiting():
    d = J(E, Action(id="a", event="X", window=H), Push(id="p"), conns=[("in", "yes", "a"), ("a", "timeout", "p")])
    assert validate(d).issues == ()


def test_mid_journey_past_behavior_without_window_does_not_wait():
    d = J(E, pb("a"), conns=[("in", "yes", "a")])
    assert validate(d).issues == ()


def test_past_behavior_with_a_day_window_is_fine():
    d = J(E, pb("a", window=D), Push(id="p"), conns=[("in", "yes", "a"), ("a", "timeout", "p")])
    assert validate(d).issues == ()


def test_viewed_with_timeout_is_fine():
    d = J(
        E,
        Push(id="p"),
        Email(id="a"),
        Email(id="b"),
        conns=[("in", "yes", "p"), ("p", "viewed", "a"), ("p", "timeout", "b")],
    )
    assert validate(d).issues == ()


@pytest.mark.parametrize(
    "send_at, ranges, channels, node",
    [
        (dt.time(12), [DayRange(start=dt.time(22), end=dt.time(8))], None, Push),  # outside
        (dt.time(8), [DayRange(start=dt.time(22), end=dt.time(8))], None, Push),  # end is open
        (dt.time(23), [DayRange(start=dt.time(22), end=dt.time(8))], ["sms"], Push),  # push not under DND
        (dt.time(23), [DayRange(start=dt.time(22), end=dt.time(8))], None, InApp),  # in-app never under DND
        (dt.time(7), [DayRange(days=["mon"], start=dt.time(9), end=dt.time(17))], None, Email),
    ],
)
def test_send_at_outside_dnd_is_fine(send_at, ranges, channels, node):
    assert validate(dnd_push(send_at, *ranges, channels=channels, node=node)).issues == ()


def test_split_sums_with_float_rounding_are_fine():
    d = J(E, split(("A", 33.3), ("B", 33.3), ("C", 33.4)), conns=[("in", "yes", "s")])
    assert validate(d).issues == ()
    d = J(E, split(*[(str(i), 10.0) for i in range(10)]), conns=[("in", "yes", "s")])
    assert validate(d).issues == ()


def test_split_nan_percent_is_an_error():
    r = validate(J(E, split(("A", float("nan")), ("B", 100)), conns=[("in", "yes", "s")]))
    assert {"split-negative", "split-sum"} <= set(r.codes)


def test_regex_is_only_compiled_for_regex_matching():
    assert validate(J(PageVisit(id="in", url="/cart/(", match="prefix"))).issues == ()
    assert validate(J(PageVisit(id="in", url=r"^/cart/\d+$", match="regex"))).issues == ()


def test_profile_update_numbers_are_fine():
    for value in (None, 1, 2.5, -3):
        d = J(E, ProfileUpdate(id="u", property="n", op="increment", value=value), conns=[("in", "yes", "u")])
        assert validate(d).issues == (), value


def test_web_popup_frequency_is_fine():
    d = J(
        E,
        WebPopup(id="p", frequency=[DayRange(days=["mon", "tue"], start=dt.time(9), end=dt.time(18))]),
        conns=[("in", "yes", "p")],
    )
    assert validate(d).issues == ()


def test_monthly_schedule_on_the_31st_is_fine():
    assert validate(J(pb("in"), schedule=Recurring(every="month", day_of_month=31))).issues == ()


def test_aware_schedule_and_window_are_fine():
    d = J(
        pb("in"),
        start=dt.datetime(2024, 1, 1, tzinfo=UTC),
        end=dt.datetime(2024, 2, 1, tzinfo=UTC),
        schedule=Dates(at=[dt.datetime(2024, 1, 5, 10, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))]),
    )
    assert validate(d).issues == ()


# ------------------------------------------------------------------ inputs and check()


def test_validate_accepts_journey_dict_and_json():
    j = EXAMPLES["ride_tier"]()
    assert validate(j).ok
    assert validate(j.to_json()).ok
    assert validate(j.to_json().encode()).ok
    from journeylab.model import to_dict

    assert validate(to_dict(j.definition)).ok


def test_validate_rejects_other_types():
    with pytest.raises(TypeError):
        validate(42)


def test_check_returns_the_definition():
    text = EXAMPLES["cart_abandonment"]().to_json()
    d = check(text)
    assert isinstance(d, JourneyDef) and d.id == "cart-abandonment"
    assert check(d) is d
    assert check(Journey.from_def(d)) is d


def test_check_raises_for_the_first_error():
    bad = {"id": "j", "nodes": [{"kind": "action", "id": "in", "event": "E"}], "settings": {"timezone": "Nowhere"}}
    with pytest.raises(JourneyDefinitionError) as e:
        check(bad)
    assert e.value.path == "$.settings.timezone"
    assert e.value.message.startswith("'Nowhere' is not a timezone name")
    assert e.value.report.codes == ["invalid-timezone"]


def test_check_raises_for_bad_json_with_a_path():
    with pytest.raises(JourneyDefinitionError) as e:
        check('{"id": "j", "nodes": [{"kind": "teleport", "id": "x"}]}')
    assert e.value.path == "$.nodes[0].kind"


def test_check_ignores_warnings():
    d = J(E, Action(id="a", event="X"), conns=[("in", "yes", "a")])
    assert check(d) is d


def test_report_renders():
    r = validate(J(E, Push(id="p"), timezone="Nowhere"))
    text = str(r)
    assert text.startswith("2 error(s), 0 warning(s)")
    assert "error: $.settings.timezone: 'Nowhere' is not a timezone name" in text
    html = r._repr_html_()
    assert "<table>" in html and "$.settings.timezone" in html
    df = r.to_frame()
    assert list(df.columns) == ["severity", "code", "path", "node", "message"]
    assert df["code"].tolist() == ["not-an-entry", "invalid-timezone"]
    assert len(r) == 2 and r.warnings == []
    with pytest.raises(JourneyDefinitionError):
        r.raise_for_errors()
    ValidationReport(()).raise_for_errors()


def test_publish_is_blocked_by_errors_and_not_by_warnings():
    from journeylab.errors import LifecycleError

    j = Journey("x", id="x")
    j.add(E)
    j.then("in", "yes", Action(id="a", event="X"))  # warning only
    j2 = Journey.from_def(j.definition)
    j2.configure(timezone="Nowhere")
    with pytest.raises(LifecycleError, match=r"\$\.settings\.timezone: 'Nowhere' is not a timezone name"):
        j2.publish()
    assert j.publish().status == "running"


def test_dnd_always_needs_every_hour_of_every_weekday():
    from journeylab.validate._settings import _covers_week

    night = DayRange(start=dt.time(20), end=dt.time(9))
    day = DayRange(start=dt.time(9), end=dt.time(20))
    assert _covers_week([night, day])  # [start, end): 09:00 and 20:00 belong to the next range
    assert not _covers_week([night, DayRange(start=dt.time(9, 0, 1), end=dt.time(20))])  # 09:00:00 is free
    six_days = DayRange(days=["mon", "tue", "wed", "thu", "fri", "sat"], start=dt.time(0), end=dt.time(23, 59, 59))
    assert not _covers_week([six_days, night])  # Sunday 09:00-20:00 is free
    # a range crossing midnight belongs to the day it starts: Sunday night covers Monday morning
    week_days = DayRange(days=["mon", "tue", "wed", "thu", "fri", "sat"], start=dt.time(6), end=dt.time(6))
    assert not _covers_week([week_days])  # start == end is refused elsewhere, never read as "all day"
    daily = DayRange(start=dt.time(6), end=dt.time(5, 59))
    assert not _covers_week([daily])  # 05:59-06:00 free every day
    assert _covers_week(
        [daily, DayRange(days=["mon", "tue", "wed", "thu", "fri", "sat", "sun"], start=dt.time(5), end=dt.time(7))]
    )
    sun_into_mon = DayRange(days=["sun"], start=dt.time(6), end=dt.time(6, 30))
    other = DayRange(days=["mon", "tue", "wed", "thu", "fri", "sat"], start=dt.time(6, 30), end=dt.time(6, 30))
    assert not _covers_week([sun_into_mon, other])


# ------------------------------------------------------------------ values JSON cannot carry (#16 finding 8)
_CART = to_dict(EXAMPLES["cart_abandonment"]().definition)


def _cart_text(**replace: str) -> str:
    """The cart abandonment example as JSON text, with the filter ``amount > 0`` on its
    "did Charged?" node and some raw JSON tokens put in place of others."""
    d = json.loads(json.dumps(_CART))
    d["nodes"][3]["filters"] = [{"property": "amount", "op": ">", "value": 0}]
    text = json.dumps(d)
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("token", "path", "message"),
    [
        ("9" * 4401, "$.nodes[3].filters[0].value", "An integer of 4401 digits: at most 64-bit integers"),
        ("-" + "9" * 4401, "$.nodes[3].filters[0].value", "An integer of 4401 digits: at most 64-bit integers"),
        (str(2**63), "$.nodes[3].filters[0].value", "Integer out of range: at most 64-bit integers"),
        ("NaN", "$.nodes[3].filters[0].value", "NaN is not a number JSON can hold"),
        ("Infinity", "$.nodes[3].filters[0].value", "Infinity is not a number JSON can hold"),
        ("-Infinity", "$.nodes[3].filters[0].value", "-Infinity is not a number JSON can hold"),
        ("1e400", "$.nodes[3].filters[0].value", "Infinity is not a number JSON can hold"),
    ],
    ids=["4401-digits", "4401-digits-negative", "2**63", "NaN", "Infinity", "-Infinity", "1e400"],
)
def test_json_numbers_json_cannot_carry_are_issues_with_a_path(token, path, message):
    text = _cart_text(**{'"value": 0': f'"value": {token}'})
    report = validate(text)  # documented never to raise
    assert [(i.code, i.path, i.message) for i in report.errors] == [("invalid-format", path, message)]
    with pytest.raises(JourneyDefinitionError) as e:
        check(text)
    assert e.value.path == path


def test_a_huge_integer_anywhere_is_an_issue_not_an_exception():
    text = _cart_text(**{'"name": "Cart abandonment"': '"name": "Cart", "version": ' + "1" * 4401})
    assert [(i.code, i.path) for i in validate(text).errors] == [("invalid-format", "$.version")]
    d = J(E, ProfileUpdate(id="u", property="n", op="increment", value=10**4400), conns=[("in", "yes", "u")])
    assert [(i.code, i.path) for i in validate(d).errors] == [("invalid-value", "$.nodes[1].value")]


@pytest.mark.parametrize(
    ("old", "new", "path"),
    [
        ('"name": "Cart abandonment"', '"name": "Cart \\udfff"', "$.name"),
        ('"title":', '"ti\\ud800tle":', "$.nodes[1].content"),  # a key: the object holding it
        ('"event": "Charged"', '"event": "Ch\\udfffarged"', "$.nodes[3].event"),
    ],
    ids=["name", "key", "event"],
)
def test_text_with_a_lone_surrogate_is_refused_with_its_path(old, new, path):
    report = validate(_cart_text(**{old: new}))
    assert [(i.code, i.path) for i in report.errors] == [("invalid-format", path)]
    assert "lone surrogate" in report.errors[0].message


def test_python_built_journeys_with_nan_infinity_or_surrogates_are_refused():
    base = EXAMPLES["cart_abandonment"]().definition
    did = base.nodes[3]
    for value, message in (
        (float("nan"), "NaN is not"),
        (float("inf"), "Infinity is not"),
        (2**64, "Integer out of range"),
    ):
        node = msgspec.structs.replace(did, filters=[PropertyFilter(property="amount", op=">", value=value)])
        d = msgspec.structs.replace(base, nodes=[*base.nodes[:3], node, base.nodes[4]])
        report = validate(d)
        assert [(i.code, i.path) for i in report.errors] == [("invalid-value", "$.nodes[3].filters[0].value")], value
        assert report.errors[0].message.startswith(message)
    report = validate(msgspec.structs.replace(base, name="Cart \udfff"))
    assert [(i.code, i.path) for i in report.errors] == [("invalid-value", "$.name")]
    with pytest.raises(LifecycleError, match=r"\$\.name"):
        publish_check(msgspec.structs.replace(base, name="Cart \udfff"))


def test_a_rule_that_reports_a_nan_is_not_doubled_by_the_value_check():
    r = validate(J(E, split(("A", float("nan")), ("B", 100)), conns=[("in", "yes", "s")]))
    assert "invalid-value" not in r.codes
    r = validate(J(Action(id="in", event="E", position=Position(x=float("inf"), y=0))))
    assert r.codes == ["invalid-position"]


def test_64_bit_integers_are_fine():
    for v in (2**63 - 1, -(2**63)):
        assert validate(_cart_text(**{'"value": 0': f'"value": {v}'})).ok
