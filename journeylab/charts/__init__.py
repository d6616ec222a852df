"""Plotly figures of journeys and simulation results.

Every figure follows the plotly.express conventions: a simulation result, a trace or a tidy
DataFrame in, a ``plotly.graph_objects.Figure`` out, every other argument a keyword with a
default. The numbers come from the trace (:mod:`journeylab.stats`). See ``docs/charts.md``.

* the journey: :func:`journey_figure` (the graph with counts), :func:`journey_svg`;
* one run: :func:`funnel`, :func:`node_stats_chart`, :func:`sankey`, :func:`waiting_chart`,
  :func:`messages_chart`, :func:`goals_chart`, :func:`time_to_goal_chart`;
* experiments: :func:`sweep_chart`, :func:`compare_chart`, :func:`uplift_chart`, :func:`pareto_chart`.
"""

from journeylab.charts.experiments import compare_chart, pareto_chart, sweep_chart, uplift_chart
from journeylab.charts.journey_graph import journey_figure, journey_svg  # noqa: F401
from journeylab.charts.results import (
    funnel,
    goals_chart,
    message_load_chart,
    messages_chart,
    node_stats_chart,
    sankey,
    time_to_goal_chart,
    waiting_chart,
)

__all__ = [
    "journey_figure",
    "journey_svg",
    "funnel",
    "node_stats_chart",
    "sankey",
    "waiting_chart",
    "messages_chart",
    "message_load_chart",
    "goals_chart",
    "time_to_goal_chart",
    "sweep_chart",
    "compare_chart",
    "uplift_chart",
    "pareto_chart",
]
