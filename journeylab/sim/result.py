"""The result of a simulation: the trace and everything computed from it."""

from __future__ import annotations

import html
import json
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa

from journeylab import stats
from journeylab.model.journey import JourneyDef
from journeylab.stats import UserCodes
from journeylab.trace import sends_frame, utc_seconds

__all__ = ["SimulationResult", "changes_frame", "apply_changes", "responses_frame", "responses_table"]

_CHANGE_COLUMNS = ["user_id", "ts", "journey", "node", "property", "value"]


RESPONSE_COLUMNS = ("user_id", "ts", "seq", "kind", "message_id", "event", "props")

#: trace rows from which a run's result is put together by two threads (below, one)
HELPER_FROM = 50_000


def responses_table(rows: list[tuple[Any, ...]]) -> Any:
    """Simulated responses as rows ``(user_id, ts epoch s, seq, kind, message_id, event, props)``
    in an Arrow table (the columnar form the simulator's workers hand over); ``props`` is a goal-lift
    event's properties as JSON text (None when it has none)."""
    import pyarrow as pa

    cols: list[Sequence[Any]] = list(zip(*rows, strict=True)) or [[] for _ in RESPONSE_COLUMNS]
    types = [pa.string(), pa.int64(), pa.int64(), pa.string(), pa.string(), pa.string(), pa.string()]
    return pa.table({c: pa.array(v, type=t) for c, v, t in zip(RESPONSE_COLUMNS, cols, types, strict=True)})


def responses_frame(tables: list[Any]) -> pd.DataFrame:
    """Responses in canonical order (by instant, user id, the user's own sequence number)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = pa.concat_tables(tables) if tables else responses_table([])
    if t.num_rows > 1:
        t = t.take(pc.sort_indices(t, sort_keys=[("ts", "ascending"), ("user_id", "ascending"), ("seq", "ascending")]))
    df = t.to_pandas()
    df["ts"] = utc_seconds(df["ts"].to_numpy(dtype="int64"))
    props = np.full(len(df), None, dtype=object)  # parsed where a goal-lift event has some
    texts = t.column("props")
    given = np.flatnonzero(pc.fill_null(pc.not_equal(texts, ""), False).to_numpy(zero_copy_only=False))
    props[given] = [json.loads(x) for x in texts.take(pa.array(given)).to_pylist()]
    df["props"] = pd.Series(props, index=df.index, dtype=object)
    return df


def props_text(props: dict[str, Any] | None) -> str | None:
    """A goal-lift event's properties as the JSON text ``responses`` keep (None: none)."""
    return json.dumps(props, sort_keys=True) if props else None


def changes_frame(rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    """Profile changes ``(user_id, ts epoch s, journey, node, property, value)`` as a table in
    canonical order (by instant, then user id, each user's changes in the order they happened)."""
    ordered = sorted(rows, key=itemgetter(1, 0))
    df = pd.DataFrame(ordered, columns=_CHANGE_COLUMNS)
    df["ts"] = utc_seconds(df["ts"].to_numpy(dtype="int64"))
    df["value"] = df["value"].astype(object)
    return df


def apply_changes(profiles: pd.DataFrame | None, changes: pd.DataFrame) -> pd.DataFrame:
    """``profiles`` (a ``user_id`` column) with ``changes`` applied in order, one row per user."""
    base = profiles.copy() if profiles is not None else pd.DataFrame({"user_id": pd.Series([], dtype=object)})
    if changes.empty:
        return base.reset_index(drop=True)
    base = base.set_index("user_id")
    for prop in dict.fromkeys(changes["property"]):
        if prop not in base.columns:
            base[prop] = None
        base[prop] = base[prop].astype(object)
    last = changes.groupby(["user_id", "property"], sort=False)["value"].last()
    for key, value in last.items():
        uid, prop = cast(tuple[Hashable, Hashable], key)  # grouped by two columns: the keys are pairs
        base.at[uid, prop] = value
    return base.reset_index()


@dataclass
class SimulationResult:
    """Trace, statistics and inputs of one simulation run.

    The statistics are computed from the trace when first read: ``node_stats`` (per node of
    the journey; for several journeys ``node_stats_of(journey_id)``, ``all_node_stats`` with a
    (journey, node) index), ``journey_stats``, ``waiting_over_time``, ``messages_per_day``,
    ``waiting_users``, ``edge_flows``, ``final_profiles`` (the profiles with the run's Profile
    Updates applied).

    Parameters
    ----------
    trace : pandas.DataFrame
        One row per thing that happened to a user (canonical order).
    journeys : list of JourneyDef
        The journeys run.
    start : pandas.Timestamp
        When the run began.
    end : pandas.Timestamp
        When it ended.
    seed : int
        The seed of the simulated responses.
    cohort_name : str, default "cohort"
        The cohort's name.
    n_users : int, default 0
        The cohort's users.
    sends : pandas.DataFrame, default empty
        The messages sent.
    responses : pandas.DataFrame, default empty
        The simulated responses to them (``viewed``/``clicked``/``unsubscribed`` feedback and
        goal-lift ``event`` rows with their ``props``, ``seq`` giving the order at one instant):
        replayable through the production runtime.
    timings : dict of str to float, default {}
        Where the wall time went, in seconds (``cohort_s``, ``prepare_s``, ``run_s``,
        ``results_s``), the ``workers`` used and ``batched`` (1.0: the batched engine ran, 0.0:
        the per-user one); a sharded run gives each shard's.
    profile_changes : pandas.DataFrame, default empty
        What Profile Update nodes and opt-outs (consent) changed: ``user_id, ts, journey, node,
        property, value``.
    profiles : pandas.DataFrame or None, default None
        The cohort's profiles, for ``final_profiles``.

    Examples
    --------
    >>> from journeylab import examples, simulate
    >>> from journeylab.datasets import generate_cohort
    >>> result = simulate(examples.cart_abandonment(), generate_cohort(100, days=3, seed=1), "2026-10-01T00:00Z", "2026-10-04T00:00Z", seed=1)
    >>> isinstance(result, SimulationResult), result.journey.id, int(result.journey_stats["entered"]) > 0
    (True, 'cart-abandonment', True)
    """

    trace: pd.DataFrame
    journeys: list[JourneyDef]
    start: pd.Timestamp
    end: pd.Timestamp
    seed: int
    cohort_name: str = "cohort"
    n_users: int = 0
    sends: pd.DataFrame = field(default_factory=pd.DataFrame)
    responses: pd.DataFrame = field(default_factory=pd.DataFrame)
    timings: dict[str, float] = field(default_factory=dict)
    profile_changes: pd.DataFrame = field(default_factory=lambda: changes_frame([]))
    profiles: pd.DataFrame | None = None  # the cohort's profiles as given (not copied)
    # (the trace a run made, each row's user as a code): read by the statistics while the
    # trace is that one (they are computed once, when first read, like the cached figures)
    _coded: tuple[pd.DataFrame, np.ndarray | UserCodes] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_chunks(
        cls,
        chunks: list[dict[str, Any]],
        user_ids: Sequence[str] | pa.Array,
        defs: list[JourneyDef],
        start: pd.Timestamp,
        end: pd.Timestamp,
        seed: int,
        *,
        profiles: pd.DataFrame | None = None,
        cohort_name: str = "cohort",
        n_users: int = 0,
        trace_only: bool = False,
    ) -> SimulationResult:
        """The result of a run from its loops' chunks (one per worker; user codes index
        ``user_ids``) and the cohort's ``profiles``, name and number of users. ``trace_only``:
        the trace alone (sends, responses and profile changes left empty), for callers that
        read only its statistics."""
        from journeylab.sim.output import merge_trace_codes
        from journeylab.sim.pool import available_cores

        def side() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
            # canonical orders: sends by (time, user, message id), responses by (time, user, seq)
            return (
                sends_frame([] if trace_only else [c["sends"] for c in chunks]),
                responses_frame([] if trace_only else [c["responses"] for c in chunks]),
                changes_frame([] if trace_only else [c for ch in chunks for c in ch.get("changes", ())]),
            )

        # a large run's other tables, and its trace's user ids once the trace is in order, are
        # made by a second thread beside the trace's merge (Arrow and numpy release the
        # interpreter lock): 100k users' results in ~35 ms instead of ~60 ms
        if sum(c["n"] for c in chunks) >= HELPER_FROM and available_cores() > 1:
            with ThreadPoolExecutor(1, thread_name_prefix="journeylab-results") as helper:
                tables = helper.submit(side)
                trace, codes = merge_trace_codes(chunks, user_ids, helper=helper)
                sends, resp, changes = tables.result()
        else:
            sends, resp, changes = side()
            trace, codes = merge_trace_codes(chunks, user_ids)
        return cls(
            profile_changes=changes,
            profiles=profiles,
            trace=trace,
            _coded=(trace, codes),
            journeys=list(defs),
            start=start,
            end=end,
            seed=seed,
            cohort_name=cohort_name,
            n_users=n_users,
            sends=sends,
            responses=resp,
        )

    @cached_property
    def final_profiles(self) -> pd.DataFrame:
        """The cohort's profiles after the run: every Profile Update applied in order (a column
        is added for a property the cohort did not have), one row per user."""
        return apply_changes(self.profiles, self.profile_changes)

    # ------------------------------------------------------------------ per journey
    @property
    def journey(self) -> JourneyDef:
        """The (first) journey simulated."""
        return self.journeys[0]

    def definition(self, journey: str | None = None) -> JourneyDef:
        if journey is None:
            return self.journeys[0]
        for d in self.journeys:
            if d.id == journey:
                return d
        raise KeyError(journey)

    def _ids(self) -> list[str]:
        return list(dict.fromkeys(d.id for d in self.journeys))

    def stats(self, journey: str | None = None) -> stats.Stats:
        """Node, journey and goal statistics of one journey (default: the first): the same
        :class:`~journeylab.stats.Stats` the production runtime reports."""
        d = self.definition(journey)
        return stats.summarize(self.trace, [v for v in self.journeys if v.id == d.id])

    def node_stats_of(self, journey: str | None = None) -> pd.DataFrame:
        """Node statistics of one journey (default: the first), its nodes over every version run
        (a version published during the run may add nodes)."""
        d = self.definition(journey)
        nodes = list(dict.fromkeys(n.id for v in self.journeys if v.id == d.id for n in v.nodes))
        return stats.node_stats(self.trace, d.id, nodes=nodes, _user_codes=self._user_codes())

    def _user_codes(self) -> UserCodes | None:
        """The run's user code of each trace row (with their order by user, worked out once for
        every statistic), while the trace is the run's."""
        if self._coded is None or self._coded[0] is not self.trace:
            return None
        trace, codes = self._coded
        if not isinstance(codes, UserCodes):
            codes = UserCodes(codes)
            self._coded = (trace, codes)
        return codes

    @cached_property
    def node_stats(self) -> pd.DataFrame:
        """Node statistics of the first journey, indexed by node id."""
        return self.node_stats_of(None)

    @cached_property
    def all_node_stats(self) -> pd.DataFrame:
        frames = {jid: self.node_stats_of(jid) for jid in self._ids()}
        return pd.concat(frames, names=["journey", "node"])

    def journey_stats_of(self, journey: str | None = None) -> pd.Series:
        d = self.definition(journey)
        return stats.journey_stats(self.trace, d.id, goals=[g.name for g in d.goals], _user_codes=self._user_codes())

    @cached_property
    def journey_stats(self) -> pd.Series:
        """Journey statistics of the first journey."""
        return self.journey_stats_of(None)

    @cached_property
    def all_journey_stats(self) -> pd.DataFrame:
        return pd.DataFrame({jid: self.journey_stats_of(jid) for jid in self._ids()}).T

    @property
    def feedback(self) -> pd.DataFrame:
        """The simulated delivery feedback (views and clicks)."""
        r = self.responses
        return r[r["kind"] != "event"][["user_id", "ts", "message_id", "kind"]].reset_index(drop=True)

    @cached_property
    def goal_stats(self) -> pd.DataFrame:
        splits, _ = stats.split_branches([v for v in self.journeys if v.id == self.journey.id])
        return stats.goal_stats(self.trace, self.journey.id, splits=splits)

    def branch_stats_of(self, journey: str | None = None) -> pd.DataFrame:
        """Per Split branch of one journey (default: the first): users, conversions (within the
        attribution window too), messages, opt-outs, time to goal (see :func:`journeylab.stats.branch_stats`)."""
        d = self.definition(journey)
        splits, pairs = stats.split_branches([v for v in self.journeys if v.id == d.id])
        return stats.branch_stats(self.trace, d.id, splits=splits, branches=pairs)

    @cached_property
    def branch_stats(self) -> pd.DataFrame:
        """Per Split branch of the first journey (see :meth:`branch_stats_of`)."""
        return self.branch_stats_of(None)

    @cached_property
    def edge_flows(self) -> pd.DataFrame:
        return stats.edge_flows(self.trace, self.journey)

    @cached_property
    def waiting_users(self) -> dict[str, list[str]]:
        """Users at each node of the first journey at the end of the simulation."""
        return stats.waiting_users(self.trace, self.journey.id)

    def waiting_over_time_of(self, journey: str | None = None, freq: str = "1h") -> pd.DataFrame:
        d = self.definition(journey)
        return stats.waiting_over_time(self.trace, d.id, freq=freq, end=self.end)

    @cached_property
    def waiting_over_time(self) -> pd.DataFrame:
        """Users at each node over time (hourly), first journey."""
        return self.waiting_over_time_of(None)

    @cached_property
    def messages_per_day(self) -> pd.DataFrame:
        """Messages sent per channel per account-local day (all journeys)."""
        return stats.messages_per_day(self.trace, timezone=self.journey.settings.timezone)

    @cached_property
    def message_load(self) -> pd.DataFrame:
        """Per account-local day, how many messages users got across every journey of the run
        (see :func:`journeylab.stats.message_load`)."""
        return stats.message_load(self.trace, timezone=self.journey.settings.timezone)

    @cached_property
    def messages_per_user_day(self) -> pd.DataFrame:
        """Messages each user got per account-local day, across journeys: ``user_id, day, messages, journeys``."""
        return stats.messages_per_user_day(self.trace, timezone=self.journey.settings.timezone)

    @cached_property
    def enrollments(self) -> pd.DataFrame:
        return stats.enrollments(self.trace, self.journey.id)

    # ------------------------------------------------------------------ output
    def summary(self) -> pd.DataFrame:
        """One row per journey: the headline figures."""
        rows = []
        for jid in self._ids():
            s = self.journey_stats_of(jid)
            sent = int(((self.trace["journey"] == jid) & (self.trace["event"] == "sent")).sum())
            rows.append(
                {
                    "journey": jid,
                    "entered": int(s["entered"]),
                    "active": int(s["active"]),
                    "conversions": int(s["conversions"]),
                    "conversion_rate": float(s["conversion_rate"]),
                    "messages_sent": sent,
                    "exits_completed": int(s["exits_completed"]),
                    "exits_journey_timeout": int(s["exits_journey_timeout"]),
                    "exits_force_exit": int(s["exits_force_exit"]),
                }
            )
        return pd.DataFrame(rows).set_index("journey")

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write trace, node stats and journey stats as Parquet and CSV into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files: dict[str, Path] = {}
        tables = {
            "trace": self.trace,
            "node_stats": self.all_node_stats.reset_index(),
            "journey_stats": self.all_journey_stats.reset_index(names="journey"),
        }
        for name, df in tables.items():
            for ext in ("parquet", "csv"):
                p = out / f"{name}.{ext}"
                if ext == "parquet":
                    df.to_parquet(p, index=False)
                else:
                    df.to_csv(p, index=False)
                files[f"{name}.{ext}"] = p
        return files

    def to_html(self, path: str | Path, *, title: str | None = None) -> Path:
        """A self-contained HTML report (opens offline)."""
        from journeylab.report import write_report

        return write_report(self, path, title=title)

    def __repr__(self) -> str:
        s = self.journey_stats
        return (
            f"SimulationResult({self.journey.id!r} over {self.cohort_name!r} {self.start:%Y-%m-%d}..{self.end:%Y-%m-%d}, "
            f"seed={self.seed}: entered={int(s['entered'])}, conversions={int(s['conversions'])}, "
            f"trace={len(self.trace):,} rows)"
        )

    def _repr_html_(self) -> str:
        try:
            from journeylab.report import result_html

            return result_html(self)
        except ImportError:
            return f"<pre>{html.escape(repr(self))}</pre>{self.summary().to_html()}"
