"""Figures of one simulation run, all computed from the trace.

Each function takes a :class:`~journeylab.sim.SimulationResult` (``journey=`` picks one of
several journeys) or a trace DataFrame (``definition=`` names the journey's nodes; without
it they are read off the trace), every other argument is a keyword, and it returns a
``plotly.graph_objects.Figure``. The numbers drawn are those of :mod:`journeylab.stats`.

>>> import pandas as pd
>>> t = pd.DataFrame({
...     "user_id": ["a", "a", "a", "a", "a", "b", "b"],
...     "ts": pd.to_datetime([0, 0, 0, 0, 60, 0, 0], unit="s", utc=True),
...     "journey": "j", "version": 1,
...     "node": ["start", "start", "push", "push", "push", "start", "start"],
...     "event": ["entered", "left", "entered", "sent", "exited", "entered", "exited"],
...     "port": ["", "yes", "", "", "", "", ""],
...     "detail": ["entry", "", "", "push", "goal:Buy", "entry", "goal:Buy"]})
>>> fig = funnel(t)  # the busiest path: entered 2, 1 went on to the push (1 left by the goal)
>>> list(fig.data[0].y), list(fig.data[0].x), list(fig.data[1].x)
(['start', 'push', 'Goal: Buy'], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0])
>>> fig = funnel(t, stages=True)
>>> list(fig.data[0].y), list(fig.data[0].x)
(['Entered', 'push: sent', 'push: viewed', 'push: clicked', 'Goal: Buy'], [2.0, 1.0, 0.0, 0.0, 2.0])
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from journeylab.charts import _style as S
from journeylab.charts._api import fill_doc, old_name
from journeylab.charts._data import (
    PathItem,
    Source,
    _stat,
    funnel_stages,
    path_steps,
    send_attempts,
    source,
    waiting_over_time,
)
from journeylab.charts._data import time_to_goal as goal_times

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from journeylab.model.journey import Journey, JourneyDef
    from journeylab.sim.result import SimulationResult

__all__ = [
    "funnel",
    "node_stats",
    "sankey",
    "waiting",
    "messages",
    "message_load",
    "goals",
    "time_to_goal",
    "ci_lookup",
]


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _n(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _esc(s: str) -> str:
    return html.escape(str(s), quote=False)


def ci_lookup(
    ci: pd.DataFrame | None, scope: str, node: str, stat: str, journey: str | None = None
) -> tuple[float, float, float] | None:
    """``(mean, ci_low, ci_high)`` of one statistic in a tidy experiments frame (the output
    of :func:`journeylab.sim.experiments.replicate`: ``scope, journey, node, stat, mean,
    ci_low, ci_high``), or None when it is not there."""
    if ci is None or len(ci) == 0:
        return None
    m = ci["stat"].astype(str) == stat
    if "scope" in ci.columns:
        m &= ci["scope"].astype(str) == scope
    if "node" in ci.columns:
        m &= ci["node"].fillna("").astype(str) == (node or "")
    if journey and "journey" in ci.columns:
        jm = ci["journey"].fillna("").astype(str)
        m &= (jm == journey) | (jm == "")
    rows = ci[m]
    if rows.empty:
        return None
    r = rows.iloc[0]
    return float(r["mean"]), float(r["ci_low"]), float(r["ci_high"])


def _stage_color(kind: str, shade: float) -> str:
    if kind in ("entry", "segment"):
        base = S.KIND_COLORS["action"]
    elif kind == "goal":
        base = S.GOAL_COLOR
    else:
        base = S.kind_color(kind)
    return S.rgba(base, shade) if shade < 1 else base


# ----------------------------------------------------------------------------- funnel


@fill_doc
def funnel(
    data: SimulationResult | pd.DataFrame,
    path: Sequence[PathItem] | None = None,
    *,
    journey: str | None = None,
    definition: Journey | JourneyDef | None = None,
    ci: pd.DataFrame | None = None,
    responses: bool = True,
    goals: bool = True,
    stages: bool = False,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Where users drop off along a path through the journey.

    By default the path is the **busiest path**: from the busiest entry node, the connector
    most users took at each node, until the exit most users took (a goal, the journey
    timeout, a port with no connector...). Each row is a step with the users who got there;
    its bar is split into those who went on to the next step and those who left the path
    there (hatched), with how they left — by another port (to which node), by an exit (goal,
    timeout...), or still waiting — in the hover text and the label beside the bar, and the
    step-to-step conversion.

    ``stages=True``, or a ``path`` with ``(node, stat)`` items, ``"entered"`` or
    ``"goal:<name>"``, draws the stage funnel of :func:`journeylab.charts._data.funnel_stages`
    instead (entered → qualified → sent → viewed / clicked → goal).

    Parameters
    ----------
    data : SimulationResult or pandas.DataFrame
        A simulation result or its trace (``result.trace``).
    path : sequence of str or tuple or None, default None
        The steps: node ids in order (default the busiest path), or stage items
        (``(node, stat)``, ``"entered"``, ``"goal:<name>"``) for a stage funnel.
    %(journey)s
    %(definition)s
    %(ci)s
    responses : bool, default True
        Stage funnel: show each engagement node's viewed and clicked stages.
    goals : bool, default True
        Stage funnel: end with one stage per goal.
    stages : bool, default False
        Draw the stage funnel instead of the path funnel.
    %(title_height)s

    %(figure_of_journey)s

    See Also
    --------
    journeylab.stats.node_stats : the counts behind each step.

    %(example)s
    >>> fig = charts.funnel(result)
    >>> [trace.name for trace in fig.data]
    ['went on', 'left the path here', 'labels']
    >>> list(fig.data[0].y)[1:4]
    ['Reminder push', 'Wait 1 day', 'Did Charged?']
    """
    src = source(data, journey=journey, definition=definition)
    if not stages and (path is None or all(isinstance(x, str) and x in src.nodes for x in path)):
        # every item of the path is a node id: checked just above
        return _path_funnel(src, cast("Sequence[str] | None", path), ci=ci, title=title, height=height)
    return _stage_funnel(src, path, ci=ci, responses=responses, goals=goals, title=title, height=height)


def _path_funnel(
    src: Source, path: Sequence[str] | None, *, ci: pd.DataFrame | None, title: str | None, height: int | None
) -> go.Figure:
    go = _go()
    steps = path_steps(src, path)
    run = [s.value for s in steps]
    values = list(run)
    plus, minus = [0.0] * len(steps), [0.0] * len(steps)
    if ci is not None:
        for i, s in enumerate(steps):
            hit = ci_lookup(ci, "node", s.node, s.stat, src.journey)
            if hit is not None:
                mean, lo, hi = hit
                values[i], plus[i], minus[i] = mean, max(hi - mean, 0.0), max(mean - lo, 0.0)
    first = values[0] if values and values[0] else None
    labels = [_wrap(s.label, 28) for s in steps]
    on = [values[i + 1] if i + 1 < len(values) else values[i] for i in range(len(values))]
    left = [max(values[i] - on[i], 0.0) if i + 1 < len(values) else 0.0 for i in range(len(values))]
    colors = [_stage_color(s.kind if s.kind != "exit" else "controller", 1.0) for s in steps]
    hover, notes = [], []
    for i, s in enumerate(steps):
        v = values[i]
        h = f"<b>{_esc(s.label)}</b><br>{'mean ' if ci is not None else ''}{_n(v)} users"
        if first:
            h += f" ({v / first:.1%} of the first step)"
        if s.via not in ("entry", "reached") and not s.via.startswith("exit:"):
            h += f"<br>arrived by <b>{_esc(s.via)}</b>"
        if ci is not None:
            h += f"<br>this run: {_n(run[i])}"
        note = f"{_n(v)}" + (f" · {v / first:.0%}" if first else "")
        if i + 1 < len(steps):
            conv = on[i] / v if v else 0.0
            conv_text = f"{conv:.1%}" if 0.99 < conv < 1 else f"{conv:.0%}"
            h += f"<br>went on: {_n(on[i])} ({conv:.1%}) · left the path here: {_n(left[i])}"
            for name, n in s.drop.items():
                h += f"<br>&nbsp;&nbsp;{_esc(name)}: {_n(n)}"
            if left[i] > 0:
                most = next(iter(s.drop.items()), None)
                note += f"  → {conv_text} go on · {_n(left[i])} leave" + (
                    f" ({_esc(most[0])}: {_n(most[1])})" if most else ""
                )
            else:
                note += "  → all go on"
        hover.append(h)
        notes.append(note)
    bar_on = go.Bar(
        name="went on",
        orientation="h",
        y=labels,
        x=on,
        marker={"color": colors, "line": {"width": 0}},
        customdata=[[s.node, s.stat, r] for s, r in zip(steps, run, strict=True)],
        hovertext=hover,
        hoverinfo="text",
    )
    bar_left = go.Bar(
        name="left the path here",
        orientation="h",
        y=labels,
        x=left,
        marker={
            "color": "rgba(220,38,38,0.22)",
            "line": {"width": 1, "color": "rgba(220,38,38,0.6)"},
            "pattern": {"shape": "/", "fgcolor": "rgba(220,38,38,0.55)", "size": 6},
        },
        customdata=[[s.node, s.stat, r] for s, r in zip(steps, run, strict=True)],
        hovertext=hover,
        hoverinfo="text",
    )
    if ci is not None:
        # the interval of each step's users sits at the end of its whole bar
        bar_left.error_x = {
            "type": "data",
            "symmetric": False,
            "array": plus,
            "arrayminus": minus,
            "color": "#111827",
            "thickness": 1.5,
            "width": 5,
        }
    fig = go.Figure([bar_on, bar_left])
    ends = [values[i] + plus[i] for i in range(len(values))]
    fig.add_trace(
        go.Scatter(
            name="labels",
            x=ends,
            y=labels,
            mode="text",
            text=[f"  {t}" for t in notes],
            textposition="middle right",
            textfont={"size": 12, "color": "#374151"},
            hoverinfo="skip",
            showlegend=False,
            cliponaxis=False,
        )
    )
    top = max(ends + [1.0])
    fig.update_xaxes(range=[0, top * 1.9], title="users", rangemode="tozero")
    sub = (
        f"{src.name} · "
        + ("the busiest path" if path is None else "your path")
        + ": users at each step, hatched: left the path there"
    )
    if ci is not None:
        n = int(ci["n"].max()) if "n" in ci.columns and len(ci) else 0
        sub += f" · Monte Carlo mean and {_conf(ci)} CI over {n} runs"
    S.style(
        fig,
        title=title or "Where users drop off",
        subtitle=sub,
        legend="top",
        height=height or 120 + 46 * max(len(steps), 2),
    )
    fig.update_layout(barmode="stack", bargap=0.3)
    fig.update_yaxes(autorange="reversed", title=None, showgrid=False, ticklabelstandoff=6)
    return fig


def _stage_funnel(
    src: Source,
    path: Sequence[PathItem] | None,
    *,
    ci: pd.DataFrame | None,
    responses: bool,
    goals: bool,
    title: str | None,
    height: int | None,
) -> go.Figure:
    go = _go()
    stages = funnel_stages(src, path, responses=responses, goals=goals)
    run = [s.value for s in stages]
    values = list(run)
    err_plus: list[float] = []
    err_minus: list[float] = []
    if ci is not None:
        for i, s in enumerate(stages):
            hit = ci_lookup(ci, s.scope, s.node, s.stat, src.journey)
            if hit is None:
                err_plus.append(0.0)
                err_minus.append(0.0)
                continue
            mean, lo, hi = hit
            values[i] = mean
            err_plus.append(max(hi - mean, 0.0))
            err_minus.append(max(mean - lo, 0.0))
    first = values[0] if values and values[0] else None
    texts = [f"{_n(v)}" + (f" · {v / first:.0%}" if first else "") for v in values]
    hover = []
    for s, v, r in zip(stages, values, run, strict=True):
        h = f"<b>{_esc(s.label)}</b><br>{'mean ' if ci is not None else ''}{_n(v)} users"
        if first:
            h += f" ({v / first:.1%} of {_esc(stages[0].label.lower())})"
        if ci is not None:
            h += f"<br>this run: {_n(r)}"
        hover.append(h)
    bar = go.Bar(
        name="funnel",
        orientation="h",
        y=[s.label for s in stages],
        x=values,
        text=texts,
        textposition=["inside" if first and v > 0.15 * max(values) else "outside" for v in values],
        insidetextanchor="end",
        cliponaxis=False,
        marker={"color": [_stage_color(s.kind, s.shade) for s in stages], "line": {"width": 0}},
        customdata=[[s.scope, s.node, s.stat, r] for s, r in zip(stages, run, strict=True)],
        hovertext=hover,
        hoverinfo="text",
        textfont={"size": 12},
    )
    if ci is not None:
        bar.error_x = {
            "type": "data",
            "symmetric": False,
            "array": err_plus,
            "arrayminus": err_minus,
            "color": "#111827",
            "thickness": 1.5,
            "width": 5,
        }
    fig = go.Figure(bar)
    if ci is not None:  # the numbers go after the error bars, not under them
        fig.data[0].text = None
        ends = [v + p for v, p in zip(values, err_plus, strict=True)]
        fig.add_trace(
            go.Scatter(
                name="labels",
                x=ends,
                y=[s.label for s in stages],
                mode="text",
                text=[f"  {t}" for t in texts],
                textposition="middle right",
                textfont={"size": 12, "color": "#374151"},
                hoverinfo="skip",
                showlegend=False,
                cliponaxis=False,
            )
        )
        fig.update_xaxes(range=[0, max(ends + [1.0]) * 1.18])
    sub = f"{src.name} · share of {stages[0].label.lower()}" if stages else src.name
    if ci is not None:
        n = int(ci["n"].max()) if "n" in ci.columns and len(ci) else 0
        sub += f" · Monte Carlo mean and {_conf(ci)} CI over {n} runs"
    S.style(fig, title=title or "Funnel", subtitle=sub, legend=None, height=height or 90 + 34 * max(len(stages), 2))
    fig.update_yaxes(autorange="reversed", title=None, showgrid=False, ticklabelstandoff=6)
    fig.update_xaxes(title="users", rangemode="tozero")
    return fig


def _conf(ci: pd.DataFrame) -> str:
    conf = ci.attrs.get("confidence") if hasattr(ci, "attrs") else None
    return f"{conf:.0%}" if conf else "95%"


# ----------------------------------------------------------------------------- node statistics


def _node_frame(
    data: SimulationResult | pd.DataFrame, journey: str | None, definition: Journey | JourneyDef | None
) -> tuple[pd.DataFrame, Source | None]:
    """Node statistics and, when the trace is at hand, the source."""
    if isinstance(data, pd.DataFrame) and "event" not in data.columns and "entered" in data.columns:
        return data, None
    src = source(data, journey=journey, definition=definition)
    return src.node_stats, src


@fill_doc
def node_stats(
    data: SimulationResult | pd.DataFrame,
    *,
    journey: str | None = None,
    definition: Journey | JourneyDef | None = None,
    messages: bool = True,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Per node, where the users who entered went, and the send attempts of engagement nodes.

    Each node's bar stacks the users who left by each port, exited there (by reason) and
    are still waiting, to the number who entered, with timed-out users marked; beside it, for
    engagement nodes, the send attempts: sent, discarded by reason (unreachable, DND,
    frequency, limit), with deferred, viewed and clicked marked.

    Parameters
    ----------
    data : SimulationResult or pandas.DataFrame
        A simulation result, its trace, or a node statistics frame (``result.node_stats``;
        exits are then not split by reason).
    %(journey)s
    %(definition)s
    messages : bool, default True
        Add the panel of send attempts when the journey has engagement nodes.
    %(title_height)s

    %(figure_of_journey)s

    %(example)s
    >>> fig = charts.node_stats(result)
    >>> fig.data[0].name, list(fig.data[0].customdata)
    ('left by yes', ['cart', 'push', 'wait', 'charged', 'reminder'])
    """
    go = _go()
    from plotly.subplots import make_subplots

    ns, src = _node_frame(data, journey, definition)
    nodes = list(ns.index)
    infos = src.nodes if src is not None else {}
    labels = _labels(nodes, infos)
    engagement = [
        n
        for n in nodes
        if (infos[n].family == "engagement" if n in infos else ns.loc[n, "sent"] + ns.loc[n, "discarded"] > 0)
    ]
    two = messages and bool(engagement)
    if two:
        fig = make_subplots(
            rows=1,
            cols=2,
            shared_yaxes=True,
            column_widths=[0.6, 0.4],
            horizontal_spacing=0.06,
            subplot_titles=("Users at each node: where they went", "Engagement nodes: send attempts"),
        )
    else:
        fig = go.Figure()

    def add(tr: Any, col: int = 1) -> None:
        if two:
            fig.add_trace(tr, row=1, col=col)
        else:
            fig.add_trace(tr)

    ylab = [labels[n] for n in nodes]
    port_cols = [c for c in ns.columns if c.startswith("left_")]
    std = ["left_yes", "left_no", "left_timeout", "left_next", "left_viewed", "left_clicked", "left_not_sent"]
    port_cols = [c for c in std if c in port_cols] + [c for c in port_cols if c not in std]
    for i, c in enumerate(port_cols):
        vals = ns[c].to_numpy(dtype=float)
        if not vals.any():
            continue
        port = c[5:]
        add(_hbar(go, S.pretty(c), ylab, vals, S.port_color(port, i), nodes, f"left by <b>{_esc(port)}</b>"))
    # exits at the node (completion exits follow a "left" row and are counted there)
    if src is not None:
        ex = src.exits
        ex = ex[ex["reason"] != "completed"]
        reasons = sorted(set(ex["reason"]), key=lambda r: (not r.startswith("goal:"), r))
        for r in reasons:
            part = ex[ex["reason"] == r].set_index("node")["users"]
            vals = part.reindex(nodes, fill_value=0).to_numpy(dtype=float)
            add(
                _hbar(
                    go,
                    f"exit: {S.pretty(r)}",
                    ylab,
                    vals,
                    S.exit_color(r),
                    nodes,
                    f"exited here: <b>{_esc(S.pretty(r))}</b>",
                )
            )
    else:
        left_total = ns[port_cols].sum(axis=1) if port_cols else 0
        vals = (ns["entered"] - left_total - ns["waiting"]).clip(lower=0).to_numpy(dtype=float)
        if vals.any():
            add(_hbar(go, "exited here", ylab, vals, S.EXIT_COLORS["completed"], nodes, "exited here"))
    waiting = ns["waiting"].to_numpy(dtype=float)
    if waiting.any():
        add(_hbar(go, "still waiting", ylab, waiting, S.WAITING_COLOR, nodes, "still waiting at the end", pattern="/"))
    entered = ns["entered"].to_numpy(dtype=float)
    add(
        go.Scatter(
            name="entered",
            x=entered,
            y=ylab,
            mode="text",
            text=[f"  {_n(v)} in" for v in entered],
            textposition="middle right",
            textfont={"size": 11, "color": "#374151"},
            showlegend=False,
            customdata=nodes,
            hovertemplate="%{y}<br>entered: <b>%{x:,}</b><extra></extra>",
            cliponaxis=False,
        )
    )
    to = ns["timed_out"].to_numpy(dtype=float)
    if to.any():
        add(
            go.Scatter(
                name="timed out",
                x=to,
                y=ylab,
                mode="markers",
                customdata=nodes,
                marker={"symbol": "line-ns", "size": 18, "line": {"width": 3, "color": S.PORT_COLORS["timeout"]}},
                hovertemplate="%{y}<br>timed out: <b>%{x:,}</b><extra></extra>",
            )
        )
    if two:
        eng_mask = np.array([n in engagement for n in nodes])
        kinds = {n: (infos[n].kind if n in infos else "push") for n in engagement}
        for ch in dict.fromkeys(kinds[n] for n in engagement):
            mask = np.array([kinds.get(n) == ch for n in nodes])
            sent = np.where(mask, ns["sent"].to_numpy(dtype=float), 0.0)
            add(_hbar(go, f"sent: {ch}", ylab, sent, S.kind_color(ch), nodes, f"sent ({_esc(ch)})"), 2)
        for r, color in S.DISCARD_COLORS.items():
            c = f"discarded_{r}"
            if c not in ns.columns or not ns[c].any():
                continue
            vals = np.where(eng_mask, ns[c].to_numpy(dtype=float), 0.0)
            add(_hbar(go, f"discarded: {r}", ylab, vals, color, nodes, f"discarded (<b>{r}</b>)", pattern="x"), 2)
        for stat, symbol, color in (
            ("deferred", "diamond", S.DISCARD_COLORS["dnd"]),
            ("viewed", "circle", S.PORT_COLORS["viewed"]),
            ("clicked", "star", S.PORT_COLORS["clicked"]),
        ):
            vals = np.where(eng_mask, ns[stat].to_numpy(dtype=float), np.nan)
            if not np.nansum(vals):
                continue
            add(
                go.Scatter(
                    name=stat,
                    x=vals,
                    y=ylab,
                    mode="markers",
                    customdata=nodes,
                    marker={"symbol": symbol, "size": 10, "color": color, "line": {"width": 1, "color": "white"}},
                    hovertemplate=f"%{{y}}<br>{stat}: <b>%{{x:,}}</b><extra></extra>",
                ),
                2,
            )
        fig.update_xaxes(title_text="users", row=1, col=1, range=[0, max(float(entered.max()), 1.0) * 1.16])
        fig.update_xaxes(title_text="messages", row=1, col=2, rangemode="tozero")
        fig.update_annotations(font={"size": 13, "color": "#374151"}, xanchor="left", x=None)
        for a, dom in zip(fig.layout.annotations, (fig.layout.xaxis.domain, fig.layout.xaxis2.domain), strict=False):
            a.x = dom[0]
    else:
        fig.update_xaxes(title_text="users", range=[0, max(float(entered.max()), 1.0) * 1.12])
    fig.update_layout(barmode="stack", bargap=0.35)
    fig.update_yaxes(autorange="reversed", showgrid=False)
    name = src.name if src is not None else ""
    S.style(
        fig,
        title=title or "Node statistics",
        subtitle=name or None,
        legend="right",
        subplot_titles=two,
        height=height or max(360, 170 + 46 * len(nodes)),
    )
    return fig


def _labels(nodes: list[str], infos: dict[str, Any]) -> dict[str, str]:
    raw = {n: (infos[n].label if n in infos else n) for n in nodes}
    counts = pd.Series(list(raw.values())).value_counts()
    return {n: (f"{lab} ({n})" if counts[lab] > 1 and lab != n else lab) for n, lab in raw.items()}


def _wrap(text: str, width: int = 18) -> str:
    """Break a label into lines of about ``width`` characters (``<br>``), at most two."""
    import textwrap

    lines = textwrap.wrap(_esc(text), width, break_long_words=False, break_on_hyphens=False) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), width, placeholder="…")]
    return "<br>".join(lines)


def _hbar(
    go: Any,
    name: str,
    y: list[str],
    x: Any,
    color: Any,
    nodes: list[str],
    what: str,
    *,
    pattern: str | None = None,
    legendgroup: str | None = None,
) -> Any:
    marker: dict[str, Any] = {"color": color, "line": {"width": 0}}
    if pattern:
        marker["pattern"] = {"shape": pattern, "fgcolor": "white", "fgopacity": 0.55, "size": 6}
    return go.Bar(
        name=name,
        orientation="h",
        y=y,
        x=x,
        marker=marker,
        customdata=nodes,
        legendgroup=legendgroup,
        hovertemplate=f"%{{y}}<br>{what}: <b>%{{x:,}}</b><extra></extra>",
    )


# ----------------------------------------------------------------------------- sankey


@fill_doc
def sankey(
    data: SimulationResult | pd.DataFrame,
    *,
    journey: str | None = None,
    definition: Journey | JourneyDef | None = None,
    exits: bool = True,
    waiting: bool = True,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Flows of users between nodes: one link per connector, exits and waiting users as sinks.

    Links are coloured by their port; exits by reason are sinks (goal, completed, journey
    timeout, force exit, stopped), and so are the users still waiting at the end. Link
    ``customdata`` is ``[kind, source, port or reason, target]`` with ``kind`` one of
    ``connector``, ``exit``, ``waiting``. Connectors nobody took are left out.

    Parameters
    ----------
    %(run)s
    exits : bool, default True
        Draw the exits by reason as sinks.
    waiting : bool, default True
        Draw the users still waiting at the end as a sink.
    %(title_height)s

    %(figure_of_journey)s

    %(example)s
    >>> fig = charts.sankey(result)
    >>> fig.data[0].type, list(fig.data[0].link.customdata[0])
    ('sankey', ['connector', 'cart', 'yes', 'push'])
    """
    go = _go()
    src = source(data, journey=journey, definition=definition)
    ns = src.node_stats
    nodes = list(src.nodes)
    labels = _labels(nodes, src.nodes)
    idx = {n: i for i, n in enumerate(nodes)}
    n_label = [f"{_wrap(labels[n])}<br>{_n(ns['entered'].loc[n])} in" for n in nodes]
    n_color = [S.kind_color(src.nodes[n].kind) for n in nodes]
    n_custom = [["node", n] for n in nodes]
    link: dict[str, list[Any]] = {"source": [], "target": [], "value": [], "color": [], "customdata": [], "label": []}

    def add_link(s: int, t: int, v: float, color: str, custom: list[str], label: str) -> None:
        link["source"].append(s)
        link["target"].append(t)
        link["value"].append(v)
        link["color"].append(S.rgba(color, 0.38))
        link["customdata"].append(custom)
        link["label"].append(label)

    flows = src.edge_flows
    branches: list[str] = []
    # Source.edge_flows: one row per connector, node ids and ports as str, users as int
    f_source: str
    f_port: str
    f_target: str
    f_users: int
    for f_source, f_port, f_target, f_users in zip(
        flows["source"], flows["port"], flows["target"], flows["users"], strict=True
    ):
        if f_users <= 0 or f_source not in idx or f_target not in idx:
            continue
        if f_port not in S.PORT_COLORS and f_port not in branches:
            branches.append(f_port)
        color = S.port_color(f_port, branches.index(f_port) if f_port in branches else 0)
        add_link(idx[f_source], idx[f_target], float(f_users), color, ["connector", f_source, f_port, f_target], f_port)
    sinks: dict[str, int] = {}

    def sink(key: str, label: str, color: str) -> int:
        if key not in sinks:
            sinks[key] = len(n_label)
            n_label.append(label)
            n_color.append(color)
            n_custom.append(["sink", key])
        return sinks[key]

    if exits:
        ex = src.exits
        totals = ex.groupby("reason")["users"].sum()
        order = sorted(totals.index, key=lambda r: (not str(r).startswith("goal:"), str(r)))
        for reason in order:
            name = f"Goal: {reason[5:]}" if str(reason).startswith("goal:") else f"Exit: {S.pretty(reason)}"
            k = sink(f"exit:{reason}", f"{_wrap(name, 22)}<br>{_n(totals[reason])}", S.exit_color(reason))
            for r in ex[ex["reason"] == reason].itertuples(index=False):
                if r.node in idx and r.users > 0:
                    add_link(
                        idx[r.node],
                        k,
                        float(r.users),
                        S.exit_color(reason),
                        ["exit", r.node, reason, ""],
                        f"exit: {S.pretty(reason)}",
                    )
    if waiting and ns["waiting"].any():
        k = sink("waiting", f"Still inside<br>{_n(ns['waiting'].sum())}", S.WAITING_COLOR)
        for n in nodes:
            if ns["waiting"].loc[n] > 0:
                add_link(idx[n], k, _stat(ns, n, "waiting"), S.WAITING_COLOR, ["waiting", n, "waiting", ""], "waiting")
    fig = go.Figure(
        go.Sankey(
            arrangement="snap",
            valueformat=",.0f",
            valuesuffix=" users",
            node={
                "label": n_label,
                "color": n_color,
                "customdata": n_custom,
                "pad": 18,
                "thickness": 16,
                "line": {"color": "white", "width": 0.5},
                "hovertemplate": "%{label}<br>in: %{targetLinks.length} flows, out: %{sourceLinks.length}<extra></extra>",
            },
            link={
                **link,
                "hovertemplate": "%{source.label} → %{target.label}<br>%{label}: <b>%{value:,}</b> users<extra></extra>",
            },
        )
    )
    S.style(
        fig,
        title=title or "Flows between nodes",
        subtitle=f"{src.name} · links by port, exits by reason",
        legend=None,
        height=height or max(420, 60 * len(nodes) + 160),
    )
    fig.update_layout(font={"size": 11})
    return fig


# ----------------------------------------------------------------------------- waiting over time


@fill_doc
def waiting(
    data: SimulationResult | pd.DataFrame,
    *,
    journey: str | None = None,
    definition: Journey | JourneyDef | None = None,
    freq: str = "1h",
    nodes: list[str] | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Users waiting at each node over time, one step line per node.

    The counts are sampled every ``freq`` in account-local time
    (:func:`journeylab.charts._data.waiting_over_time`); a line is drawn for each node that
    ever holds anyone, or for the given ``nodes``.

    Parameters
    ----------
    data : SimulationResult or pandas.DataFrame
        A simulation result, its trace, or a tidy ``ts, node, users`` frame
        (``result.waiting_over_time``).
    %(journey)s
    %(definition)s
    freq : str, default "1h"
        The sampling interval, a pandas frequency.
    nodes : list of str or None, default None
        The node ids to draw; default every node that ever holds anyone.
    %(title_height)s

    %(figure_of_journey)s

    %(example)s
    >>> fig = charts.waiting(result, freq="6h")
    >>> [trace.name for trace in fig.data]
    ['Wait 1 day', 'Did Charged?']
    """
    go = _go()
    if isinstance(data, pd.DataFrame) and {"ts", "node", "users"} <= set(data.columns) and "event" not in data.columns:
        w, infos, name, tz = data, {}, "", None
    else:
        src = source(data, journey=journey, definition=definition)
        w = waiting_over_time(src.trace, freq=freq, end=src.end)
        infos, name, tz = src.nodes, src.name, src.timezone
    order = list(infos) if infos else list(dict.fromkeys(w["node"]))
    if nodes is None:
        busy = set(w.loc[w["users"] > 0, "node"]) if len(w) else set()
        show = [n for n in order if n in busy] + sorted(busy - set(order))
    else:
        show = list(nodes)
    labels = _labels(show, infos)
    fig = go.Figure()
    dashes = ["solid", "dash", "dot", "dashdot", "longdash"]
    used: dict[str, int] = {}
    for n in show:
        part = w[w["node"] == n]
        ts = pd.to_datetime(part["ts"], utc=True)
        x = ts.dt.tz_convert(tz).dt.tz_localize(None) if tz else ts.dt.tz_localize(None)
        kind = infos[n].kind if n in infos else "node"
        color = S.kind_color(kind) if n in infos else S.QUALITATIVE[len(used) % len(S.QUALITATIVE)]
        k = used.get(color, 0)  # nodes of one colour differ by dash
        used[color] = k + 1
        fig.add_trace(
            go.Scatter(
                name=labels[n],
                x=x,
                y=part["users"].to_numpy(),
                mode="lines",
                line={"shape": "hv", "width": 2, "color": color, "dash": dashes[k % len(dashes)]},
                customdata=[n] * len(part),
                hovertemplate=f"{_esc(labels[n])}<br>%{{x|%a %d %b %H:%M}}: <b>%{{y:,}}</b> waiting<extra></extra>",
            )
        )
    sub = (name + " · " if name else "") + f"users at each node at the end of every {freq}"
    S.style(fig, title=title or "Users waiting per node", subtitle=sub, legend="right", height=height or 420)
    fig.update_xaxes(title=f"time ({tz})" if tz else "time")
    fig.update_yaxes(title="users waiting", rangemode="tozero")
    fig.update_layout(hovermode="x unified")
    return fig


# ----------------------------------------------------------------------------- messages


@fill_doc
def messages(
    data: SimulationResult | pd.DataFrame,
    *,
    journey: str | None = None,
    timezone: str | None = None,
    hours: bool = True,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Messages sent per channel per account-local day, stacked by channel.

    The part of each bar sent late because of DND is hatched. With ``hours`` a second panel
    counts the sends by local hour of day, where DND shows as empty night hours and a
    pile-up when DND ends.

    Parameters
    ----------
    data : SimulationResult or pandas.DataFrame
        A simulation result, its trace, or a tidy ``day, channel, messages`` frame
        (``result.messages_per_day``: one panel, no hatching).
    journey : str or None, default None
        Count only the messages of this journey; default those of every journey.
    %(timezone)s
    hours : bool, default True
        Add the panel of sends by local hour of day (not for a ``messages_per_day`` frame).
    %(title_height)s

    %(figure)s

    %(example)s
    >>> fig = charts.messages(result)
    >>> sorted({trace.name for trace in fig.data})
    ['email', 'push']
    """
    go = _go()
    from plotly.subplots import make_subplots

    if isinstance(data, pd.DataFrame) and {"day", "channel", "messages"} <= set(data.columns):
        per_day = data.assign(deferred=False)
        sends = None
        tz = timezone or "UTC"
    else:
        if isinstance(data, pd.DataFrame):  # a trace
            t = data
            tz = timezone or "UTC"
        else:
            t = data.trace
            tz = timezone or data.definition(journey).settings.timezone
        if journey is not None:
            t = t[t["journey"].astype(str) == journey]
        sends = send_attempts(t, tz)
        per_day = sends.groupby(["day", "channel", "deferred"]).size().rename("messages").reset_index()
    channels = [c for c in S.CHANNEL_COLORS if c in set(per_day["channel"])] + sorted(
        set(per_day["channel"]) - set(S.CHANNEL_COLORS)
    )
    two = hours and sends is not None
    if two:
        fig = make_subplots(
            rows=1,
            cols=2,
            column_widths=[0.62, 0.38],
            horizontal_spacing=0.07,
            subplot_titles=("Per day", "By hour of day"),
        )
    else:
        fig = go.Figure()

    def add(tr: Any, col: int) -> None:
        if two:
            fig.add_trace(tr, row=1, col=col)
        else:
            fig.add_trace(tr)

    any_deferred = bool(per_day["deferred"].any())
    for i, ch in enumerate(channels):
        color = S.CHANNEL_COLORS.get(ch, S.QUALITATIVE[i % len(S.QUALITATIVE)])
        for late in [False, True] if any_deferred else [False]:
            part = per_day[(per_day["channel"] == ch) & (per_day["deferred"] == late)]
            if part.empty:
                continue
            nm = f"{ch} · sent after DND" if late else ch
            what = "sent after DND deferral" if late else "sent"
            marker: dict[str, Any] = {"color": color, "line": {"width": 0}}
            if late:
                marker["pattern"] = {"shape": "/", "fgcolor": "white", "fgopacity": 0.7, "size": 7}
            add(
                go.Bar(
                    name=nm,
                    x=part["day"],
                    y=part["messages"].to_numpy(),
                    marker=marker,
                    legendgroup=nm,
                    customdata=[[ch, late]] * len(part),
                    hovertemplate=f"%{{x|%a %d %b}}<br>{_esc(ch)} {what}: <b>%{{y:,}}</b><extra></extra>",
                ),
                1,
            )
            if two:
                assert sends is not None
                h = sends[(sends["channel"] == ch) & (sends["deferred"] == late)].groupby("hour").size()
                h = h.reindex(range(24), fill_value=0)
                add(
                    go.Bar(
                        name=nm,
                        x=list(range(24)),
                        y=h.to_numpy(),
                        marker=marker,
                        legendgroup=nm,
                        showlegend=False,
                        customdata=[[ch, late]] * 24,
                        hovertemplate=f"%{{x}}:00–%{{x}}:59<br>{_esc(ch)} {what}: <b>%{{y:,}}</b><extra></extra>",
                    ),
                    2,
                )
    fig.update_layout(barmode="stack", bargap=0.15)
    if two:
        fig.update_xaxes(title_text=f"day ({tz})", row=1, col=1, tickformat="%d %b")
        fig.update_xaxes(
            title_text=f"local hour ({tz})",
            row=1,
            col=2,
            tickmode="array",
            tickvals=list(range(0, 24, 6)),
            ticktext=[f"{h:02d}:00" for h in range(0, 24, 6)],
            range=[-0.6, 23.6],
        )
        fig.update_yaxes(title_text="messages sent", row=1, col=1)
        fig.update_annotations(font={"size": 13, "color": "#374151"}, xanchor="left")
        for a, dom in zip(fig.layout.annotations, (fig.layout.xaxis.domain, fig.layout.xaxis2.domain), strict=False):
            a.x = dom[0]
    else:
        fig.update_xaxes(title=f"day ({tz})", tickformat="%d %b")
        fig.update_yaxes(title="messages sent")
    sub = "stacked by channel" + (" · hatched: held back by DND, sent when it ended" if any_deferred else "")
    S.style(
        fig,
        title=title or "Messages sent per channel",
        subtitle=sub,
        legend="right",
        subplot_titles=two,
        height=height or 440,
    )
    return fig


# ----------------------------------------------------------------------------- goals


@fill_doc
def goals(
    data: SimulationResult | pd.DataFrame,
    *,
    journey: str | None = None,
    definition: Journey | JourneyDef | None = None,
    value: str = "rate",
    ci: pd.DataFrame | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Conversion per goal: one bar per goal of the journey and, with several, one for any goal.

    Goals nobody reached get a bar too.

    Parameters
    ----------
    %(run)s
    value : {"rate", "conversions"}, default "rate"
        Draw conversions over enrollments, or the number of users converted.
    %(ci)s
    %(title_height)s

    %(figure_of_journey)s

    %(example)s
    >>> fig = charts.goals(result)
    >>> list(fig.data[0].x)
    ['Purchase']
    """
    go = _go()
    src = source(data, journey=journey, definition=definition)
    js = src.journey_stats
    entered = float(js["entered"])
    goals = list(src.goals)
    keys = [f"conversions_{g}" for g in goals]
    names = list(goals)
    if len(goals) > 1:
        keys.append("conversions")
        names.append("any goal")
    counts = [float(js.get(k, 0)) for k in keys]
    rates = [c / entered if entered else 0.0 for c in counts]
    ys = list(rates if value == "rate" else counts)
    plus: list[float] = []
    minus: list[float] = []
    if ci is not None:
        entered_ci = ci_lookup(ci, "journey", "", "entered", src.journey)
        for i, k in enumerate(keys):
            hit = ci_lookup(ci, "journey", "", k, src.journey)
            if hit is None:
                plus.append(0.0)
                minus.append(0.0)
                continue
            mean, lo, hi = hit
            scale = 1.0
            if value == "rate":
                scale = 1.0 / entered_ci[0] if entered_ci and entered_ci[0] else 0.0
            ys[i] = mean * scale
            plus.append(max(hi - mean, 0) * scale)
            minus.append(max(mean - lo, 0) * scale)
    text = (
        [f"{r:.1%} · {_n(c)}" for r, c in zip(rates, counts, strict=True)]
        if ci is None
        else [(f"{y:.1%}" if value == "rate" else _n(y)) for y in ys]
    )
    colors = [S.GOAL_COLOR] * len(goals) + ([S.rgba(S.GOAL_COLOR, 0.55)] if len(goals) > 1 else [])
    bar = go.Bar(
        name="goals",
        x=names,
        y=ys,
        text=text,
        textposition="outside" if ci is None else "inside",
        insidetextanchor="middle",
        cliponaxis=False,
        marker={"color": colors, "line": {"width": 0}},
        customdata=[[k, c, r] for k, c, r in zip(keys, counts, rates, strict=True)],
        hovertemplate="<b>%{x}</b><br>%{customdata[1]:,} of "
        + f"{_n(entered)}"
        + " enrollments converted (%{customdata[2]:.1%})<extra></extra>",
    )
    if ci is not None:
        bar.error_y = {
            "type": "data",
            "symmetric": False,
            "array": plus,
            "arrayminus": minus,
            "color": "#111827",
            "thickness": 1.5,
            "width": 6,
        }
    fig = go.Figure(bar)
    S.style(
        fig,
        title=title or "Conversion per goal",
        subtitle=f"{src.name} · {_n(entered)} enrollments",
        legend=None,
        height=height or 360,
    )
    top = max(ys + [1e-9]) * 1.25
    if value == "rate":
        fig.update_yaxes(title="conversion rate", tickformat=".0%", range=[0, max(top, 0.05)])
    else:
        fig.update_yaxes(title="users converted", range=[0, max(top, 1)])
    fig.update_xaxes(title=None)
    fig.update_layout(bargap={1: 0.7, 2: 0.5}.get(len(names), 0.3))
    return fig


_UNITS = {"min": 1.0, "h": 60.0, "days": 1440.0}


def _minutes(m: float) -> str:
    """A duration in minutes as words: ``6 min``, ``8.5 h``, ``2.1 days``."""
    if m < 120:
        return f"{m:,.0f} min"
    if m < 72 * 60:
        return f"{m / 60:,.1f} h"
    return f"{m / 1440:,.1f} days"


@fill_doc
def time_to_goal(
    data: SimulationResult | pd.DataFrame,
    *,
    journey: str | None = None,
    definition: Journey | JourneyDef | None = None,
    unit: str = "auto",
    nbins: int = 30,
    cumulative: bool = True,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Distribution of the time from entry to conversion, one histogram per goal (overlaid).

    Each goal's median is marked; with ``cumulative`` a step line on the right axis shows
    the share of conversions reached by each time. A histogram's ``x`` holds one value per
    conversion.

    Parameters
    ----------
    %(run)s
    unit : {"auto", "min", "h", "days"}, default "auto"
        The unit of time; ``"auto"`` picks one that fits the 90th percentile.
    nbins : int, default 30
        The most bins of each histogram.
    cumulative : bool, default True
        Add the cumulative share of conversions on a right axis.
    %(title_height)s

    %(figure_of_journey)s

    %(example)s
    >>> fig = charts.time_to_goal(result, cumulative=False)
    >>> fig.data[0].type, fig.data[0].name
    ('histogram', 'Purchase')
    """
    go = _go()
    src = source(data, journey=journey, definition=definition)
    tg = goal_times(src)
    if unit == "auto":
        top = float(tg["minutes"].quantile(0.9)) if len(tg) else 0.0
        unit = "min" if top <= 180 else ("h" if top <= 72 * 60 else "days")
    div = _UNITS[unit]
    fig = go.Figure()
    goals = list(dict.fromkeys([*src.goals, *tg["goal"]]))
    shapes, notes = [], []
    for i, g in enumerate(goals):
        vals = tg.loc[tg["goal"] == g, "minutes"].to_numpy() / div
        color = S.GOAL_COLOR if i == 0 else S.QUALITATIVE[i % len(S.QUALITATIVE)]
        fig.add_trace(
            go.Histogram(
                name=g,
                x=vals,
                nbinsx=nbins,
                marker={"color": S.rgba(color, 0.8), "line": {"color": "white", "width": 1}},
                hovertemplate=f"{_esc(g)}<br>%{{x}} {unit}: <b>%{{y}}</b> conversions<extra></extra>",
            )
        )
        if len(vals):
            med = float(np.median(vals))
            shapes.append(
                {
                    "type": "line",
                    "x0": med,
                    "x1": med,
                    "y0": 0,
                    "y1": 1,
                    "yref": "paper",
                    "line": {"color": "#111827" if i == 0 else color, "width": 1.5, "dash": "dash"},
                }
            )
            notes.append(
                {
                    "x": med,
                    "y": 1 - 0.07 * i,
                    "yref": "paper",
                    "yanchor": "top",
                    "showarrow": False,
                    "xanchor": "left",
                    "bgcolor": "rgba(255,255,255,0.8)",
                    "text": f" median {_minutes(med * div)}" + (f" ({_esc(g)})" if len(goals) > 1 else ""),
                    "font": {"size": 11, "color": "#374151"},
                }
            )
    if cumulative and len(tg):
        for i, g in enumerate(goals):
            vals = np.sort(tg.loc[tg["goal"] == g, "minutes"].to_numpy() / div)
            if not len(vals):
                continue
            share = np.arange(1, len(vals) + 1) / len(vals)
            fig.add_trace(
                go.Scatter(
                    name=f"{g}: share converted by then",
                    x=vals,
                    y=share,
                    yaxis="y2",
                    mode="lines",
                    line={
                        "shape": "hv",
                        "width": 2,
                        "color": "#111827" if i == 0 else S.QUALITATIVE[i % len(S.QUALITATIVE)],
                    },
                    hovertemplate=f"{_esc(g)}<br>%{{y:.0%}} of conversions within %{{x:,.1f}} {unit}<extra></extra>",
                )
            )
    fig.update_layout(barmode="overlay", shapes=shapes, annotations=notes)
    S.style(
        fig,
        title=title or "Time to goal",
        subtitle=f"{src.name} · {len(tg):,} conversions, time from entry",
        legend="right" if len(goals) > 1 else None,
        height=height or 360,
    )
    fig.update_xaxes(title=f"time from entry to goal ({unit})", rangemode="tozero")
    fig.update_yaxes(title="conversions")
    if cumulative and len(tg):
        fig.update_layout(
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "range": [0, 1.02],
                "tickformat": ".0%",
                "tickmode": "array",
                "tickvals": [0, 0.25, 0.5, 0.75, 1.0],
                "showgrid": False,
                "title": {"text": "cumulative share", "standoff": 6},
                "automargin": True,
                "zeroline": False,
            }
        )
    return fig


# ----------------------------------------------------------------------------- message load per user


@fill_doc
def message_load(
    data: SimulationResult | pd.DataFrame,
    *,
    timezone: str | None = None,
    top: int = 4,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """How many messages a user gets per account-local day, across every journey.

    For each day, the users who got 1, 2, … ``top`` or more messages (stacked bars, darker =
    more), the most any one user got that day (a line with markers on the right axis), and
    the sends an account frequency cap stopped that day (a dotted line, when there are any).
    The table behind it is ``result.message_load``.

    Parameters
    ----------
    data : SimulationResult or pandas.DataFrame
        A simulation result (every journey of the run), a trace, or a
        :func:`journeylab.stats.message_load` frame.
    %(timezone)s
    top : int, default 4
        The count from which users are counted together ("``top`` or more").
    %(title_height)s

    %(figure)s

    %(example)s
    >>> fig = charts.message_load(result)
    >>> fig.data[0].name, fig.data[-1].name
    ('users with 1 message that day', 'most messages to one user')
    """
    from journeylab import stats

    go = _go()
    if isinstance(data, pd.DataFrame) and "users" in data.columns and "day" in data.columns:
        load, tz = data, timezone or "UTC"
    else:
        if isinstance(data, pd.DataFrame):  # a trace
            t, tz = data, timezone or "UTC"
        else:
            t, tz = data.trace, timezone or data.journey.settings.timezone
        load = stats.message_load(t, timezone=tz, top=top)
    cols = [c for c in load.columns if c.startswith("users_")]
    fig = go.Figure()
    cols = [c for c in cols if c == "users_1" or load[c].any()]  # counts nobody reached are left out
    for i, c in enumerate(cols):
        k = c[len("users_") :]
        shade = 0.3 + 0.7 * (i / max(len(cols) - 1, 1))
        word = f"{k} message" + ("" if k == "1" else "s")
        fig.add_trace(
            go.Bar(
                name=f"users with {word} that day",
                x=load["day"],
                y=load[c].to_numpy(),
                marker={"color": S.rgba("#4f46e5", shade)},
                customdata=[k] * len(load),
                hovertemplate=f"%{{x|%a %d %b}}<br>users who got {word}: <b>%{{y:,}}</b><extra></extra>",
            )
        )
    if len(load):
        fig.add_trace(
            go.Scatter(
                name="most messages to one user",
                x=load["day"],
                y=load["max"].to_numpy(),
                yaxis="y2",
                mode="lines+markers",
                line={"color": "#dc2626", "width": 2},
                marker={"size": 6},
                hovertemplate="%{x|%a %d %b}<br>most messages to one user: <b>%{y}</b><extra></extra>",
            )
        )
        if "capped" in load.columns and load["capped"].any():
            fig.add_trace(
                go.Scatter(
                    name="sends stopped by an account cap",
                    x=load["day"],
                    y=load["capped"].to_numpy(),
                    mode="lines+markers",
                    line={"color": "#0f766e", "width": 2, "dash": "dot"},
                    marker={"size": 6, "symbol": "x"},
                    hovertemplate="%{x|%a %d %b}<br>sends stopped by an account cap: <b>%{y:,}</b><extra></extra>",
                )
            )
        fig.update_layout(
            yaxis2={
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
                "title": {"text": "max per user", "standoff": 6},
                "dtick": 1,
                "automargin": True,
            }
        )
    users = int(load["users"].sum()) if len(load) else 0
    sub = f"all journeys · {users:,} user-days with a message · stacked by how many each user got"
    S.style(fig, title=title or "Messages per user per day", subtitle=sub, legend="top", height=height or 420)
    fig.update_layout(barmode="stack", bargap=0.15, yaxis={"title": {"text": "users messaged"}})
    fig.update_xaxes(title=f"day ({tz})", tickformat="%d %b")
    return fig


def __getattr__(name: str) -> Any:  # the charts' old names, as deprecated aliases
    return old_name(__name__, name, globals())
