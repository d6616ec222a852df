"""The HTML report in a real browser with the network cut: every chart draws.

Headless Debian Chromium (/usr/bin/chromium, never downloaded) through Playwright; every
request that is not ``file://`` is aborted and recorded. The full-page screenshot of the
report is kept at /tmp/journeylab_report.png for a person to look at.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest
from settle import wait_until_settled

pytestmark = pytest.mark.browser

SCREENSHOT = Path("/tmp/journeylab_report.png")
START, END = "2026-10-01T00:00Z", "2026-10-15T00:00Z"
ALL_DRAWN = """() => {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return divs.length > 0 && divs.every(d => d.querySelector('.main-svg'));
}"""


class Offline:
    """A page that may load file:// URLs only; what else it asked for, and its errors."""

    def __init__(self, browser: object, width: int = 1400) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def _route(self, route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith("file://"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            self.blocked.append(url)
            route.abort()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.context.close()


def figure_report(tmp: Path) -> tuple[Path, object]:
    from journeylab import examples
    from journeylab.datasets import generate_cohort
    from journeylab.model import DayRange, Dnd
    from journeylab.report import write_report
    from journeylab.sim import BehaviourModel, GoalLift, simulate
    from journeylab.sim.experiments import compare, replicate, sweep

    cohort = generate_cohort(300, days=14, seed=1)
    beh = BehaviourModel.default().with_channel("push", view=0.4, click=0.5, lift=GoalLift("Charged", 0.5))
    d = examples.reference_journey().definition
    d = msgspec.structs.replace(
        d,
        settings=msgspec.structs.replace(
            d.settings, dnd=Dnd(ranges=[DayRange(start=dt.time(21, 0), end=dt.time(9, 0))])
        ),
    )
    res = simulate(d, cohort, START, END, seed=3, behaviour=beh)
    ci = replicate(d, cohort, START, END, n=3, behaviour=beh)
    sw = sweep(
        d,
        cohort,
        START,
        END,
        node="launched",
        field="window",
        values=[dt.timedelta(hours=h) for h in (1, 6, 24, 48)],
        replications=2,
        behaviour=beh,
    )
    b = msgspec.structs.replace(
        d, nodes=[msgspec.structs.replace(n, duration=dt.timedelta(hours=4)) if n.id == "wait" else n for n in d.nodes]
    )
    cmp = compare(d, b, cohort, START, END, replications=2, behaviour=beh, names=("1 day", "4 hours"))
    return write_report(res, tmp / "report.html", ci=ci, sweep=sw, compare=cmp), res


def test_report_draws_every_chart_offline(chromium: object, tmp_path: Path) -> None:
    path, _res = figure_report(tmp_path)
    view = Offline(chromium)
    try:
        page = view.page
        page.goto(path.as_uri())
        page.wait_for_function(ALL_DRAWN, timeout=30_000)
        wait_until_settled(page)
        drawn = page.evaluate("""() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => ({
            id: d.id, svg: d.querySelectorAll('.main-svg').length, paths: d.querySelectorAll('path').length,
            width: d.getBoundingClientRect().width, height: d.getBoundingClientRect().height,
            nojs: d.querySelectorAll('.jl-nojs').length}))""")
        ids = [d["id"] for d in drawn]
        for name in ("graph", "funnel", "node-stats", "sankey", "waiting", "goals", "time-to-goal"):
            assert f"jl-{name}-reference" in ids, name
        assert {"jl-messages", "jl-sweep", "jl-compare"} <= set(ids)
        for d in drawn:
            assert d["svg"] >= 1 and d["paths"] >= 5, d  # drawn: SVG with marks in it
            assert d["width"] > 300 and d["height"] > 200, d
            assert d["nojs"] == 0, d  # the "needs JavaScript" note was replaced by the chart
        # the figures carry their data: bars, links, points
        counts = page.evaluate("""() => ({
            bars: document.querySelectorAll('#jl-funnel-reference .bars .point').length,
            steps: document.getElementById('jl-funnel-reference').data[0].y.length,
            links: document.querySelectorAll('#jl-sankey-reference .sankey-link').length,
            nodes: document.querySelectorAll('#jl-sankey-reference .sankey-node').length,
            sweep: document.querySelectorAll('#jl-sweep .scatterlayer .point').length})""")
        # the funnel: per step, those who went on and those who left there
        assert (
            counts["steps"] >= 4
            and counts["bars"] == 2 * counts["steps"]
            and counts["links"] >= 8
            and counts["nodes"] >= 8
            and counts["sweep"] == 4
        )
        # no horizontal overflow: the page fits the window
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert view.blocked == [], view.blocked
        assert view.errors == [], view.errors
    finally:
        view.close()
    assert SCREENSHOT.stat().st_size > 100_000


def test_notebook_output_draws_with_an_amd_loader_and_out_of_order(chromium: object, tmp_path: Path) -> None:
    """result_html outputs as a notebook page holds them: the one carrying plotly.js comes
    after the other, and the page has an AMD ``define`` (require.js) that plotly.js must
    not register with."""
    import pandas as pd

    from journeylab import examples
    from journeylab.report import result_html
    from journeylab.sim import simulate

    profiles = pd.DataFrame({"user_id": ["ana", "bo", "cy"], "push_token": ["t", None, "t"]})
    events = pd.DataFrame(
        {
            "user_id": ["ana", "bo", "cy"],
            "event": "Charged",
            "ts": pd.to_datetime(["2026-10-01 09:00", "2026-10-01 10:00", "2026-10-01 11:00"], utc=True),
        }
    )
    res = simulate(examples.purchase_promo(), (profiles, events), START, "2026-10-02T00:00Z")
    later = result_html(res, include_plotlyjs=False)
    first = result_html(res, include_plotlyjs=True)
    amd = (
        "<script>window.define = function () { window.__amd_defined = (window.__amd_defined || 0) + 1; };"
        "window.define.amd = {};</script>"
    )
    page_html = f"<!DOCTYPE html><html><head><meta charset='utf-8'>{amd}</head><body>{later}<hr>{first}</body></html>"
    path = tmp_path / "notebook.html"
    path.write_text(page_html, encoding="utf-8")
    view = Offline(chromium, width=1100)
    try:
        page = view.page
        page.goto(path.as_uri())
        page.wait_for_function(ALL_DRAWN, timeout=30_000)
        n = page.evaluate("document.querySelectorAll('.plotly-graph-div .main-svg').length")
        assert n >= 4
        assert page.evaluate("window.__amd_defined || 0") == 0
        assert view.blocked == [] and view.errors == [], (view.blocked, view.errors)
    finally:
        view.close()
