"""Plotly figures of journeys and simulation results, named and shaped like plotly.express.

``import journeylab.charts as jc`` then ``jc.funnel(result)``, as ``px.funnel(df)``: each
chart is a function named by the kind of chart it draws (no ``_chart`` suffix), its first
argument is what it draws (a simulation result, a trace or a tidy frame), every other
argument is a keyword with a default, arguments that mean the same thing have the same name
in every chart (``journey``, ``definition``, ``ci``, ``stats``, ``title``, ``height``...), and
it returns a ``plotly.graph_objects.Figure``. The numbers come from the trace
(:mod:`journeylab.stats`). See ``docs/charts.md``.

* the journey: :func:`journey` (the graph with counts) and :func:`journey_svg` (the same
  drawing as SVG text);
* one run: :func:`funnel`, :func:`node_stats`, :func:`sankey`, :func:`waiting`,
  :func:`messages`, :func:`message_load`, :func:`goals`, :func:`time_to_goal`;
* experiments: :func:`sweep`, :func:`compare`, :func:`uplift`, :func:`pareto`.

The names of before (``node_stats_chart``, ``journey_figure``, ``sweep_chart``...) still
work: they emit a :class:`DeprecationWarning` naming the new function and draw the same
figure.
"""

from typing import Any

from journeylab.charts._api import old_name
from journeylab.charts.experiments import compare, pareto, sweep, uplift
from journeylab.charts.journey_graph import journey, journey_svg
from journeylab.charts.results import (
    funnel,
    goals,
    message_load,
    messages,
    node_stats,
    sankey,
    time_to_goal,
    waiting,
)

__all__ = [
    "journey",
    "journey_svg",
    "funnel",
    "node_stats",
    "sankey",
    "waiting",
    "messages",
    "message_load",
    "goals",
    "time_to_goal",
    "sweep",
    "compare",
    "uplift",
    "pareto",
]


def __getattr__(name: str) -> Any:  # the charts' old names, as deprecated aliases
    return old_name(__name__, name, globals())
