"""The charts' names and shapes: one plotly.express-like convention, and the old names as
deprecated aliases that draw the same figures.

Every chart is drawn from the bundled example (the cart-abandonment journey over the
``ecommerce`` dataset, the README's main job); the experiment charts from experiments on
that journey (a sweep, a comparison) and on a Split journey (uplift, the optimiser's
frontier) over a small generated cohort.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect

import plotly.graph_objects as go
import pytest

from journeylab import charts, examples
from journeylab.charts._api import RENAMED
from journeylab.datasets import generate_cohort
from journeylab.model import Action, ActionGoal, Journey, Push, Split, SplitBranch
from journeylab.sim import simulate
from journeylab.sim.experiments import compare, replicate, sweep, uplift, vary
from journeylab.sim.optimize import optimize

SPAN = ("2026-10-01T00:00Z", "2026-10-08T00:00Z")


def nudge() -> Journey:
    """A push against a 20 % control branch."""
    j = Journey(
        "Launch nudge", id="nudge", journey_timeout=dt.timedelta(days=1), attribution_window=dt.timedelta(days=1)
    )
    j.add(Action(id="launch", event="App Launched"))
    branches = [SplitBranch(name="push", percent=80), SplitBranch(name="control", percent=20, control=True)]
    j.then("launch", "yes", Split(id="s", branches=branches))
    j.then("s", "push", Push(id="p"))
    j.add_goal(ActionGoal(name="Purchase", event="Charged"))
    return j


@pytest.fixture(scope="module")
def inputs():
    """Each chart's arguments: the bundled example's result, and experiment frames."""
    journey = examples.cart_abandonment()
    result = simulate(journey, "ecommerce", seed=1)
    cohort = generate_cohort(200, days=7, seed=1)
    shorter = vary(journey.definition, dt.timedelta(hours=4), node="wait", field="duration")
    windows = [dt.timedelta(hours=6), dt.timedelta(hours=24)]
    swept = sweep(journey, cohort, *SPAN, node="charged", field="window", values=windows, replications=2)
    ab = compare(journey, shorter, cohort, *SPAN, replications=2, names=("1 day", "4 hours"))
    test = nudge()
    up = uplift(test, raw=replicate(test, cohort, *SPAN, n=2, raw=True))
    space = {"nodes.s.branches": [[50, 50], [80, 20]]}
    objective = {"conversion_rate": "maximize", "messages_per_user": "minimize"}
    opt = optimize(test, cohort, *SPAN, space=space, objective=objective, n_trials=2, replications=1)
    frames = {"sweep": swept, "compare": ab, "uplift": up, "pareto": opt}
    return {
        name: (journey, result) if name.startswith("journey") else (frames.get(name, result),)
        for name in charts.__all__
    }


@pytest.mark.parametrize("name", charts.__all__)
def test_every_chart_draws_the_bundled_example(inputs, name):
    out = getattr(charts, name)(*inputs[name])
    if name == "journey_svg":  # the one chart whose output is text: the same drawing as SVG
        assert out.startswith("<svg") and "</svg>" in out
    else:
        assert isinstance(out, go.Figure) and len(out.data) > 0, name


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_every_old_name_warns_and_draws_the_same_figure(inputs, old):
    new = RENAMED[old][0]
    args = inputs[new]
    with pytest.warns(DeprecationWarning, match=rf"charts\.{old} is deprecated: use journeylab\.charts\.{new}\b"):
        before = getattr(charts, old)(*args, title="t")
    after = getattr(charts, new)(*args, title="t")
    assert before.to_json() == after.to_json()
    # also where it was defined, and under the keyword names it had
    module = importlib.import_module(getattr(charts, new).__module__)
    assert getattr(module, old).__name__ == old
    assert old not in charts.__all__ and old not in module.__all__


def test_old_keyword_names_still_work(inputs):
    frame = inputs["sweep"][0]
    with pytest.warns(DeprecationWarning):
        before = charts.sweep_chart(df=frame, stat="conversions")
    assert before.to_json() == charts.sweep(frame, "conversions").to_json()
    journey, result = inputs["journey"]
    with pytest.warns(DeprecationWarning):
        before = charts.journey_figure(journey_or_def=journey, node_stats=result)
    assert before.to_json() == charts.journey(journey, data=result).to_json()


def test_an_unknown_name_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'funnel_chart'"):
        charts.funnel_chart  # noqa: B018


def test_one_shape_and_one_vocabulary():
    """What it draws first; everything else a keyword with a default; a shared meaning, a
    shared name; no name ends in _chart or _figure."""
    firsts = set()
    for name in charts.__all__:
        f = getattr(charts, name)
        assert not name.endswith(("_chart", "_figure")), name
        params = list(inspect.signature(f).parameters.values())
        firsts.add(params[0].name)
        assert all(p.default is not inspect.Parameter.empty for p in params[1:]), name
        assert all(p.kind is not p.VAR_POSITIONAL and p.kind is not p.VAR_KEYWORD for p in params), name
        assert "title" in {p.name for p in params}, name
        positional = [p for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
        assert len(positional) <= 3, name  # what it draws, then at most what to draw of it (x, y)
        if name != "journey_svg":
            assert inspect.signature(f).return_annotation in ("go.Figure", go.Figure), name
        if name not in ("journey", "journey_svg"):
            assert "height" in {p.name for p in params}, name
    assert firsts == {"data", "definition"}  # definition: the journey charts draw a journey
