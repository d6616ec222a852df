"""The journey graph as a static picture: a Plotly figure and a plain SVG.

Both draw the same :func:`journeylab.layout.journey_scene` as the notebook canvas
(:class:`journeylab.widget.JourneyBuilder`): nodes laid out left to right, kinds shaped and
coloured, port-labelled edges, the phantom response-window node after engagement nodes with
``viewed``/``clicked`` connectors, goals in a column on the right, validation badges, and
counts on nodes and edges when node statistics are given. Unlike the widget, they survive
in exported HTML, on GitHub and in PDF.

>>> import datetime as dt
>>> from journeylab.model import Journey, Inaction, Push
>>> j = Journey("Cart abandonment", id="cart")
>>> _ = j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
>>> _ = j.then("cart", "yes", Push(id="push", content={"title": "Forgot something?"}))
>>> fig = journey(j, {"cart": {"entered": 100, "left_yes": 40}, "push": {"entered": 40, "sent": 38}})
>>> list(fig.data[0].customdata)
['cart', 'push']
>>> [a.text for a in fig.layout.annotations if (a.name or "").startswith("edge:")]
['yes: 40']
>>> journey_svg(j).startswith("<svg")
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from journeylab.charts._api import fill_doc, old_name
from journeylab.layout import (
    BADGE_COLORS,
    EDGE_COLORS,
    WAITING_COLOR,
    Scene,
    SceneEdge,
    SceneNode,
    _is_frame,
    journey_scene,
    waiting_width,
)

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from journeylab.model.journey import Journey, JourneyDef

__all__ = ["journey", "journey_svg", "outline", "edge_color"]

_PAD = 30.0
_FONT = "DejaVu Sans, Verdana, Arial, sans-serif"


def outline(shape: str, x: float, y: float, w: float, h: float) -> list[tuple[float, float]]:
    """Polygon (clockwise points) of a box of cytoscape ``shape`` centred at (x, y).

    >>> outline("rectangle", 0, 0, 10, 4)
    [(-5.0, -2.0), (5.0, -2.0), (5.0, 2.0), (-5.0, 2.0)]
    """
    x0, r, t, b = x - w / 2, x + w / 2, y - h / 2, y + h / 2
    pts: list[tuple[float, float]]
    if shape == "round-rectangle":
        rad = min(8.0, h / 4, w / 4)
        pts = []
        for cx, cy, start in (
            (r - rad, t + rad, -90),
            (r - rad, b - rad, 0),
            (x0 + rad, b - rad, 90),
            (x0 + rad, t + rad, 180),
        ):
            for i in range(5):
                ang = math.radians(start + 90 * i / 4)
                pts.append((cx + rad * math.cos(ang), cy + rad * math.sin(ang)))
        return [(float(px), float(py)) for px, py in pts]
    if shape in ("tag", "round-tag"):
        a = min(18.0, w / 6)
        pts = [(x0, t), (r - a, t), (r, y), (r - a, b), (x0, b)]
        return [(float(px), float(py)) for px, py in pts]
    if shape == "barrel":
        bulge = min(12.0, w / 6)
        right = [
            (r - bulge + bulge * math.cos(math.radians(a)), y + h / 2 * math.sin(math.radians(a)))
            for a in range(-90, 91, 15)
        ]
        left = [
            (x0 + bulge - bulge * math.cos(math.radians(a)), y - h / 2 * math.sin(math.radians(a)))
            for a in range(-90, 91, 15)
        ]
        return [(float(px), float(py)) for px, py in right + left]
    if shape == "cut-rectangle":
        c = min(10.0, h / 4)
        pts = [(x0 + c, t), (r - c, t), (r, t + c), (r, b - c), (r - c, b), (x0 + c, b), (x0, b - c), (x0, t + c)]
    elif shape in ("hexagon", "round-hexagon"):
        a = min(22.0, w / 6)
        pts = [(x0 + a, t), (r - a, t), (r, y), (r - a, b), (x0 + a, b), (x0, y)]
    elif shape in ("octagon", "round-octagon"):
        c = min(w, h) * 0.28
        pts = [(x0 + c, t), (r - c, t), (r, t + c), (r, b - c), (r - c, b), (x0 + c, b), (x0, b - c), (x0, t + c)]
    elif shape == "concave-hexagon":
        a = min(14.0, w / 8)
        pts = [(x0, t), (r, t), (r - a, y), (r, b), (x0, b), (x0 + a, y)]
    elif shape == "ellipse":
        pts = [
            (x + w / 2 * math.cos(math.radians(a)), y + h / 2 * math.sin(math.radians(a))) for a in range(0, 360, 15)
        ]
    else:  # rectangle and anything unknown
        pts = [(x0, t), (r, t), (r, b), (x0, b)]
    return [(float(px), float(py)) for px, py in pts]


def edge_color(e: SceneEdge) -> str:
    """Line colour of an edge: by port (``yes`` green, ``no`` red, ``timeout`` orange...)."""
    return EDGE_COLORS["window"] if e.role == "window" else EDGE_COLORS.get(e.port, EDGE_COLORS["other"])


def _color_key(e: SceneEdge) -> str:
    return "window" if e.role == "window" else (e.port if e.port in EDGE_COLORS else "other")


def _near_end(e: SceneEdge) -> tuple[float, float]:
    """The point the last leg of the route starts from (for drawing the arrow head)."""
    return e.points[-2] if len(e.points) >= 2 else e.points[0]


def _path(e: SceneEdge) -> str:
    return "M " + " L ".join(f"{x:.1f},{y:.1f}" for x, y in e.points)


def _scene(
    journey: Any,
    node_stats: Any,
    waiting_users: Any,
    issues: Any,
    layout: str,
    conversions: Mapping[str, int] | None = None,
) -> Scene:
    if issues is None:
        try:
            from journeylab.validate import validate

            issues = list(validate(journey.definition if hasattr(journey, "definition") else journey))
        except Exception:  # the picture must not fail because validation does
            issues = []
    if node_stats is not None and hasattr(node_stats, "node_stats") and not _is_frame(node_stats):
        waiting_users = waiting_users if waiting_users is not None else getattr(node_stats, "waiting_users", None)
        if conversions is None and hasattr(node_stats, "journey_stats_of"):
            d = journey.definition if hasattr(journey, "definition") else journey
            try:
                js = node_stats.journey_stats_of(d.id)
                conversions = {g.name: int(js.get(f"conversions_{g.name}", 0)) for g in d.goals}
            except Exception:  # noqa: BLE001 - a result of other journeys: goals count from the nodes
                conversions = None
        node_stats = node_stats.node_stats
    return journey_scene(journey, node_stats, waiting_users, issues=issues, layout=layout, conversions=conversions)


@fill_doc
def journey(
    definition: Journey | JourneyDef,
    data: Any = None,
    *,
    title: str | None = None,
    waiting_users: Mapping[str, Sequence[Any]] | None = None,
    issues: Iterable[Any] | None = None,
    layout: str = "stored",
    max_width: int = 1400,
    conversions: Mapping[str, int] | None = None,
) -> go.Figure:
    """The journey graph as a static Plotly figure, with counts when given a result.

    The first trace (``name="nodes"``) has one point per drawn box at its centre, with the
    box's scene id in ``customdata`` and its label (``<br>``-separated lines) in ``text``.
    Edge labels are annotations named ``edge:<edge id>``.

    Parameters
    ----------
    %(graph_definition)s
    %(graph_data)s
    %(title)s
    %(waiting_users)s
    %(issues)s
    %(layout)s
    max_width : int, default 1400
        The widest the figure may be, in pixels: a wider journey is scaled down to fit.
    %(conversions)s

    %(figure)s

    See Also
    --------
    journey_svg : the same drawing as SVG text.

    %(example)s
    >>> fig = charts.journey(result.journey, result)
    >>> list(fig.data[0].customdata)[:2]
    ['cart', 'push']
    """
    import plotly.graph_objects as go

    scene = _scene(definition, data, waiting_users, issues, layout, conversions)
    left, top, right, bottom = scene.bbox()
    width_px = max(right - left + 2 * _PAD, 200)
    height_px = max(bottom - top + 2 * _PAD, 120)
    scale = min(1.0, max_width / width_px)
    title_h = 50 if title else 10
    fig = go.Figure()
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for n in scene.nodes:
        st = n.style
        pts = outline(st["shape"], n.x, n.y, n.width, n.height)
        path = "M " + " L ".join(f"{px:.1f},{py:.1f}" for px, py in pts) + " Z"
        shapes.append(
            dict(
                type="path",
                path=path,
                fillcolor=st["fill"],
                line=dict(
                    color=st["border"], width=3 if n.entry else 1.5, dash="dash" if n.role == "phantom" else None
                ),
                layer="below",
                name=f"node:{n.id}",
            )
        )
        if n.badge:
            r = 9
            bx, by = n.badge_point
            shapes.append(
                dict(
                    type="circle",
                    x0=bx - r,
                    x1=bx + r,
                    y0=by - r,
                    y1=by + r,
                    fillcolor=BADGE_COLORS[n.badge],
                    line=dict(color="white", width=1.5),
                    layer="above",
                    name=f"badge:{n.id}",
                )
            )
            annotations.append(
                dict(
                    x=bx,
                    y=by,
                    text="<b>!</b>",
                    showarrow=False,
                    font=dict(color="white", size=11 * scale),
                    name=f"badge:{n.id}",
                )
            )
        if n.waiting:
            wx, wy = n.waiting_point
            annotations.append(
                dict(
                    x=wx,
                    y=wy,
                    text=f"<b>{n.waiting:,}</b>",
                    showarrow=False,
                    bgcolor=WAITING_COLOR,
                    font=dict(color="white", size=10 * scale),
                    borderpad=2,
                    name=f"waiting:{n.id}",
                )
            )
    for e in scene.edges:
        x1, y1 = e.points[-1]
        color = edge_color(e)
        ax, ay = _near_end(e)
        shapes.append(
            dict(
                type="path",
                path=_path(e),
                line=dict(color=color, width=1.5, dash="dash" if e.role == "window" else None),
                layer="below",
                name=f"edge:{e.id}",
            )
        )
        annotations.append(
            dict(
                x=x1,
                y=y1,
                ax=ax,
                ay=ay,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                text="",
                showarrow=True,
                arrowhead=2,
                arrowsize=1.1,
                arrowwidth=1.5,
                arrowcolor=color,
                standoff=0,
                startstandoff=0,
                name=f"arrow:{e.id}",
            )
        )
        if e.label:
            lx, ly = e.label_point
            annotations.append(
                dict(
                    x=lx,
                    y=ly,
                    text=html.escape(e.label),
                    showarrow=False,
                    bgcolor="rgba(255,255,255,0.95)",
                    bordercolor=color,
                    borderwidth=1,
                    borderpad=2,
                    font=dict(size=11 * scale, color="#111827", family=_FONT),
                    name=f"edge:{e.id}",
                )
            )
    texts = []
    for n in scene.nodes:
        lines = [html.escape(x) for x in n.lines]
        lines[0] = f"<b>{lines[0]}</b>"
        texts.append("<br>".join(lines))
    hover = ["<br>".join([html.escape(x) for x in n.lines] + [html.escape(i) for i in n.issues]) for n in scene.nodes]
    fig.add_trace(
        go.Scatter(
            name="nodes",
            x=[n.x for n in scene.nodes],
            y=[n.y for n in scene.nodes],
            mode="text",
            text=texts,
            customdata=[n.id for n in scene.nodes],
            hovertext=hover,
            hoverinfo="text",
            textfont=dict(size=11 * scale, color="#111827", family=_FONT),
            showlegend=False,
        )
    )
    fig.update_layout(
        shapes=shapes,
        annotations=annotations,
        title=dict(text=html.escape(title), x=0.01) if title else None,
        width=int(width_px * scale) + 20,
        height=int(height_px * scale) + title_h + 20,
        margin=dict(l=10, r=10, t=title_h, b=10),
        plot_bgcolor="white",
        paper_bgcolor="white",
        xaxis=dict(visible=False, range=[left - _PAD, right + _PAD], fixedrange=False),
        yaxis=dict(visible=False, range=[bottom + _PAD, top - _PAD], scaleanchor="x", scaleratio=1),
        hoverlabel=dict(align="left"),
    )
    return fig


def _svg_text(n: SceneNode) -> str:
    lh = 15.0
    y0 = n.y - (len(n.lines) - 1) * lh / 2
    spans = []
    for i, line in enumerate(n.lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        spans.append(f'<tspan x="{n.x:.1f}" y="{y0 + i * lh:.1f}"{weight}>{html.escape(line)}</tspan>')
    return f'<text text-anchor="middle" dominant-baseline="middle">{"".join(spans)}</text>'


@fill_doc
def journey_svg(
    definition: Journey | JourneyDef,
    data: Any = None,
    *,
    waiting_users: Mapping[str, Sequence[Any]] | None = None,
    issues: Iterable[Any] | None = None,
    layout: str = "stored",
    title: str | None = None,
    conversions: Mapping[str, int] | None = None,
) -> str:
    """The journey graph as standalone SVG text (no browser, no JavaScript).

    What notebooks show where widgets cannot render; the same scene as :func:`journey`.

    Parameters
    ----------
    %(graph_definition)s
    %(graph_data)s
    %(waiting_users)s
    %(issues)s
    %(layout)s
    %(title)s
    %(conversions)s

    Returns
    -------
    str
        An ``<svg>`` element with its own width, height and view box.

    Examples
    --------
    >>> from journeylab import charts, examples
    >>> svg = charts.journey_svg(examples.cart_abandonment(), title="Cart abandonment")
    >>> svg.startswith("<svg"), "Cart abandonment" in svg
    (True, True)
    """
    scene = _scene(definition, data, waiting_users, issues, layout, conversions)
    left, top, right, bottom = scene.bbox()
    th = 28.0 if title else 0.0
    vx, vy = left - _PAD, top - _PAD - th
    w, h = right - left + 2 * _PAD, bottom - top + 2 * _PAD + th
    if title:  # the title always fits
        w = max(w, len(title) * 9.0 + 2 * _PAD)
    if not scene.nodes:
        w, h = max(w, 260.0), h + 20
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="{vx:.1f} {vy:.1f} {w:.1f} {h:.1f}" font-family="{_FONT}" font-size="11">',
        "<defs>"
        + "".join(
            f"<marker id='jl-arrow-{k}' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='7' markerHeight='7' "
            f"orient='auto-start-reverse'><path d='M 0 0 L 10 5 L 0 10 z' fill='{c}'/></marker>"
            for k, c in EDGE_COLORS.items()
        )
        + "</defs>",
        f'<rect x="{vx:.1f}" y="{vy:.1f}" width="{w:.1f}" height="{h:.1f}" fill="white"/>',
    ]
    if title:
        out.append(
            f'<text x="{left:.1f}" y="{top - _PAD:.1f}" font-size="15" font-weight="bold">{html.escape(title)}</text>'
        )
    if not scene.nodes:
        out.append(
            f'<text x="{left:.1f}" y="{top + 8:.1f}" fill="#6b7280" font-style="italic">'
            "No nodes yet: add one from the palette.</text>"
        )
    for e in scene.edges:
        color = edge_color(e)
        dash = ' stroke-dasharray="4 3"' if e.role == "window" else ""
        d = _path(e)
        out.append(
            f'<path class="edge" data-id="{html.escape(e.id)}" d="{d}" fill="none" stroke="{color}" stroke-width="1.5"'
            f'{dash} marker-end="url(#jl-arrow-{_color_key(e)})"/>'
        )
    for n in scene.nodes:
        st = n.style
        pts = " ".join(f"{px:.1f},{py:.1f}" for px, py in outline(st["shape"], n.x, n.y, n.width, n.height))
        dash = ' stroke-dasharray="5 3"' if n.role == "phantom" else ""
        out.append(
            f'<g class="node {n.role}" data-id="{html.escape(n.id)}"><polygon points="{pts}" fill="{st["fill"]}" '
            f'stroke="{st["border"]}" stroke-width="{3 if n.entry else 1.5}"{dash}/>{_svg_text(n)}</g>'
        )
        if n.badge:
            bx, by = n.badge_point
            out.append(
                f'<g class="badge {n.badge}"><circle cx="{bx:.1f}" cy="{by:.1f}" r="9" fill="{BADGE_COLORS[n.badge]}" '
                f'stroke="white"/><text x="{bx:.1f}" y="{by + 4:.1f}" text-anchor="middle" fill="white" '
                f'font-weight="bold">!</text></g>'
            )
        if n.waiting:
            wx, wy = n.waiting_point
            tw = waiting_width(n.waiting)
            out.append(
                f'<g class="waiting"><rect x="{wx - tw / 2:.1f}" y="{wy - 8:.1f}" width="{tw:.1f}" height="16" rx="4" '
                f'fill="{WAITING_COLOR}"/><text x="{wx:.1f}" y="{wy + 4:.1f}" text-anchor="middle" fill="white" '
                f'font-size="10" font-weight="bold">{n.waiting:,}</text></g>'
            )
    for e in scene.edges:
        if not e.label:
            continue
        mx, my = e.label_point
        tw, th = e.label_size
        out.append(
            f'<g class="edge-label"><rect x="{mx - tw / 2:.1f}" y="{my - th / 2:.1f}" width="{tw:.1f}" height="{th:.1f}" '
            f'rx="3" fill="white" stroke="{edge_color(e)}"/><text x="{mx:.1f}" y="{my + 4:.1f}" '
            f'text-anchor="middle" font-size="11">{html.escape(e.label)}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def __getattr__(name: str) -> Any:  # the charts' old names, as deprecated aliases
    return old_name(__name__, name, globals())
