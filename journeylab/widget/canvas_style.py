"""The cytoscape stylesheet of the journey canvas, and the zoom that keeps its text readable.

Boxes take their shape and colours from the node-kind table (via the element data); edges are
polylines (``segments``) along the routes of :func:`journeylab.layout.journey_scene`; edge
labels, badges and port handles are small nodes drawn above everything else (``z-index``), so
no box, edge or selection ever hides them. A selected box gets a blue halo (an *underlay*),
never a new border: a warning's yellow border and badge stay visible.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CYTOSCAPE_STYLE", "FONT", "NODE_FONT_PX", "LABEL_FONT_PX", "READABLE_PX", "MIN_ZOOM", "CY_LAYOUT"]

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
NODE_FONT_PX = 11.0  # text in boxes at zoom 1 (the layout measures boxes for 11 px text, 15 px lines)
LABEL_FONT_PX = 11.0  # edge labels and badges at zoom 1
READABLE_PX = 10.0  # the smallest text the canvas ever shows
PATH_COLOR = "#7c3aed"  # one user's path on the canvas (violet: no channel or port uses it)
#: the canvas never zooms out further than this (fit included): the smallest text stays readable
MIN_ZOOM = round(READABLE_PX / LABEL_FONT_PX, 3)

_Z_LABEL, _Z_BADGE, _Z_PORT = 10, 20, 30

CYTOSCAPE_STYLE: list[dict[str, Any]] = [
    {
        "selector": "node",
        "style": {
            "shape": "data(shape)",
            "background-color": "data(fill)",
            "border-color": "data(border)",
            "border-width": 1.5,
            "width": "data(w)",
            "height": "data(h)",
            "label": "data(label)",
            "text-wrap": "wrap",
            "text-max-width": "data(tw)",
            "text-valign": "center",
            "text-halign": "center",
            "font-size": NODE_FONT_PX,
            "line-height": 1.3,
            "font-family": FONT,
            "color": "#111827",
            "z-index": 1,
        },
    },
    {"selector": "node.entry", "style": {"border-width": 3}},
    {"selector": "node.phantom", "style": {"border-style": "dashed", "color": "#374151"}},
    {"selector": "node.goal", "style": {"border-width": 2}},
    {"selector": "node.badge-warning", "style": {"border-color": "#eab308", "border-width": 3}},
    {"selector": "node.badge-error", "style": {"border-color": "#dc2626", "border-width": 3}},
    # selection: a halo around the box; the box keeps its own border (and its warning colour)
    {
        "selector": "node.selected",
        "style": {
            "underlay-color": "#2563eb",
            "underlay-opacity": 0.28,
            "underlay-padding": 7,
            "underlay-shape": "round-rectangle",
        },
    },
    {
        "selector": "node.edge-label",
        "style": {
            "shape": "round-rectangle",
            "background-color": "#ffffff",
            "border-width": 1,
            "border-color": "data(border)",
            "font-size": LABEL_FONT_PX,
            "text-max-width": "data(tw)",
            "text-wrap": "none",
            "z-index": _Z_LABEL,
        },
    },
    {"selector": "node.label-selected", "style": {"border-width": 2.5, "border-color": "#1d4ed8"}},
    {
        "selector": "node.badge",
        "style": {
            "shape": "ellipse",
            "font-size": 12,
            "font-weight": "bold",
            "color": "white",
            "border-width": 1.5,
            "border-color": "white",
            "z-index": _Z_BADGE,
        },
    },
    {"selector": "node.dot-warning", "style": {"color": "#111827"}},
    {
        "selector": "node.waiting",
        "style": {
            "shape": "round-rectangle",
            "background-color": "#f97316",
            "border-width": 1.5,
            "border-color": "white",
            "font-size": LABEL_FONT_PX,
            "font-weight": "bold",
            "color": "white",
            "z-index": _Z_BADGE,
        },
    },
    {
        "selector": "node.port",
        "style": {
            "shape": "round-rectangle",
            "background-color": "data(fill)",
            "border-width": 1,
            "border-color": "#ffffff",
            "font-size": LABEL_FONT_PX,
            "font-weight": "bold",
            "color": "white",
            "z-index": _Z_PORT,
        },
    },
    {"selector": "node.port-armed", "style": {"border-color": "#111827", "border-width": 3}},
    {
        "selector": "edge",
        "style": {
            "curve-style": "segments",
            "segment-distances": "data(sd)",
            "segment-weights": "data(sw)",
            "edge-distances": "node-position",
            "width": 1.5,
            "line-color": "data(color)",
            "target-arrow-color": "data(color)",
            "target-arrow-shape": "triangle",
            "arrow-scale": 1.1,
            "z-index": 0,
        },
    },
    {"selector": "edge.straight", "style": {"curve-style": "straight"}},
    {"selector": "edge.loop", "style": {"curve-style": "bezier"}},
    {"selector": "edge.window", "style": {"line-style": "dashed"}},
    {"selector": "edge.selected", "style": {"width": 3.5, "line-color": "#1d4ed8", "target-arrow-color": "#1d4ed8"}},
    # one user's path (JourneyBuilder.highlight_path): a violet halo on its boxes and connector
    # labels, thick violet connectors
    {
        "selector": "node.on-path",
        "style": {
            "underlay-color": PATH_COLOR,
            "underlay-opacity": 0.35,
            "underlay-padding": 6,
            "underlay-shape": "round-rectangle",
        },
    },
    {
        "selector": "edge.on-path",
        "style": {"width": 4.5, "line-color": PATH_COLOR, "target-arrow-color": PATH_COLOR, "z-index": 1},
    },
]

CY_LAYOUT: dict[str, Any] = {"name": "preset", "fit": True, "padding": 24, "animate": False}
