"""An optimiser: search a journey's windows, delays, send times, split weights and timeout
against a cohort before launch.

:func:`optimize` asks `optuna <https://optuna.org>`_ (the ``experiments`` extra) for candidate
journeys — single- or multi-objective, with constraints — and evaluates each one by
simulation: the same ``replications`` seeds for every candidate (common random numbers), so two
candidates differ by their settings, not by their draws. It returns every trial with
confidence intervals, the Pareto frontier, the chosen journey (validated) and a chart.

The search space maps a target to the grid of values to try, in order:

* ``"nodes.<node id>.<field>"``: a node field (``window``, ``duration``, ``send_at``, ``within``...);
* ``"settings.<name>"``: a journey setting (``journey_timeout``, ``attribution_window``...);
* ``"nodes.<split id>.branches"``: split weights, each value a list of percentages in the
  order of the Split's branches (see :func:`weight_grid`).

A candidate is an index into each grid (optuna's integer suggestions keep the order of the
grid, so its samplers learn that 6 h lies between 3 h and 12 h). Objectives are journey
statistics (``"conversion_rate"``, ``"messages_per_user"``, ``"unsubscribes_per_user"``,
``"conversions_<goal>"``), node statistics (``"promo.sent"``) or an :class:`Objective` with a
function of a run's figures (e.g. profit). Constraints bound the mean of such a figure.

>>> import datetime as dt
>>> space = {"nodes.wait.duration": [dt.timedelta(hours=h) for h in (1, 2, 4)],
...          "nodes.ab.branches": weight_grid(2, step=25, minimum=25)}
>>> _grid_labels(space)["nodes.ab.branches"]
['25/75', '50/50', '75/25']
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import numpy as np
import pandas as pd

from journeylab.errors import JourneyDefinitionError, MissingExtraError
from journeylab.model.journey import JourneyDef
from journeylab.model.nodes import Split, SplitBranch

__all__ = ["Objective", "OptimizationResult", "optimize", "weight_grid", "apply_params"]

Direction = Literal["maximize", "minimize"]
_DIRECTIONS: tuple[Direction, ...] = ("maximize", "minimize")


@dataclass(frozen=True)
class Objective:
    """A figure to optimise or bound: ``fn`` maps one run's figures to a number.

    The figures are a :class:`pandas.Series` indexed by the journey's statistics
    (``conversions``, ``conversion_rate``, ``messages_per_user``...) and the node statistics as
    ``"<node>.<stat>"`` (``"promo.sent"``). ``fn`` is applied to each replication, so the
    objective has a confidence interval like any statistic.

    >>> profit = Objective("profit", lambda s: s["conversions"] - 0.5 * s["messages"])
    >>> profit.value(pd.Series({"conversions": 10.0, "messages": 4.0}))
    8.0
    """

    name: str
    fn: Callable[[pd.Series], float]
    direction: Direction = "maximize"

    def __post_init__(self) -> None:
        if self.direction not in _DIRECTIONS:
            raise JourneyDefinitionError(
                f"direction must be 'maximize' or 'minimize', got {self.direction!r}", f"objective.{self.name}"
            )

    def value(self, figures: pd.Series) -> float:
        """The objective of one run."""
        return float(self.fn(figures))


def _stat(name: str, direction: Direction = "maximize") -> Objective:
    def get(s: pd.Series) -> float:
        if name not in s.index:
            raise JourneyDefinitionError(
                f"the runs have no statistic {name!r}; journey statistics are e.g. "
                f"conversion_rate, messages_per_user, unsubscribes_per_user, node ones "
                f"'<node>.<stat>' (e.g. 'push.sent')",
                f"objective.{name}",
            )
        return float(s[name])

    return Objective(name, get, direction)


def _objectives(objective: Any) -> list[Objective]:
    if isinstance(objective, str | Objective):
        objective = [objective]
    items = list(objective.items()) if isinstance(objective, Mapping) else [(o, None) for o in objective]
    out: list[Objective] = []
    for o, direction in items:
        if isinstance(o, Objective):
            out.append(o if direction is None else Objective(o.name, o.fn, direction))
        elif isinstance(o, str):
            out.append(_stat(o, direction or "maximize"))
        else:
            raise JourneyDefinitionError(f"an objective is a statistic's name or an Objective, got {o!r}", "objective")
    if not out:
        raise JourneyDefinitionError("give at least one objective", "objective")
    names = [o.name for o in out]
    if len(set(names)) != len(names):
        raise JourneyDefinitionError(f"objective names repeat: {names}", "objective")
    return out


def _constraints(constraints: Any) -> list[tuple[Objective, str, float]]:
    """``{figure: ("<=", bound)}`` (or ``">="``) as ``(objective, op, bound)``."""
    out = []
    for k, spec in (constraints or {}).items():
        o = k if isinstance(k, Objective) else _stat(str(k))
        try:
            op, bound = spec
            bound = float(bound)
        except (TypeError, ValueError):
            raise JourneyDefinitionError(
                f'a constraint is ("<=" or ">=", bound), got {spec!r}', f"constraints.{o.name}"
            ) from None
        if op not in ("<=", ">=") or not math.isfinite(bound):
            raise JourneyDefinitionError(
                f'a constraint is ("<=" or ">=", finite bound), got {spec!r}', f"constraints.{o.name}"
            )
        out.append((o, op, bound))
    return out


def weight_grid(
    branches: int, *, step: float = 10, minimum: float = 0, fixed: Mapping[int, float] | None = None
) -> list[list[float]]:
    """Every way to share 100 % between ``branches`` Split branches in steps of ``step``, each
    branch at least ``minimum``; ``fixed`` keeps some branches (by position) at a share (a
    control branch, say).

    >>> weight_grid(2, step=25)
    [[0.0, 100.0], [25.0, 75.0], [50.0, 50.0], [75.0, 25.0], [100.0, 0.0]]
    >>> weight_grid(3, step=30, minimum=10, fixed={2: 10})
    [[30.0, 60.0, 10.0], [60.0, 30.0, 10.0]]
    """
    if branches < 2:
        raise JourneyDefinitionError("a Split has at least 2 branches", "branches")
    if not (0 < step <= 100):
        raise JourneyDefinitionError(f"step must be in (0, 100], got {step}", "step")
    fixed = dict(fixed or {})
    free = [i for i in range(branches) if i not in fixed]
    left = 100.0 - sum(fixed.values())
    levels = [k * step for k in range(int(round(100 / step)) + 1) if minimum <= k * step <= 100]
    out: list[list[float]] = []

    def rec(prefix: list[float], k: int) -> None:
        if k == len(free) - 1:
            last = round(left - sum(prefix), 9)
            if last >= minimum - 1e-9:
                out.append([*prefix, last])
            return
        for v in levels:
            if sum(prefix) + v <= left + 1e-9:
                rec([*prefix, float(v)], k + 1)

    rec([], 0)
    grids = []
    for shares in out:
        full = [0.0] * branches
        for i, v in zip(free, shares, strict=True):
            full[i] = float(v)
        for i, v in fixed.items():
            full[i] = float(v)
        grids.append(full)
    if not grids:
        raise JourneyDefinitionError("no split weights satisfy these steps and minimums", "weight_grid")
    return grids


def _label(v: Any) -> str:
    from journeylab.sim.experiments import _label as label

    if isinstance(v, list | tuple) and v and all(isinstance(x, int | float) for x in v):
        return "/".join(f"{x:g}" for x in v)
    return str(label(v))


def _grid_labels(space: Mapping[str, Sequence[Any]]) -> dict[str, list[str]]:
    return {k: [_label(v) for v in vals] for k, vals in space.items()}


def apply_params(defn: JourneyDef, params: Mapping[str, Any]) -> JourneyDef:
    """``defn`` with each target of ``params`` (see the module docstring) set to its value.

    >>> import datetime as dt
    >>> from journeylab.examples import purchase_promo
    >>> d = apply_params(purchase_promo().definition, {"nodes.wait.duration": dt.timedelta(hours=2),
    ...                                                "settings.journey_timeout": dt.timedelta(days=1)})
    >>> d.node("wait").duration, d.settings.journey_timeout
    (datetime.timedelta(seconds=7200), datetime.timedelta(days=1))
    """
    from journeylab.sim.experiments import vary

    for target, value in params.items():
        parts = target.split(".")
        if len(parts) == 2 and parts[0] == "settings":
            defn = vary(defn, value, setting=parts[1])
        elif len(parts) == 3 and parts[0] == "nodes":
            _, node, fld = parts
            idx = next((i for i, n in enumerate(defn.nodes) if n.id == node), None)
            if idx is None:
                raise JourneyDefinitionError(f"there is no node {node!r}", f"space.{target}")
            n = defn.nodes[idx]
            if fld == "branches" and isinstance(n, Split):
                value = _weights(n, value, idx)
            defn = vary(defn, value, node=node, field=fld)
        else:
            raise JourneyDefinitionError(
                f"a search target is 'nodes.<id>.<field>' or 'settings.<name>', got {target!r}", f"space.{target}"
            )
    return defn


def _weights(split: Split, value: Any, idx: int) -> list[SplitBranch]:
    if value and all(isinstance(b, SplitBranch) for b in value):
        return list(value)
    shares = list(value)
    if len(shares) != len(split.branches):
        raise JourneyDefinitionError(
            f"Split node '{split.id}' has {len(split.branches)} branches, the weights {shares} give {len(shares)}",
            f"$.nodes[{idx}].branches",
        )
    return [msgspec.structs.replace(b, percent=float(p)) for b, p in zip(split.branches, shares, strict=True)]


@dataclass
class OptimizationResult:
    """What :func:`optimize` found.

    * ``trials``: one row per distinct candidate evaluated: ``trial`` (the first trial that
      asked for it), one column per search target (the value's label), per objective and
      constraint ``<name>``, ``<name>_ci_low``, ``<name>_ci_high``; ``feasible``; ``pareto``
      (not dominated by a feasible candidate); ``error`` (why a candidate was refused, e.g. it
      does not validate);
    * ``pareto``: the feasible, non-dominated candidates, best first on the first objective;
    * ``best``: the chosen candidate's row, ``journey``: its definition (validated);
    * ``objectives``, ``constraints``, ``space``; ``study``: the optuna study;
    * ``n_trials``: trials run (candidates asked for twice are simulated once).
    """

    trials: pd.DataFrame
    pareto: pd.DataFrame
    best: pd.Series
    journey: JourneyDef
    objectives: list[Objective]
    constraints: list[tuple[Objective, str, float]]
    space: dict[str, list[Any]]
    study: Any = None
    n_trials: int = 0
    replications: int = 0
    evaluations: int = field(default=0)

    def to_json(self) -> str:
        """The chosen journey as JSON (``journeylab.model.to_json``)."""
        from journeylab.model.io import to_json

        return to_json(self.journey)

    def chart(self, x: str | None = None, y: str | None = None, *, title: str | None = None) -> Any:
        """The trials and the Pareto frontier (see :func:`journeylab.charts.pareto`)."""
        from journeylab.charts.experiments import pareto

        names = [o.name for o in self.objectives]
        y = y or names[0]
        x = x or (names[1] if len(names) > 1 else next(iter(self.space)))
        return pareto(self.trials, x=x, y=y, title=title)

    def __repr__(self) -> str:
        o = ", ".join(f"{obj.name}={self.best[obj.name]:.4g}" for obj in self.objectives)
        chosen = ", ".join(f"{k}={self.best[k]}" for k in self.space)
        return (
            f"<OptimizationResult {self.n_trials} trials, {self.evaluations} candidates simulated, "
            f"{len(self.pareto)} on the Pareto frontier; chosen: {chosen} ({o})>"
        )


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """``a`` (already signed so that larger is better) dominates ``b``."""
    return bool(np.all(a >= b) and np.any(a > b))


def optimize(
    journey: Any,
    cohort: Any,
    start: Any = None,
    end: Any = None,
    *,
    space: Mapping[str, Sequence[Any]],
    objective: Any,
    constraints: Mapping[Any, tuple[str, float]] | None = None,
    n_trials: int = 30,
    seed: int = 0,
    replications: int = 3,
    confidence: float = 0.95,
    sampler: Any = None,
    progress: bool = False,
    **kw: Any,
) -> OptimizationResult:
    """Search ``space`` for the journey that does best on ``objective`` under ``constraints``.

    Parameters
    ----------
    journey
        The journey to tune (a :class:`~journeylab.model.Journey`, a definition, JSON or a path).
    cohort, start, end
        What to simulate over (as :func:`~journeylab.sim.simulate`); the cohort is prepared once.
    space
        Target -> the grid of values to try, in order (see the module docstring).
    objective
        A statistic's name (maximised), a list of them, a mapping name -> ``"maximize"`` /
        ``"minimize"``, or :class:`Objective` items. Two or more: a multi-objective search and a
        Pareto frontier.
    constraints
        Figure -> ``("<=", bound)`` or ``(">=", bound)`` on its mean over the replications.
    n_trials
        Candidates optuna asks for; one already simulated is answered from memory.
    seed
        Seeds optuna's sampler; the replications use seeds ``seed .. seed + replications - 1``
        for every candidate (common random numbers).
    replications
        Simulations per candidate: the objectives are their means, with t-intervals.
    sampler
        An optuna sampler (default: ``TPESampler(seed=seed)``, multivariate, with the constraints).
    progress
        Show a progress bar of the trials.
    **kw
        Passed to the simulation (``behaviour=``, ``workers=``...).

    Returns
    -------
    OptimizationResult

    Examples
    --------
    >>> import datetime as dt
    >>> import pandas as pd
    >>> from journeylab.examples import purchase_promo
    >>> profiles = pd.DataFrame({"user_id": ["a", "b"], "push_token": "t"})
    >>> events = pd.DataFrame({"user_id": ["a", "b"], "event": "Charged",
    ...                        "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00"], utc=True)})
    >>> r = optimize(purchase_promo(), (profiles, events), "2026-10-01T00:00Z", "2026-10-02T00:00Z",
    ...              space={"nodes.wait.duration": [dt.timedelta(hours=h) for h in (1, 15, 20)]},
    ...              objective={"promo.sent": "maximize"}, n_trials=4, replications=1)
    >>> r.best["nodes.wait.duration"], float(r.best["promo.sent"])  # longer waits end after the run
    ('1 h', 2.0)
    """
    try:
        import optuna
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingExtraError("optuna", "experiments") from None
    from journeylab.sim.experiments import _run_all, _simulation
    from journeylab.sim.simulator import as_definitions
    from journeylab.validate import validate

    if n_trials < 1:
        raise JourneyDefinitionError(f"n_trials must be at least 1, got {n_trials}", "n_trials")
    if replications < 1:
        raise JourneyDefinitionError(f"replications must be at least 1, got {replications}", "replications")
    if not space:
        raise JourneyDefinitionError("the search space is empty", "space")
    grids = {str(k): list(v) for k, v in space.items()}
    for k, v in grids.items():
        if not v:
            raise JourneyDefinitionError(f"no values to try for {k!r}", f"space.{k}")
    objs = _objectives(objective)
    cons = _constraints(constraints)
    base = as_definitions(journey)
    defn, others = base[0], base[1:]
    apply_params(defn, {k: v[0] for k, v in grids.items()})  # bad targets fail here, before any run
    labels = _grid_labels(grids)
    seeds = [seed + r for r in range(replications)]
    sim0, workers = _simulation([defn, *others], cohort, start, end, kw)
    cache: dict[tuple[int, ...], dict[str, Any]] = {}
    order: list[tuple[int, ...]] = []

    def evaluate(ix: tuple[int, ...], trial_no: int) -> dict[str, Any]:
        if ix in cache:
            return cache[ix]
        params = {k: grids[k][i] for k, i in zip(grids, ix, strict=True)}
        row: dict[str, Any] = {"trial": trial_no, **{k: labels[k][i] for k, i in zip(grids, ix, strict=True)}}
        row["error"] = ""
        try:
            cand = apply_params(defn, params)
        except JourneyDefinitionError as e:
            cand, row["error"] = None, str(e)
        if cand is not None:
            errs = validate(cand).errors
            if errs:
                row["error"] = "; ".join(f"{e.path}: {e.message}" for e in errs[:3])
        if cand is not None and not row["error"]:  # (without a candidate, the error says why)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a candidate's validation warnings are the user's journey's
                sim = sim0.with_journeys([cand, *others])
            frames = _run_all([sim], [(0, sd) for sd in seeds], None, workers)
            per_run = [_figures(f, cand.id) for f in frames]
            for o in [*objs, *(c[0] for c in cons)]:
                vals = np.array([o.value(s) for s in per_run], dtype=float)
                m, lo, hi = _interval(vals, confidence)
                row[o.name], row[f"{o.name}_ci_low"], row[f"{o.name}_ci_high"] = m, lo, hi
        cache[ix] = row
        order.append(ix)
        return row

    def run_trial(trial: Any) -> Any:
        ix = tuple(trial.suggest_int(k, 0, len(v) - 1) for k, v in grids.items())
        row = evaluate(ix, trial.number)
        if row["error"]:
            trial.set_user_attr("error", row["error"])
            raise optuna.TrialPruned(row["error"])
        viol = [(row[o.name] - b) if op == "<=" else (b - row[o.name]) for o, op, b in cons]
        trial.set_user_attr("constraints", viol)
        if modern:  # optuna >= 5: the samplers read the trial's constraints
            for (o, _, _), v in zip(cons, viol, strict=True):
                trial.set_constraint(o.name, v)
        vals = [row[o.name] for o in objs]
        return vals[0] if len(vals) == 1 else vals

    def constraints_func(trial: Any) -> list[float]:
        return list(trial.user_attrs.get("constraints", [0.0] * len(cons)))

    modern = hasattr(optuna.trial.Trial, "set_constraint")  # else the sampler's constraints_func (optuna < 5)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # multivariate TPE
        if sampler is None:
            sampler = optuna.samplers.TPESampler(
                seed=seed,
                multivariate=True,
                n_startup_trials=min(10, max(3, n_trials // 3)),
                constraints_func=constraints_func if cons and not modern else None,
            )
        study = optuna.create_study(directions=[o.direction for o in objs], sampler=sampler)
        study.optimize(run_trial, n_trials=n_trials, show_progress_bar=progress)
    trials = pd.DataFrame([cache[ix] for ix in order])
    ok = trials["error"] == ""
    feasible = ok.copy()
    for o, op, b in cons:
        feasible &= (trials[o.name] <= b) if op == "<=" else (trials[o.name] >= b)
    trials["feasible"] = feasible
    signed = (
        np.column_stack([trials[o.name].to_numpy(dtype=float) * (1 if o.direction == "maximize" else -1) for o in objs])
        if ok.any()
        else np.empty((len(trials), len(objs)))
    )
    front = []
    for i in range(len(trials)):
        front.append(
            bool(feasible.iloc[i])
            and not any(feasible.iloc[j] and _dominates(signed[j], signed[i]) for j in range(len(trials)) if j != i)
        )
    trials["pareto"] = front
    if not trials["feasible"].any():
        why = trials["error"][~ok].head(1).tolist()
        raise JourneyDefinitionError(
            "no candidate met the constraints"
            + (f" (e.g. {why[0]})" if why else "")
            + ": relax them or widen the space",
            "constraints",
        )
    keys = [o.name for o in objs]
    asc = [o.direction == "minimize" for o in objs]
    pareto = trials[trials["pareto"]].sort_values(keys, ascending=asc, kind="stable").reset_index(drop=True)
    best = pareto.iloc[0]
    chosen_ix = next(ix for ix in order if cache[ix]["trial"] == best["trial"])
    chosen = apply_params(defn, {k: grids[k][i] for k, i in zip(grids, chosen_ix, strict=True)})
    report = validate(chosen)
    if report.errors:  # pragma: no cover - evaluated candidates validated already
        raise JourneyDefinitionError(f"the chosen journey does not validate: {report.errors[0]}", "$")
    return OptimizationResult(
        trials=trials,
        pareto=pareto,
        best=best,
        journey=chosen,
        objectives=objs,
        constraints=cons,
        space=grids,
        study=study,
        n_trials=len(study.trials),
        replications=replications,
        evaluations=len(order),
    )


def _figures(long: pd.DataFrame, journey_id: str) -> pd.Series:
    """One run's figures of a journey: journey statistics by name, node ones as ``node.stat``,
    Split branch ones as ``split.branch.stat``."""
    part = long[long["journey"] == journey_id]
    names = np.where(
        part["scope"] == "journey",
        part["stat"],
        np.where(
            part["scope"] == "node",
            part["node"] + "." + part["stat"],
            part["node"] + "." + part["branch"] + "." + part["stat"],
        ),
    )
    return pd.Series(part["value"].to_numpy(dtype=float), index=names)


def _interval(vals: np.ndarray, confidence: float) -> tuple[float, float, float]:
    """Mean and t-interval of one candidate's per-replication values (as every experiment's)."""
    from journeylab.sim.experiments import _t_summary

    r = _t_summary(pd.DataFrame({"k": 0, "v": vals}), ["k"], "v", confidence).iloc[0]
    return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])
