"""Figures of experiments: a statistic against a swept setting, variants compared, Split
branches against their control (uplift).

They take the tidy frames of :mod:`journeylab.sim.experiments` — one row per statistic with
``scope`` (``journey`` or ``node``), ``node`` (empty for journey scope), ``stat``, ``mean``,
``ci_low``, ``ci_high``, ``n``; a sweep adds the swept ``value``; a comparison has
``mean_<A>``, ``mean_<B>``, ``diff``, ``diff_ci_low``, ``diff_ci_high`` — and return a
``plotly.graph_objects.Figure``.

>>> import pandas as pd
>>> df = pd.DataFrame({"value": ["1 h", "6 h", "24 h"], "scope": "journey", "node": "", "stat": "conversion_rate",
...                    "mean": [0.1, 0.2, 0.25], "ci_low": [0.08, 0.17, 0.2], "ci_high": [0.12, 0.23, 0.3], "n": 5})
>>> fig = sweep(df, "conversion_rate")
>>> [tr.name for tr in fig.data], list(map(float, fig.data[-1].y))
(['conversion rate: CI', 'conversion rate: CI', 'conversion rate'], [0.1, 0.2, 0.25])
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from journeylab.charts import _style as S
from journeylab.charts._api import fill_doc, old_name

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

__all__ = ["sweep", "compare", "uplift", "pareto", "stat_key"]


def stat_key(item: Any) -> tuple[str, str, str]:
    """``(scope, node, stat)`` from ``"conversion_rate"`` (journey scope), ``"push.sent"``
    or ``("push", "sent")`` (node scope).

    >>> stat_key("conversions"), stat_key("push.sent"), stat_key(("wait", "left_next"))
    (('journey', '', 'conversions'), ('node', 'push', 'sent'), ('node', 'wait', 'left_next'))
    """
    if isinstance(item, tuple | list):
        node, stat = item
        return ("node", str(node), str(stat))
    s = str(item)
    if "." in s:
        node, stat = s.rsplit(".", 1)
        return ("node", node, stat)
    return ("journey", "", s)


def _label(key: tuple[str, str, str]) -> str:
    scope, node, stat = key
    return f"{node}: {S.pretty(stat)}" if scope == "node" else S.pretty(stat)


def _select(df: pd.DataFrame, key: tuple[str, str, str]) -> pd.DataFrame:
    scope, node, stat = key
    m = df["stat"].astype(str) == stat
    if "scope" in df.columns:
        m &= df["scope"].astype(str) == scope
    if "node" in df.columns:
        m &= df["node"].fillna("").astype(str) == node
    return df[m]


def _is_rate(stat: str) -> bool:
    return stat.endswith("rate")


@fill_doc
def sweep(
    data: pd.DataFrame,
    stats: Any = "conversion_rate",
    *,
    x: str = "value",
    x_title: str | None = None,
    journey: str | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """A statistic (or several) against the swept value: the mean and its confidence band.

    The mean is a line with markers, its confidence interval a band. The x order is the
    order of the values in ``data`` (the sweep's), numbers or labels such as ``"6 h"``.

    Parameters
    ----------
    data : pandas.DataFrame
        The frame of :func:`journeylab.sim.experiments.sweep`: the swept ``value``, then
        ``scope``, ``node``, ``stat``, ``mean``, ``ci_low``, ``ci_high``, ``n``.
    stats : str, tuple or list of them, default "conversion_rate"
        The statistics to draw: ``"conversion_rate"``, ``"conversions"`` (journey scope),
        ``"push.sent"`` or ``("push", "sent")`` (a node's); a list draws one line each.
    x : str, default "value"
        The column of the swept value.
    x_title : str or None, default None
        The x axis title; default "swept value" (or the column's name).
    journey : str or None, default None
        Keep the rows of this journey (and the journey-less ones); default every row.
    %(title_height)s

    %(figure)s

    Raises
    ------
    KeyError
        When ``data`` has no rows for one of the statistics.

    Examples
    --------
    >>> import pandas as pd
    >>> from journeylab import charts
    >>> df = pd.DataFrame({"value": ["1 h", "6 h", "24 h"], "scope": "journey", "node": "",
    ...                    "stat": "conversion_rate", "mean": [0.1, 0.2, 0.25],
    ...                    "ci_low": [0.08, 0.17, 0.2], "ci_high": [0.12, 0.23, 0.3], "n": 5})
    >>> fig = charts.sweep(df, "conversion_rate")
    >>> [trace.name for trace in fig.data], [float(v) for v in fig.data[-1].y]
    (['conversion rate: CI', 'conversion rate: CI', 'conversion rate'], [0.1, 0.2, 0.25])
    """
    import plotly.graph_objects as go

    stats_ = list(stats) if isinstance(stats, list) else [stats]
    df = data
    if journey is not None and "journey" in df.columns:
        df = df[df["journey"].astype(str).isin([journey, ""])]
    fig = go.Figure()
    for i, item in enumerate(stats_):
        key = stat_key(item)
        part = _select(df, key)
        if part.empty:
            raise KeyError(f"no rows for statistic {item!r} in the sweep frame")
        part = part.drop_duplicates(subset=[x], keep="first")
        xs = part[x].tolist()
        xs_axis = [str(v) for v in xs] if any(isinstance(v, str) for v in xs) else xs
        color = S.QUALITATIVE[i % len(S.QUALITATIVE)]
        name = _label(key)
        fmt = ".1%" if _is_rate(key[2]) else ",.1f"
        fig.add_trace(
            go.Scatter(
                name=f"{name}: CI",
                x=xs_axis,
                y=part["ci_high"].to_numpy(dtype=float),
                mode="lines",
                line={"width": 0, "color": color},
                showlegend=False,
                legendgroup=name,
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                name=f"{name}: CI",
                x=xs_axis,
                y=part["ci_low"].to_numpy(dtype=float),
                mode="lines",
                line={"width": 0, "color": color},
                fill="tonexty",
                fillcolor=S.rgba(color, 0.18),
                showlegend=False,
                legendgroup=name,
                hoverinfo="skip",
            )
        )
        n = part["n"].to_numpy() if "n" in part.columns else [0] * len(part)
        fig.add_trace(
            go.Scatter(
                name=name,
                x=xs_axis,
                y=part["mean"].to_numpy(dtype=float),
                mode="lines+markers",
                legendgroup=name,
                line={"color": color, "width": 2.5},
                marker={"size": 8, "color": color, "line": {"color": "white", "width": 1}},
                customdata=list(zip(part["ci_low"], part["ci_high"], n, strict=True)),
                hovertemplate=(
                    f"{html.escape(name)} at %{{x}}<br>mean <b>%{{y:{fmt}}}</b>"
                    f"<br>CI %{{customdata[0]:{fmt}}} – %{{customdata[1]:{fmt}}} (%{{customdata[2]}} runs)<extra></extra>"
                ),
            )
        )
    keys = [stat_key(s) for s in stats_]
    runs = int(df["n"].max()) if "n" in df.columns and len(df) else 0
    S.style(
        fig,
        title=title or "Sweep",
        subtitle=f"mean over {runs} runs per value, band: confidence interval",
        legend="right" if len(stats_) > 1 else None,
        height=height or 380,
    )
    fig.update_xaxes(
        title=x_title or ("swept value" if x == "value" else x),
        type="category" if any(isinstance(v, str) for v in df[x]) else None,
    )
    fig.update_yaxes(
        title=_label(keys[0]) if len(keys) == 1 else "value",
        tickformat=".0%" if all(_is_rate(k[2]) for k in keys) else None,
        rangemode="tozero",
    )
    fig.update_layout(hovermode="closest")
    return fig


def _default_compare_stats(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    out = [("journey", "", "entered"), ("journey", "", "conversions")]
    js = df[df["scope"].astype(str) == "journey"] if "scope" in df.columns else df
    out += [("journey", "", s) for s in dict.fromkeys(js["stat"].astype(str)) if s.startswith("conversions_")]
    if "scope" in df.columns:
        sent = df[(df["scope"].astype(str) == "node") & (df["stat"].astype(str) == "sent")]
        means = sent[[c for c in sent.columns if c == "mean" or c.startswith("mean_")]].abs().sum(axis=1)
        for node in dict.fromkeys(sent.loc[means > 0, "node"].astype(str)):
            out.append(("node", node, "sent"))
    present = {
        (str(a), str(b), str(c))
        for a, b, c in zip(df.get("scope", "journey"), df.get("node", ""), df["stat"], strict=False)
    }
    keys = [k for k in out if k in present]
    if len([k for k in keys if k[2].startswith("conversions_")]) == 1:  # one goal: its count is "conversions"
        keys = [k for k in keys if not k[2].startswith("conversions_")]
    return keys


@fill_doc
def compare(
    data: pd.DataFrame | Mapping[str, pd.DataFrame],
    stats: Sequence[Any] | None = None,
    *,
    names: Sequence[str] | None = None,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Two (or more) variants side by side, one group of bars per statistic.

    From the frame of :func:`journeylab.sim.experiments.compare`: the means side by side
    and, in a second panel, the paired difference B − A with its confidence interval. From
    replicate frames per variant: each variant's mean with its own confidence interval as
    error bars.

    Parameters
    ----------
    data : pandas.DataFrame or mapping of str to pandas.DataFrame
        A comparison frame (``mean_<A>``, ``mean_<B>``, ``diff``, ``diff_ci_low``,
        ``diff_ci_high``), or replicate frames per variant: a mapping ``{name: frame}`` or
        one frame with a ``variant`` column.
    stats : sequence of str or tuple, or None, default None
        The statistics, written as for :func:`sweep`; default entries, conversions (per goal
        when there are several) and each engagement node's sends.
    names : sequence of str or None, default None
        The variants to draw, in order; default every variant of ``data``.
    %(title_height)s

    %(figure)s

    Examples
    --------
    >>> import pandas as pd
    >>> from journeylab import charts
    >>> row = {"scope": "journey", "node": "", "stat": "conversions", "n": 5}
    >>> a = pd.DataFrame([{**row, "mean": 10.0, "ci_low": 8.0, "ci_high": 12.0}])
    >>> b = pd.DataFrame([{**row, "mean": 14.0, "ci_low": 11.0, "ci_high": 17.0}])
    >>> fig = charts.compare({"A": a, "B": b}, ["conversions"])
    >>> [(trace.name, list(trace.y)) for trace in fig.data]
    [('A', [10.0]), ('B', [14.0])]
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = (
        pd.concat([f.assign(variant=k) for k, f in data.items()], ignore_index=True)
        if isinstance(data, Mapping)
        else data
    )
    keys = [stat_key(s) for s in stats] if stats is not None else _default_compare_stats(df)
    labels = [_label(k) for k in keys]
    if "variant" in df.columns:
        variants = list(names) if names else list(dict.fromkeys(df["variant"].astype(str)))
        fig = go.Figure()
        for i, v in enumerate(variants):
            sub = df[df["variant"].astype(str) == v]
            means, plus, minus, n = [], [], [], []
            for k in keys:
                r = _select(sub, k)
                if r.empty:
                    means.append(0.0)
                    plus.append(0.0)
                    minus.append(0.0)
                    n.append(0)
                    continue
                row = r.iloc[0]
                means.append(float(row["mean"]))
                plus.append(max(float(row["ci_high"]) - float(row["mean"]), 0.0))
                minus.append(max(float(row["mean"]) - float(row["ci_low"]), 0.0))
                n.append(int(row.get("n", 0)))
            color = S.QUALITATIVE[i % len(S.QUALITATIVE)]
            fig.add_trace(
                go.Bar(
                    name=v,
                    x=labels,
                    y=means,
                    marker={"color": color, "line": {"width": 0}},
                    offsetgroup=v,
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": plus,
                        "arrayminus": minus,
                        "color": "#111827",
                        "thickness": 1.3,
                        "width": 4,
                    },
                    customdata=[[k[0], k[1], k[2], c] for k, c in zip(keys, n, strict=True)],
                    hovertemplate=f"<b>{html.escape(v)}</b> · %{{x}}<br>mean <b>%{{y:,.2f}}</b> (%{{customdata[3]}} runs)<extra></extra>",
                )
            )
        S.style(
            fig,
            title=title or "Variants compared",
            subtitle="mean per variant, error bars: confidence interval",
            legend="right",
            height=height or 400,
        )
        fig.update_layout(barmode="group", bargap=0.3, bargroupgap=0.08)
        fig.update_yaxes(title="mean over runs", rangemode="tozero")
        return fig
    mean_cols = [c for c in df.columns if c.startswith("mean_")]
    if len(mean_cols) < 2:
        raise ValueError("expected a compare() frame (mean_<A>, mean_<B>, diff...) or replicate frames per variant")
    variants = list(names) if names else [c[5:] for c in mean_cols[:2]]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        column_widths=[0.55, 0.45],
        horizontal_spacing=0.05,
        subplot_titles=("Mean per variant", f"Difference {variants[1]} − {variants[0]} (paired)"),
    )
    rows = [(_select(df, k).iloc[0] if not _select(df, k).empty else None) for k in keys]
    for i, (col, v) in enumerate(zip(mean_cols[:2], variants, strict=True)):
        xs = [float(r[col]) if r is not None else 0.0 for r in rows]
        fig.add_trace(
            go.Bar(
                name=v,
                y=labels,
                x=xs,
                orientation="h",
                marker={"color": S.QUALITATIVE[i], "line": {"width": 0}},
                offsetgroup=v,
                customdata=[list(k) for k in keys],
                text=[f"{x:,.4g}" for x in xs],
                textposition="outside",
                cliponaxis=False,
                textfont={"size": 11},
                hovertemplate=f"<b>{html.escape(v)}</b> · %{{y}}<br>mean <b>%{{x:,.2f}}</b><extra></extra>",
            ),
            row=1,
            col=1,
        )
    d = [float(r["diff"]) if r is not None else 0.0 for r in rows]
    lo = [float(r["diff_ci_low"]) if r is not None else 0.0 for r in rows]
    hi = [float(r["diff_ci_high"]) if r is not None else 0.0 for r in rows]
    colors = ["#15803d" if a > 0 else ("#b91c1c" if b < 0 else "#6b7280") for a, b in zip(lo, hi, strict=True)]
    fig.add_trace(
        go.Scatter(
            name=f"{variants[1]} − {variants[0]}",
            y=labels,
            x=d,
            mode="markers",
            marker={"size": 11, "color": colors, "symbol": "diamond", "line": {"color": "white", "width": 1}},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [h - m for h, m in zip(hi, d, strict=True)],
                "arrayminus": [m - low for m, low in zip(d, lo, strict=True)],
                "color": "#374151",
                "thickness": 1.5,
                "width": 5,
            },
            customdata=list(zip(lo, hi, strict=True)),
            showlegend=False,
            hovertemplate="%{y}<br>difference <b>%{x:+,.2f}</b><br>CI %{customdata[0]:+,.2f} – %{customdata[1]:+,.2f}<extra></extra>",
        ),
        row=1,
        col=2,
    )
    fig.add_vline(x=0, line={"color": "#9ca3af", "width": 1}, row=1, col=2)
    runs = int(df["n"].max()) if "n" in df.columns and len(df) else 0
    S.style(
        fig,
        title=title or "Variants compared",
        subtitle=f"same seeds for both variants, {runs} runs · green: {variants[1]} higher, red: lower (CI excludes 0)",
        legend="right",
        subplot_titles=True,
        height=height or max(360, 150 + 56 * len(keys)),
    )
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    top = max([float(r[c]) for r in rows if r is not None for c in mean_cols[:2]] + [1.0])
    fig.update_xaxes(title_text="mean over runs", row=1, col=1, range=[0, top * 1.18])
    fig.update_yaxes(autorange="reversed")
    span = max([abs(x) for x in lo + hi] + [1e-9]) * 1.25
    fig.update_xaxes(title_text="difference", row=1, col=2, zeroline=True, range=[-span, span])
    fig.update_annotations(font={"size": 13, "color": "#374151"}, xanchor="left")
    for a, dom in zip(fig.layout.annotations, (fig.layout.xaxis.domain, fig.layout.xaxis2.domain), strict=False):
        a.x = dom[0]
    return fig


@fill_doc
def uplift(
    data: pd.DataFrame,
    stats: Sequence[str] | None = None,
    *,
    relative: bool = False,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """Each Split branch against its control: the uplift with its confidence interval.

    One panel per statistic, one row per branch, a diamond at the mean difference and its
    interval; green where the interval lies above zero, red below, grey across it.

    Parameters
    ----------
    data : pandas.DataFrame
        The frame of :func:`journeylab.sim.experiments.uplift`.
    stats : sequence of str or None, default None
        The statistics to draw, one panel each; default every statistic in ``data``.
    relative : bool, default False
        Draw the relative uplift (in percent) instead of the difference.
    %(title_height)s

    %(figure)s

    Raises
    ------
    ValueError
        When ``data`` is empty (no branch beside a control).

    Examples
    --------
    >>> import pandas as pd
    >>> from journeylab import charts
    >>> u = pd.DataFrame({"journey": "j", "split": "s", "branch": ["A", "B"], "control": "hold",
    ...     "stat": "conversion_rate", "mean_branch": [0.3, 0.22], "mean_control": 0.2, "diff": [0.1, 0.02],
    ...     "diff_ci_low": [0.05, -0.01], "diff_ci_high": [0.15, 0.05], "relative": [0.5, 0.1],
    ...     "relative_ci_low": [0.25, -0.05], "relative_ci_high": [0.75, 0.25], "n": 10})
    >>> fig = charts.uplift(u)
    >>> list(fig.data[0].y), list(fig.data[0].marker.color)
    (['s: A', 's: B'], ['#15803d', '#6b7280'])
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    df = data
    if df.empty:
        raise ValueError("no uplift to show: the frame is empty (no branch beside a control?)")
    names = list(stats) if stats is not None else list(dict.fromkeys(df["stat"].astype(str)))
    col, lo_c, hi_c = (
        ("relative", "relative_ci_low", "relative_ci_high") if relative else ("diff", "diff_ci_low", "diff_ci_high")
    )
    fig = make_subplots(
        rows=1, cols=len(names), shared_yaxes=True, horizontal_spacing=0.06, subplot_titles=[S.pretty(n) for n in names]
    )
    for i, stat in enumerate(names, start=1):
        sub = df[df["stat"].astype(str) == stat]
        k = 100.0 if relative or _is_rate(stat) else 1.0
        labels = [f"{a}: {b}" for a, b in zip(sub["split"], sub["branch"], strict=True)]
        d = (sub[col].astype(float) * k).tolist()
        lo = (sub[lo_c].astype(float) * k).tolist()
        hi = (sub[hi_c].astype(float) * k).tolist()
        colors = ["#15803d" if a > 0 else ("#b91c1c" if b < 0 else "#6b7280") for a, b in zip(lo, hi, strict=True)]
        unit = "%" if relative else (" pp" if k == 100.0 else "")
        fig.add_trace(
            go.Scatter(
                y=labels,
                x=d,
                mode="markers",
                showlegend=False,
                marker={"size": 12, "color": colors, "symbol": "diamond", "line": {"color": "white", "width": 1}},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": [h - m for h, m in zip(hi, d, strict=True)],
                    "arrayminus": [m - low for m, low in zip(d, lo, strict=True)],
                    "color": "#374151",
                    "thickness": 1.5,
                    "width": 5,
                },
                customdata=[[a, b, c] for a, b, c in zip(lo, hi, sub["control"].astype(str), strict=True)],
                hovertemplate=f"%{{y}} vs %{{customdata[2]}}<br>uplift <b>%{{x:+,.2f}}{unit}</b><br>"
                f"CI %{{customdata[0]:+,.2f}} – %{{customdata[1]:+,.2f}}<extra></extra>",
            ),
            row=1,
            col=i,
        )
        fig.add_vline(x=0, line={"color": "#9ca3af", "width": 1}, row=1, col=i)
        fig.update_xaxes(title_text=("relative uplift, %" if relative else f"difference{unit}"), row=1, col=i)
    runs = int(df["n"].max()) if "n" in df.columns and len(df) else 0
    S.style(
        fig,
        title=title or "Uplift against control",
        subtitle=f"each branch minus its control, same seeds, {runs} runs · green: better than control "
        f"(CI above 0), red: worse",
        legend="right",
        subplot_titles=True,
        height=height or max(320, 160 + 48 * df["branch"].nunique()),
    )
    fig.update_yaxes(autorange="reversed")
    return fig


@fill_doc
def _pareto_axes(data: Any, x: str | None, y: str | None) -> tuple[pd.DataFrame, str, str]:
    """The trials frame and the two figures of :func:`pareto`, defaults filled in."""
    if isinstance(data, pd.DataFrame):
        trials = data
        figures = [c[: -len("_ci_low")] for c in trials.columns if c.endswith("_ci_low")]
    else:  # an OptimizationResult: its objectives, then the search targets
        trials = data.trials
        figures = [o.name for o in data.objectives] + list(data.space)
    y = y or next((f for f in figures if f != x), None)
    x = x or next((f for f in figures if f != y), None)
    if x is None or y is None:
        raise ValueError(f"name the figures to draw: x= and y= (the trials have {list(trials.columns)})")
    return trials, x, y


@fill_doc
def pareto(
    data: Any,
    x: str | None = None,
    y: str | None = None,
    *,
    title: str | None = None,
    height: int | None = None,
) -> go.Figure:
    """The optimiser's candidates on two figures, the Pareto frontier drawn through the best.

    Feasible candidates are blue, the frontier is joined by a line, refused or infeasible
    ones are grey; hovering shows the candidate's settings. Error bars show the figures'
    confidence intervals when ``data`` has them.

    Parameters
    ----------
    data : OptimizationResult or pandas.DataFrame
        What :func:`journeylab.sim.optimize.optimize` returned, or its ``trials``: per
        candidate the figures ``<name>`` with ``<name>_ci_low`` / ``<name>_ci_high``,
        ``feasible`` and ``pareto``.
    x : str or None, default None
        The figure across; default the second objective (of a result), or the second
        figure with an interval (of a frame).
    y : str or None, default None
        The figure up; default the first objective, or the first figure with an interval.
    %(title_height)s

    %(figure)s

    Raises
    ------
    ValueError
        When ``data`` has no figure ``x`` or ``y``, or there are not two figures to default to.

    Examples
    --------
    >>> import pandas as pd
    >>> from journeylab import charts
    >>> t = pd.DataFrame({"trial": [0, 1, 2], "wait": ["1 h", "2 h", "4 h"], "conversions": [5.0, 7.0, 6.0],
    ...                   "messages": [1.0, 2.0, 3.0], "feasible": True, "pareto": [True, True, False], "error": ""})
    >>> fig = charts.pareto(t, x="messages", y="conversions")
    >>> [trace.name for trace in fig.data], list(fig.data[0].y)
    (['Pareto frontier', 'feasible', 'infeasible'], [5.0, 7.0])
    """
    import plotly.graph_objects as go

    trials, x, y = _pareto_axes(data, x, y)
    for c in (x, y):
        if c not in trials.columns:
            raise ValueError(
                f"the trials have no figure {c!r}; they have {[k for k in trials.columns if k != 'error']}"
            )
    skip = {"trial", "feasible", "pareto", "error"}
    params = [
        c
        for c in trials.columns
        if c not in skip and not c.endswith(("_ci_low", "_ci_high")) and trials[c].dtype == object
    ]
    t = trials[trials.get("error", pd.Series("", index=trials.index)).fillna("") == ""]

    def text(df: pd.DataFrame) -> list[str]:
        return [
            "<br>".join(f"{html.escape(p)}: {html.escape(str(r[p]))}" for p in params) + f"<br>trial {int(r['trial'])}"
            for _, r in df.iterrows()
        ]

    def bars(df: pd.DataFrame, c: str) -> dict[str, Any] | None:
        if f"{c}_ci_low" not in df.columns:
            return None
        return {
            "type": "data",
            "symmetric": False,
            "array": (df[f"{c}_ci_high"] - df[c]).clip(lower=0).tolist(),
            "arrayminus": (df[c] - df[f"{c}_ci_low"]).clip(lower=0).tolist(),
            "color": "#9ca3af",
            "thickness": 1,
        }

    front = t[t["pareto"]].sort_values(x, kind="stable")
    feas = t[t["feasible"] & ~t["pareto"]]
    bad = t[~t["feasible"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            name="Pareto frontier",
            x=front[x].tolist(),
            y=front[y].tolist(),
            mode="lines+markers",
            line={"color": S.QUALITATIVE[1], "width": 2, "shape": "hv"},
            marker={"size": 11, "color": S.QUALITATIVE[1], "symbol": "diamond"},
            error_x=bars(front, x),
            error_y=bars(front, y),
            text=text(front),
            hovertemplate="%{text}<br>%{x:,.4g}, %{y:,.4g}<extra>frontier</extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="feasible",
            x=feas[x].tolist(),
            y=feas[y].tolist(),
            mode="markers",
            marker={"size": 8, "color": S.QUALITATIVE[0], "opacity": 0.75},
            text=text(feas),
            hovertemplate="%{text}<br>%{x:,.4g}, %{y:,.4g}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            name="infeasible",
            x=bad[x].tolist(),
            y=bad[y].tolist(),
            mode="markers",
            marker={"size": 8, "color": "#d1d5db", "symbol": "x"},
            text=text(bad),
            hovertemplate="%{text}<br>%{x:,.4g}, %{y:,.4g}<extra>violates a constraint</extra>",
        )
    )
    S.style(
        fig,
        title=title or "Optimiser: candidates and the Pareto frontier",
        subtitle=f"{len(t)} candidates · error bars: confidence intervals over the replications",
        legend="right",
        height=height or 420,
    )
    fig.update_xaxes(title=S.pretty(x))
    fig.update_yaxes(title=S.pretty(y))
    return fig


def __getattr__(name: str) -> Any:  # the charts' old names, as deprecated aliases
    return old_name(__name__, name, globals())
