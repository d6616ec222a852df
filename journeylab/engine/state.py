"""Per-user engine state: small records the engine updates and drivers store.

The engine never keeps user state of its own: a driver holds one :class:`UserState` per
user and journey and hands it to every call. ``to_dict``/``from_dict`` give a JSON-ready
form so the production runtime can persist it in the same transaction as its outbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["UserState", "Enrollment", "Control", "version_entry", "parse_publish"]


class Enrollment:
    """One stay of a user in the journey: from entry to exit."""

    __slots__ = (
        "n",
        "version",
        "entered_at",
        "node",
        "arrived_at",
        "visit",
        "visits",
        "window_end",
        "timed_out",
        "timeout_at",
        "due",
        "due_kind",
        "msg_id",
        "goal_mark",
        "trigger",
    )

    def __init__(self, n: int, version: int, entered_at: int) -> None:
        self.n = n
        self.version = version
        self.entered_at = entered_at
        self.node = ""
        self.arrived_at = entered_at
        self.visit = 0  # visit number of the current node in this enrollment
        self.visits: dict[str, int] = {}
        self.window_end: int | None = None  # end of the qualifying / phantom window
        self.timed_out = False
        self.timeout_at: int | None = None  # hourly evaluation that moves by `timeout`
        self.due: int | None = None  # node's own next instant (delay end, send time, ...)
        self.due_kind = ""
        self.msg_id: str | None = None  # message the phantom window waits on
        self.goal_mark = entered_at  # last daily goal evaluation
        self.trigger: dict[str, Any] = {}  # properties of the event that entered the user (templates)

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Enrollment:
        e = cls(int(d["n"]), int(d["version"]), int(d["entered_at"]))
        e.node = d["node"]
        e.arrived_at = d["arrived_at"]
        e.visit = d["visit"]
        e.visits = dict(d["visits"])
        e.window_end = d["window_end"]
        e.timed_out = bool(d["timed_out"])
        e.timeout_at = d["timeout_at"]
        e.due = d["due"]
        e.due_kind = d["due_kind"]
        e.msg_id = d["msg_id"]
        e.goal_mark = d["goal_mark"]
        e.trigger = dict(d.get("trigger") or {})
        return e


class UserState:
    """Everything the engine remembers about one user in one journey."""

    __slots__ = (
        "user_id",
        "profile",
        "clock",
        "entries",
        "active",
        "history",
        "pending",
        "pending_props",
        "session_last",
        "session_count",
        "sends",
        "sched_from",
        "date_entry_done",
        "seen_ids",
        "last_exit",
        "messages",
        "ledger",
        "attribution",
        "version_mark",
    )

    def __init__(
        self,
        user_id: str,
        profile: dict[str, Any] | None = None,
        created: int = 0,
        ledger: list[tuple[int, str]] | None = None,
    ) -> None:
        self.user_id = user_id
        self.profile: dict[str, Any] = profile if profile is not None else {}
        self.clock = created  # the last instant processed for this user
        self.entries = 0  # enrollments so far
        self.active: Enrollment | None = None
        self.history: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # for past behaviour
        self.pending: list[int] = []  # inaction-entry first events awaiting the absence
        self.pending_props: list[dict[str, Any]] = []  # their properties (the entry's trigger event)
        self.session_last: int | None = None
        self.session_count = 0
        self.sends: list[tuple[int, str]] = []  # (ts, channel) for campaign limits
        self.sched_from = created  # scheduled runs from here on are still to evaluate
        self.date_entry_done: int | None = None  # date-time entry instant already used
        self.seen_ids: list[str] = []  # recent event ids, for de-duplication
        self.last_exit: int | None = None
        # messages sent to the user: id -> [node, viewed, clicked, delivered, version]
        self.messages: dict[str, list[Any]] = {}
        # the user's messages from every journey, (ts, channel), for account frequency caps: one
        # list shared by the user's states in a journey set (like the profile)
        self.ledger: list[tuple[int, str]] = ledger if ledger is not None else []
        # after a non-goal exit with an attribution window: [until, exit node, version]
        self.attribution: list[Any] | None = None
        self.version_mark = created  # version changes (Control.version_changes) up to here are done

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__slots__}
        d["active"] = self.active.to_dict() if self.active is not None else None
        d["history"] = {k: [list(x) for x in v] for k, v in self.history.items()}
        d["sends"] = [list(x) for x in self.sends]
        d["ledger"] = [list(x) for x in self.ledger]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UserState:
        s = cls(str(d["user_id"]), dict(d["profile"]), int(d["clock"]))
        s.entries = int(d["entries"])
        s.active = Enrollment.from_dict(d["active"]) if d["active"] is not None else None
        s.history = {k: [(int(a), b) for a, b in v] for k, v in d["history"].items()}
        s.pending = [int(x) for x in d["pending"]]
        props = d.get("pending_props")
        s.pending_props = [dict(x) for x in props] if props is not None else [{} for _ in s.pending]
        s.session_last = d["session_last"]
        s.session_count = int(d["session_count"])
        s.sends = [(int(a), str(b)) for a, b in d["sends"]]
        s.sched_from = int(d["sched_from"])
        s.date_entry_done = d["date_entry_done"]
        s.seen_ids = [str(x) for x in d["seen_ids"]]
        s.last_exit = d["last_exit"]
        s.messages = {k: list(v) for k, v in d.get("messages", {}).items()}
        s.ledger = [(int(a), str(b)) for a, b in d.get("ledger", ())]
        a = d.get("attribution")
        s.attribution = [int(a[0]), str(a[1]), int(a[2])] if a else None
        s.version_mark = int(d.get("version_mark") or 0)
        return s


class Control:
    """The journey's lifecycle over time: a sorted list of ``(instant, status)``.

    Status is ``draft`` before the first entry; entries are accepted only while
    ``running``; at ``stopped`` everyone inside exits. An entry ``"publish v<N>"`` (or
    ``"publish v<N> migrate"``) publishes version N of the journey at that instant: new entrants
    use it from then on, and with ``migrate`` the users inside an older version move to it (see
    :meth:`journeylab.engine.Engine.migrate`); it does not change the status.

    >>> c = Control.running_from(100).with_status(200, "paused").with_status(300, "running")
    >>> [c.status_at(t) for t in (50, 100, 250, 300)]
    ['draft', 'running', 'paused', 'running']
    >>> v = Control.running_from(0).with_version(500, 2, migrate=True)
    >>> v.version_changes, v.version_at(499, [1, 2]), v.version_at(500, [1, 2]), v.status_at(600)
    (((500, 2, True),), 1, 2, 'running')
    """

    __slots__ = ("timeline", "stop_at", "version_changes")

    def __init__(self, timeline: tuple[tuple[int, str], ...] = ()) -> None:
        self.timeline = tuple(sorted(timeline, key=lambda x: x[0]))
        stops = [t for t, s in self.timeline if s == "stopped"]
        self.stop_at: int | None = stops[0] if stops else None
        #: ``(instant, version, migrate)`` for every version published during the run, in time order
        self.version_changes: tuple[tuple[int, int, bool], ...] = tuple(
            (t, *parse_publish(s)) for t, s in self.timeline if s.startswith("publish ")
        )

    @classmethod
    def running_from(cls, t: int) -> Control:
        return cls(((t, "running"),))

    def with_status(self, t: int, status: str) -> Control:
        """This control with ``status`` from ``t`` (``running``, ``paused``, ``stopped``, or a
        version published: ``publish v<N>[ migrate]``)."""
        if self.stop_at is not None and t >= self.stop_at:
            return self  # stop is final
        if status.startswith("publish"):
            v, migrate = parse_publish(status)
            return self.with_version(t, v, migrate=migrate)
        return Control((*self.timeline, (t, status)))

    def with_version(self, t: int, version: int, *, migrate: bool = False) -> Control:
        """This control with version ``version`` published at ``t`` (see the class docstring)."""
        return Control((*self.timeline, (t, version_entry(version, migrate))))

    def status_at(self, t: int) -> str:
        st = "draft"
        for at, s in self.timeline:
            if at > t:
                break
            if not s.startswith("publish "):
                st = s
        return st

    def version_at(self, t: int, versions: Iterable[int]) -> int | None:
        """The version new entrants use at ``t``: the last one published at or before ``t``;
        before any, the newest of ``versions`` not published later; ``None`` when the timeline
        publishes no version (then the newest version is live throughout)."""
        if not self.version_changes:
            return None
        live = None
        for at, v, _ in self.version_changes:
            if at > t:
                break
            live = v
        if live is not None:
            return live
        later = {v for _, v, _ in self.version_changes}
        first = [v for v in versions if v not in later]
        return max(first) if first else min(later)

    def first_running(self) -> int | None:
        for t, s in self.timeline:
            if s == "running":
                return t
        return None

    def __repr__(self) -> str:
        return f"Control({self.timeline!r})"


def version_entry(version: int, migrate: bool) -> str:
    """The lifecycle entry that publishes ``version`` (see :class:`Control`).

    >>> version_entry(2, True), parse_publish("publish v2 migrate")
    ('publish v2 migrate', (2, True))
    """
    return f"publish v{int(version)}" + (" migrate" if migrate else "")


def parse_publish(status: str) -> tuple[int, bool]:
    """``(version, migrate)`` of a ``"publish v<N>[ migrate]"`` lifecycle entry; ValueError otherwise."""
    parts = status.split()
    if (
        len(parts) not in (2, 3)
        or parts[0] != "publish"
        or not parts[1].startswith("v")
        or not parts[1][1:].isdigit()
        or (len(parts) == 3 and parts[2] != "migrate")
    ):
        raise ValueError(f"{status!r} is not a version change: write 'publish v<N>' or 'publish v<N> migrate'")
    return int(parts[1][1:]), len(parts) == 3
