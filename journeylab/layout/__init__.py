"""Drawing a journey: what to draw (the *scene*) and where (a layered left-to-right layout).

The notebook canvas (:mod:`journeylab.widget`) and the static figures
(:mod:`journeylab.charts.journey_graph`) both draw :func:`journey_scene`, so they show the
same picture: the same boxes, sizes, labels, routes, badges and positions.

* :mod:`~journeylab.layout.style`: shapes and colours per node kind (from the node-kind table),
  edge colours per port, badge colours;
* :mod:`~journeylab.layout.labels`: the text of each box (with its counts, which add up);
* :mod:`~journeylab.layout.layered`: the layered layout (:func:`layered_layout`);
* :mod:`~journeylab.layout.scene`: the scene, its routes and labels (:func:`journey_scene`),
  and :func:`auto_positions`, what "Auto Align & Space" stores in the model.
"""

from journeylab.layout.labels import _is_frame, fmt_duration, label_width, normalize_stats, stat_lines
from journeylab.layout.layered import layered, layered_layout, overlapping
from journeylab.layout.scene import (
    Scene,
    SceneEdge,
    SceneNode,
    auto_positions,
    clip_to_box,
    goal_id,
    journey_scene,
    phantom_id,
    waiting_width,
)
from journeylab.layout.style import BADGE_COLORS, EDGE_COLORS, KIND_STYLE, STAT_COLUMNS, WAITING_COLOR

__all__ = [
    "KIND_STYLE",
    "STAT_COLUMNS",
    "SceneNode",
    "SceneEdge",
    "Scene",
    "layered_layout",
    "layered",
    "auto_positions",
    "journey_scene",
    "normalize_stats",
    "overlapping",
    "fmt_duration",
    "phantom_id",
    "goal_id",
    "clip_to_box",
    "label_width",
    "stat_lines",
    "waiting_width",
    "EDGE_COLORS",
    "BADGE_COLORS",
    "WAITING_COLOR",
    "_is_frame",
]
