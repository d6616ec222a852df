"""One look for every journeylab figure: fonts, colours by node kind, channel, port and exit.

The colours are those of the journey graph (:data:`journeylab.layout.KIND_STYLE`): segments
blue, each channel its own colour (push orange, email teal, SMS green...), controllers yellow
and grey, goals gold; ports keep their edge colours (``yes`` green, ``no`` red, ``timeout``
orange...). A figure uses the small :data:`TEMPLATE` (no external font: the browser's own
sans-serif fonts).
"""

from __future__ import annotations

import html
from typing import Any

from journeylab.layout import EDGE_COLORS, KIND_STYLE

__all__ = [
    "FONT",
    "TEMPLATE",
    "KIND_COLORS",
    "CHANNEL_COLORS",
    "PORT_COLORS",
    "EXIT_COLORS",
    "DISCARD_COLORS",
    "WAITING_COLOR",
    "GOAL_COLOR",
    "QUALITATIVE",
    "kind_color",
    "port_color",
    "exit_color",
    "rgba",
    "style",
    "pretty",
]

FONT = "Inter, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'DejaVu Sans', Arial, sans-serif"

#: the border colour of each node kind on the journey graph
KIND_COLORS: dict[str, str] = {k: v["border"] for k, v in KIND_STYLE.items()}
#: one colour per channel (engagement kinds)
CHANNEL_COLORS: dict[str, str] = {
    k: KIND_COLORS[k]
    for k in ("push", "email", "sms", "whatsapp", "web_push", "in_app", "web_popup", "web_exit_intent", "webhook")
}
#: the edge colour of each port
PORT_COLORS: dict[str, str] = {k: v for k, v in EDGE_COLORS.items() if k not in ("window", "other")}
GOAL_COLOR = "#d4a017"
WAITING_COLOR = "#f97316"
#: exits by reason (``goal:<name>`` uses ``goal``)
EXIT_COLORS: dict[str, str] = {
    "goal": GOAL_COLOR,
    "journey_timeout": "#92400e",
    "force_exit": "#9f1239",
    "completed": "#64748b",
    "stopped": "#111827",
}
DISCARD_COLORS: dict[str, str] = {
    "unreachable": "#9ca3af",
    "dnd": "#4f46e5",
    "frequency": "#0891b2",
    "limit": "#e11d48",
}
#: for series with no meaning of their own (split branches, sweep lines, variants)
QUALITATIVE: list[str] = [
    "#2563eb",
    "#ea580c",
    "#0d9488",
    "#9333ea",
    "#ca8a04",
    "#db2777",
    "#16a34a",
    "#475569",
    "#0284c7",
    "#b91c1c",
]

TEMPLATE: dict[str, Any] = {
    "layout": {
        "font": {"family": FONT, "size": 13, "color": "#1f2937"},
        "title": {"font": {"size": 17, "color": "#111827"}, "x": 0.0, "xanchor": "left", "xref": "paper"},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "colorway": QUALITATIVE,
        "hoverlabel": {"font": {"family": FONT, "size": 12}, "align": "left"},
        "xaxis": {
            "gridcolor": "#eef0f3",
            "linecolor": "#d1d5db",
            "zerolinecolor": "#d1d5db",
            "ticks": "outside",
            "tickcolor": "#d1d5db",
            "automargin": True,
            "title": {"standoff": 8},
        },
        "yaxis": {
            "gridcolor": "#eef0f3",
            "linecolor": "#d1d5db",
            "zerolinecolor": "#d1d5db",
            "automargin": True,
            "title": {"standoff": 8},
        },
        "legend": {"bgcolor": "rgba(255,255,255,0)", "font": {"size": 12}},
        "bargap": 0.25,
    }
}


def kind_color(kind: str) -> str:
    """Colour of a node kind (unknown kinds: slate)."""
    return KIND_COLORS.get(kind, "#475569")


def port_color(port: str, i: int = 0) -> str:
    """Colour of a port; split branches and unknown ports take the ``i``-th qualitative colour."""
    return PORT_COLORS.get(port) or QUALITATIVE[(i + 2) % len(QUALITATIVE)]


def exit_color(reason: str) -> str:
    """Colour of an exit reason (``goal:<name>`` → the goal colour)."""
    return EXIT_COLORS.get(reason.split(":", 1)[0], "#64748b")


def rgba(color: str, alpha: float) -> str:
    """``#rrggbb`` with an opacity, as ``rgba(r,g,b,a)``."""
    c = color.lstrip("#")
    r, g, b = (int(c[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha:g})"


_WORDS = {
    "left_yes": "left by yes",
    "left_no": "left by no",
    "left_timeout": "left by timeout",
    "left_next": "left by next",
    "left_viewed": "left by viewed",
    "left_clicked": "left by clicked",
    "left_not_sent": "left by not sent",
    "timed_out": "timed out",
    "journey_timeout": "journey timeout",
    "force_exit": "force exit",
    "conversion_rate": "conversion rate",
    "time_to_goal_median_min": "median time to goal (min)",
    "time_to_goal_mean_min": "mean time to goal (min)",
    "not_sent": "not sent",
}


def pretty(name: str) -> str:
    """A statistic or reason as words: ``left_timeout`` → ``left by timeout``,
    ``conversions_Purchase`` → ``conversions: Purchase``, ``goal:Purchase`` → ``goal: Purchase``.

    >>> pretty("exits_journey_timeout"), pretty("discarded_dnd"), pretty("goal:Purchase")
    ('exits: journey timeout', 'discarded: dnd', 'goal: Purchase')
    """
    if name in _WORDS:
        return _WORDS[name]
    for prefix in ("conversions_", "exits_", "discarded_"):
        if name.startswith(prefix):
            return f"{prefix[:-1]}: {pretty(name[len(prefix) :])}"
    if name.startswith("left_"):
        return f"left by {name[5:]}"
    if ":" in name:
        a, b = name.split(":", 1)
        return f"{pretty(a)}: {b}"
    return name.replace("_", " ")


def style(
    fig: Any,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    height: int | None = None,
    legend: str | None = "right",
    subplot_titles: bool = False,
    margin: dict[str, int] | None = None,
) -> Any:
    """Apply the journeylab look to ``fig`` (in place) and return it: a bold title with a
    grey subtitle at the top left, the legend on the ``"right"``, at the ``"top"`` (one row
    under the title) or none, and room for subplot titles."""
    text = f"<b>{html.escape(title)}</b>" if title else None
    top = 24 + (30 if title else 0) + (18 if subtitle else 0) + (26 if subplot_titles else 0)
    lg: dict[str, Any] = {}
    if legend == "top":
        top += 28
        lg = {
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0 + (26 if subplot_titles else 4) / max(height or 400, 200),
            "xanchor": "left",
            "x": 0,
            "traceorder": "normal",
        }
    elif legend == "right":
        lg = {
            "orientation": "v",
            "yanchor": "top",
            "y": 1.0,
            "xanchor": "left",
            "x": 1.02,
            "traceorder": "normal",
            "itemclick": "toggle",
            "tracegroupgap": 4,
        }
    m = {"l": 12, "r": 12, "t": top, "b": 12}
    m.update(margin or {})
    fig.update_layout(
        template=TEMPLATE,
        title={
            "text": text,
            "x": 0,
            "xref": "container",
            "xanchor": "left",
            "pad": {"l": 14},
            "y": 1 - 14 / max(height or 450, 200),
            "yref": "container",
            "yanchor": "top",
            "subtitle": {"text": html.escape(subtitle) if subtitle else None, "font": {"size": 12, "color": "#6b7280"}},
        }
        if text
        else None,
        showlegend=legend is not None,
        legend=lg or None,
        margin=m,
    )
    if height is not None:
        fig.update_layout(height=height)
    return fig
