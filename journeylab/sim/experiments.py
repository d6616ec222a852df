"""Experiments: Monte Carlo replications with confidence intervals, sweeps, A/B comparisons.

Every function returns a tidy DataFrame, one row per statistic: ``scope`` (``journey`` or
``node``), ``journey``, ``node`` (empty for journey scope), ``stat``, then the estimate
columns. Replication ``r`` uses seed ``seed + r``; comparisons and sweeps reuse the same
seeds for every variant (common random numbers), so differences come from the variants,
not from the draws. The cohort is prepared once (:class:`~journeylab.sim.Simulation`) and the
runs are spread over the cores, one whole run per process (``workers=`` to choose).

>>> import pandas as pd
>>> from journeylab.examples import purchase_promo
>>> profiles = pd.DataFrame({"user_id": ["a", "b"], "push_token": ["t", "t"]})
>>> events = pd.DataFrame({"user_id": ["a", "b"], "event": ["Charged", "Charged"],
...                        "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00"], utc=True)})
>>> reps = replicate(purchase_promo(), (profiles, events), "2026-10-01T00:00Z", "2026-10-02T00:00Z", n=3)
>>> reps.query("scope == 'node' and node == 'promo' and stat == 'sent'")[["mean", "ci_low", "ci_high"]].iloc[0].tolist()
[2.0, 2.0, 2.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from journeylab.errors import JourneyDefinitionError
from journeylab.model.journey import JourneyDef
from journeylab.sim.simulator import as_definitions
from journeylab.stats import split_branches

__all__ = [
    "replicate",
    "sweep",
    "compare",
    "vary",
    "run_stats",
    "summarize",
    "branch_results",
    "uplift",
    "UPLIFT_STATS",
    "sample_size",
    "sample_size_table",
]

KEY = ["scope", "journey", "node", "branch", "stat"]
#: what :func:`uplift` compares by default: conversions, the cost in messages and in opt-outs
UPLIFT_STATS: tuple[str, ...] = ("conversion_rate", "messages_per_user", "unsubscribes_per_user")


def run_stats(result: Any) -> pd.DataFrame:
    """Every numeric statistic of one run, long format: ``scope, journey, node, branch, stat, value``.

    ``scope`` is ``journey``, ``node`` or ``branch`` (a Split branch: ``node`` is the Split,
    ``branch`` the branch; see :func:`journeylab.stats.branch_stats`); ``branch`` is empty
    for the other scopes. Statistics without a value in a run (a time to goal with no
    conversion) are left out of it.
    """
    frames = []
    seen: set[str] = set()
    for d in result.journeys:
        if d.id in seen:  # several versions of one journey: one set of figures
            continue
        seen.add(d.id)
        js = result.journey_stats_of(d.id)
        vals = pd.to_numeric(js, errors="coerce").dropna()
        frames.append(
            pd.DataFrame(
                {
                    "scope": "journey",
                    "journey": d.id,
                    "node": "",
                    "branch": "",
                    "stat": vals.index,
                    "value": vals.to_numpy(dtype=float),
                }
            )
        )
        ns = result.node_stats_of(d.id)
        n_nodes, n_stats = ns.shape  # (a melt, column after column, without pandas' reshaping)
        frames.append(
            pd.DataFrame(
                {
                    "scope": "node",
                    "journey": d.id,
                    "node": np.tile(ns.index.to_numpy(), n_stats),
                    "branch": "",
                    "stat": np.repeat(ns.columns.to_numpy(), n_nodes),
                    "value": ns.to_numpy(dtype=float).ravel(order="F"),
                }
            )
        )
        versions = [v for v in result.journeys if v.id == d.id]
        bs = result.branch_stats_of(d.id) if split_branches(versions)[0] else None  # no Split: no rows
        if bs is not None and len(bs):
            long = bs.rename(columns={"split": "node"}).melt(
                id_vars=["node", "branch"], var_name="stat", value_name="value"
            )
            long = long.astype({"value": float}).dropna(subset=["value"])
            long.insert(0, "journey", d.id)
            long.insert(0, "scope", "branch")
            frames.append(long)
    return pd.concat(frames, ignore_index=True)


def summarize(long: pd.DataFrame, by: Sequence[str] = (), *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and a t-interval of ``value`` over replications."""
    return _t_summary(long, [*by, *KEY], "value", confidence)


def _t_summary(long: pd.DataFrame, keys: list[str], col: str, confidence: float) -> pd.DataFrame:
    """Mean, std, count and t-interval of ``col`` per group of ``keys``."""
    from scipy import stats as st

    g = long.groupby(keys, sort=False, dropna=False)[col]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    tq = np.where(out["n"] > 1, st.t.ppf(0.5 + confidence / 2, np.maximum(out["n"] - 1, 1)), 0.0)
    half = tq * out["std"] / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out


_POOL_JOBS: list[Any] = []  # what forked run workers read: the prepared simulations


def _run_one(i: int, seed: int) -> pd.DataFrame:  # runs in a worker (forked) or here
    res = _POOL_JOBS[i].run(seed, workers=1, _trace_only=True)  # (the statistics read the trace alone)
    return run_stats(res)


def _run_all(sims: list[Any], tasks: list[tuple[int, int]], progress: Any, workers: int | None) -> list[pd.DataFrame]:
    """Run ``(simulation index, seed)`` tasks, over every core when there are several tasks: each
    task is one whole simulation in one process (runs are independent), the prepared simulations
    inherited by forked workers, never pickled. Results come back in task order."""
    import os
    import sys
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from journeylab.sim.pool import available_cores

    n = workers if workers is not None else (min(available_cores(), 8) if sys.platform == "linux" else 1)
    n = max(1, min(n, len(tasks)))
    _POOL_JOBS[:] = sims
    try:
        if n == 1 or not hasattr(os, "fork"):
            out = []
            for i, sd in tasks:
                out.append(_run_one(i, sd))
                if progress is not None:
                    progress.update(1)
            return out
        for sim in sims:  # computed once here, inherited by every forked run
            sim._prep.user_keys()
        with ProcessPoolExecutor(max_workers=n, mp_context=get_context("fork")) as pool:
            futures = [pool.submit(_run_one, i, sd) for i, sd in tasks]
            out = []
            for f in futures:
                out.append(f.result())
                if progress is not None:
                    progress.update(1)
            return out
    finally:
        _POOL_JOBS.clear()


def _long(frames: list[pd.DataFrame], seeds: list[int], seed0: int) -> pd.DataFrame:
    for f, sd in zip(frames, seeds, strict=True):
        f.insert(0, "replication", sd - seed0)
    return pd.concat(frames, ignore_index=True)


def _simulation(journeys: Any, cohort: Any, start: Any, end: Any, kw: dict[str, Any]) -> Any:
    from journeylab.sim.simulator import Simulation

    kw = dict(kw)
    workers = kw.pop("workers", None)
    return Simulation(journeys, cohort, start, end, **kw), workers


def _bar(total: int, desc: str, show: bool) -> Any:
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="run")


def replicate(
    journeys: Any,
    cohort: Any,
    start: Any = None,
    end: Any = None,
    *,
    n: int = 20,
    seed: int = 0,
    confidence: float = 0.95,
    progress: bool = False,
    raw: bool = False,
    **kw: Any,
) -> pd.DataFrame:
    """Run ``n`` replications and summarize every statistic with a confidence interval.

    Extra keywords go to :func:`simulate` (``behaviour=``, ``lifecycle=``...). With
    ``raw=True`` the per-replication values are returned instead of the summary.
    """
    if n < 1:
        raise JourneyDefinitionError("n must be at least 1", "n")
    sim, workers = _simulation(journeys, cohort, start, end, kw)  # prepared once
    seeds = [seed + r for r in range(n)]
    bar = _bar(n, "replications", progress)
    try:
        long = _long(_run_all([sim], [(0, sd) for sd in seeds], bar, workers), seeds, seed)
    finally:
        if bar is not None:
            bar.close()
    return long if raw else summarize(long, confidence=confidence)


def vary(
    defn: JourneyDef, value: Any, *, node: str | None = None, field: str | None = None, setting: str | None = None
) -> JourneyDef:
    """A copy of ``defn`` with one node field (or one setting, or the goals) set to ``value``."""
    if setting is not None:
        try:
            return msgspec.structs.replace(defn, settings=msgspec.structs.replace(defn.settings, **{setting: value}))
        except TypeError:
            raise JourneyDefinitionError(f"journeys have no setting {setting!r}", f"$.settings.{setting}") from None
    if field == "goals" and node is None:
        return msgspec.structs.replace(defn, goals=list(value))
    if node is None or field is None:
        raise JourneyDefinitionError("give node= and field=, or setting=", "$")
    found = False
    nodes = []
    for i, n in enumerate(defn.nodes):
        if n.id == node:
            found = True
            try:
                n = msgspec.structs.replace(n, **{field: value})
            except TypeError:
                raise JourneyDefinitionError(f"node {node!r} has no field {field!r}", f"$.nodes[{i}].{field}") from None
        nodes.append(n)
    if not found:
        raise JourneyDefinitionError(f"there is no node {node!r}", "$.nodes")
    return msgspec.structs.replace(defn, nodes=nodes)


def sweep(
    journey: Any,
    cohort: Any,
    start: Any = None,
    end: Any = None,
    *,
    values: Sequence[Any],
    node: str | None = None,
    field: str | None = None,
    setting: str | None = None,
    variant: Callable[[JourneyDef, Any], JourneyDef] | None = None,
    replications: int = 5,
    seed: int = 0,
    confidence: float = 0.95,
    progress: bool = False,
    **kw: Any,
) -> pd.DataFrame:
    """Simulate the journey once per value of a setting; tidy results with a ``value`` column
    (the swept value, durations shown as ``"6 h"``) beside ``stat, mean, std, ci_low, ci_high, n``.

    Sweep a node field (``node="browse", field="window"``), a journey setting
    (``setting="journey_timeout"``), the goals (``field="goals"``), or anything with
    ``variant=lambda defn, value: ...``. Every value uses the same seeds.
    """
    base = as_definitions(journey)
    first = [
        variant(base[0], v) if variant is not None else vary(base[0], v, node=node, field=field, setting=setting)
        for v in values
    ]
    sim, workers = _simulation([first[0], *base[1:]], cohort, start, end, kw)
    sims = [sim, *(sim.with_journeys([f, *base[1:]]) for f in first[1:])]  # the cohort prepared once
    seeds = [seed + r for r in range(replications)]
    tasks = [(i, sd) for i in range(len(values)) for sd in seeds]
    bar = _bar(len(tasks), "sweep", progress)
    try:
        stats = _run_all(sims, tasks, bar, workers)
    finally:
        if bar is not None:
            bar.close()
    frames = []
    for i, v in enumerate(values):
        long = _long(stats[i * replications : (i + 1) * replications], seeds, seed)
        long.insert(0, "setting", [v] * len(long))
        frames.append(long)
    long = pd.concat(frames, ignore_index=True)
    long["setting"] = long["setting"].map(_label)
    out = summarize(long, by=["setting"], confidence=confidence)
    return out.rename(columns={"setting": "value"})


def _label(v: Any) -> Any:
    """A short, readable label for a swept value (durations, goals, limits, DND...).

    >>> from journeylab.model import Limit
    >>> _label([Limit(max=1, per="day"), Limit(max=3, per="week", channel="push")])
    '1/day, 3/week push'
    """
    if hasattr(v, "total_seconds"):
        secs = v.total_seconds()
        return f"{secs / 3600:g} h" if secs % 3600 == 0 else f"{secs / 60:g} min"
    if isinstance(v, list | tuple):
        return ", ".join(str(_label(x)) for x in v) or "none"
    if isinstance(v, msgspec.Struct):
        name = getattr(v, "name", None)
        if isinstance(name, str):
            return name
        if hasattr(v, "max") and hasattr(v, "per"):  # a campaign limit
            channel = getattr(v, "channel", None)
            return f"{v.max}/{v.per}" + (f" {channel}" if channel else "")
        if hasattr(v, "mode") and hasattr(v, "ranges"):  # DND
            return f"DND {v.mode}"
        fields = msgspec.structs.asdict(v)
        return " ".join(f"{k}={_label(x)}" for k, x in fields.items() if x not in (None, [], {}, ""))
    return v


def compare(
    a: Any,
    b: Any,
    cohort: Any,
    start: Any = None,
    end: Any = None,
    *,
    replications: int = 10,
    seed: int = 0,
    confidence: float = 0.95,
    names: tuple[str, str] = ("A", "B"),
    progress: bool = False,
    **kw: Any,
) -> pd.DataFrame:
    """Two journey variants on the same cohort with common random numbers.

    Returns per statistic: the mean of each variant, the mean paired difference B − A and
    its confidence interval (the same seeds are used for both variants). Statistics are
    matched by node id, so give both variants the same journey id.
    """
    sa, workers = _simulation(a, cohort, start, end, kw)
    sb = sa.with_journeys(b)
    seeds = [seed + r for r in range(replications)]
    bar = _bar(2 * replications, "compare", progress)
    try:
        stats = _run_all([sa, sb], [(i, sd) for i in (0, 1) for sd in seeds], bar, workers)
    finally:
        if bar is not None:
            bar.close()
    la = _long(stats[:replications], seeds, seed)
    lb = _long(stats[replications:], seeds, seed)
    la = la.assign(journey="")
    lb = lb.assign(journey="")
    m = la.merge(lb, on=["replication", *KEY], how="outer", suffixes=("_a", "_b")).fillna(
        {"value_a": 0.0, "value_b": 0.0}
    )
    diff = m.assign(value=m["value_b"] - m["value_a"])
    s = summarize(diff[["replication", *KEY, "value"]], confidence=confidence)
    means = m.groupby(KEY, sort=False)[["value_a", "value_b"]].mean().reset_index()
    out = means.merge(s, on=KEY).rename(
        columns={
            "value_a": f"mean_{names[0]}",
            "value_b": f"mean_{names[1]}",
            "mean": "diff",
            "ci_low": "diff_ci_low",
            "ci_high": "diff_ci_high",
        }
    )
    return out.drop(columns=["journey"])


def _controls(defs: Sequence[JourneyDef], control: str | None) -> dict[tuple[str, str], str]:
    """``(journey, split) -> control branch``: the branch named ``control`` where a Split has
    it, else the Split's branch marked ``control``."""
    from journeylab.model.nodes import Split

    out: dict[tuple[str, str], str] = {}
    for d in defs:
        for n in d.nodes:
            if not isinstance(n, Split):
                continue
            names = [b.name for b in n.branches]
            if control is not None and control in names:
                out[(d.id, n.id)] = control
            elif control is None:
                flagged = [b.name for b in n.branches if b.control]
                if flagged:
                    out[(d.id, n.id)] = flagged[0]
    if not out:
        where = (
            f"no Split has a branch named {control!r}" if control is not None else "no Split branch is marked control"
        )
        raise JourneyDefinitionError(
            f"{where}: give control= the branch to compare against, or mark one with SplitBranch(..., control=True)",
            "control",
        )
    return out


def _replicated(
    journeys: Any,
    cohort: Any,
    start: Any,
    end: Any,
    raw: pd.DataFrame | None,
    replications: int,
    seed: int,
    progress: bool,
    kw: dict[str, Any],
) -> pd.DataFrame:
    if raw is not None:
        if "replication" not in raw.columns or "branch" not in raw.columns:
            raise JourneyDefinitionError("raw must be replicate(..., raw=True)'s per-replication table", "raw")
        return raw
    if cohort is None:
        raise JourneyDefinitionError("give a cohort to simulate, or raw= replications already run", "cohort")
    return replicate(journeys, cohort, start, end, n=replications, seed=seed, progress=progress, raw=True, **kw)


def branch_results(
    journeys: Any,
    cohort: Any = None,
    start: Any = None,
    end: Any = None,
    *,
    raw: pd.DataFrame | None = None,
    replications: int = 10,
    seed: int = 0,
    confidence: float = 0.95,
    progress: bool = False,
    **kw: Any,
) -> pd.DataFrame:
    """Per Split branch: users, conversions, conversion rate, messages, opt-outs and time to
    goal with a confidence interval over ``replications`` runs (seeds ``seed``, ``seed + 1``...).

    One row per ``journey, split, branch, stat`` with ``control`` (the branch is a hold-out),
    ``mean, std, n, ci_low, ci_high``. Conversions include those within the journey's
    attribution window after exit. ``raw`` reuses ``replicate(..., raw=True)`` runs.

    >>> import datetime as dt
    >>> import pandas as pd
    >>> from journeylab.model import Action, Journey, Push, Split, SplitBranch
    >>> j = Journey("Promo test", id="promo", journey_timeout=dt.timedelta(days=1))
    >>> _ = j.add(Action(id="bought", event="Charged"))
    >>> _ = j.then("bought", "yes", Split(id="ab", branches=[SplitBranch(name="send", percent=50),
    ...            SplitBranch(name="hold", percent=50, control=True)]))
    >>> _ = j.then("ab", "send", Push(id="promo"))
    >>> profiles = pd.DataFrame({"user_id": [f"u{i}" for i in range(40)], "push_token": "t"})
    >>> events = pd.DataFrame({"user_id": profiles["user_id"], "event": "Charged",
    ...                        "ts": pd.Timestamp("2026-10-01 09:00", tz="UTC")})
    >>> b = branch_results(j, (profiles, events), "2026-10-01T00:00Z", "2026-10-03T00:00Z", replications=3)
    >>> float(b.query("stat == 'users'")["mean"].sum())  # every user is drawn into one branch
    40.0
    >>> b.query("branch == 'hold' and stat == 'messages'")[["control", "mean"]].values.tolist()
    [[True, 0.0]]
    """
    defs = as_definitions(journeys)
    long = _replicated(journeys, cohort, start, end, raw, replications, seed, progress, kw)
    out = summarize(long[long["scope"] == "branch"], confidence=confidence)
    out = out.drop(columns=["scope"]).rename(columns={"node": "split"})
    from journeylab.model.nodes import Split

    flagged = {
        (d.id, n.id, b.name) for d in defs for n in d.nodes if isinstance(n, Split) for b in n.branches if b.control
    }
    out.insert(
        3,
        "control",
        [(j, s, b) in flagged for j, s, b in zip(out["journey"], out["split"], out["branch"], strict=True)],
    )
    return out.reset_index(drop=True)


def uplift(
    journeys: Any,
    cohort: Any = None,
    start: Any = None,
    end: Any = None,
    *,
    control: str | None = None,
    stats: Sequence[str] = UPLIFT_STATS,
    raw: pd.DataFrame | None = None,
    replications: int = 10,
    seed: int = 0,
    confidence: float = 0.95,
    progress: bool = False,
    **kw: Any,
) -> pd.DataFrame:
    """Each Split branch against the control branch: absolute and relative uplift with intervals.

    Every replication draws the users of all branches with one seed, so a branch and its
    control share the run's random numbers; the uplift of a replication is the branch's value
    minus the control's (relative: divided by the control's, minus 1) and the interval is a
    t-interval of those per-replication differences. The control is the branch named
    ``control`` or, by default, the Split's branch marked ``control=True``.

    Returns one row per ``journey, split, branch, stat`` (every branch but the control) with
    ``control`` (its name), ``mean_branch, mean_control, diff, diff_ci_low, diff_ci_high,
    relative, relative_ci_low, relative_ci_high, n`` (replications; relative figures over the
    replications where the control's value is not zero).

    >>> import pandas as pd
    >>> raw = pd.DataFrame({"replication": [0, 0, 1, 1], "scope": "branch", "journey": "j", "node": "s",
    ...                     "branch": ["A", "hold", "A", "hold"], "stat": "conversion_rate",
    ...                     "value": [0.30, 0.20, 0.34, 0.20]})
    >>> from journeylab.model import JourneyDef, Split, SplitBranch
    >>> d = JourneyDef(id="j", name="j", nodes=[Split(id="s", branches=[SplitBranch(name="A", percent=50),
    ...                SplitBranch(name="hold", percent=50, control=True)])])
    >>> u = uplift(d, raw=raw, stats=["conversion_rate"])
    >>> u[["branch", "control", "diff", "relative"]].round(2).values.tolist()
    [['A', 'hold', 0.12, 0.6]]
    """
    defs = as_definitions(journeys)
    controls = _controls(defs, control)
    long = _replicated(journeys, cohort, start, end, raw, replications, seed, progress, kw)
    b = long[(long["scope"] == "branch") & long["stat"].isin(list(stats))]
    rows: list[pd.DataFrame] = []
    for (jid, split), ctl in controls.items():
        part = b[(b["journey"] == jid) & (b["node"] == split)]
        wide = part.pivot_table(index=["replication", "stat"], columns="branch", values="value", aggfunc="first")
        if ctl not in wide.columns:
            continue
        for br in [c for c in wide.columns if c != ctl]:
            both = wide[[br, ctl]].dropna()
            if both.empty:
                continue
            d = pd.DataFrame(
                {
                    "replication": both.index.get_level_values(0),
                    "stat": both.index.get_level_values(1),
                    "diff": both[br].to_numpy() - both[ctl].to_numpy(),
                    "branch_v": both[br].to_numpy(),
                    "control_v": both[ctl].to_numpy(),
                }
            )
            nz = d["control_v"] != 0
            d["relative"] = np.where(nz, d["branch_v"] / d["control_v"].where(nz, 1.0) - 1.0, np.nan)
            d.insert(0, "branch", br)
            d.insert(0, "split", split)
            d.insert(0, "journey", jid)
            d.insert(3, "control", ctl)
            rows.append(d)
    cols = [
        "journey",
        "split",
        "branch",
        "control",
        "stat",
        "mean_branch",
        "mean_control",
        "diff",
        "diff_ci_low",
        "diff_ci_high",
        "relative",
        "relative_ci_low",
        "relative_ci_high",
        "n",
    ]
    if not rows:
        return pd.DataFrame(columns=cols)
    d = pd.concat(rows, ignore_index=True)
    keys = ["journey", "split", "branch", "control", "stat"]
    out = (
        d.groupby(keys, sort=False)
        .agg(mean_branch=("branch_v", "mean"), mean_control=("control_v", "mean"))
        .reset_index()
    )
    for name in ("diff", "relative"):
        s = _t_summary(d.dropna(subset=[name]), keys, name, confidence)
        s = s.rename(columns={"mean": name, "ci_low": f"{name}_ci_low", "ci_high": f"{name}_ci_high"})
        keep = [*keys, name, f"{name}_ci_low", f"{name}_ci_high"] + (["n"] if name == "diff" else [])
        out = out.merge(s[keep], on=keys, how="left")
    out["n"] = out["n"].fillna(0).astype("int64")
    return out[cols]


def sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = False,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> int:
    """Users needed per branch for a live test of a conversion rate.

    ``baseline`` is the control's conversion rate (e.g. the simulated control branch's, from
    :func:`branch_results`); ``mde`` the minimum detectable effect, in rate points
    (``0.02``: 10 % -> 12 %) or, with ``relative``, as a fraction of the baseline (``0.2``:
    10 % -> 12 %). The test is the two-proportion z-test on Cohen's effect size
    ``h = 2 asin(sqrt(p2)) - 2 asin(sqrt(p1))`` (statsmodels' ``NormalIndPower``); ``ratio`` is
    the treatment branch's size over the control's. Returns the control branch's users,
    rounded up (the treatment branch needs ``ceil(ratio * n)``).

    >>> sample_size(0.10, 0.02)              # 10 % -> 12 %, 80 % power, 5 % two-sided
    3835
    >>> sample_size(0.10, 0.2, relative=True) == sample_size(0.10, 0.02)
    True
    """
    for name, v, lo, hi in (("baseline", baseline, 0.0, 1.0), ("power", power, 0.0, 1.0), ("alpha", alpha, 0.0, 1.0)):
        if not (isinstance(v, int | float) and lo < v < hi):
            raise JourneyDefinitionError(f"{name} must be strictly between {lo:g} and {hi:g}, got {v!r}", name)
    if not (isinstance(ratio, int | float) and ratio > 0):
        raise JourneyDefinitionError(f"ratio must be positive, got {ratio!r}", "ratio")
    if alternative not in ("two-sided", "larger", "smaller"):
        raise JourneyDefinitionError(
            f"alternative must be 'two-sided', 'larger' or 'smaller', got {alternative!r}", "alternative"
        )
    target = baseline * (1 + mde) if relative else baseline + mde
    if mde == 0 or not 0.0 < target < 1.0:
        raise JourneyDefinitionError(
            f"the effect must move the rate {baseline:g} to another rate in (0, 1), got {target:g}", "mde"
        )
    try:
        from statsmodels.stats.power import NormalIndPower
        from statsmodels.stats.proportion import proportion_effectsize
    except ImportError:  # pragma: no cover - depends on the environment
        from journeylab.errors import MissingExtraError

        raise MissingExtraError("statsmodels", "experiments") from None
    h = abs(float(proportion_effectsize(target, baseline)))
    alt = "two-sided" if alternative == "two-sided" else "larger"
    n = NormalIndPower().solve_power(effect_size=h, alpha=alpha, power=power, ratio=ratio, alternative=alt)
    return int(math.ceil(float(np.asarray(n).item()) - 1e-9))


def sample_size_table(
    baseline: float,
    mdes: Sequence[float],
    *,
    relative: bool = False,
    powers: Sequence[float] = (0.8, 0.9),
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: str = "two-sided",
) -> pd.DataFrame:
    """:func:`sample_size` for several effects and powers: ``mde, target_rate, power,
    users_per_branch, users_total`` (control plus one treatment branch of ``ratio`` times its size).

    >>> sample_size_table(0.1, [0.02, 0.05], powers=[0.8])[["mde", "users_per_branch"]].values.tolist()
    [[0.02, 3835.0], [0.05, 681.0]]
    """
    rows = []
    for mde in mdes:
        for pw in powers:
            n = sample_size(
                baseline, mde, relative=relative, power=pw, alpha=alpha, ratio=ratio, alternative=alternative
            )
            rows.append(
                {
                    "mde": mde,
                    "target_rate": baseline * (1 + mde) if relative else baseline + mde,
                    "power": pw,
                    "users_per_branch": n,
                    "users_total": n + int(math.ceil(ratio * n)),
                }
            )
    return pd.DataFrame(rows)
