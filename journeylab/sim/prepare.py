"""Preparing a cohort for a simulation: what the journeys can act on, ordered once.

:class:`Prepared` keeps, for one set of journeys over one span, the cohort's events the
journeys can act on (everything else is dropped first: on a real event log most rows), as
numpy arrays in user order (each user's events by time, input order at one instant); the users
(by id); and the profile columns the journeys read. Both period loops (per user, batched) read
it, in this process or in forked workers, and experiments run many simulations over one.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from journeylab.datasets._arrow import array_key, arrow_dictionary, positions_in, string_order
from journeylab.engine.draws import user_key_array, user_key_ascii
from journeylab.engine.multi import JourneySet
from journeylab.engine.order import stable_order
from journeylab.errors import CohortError
from journeylab.sim.behaviour import BehaviourModel
from journeylab.sim.cohort import Cohort
from journeylab.trace import epoch_seconds

__all__ = ["Prepared"]


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: a run allocates millions of small, long-lived
    records and frees almost none, so collections would only rescan them over and over."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_ids(ids: tuple[pd.Series, np.ndarray, np.ndarray | None] | None) -> None:
    """Duplicate event ids among the events the journeys act on (rows ``idx`` of the events'
    ``event_id`` column) are an input error."""
    if ids is None:
        return
    col, idx, rows = ids
    sub = col.iloc[idx]
    if sub.is_unique:
        return
    first = int(sub.duplicated().to_numpy().nonzero()[0][0])
    row = int(idx[first]) if rows is None else int(rows[idx[first]])  # the caller's row number
    raise CohortError(f"event_id {sub.iloc[first]!r} appears twice", f"events[{row}].event_id")


class Prepared:
    """A cohort prepared for a set of journeys over ``[start, end)`` (see the module docstring).

    ``period`` (seconds) is the step of the simulator's clock; ``seed`` and ``behaviour`` are the
    simulated responses' (they travel with the prepared run to the workers).
    """

    def __init__(
        self, js: JourneySet, cohort: Cohort, start: int, end: int, seed: int, behaviour: BehaviourModel, period: int
    ) -> None:
        self.js = js
        self.start, self.end, self.seed, self.period = start, end, seed, period
        self.behaviour = behaviour
        self._prepare(cohort)

    def _prepare(self, cohort: Cohort) -> None:
        js = self.js
        ev = cohort.events
        lead = js.inputs.lead
        self.created = self.start - lead  # user clocks start where the history we feed starts
        ts_all = epoch_seconds(ev["ts"])
        ncodes, nlabels = _encode(ev["event"])  # event names and users hashed once, by Arrow
        names = np.asarray(nlabels.to_pylist(), dtype=object)
        mask = _named(ncodes, names, js.relevant_events) & (ts_all < self.end) & (ts_all >= self.start - lead)
        early = np.zeros(0, dtype=np.int64)  # rows before start - lead fed all the same
        if js.session_events:
            early = session_heads(
                ev["user_id"],
                ts_all,
                _named(ncodes, names, js.session_events) & (ts_all < self.end),
                self.start - lead,
                js.session_gap,
            )
        if js.lasting_events:
            early = np.union1d(
                early, np.flatnonzero(_named(ncodes, names, js.lasting_events) & (ts_all < self.start - lead))
            )
        if len(early):
            mask[early] = True
            self.created = min(self.created, int(ts_all[early].min()))  # clocks from the first event fed
        idx = np.flatnonzero(mask)
        ncodes = ncodes[idx]
        ucodes, ulabels = _encode(ev["user_id"], idx)
        keep = self._within_bounds(ncodes, names, ucodes, ts_all[idx])
        idx, ucodes, ncodes = idx[keep], ucodes[keep], ncodes[keep]
        need = js.inputs.event_props
        cols = sorted({c for v in need.values() for c in v} & set(ev.columns))
        sub = ev[cols].iloc[idx]
        # checked by run(); errors name the caller's row
        self.ids = (ev["event_id"], idx, getattr(cohort, "event_rows", None)) if "event_id" in ev.columns else None
        ts = ts_all[idx]
        prof = cohort.profiles
        # the cohort's lookup of these very labels: the profile row of each (-1: none)
        known = getattr(cohort, "id_positions", None)
        label_rows = known[1] if known is not None and known[0] == array_key(ulabels) else None
        if js.needs_all_users:
            ids = _arrow_strings(prof["user_id"]).cast(pa.string())
            user_arr = ids.take(pa.array(string_order(ids)))
            if js.listed_users:  # listed users the cohort does not know enter too (no profile)
                user_arr = pa.array(sorted(js.listed_users.union(user_arr.to_pylist())), type=pa.string())
            codes = positions_in(ulabels, user_arr)[ucodes]
        else:  # the users with events left, in user id order (new strings, laid out in that order)
            present = np.flatnonzero(np.bincount(ucodes, minlength=len(ulabels)))
            mine = ulabels.take(pa.array(present))
            rows = None if label_rows is None or not getattr(cohort, "ids_in_order", False) else label_rows[present]
            if rows is not None and len(rows) and int(rows.min()) < 0:
                rows = None  # a user without a profile: the ids are sorted as they are
            # profiles in id order (as write_cohort lays them out): their rows order the ids
            by_name = string_order(mine) if rows is None else np.argsort(rows)
            user_arr = mine.take(pa.array(by_name)).cast(pa.string())
            remap = np.full(len(ulabels), -1, dtype=np.int64)
            remap[present[by_name]] = np.arange(len(present))
            codes = remap[ucodes]
        #: the users' ids (in user order) as one Arrow array: each run's trace takes its user
        #: column from it (:attr:`user_ids` lists them as Python strings, when asked)
        self.user_id_array: pa.Array = user_arr.cast(pa.large_string())
        n_users = len(user_arr)
        self._keys: dict[str, np.ndarray] = {}
        per = np.where(ts < self.start, -1, (ts - self.start) // self.period).astype(np.int64)
        order = _by_user_then_time(codes, ts)
        self.ts = ts[order]
        self.user = codes[order]
        self.per = per[order]
        #: each event's name, as a code into :attr:`name_labels` (the distinct names)
        self.name_codes: np.ndarray = ncodes[order]
        self.name_labels: np.ndarray = names
        self.need = need
        self.props = {c: sub[c].to_numpy(dtype=object)[order] for c in cols}
        # profiles: per column, the values of our users in user order (None where missing)
        if not js.needs_all_users and label_rows is not None:
            pos = label_rows[present[by_name]]
        else:
            pos = positions_in(user_arr, _arrow_strings(prof["user_id"]))
        found = pos >= 0
        wanted = [c for c in prof.columns if c != "user_id" and c in js.inputs.profile]
        self.prof_cols: list[tuple[str, Any]] = []  # (property, object array: a value per user)
        for c in wanted:
            values = np.full(n_users, None, dtype=object)
            values[found] = _objects(prof[c], pos[found])
            self.prof_cols.append((c, values))

    @functools.cached_property
    def user_ids(self) -> list[str]:
        """The users' ids in user order (user code ``u`` is ``user_ids[u]``)."""
        ids: list[str] = self.user_id_array.to_pylist()
        return ids

    @property
    def n_users(self) -> int:
        return len(self.user_id_array)

    @functools.cached_property
    def names(self) -> np.ndarray:
        """Each event's name (an object array, in event order)."""
        out: np.ndarray = self.name_labels[self.name_codes]
        return out

    def names_of(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
        """The names of some events (all by default) as codes into the names that occur among
        them (``(codes, names)``, like ``pandas.factorize``; no string hashed)."""
        codes = self.name_codes if rows is None else self.name_codes[rows]
        present = np.flatnonzero(np.bincount(codes, minlength=len(self.name_labels)))
        remap = np.full(len(self.name_labels), -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        return remap[codes], [str(n) for n in self.name_labels[present]]

    def user_keys(self, users: np.ndarray | None = None) -> np.ndarray:
        """The users' keys for random draws (:func:`~journeylab.engine.draws.user_key_array`; all
        users by default): once computed for every user (``users=None``: done before a pool of
        runs forks) they are read, not computed again, by every run of this preparation."""
        box = self.__dict__.setdefault("_keys", {})  # shared by the copies for_journeys makes
        keys = box.get("all")
        if keys is None:
            if users is not None:
                return _user_keys(self.user_id_array.take(pa.array(users)))
            keys = box["all"] = _user_keys(self.user_id_array)
        return keys if users is None else keys[users]

    def for_journeys(self, js: JourneySet, seed: int, behaviour: BehaviourModel) -> Prepared:
        """The same prepared events for other journeys acting on the same inputs (or another seed)."""
        other = copy.copy(self)
        other.js, other.seed, other.behaviour = js, seed, behaviour
        return other

    @property
    def n_events(self) -> int:
        """Cohort events the journeys can react to (after prefiltering)."""
        return len(self.ts)

    def _within_bounds(self, ncodes: np.ndarray, names: np.ndarray, codes: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """Which events (name codes into ``names``, user codes, instants) any journey can
        still react to, by the engines' bounds."""
        n_users = int(codes.max()) + 1 if len(codes) else 0
        keep = np.zeros(len(codes), dtype=bool)
        big = np.iinfo(np.int64).max

        def named(which: Iterable[str]) -> np.ndarray:
            return _named(ncodes, names, which)

        for eng in self.js.all_engines():
            rel = named(eng.relevant_events)
            bounds = eng.activity_bounds()
            ctl = self.js.control(eng.id)
            if bounds is None:
                keep |= rel
                continue
            triggers, exempt, tail, first_only = bounds
            first_only = first_only and len(ctl.timeline) == 1
            trig = named(triggers)
            first = np.full(n_users, big, dtype=np.int64)
            np.minimum.at(first, codes[trig], ts[trig])
            bound = np.take(first, codes)  # each row's user's first trigger (then its last instant)
            ok = rel & (bound < big)
            ok &= ((ts >= bound) | named(exempt)) if exempt else (ts >= bound)
            if tail is not None:
                if first_only:
                    started = trig & (ts >= self.start)
                    anchor = np.full(n_users, big - tail, dtype=np.int64)
                    np.minimum.at(anchor, codes[started], ts[started])
                else:
                    anchor = np.full(n_users, -(big // 2), dtype=np.int64)
                    np.maximum.at(anchor, codes[trig], ts[trig])
                np.take(anchor, codes, out=bound)  # (the same array: one fresh array per engine)
                bound += tail
                ok &= ts <= bound
            keep |= ok
        return keep


def session_heads(user_ids: pd.Series, ts: np.ndarray, paging: np.ndarray, lo: int, gap: int) -> np.ndarray:
    """Rows before ``lo`` a driver that feeds events from ``lo`` on must feed as well: the page
    views (rows where ``paging``) of each user's session still open at ``lo`` — a chain of
    page views less than ``gap`` seconds apart that reaches ``lo`` — back to its first view,
    so a session that began earlier counts its pages as every other driver does."""
    rows = np.flatnonzero(paging)
    if not len(rows) or not (ts[rows] < lo).any():
        return rows[:0]
    users, _ = _encode(user_ids, rows)
    t = ts[rows]
    order = np.lexsort((t, users))
    u, t, rows = users[order], t[order], rows[order]
    new = np.r_[True, (u[1:] != u[:-1]) | (t[1:] - t[:-1] >= gap)]  # a view that starts a session
    session = np.cumsum(new) - 1
    reaches = np.zeros(int(session[-1]) + 1, dtype=bool)
    reaches[session[t >= lo]] = True  # sessions with a view at or after lo
    return rows[reaches[session] & (t < lo)]


def _user_keys(ids: pa.Array) -> np.ndarray:
    """:func:`~journeylab.engine.draws.user_key_array` of an Arrow array of ids: read straight
    from its buffers when every id is ASCII (bytes are code points), else one string at a time."""
    if ids.null_count == 0 and pc.all(pc.string_is_ascii(ids)).as_py() is not False:
        a = ids.cast(pa.large_string())
        _, offsets, data = a.buffers()
        off = np.frombuffer(offsets, dtype=np.int64)[a.offset : a.offset + len(a) + 1]
        raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
        return user_key_ascii(raw, off)
    return user_key_array(ids.to_pylist())


def _named(codes: np.ndarray, names: np.ndarray, which: Iterable[str]) -> np.ndarray:
    """Which rows (``codes`` into ``names``) carry one of the names in ``which``."""
    wanted = set(which)
    lookup = np.fromiter((n in wanted for n in names), dtype=bool, count=len(names))
    return lookup[codes]


def _arrow_strings(values: pd.Series) -> pa.Array:
    """A string column as one Arrow array (zero-copy when pandas already stores it in Arrow)."""
    arr = values.array
    a = pa.array(arr) if hasattr(arr, "__arrow_array__") else pa.array(values.to_numpy(dtype=object), type=pa.string())
    return a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a


def _encode(values: pd.Series, rows: np.ndarray | None = None) -> tuple[np.ndarray, pa.Array]:
    """Integer codes and distinct labels (an Arrow array) of a string column, or of some rows
    (a categorical column gives its own codes: nothing is hashed)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        labels = _arrow_strings(pd.Series(values.cat.categories)).cast(pa.string())
        return (codes if rows is None else codes[rows]), labels
    d = arrow_dictionary(values)
    if d is not None and not d.null_count:  # an Arrow dictionary column: its own indices
        idx = d.indices if rows is None else d.indices.take(pa.array(rows))
        return idx.to_numpy(zero_copy_only=False).astype(np.int64), d.dictionary.cast(pa.string())
    a = _arrow_strings(values)
    if rows is not None:
        a = a.take(pa.array(rows))
    d = pc.dictionary_encode(a)
    return d.indices.to_numpy(zero_copy_only=False).astype(np.int64), d.dictionary


def _objects(col: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The values of ``col`` at positions ``rows`` as Python objects, ``None`` where missing. A
    string column pandas keeps in Arrow is taken and converted by Arrow (its missing values come
    out as ``None``: 78k users' two columns in 19-31 against 29-58 ms through pandas).

    >>> _objects(pd.Series(["a", None, "c"], dtype="string[pyarrow]"), np.array([2, 1])).tolist()
    ['c', None]
    >>> _objects(pd.Series([1.5, float("nan")]), np.array([1, 0])).tolist()
    [None, 1.5]
    """
    arr = col.array
    if isinstance(col.dtype, pd.StringDtype | pd.ArrowDtype) and hasattr(arr, "__arrow_array__"):
        a = pa.array(arr)
        if pa.types.is_string(a.type) or pa.types.is_large_string(a.type):
            out: np.ndarray = a.take(pa.array(rows)).to_numpy(zero_copy_only=False)
            return out
    sub = col.iloc[rows]
    values = sub.to_numpy(dtype=object, copy=True)  # (not a view of the caller's frame)
    values[sub.isna().to_numpy()] = None
    return values


def _by_user_then_time(codes: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """The order of rows by user code, then time; stable, so rows at one instant keep their input
    order. One stable sort of a combined 64-bit key (half the time of ``np.lexsort``) when it fits."""
    if not len(ts):
        return np.zeros(0, dtype=np.int64)
    lo = int(ts.min())
    span = int(ts.max()) - lo + 1
    if (int(codes.max()) + 1) * span >= 2**62:
        return np.lexsort((ts, codes))
    return stable_order(codes * span + (ts - lo))


class LoopBase:
    """What every period loop reads from its prepared run (the per-user and the batched one)."""

    def __init__(self, prep: Prepared) -> None:
        self.prep = prep
        self.js = prep.js
        self.start, self.end, self.seed, self.period = prep.start, prep.end, prep.seed, prep.period
        self.behaviour = prep.behaviour
        self.created = prep.created

    @property
    def user_ids(self) -> list[str]:
        return self.prep.user_ids
