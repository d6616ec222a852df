"""Statistics from the trace alone (SPEC §8): node stats, journey stats, flows, time series.

Every function takes the trace DataFrame (columns ``user_id, ts, journey, version, node,
event, port, detail``, in canonical order: by ``ts`` then ``user_id``, each user's rows in
the order they happened) and returns a tidy DataFrame. The simulator and the production
runtime produce the same trace, so these figures mean the same in both.

>>> import pandas as pd
>>> t = pd.DataFrame({
...     "user_id": ["a"] * 6,
...     "ts": pd.to_datetime([0] * 6, unit="s", utc=True),
...     "journey": "j", "version": 1,
...     "node": ["start", "start", "push", "push", "push", "push"],
...     "event": ["entered", "left", "entered", "sent", "left", "exited"],
...     "port": ["", "yes", "", "", "next", ""], "detail": ["entry", "", "", "push", "", "completed"]})
>>> node_stats(t).loc["push", ["entered", "sent", "left_next", "waiting"]].tolist()
[1, 1, 1, 0]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

from journeylab._docs import filler
from journeylab.engine.order import stable_order
from journeylab.engine.types import DISCARD_REASONS
from journeylab.trace import empty_trace

if TYPE_CHECKING:
    from journeylab.model.journey import JourneyDef

__all__ = [
    "Stats",
    "summarize",
    "NODE_STAT_COLUMNS",
    "EXIT_REASONS",
    "node_stats",
    "conservation",
    "messages_per_user_day",
    "message_load",
    "journey_stats",
    "goal_stats",
    "edge_flows",
    "exits",
    "waiting_users",
    "waiting_over_time",
    "messages_per_day",
    "enrollments",
    "branch_stats",
    "message_conversions",
    "SPLIT_PORTS",
    "split_branches",
    "empty_trace",
]

PORT_COLUMNS = ["left_yes", "left_no", "left_timeout", "left_next", "left_viewed", "left_clicked", "left_not_sent"]
NODE_STAT_COLUMNS = [
    "entered",
    "waiting",
    "timed_out",
    "stuck",
    *PORT_COLUMNS,
    "sent",
    "deferred",
    "discarded",
    *[f"discarded_{r}" for r in DISCARD_REASONS],
    "delivered",
    "viewed",
    "clicked",
    "profile_updated",
    "exited",
    *[f"exited_{r}" for r in ("goal", "journey_timeout", "force_exit", "stopped", "completed")],
    "held",
    "unsubscribed",
    "converted",
]
#: numpydoc text the functions share: their common arguments and an example's set-up
_DOCS = {
    "trace": """trace : pandas.DataFrame
    A trace (``result.trace``): ``user_id, ts, journey, version, node, event, port, detail``.""",
    "journey": """journey : str or None, default None
    The journey to count; needed when the trace holds several (else a ValueError says so).""",
    "timezone": """timezone : str, default "UTC"
    The IANA timezone of the account-local days.""",
    "example": """>>> from journeylab import examples, simulate
>>> from journeylab.datasets import generate_cohort
>>> cohort = generate_cohort(200, days=7, seed=1)
>>> result = simulate(examples.cart_abandonment(), cohort, "2026-10-01T00:00Z", "2026-10-08T00:00Z", seed=1)
>>> t = result.trace""",
}
_DOCS["trace_journey"] = "Parameters\n----------\n" + _DOCS["trace"] + "\n" + _DOCS["journey"]
_fill = filler(_DOCS)

#: why a user leaves a journey (the ``detail`` of an ``exited`` row; goals as ``goal:<name>``)
EXIT_REASONS: tuple[str, ...] = ("goal", "journey_timeout", "force_exit", "stopped", "completed")


def _one_journey(trace: pd.DataFrame, journey: str | None) -> pd.DataFrame:
    return _journey_rows(trace, journey, None)[0]


class UserCodes:
    """The user of each trace row as an integer code (a simulation keeps them: see
    :class:`~journeylab.sim.SimulationResult`), and the rows' stable order by user, worked out
    once when first asked: the statistics of one trace share it.

    >>> uc = UserCodes(np.array([1, 0, 1, 0]))
    >>> uc.by_user.tolist(), uc.subset(np.array([True, True, False, True])).by_user.tolist()
    ([1, 3, 0, 2], [1, 2, 0])
    """

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self._by_user: np.ndarray | None = None

    @property
    def by_user(self) -> np.ndarray:
        """Row positions ordered by user code, each user's rows in trace order."""
        if self._by_user is None:
            self._by_user = stable_order(self.codes)
        return self._by_user

    def subset(self, mine: np.ndarray) -> UserCodes:
        """The codes of the rows ``mine`` (a mask), their order derived from this one's when known."""
        out = UserCodes(self.codes[mine])
        if self._by_user is not None:
            position = np.cumsum(mine) - 1  # a kept row's position among the kept
            out._by_user = position[self._by_user[mine[self._by_user]]]
        return out


def _journey_rows(trace: pd.DataFrame, journey: str | None, user_codes: Any) -> tuple[pd.DataFrame, UserCodes]:
    """The rows of one journey (the trace itself when it holds no other), with their user codes:
    the caller's for the whole trace (an array or a :class:`UserCodes`), else made here."""
    given = None if user_codes is None else user_codes if isinstance(user_codes, UserCodes) else UserCodes(user_codes)
    if given is not None and len(given.codes) != len(trace):
        raise ValueError(f"{len(given.codes)} user codes for {len(trace)} trace rows")
    if journey is not None:
        mine = (trace["journey"] == journey).to_numpy(dtype=bool)
        if not mine.all():
            t = trace[mine]
            return t, given.subset(mine) if given is not None else _own_codes(t)
    else:
        js = pd.unique(trace["journey"])
        if len(js) > 1:
            raise ValueError(f"the trace holds several journeys ({', '.join(map(str, js))}): pass journey=...")
    return trace, given if given is not None else _own_codes(trace)


def _where(codes: np.ndarray, labels: list[Any], test: Any) -> np.ndarray:
    """Rows whose label passes ``test`` (each label tested once; code -1: missing, never).

    >>> _where(np.array([0, 1, -1, 0]), ["a", "b"], "a".__eq__).tolist()
    [True, False, False, True]
    """
    passing = [i for i, v in enumerate(labels) if test(v)]
    if len(passing) == 1:  # one label: a comparison, cheaper than a lookup per row
        return np.asarray(codes == passing[0])
    if not passing:
        return np.zeros(len(codes), dtype=bool)
    table = np.zeros(len(labels) + 1, dtype=bool)
    table[passing] = True
    return table[codes]


def _own_codes(t: pd.DataFrame) -> UserCodes:
    """Integer codes of the rows' user ids, made here (when the caller has none)."""
    return UserCodes(pd.factorize(t["user_id"])[0].astype(np.int64, copy=False))


def _s(x: Any) -> Any:
    """A column as a plain string column with few uniques kept cheap: categoricals are
    recoded over their observed values only (comparisons, groupby and crosstab stay fast)."""
    if isinstance(x.dtype, pd.CategoricalDtype):
        return x.cat.remove_unused_categories().cat.rename_categories(lambda c: str(c))
    return x


def _native_codes(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """:func:`_codes`, a categorical's codes in their own width (no ``int64`` copy made): for
    masks, lookups and counts, not for arithmetic.

    >>> c, labels = _native_codes(pd.Series(["b", "a", None], dtype="category"))
    >>> c.dtype.name, c.tolist(), labels
    ('int8', [1, 0, -1], ['a', 'b'])
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.array.codes), [str(c) for c in col.cat.categories]
    return _codes(col)


def _codes(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Integer codes (-1: missing) and their labels; categoricals reuse their own codes."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.codes.to_numpy(dtype=np.int64), [str(c) for c in col.cat.categories]
    codes, labels = pd.factorize(col)
    if isinstance(labels.dtype, pd.StringDtype):  # texts already: made Python strings in one go
        return codes.astype(np.int64, copy=False), labels.to_numpy(dtype=object).tolist()
    return codes.astype(np.int64, copy=False), [str(c) for c in labels]


class _Tab:
    """Counts of (row label, column label) pairs over some rows, read by label: a crosstab
    that stays fast on large traces."""

    def __init__(
        self, a: tuple[np.ndarray, list[Any]], b: tuple[np.ndarray, list[Any]], rows: np.ndarray | None = None
    ):
        ac, self.a_labels = a
        bc, self.b_labels = b
        if rows is not None:
            ac, bc = ac[rows], bc[rows]
        na, nb = len(self.a_labels), len(self.b_labels)
        # one key per row, code -1 (missing) shifted to a first row or column that is dropped:
        # no mask, no masked copies (made in place on one array)
        key = np.array(ac, dtype=np.int64)
        key += 1
        key *= nb + 1
        key += bc
        key += 1
        self.m = np.bincount(key, minlength=(na + 1) * (nb + 1)).reshape(na + 1, nb + 1)[1:, 1:]
        self.a_index = {v: i for i, v in enumerate(self.a_labels)}
        self.b_index = {v: i for i, v in enumerate(self.b_labels)}

    def column(self, label: str, index: list[str]) -> np.ndarray:
        j = self.b_index.get(label)
        if j is None:
            return np.zeros(len(index), dtype=np.int64)
        return np.array([self.m[self.a_index[x], j] if x in self.a_index else 0 for x in index], dtype=np.int64)

    def present(self) -> list[str]:
        """Column labels with at least one count, sorted."""
        return sorted(self.b_labels[j] for j in np.flatnonzero(self.m.sum(axis=0)))


def _users(trace: pd.DataFrame, rows: np.ndarray, users: np.ndarray | None) -> np.ndarray:
    """User codes of some rows: read from ``users`` (codes of every row) when given."""
    return users[rows] if users is not None else pd.factorize(trace["user_id"].iloc[rows])[0]


def _last_rows(trace: pd.DataFrame, users: np.ndarray | None = None) -> np.ndarray:
    """Positions of the last entered/exited row of each (journey, user): where everyone is
    at the end (the trace is in canonical order, so the last row is the latest). ``users``:
    the user codes of every row, when the caller has them."""
    ev, labels = _native_codes(trace["event"])
    rows = np.flatnonzero(_where(ev, labels, ("entered", "exited").__contains__))
    if not len(rows):
        return rows
    users = _users(trace, rows, users)
    journeys, names = _native_codes(trace["journey"])
    key = users if len(names) < 2 else journeys[rows].astype(np.int64) * (int(users.max()) + 1) + users
    return np.sort(_latest(key, rows))


def _latest(key: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The largest of ``rows`` for each value of ``key`` (non-negative integers), in key order.

    >>> _latest(np.array([1, 0, 1]), np.array([4, 5, 6])).tolist()
    [5, 6]
    """
    if not len(rows):
        return rows
    last = np.full(int(key.max()) + 1, -1, dtype=np.int64)
    np.maximum.at(last, key, rows)
    out: np.ndarray = last[last >= 0]
    return out


def _moves(ev: tuple[np.ndarray, list[Any]], users: UserCodes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positions of the rows that move users (``entered``, ``left``, ``exited``), in trace
    order, with their user codes and event codes."""
    rows = np.flatnonzero(_where(ev[0], ev[1], ("entered", "left", "exited").__contains__))
    return rows, users.codes[rows], ev[0][rows]


def _positions(trace: pd.DataFrame) -> pd.DataFrame:
    """The last entered/exited row of each (journey, user): where everyone is at the end."""
    return trace.iloc[_last_rows(trace)]


@_fill
def node_stats(
    trace: pd.DataFrame, journey: str | None = None, nodes: list[str] | None = None, *, _user_codes: Any = None
) -> pd.DataFrame:
    """Per node of one journey: entered, waiting now, timed out, left by each port, sends...

    Columns are :data:`NODE_STAT_COLUMNS` plus ``left_<branch>`` for split branches; the
    index is the node id (in ``nodes`` order when given). ``waiting`` counts users at the
    node at the end of the trace; ``stuck`` those who timed out with no timeout connector.

    %(trace_journey)s
    nodes : list of str or None, default None
        The node ids to report, in this order (nodes nobody entered get zeros); default the
        nodes of the trace.

    Returns
    -------
    pandas.DataFrame
        One row per node, one column per count.

    Examples
    --------
    %(example)s
    >>> node_stats(t).loc["cart", ["entered", "left_yes"]].tolist()
    [74, 74]
    """
    t, users = _journey_rows(trace, journey, _user_codes)
    node = _native_codes(t["node"])
    ev = _native_codes(t["event"])
    if nodes is None:
        present = np.unique(node[0][node[0] >= 0])
        nodes = sorted(node[1][i] for i in present)
    index = list(nodes)
    counts = _Tab(node, ev)
    ev_index = {v: i for i, v in enumerate(ev[1])}

    def rows_of(event: str) -> np.ndarray:
        code = ev_index.get(event)
        return np.flatnonzero(ev[0] == code) if code is not None else np.zeros(0, dtype=np.int64)

    out: dict[str, Any] = {"entered": counts.column("entered", index)}
    moves = _moves(ev, users)
    stay = moves[2] != ev_index.get("left", -2)  # each user's last entered / exited row: where they are
    last = _latest(moves[1][stay], moves[0][stay])
    at = last[ev[0][last] == ev_index.get("entered", -2)]
    out["waiting"] = _Tab((node[0][at], node[1]), (np.zeros(len(at), dtype=np.int8), ["at"])).column("at", index)
    out["timed_out"] = counts.column("timed_out", index)
    out["stuck"] = counts.column("waiting", index)
    by_port = _Tab(node, _native_codes(t["port"]), rows_of("left"))
    ports = list(PORT_COLUMNS) + [f"left_{p}" for p in by_port.present() if f"left_{p}" not in PORT_COLUMNS]
    for pc in ports:
        out[pc] = by_port.column(pc[len("left_") :], index)
    for e in ("sent", "deferred", "discarded"):
        out[e] = counts.column(e, index)
    reason = _native_codes(t["detail"])
    by_reason = _Tab(node, reason, rows_of("discarded"))
    for r in DISCARD_REASONS:
        out[f"discarded_{r}"] = by_reason.column(r, index)
    for e in ("delivered", "viewed", "clicked", "profile_updated", "exited", "held", "unsubscribed", "converted"):
        out[e] = counts.column(e, index)
    # exits by reason straight from the node (a completion — leaving by a port with no
    # connector — follows its `left` row and is already counted under that port)
    direct = _direct_exits(ev, users, moves)
    rc = np.full(len(reason[1]) + 1, -1, dtype=np.int64)
    names = list(EXIT_REASONS)
    for i, lab in enumerate(reason[1]):
        base = lab.split(":", 1)[0]
        if base in names:
            rc[i] = names.index(base)
    by_exit = _Tab((node[0][direct], node[1]), (rc[reason[0][direct]], names))
    for r in EXIT_REASONS:
        out[f"exited_{r}"] = by_exit.column(r, index)
    columns = [*NODE_STAT_COLUMNS[:4], *ports, *NODE_STAT_COLUMNS[4 + len(PORT_COLUMNS) :]]
    table = np.empty((len(index), len(columns)), dtype=np.int64)  # (one block: no frame of 40 arrays)
    for j, c in enumerate(columns):
        table[:, j] = out[c]
    return pd.DataFrame(table, index=pd.Index(index, name="node"), columns=columns)


def _direct_exits(
    ev: tuple[np.ndarray, list[Any]], users: UserCodes, moves: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> np.ndarray:
    """Positions of the ``exited`` rows of one journey's trace rows that do not follow a
    ``left`` row of the same user (each user's rows are in the order they happened, whatever
    the interleaving); ``moves`` are the rows' :func:`_moves`."""
    codes = {v: i for i, v in enumerate(ev[1])}
    rows, k, e = moves
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    left, exited = codes.get("left", -2), codes.get("exited", -2)
    # when every `left` is followed, among the moves in trace order, by a move of the same user
    # (an engine's trace: a user who leaves a node enters the next or exits at once), a user's
    # move before an `exited` is a `left` exactly when the move just before it is: no sort
    same = k[1:] == k[:-1]  # each move's user is the next move's
    is_left = e == left
    if not is_left[-1] and bool((same | ~is_left[:-1]).all()):
        after_left = np.zeros(len(rows), dtype=bool)
        after_left[1:] = is_left[:-1] & same
        out: np.ndarray = rows[(e == exited) & ~after_left]
        return out
    is_move = np.zeros(len(users.codes), dtype=bool)
    is_move[rows] = True
    by_user = users.by_user
    rows = by_user[is_move[by_user]]  # the moves, by user (each user's in trace order)
    k = users.codes[rows]
    e = ev[0][rows]
    prev_left = np.zeros(len(rows), dtype=bool)
    prev_left[1:] = (k[1:] == k[:-1]) & (e[:-1] == left)
    keep = (e == exited) & ~prev_left
    return np.sort(rows[keep])


@_fill
def conservation(node_stats: pd.DataFrame) -> pd.DataFrame:
    """Where every user who entered each node is now, and the check that nobody is lost.

    ``entered``, ``waiting``, ``left`` (by any port), ``exited`` (straight from the node, any
    reason) and ``unaccounted`` = entered − waiting − left − exited, which is 0 for every node
    of every trace.

    Parameters
    ----------
    node_stats : pandas.DataFrame
        Node statistics (:func:`node_stats`).

    Returns
    -------
    pandas.DataFrame
        One row per node: ``entered, waiting, left, exited, unaccounted``.

    Examples
    --------
    >>> import pandas as pd
    >>> ns = pd.DataFrame({"entered": [10], "waiting": [2], "left_yes": [5], "exited_goal": [3]}, index=["a"])
    >>> conservation(ns).loc["a"].tolist()
    [10, 2, 5, 3, 0]
    """
    left = node_stats[[c for c in node_stats.columns if c.startswith("left_")]].sum(axis=1)
    exited = node_stats[[f"exited_{r}" for r in EXIT_REASONS if f"exited_{r}" in node_stats.columns]].sum(axis=1)
    out = pd.DataFrame(
        {"entered": node_stats["entered"], "waiting": node_stats["waiting"], "left": left, "exited": exited}
    )
    out["unaccounted"] = out["entered"] - out["waiting"] - out["left"] - out["exited"]
    return out.astype("int64")


@_fill
def edge_flows(trace: pd.DataFrame, definition: Any, journey: str | None = None) -> pd.DataFrame:
    """Users who moved along each connector.

    Parameters
    ----------
    %(trace)s
    definition : JourneyDef or Journey
        The journey whose connectors are counted.
    %(journey)s

    Returns
    -------
    pandas.DataFrame
        ``source, port, target, users``: one row per connector, nobody's too.

    Examples
    --------
    %(example)s
    >>> edge_flows(t, result.journey).iloc[0].astype(str).tolist()
    ['cart', 'yes', 'push', '74']
    """
    t = _one_journey(trace, journey if journey is not None else definition.id)
    left = t[_s(t["event"]) == "left"]
    counts = left.groupby([_s(left["node"]), _s(left["port"])], observed=True).size()
    rows = []
    for c in definition.connectors:
        rows.append(
            {"source": c.source, "port": c.port, "target": c.target, "users": int(counts.get((c.source, c.port), 0))}
        )
    return pd.DataFrame(rows, columns=["source", "port", "target", "users"])


@_fill
def exits(trace: pd.DataFrame, journey: str | None = None) -> pd.DataFrame:
    """Exits by reason and by the node the user was at.

    %(trace_journey)s

    Returns
    -------
    pandas.DataFrame
        ``node, reason, users``; reasons as in :data:`EXIT_REASONS` (goals as ``goal:<name>``).

    Examples
    --------
    %(example)s
    >>> sorted(set(exits(t)["reason"]))
    ['completed', 'goal:Purchase']
    """
    t = _one_journey(trace, journey)
    ex = t[_s(t["event"]) == "exited"]
    g = ex.groupby([_s(ex["node"]), _s(ex["detail"])], observed=True).size()
    return g.rename("users").reset_index().rename(columns={"detail": "reason"})


#: ports that are not Split branches (used to tell branches when the Split nodes are not named)
SPLIT_PORTS: frozenset[str] = frozenset({"yes", "no", "timeout", "next", "viewed", "clicked", "not_sent"})


@_fill
def enrollments(
    trace: pd.DataFrame, journey: str | None = None, *, splits: Sequence[str] | None = None, _user_codes: Any = None
) -> pd.DataFrame:
    """One row per enrollment: when and where it began and ended, and what experiments read.

    The columns are ``user_id, n, entered_at, entry_node, exited_at, reason``, then:

    * ``split``, ``branch``: the first Split the enrollment passed and the branch it was drawn
      into (a control branch too);
    * ``messages``, ``unsubscribes``: messages sent, opt-outs caused (even after the exit);
    * ``goal``, ``converted_at``, ``attributed``: the conversion — a goal exit, or a goal's event
      within the attribution window after a non-goal exit (``attributed``);
    * ``last_message``: the node that sent the last message before the conversion (before the
      end when there is none): the message a conversion is credited to.

    %(trace_journey)s
    splits : sequence of str or None, default None
        The Split node ids; default every node left by a port that is not one of
        :data:`SPLIT_PORTS`, and every node that held a user.

    Returns
    -------
    pandas.DataFrame
        One row per enrollment.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_id": "a", "ts": pd.to_datetime([0, 0, 0, 0, 60, 60, 120], unit="s", utc=True),
    ...     "journey": "j", "version": 1, "node": ["in", "in", "s", "s", "p", "p", "p"],
    ...     "event": ["entered", "left", "entered", "left", "entered", "sent", "exited"],
    ...     "port": ["", "yes", "", "B", "", "", ""], "detail": ["entry", "", "", "", "", "push", "goal:Buy"]})
    >>> enrollments(t)[["split", "branch", "messages", "goal", "attributed", "last_message"]].values.tolist()
    [['s', 'B', 1, 'Buy', False, 'p']]
    """
    return _enrollments(trace, journey, splits, _user_codes)[0]


class _Enrollments:
    """The enrollments of one journey's trace rows, as positions and codes (no frame built):
    what :func:`enrollments` shows and :func:`journey_stats` counts, worked out once.

    ``entry_rows`` are the entry rows (one per enrollment, in trace order); ``number`` each
    enrollment's count among its user's; :meth:`of` the enrollment of given rows;
    ``exit_at`` / ``conv_at`` the enrollments with an exit / a conversion and that row;
    ``messages`` / ``unsubscribes`` the counts per enrollment."""

    def __init__(self, trace: pd.DataFrame, journey: str | None, user_codes: Any) -> None:
        t, users = _journey_rows(trace, journey, user_codes)
        self.t = t
        self.ev_c, self.ev_l = _native_codes(t["event"])
        self.det_c, self.det_l = _native_codes(t["detail"])
        self.node_c, self.node_l = _native_codes(t["node"])
        self.port_c, self.port_l = _native_codes(t["port"])
        self.user_c = users.codes
        if len(t) and int(self.user_c.min()) < 0:  # (a missing user id, code -1: counted as one user)
            self.user_c = self.user_c - int(self.user_c.min())
        # UTC instants as datetime64 (a tz-aware column's plain to_numpy() makes a Timestamp per row)
        self.ts = t["ts"].to_numpy(dtype="datetime64[ns]")
        self.event = {
            e: _where(self.ev_c, self.ev_l, e.__eq__)
            for e in ("entered", "exited", "left", "held", "sent", "unsubscribed", "converted")
        }
        is_entry = self.event["entered"] & _where(self.det_c, self.det_l, "entry".__eq__)
        # the enrollment a row belongs to: its user's latest entry at or before it (feedback and
        # conversions after the exit too, until the next entry); none before the first. Asked
        # only of the rows a statistic reads (see `of`), from the entries ordered by (user, row).
        self.entry_rows = entry_rows = np.flatnonzero(is_entry)
        self.n = n_enr = len(entry_rows)
        self._stride = len(t) + 1
        ent_user = self.user_c[entry_rows]
        self._by_key = stable_order(ent_user)  # the enrollments by (user, row): the rows ascend
        self._keys = (ent_user * self._stride + entry_rows)[self._by_key]
        ent_user = self._keys // self._stride
        self._ent_rows = self._keys - ent_user * self._stride
        # per user code: how many entries, where the first is in that order
        self._count = np.bincount(ent_user, minlength=int(self.user_c.max()) + 1 if len(t) else 0)
        self._start = np.cumsum(self._count) - self._count
        # the user's own entry count at each entry: its rank among the user's entries
        self.number = np.empty(n_enr, dtype=np.int64)
        self.number[self._by_key] = np.arange(n_enr) - self._start[ent_user] + 1
        self.exit_at = self.pick(self.event["exited"])
        # conversions: a goal exit, or a conversion after exit (attribution window)
        is_goal = _where(self.det_c, self.det_l, lambda d: str(d).startswith("goal:"))
        self.conv_at = self.pick((self.event["exited"] & is_goal) | self.event["converted"])
        self.messages, self.unsubscribes = (
            np.bincount(self.of(np.flatnonzero(self.event[e]))[1], minlength=n_enr).astype(np.int64)
            for e in ("sent", "unsubscribed")
        )
        #: per detail code (-1 last) the goal name, None for a detail that is not a goal
        self.goal_of = np.array(
            [str(d)[5:] if str(d).startswith("goal:") else None for d in self.det_l] + [None], dtype=object
        )

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows that belong to an enrollment, the enrollment of each)."""
        if not self.n or not len(rows):
            return rows[:0], np.zeros(0, dtype=np.int64)
        u = self.user_c[rows]
        count, first = self._count[u], self._start[u]
        # in an enrollment when the user's first entry is at or before the row; a user with one
        # entry (most) has it there, the others' latest entry at or before it is searched
        mine = (count > 0) & (self._ent_rows[np.minimum(first, self.n - 1)] <= rows)
        many = mine & (count > 1)
        first[many] = np.searchsorted(self._keys, u[many] * self._stride + rows[many], side="right") - 1
        return rows[mine], self._by_key[first[mine]]

    def pick(self, mask: np.ndarray, last: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(enrollments, their first / last row of ``mask``, in trace order)."""
        rows, en = self.of(np.flatnonzero(mask))
        none = -1 if last else len(self.t)
        at = np.full(self.n, none, dtype=np.int64)
        (np.maximum if last else np.minimum).at(at, en, rows)
        got = np.flatnonzero(at != none)
        return got, at[got]

    def codes_at(self, codes: np.ndarray, at: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Per enrollment the code of the picked row (-1 where nothing was picked)."""
        out = np.full(self.n, -1, dtype=np.int64)
        out[at[0]] = codes[at[1]]
        return out

    def conversions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(converting enrollments — a goal named —, their goal names, minutes from entry to
        conversion, whether each is a conversion after exit), in enrollment order."""
        goal = self.goal_of[self.codes_at(self.det_c, self.conv_at)]
        conv = np.flatnonzero(goal != None)  # noqa: E711 - an object array's elementwise test
        ns = self.ts.view(np.int64)
        conv_row = np.full(self.n, 0, dtype=np.int64)
        conv_row[self.conv_at[0]] = self.conv_at[1]
        # as pandas' Timedelta.total_seconds() / 60 (nanoseconds over 1e9, then minutes)
        minutes = (ns[conv_row[conv]] - ns[self.entry_rows[conv]]) / 1_000_000_000 / 60.0
        return conv, goal[conv], minutes, self.event["converted"][conv_row[conv]]

    def frame(self, splits: Sequence[str] | None) -> pd.DataFrame:
        """The :func:`enrollments` frame."""
        t, n_enr, ts, entry_rows = self.t, self.n, self.ts, self.entry_rows
        node_c, node_l, port_c, port_l, det_c, det_l = (
            self.node_c, self.node_l, self.port_c, self.port_l, self.det_c, self.det_l,
        )  # fmt: skip
        event = self.event

        def labelled(codes: np.ndarray, labels: list[Any], at: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
            """Per enrollment the label of the picked row, None where nothing was picked."""
            return np.array([*labels, None], dtype=object)[self.codes_at(codes, at)]

        def instants(at: tuple[np.ndarray, np.ndarray]) -> pd.Series:
            out = np.full(n_enr, np.datetime64("NaT"), dtype="datetime64[ns]")
            out[at[0]] = ts[at[1]]
            return pd.Series(pd.to_datetime(out, utc=True))

        # split branches: the first branch row of the enrollment
        if splits is None:
            port_ok = _where(port_c, port_l, lambda p: p not in SPLIT_PORTS)
            branch_rows = (event["left"] & port_ok) | event["held"]
        else:
            branch_rows = (event["left"] & _where(node_c, node_l, set(splits).__contains__)) | event["held"]
        branch_at = self.pick(branch_rows)
        # the message credited with a conversion is the last one sent before it (before the
        # end when there is none)
        conv_at = self.conv_at
        sent_rows, sent_en = self.of(np.flatnonzero(event["sent"]))
        last_message = labelled(node_c, node_l, self.pick(event["sent"], last=True))
        if len(conv_at[0]) and len(sent_rows):
            # per converting enrollment: its sent rows before the conversion row, the latest of them
            order = np.lexsort((sent_rows, sent_en))  # by enrollment, then trace order
            se, sr = sent_en[order], sent_rows[order]
            # the last sent row of its enrollment that is before the conversion: searchsorted per enrollment
            keyed = se.astype(np.int64) * (len(ts) + 1) + sr
            probe = conv_at[0].astype(np.int64) * (len(ts) + 1) + conv_at[1]
            i = np.searchsorted(keyed, probe) - 1
            ok = (i >= 0) & (se[np.maximum(i, 0)] == conv_at[0])
            before = np.full(len(conv_at[0]), None, dtype=object)
            node_lab = np.array([*node_l, None], dtype=object)
            before[ok] = node_lab[node_c[sr[i[ok]]]]
            last_message[conv_at[0]] = before
        elif len(conv_at[0]):
            last_message[conv_at[0]] = None
        attributed = np.zeros(n_enr, dtype=bool)
        attributed[conv_at[0]] = event["converted"][conv_at[1]]
        return pd.DataFrame(
            {
                "user_id": t["user_id"].iloc[entry_rows].astype(str).reset_index(drop=True),
                "n": self.number.astype(np.int64),
                "entered_at": pd.Series(pd.to_datetime(ts[entry_rows], utc=True)),
                "entry_node": pd.Series(np.array(node_l, dtype=object)[node_c[entry_rows]].astype(str)),
                "exited_at": instants(self.exit_at),
                "reason": pd.Series(labelled(det_c, det_l, self.exit_at), dtype=object),
                "split": pd.Series(labelled(node_c, node_l, branch_at), dtype=object),
                "branch": pd.Series(labelled(port_c, port_l, branch_at), dtype=object),
                "messages": self.messages,
                "unsubscribes": self.unsubscribes,
                "goal": pd.Series(self.goal_of[self.codes_at(det_c, conv_at)], dtype=object),
                "converted_at": instants(conv_at),
                "attributed": attributed,
                "last_message": pd.Series(last_message, dtype=object),
            }
        )


def _enrollments(
    trace: pd.DataFrame, journey: str | None, splits: Sequence[str] | None, user_codes: np.ndarray | None
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`enrollments`, and the user code of each enrollment."""
    en = _Enrollments(trace, journey, user_codes)
    return en.frame(splits), en.user_c[en.entry_rows]


@_fill
def branch_stats(
    trace: pd.DataFrame,
    journey: str | None = None,
    *,
    splits: Sequence[str] | None = None,
    branches: Sequence[tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """Per Split branch: users drawn into it, their conversions, messages and opt-outs.

    The columns are ``split, branch, users`` (enrollments drawn into it), ``conversions`` (goal
    exits and conversions within the attribution window), ``conversion_rate``, ``messages``,
    ``messages_per_user``, ``unsubscribes``, ``unsubscribes_per_user``,
    ``time_to_goal_median_min`` and ``time_to_goal_mean_min`` (entry to conversion).

    %(trace_journey)s
    splits : sequence of str or None, default None
        The Split node ids, as for :func:`enrollments`.
    branches : sequence of (str, str) or None, default None
        ``(split, branch)`` pairs to report even when nobody went there (a definition's
        branches, :func:`split_branches`).

    Returns
    -------
    pandas.DataFrame
        One row per branch.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_id": ["a"] * 4 + ["b"] * 3, "ts": pd.to_datetime([0] * 7, unit="s", utc=True),
    ...     "journey": "j", "version": 1, "node": ["in", "in", "s", "s", "in", "in", "s"],
    ...     "event": ["entered", "left", "entered", "held", "entered", "left", "entered"],
    ...     "port": ["", "yes", "", "hold", "", "yes", ""], "detail": ["entry", "", "", "", "entry", "", ""]})
    >>> branch_stats(t, branches=[("s", "A"), ("s", "hold")])[["branch", "users", "conversions"]].values.tolist()
    [['A', 0, 0], ['hold', 1, 0]]
    """
    if splits is not None and not splits and not branches:  # no Split: no branch rows (same columns)
        trace = trace.iloc[:0]
    en = enrollments(trace, journey, splits=splits)
    en = en[en["branch"].notna()].copy()
    en["minutes"] = (en["converted_at"] - en["entered_at"]).dt.total_seconds() / 60.0
    en["converted"] = en["goal"].notna()
    g = en.groupby(["split", "branch"], sort=True)
    out = pd.DataFrame(
        {
            "users": g.size(),
            "conversions": g["converted"].sum(),
            "messages": g["messages"].sum(),
            "unsubscribes": g["unsubscribes"].sum(),
            "time_to_goal_median_min": g["minutes"].median(),
            "time_to_goal_mean_min": g["minutes"].mean(),
        }
    )
    if branches is not None:
        idx = pd.MultiIndex.from_tuples(list(branches), names=["split", "branch"])
        out = out.reindex(idx.append(out.index.difference(idx)))
        out[["users", "conversions", "messages", "unsubscribes"]] = out[
            ["users", "conversions", "messages", "unsubscribes"]
        ].fillna(0)
    out = out.reset_index()
    for c in ("users", "conversions", "messages", "unsubscribes"):
        out[c] = out[c].astype("int64")
    users = out["users"].where(out["users"] > 0)
    out["conversion_rate"] = (out["conversions"] / users).fillna(0.0)
    out["messages_per_user"] = (out["messages"] / users).fillna(0.0)
    out["unsubscribes_per_user"] = (out["unsubscribes"] / users).fillna(0.0)
    cols = [
        "split",
        "branch",
        "users",
        "conversions",
        "conversion_rate",
        "messages",
        "messages_per_user",
        "unsubscribes",
        "unsubscribes_per_user",
        "time_to_goal_median_min",
        "time_to_goal_mean_min",
    ]
    return out[cols]


@_fill
def message_conversions(trace: pd.DataFrame, journey: str | None = None) -> pd.DataFrame:
    """Per engagement node: messages sent and the conversions credited to them (last touch).

    A conversion is credited to the node that sent the last message before it; conversions
    within the attribution window count too.

    %(trace_journey)s

    Returns
    -------
    pandas.DataFrame
        ``node, sent, conversions, conversions_per_message``.

    Examples
    --------
    %(example)s
    >>> message_conversions(t)["node"].tolist()
    ['push', 'reminder']
    """
    en = enrollments(trace, journey)
    t = _one_journey(trace, journey)
    sent = t[_s(t["event"]) == "sent"]
    s_count = sent.groupby(_s(sent["node"]).astype(str), observed=True).size()
    c_count = en[en["goal"].notna() & en["last_message"].notna()].groupby("last_message").size()
    nodes = sorted(set(s_count.index) | set(c_count.index))
    out = pd.DataFrame(
        {
            "node": nodes,
            "sent": [int(s_count.get(n, 0)) for n in nodes],
            "conversions": [int(c_count.get(n, 0)) for n in nodes],
        }
    )
    out["conversions_per_message"] = (out["conversions"] / out["sent"].where(out["sent"] > 0)).fillna(0.0)
    return out


@_fill
def journey_stats(
    trace: pd.DataFrame, journey: str | None = None, goals: list[str] | None = None, *, _user_codes: Any = None
) -> pd.Series:
    """The journey's headline figures: enrollments, exits, conversions, messages.

    Entered, active, exits by reason, conversions per goal, conversion rate, time to goal;
    with an attribution window, conversions after exit count too (``conversions_attributed``
    says how many); ``messages``, ``messages_per_user``, ``unsubscribes`` (opt-outs its
    messages caused) and ``unsubscribes_per_user``.

    %(trace_journey)s
    goals : list of str or None, default None
        The goal names, so that goals nobody reached get zeros; default those in the trace.

    Returns
    -------
    pandas.Series
        The figures by name.

    Examples
    --------
    %(example)s
    >>> s = journey_stats(t, goals=["Purchase"])
    >>> int(s["entered"]), int(s["conversions"])
    (74, 24)
    """
    en = _Enrollments(trace, journey, _user_codes)  # (counted from codes: no frame built)
    n = en.n
    users = en.user_c[en.entry_rows]
    reason = en.codes_at(en.det_c, en.exit_at)
    out: dict[str, Any] = {
        "entered": n,
        "users": int(np.count_nonzero(np.bincount(users))) if len(users) else 0,
        "active": int(np.count_nonzero(reason < 0)),
    }
    by_reason: Counter[str] = Counter()
    per_code = np.bincount(reason[reason >= 0], minlength=len(en.det_l))
    for code in np.flatnonzero(per_code):  # few distinct reasons: read each once
        by_reason[str(en.det_l[code]).split(":")[0]] += int(per_code[code])
    for r in ("goal", "journey_timeout", "force_exit", "completed", "stopped"):
        out[f"exits_{r}"] = by_reason[r]
    conv, goal, minutes, attributed = en.conversions()
    names = list(goals or []) + sorted(set(goal.tolist()) - set(goals or []))
    for g in names:
        out[f"conversions_{g}"] = int(np.count_nonzero(goal == g))
    out["conversions"] = len(conv)
    out["conversions_attributed"] = int(np.count_nonzero(attributed))
    out["conversion_rate"] = (len(conv) / n) if n else 0.0
    out["time_to_goal_median_min"] = float(np.median(minutes)) if len(minutes) else float("nan")
    out["time_to_goal_mean_min"] = float(np.mean(minutes)) if len(minutes) else float("nan")
    out["messages"] = int(en.messages.sum())
    out["messages_per_user"] = (out["messages"] / n) if n else 0.0
    out["unsubscribes"] = int(en.unsubscribes.sum())
    out["unsubscribes_per_user"] = (out["unsubscribes"] / n) if n else 0.0
    return pd.Series(out, name=journey or (str(trace["journey"].iloc[0]) if len(trace) else ""))


@_fill
def goal_stats(
    trace: pd.DataFrame, journey: str | None = None, *, by_branch: bool = False, splits: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per goal: conversions, conversion rate and time to goal.

    Conversions within the attribution window after exit count too (``attributed`` says how
    many); times are the median and mean minutes from entry.

    %(trace_journey)s
    by_branch : bool, default False
        One row per goal and Split branch (``split``, ``branch`` columns; the rate over the
        branch's enrollments).
    splits : sequence of str or None, default None
        The Split node ids, as for :func:`enrollments`.

    Returns
    -------
    pandas.DataFrame
        One row per goal (and branch).

    Examples
    --------
    %(example)s
    >>> goal_stats(t)[["goal", "conversions"]].values.tolist()
    [['Purchase', 24]]
    """
    en = enrollments(trace, journey, splits=splits)
    g = en[en["goal"].notna()].copy()
    g["minutes"] = (g["converted_at"] - g["entered_at"]).dt.total_seconds() / 60.0
    keys = ["split", "branch", "goal"] if by_branch else ["goal"]
    agg = g.groupby(keys).agg(
        conversions=("user_id", "size"),
        attributed=("attributed", "sum"),
        median_min=("minutes", "median"),
        mean_min=("minutes", "mean"),
    )
    agg["attributed"] = agg["attributed"].astype("int64")
    if by_branch:
        sizes = en.groupby(["split", "branch"]).size()
        denom = np.array([sizes.get((a, b), 0) for a, b, _ in agg.index], dtype=float)
        agg["conversion_rate"] = agg["conversions"] / np.maximum(denom, 1)
    else:
        agg["conversion_rate"] = agg["conversions"] / max(len(en), 1)
    return agg.reset_index()


@_fill
def waiting_users(trace: pd.DataFrame, journey: str | None = None) -> dict[str, list[str]]:
    """For each node, the users who are at it at the end of the trace.

    %(trace_journey)s

    Returns
    -------
    dict of str to list of str
        Node id to user ids.

    Examples
    --------
    %(example)s
    >>> sorted(waiting_users(t))
    ['charged', 'wait']
    """
    pos = _positions(_one_journey(trace, journey))
    pos = pos[_s(pos["event"]) == "entered"]
    out: dict[str, list[str]] = {}
    for node, users in pos.groupby(_s(pos["node"]), observed=True)["user_id"]:
        out[str(node)] = sorted(map(str, users))
    return out


@_fill
def waiting_over_time(
    trace: pd.DataFrame, journey: str | None = None, *, freq: str = "1h", end: Any = None
) -> pd.DataFrame:
    """Users at each node over time, sampled at the end of each ``freq``.

    %(trace_journey)s
    freq : str, default "1h"
        The sampling interval, a pandas frequency.
    end : datetime-like or None, default None
        The last sample; default the trace's last row.

    Returns
    -------
    pandas.DataFrame
        ``ts, node, users``.

    Examples
    --------
    %(example)s
    >>> list(waiting_over_time(t, freq="1D").columns)
    ['ts', 'node', 'users']
    """
    t = _one_journey(trace, journey)
    ev = _s(t["event"])
    moves = t[ev.isin(["entered", "left", "exited"])]
    mev = _s(moves["event"])
    # a completion is `left` then `exited` at the same node: count that departure once
    prev = mev.groupby(moves["user_id"].to_numpy(), sort=False).shift(1)
    delta = np.where(mev == "entered", 1, np.where((mev == "left") | ((mev == "exited") & (prev != "left")), -1, 0))
    d = pd.DataFrame({"ts": moves["ts"], "node": _s(moves["node"]), "delta": delta})
    d = d[d["delta"] != 0]
    if d.empty:
        return pd.DataFrame(columns=["ts", "node", "users"])
    wide = d.pivot_table(index="ts", columns="node", values="delta", aggfunc="sum", fill_value=0).sort_index().cumsum()
    last = pd.Timestamp(end) if end is not None else wide.index.max()
    grid = pd.date_range(wide.index.min().floor(freq), last.ceil(freq), freq=freq)
    sampled = wide.reindex(wide.index.union(grid)).ffill().fillna(0).reindex(grid)
    long = sampled.reset_index(names="ts").melt(id_vars="ts", var_name="node", value_name="users")
    long["users"] = long["users"].astype("int64")
    return long


@_fill
def messages_per_day(trace: pd.DataFrame, journey: str | None = None, *, timezone: str = "UTC") -> pd.DataFrame:
    """Messages sent per channel per account-local day.

    Parameters
    ----------
    %(trace)s
    journey : str or None, default None
        Count the messages of this journey only; default those of every journey.
    %(timezone)s

    Returns
    -------
    pandas.DataFrame
        ``day, channel, messages``.

    Examples
    --------
    %(example)s
    >>> sorted(set(messages_per_day(t)["channel"]))
    ['email', 'push']
    """
    t = trace if journey is None else trace[trace["journey"] == journey]
    s = t[_s(t["event"]) == "sent"]
    if s.empty:
        return pd.DataFrame(columns=["day", "channel", "messages"])
    day = s["ts"].dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    g = s.groupby([day.rename("day"), _s(s["detail"]).rename("channel")], observed=True).size()
    return g.rename("messages").reset_index()


@_fill
class Stats(NamedTuple):
    """SPEC §8 statistics of one journey, from a trace.

    What the simulator (:meth:`SimulationResult.stats <journeylab.sim.SimulationResult.stats>`)
    and the production runtime (:meth:`Runtime.stats <journeylab.runtime.Runtime.stats>`) both
    report.

    Parameters
    ----------
    journey : pandas.Series
        Entered, active, exits by reason, conversions per goal, rate, time to goal
        (:func:`journey_stats`).
    nodes : pandas.DataFrame
        One row per node (:func:`node_stats`).
    goals : pandas.DataFrame
        One row per goal (:func:`goal_stats`).
    branches : pandas.DataFrame, default empty
        One row per Split branch (:func:`branch_stats`).

    Examples
    --------
    >>> from journeylab.examples import purchase_promo
    >>> s = summarize(empty_trace(), [purchase_promo().definition])
    >>> isinstance(s, Stats), list(s._fields)
    (True, ['journey', 'nodes', 'goals', 'branches'])
    """

    journey: pd.Series
    nodes: pd.DataFrame
    goals: pd.DataFrame
    branches: pd.DataFrame = pd.DataFrame()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures (NaN as ``None``)."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and v != v:
                return None
            return v.item() if hasattr(v, "item") else v

        return {
            "journey": {k: clean(v) for k, v in self.journey.items()},
            "nodes": {str(n): {k: clean(v) for k, v in row.items()} for n, row in self.nodes.iterrows()},
            "goals": [{k: clean(v) for k, v in row.items()} for row in self.goals.to_dict("records")],
            "branches": [{k: clean(v) for k, v in row.items()} for row in self.branches.to_dict("records")],
        }


@_fill
def summarize(trace: pd.DataFrame, versions: Sequence[JourneyDef]) -> Stats:
    """The :class:`Stats` of one journey from a trace.

    Nodes are listed in definition order over every version, goals by the latest.

    Parameters
    ----------
    %(trace)s
    versions : sequence of JourneyDef
        The journey's definitions, oldest first.

    Returns
    -------
    Stats
        Its journey, node, goal and branch statistics.

    Examples
    --------
    >>> from journeylab.examples import purchase_promo
    >>> s = summarize(empty_trace(), [purchase_promo().definition])
    >>> s.nodes.index.tolist(), int(s.journey["entered"])
    (['purchase', 'wait', 'promo'], 0)
    """
    if not versions:
        raise ValueError("give the journey's definition(s)")
    jid = versions[-1].id
    nodes: list[str] = []
    for d in versions:
        for n in d.nodes:
            if n.id not in nodes:
                nodes.append(n.id)
    goals = [g.name for g in versions[-1].goals]
    splits, pairs = split_branches(versions)
    return Stats(
        journey_stats(trace, jid, goals=goals),
        node_stats(trace, jid, nodes=nodes),
        goal_stats(trace, jid, splits=splits),
        branch_stats(trace, jid, splits=splits, branches=[p for p in pairs if p[0] in splits]),
    )


@_fill
def split_branches(versions: Sequence[JourneyDef]) -> tuple[list[str], list[tuple[str, str]]]:
    """The Split node ids of a journey's versions and their ``(split, branch)`` pairs, in order.

    Parameters
    ----------
    versions : sequence of JourneyDef
        The journey's definitions.

    Returns
    -------
    tuple of (list of str, list of (str, str))
        The Split ids, and their branches.

    Examples
    --------
    >>> from journeylab.model import Journey, Split, SplitBranch
    >>> j = Journey("AB", id="ab")
    >>> _ = j.add(Split(id="s", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="B", percent=50)]))
    >>> split_branches([j.definition])
    (['s'], [('s', 'A'), ('s', 'B')])
    """
    from journeylab.model.nodes import Split

    splits: list[str] = []
    pairs: list[tuple[str, str]] = []
    for d in versions:
        for n in d.nodes:
            if isinstance(n, Split):
                if n.id not in splits:
                    splits.append(n.id)
                pairs += [(n.id, b.name) for b in n.branches if (n.id, b.name) not in pairs]
    return splits, pairs


@_fill
def messages_per_user_day(trace: pd.DataFrame, *, timezone: str = "UTC") -> pd.DataFrame:
    """Messages each user was sent per account-local day, across every journey of the trace.

    Parameters
    ----------
    %(trace)s
    %(timezone)s

    Returns
    -------
    pandas.DataFrame
        ``user_id, day, messages, journeys`` and ``capped`` (sends discarded that day because
        an account frequency cap was reached); one row per user and day with a send or a
        capped one.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_id": ["a", "a", "b"], "ts": pd.to_datetime([0, 3600, 0], unit="s", utc=True),
    ...                   "journey": ["j1", "j2", "j1"], "version": 1, "node": "p", "event": ["sent", "discarded", "sent"],
    ...                   "port": "", "detail": ["push", "cap", "push"]})
    >>> messages_per_user_day(t)[["user_id", "messages", "journeys", "capped"]].values.tolist()
    [['a', 1, 1, 1], ['b', 1, 1, 0]]
    """
    ev = _s(trace["event"])
    sent = (ev == "sent").to_numpy()
    capped = ((ev == "discarded") & (_s(trace["detail"]) == "cap")).to_numpy()
    s = trace[sent | capped]
    if s.empty:
        return pd.DataFrame(
            {
                "user_id": pd.Series(dtype=object),
                "day": pd.Series(dtype="datetime64[ns]"),
                "messages": pd.Series(dtype="int64"),
                "journeys": pd.Series(dtype="int64"),
                "capped": pd.Series(dtype="int64"),
            }
        )
    day = s["ts"].dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    is_sent = sent[sent | capped]
    d = pd.DataFrame(
        {
            "user_id": s["user_id"].astype(str).to_numpy(),
            "day": day.to_numpy(),
            "journey": pd.Series(_s(s["journey"]).astype(str).to_numpy()).where(is_sent),
            "sent": is_sent,
            "capped": ~is_sent,
        }
    )
    g = d.groupby(["user_id", "day"], sort=True).agg(
        messages=("sent", "sum"), journeys=("journey", "nunique"), capped=("capped", "sum")
    )
    return g.reset_index().astype({"messages": "int64", "journeys": "int64", "capped": "int64"})


@_fill
def message_load(trace: pd.DataFrame, *, timezone: str = "UTC", top: int = 4) -> pd.DataFrame:
    """Per account-local day, how many messages users got across every journey.

    Parameters
    ----------
    %(trace)s
    %(timezone)s
    top : int, default 4
        The count from which users are counted together (``users_<top>+``).

    Returns
    -------
    pandas.DataFrame
        ``day``, ``users`` (users sent anything), ``messages``, ``mean`` and ``max`` messages
        per messaged user, ``users_1`` … ``users_<top>+``: how many users got 1, 2, … ``top``
        or more, and ``capped``: sends discarded because an account frequency cap was reached.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"user_id": ["a", "a", "b"], "ts": pd.to_datetime([0, 3600, 0], unit="s", utc=True),
    ...                   "journey": ["j1", "j2", "j1"], "version": 1, "node": "p", "event": "sent", "port": "",
    ...                   "detail": "push"})
    >>> message_load(t, top=2)[["users", "messages", "max", "users_1", "users_2+"]].values.tolist()
    [[2, 3, 2, 1, 1]]
    """
    per = messages_per_user_day(trace, timezone=timezone)
    cap_days = per.groupby("day")["capped"].sum()
    per = per[per["messages"] > 0]
    cols = [
        "day",
        "users",
        "messages",
        "mean",
        "max",
        *[f"users_{k}" for k in range(1, top)],
        f"users_{top}+",
        "capped",
    ]
    if per.empty:
        return pd.DataFrame(columns=cols)
    g = per.groupby("day")["messages"]
    out = pd.DataFrame({"users": g.size(), "messages": g.sum(), "mean": g.mean().round(2), "max": g.max()})
    capped = per["messages"].clip(upper=top)
    dist = pd.crosstab(per["day"], capped).reindex(columns=range(1, top + 1), fill_value=0)
    for k in range(1, top):
        out[f"users_{k}"] = dist[k]
    out[f"users_{top}+"] = dist[top]
    out = out.reindex(out.index.union(cap_days.index))
    out["capped"] = cap_days.reindex(out.index, fill_value=0)
    out = out.fillna(0).astype({c: "int64" for c in cols[1:] if c != "mean"})
    return out.reset_index(names="day")[cols]
