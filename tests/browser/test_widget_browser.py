"""The journey builder in a real JupyterLab, driven through headless Chromium.

A notebook builds the cart-abandonment journey with :class:`JourneyBuilder`; the test runs
it, checks the cytoscape canvas draws every node, clicks a node on the canvas and checks
that the Python side selected it, and saves screenshots (also copied to
``/tmp/journeylab_widget.png``). Run with ``pytest -m browser tests/browser``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from settle import after_kernel_round_trip, cytoscape, wait_until_settled

pytestmark = pytest.mark.browser

CANVAS = ".journeylab-builder .custom-widget"
CY = f"document.querySelector('{CANVAS}')._cyreg.cy"


def _notebook(path: Path, out: Path) -> None:
    import nbformat

    cells = [
        nbformat.v4.new_code_cell(
            "import json, pathlib\n"
            "from journeylab.examples import cart_abandonment\n"
            "from journeylab.widget import JourneyBuilder\n"
            "journey = cart_abandonment()\n"
            "builder = JourneyBuilder(journey, height='460px')\n"
            f"OUT = pathlib.Path({str(out)!r})\n"
            "def record(_change=None):\n"
            "    OUT.write_text(json.dumps({'selected': builder.selected, 'node_count': builder.node_count}))\n"
            "builder.observe(record, 'selected')\n"
            "record()\n"
            "builder"
        ),
        nbformat.v4.new_code_cell("print('NODE_COUNT', builder.node_count)"),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


_KERNEL_READY = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const s = w && w.sessionContext;
  const k = s && s.session && s.session.kernel;
  return !!(s && s.isReady && k && k.connectionStatus === 'connected' && k.status === 'idle');
}"""
_STARTED = """() => Array.from(document.querySelectorAll('.jp-Notebook .jp-InputPrompt'))
  .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


def _run_all(page, lab, name: str) -> None:  # noqa: ANN001
    """Open the notebook in a fresh workspace, wait for its kernel, focus a cell, Run All."""
    page.goto(f"{lab.url}/lab/workspaces/test-{uuid.uuid4().hex[:12]}/tree/{name}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="visible")
    page.wait_for_function("() => window.jupyterapp !== undefined")
    # a notebook as wide as an analyst would have it: the file browser closed
    page.evaluate(
        "() => { if (!window.jupyterapp.shell.leftCollapsed)"
        " window.jupyterapp.commands.execute('application:toggle-left-area'); }"
    )
    for _attempt in range(3):
        page.wait_for_function(_KERNEL_READY, timeout=60_000)
        page.click(".jp-Notebook .jp-Cell .jp-InputArea-editor")
        page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        try:
            page.wait_for_function(_STARTED, timeout=10_000)
            return
        except Exception:  # noqa: BLE001 - the kernel was swapped under us: try again
            continue
    raise AssertionError("the notebook's cells never started running")


def _wait_for(path: Path, pred, timeout: float = 20.0) -> dict:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    last: dict = {}
    while time.monotonic() < deadline:
        if path.exists():
            try:
                last = json.loads(path.read_text())
            except ValueError:
                last = {}
            if pred(last):
                return last
        time.sleep(0.1)
    return last


def test_builder_canvas_draws_and_selects(jupyter_lab, page, tmp_path) -> None:  # noqa: ANN001
    from journeylab.examples import cart_abandonment

    expected = len(cart_abandonment().nodes)
    out = tmp_path / "state.json"
    name = f"builder_{uuid.uuid4().hex[:8]}.ipynb"
    _notebook(jupyter_lab.root / name, out)
    _run_all(page, jupyter_lab, name)

    # the canvas draws every journey node
    page.wait_for_selector(f"{CANVAS} canvas", timeout=60_000)
    page.wait_for_function(
        f"() => {{ const el = document.querySelector('{CANVAS}');"
        f" return el && el._cyreg && el._cyreg.cy.nodes('[role = \"node\"]').length === {expected}; }}",
        timeout=30_000,
    )
    drawn = page.evaluate(f"() => {CY}.nodes('[role = \"node\"]').map(n => n.data('node_id'))")
    assert sorted(drawn) == sorted(n.id for n in cart_abandonment().nodes)
    page.wait_for_selector("text=NODE_COUNT", timeout=30_000)
    printed = page.inner_text(".jp-Notebook .jp-Cell:nth-child(2) .jp-OutputArea-output")
    assert f"NODE_COUNT {expected}" in printed
    assert _wait_for(out, lambda s: "node_count" in s).get("node_count") == expected

    # click the push node on the canvas: the Python side selects it
    page.locator(CANVAS).scroll_into_view_if_needed()
    wait_until_settled(page, cytoscape(CANVAS))
    box = page.locator(CANVAS).bounding_box()
    pos = page.evaluate(
        f"() => {CY}.nodes().filter(n => n.data('node_id') === 'push' && n.data('role') === 'node')[0].renderedPosition()"
    )
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])
    state = _wait_for(out, lambda s: s.get("selected") == "push")
    assert state.get("selected") == "push", state
    page.wait_for_selector(".journeylab-builder .jp-OutputArea-output, .journeylab-builder code:has-text('push')")
    page.wait_for_function(f"() => {CY}.nodes('.selected').length >= 1", timeout=10_000)
    wait_until_settled(page, cytoscape(CANVAS))

    shot = tmp_path / "journeylab_widget.png"
    page.locator(".journeylab-builder").screenshot(path=str(shot))
    shutil.copy(shot, "/tmp/journeylab_widget.png")
    assert shot.stat().st_size > 10_000

    # edits from the browser redraw the canvas: Add, Undo, Auto Align & Space
    count = f"() => {CY}.nodes('[role = \"node\"]').length"
    page.select_option(".journeylab-builder select >> nth=0", label="Controller · Delay")
    page.click(".journeylab-builder button:has-text('Add')")
    page.wait_for_function(f"() => ({count})() === {expected + 1}", timeout=15_000)
    page.click(".journeylab-builder button:has-text('Undo')")
    page.wait_for_function(f"() => ({count})() === {expected}", timeout=15_000)
    after_kernel_round_trip(
        page, lambda: page.click(".journeylab-builder button:has-text('Auto Align')"), cytoscape(CANVAS)
    )
    # Add selected the new node; Undo removed it, so nothing is selected any more, on both sides
    assert _wait_for(out, lambda s: s.get("selected") is None).get("selected", "?") is None
    assert page.evaluate(f"() => {CY}.nodes('.selected').length") == 0
    # no two drawn boxes overlap after Auto Align & Space
    overlaps = page.evaluate(
        f"""() => {{ const ns = {CY}.nodes('[role = "node"], [role = "phantom"], [role = "goal"]');
        let hits = 0; ns.forEach(a => ns.forEach(b => {{ if (a.id() < b.id()) {{
          const p = a.boundingBox({{includeLabels: false}}), q = b.boundingBox({{includeLabels: false}});
          if (p.x1 < q.x2 && q.x1 < p.x2 && p.y1 < q.y2 && q.y1 < p.y2) hits++; }} }})); return hits; }}"""
    )
    assert overlaps == 0

    page.locator(".journeylab-builder").screenshot(path=str(tmp_path / "after_edits.png"))

    # the saved notebook carries the static SVG fallback next to the widget view
    page.evaluate("window.jupyterapp.commands.execute('docmanager:save')")
    deadline = time.monotonic() + 15
    outputs: list = []
    while time.monotonic() < deadline:
        nb = json.loads((jupyter_lab.root / name).read_text())
        outputs = nb["cells"][0].get("outputs", [])
        if outputs:
            break
        time.sleep(0.2)
    kinds = set().union(*(o.get("data", {}).keys() for o in outputs)) if outputs else set()
    assert {"application/vnd.jupyter.widget-view+json", "text/html"} <= kinds, kinds
    static = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("jl-static-graph" in "".join(h) and "<svg" in "".join(h) for h in static)
    # live, the canvas renders, so its static picture is hidden
    hidden = page.evaluate(
        "() => Array.from(document.querySelectorAll('.jl-static-graph')).map(e => e.getBoundingClientRect().height)"
    )
    assert hidden and all(h == 0 for h in hidden), hidden


_STATS_NOTEBOOK = """
import datetime as dt, json, pathlib
import pandas as pd
from journeylab.model import *
from journeylab.widget import JourneyBuilder
j = Journey("Cart recovery", id="recovery")
j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
j.then("cart", "yes", Push(id="push", content={"title": "Forgot something?"}))
j.then("push", "viewed", Email(id="email", content={"subject": "Still thinking?"}))
j.then("push", "clicked", Action(id="bought", event="Charged", window=dt.timedelta(hours=1)))
j.then("push", "timeout", Sms(id="sms", content={"body": "10% off today"}))
j.then("bought", "yes", ProfileUpdate(id="tier", property="tier", value="gold"))
j.then("sms", "next", Delay(id="wait", duration=dt.timedelta(days=1)))
j.then("wait", "next", Split(id="split", branches=[SplitBranch(name="A", percent=50), SplitBranch(name="B", percent=50)]))
j.then("split", "A", ForceExit(id="bye"))
j.connect("split", "B", "cart")
j.add_goal(ActionGoal(name="Purchase", event="Charged"))
stats = pd.DataFrame.from_dict({
    "cart": {"entered": 1000, "left_yes": 700, "waiting": 300},
    "push": {"entered": 700, "sent": 650, "viewed": 300, "clicked": 120, "left_viewed": 300, "left_clicked": 120,
             "left_timeout": 230, "waiting": 50},
    "email": {"entered": 300, "sent": 280},
    "bought": {"entered": 120, "left_yes": 90, "waiting": 30},
    "tier": {"entered": 90, "left_next": 90},
    "sms": {"entered": 230, "sent": 200, "left_next": 230},
    "wait": {"entered": 230, "left_next": 200, "waiting": 30},
    "split": {"entered": 200, "left_A": 104, "left_B": 96},
    "bye": {"entered": 104, "exited": 104},
}, orient="index")
builder = JourneyBuilder(j, height="520px")
builder.show_stats(stats, {"bought": ["u1", "u2", "u3"]})
builder.selected = "push"
pathlib.Path(OUT).write_text(json.dumps({"ready": True, "node_count": builder.node_count}))
builder
"""


def test_builder_stats_overlay(jupyter_lab, page, tmp_path) -> None:  # noqa: ANN001
    """Statistics on nodes and edges, the phantom window, the loop arc and badges, drawn by cytoscape."""
    import nbformat

    out = tmp_path / "stats.json"
    name = f"stats_{uuid.uuid4().hex[:8]}.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(f"OUT = {str(out)!r}\n" + _STATS_NOTEBOOK)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, jupyter_lab.root / name)
    _run_all(page, jupyter_lab, name)
    page.wait_for_selector(f"{CANVAS} canvas", timeout=60_000)
    page.wait_for_function(
        f"() => {{ const el = document.querySelector('{CANVAS}');"
        " return el && el._cyreg && el._cyreg.cy.nodes('[role = \"node\"]').length === 9; }",
        timeout=30_000,
    )
    wait_until_settled(page, cytoscape(CANVAS))
    labels = page.evaluate(f"() => {CY}.edges().map(e => e.data('label'))")
    assert "yes: 700" in labels and "viewed: 300" in labels and "B 50%: 96" in labels
    assert page.evaluate(f"() => {CY}.nodes('[role = \"phantom\"]').length") == 1
    # the loop back to the entry is an arc above every box
    above = page.evaluate(
        f"() => {{ const cy = {CY}; const top = Math.min(...cy.nodes('[role = \"node\"]').map(n => n.boundingBox().y1));"
        " return cy.edges('.back').map(e => e.midpoint().y < top); }"
    )
    assert above == [True]
    assert page.evaluate(f"() => {CY}.nodes('.badge-warning').length") >= 1
    shot = tmp_path / "journeylab_widget_stats.png"
    page.locator(".journeylab-builder").screenshot(path=str(shot))
    shutil.copy(shot, "/tmp/journeylab_widget_stats.png")
    assert shot.stat().st_size > 10_000


def test_static_journey_figure_png(tmp_path) -> None:  # noqa: ANN001
    """The static fallback renders to PNG (kaleido, else Chromium's screenshot of the HTML)."""
    from journeylab.charts.journey_graph import journey
    from journeylab.examples import cart_abandonment

    if not Path("/usr/bin/chromium").exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    j = cart_abandonment()
    stats = {
        # counts that add up at every node, as the trace's always do
        "cart": {"entered": 1000, "left_yes": 620, "left_no": 380},
        "push": {"entered": 620, "sent": 590, "viewed": 240, "clicked": 80, "left_next": 620},
        "wait": {"entered": 620, "left_next": 580, "waiting": 20, "exited_goal": 20},
        "charged": {"entered": 580, "left_yes": 130, "left_timeout": 380, "waiting": 70},
        "reminder": {"entered": 380, "sent": 360, "left_next": 380},
    }
    fig = journey(j, stats, title="Cart abandonment")
    png = tmp_path / "journeylab_graph.png"
    os.environ.setdefault("BROWSER_PATH", "/usr/bin/chromium")
    try:
        fig.write_image(str(png), scale=1)
    except Exception:  # noqa: BLE001 - kaleido missing or broken: let Chromium take the picture
        html = tmp_path / "graph.html"
        fig.write_html(str(html), include_plotlyjs=True)
        subprocess.run(
            [
                "/usr/bin/chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                f"--screenshot={png}",
                f"--window-size={int(fig.layout.width) + 20},{int(fig.layout.height) + 20}",
                html.as_uri(),
            ],
            check=True,
            timeout=60,
            capture_output=True,
        )
    assert png.stat().st_size > 10_000
    shutil.copy(png, "/tmp/journeylab_graph.png")
