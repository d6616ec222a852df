"""Per-user engine state: small records the engine updates and drivers store.

The engine never keeps user state of its own: a driver holds one :class:`UserState` per
user and journey and hands it to every call. ``to_dict``/``from_dict`` give a JSON-ready
form so the production runtime can persist it in the same transaction as its outbox.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UserState", "Enrollment", "Control"]


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
    )

    def __init__(self, user_id: str, profile: dict[str, Any] | None = None, created: int = 0,
                 ledger: list[tuple[int, str]] | None = None) -> None:
        self.user_id = user_id
        self.profile: dict[str, Any] = profile if profile is not None else {}
        self.clock = created  # the last instant processed for this user
        self.entries = 0  # enrollments so far
        self.active: Enrollment | None = None
        self.history: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # for past behaviour
        self.pending: list[int] = []  # inaction-entry first events awaiting the absence
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
        return s


class Control:
    """The journey's lifecycle over time: a sorted list of ``(instant, status)``.

    Status is ``draft`` before the first entry; entries are accepted only while
    ``running``; at ``stopped`` everyone inside exits.

    >>> c = Control.running_from(100).with_status(200, "paused").with_status(300, "running")
    >>> [c.status_at(t) for t in (50, 100, 250, 300)]
    ['draft', 'running', 'paused', 'running']
    """

    __slots__ = ("timeline", "stop_at")

    def __init__(self, timeline: tuple[tuple[int, str], ...] = ()) -> None:
        self.timeline = tuple(sorted(timeline, key=lambda x: x[0]))
        stops = [t for t, s in self.timeline if s == "stopped"]
        self.stop_at: int | None = stops[0] if stops else None

    @classmethod
    def running_from(cls, t: int) -> Control:
        return cls(((t, "running"),))

    def with_status(self, t: int, status: str) -> Control:
        if self.stop_at is not None and t >= self.stop_at:
            return self  # stop is final
        return Control((*self.timeline, (t, status)))

    def status_at(self, t: int) -> str:
        st = "draft"
        for at, s in self.timeline:
            if at > t:
                break
            st = s
        return st

    def first_running(self) -> int | None:
        for t, s in self.timeline:
            if s == "running":
                return t
        return None

    def __repr__(self) -> str:
        return f"Control({self.timeline!r})"
