"""How a journey is drawn: shapes, fills, borders and icons per node kind (read from the
node-kind table), edge colours per port, badge colours, and the sizes the layout works with.

>>> KIND_STYLE["delay"]["shape"], EDGE_COLORS["yes"]
('barrel', '#15803d')
"""

from __future__ import annotations

from journeylab.model.nodes import NODE_KINDS

__all__ = [
    "KIND_STYLE",
    "EDGE_COLORS",
    "BADGE_COLORS",
    "WAITING_COLOR",
    "STAT_COLUMNS",
    "HGAP",
    "VGAP",
    "CHAR_W",
    "LINE_H",
    "MIN_W",
    "MAX_W",
    "MAX_CHARS",
    "LABEL_H",
    "PORT_PITCH",
]

HGAP = 56.0  # horizontal gap between layers (px)
VGAP = 34.0  # vertical gap between boxes of one layer (px)
CHAR_W = 6.7  # average width of one label character at 11 px
LINE_H = 15.0  # height of one label line
MIN_W, MAX_W = 120.0, 196.0
MAX_CHARS = int((MAX_W - 24) / CHAR_W)

# the statistics columns a node may have (``left_<split branch>`` columns come on top)
STAT_COLUMNS: tuple[str, ...] = (
    "entered",
    "waiting",
    "timed_out",
    "left_yes",
    "left_no",
    "left_timeout",
    "left_next",
    "left_viewed",
    "left_clicked",
    "left_not_sent",
    "sent",
    "deferred",
    "discarded",
    "viewed",
    "clicked",
    "exited",
)

# ----------------------------------------------------------------------------- style

#: per drawable kind: cytoscape shape name, fill and border colours, and a one-glyph icon (the
#: node kinds' own from the node-kind table; the phantom response window and goals on top)
KIND_STYLE: dict[str, dict[str, str]] = {
    **{kind: info.style.as_dict() for kind, info in NODE_KINDS.items()},
    "phantom": {"shape": "round-rectangle", "fill": "#f9fafb", "border": "#9ca3af", "icon": "◴"},
    "goal": {"shape": "concave-hexagon", "fill": "#fef3c7", "border": "#d97706", "icon": "★"},
}
#: line colour of an edge by the port it leaves (split branches and others: ``"other"``)
EDGE_COLORS: dict[str, str] = {
    "yes": "#15803d",
    "no": "#b91c1c",
    "timeout": "#c2410c",
    "next": "#374151",
    "viewed": "#1d4ed8",
    "clicked": "#6d28d9",
    "not_sent": "#6b7280",
    "window": "#9ca3af",
    "other": "#0369a1",
}
BADGE_COLORS = {"error": "#dc2626", "warning": "#eab308"}
WAITING_COLOR = "#f97316"
LABEL_H = 18.0  # height of an edge label box (px)
PORT_PITCH = 22.0  # vertical distance between the connectors leaving one box (px)
