"""Plotly figures of journeys and simulation results."""

from journeylab.charts.journey_graph import journey_figure, journey_svg  # noqa: F401
