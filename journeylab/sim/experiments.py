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

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import numpy as np
import pandas as pd

from journeylab.errors import JourneyDefinitionError
from journeylab.model.journey import JourneyDef
from journeylab.sim.simulator import as_definitions

__all__ = ["replicate", "sweep", "compare", "vary", "run_stats", "summarize"]

KEY = ["scope", "journey", "node", "stat"]


def run_stats(result: Any) -> pd.DataFrame:
    """Every numeric statistic of one run, long format: ``scope, journey, node, stat, value``."""
    frames = []
    for d in result.journeys:
        js = result.journey_stats_of(d.id)
        vals = pd.to_numeric(js, errors="coerce").dropna()
        frames.append(pd.DataFrame({"scope": "journey", "journey": d.id, "node": "", "stat": vals.index, "value": vals.to_numpy(dtype=float)}))
        ns = result.node_stats_of(d.id)
        long = ns.reset_index().melt(id_vars="node", var_name="stat", value_name="value")
        long.insert(0, "journey", d.id)
        long.insert(0, "scope", "node")
        frames.append(long.astype({"value": float}))
    return pd.concat(frames, ignore_index=True)


def summarize(long: pd.DataFrame, by: Sequence[str] = (), *, confidence: float = 0.95) -> pd.DataFrame:
    """Mean, standard deviation and a t-interval of ``value`` over replications."""
    from scipy import stats as st

    keys = [*by, *KEY]
    g = long.groupby(keys, sort=False, dropna=False)["value"]
    out = g.agg(mean="mean", std="std", n="count").reset_index()
    out["std"] = out["std"].fillna(0.0)
    tq = np.where(out["n"] > 1, st.t.ppf(0.5 + confidence / 2, np.maximum(out["n"] - 1, 1)), 0.0)
    half = tq * out["std"] / np.sqrt(out["n"])
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out


_POOL_JOBS: list[Any] = []  # what forked run workers read: the prepared simulations


def _run_one(i: int, seed: int) -> pd.DataFrame:  # runs in a worker (forked) or here
    res = _POOL_JOBS[i].run(seed, workers=1)
    return run_stats(res)


def _run_all(sims: list[Any], tasks: list[tuple[int, int]], progress: Any, workers: int | None) -> list[pd.DataFrame]:
    """Run ``(simulation index, seed)`` tasks, over every core when there are several tasks: each
    task is one whole simulation in one process (runs are independent), the prepared simulations
    inherited by forked workers, never pickled. Results come back in task order."""
    import os
    import sys
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    n = workers if workers is not None else (min(len(os.sched_getaffinity(0)), 8) if sys.platform == "linux" else 1)
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


def vary(defn: JourneyDef, value: Any, *, node: str | None = None, field: str | None = None, setting: str | None = None) -> JourneyDef:
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
    first = [variant(base[0], v) if variant is not None else vary(base[0], v, node=node, field=field, setting=setting)
             for v in values]
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
        long = _long(stats[i * replications:(i + 1) * replications], seeds, seed)
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
            return f"{v.max}/{v.per}" + (f" {v.channel}" if getattr(v, "channel", None) else "")
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
    m = la.merge(lb, on=["replication", *KEY], how="outer", suffixes=("_a", "_b")).fillna({"value_a": 0.0, "value_b": 0.0})
    diff = m.assign(value=m["value_b"] - m["value_a"])
    s = summarize(diff[["replication", *KEY, "value"]], confidence=confidence)
    means = m.groupby(KEY, sort=False)[["value_a", "value_b"]].mean().reset_index()
    out = means.merge(s, on=KEY).rename(
        columns={"value_a": f"mean_{names[0]}", "value_b": f"mean_{names[1]}", "mean": "diff", "ci_low": "diff_ci_low", "ci_high": "diff_ci_high"}
    )
    return out.drop(columns=["journey"])
