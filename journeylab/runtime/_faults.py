"""What kind of failure an exception is, for the runtime's supervision.

* ``transient``: the database cannot be reached or is busy (connection refused or lost, server
  shutting down, SQLite locked): wait and retry the same work; nothing is the input's fault.
* ``input``: the database refused what one unit wrote (a value it cannot store, a constraint):
  redo the unit input by input and set the culprit aside as a dead letter.
* ``fatal``: anything else (a bug, a corrupt database file): stop with the error.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["fault_kind"]

_TRANSIENT = {
    "OperationalError",
    "InterfaceError",
    "DisconnectionError",
    "ConnectionFailure",
    "ConnectionTimeout",
    "AdminShutdown",
    "CannotConnectNow",
    "ConnectionException",
    "TimeoutError",
}
_INPUT = {"DataError", "IntegrityError"}
_SQLITE_FATAL = ("malformed", "not a database", "readonly", "read-only", "disk i/o error", "no such table")


def fault_kind(e: BaseException) -> Literal["transient", "input", "fatal"]:
    """Classify ``e`` (a SQLAlchemy error or a DBAPI error of sqlite3 or psycopg)."""
    orig = getattr(e, "orig", None) or e
    invalidated = getattr(e, "connection_invalidated", False)
    names = {c.__name__ for c in type(orig).__mro__} | {c.__name__ for c in type(e).__mro__}
    text = str(orig).lower()
    if type(orig).__module__.startswith("sqlite3") and any(w in text for w in _SQLITE_FATAL):
        return "fatal"
    if invalidated or names & _TRANSIENT:
        return "transient"
    if names & _INPUT or isinstance(orig, UnicodeError):
        return "input"
    return "fatal"
