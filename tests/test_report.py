"""The HTML report and the notebook display: one self-contained file, every figure, the trace's numbers."""

from __future__ import annotations

import base64
import datetime as dt
import json
import re

import msgspec
import numpy as np
import pandas as pd
import pytest

from journeylab import examples, report
from journeylab.datasets import generate_cohort
from journeylab.model import DayRange, Dnd
from journeylab.sim import BehaviourModel, GoalLift, simulate

START, END = "2026-10-01T00:00Z", "2026-10-15T00:00Z"
BEHAVIOUR = BehaviourModel.default().with_channel("push", view=0.4, click=0.5, lift=GoalLift("Charged", 0.5))
BANNER = "* plotly.js v"  # the first line of the plotly.js bundle's licence comment


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(250, days=14, seed=2)


@pytest.fixture(scope="module")
def res(cohort):
    d = examples.reference_journey().definition
    d = msgspec.structs.replace(
        d,
        settings=msgspec.structs.replace(
            d.settings, dnd=Dnd(ranges=[DayRange(start=dt.time(21, 0), end=dt.time(9, 0))])
        ),
    )
    return simulate(d, cohort, START, END, seed=4, behaviour=BEHAVIOUR)


@pytest.fixture(scope="module")
def written(res, tmp_path_factory):
    p = tmp_path_factory.mktemp("report") / "sub" / "report.html"
    out = report.write_report(res, p)
    return out, out.read_text(encoding="utf-8")


def plain(x):
    """Figure JSON with plotly's typed arrays (``{"dtype": "f8", "bdata": ...}``) as lists."""
    if isinstance(x, dict):
        if "bdata" in x and "dtype" in x:
            a = np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
            return a.reshape([int(n) for n in str(x["shape"]).split(",")]).tolist() if "shape" in x else a.tolist()
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [plain(v) for v in x]
    return x


def figures(text: str) -> dict[str, dict]:
    """{div id: {data, layout, config}} of every figure in a page, in order."""
    ids = re.findall(r'<div id="([^"]+)" class="plotly-graph-div', text)
    specs = re.findall(r"var spec = (\{.*?\});\n", text)
    assert len(ids) == len(specs)
    return {i: plain(json.loads(s)) for i, s in zip(ids, specs, strict=True)}


def count(t, **eq) -> int:
    m = pd.Series(True, index=t.index)
    for k, v in eq.items():
        m &= t[k].astype(str) == v
    return int(m.sum())


def test_report_is_one_self_contained_file(written):
    path, text = written
    assert path.exists() and path.name == "report.html"
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert text.count(BANNER) == 1  # plotly.js inline, once
    assert len(text) > 3_000_000
    # nothing to fetch: no external script, stylesheet, font or image (links inside the plotly.js
    # bundle, such as its map tile servers, are strings in code that our figures never use)
    assert not re.search(r"<script[^>]+src=", text)
    start = text.index("(function (define, module, exports) {")
    text = text[:start] + text[text.index("}).call(window); }</script>", start) :]
    assert "<link" not in text and "@import" not in text and "@font-face" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text)


def test_report_has_a_div_per_figure(written, res):
    _, text = written
    figs = figures(text)
    j = res.journey.id
    assert list(figs) == [
        f"jl-graph-{j}",
        f"jl-funnel-{j}",
        f"jl-node-stats-{j}",
        f"jl-sankey-{j}",
        f"jl-waiting-{j}",
        f"jl-goals-{j}",
        f"jl-time-to-goal-{j}",
        "jl-messages",
    ]
    for spec in figs.values():
        assert spec["data"] and spec["config"]["displaylogo"] is False


def test_report_figures_hold_the_trace_numbers(written, res):
    _, text = written
    figs = figures(text)
    t = res.trace
    j = res.journey.id
    on, left = figs[f"jl-funnel-{j}"]["data"][0], figs[f"jl-funnel-{j}"]["data"][1]
    assert on["x"][0] + left["x"][0] == count(t, event="entered", detail="entry")
    i = on["y"].index("push")
    assert on["x"][i] + left["x"][i] == count(t, node="no_purchase", event="left", port="yes")
    sk = figs[f"jl-sankey-{j}"]["data"][0]["link"]
    flows = {(c[1], c[2]): v for c, v in zip(sk["customdata"], sk["value"], strict=True) if c[0] == "connector"}
    assert flows[("push", "next")] == count(t, node="push", event="left", port="next")
    graph = figs[f"jl-graph-{j}"]["data"][0]
    assert graph["customdata"][: len(res.journey.nodes)] == [n.id for n in res.journey.nodes]
    msgs = figs["jl-messages"]["data"]
    assert sum(sum(tr["y"]) for tr in msgs if tr.get("xaxis", "x") == "x") == count(t, event="sent")


def test_report_header_and_summary(written, res):
    _, text = written
    s = res.summary().iloc[0]
    assert "<title>Reference journey: simulation report</title>" in text
    for bit in ("Cohort", "cohort · 250 users", "2026-10-01 00:00 → 2026-10-15 00:00 UTC", "Seed", ">4<"):
        assert bit in text, bit
    table = text[text.index('<table class="jl-table">') :]
    table = table[: table.index("</table>")]
    assert f'<td class="num">{int(s["entered"]):,}</td>' in table
    assert f"{s['conversion_rate']:.1%}" in table


def test_report_with_experiments(res, cohort, tmp_path):
    from journeylab.sim.experiments import compare, replicate, sweep

    j = res.journey
    ci = replicate(j, cohort, START, END, n=2, behaviour=BEHAVIOUR)
    sw = sweep(
        j,
        cohort,
        START,
        END,
        node="launched",
        field="window",
        values=[dt.timedelta(hours=1), dt.timedelta(hours=24)],
        replications=2,
        behaviour=BEHAVIOUR,
    )
    b = msgspec.structs.replace(
        j, nodes=[msgspec.structs.replace(n, duration=dt.timedelta(hours=4)) if n.id == "wait" else n for n in j.nodes]
    )
    cmp = compare(j, b, cohort, START, END, replications=2, behaviour=BEHAVIOUR)
    text = report.write_report(res, tmp_path / "r.html", title="Experiments", ci=ci, sweep=sw, compare=cmp).read_text()
    figs = figures(text)
    assert "jl-sweep" in figs and "jl-compare" in figs
    assert "error_x" in figs[f"jl-funnel-{j.id}"]["data"][1]
    assert "Monte Carlo replications" in text and "<title>Experiments</title>" in text
    assert text.count(BANNER) == 1


def test_to_html_writes_the_report(res, tmp_path):
    p = res.to_html(tmp_path / "via_result.html")
    text = p.read_text()
    assert text.count(BANNER) == 1 and len(figures(text)) == 8


def test_report_of_several_journeys_and_of_an_empty_run(cohort, tmp_path):
    r = simulate(list(examples.journey_trigger_pair()), cohort, START, END, seed=1)
    text = report.write_report(r, tmp_path / "pair.html").read_text()
    figs = figures(text)
    for jid in ("journey-1", "journey-2"):
        assert f"jl-funnel-{jid}" in figs and f"jl-graph-{jid}" in figs
    assert text.count('<h2 class="jl-journey">') == 2
    empty = simulate(examples.cart_abandonment(), cohort, "2026-12-01T00:00Z", "2026-12-02T00:00Z")
    text = report.write_report(empty, tmp_path / "empty.html").read_text()
    assert "No user entered this journey" in text and list(figures(text)) == ["jl-graph-cart-abandonment"]


def test_cli_simulate_writes_the_report(cohort, tmp_path):
    cli = pytest.importorskip("journeylab.cli")
    profiles, events = cohort
    profiles.to_parquet(tmp_path / "profiles.parquet")
    events.to_parquet(tmp_path / "events.parquet")
    src = tmp_path / "cart.json"
    examples.write_all(tmp_path)
    src = tmp_path / "cart_abandonment.json"
    out = tmp_path / "out" / "report.html"
    rc = cli.main(
        [
            "simulate",
            str(src),
            "--profiles",
            str(tmp_path / "profiles.parquet"),
            "--events",
            str(tmp_path / "events.parquet"),
            "--start",
            START,
            "--end",
            END,
            "--report",
            str(out),
        ]
    )
    assert rc == 0
    text = out.read_text()
    assert text.count(BANNER) == 1 and "jl-funnel-cart-abandonment" in figures(text)


# ----------------------------------------------------------------------------- notebook display


def test_result_html_is_compact_with_the_key_figures(res):
    out = report.result_html(res, include_plotlyjs=False)
    assert BANNER not in out and len(out) < 200_000
    figs = figures(out)
    assert len(figs) == 2
    fun, ns = figs.values()
    assert fun["data"][0]["x"][0] == count(res.trace, event="entered", detail="entry")
    by = {tr["name"]: tr for tr in ns["data"]}
    assert by["entered"]["x"] == res.node_stats["entered"].tolist()
    assert "<svg" in out and "Journey graph with counts" in out  # shows where scripts do not run
    assert '<table class="jl-table">' in out and res.journey.name in out
    # each figure waits for plotly.js, so the order of outputs in a notebook does not matter
    assert out.count("if (!window.Plotly)") == 2


def test_result_html_embeds_plotlyjs_once_per_session(res, monkeypatch):
    monkeypatch.setattr(report, "_embedded", False)
    first = report.result_html(res)
    second = report.result_html(res)
    assert first.count(BANNER) == 1 and BANNER not in second
    assert report.result_html(res, include_plotlyjs=True).count(BANNER) == 1
    # plotly.js does not trip over an AMD loader (require.js in classic notebooks and nbconvert pages)
    assert "(function (define, module, exports) {" in first
    # div ids differ between outputs
    assert not set(figures(first)) & set(figures(second))


def test_repr_html_uses_result_html(res, monkeypatch):
    monkeypatch.setattr(report, "_embedded", True)
    out = res._repr_html_()
    assert out.startswith("<style>") and len(figures(out)) == 2
