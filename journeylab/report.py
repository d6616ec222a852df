"""A simulation run as one self-contained HTML report, and as rich notebook output.

* :func:`write_report` writes ONE HTML file that opens offline: plotly.js embedded inline
  once, no CDN, no external font or stylesheet. It holds a header (journey, cohort, period,
  seed), headline numbers, the summary table, the journey graph with its counts, and every
  figure of :mod:`journeylab.charts` that applies (experiments when given). It is what
  ``result.to_html(path)`` and ``journeylab simulate ... --report report.html`` write.
* :func:`result_html` is the notebook display of a result (``_repr_html_``): a compact
  summary, the journey graph as plain SVG (it shows even where JavaScript does not run) and
  the funnel and node statistics figures. plotly.js is embedded in the first output of the
  session, so exported notebooks render offline too; each figure waits for it to load.

>>> import pandas as pd

from journeylab._docs import filler
>>> from journeylab.examples import purchase_promo
>>> from journeylab.sim import simulate
>>> profiles = pd.DataFrame({"user_id": ["ana", "bo"], "push_token": ["t1", None]})
>>> events = pd.DataFrame({"user_id": ["ana", "bo"], "event": ["Charged", "Charged"],
...                        "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00"], utc=True)})
>>> res = simulate(purchase_promo(), (profiles, events), "2026-10-01T00:00Z", "2026-10-02T00:00Z")
>>> out = result_html(res, include_plotlyjs=False)
>>> out.count('class="plotly-graph-div'), "<svg" in out
(2, True)
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from journeylab._docs import filler

__all__ = ["write_report", "report_html", "result_html", "figure_div", "plotlyjs_script"]

_REST = """title : str or None, default None
    The page's title; default the journeys' names.
ci : pandas.DataFrame or None, default None
    A :func:`~journeylab.sim.experiments.replicate` frame: adds the Monte Carlo table and
    confidence intervals to the funnel and goals.
sweep : pandas.DataFrame or None, default None
    A :func:`~journeylab.sim.experiments.sweep` frame to plot.
sweep_stat : str, tuple or list, default "conversion_rate"
    What to plot of ``sweep`` (as :func:`journeylab.charts.sweep`'s ``stats``).
compare : pandas.DataFrame, mapping or None, default None
    A :func:`~journeylab.sim.experiments.compare` frame, or replicate frames per variant."""
_RESULT = "result : SimulationResult\n    The run to report."
#: numpydoc text the report functions share
_fill = filler(
    {
        "report": _RESULT + "\n" + _REST,
        "report_path": _RESULT + "\npath : str or pathlib.Path\n    The HTML file to write (overwritten).\n" + _REST,
        "result": """>>> from journeylab import examples, simulate
>>> from journeylab.datasets import generate_cohort
>>> cohort = generate_cohort(100, days=3, seed=1)
>>> result = simulate(examples.cart_abandonment(), cohort, "2026-10-01T00:00Z", "2026-10-04T00:00Z", seed=1)""",
    }
)

_FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', 'DejaVu Sans', Arial, sans-serif"
_CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
_GRAPH_WIDTH = 1100  # the journey graph fits the report's column
_embedded = False  # plotly.js already sent to this notebook session (result_html)


def _esc(x: Any) -> str:
    return html.escape(str(x))


# ----------------------------------------------------------------------------- plotly.js and figures


def plotlyjs_script() -> str:
    """plotly.js inline, in a ``<script>`` that defines ``window.Plotly`` whatever the page's loader.

    AMD ``define`` and CommonJS ``module`` are hidden from it, and it does nothing when
    plotly.js is already there.

    Returns
    -------
    str
        The ``<script>`` element (about 4.8 MB).

    Examples
    --------
    >>> s = plotlyjs_script()
    >>> s.startswith("<script"), len(s) > 3_000_000
    (True, True)
    """
    from plotly.offline import get_plotlyjs

    js = get_plotlyjs().replace("</script", "<\\/script")
    return (
        '<script type="text/javascript">window.PlotlyConfig = {MathJaxConfig: "local"};\n'
        "if (!window.Plotly) { (function (define, module, exports) {\n"
        f"{js}\n"
        "}).call(window); }</script>"
    )


def _plotly_notebook_renderer_embeds() -> bool:
    """Whether Plotly's default renderer includes its (offline) ``notebook`` renderer; if so,
    make sure it has put plotly.js in the notebook (it does that once, at its first use)."""
    try:
        import plotly.io as pio
        from plotly.io._base_renderers import NotebookRenderer
    except ImportError:  # pragma: no cover - plotly is a dependency
        return False
    names = str(pio.renderers.default or "").split("+")
    ok = [
        n
        for n in names
        if n in pio.renderers
        and isinstance(pio.renderers[n], NotebookRenderer)
        and not getattr(pio.renderers[n], "connected", False)
    ]
    if not ok:
        return False
    try:
        from IPython import get_ipython

        if get_ipython() is None:
            return False
        pio.renderers._activate_pending_renderers(cls=NotebookRenderer)
    except Exception:  # noqa: BLE001 - no IPython display: embed our own copy
        return False
    return True


def _slug(s: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_-]+", "-", s).strip("-") or "x"


def figure_div(fig: Any, div_id: str, *, height: int | None = None) -> str:
    """A figure as a ``<div class="plotly-graph-div">`` and the script that draws it into it.

    The script waits for ``window.Plotly`` (so the order of outputs in a notebook does not
    matter); where scripts do not run, the div says so.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure.
    div_id : str
        The div's id.
    height : int or None, default None
        Its height in pixels; default the figure's.

    Returns
    -------
    str
        The div and its script.

    Examples
    --------
    >>> import plotly.graph_objects as go
    >>> html = figure_div(go.Figure(go.Bar(y=[1, 2])), "bars")
    >>> html.startswith('<div id="bars" class="plotly-graph-div')
    True
    """
    spec = json.loads(fig.to_json())
    h = height or spec.get("layout", {}).get("height") or 450
    w = spec.get("layout", {}).get("width")
    payload = json.dumps(
        {"data": spec.get("data", []), "layout": spec.get("layout", {}), "config": _CONFIG}, separators=(",", ":")
    )
    payload = payload.replace("</", "<\\/").replace("<!--", "<\\!--")
    style = f"height:{int(h)}px;" + (f"width:{int(w)}px;" if w else "width:100%;")
    did = json.dumps(div_id)
    return (
        f'<div id="{_esc(div_id)}" class="plotly-graph-div jl-figure" style="{style}">'
        '<p class="jl-nojs">This chart needs JavaScript (plotly.js).</p></div>\n'
        '<script type="text/javascript">(function () {\n'
        f"  var spec = {payload};\n"
        "  var tries = 0;\n"
        "  function draw() {\n"
        f"    var el = document.getElementById({did});\n"
        "    if (!el) return;\n"
        "    if (!window.Plotly) { if (++tries < 600) { setTimeout(draw, 50); } return; }\n"
        "    el.innerHTML = '';\n"
        "    window.Plotly.newPlot(el, spec.data, spec.layout, spec.config);\n"
        "  }\n"
        "  draw();\n"
        "})();</script>"
    )


# ----------------------------------------------------------------------------- tables


def _is_num(v: Any) -> bool:
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    return isinstance(v, int | float) and not isinstance(v, bool)


def _fmt(v: Any, col: str = "") -> str:
    if hasattr(v, "item") and not isinstance(v, str):  # numpy scalars as Python numbers
        v = v.item()
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if "rate" in col and isinstance(v, int | float):
        return f"{v:.1%}"
    if isinstance(v, float) and col.endswith("_min"):
        return _duration(v)
    if isinstance(v, int | float) and not isinstance(v, bool):
        return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"
    return _esc(v)


def _duration(minutes: float) -> str:
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "–"
    if minutes < 120:
        return f"{minutes:,.0f} min"
    if minutes < 72 * 60:
        return f"{minutes / 60:,.1f} h"
    return f"{minutes / 1440:,.1f} days"


def _table(
    df: pd.DataFrame, *, index: bool = True, cls: str = "jl-table", headers: dict[str, str] | None = None
) -> str:
    from journeylab.charts._style import pretty

    headers = headers or {}
    cols = list(df.columns)
    head = ([f"<th>{_esc(df.index.name or '')}</th>"] if index else []) + [
        f"<th>{_esc(headers.get(c, pretty(str(c))))}</th>" for c in cols
    ]
    rows = []
    for idx, r in df.iterrows():
        cells = ([f'<th scope="row">{_esc(idx)}</th>'] if index else []) + [
            f'<td class="{"num" if _is_num(r[c]) else ""}">{_fmt(r[c], str(c))}</td>' for c in cols
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}"><thead><tr>{"".join(head)}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


#: column headers of the summary table (durations carry their unit in the cell: "5.3 h")
SUMMARY_HEADERS = {
    "entered": "entered",
    "active": "still inside",
    "conversions": "converted",
    "conversion_rate": "conversion rate",
    "messages_sent": "messages sent",
    "exits_completed": "exits: completed",
    "exits_journey_timeout": "exits: journey timeout",
    "exits_force_exit": "exits: force exit",
    "time_to_goal_median_min": "median time to goal",
}


def where_everyone_is(ns: pd.DataFrame, d: Any) -> pd.DataFrame:
    """Per node: entered = still waiting + left by each port + exits straight from the node by
    reason (goal, journey timeout, force exit, stopped); the last column checks it (0 everywhere).

    >>> import pandas as pd
    >>> from journeylab.examples import cart_abandonment
    >>> ns = pd.DataFrame({"entered": [10], "waiting": [2], "left_next": [5], "exited_goal": [3]}, index=["wait"])
    >>> where_everyone_is(ns, cart_abandonment().definition).iloc[0].tolist()
    [10, 2, 5, 3, 0]
    """
    from journeylab.stats import EXIT_REASONS, conservation

    ns = ns.reindex([n.id for n in d.nodes if n.id in ns.index])
    ports = [c for c in ns.columns if c.startswith("left_") and ns[c].any()]
    exits = [f"exited_{r}" for r in EXIT_REASONS if f"exited_{r}" in ns.columns and ns[f"exited_{r}"].any()]
    out = pd.DataFrame({"entered": ns["entered"], "still waiting": ns["waiting"]})
    for c in ports:
        out[f"left by {c[5:]}"] = ns[c]
    for c in exits:
        out[f"exit: {c[7:].replace('_', ' ')}"] = ns[c]
    out["unaccounted"] = conservation(ns)["unaccounted"]
    labels = {n.id: (n.label or n.id) for n in d.nodes}
    out.index = [labels.get(i, i) for i in out.index]
    out.index.name = "node"
    return out.astype("int64")


def _ci_table(ci: pd.DataFrame) -> str:
    """Journey-level statistics of a replicate frame: mean and interval, rates in percent."""
    from journeylab.charts._style import pretty

    m = ci[
        ci["stat"].astype(str).isin(["entered", "active", "conversions", "conversion_rate", "time_to_goal_median_min"])
        | ci["stat"].astype(str).str.startswith("conversions_")
    ]
    if "scope" in ci.columns:
        m = m[m["scope"].astype(str) == "journey"]
    if "journey" in ci.columns and ci["journey"].astype(str).nunique() > 1:
        idx = m["journey"].astype(str) + " · " + m["stat"].astype(str).map(pretty)
    else:
        idx = m["stat"].astype(str).map(pretty)
    rows = []
    for name, (_, r) in zip(idx, m.iterrows(), strict=True):
        stat = str(r["stat"])
        f = (
            (lambda v: f"{v:.1%}")
            if "rate" in stat
            else ((lambda v: _duration(v)) if stat.endswith("_min") else (lambda v: f"{v:,.1f}"))
        )
        rows.append(
            {
                "statistic": name,
                "mean": f(float(r["mean"])),
                "confidence interval": f"{f(float(r['ci_low']))} – {f(float(r['ci_high']))}",
                "runs": int(r.get("n", 0)),
            }
        )
    return _table(pd.DataFrame(rows), index=False)


def _summary_frame(result: Any) -> pd.DataFrame:
    s = result.summary().copy()
    names = {d.id: (d.name or d.id) for d in result.journeys}
    med = {d.id: result.journey_stats_of(d.id).get("time_to_goal_median_min", float("nan")) for d in result.journeys}
    s["time_to_goal_median_min"] = [med.get(j, float("nan")) for j in s.index]
    s.index = [names.get(j, j) for j in s.index]
    s.index.name = "journey"
    return s


def _kpis(result: Any) -> str:
    s = result.summary()
    entered = int(s["entered"].sum())
    conv = int(s["conversions"].sum())
    sent = int(s["messages_sent"].sum())
    active = int(s["active"].sum())
    js = result.journey_stats
    tiles = [
        ("Entered", f"{entered:,}", "enrollments"),
        ("Converted", f"{conv:,}", f"{conv / entered:.1%} of enrollments" if entered else "–"),
        ("Messages sent", f"{sent:,}", "all channels"),
        ("Median time to goal", _duration(js.get("time_to_goal_median_min", float("nan"))), result.journey.name or ""),
        ("Still in a journey", f"{active:,}", "at the end of the period"),
    ]
    return (
        '<div class="jl-kpis">'
        + "".join(
            f'<div class="jl-kpi"><div class="jl-kpi-label">{_esc(a)}</div><div class="jl-kpi-value">{_esc(b)}</div>'
            f'<div class="jl-kpi-note">{_esc(c)}</div></div>'
            for a, b, c in tiles
        )
        + "</div>"
    )


def _period(result: Any) -> str:
    tz = result.journey.settings.timezone
    a, b = pd.Timestamp(result.start), pd.Timestamp(result.end)
    text = f"{a:%Y-%m-%d %H:%M} → {b:%Y-%m-%d %H:%M} UTC"
    if tz and tz != "UTC":
        text += f" ({a.tz_convert(tz):%d %b %H:%M} → {b.tz_convert(tz):%d %b %H:%M} {tz})"
    return text


def _meta(result: Any) -> list[tuple[str, str]]:
    n = getattr(result, "n_users", 0)
    cohort = str(getattr(result, "cohort_name", "cohort")) + (f" · {n:,} users" if n else "")
    return [
        ("Journey" + ("s" if len(result.journeys) > 1 else ""), ", ".join(d.name or d.id for d in result.journeys)),
        ("Cohort", cohort),
        ("Period", _period(result)),
        ("Seed", str(result.seed)),
        ("Trace", f"{len(result.trace):,} rows"),
    ]


# ----------------------------------------------------------------------------- the report


_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f5f6f8;color:#1f2937;font-family:__FONT__;font-size:14px;line-height:1.45}
main{max-width:1240px;margin:0 auto;padding:28px 28px 60px}
header.jl-head{background:#111827;color:#f9fafb;padding:26px 0 22px}
header.jl-head .in{max-width:1240px;margin:0 auto;padding:0 28px}
header.jl-head h1{margin:0 0 10px;font-size:26px;font-weight:650;letter-spacing:-.01em}
header.jl-head dl{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0}
header.jl-head dt{color:#9ca3af;font-size:11px;text-transform:uppercase;letter-spacing:.06em}
header.jl-head dd{margin:0;font-size:14px}
.jl-kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(190px,1fr));gap:14px;margin:0 0 22px}
.jl-kpi{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:14px 16px}
.jl-kpi-label{font-size:12px;color:#6b7280;text-transform:uppercase;letter-spacing:.05em}
.jl-kpi-value{font-size:26px;font-weight:650;margin-top:2px}
.jl-kpi-note{font-size:12px;color:#6b7280}
section.jl-card{background:#fff;border:1px solid #e5e7eb;border-radius:10px;padding:18px 20px;margin:0 0 22px}
section.jl-card h2{margin:0 0 4px;font-size:18px}
section.jl-card p.jl-lead{margin:0 0 12px;color:#4b5563}
section.jl-card p.jl-caption{margin:6px 0 0;color:#6b7280;font-size:13px;border-top:1px solid #f0f1f3;padding-top:8px}
section.jl-fig{padding:10px 12px 12px}
h2.jl-journey{font-size:21px;margin:34px 0 14px;padding-bottom:6px;border-bottom:2px solid #d1d5db}
.jl-grid{display:grid;grid-template-columns:1fr 1fr;gap:22px}
.jl-grid>section.jl-card{margin:0 0 22px;min-width:0}
@media (max-width:980px){.jl-grid{grid-template-columns:1fr}}
.jl-scroll{overflow-x:auto}
.jl-figure{margin:0 auto}
.jl-nojs{color:#9ca3af;font-style:italic;margin:8px 0}
table.jl-table{border-collapse:collapse;width:100%;font-size:13px}
table.jl-table th,table.jl-table td{padding:7px 10px;border-bottom:1px solid #eef0f3;text-align:left;white-space:nowrap}
table.jl-table thead th{color:#6b7280;font-weight:600;font-size:12px;border-bottom:1px solid #d1d5db;white-space:normal;vertical-align:bottom}
table.jl-table td.num{text-align:right;font-variant-numeric:tabular-nums}
table.jl-table tbody tr:hover{background:#f9fafb}
footer{color:#9ca3af;font-size:12px;text-align:center;margin-top:30px}
.jl-empty{color:#6b7280;font-style:italic}
""".replace("__FONT__", _FONT)


class _Builder:
    """Collects the report's sections and figures (unique div ids)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.ids: list[str] = []

    def div(self, fig: Any, name: str) -> str:
        base = f"jl-{_slug(name)}"
        did, k = base, 2
        while did in self.ids:
            did, k = f"{base}-{k}", k + 1
        self.ids.append(did)
        return figure_div(fig, did)

    def card(self, title: str, lead: str, body: str, *, scroll: bool = False) -> str:
        """A section with a heading and a lead line above its body."""
        inner = f'<div class="jl-scroll">{body}</div>' if scroll else body
        return (
            f'<section class="jl-card"><h2>{_esc(title)}</h2>'
            + (f'<p class="jl-lead">{_esc(lead)}</p>' if lead else "")
            + inner
            + "</section>"
        )

    def figure(self, fig: Any, name: str, caption: str) -> str:
        """A section holding one titled figure and a caption under it."""
        return (
            f'<section class="jl-card jl-fig" data-figure="{_esc(name)}">{self.div(fig, name)}'
            f'<p class="jl-caption">{_esc(caption)}</p></section>'
        )


@_fill
def report_html(
    result: Any,
    *,
    title: str | None = None,
    ci: pd.DataFrame | None = None,
    sweep: pd.DataFrame | None = None,
    sweep_stat: Any = "conversion_rate",
    compare: Any = None,
) -> str:
    """The HTML text of :func:`write_report`.

    Parameters
    ----------
    %(report)s

    Returns
    -------
    str
        The page.

    Examples
    --------
    %(result)s
    >>> page = report_html(result, title="Cart abandonment")
    >>> page.startswith("<!DOCTYPE html>"), "Cart abandonment" in page
    (True, True)
    """
    from journeylab import __version__
    from journeylab import charts as C

    b = _Builder()
    heading = title or f"{result.journey.name or result.journey.id}: simulation report"
    meta = "".join(f"<div><dt>{_esc(k)}</dt><dd>{_esc(v)}</dd></div>" for k, v in _meta(result))
    out: list[str] = [_kpis(result)]
    summary = _summary_frame(result)
    out.append(
        b.card(
            "Summary",
            "One row per journey: enrollments, users still inside at the end, conversions and exits.",
            _table(summary, headers=SUMMARY_HEADERS),
            scroll=True,
        )
    )
    for d in result.journeys:
        multi = len(result.journeys) > 1
        if multi:
            out.append(f'<h2 class="jl-journey">{_esc(d.name or d.id)}</h2>')
        ns = result.node_stats_of(d.id)
        entered = int(ns["entered"].sum())
        js = result.journey_stats_of(d.id)
        conv = {g.name: int(js.get(f"conversions_{g.name}", 0)) for g in d.goals}
        graph = C.journey(d, ns, max_width=_GRAPH_WIDTH, conversions=conv)
        out.append(
            b.card(
                "The journey",
                "Nodes left to right as on the canvas, with what happened at each node and "
                "how many users took each connector (orange badge: users still waiting).",
                b.div(graph, f"graph-{d.id}"),
                scroll=True,
            )
        )
        if entered:
            out.append(
                b.card(
                    "Where everyone is, node by node",
                    "The users who entered each node add up: still "
                    "waiting there, gone on by one of its ports, or out of the journey from it (by reason).",
                    _table(where_everyone_is(ns, d)),
                    scroll=True,
                )
            )
        if entered == 0:
            out.append(b.card("No entries", "", '<p class="jl-empty">No user entered this journey in the period.</p>'))
            continue
        out.append(
            b.figure(
                C.funnel(result, journey=d.id, ci=ci),
                f"funnel-{d.id}",
                "The journey's main line stage by stage: entered, qualified at segments, sent / viewed / "
                "clicked at engagement nodes, converted; the share is of those who entered.",
            )
        )
        out.append(
            b.figure(
                C.node_stats(result, journey=d.id),
                f"node-stats-{d.id}",
                "Left: where the users who reached each node went (each bar adds up to those who entered). "
                "Right: the fate of every send attempt at engagement nodes.",
            )
        )
        out.append(
            b.figure(
                C.sankey(result, journey=d.id),
                f"sankey-{d.id}",
                "Users along each connector, coloured by port (yes green, timeout orange, next grey...), "
                "and where they left the journey.",
            )
        )
        w = C.waiting(result, journey=d.id)
        if w.data:
            out.append(
                b.figure(
                    w, f"waiting-{d.id}", "Users held at each node (qualifying windows, delays, DND) hour by hour."
                )
            )
        if d.goals:
            g = C.goals(result, journey=d.id, ci=ci)
            t = C.time_to_goal(result, journey=d.id)
            out.append(
                '<div class="jl-grid">'
                + b.figure(g, f"goals-{d.id}", "Conversions over enrollments, per goal.")
                + b.figure(t, f"time-to-goal-{d.id}", "Time from entry to the goal exit; dashed: the median.")
                + "</div>"
            )
    if len(result.trace) and (result.trace["event"].astype(str) == "sent").any():
        out.append(
            b.figure(
                C.messages(result),
                "messages",
                "Messages sent per channel per account-local day, "
                "and by local hour of day: DND holds night sends back until it ends.",
            )
        )
    if ci is not None and len(ci):
        out.append(
            b.card(
                "Monte Carlo replications",
                "Means and confidence intervals over replications (funnel and "
                "goal figures above show them as error bars).",
                _ci_table(ci),
                scroll=True,
            )
        )
    if sweep is not None and len(sweep):
        out.append(
            b.figure(
                C.sweep(sweep, sweep_stat),
                "sweep",
                "A statistic against the swept setting; band: confidence interval of the mean.",
            )
        )
    if compare is not None and len(compare):
        out.append(b.figure(C.compare(compare), "compare", "The same cohort and seeds for both variants."))
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="journeylab {_esc(__version__)}">'
        f"<title>{_esc(heading)}</title><style>{_CSS}</style>\n{plotlyjs_script()}\n</head><body>"
        f'<header class="jl-head"><div class="in"><h1>{_esc(heading)}</h1><dl>{meta}</dl></div></header>'
        f"<main>{''.join(out)}<footer>Generated {now} by journeylab {_esc(__version__)} · every number comes from "
        "the simulation trace.</footer></main></body></html>\n"
    )


@_fill
def write_report(
    result: Any,
    path: str | Path,
    *,
    title: str | None = None,
    ci: pd.DataFrame | None = None,
    sweep: pd.DataFrame | None = None,
    sweep_stat: Any = "conversion_rate",
    compare: Any = None,
) -> Path:
    """Write the report of ``result`` to ``path``: one self-contained HTML file.

    Parameters
    ----------
    %(report_path)s

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    %(result)s
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = write_report(result, pathlib.Path(tmp) / "report.html")
    ...     path.stat().st_size > 3_000_000
    True
    """
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    text = report_html(result, title=title, ci=ci, sweep=sweep, sweep_stat=sweep_stat, compare=compare)
    p.write_text(text, encoding="utf-8")
    return p


# ----------------------------------------------------------------------------- notebook display


_NB_CSS = """
.jl-result{font-family:__FONT__;color:#1f2937;max-width:1100px}
.jl-result .jl-title{font-size:15px;font-weight:650;margin:4px 0 2px}
.jl-result .jl-sub{font-size:12px;color:#6b7280;margin:0 0 8px}
.jl-result table.jl-table{border-collapse:collapse;font-size:12.5px;margin:4px 0 10px}
.jl-result table.jl-table th,.jl-result table.jl-table td{padding:4px 9px;border-bottom:1px solid #e5e7eb;text-align:left;white-space:nowrap}
.jl-result table.jl-table td.num{text-align:right;font-variant-numeric:tabular-nums}
.jl-result table.jl-table thead th{color:#6b7280;font-weight:600;white-space:normal;vertical-align:bottom}
.jl-result details{margin:6px 0}
.jl-result summary{cursor:pointer;color:#374151;font-weight:600}
.jl-result .jl-nojs{color:#9ca3af;font-style:italic}
.jl-result .jl-scroll{overflow-x:auto}
""".replace("__FONT__", _FONT)


@_fill
def result_html(result: Any, *, include_plotlyjs: bool | str = "auto") -> str:
    """Rich notebook output of a result: header, summary table, journey graph, funnel, node statistics.

    The journey graph is SVG, the funnel and node statistics (of the first journey) are
    Plotly figures.

    Parameters
    ----------
    result : SimulationResult
        The result.
    include_plotlyjs : bool or "auto", default "auto"
        ``True`` embeds plotly.js (~4.8 MB) in this output, ``False`` relies on the page having
        it, ``"auto"`` embeds it in the first output of the Python session only (like plotly's
        own notebook renderer): the saved notebook then carries it once and every figure, live
        or exported, draws from it.

    Returns
    -------
    str
        The HTML.

    Examples
    --------
    %(result)s
    >>> "<svg" in result_html(result, include_plotlyjs=False)
    True
    """
    global _embedded
    from journeylab import charts as C

    embed = include_plotlyjs is True
    if include_plotlyjs == "auto" and not _embedded:
        # plotly's own notebook renderer embeds plotly.js once per session: let it, so the
        # notebook never carries two copies; without that renderer, embed ours once
        embed = not _plotly_notebook_renderer_embeds()
        _embedded = True
    d = result.journey
    meta = " · ".join(f"{k.lower()}: {v}" for k, v in _meta(result)[1:4])
    uid = f"jl-{uuid.uuid4().hex[:12]}"  # unique in a notebook page
    parts = [f"<style>{_NB_CSS}</style>", '<div class="jl-result">']
    if embed:
        parts.append(plotlyjs_script())
    parts.append(
        f'<div class="jl-title">SimulationResult: {_esc(d.name or d.id)}</div><div class="jl-sub">{_esc(meta)}</div>'
    )
    parts.append(f'<div class="jl-scroll">{_table(_summary_frame(result), headers=SUMMARY_HEADERS)}</div>')
    try:
        js = result.journey_stats_of(d.id)
        svg = C.journey_svg(
            d,
            result.node_stats_of(d.id),
            conversions={g.name: int(js.get(f"conversions_{g.name}", 0)) for g in d.goals},
        )
        parts.append(
            f'<details><summary>Journey graph with counts</summary><div class="jl-scroll">{svg}</div></details>'
        )
    except Exception:  # the display must not fail because the picture does
        pass
    if int(result.node_stats_of(d.id)["entered"].sum()):
        f1 = C.funnel(result)
        f2 = C.node_stats(result)
        f1.update_layout(width=None)
        parts.append(figure_div(f1, f"{uid}-funnel"))
        parts.append(figure_div(f2, f"{uid}-node-stats"))
    parts.append("</div>")
    return "\n".join(parts)
