"""The notebooks exported to HTML open offline with every chart drawn and the journey graphs visible.

Each notebook, as executed once in this test run (by nbval, see ``conftest.py`` at the
repository root; ``executed_notebooks``), is exported to HTML by nbconvert's ``HTMLExporter``,
what ``jupyter nbconvert --to html`` and ``scripts/export_notebooks.sh`` use, then opened from
disk in headless Debian Chromium (/usr/bin/chromium, never downloaded) through Playwright with every
request that is not ``file://`` aborted — the CDN scripts of the page template (require.js,
MathJax, the widget manager) fail, plotly.js must be embedded. The test checks that every
Plotly figure drew (``.main-svg`` with ``path`` elements), that the journey graphs (static
figures) are on screen and not clipped, and that no script raised. A full-page screenshot of
each notebook is kept at /tmp/journeylab_nb_<name>.png for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from settle import wait_until_settled

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]
CHROMIUM = "/usr/bin/chromium"

# every Plotly figure on the page, and which of them are journey graphs (first trace "nodes")
FIGURES = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => {
  const r = d.getBoundingClientRect();
  const area = d.closest('.jp-OutputArea-output') || d.parentElement;
  const a = area.getBoundingClientRect();
  const isGraph = !!(d.data && d.data[0] && d.data[0].name === 'nodes');
  return {
    id: d.id, svg: !!d.querySelector('.main-svg'), paths: d.querySelectorAll('.main-svg path').length,
    graph: isGraph, shapes: d.querySelectorAll('.shapelayer path').length,
    texts: d.querySelectorAll('.textpoint').length, width: r.width, height: r.height,
    right: r.right, areaRight: a.right,
  };
})"""
ALL_DRAWN = """() => {
  const divs = Array.from(document.querySelectorAll('.plotly-graph-div'));
  return divs.length > 0 && divs.every(d => d.querySelector('.main-svg'));
}"""


def _export(executed: Path, out: Path) -> Path:
    """The executed notebook as one self-contained HTML page (plotly.js embedded)."""
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    html = out / f"{executed.stem}.html"
    html.write_text(body, encoding="utf-8")
    return html


@pytest.fixture(scope="module")
def exported(executed_notebooks, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path | None, str]]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the dev extra)")
    pytest.importorskip("nbconvert", reason="nbconvert is not installed (the dev extra)")
    out = tmp_path_factory.mktemp("notebooks-html")
    pages: dict[str, tuple[Path | None, str]] = {}
    for name in NAMES:
        run = executed_notebooks(name)
        if run.failed:
            pages[name] = (None, f"{name}.ipynb failed when executed by {run.by} (cells {run.failed})")
        else:
            pages[name] = (_export(run.path, out), "")
    return pages


@pytest.mark.parametrize("name", NAMES)
def test_exported_notebook_draws_offline(exported: dict, chromium: object, name: str) -> None:
    html, log = exported[name]
    assert html is not None, log
    context = chromium.new_context(viewport={"width": 1300, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.set_default_timeout(60_000)
    blocked: list[str] = []
    errors: list[str] = []

    def route(r: object) -> None:
        url = r.request.url  # type: ignore[attr-defined]
        if url.startswith("file://"):
            r.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(url)
            r.abort()  # type: ignore[attr-defined]

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(html.as_uri(), wait_until="load")
        page.wait_for_function(ALL_DRAWN, timeout=60_000)
        wait_until_settled(page)  # the last figures have finished their layout
        figures = page.evaluate(FIGURES)
        # where a notebook shows the live canvas, the page (no widget manager offline) shows the
        # builder's static picture in its place
        statics = page.evaluate(
            "() => Array.from(document.querySelectorAll('.jl-static-graph')).map(e => e.getBoundingClientRect().height)"
        )
        canvases = page.evaluate("() => document.querySelectorAll('.journeylab-builder').length")
        shot = Path(f"/tmp/journeylab_nb_{name}.png")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()

    # plotly.js came from the page itself, not from a CDN
    assert not [u for u in blocked if "plot.ly" in u or "plotly" in u], blocked
    assert not errors, f"script errors in {name}.html: {errors}"
    # every chart drew
    assert len(figures) >= 3, figures
    for f in figures:
        assert f["svg"] and f["paths"] > 0, f"{name}: figure {f['id']} did not draw: {f}"
        assert f["width"] > 100 and f["height"] > 100, f
    assert canvases == 0 and all(h > 80 for h in statics), (canvases, statics)
    if name in ("01_quickstart", "06_build_it_visually"):
        assert statics, f"{name}: the canvas cell shows no static picture"
    # the journey graphs are there, drawn and not cut off by the output area
    graphs = [f for f in figures if f["graph"]]
    assert graphs, f"{name}: no static journey figure"
    for g in graphs:
        assert g["shapes"] >= 2 and g["texts"] >= 2, g
        assert g["right"] <= g["areaRight"] + 1, f"{name}: journey figure wider than the page: {g}"
    assert shot.stat().st_size > 20_000
    # light enough to share: plotly.js at most once, and the quickstart's page under 6 MB
    text = html.read_text(encoding="utf-8")
    assert text.count("plotly.js v") <= 1, f"{name}.html carries plotly.js {text.count('plotly.js v')} times"
    if name == "01_quickstart":
        assert html.stat().st_size < 6_000_000, f"{name}.html is {html.stat().st_size / 1e6:.1f} MB"
