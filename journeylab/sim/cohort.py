"""Cohorts: a profiles table and an events table, checked before anything runs.

>>> import pandas as pd
>>> profiles = pd.DataFrame({"user_id": ["a", "b"], "push_token": ["t", None]})
>>> events = pd.DataFrame({"user_id": ["a"], "ts": pd.to_datetime(["2026-10-01 10:00"], utc=True),
...                        "event": ["Added To Cart"]})
>>> c = Cohort(profiles, events)
>>> c.n_users, c.n_events
(2, 1)
>>> Cohort(profiles, events.assign(ts=pd.to_datetime(["2026-10-01 10:00"])))
Traceback (most recent call last):
...
journeylab.errors.CohortError: events.ts: timestamps have no timezone; pass timezone='Asia/Kolkata' (or the zone they were recorded in) to read them
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylab.datasets._arrow import array_key, arrow_dictionary, dictionary_is_in, positions_in
from journeylab.errors import CohortError

__all__ = ["Cohort", "read_table"]

_CORE = ("user_id", "ts", "event")


def read_table(source: Any, what: str) -> pd.DataFrame:
    """A DataFrame from a DataFrame, or a CSV / Parquet path."""
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, str | Path):
        p = Path(source)
        if not p.exists():
            raise CohortError(f"file {p} does not exist", what)
        try:
            if p.suffix.lower() in (".parquet", ".pq") or p.is_dir():
                return pd.read_parquet(p)
            if p.suffix.lower() in (".csv", ".txt", ".gz"):
                return pd.read_csv(p)
        except Exception as e:  # a reader's own error, reported with where it happened
            raise CohortError(f"cannot read {p}: {e}", what) from None
        raise CohortError(f"{p}: use a .csv or .parquet file", what)
    raise CohortError(f"expected a DataFrame or a file path, got {type(source).__name__}", what)


def _text(col: pd.Series) -> pd.Series:
    """A column of identifiers as text; a categorical one keeps its codes (only its categories
    are made text: no string per row), as does an Arrow dictionary column of strings."""
    if arrow_dictionary(col) is not None:
        return col
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
            return col
        return col.cat.rename_categories([str(c) for c in cats])
    return col.astype(str)


def _profile_rows(ids: pd.Series, dictionary: pa.Array | None) -> tuple[bool, np.ndarray | None, bool]:
    """Whether the profiles' ``ids`` are distinct, the profile row of each value of an events'
    user id ``dictionary`` (-1: no profile; ``None`` without a dictionary), and whether the ids
    are in increasing order (then their rows are in id order). Ids in increasing order are
    distinct, and the dictionary's values are looked up among them; otherwise one hash pass
    over both: Arrow's dictionary encoding numbers values by first appearance, so the ids are
    distinct when they get 0, 1, 2... and a dictionary value numbered below their count is the
    id of that row.

    >>> u, rows, inc = _profile_rows(pd.Series(["a", "b"]), pa.array(["b", "z"]))
    >>> u, rows.tolist(), inc
    (True, [1, -1], True)
    >>> _profile_rows(pd.Series(["a", "a"]), None)[0]
    False
    >>> u, rows, inc = _profile_rows(pd.Series(["b", "a", "c"]), pa.array(["c", "z", "a"]))  # any order
    >>> u, rows.tolist(), inc
    (True, [2, -1, 1], False)
    """
    n = len(ids)
    own = pa.array(ids, type=pa.string())
    if isinstance(own, pa.ChunkedArray):  # (an Arrow-backed column)
        own = own.combine_chunks()
    if n > 1 and not own.null_count and pc.all(pc.greater(own[1:], own[:-1])).as_py():
        # ids in increasing order (``write_cohort`` orders profiles by id) are distinct: only
        # the dictionary's values are looked up (a hash of the ids, not of both)
        if dictionary is None:
            return True, None, True
        return True, positions_in(dictionary.cast(pa.string()), own), True
    both = own if dictionary is None else pa.concat_arrays([own, dictionary.cast(pa.string())])
    codes = pc.dictionary_encode(both).indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    unique = bool((codes[:n] == np.arange(n)).all())
    increasing = n < 2  # (a longer column in increasing order took the branch above)
    if dictionary is None:
        return unique, None, increasing
    rows = codes[n:]
    rows[rows >= n] = -1
    return unique, rows, increasing


def _isin(values: pd.Series, universe: pd.Series) -> pd.Series:
    """``values.isin(universe)`` through Arrow's hash kernels (several times faster on strings)."""
    if isinstance(values.dtype, pd.CategoricalDtype):  # test the categories, read the codes
        cats = values.cat.categories
        hit = np.append(_isin(pd.Series(cats), universe).to_numpy(), False)
        return pd.Series(hit[values.cat.codes.to_numpy()], index=values.index)
    codes = arrow_dictionary(values)
    if codes is not None:  # the same: the dictionary tested, read through the indices
        hit = dictionary_is_in(codes, pa.array(universe.astype(str), type=pa.string())).to_numpy()
        return pd.Series(hit, index=values.index)
    try:
        mask = pc.is_in(pa.array(values, type=pa.string()), value_set=pa.array(universe, type=pa.string()))
        return pd.Series(mask.to_numpy(zero_copy_only=False), index=values.index)
    except (ImportError, TypeError, ValueError):  # pragma: no cover - no pyarrow or odd types
        return values.isin(set(universe))


def _is_aware(col: pd.Series) -> bool:
    return pd.api.types.is_datetime64_any_dtype(col) and getattr(col.dt, "tz", None) is not None


#: timestamps a cohort may hold: the runtime's bounds (1970 to 2200)
_TS_MIN, _TS_MAX = pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC")


def _first(mask: pd.Series) -> int:
    return int(mask.to_numpy().nonzero()[0][0])


def _missing(col: pd.Series, table: str, what: str, row: Any = None) -> None:
    """Refuse a missing value (None, NaN) in a column of identifiers, with its row (``row``
    maps a position to the caller's row number)."""
    na = col.isna()
    if na.any():
        i = _first(na)
        raise CohortError(f"missing {what}", f"{table}[{row(i) if row is not None else i}].{col.name}")


def _as_utc(col: pd.Series, where: str, timezone: str | None, row: Any = None) -> pd.Series:
    """Timestamps as UTC (naive ones read in ``timezone``); errors name the row (``row`` maps a
    position to the caller's row number)."""
    s = col

    def _row(where: str, i: int) -> str:
        return _row_path(where, row(i) if row is not None else i)

    if not pd.api.types.is_datetime64_any_dtype(s):
        try:
            s = pd.to_datetime(s, format="ISO8601", utc=False)
        except (ValueError, TypeError) as e:
            try:  # which row: the first that does not read alone
                i = _first(pd.Series([_unreadable(v) for v in s], index=s.index))
            except (ValueError, TypeError, IndexError):
                raise CohortError(f"cannot read timestamps: {e}", where) from None
            raise CohortError(
                f"cannot read timestamp {s.iloc[i]!r}: give an ISO 8601 instant such as '2026-10-01T09:00:00+05:30'",
                _row(where, i),
            ) from None
    if getattr(s.dt, "tz", None) is None:
        if timezone is None:
            raise CohortError(
                "timestamps have no timezone; pass timezone='Asia/Kolkata' (or the zone they were recorded in) to read them",
                where,
            )
        try:
            s = s.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="shift_forward")
        except Exception as e:
            raise CohortError(f"cannot localize timestamps to {timezone!r}: {e}", where) from None
    out = (s < _TS_MIN) | (s >= _TS_MAX)
    if out.any():
        i = _first(out)
        raise CohortError(f"timestamp {s.iloc[i].isoformat()} is out of range (1970 to 2200)", _row(where, i))
    return s.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def _row_path(where: str, i: int) -> str:
    """``events.ts`` and row 12 -> ``events[12].ts``."""
    return where.replace(".", f"[{i}].", 1)


def _unreadable(v: Any) -> bool:
    try:
        pd.to_datetime(v, format="ISO8601")
    except (ValueError, TypeError):
        return True
    return False


class Cohort:
    """Users (profiles) and what they did (events), validated; the caller's frames are never modified.

    Events are sorted by time (stable: rows at one instant keep their input order).

    Parameters
    ----------
    profiles : pandas.DataFrame
        ``user_id`` plus properties (channel reachability: ``push_token``, ``email``,
        ``phone``, ``web_push_token``; anything segments and placeholders use).
    events : pandas.DataFrame
        ``user_id``, ``ts`` (timezone-aware; naive only with ``timezone=``), ``event`` and
        property columns; optional ``event_id`` (unique).
    timezone : str or None, default None
        The timezone of naive ``ts`` values; default they must be aware.
    unknown_users : {"error", "drop", "add"}, default "error"
        What to do with events of users the profiles lack.
    name : str, default "cohort"
        Its name in results and reports.
    check_ids : bool, default False
        Check that ``event_id`` is unique (the simulator always checks the events a journey
        acts on).
    sort : bool, default True
        Sort the events by time; False keeps the given order, for callers that order events
        themselves.
    events_of : iterable of str or None, default None
        Event names to keep: every other row is dropped before any check or copy (the
        simulator passes those its journeys can act on); default all.

    Raises
    ------
    journeylab.CohortError
        When a table cannot be used: a missing column, naive timestamps, unknown users...

    Examples
    --------
    >>> import pandas as pd
    >>> profiles = pd.DataFrame({"user_id": ["ana", "bo"], "push_token": ["t1", None]})
    >>> events = pd.DataFrame({"user_id": ["ana"], "event": ["Charged"], "ts": pd.to_datetime(["2026-10-01 09:00"], utc=True)})
    >>> c = Cohort(profiles, events, name="two users")
    >>> c.name, len(c.events)
    ('two users', 1)
    """

    def __init__(
        self,
        profiles: Any,
        events: Any,
        *,
        timezone: str | None = None,
        unknown_users: str = "error",
        name: str = "cohort",
        check_ids: bool = False,
        sort: bool = True,
        events_of: Any = None,
    ) -> None:
        p = read_table(profiles, "profiles")
        e = read_table(events, "events")
        if "user_id" not in p.columns:
            raise CohortError("missing column 'user_id'", "profiles")
        for c in _CORE:
            if c not in e.columns:
                raise CohortError(f"missing column {c!r} (needs {', '.join(_CORE)})", "events")
        _missing(p["user_id"], "profiles", "user_id")
        _missing(e["user_id"], "events", "user_id")  # (on every row: cheap, and bad data is said)
        _missing(e["event"], "events", "event name")
        #: the first and last event instants of the whole events table (before ``events_of``)
        self.span: tuple[Any, Any] | None = None
        if events_of is not None:  # keep only the events that can matter, before checking anything
            if len(e):
                ts_all = _as_utc(e["ts"], "events.ts", timezone) if not _is_aware(e["ts"]) else e["ts"]
                self.span = (ts_all.min(), ts_all.max())
            keep = _isin(_text(e["event"]), pd.Series(sorted(events_of), dtype=object)).to_numpy()
            rows = np.flatnonzero(keep)
            e = e.iloc[rows]
        else:
            rows = None
        #: each kept event's row in the caller's events table (``None``: every row, in order)
        self.event_rows: np.ndarray | None = rows

        def row(i: int) -> int:  # the caller's row number of position i (errors name it)
            return int(rows[i]) if rows is not None else i

        p = p.copy(deep=False)  # copy-on-write: the caller's frame is never touched
        p["user_id"] = p["user_id"].astype(str)
        ud = arrow_dictionary(e["user_id"])
        #: for an Arrow dictionary column of user ids: (its dictionary's :func:`array_key`, the
        #: profile row of each dictionary value, -1 for none), which the simulator reads again
        self.id_positions: tuple[tuple[int, ...], np.ndarray] | None = None
        unique, pos, increasing = _profile_rows(p["user_id"], None if ud is None else ud.dictionary)
        #: whether the profiles' ids are in increasing order (their rows in id order: what the
        #: simulator reads instead of sorting the ids again)
        self.ids_in_order = increasing
        if not unique:
            i = int(p["user_id"].duplicated().to_numpy().nonzero()[0][0])
            raise CohortError(f"user_id {p['user_id'].iloc[i]!r} appears twice", f"profiles[{i}].user_id")
        e = e.copy(deep=False)
        e["user_id"] = _text(e["user_id"])
        e["event"] = _text(e["event"])
        if e["ts"].isna().any():
            i = int(e["ts"].isna().to_numpy().nonzero()[0][0])
            raise CohortError("missing timestamp", f"events[{row(i)}].ts")
        e["ts"] = _as_utc(e["ts"], "events.ts", timezone, row)
        if check_ids and "event_id" in e.columns and not e["event_id"].is_unique:
            d = e["event_id"].duplicated()
            if d.any():
                i = int(d.to_numpy().nonzero()[0][0])
                raise CohortError(f"event_id {e['event_id'].iloc[i]!r} appears twice", f"events[{row(i)}].event_id")
        if ud is not None and pos is not None:  # each distinct id looked up once, its row kept
            self.id_positions = (array_key(ud.dictionary), pos)
            known = pd.Series(pos[ud.indices.to_numpy(zero_copy_only=False)] >= 0, index=e.index)
        else:
            known = _isin(e["user_id"], p["user_id"])
        if not known.all():
            if unknown_users == "error":
                i = int((~known).to_numpy().nonzero()[0][0])
                n = int((~known).sum())
                raise CohortError(
                    f"user {e['user_id'].iloc[i]!r} is not in profiles ({n} event rows of unknown users); "
                    "pass unknown_users='add' to give them empty profiles or 'drop' to skip their events",
                    f"events[{row(i)}].user_id",
                )
            if unknown_users == "drop":
                e = e[known]
                if self.event_rows is not None:
                    self.event_rows = self.event_rows[known.to_numpy()]
                    rows = self.event_rows
            elif unknown_users == "add":
                extra = pd.DataFrame({"user_id": pd.unique(e.loc[~known, "user_id"])})
                p = pd.concat([p, extra], ignore_index=True)
                self.id_positions = None  # (the added users have rows now)
                self.ids_in_order = False
            else:
                raise CohortError("unknown_users must be 'error', 'add' or 'drop'", "unknown_users")
        if sort and not e["ts"].is_monotonic_increasing:
            order = np.argsort(e["ts"].to_numpy(), kind="stable")
            e = e.iloc[order]
            if self.event_rows is not None:
                self.event_rows = self.event_rows[order]
        self.profiles: pd.DataFrame = p.reset_index(drop=True)
        self.events: pd.DataFrame = e.reset_index(drop=True)
        self.name = name

    @classmethod
    def from_dataset(cls, name: str, *, events_of: Any = None) -> Cohort:
        """A bundled dataset (see ``journeylab.datasets.names()``)."""
        from journeylab.datasets import load

        ds = load(name)
        return cls(ds.profiles, ds.events, name=name, events_of=events_of)

    @property
    def n_users(self) -> int:
        return len(self.profiles)

    @property
    def n_events(self) -> int:
        return len(self.events)

    @property
    def property_columns(self) -> list[str]:
        return [c for c in self.events.columns if c not in (*_CORE, "event_id")]

    def __repr__(self) -> str:
        if len(self.events):
            span = f"{self.events['ts'].iloc[0]:%Y-%m-%d} to {self.events['ts'].iloc[-1]:%Y-%m-%d}"
        else:
            span = "no events"
        return f"Cohort({self.name!r}: {self.n_users:,} users, {self.n_events:,} events, {span})"
