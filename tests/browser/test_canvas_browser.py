"""Nothing hidden on the canvas, read from what cytoscape drew in a real JupyterLab (Chromium).

For every bundled example journey the notebook shows two builders: one laid out by a click on
**Auto Align & Space**, one after ``show_stats`` of a simulation (which lays the journey out
again, with room for the counts). From the rendered cytoscape elements the test reads: no box
overlaps another; no edge label overlaps a box or another label; no connector passes through a
box other than its own ends; every badge (validation, users waiting) has a higher z-index than
its box, touches it, and its colour is what the canvas shows at its centre (pixels read back
from cytoscape's canvases); and text is at least 10 px at the default view with the side panel
open. A journey with warnings, an error and users waiting checks the badges with its warned
node selected (the yellow border stays under the selection halo). Another draws one user's preview
path highlighted (/tmp/journeylab_canvas_path.png). A test builds a three-node journey with the mouse and connects it by clicking a
port handle and then the target. Screenshots: /tmp/journeylab_canvas_<example>.png,
/tmp/journeylab_mouse.png.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path

import pytest
from settle import after_kernel_round_trip, cytoscape, wait_until_settled
from test_widget_browser import _run_all, _wait_for

from journeylab.examples import EXAMPLES

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NAMES = sorted(EXAMPLES)

_CELL = """
import sys, pathlib
sys.path.insert(0, {tests!r})
import helpers
from journeylab.examples import EXAMPLES
from journeylab.sim import simulate
from journeylab.widget import JourneyBuilder
prof, ev = helpers.cohort(300, seed=1)
builders = {{}}
for name in {names!r}:
    j = EXAMPLES[name]()
    plain = JourneyBuilder(j.definition, height="460px")
    plain.add_class(f"jl-plain-{{name}}")
    stats = JourneyBuilder(j.definition, height="460px")
    stats.add_class(f"jl-stats-{{name}}")
    stats.show_stats(simulate(stats.journey, (prof, ev), helpers.START, helpers.END, seed=1))
    builders[name] = (plain, stats)
    display(plain, stats)
# a journey with warnings, an error and users waiting, its warned node selected
import datetime as dt
import pandas as pd
from journeylab.model import *
j = Journey("Badges", id="badges")
j.add(Inaction(id="cart", event="Added To Cart", absent="Charged", within=dt.timedelta(minutes=15)))
j.then("cart", "yes", Push(id="push", content={{"title": "Forgot something?"}}))
j.then("push", "clicked", Action(id="bought", event="Charged", window=dt.timedelta(hours=1)))
j.then("push", "timeout", Sms(id="sms", content={{"body": "10% off today"}}))
j.then("sms", "next", Delay(id="wait", duration=dt.timedelta(days=1)))
j.connect("wait", "next", "cart")
j.add(Delay(id="orphan", duration=dt.timedelta(hours=1)))
stats = pd.DataFrame.from_dict({{
    "cart": {{"entered": 1000, "left_yes": 700, "waiting": 300}},
    "push": {{"entered": 700, "sent": 650, "left_clicked": 120, "left_timeout": 530, "waiting": 50}},
    "bought": {{"entered": 120, "left_yes": 90, "waiting": 30}},
    "sms": {{"entered": 530, "sent": 500, "left_next": 530}},
    "wait": {{"entered": 530, "left_next": 500, "waiting": 30}},
}}, orient="index")
badges = JourneyBuilder(j, height="460px")
badges.add_class("jl-badges-case")
badges.show_stats(stats)
badges.selected = "bought"
display(badges)
pathlib.Path({out!r}).write_text("ready")
"""

GEOMETRY = """(cls) => {
  const el = document.querySelector('.' + cls + ' .custom-widget');
  if (!el || !el._cyreg) return null;
  const cy = el._cyreg.cy;
  const bb = n => { const b = n.boundingBox({includeLabels: false, includeOverlays: false, includeUnderlays: false});
                    return [b.x1, b.y1, b.x2, b.y2]; };
  const boxes = cy.nodes('[role = "node"], [role = "phantom"], [role = "goal"]').map(
      n => ({id: n.data('scene_id'), b: bb(n), z: Number(n.style('z-index'))}));
  const labels = cy.nodes('[role = "edge-label"]').map(n => ({id: n.data('edge_id'), b: bb(n), text: n.data('label')}));
  const badges = cy.nodes('[role = "badge"], [role = "waiting"]').map(n => ({
      of: n.data('of'), role: n.data('role'), b: bb(n), z: Number(n.style('z-index')), fill: n.data('fill'),
      rp: n.renderedPosition()}));
  const edges = cy.edges().map(e => ({src: e.source().data('scene_id'), tgt: e.target().data('scene_id'),
      pts: [e.sourceEndpoint(), ...(e.segmentPoints() || []), e.targetEndpoint()].map(p => [p.x, p.y])}));
  const fonts = cy.nodes().filter(n => n.data('label')).map(n => parseFloat(n.style('font-size')));
  const r = el.getBoundingClientRect();
  return {boxes, labels, badges, edges, zoom: cy.zoom(), minFont: Math.min(...fonts), width: r.width,
          height: r.height, count: cy.nodes('[role = "node"]').length};
}"""

# the colour cytoscape drew at each badge's centre: its canvas layers composited in page order
PIXELS = """(cls) => {
  const el = document.querySelector('.' + cls + ' .custom-widget');
  const cy = el._cyreg.cy;
  const layers = Array.from(el.querySelectorAll('canvas'));
  const w = layers[0].width, h = layers[0].height, ratio = w / layers[0].clientWidth;
  const c = document.createElement('canvas'); c.width = w; c.height = h;
  const g = c.getContext('2d');
  g.fillStyle = '#fff'; g.fillRect(0, 0, w, h);
  layers.forEach(l => g.drawImage(l, 0, 0));
  return cy.nodes('[role = "badge"], [role = "waiting"]').map(n => {
    const p = n.renderedPosition();
    const x = Math.round((p.x + (n.data('role') === 'badge' ? 0 : -n.width() / 2 * cy.zoom() + 4)) * ratio);
    const y = Math.round((p.y + 5 * cy.zoom()) * ratio);
    if (x < 0 || y < 0 || x >= w || y >= h) return null;
    const d = g.getImageData(x, y, 1, 1).data;
    return {of: n.data('of'), fill: n.data('fill'), rgb: [d[0], d[1], d[2]]};
  }).filter(Boolean);
}"""


def _hit(a, b, pad: float = 0.0) -> bool:  # noqa: ANN001
    return a[0] < b[2] - pad and b[0] < a[2] - pad and a[1] < b[3] - pad and b[1] < a[3] - pad


def _crosses(p, q, box) -> bool:  # noqa: ANN001
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for pp, qq in ((-dx, x0 - box[0]), (dx, box[2] - x0), (-dy, y0 - box[1]), (dy, box[3] - y0)):
        if pp == 0:
            if qq < 0:
                return False
            continue
        r = qq / pp
        if pp < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-6


def _rgb(hexcolor: str) -> tuple[int, int, int]:
    h = hexcolor.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def check(geo: dict, what: str) -> None:
    boxes = {b["id"]: b["b"] for b in geo["boxes"]}
    ids = sorted(boxes)
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            assert not _hit(boxes[a], boxes[b], 1), f"{what}: boxes {a} and {b} overlap"
    for i, la in enumerate(geo["labels"]):
        for nid, bx in boxes.items():
            assert not _hit(la["b"], bx, 1), f"{what}: label {la['text']!r} of {la['id']} covers box {nid}"
        for lb in geo["labels"][i + 1 :]:
            assert not _hit(la["b"], lb["b"], 1), f"{what}: labels {la['text']!r} and {lb['text']!r} overlap"
    for e in geo["edges"]:
        for nid, bx in boxes.items():
            if nid in (e["src"], e["tgt"]):
                continue
            inner = (bx[0] + 2, bx[1] + 2, bx[2] - 2, bx[3] - 2)
            assert not any(_crosses(p, q, inner) for p, q in zip(e["pts"], e["pts"][1:], strict=False)), (
                f"{what}: the connector {e['src']} → {e['tgt']} runs through box {nid}"
            )
    z = {b["id"]: b["z"] for b in geo["boxes"]}
    for bd in geo["badges"]:
        assert bd["z"] > z[bd["of"]], f"{what}: a {bd['role']} badge is not above its box {bd['of']}"
        assert _hit(bd["b"], boxes[bd["of"]]), f"{what}: the {bd['role']} badge of {bd['of']} is not on its box"
    # readable at the default view, with the side panel open
    assert geo["minFont"] * geo["zoom"] >= 10 - 1e-6, f"{what}: text {geo['minFont'] * geo['zoom']:.1f} px"


def _open(page, lab, name):  # noqa: ANN001
    page.set_viewport_size({"width": 1600, "height": 1000})
    _run_all(page, lab, name)


def _run_cell(page, lab, src: str, out: Path, stem: str, wait: float) -> None:  # noqa: ANN001
    """Open a one-cell notebook running ``src`` and wait (up to ``wait`` s) for it to write ``out``."""
    import nbformat

    name = f"{stem}_{uuid.uuid4().hex[:8]}.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab.root / name)
    _open(page, lab, name)
    deadline = time.monotonic() + wait
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert out.exists(), "the notebook did not finish"


def test_nothing_hidden_on_any_example_canvas(jupyter_lab, page, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "ready.txt"
    _run_cell(page, jupyter_lab, _CELL.format(tests=str(ROOT / "tests"), names=NAMES, out=str(out)), out, "canvas", 240)
    measured = {}
    for ex in NAMES:
        for kind in ("plain", "stats"):
            cls = f"jl-{kind}-{ex}"
            page.locator(f".{cls}").scroll_into_view_if_needed()
            page.wait_for_function(
                f"() => {{ const g = ({GEOMETRY})('{cls}'); return g && g.count > 0; }}", timeout=30_000
            )
            canvas = cytoscape(f".{cls} .custom-widget")
            if kind == "plain":  # Auto Align & Space, clicked in the browser
                after_kernel_round_trip(
                    page, lambda cls=cls: page.click(f".{cls} button:has-text('Auto Align')"), canvas
                )
            else:
                wait_until_settled(page, canvas)
            geo = page.evaluate(GEOMETRY, cls)
            check(geo, f"{ex} ({'after Auto Align & Space' if kind == 'plain' else 'after show_stats'})")
            pixels = page.evaluate(PIXELS, cls)
            for px in pixels:
                want = _rgb(px["fill"])
                assert max(abs(a - b) for a, b in zip(px["rgb"], want, strict=True)) < 40, (ex, kind, px)
            measured[cls] = (
                round(geo["minFont"] * geo["zoom"], 1),
                len(geo["labels"]),
                len(geo["badges"]),
                len(pixels),
            )
            if kind == "stats":
                shot = tmp_path / f"{ex}.png"
                page.locator(f".{cls}").screenshot(path=str(shot))
                shutil.copy(shot, f"/tmp/journeylab_canvas_{ex}.png")
    # warnings, an error and users waiting: every badge above its box; the selected warned node
    # keeps its yellow border and badge under the selection halo
    cls = "jl-badges-case"
    page.locator(f".{cls}").scroll_into_view_if_needed()
    page.wait_for_function(f"() => {{ const g = ({GEOMETRY})('{cls}'); return g && g.count > 0; }}", timeout=30_000)
    wait_until_settled(page, cytoscape(f".{cls} .custom-widget"))
    geo = page.evaluate(GEOMETRY, cls)
    check(geo, "badges case")
    kinds = sorted(b["role"] for b in geo["badges"])
    assert kinds.count("badge") >= 2 and kinds.count("waiting") >= 4, kinds
    pixels = page.evaluate(PIXELS, cls)
    assert len(pixels) >= 4
    for px in pixels:
        assert max(abs(a - b) for a, b in zip(px["rgb"], _rgb(px["fill"]), strict=True)) < 40, px
    sel = page.evaluate(f"""() => {{ const cy = document.querySelector('.{cls} .custom-widget')._cyreg.cy;
        const n = cy.nodes('[scene_id = "bought"][role = "node"]')[0];
        return {{selected: n.hasClass('selected'), border: n.style('border-color'),
                 underlay: n.style('underlay-opacity'),
                 badge: cy.nodes('[role = "badge"][of = "bought"]').length}}; }}""")
    assert sel["selected"] and sel["border"] == "rgb(234,179,8)" and float(sel["underlay"]) > 0 and sel["badge"] == 1, (
        sel
    )
    page.locator(f".{cls}").screenshot(path=str(tmp_path / "badges.png"))
    shutil.copy(tmp_path / "badges.png", "/tmp/journeylab_canvas_badges.png")
    measured[cls] = (round(geo["minFont"] * geo["zoom"], 1), len(geo["labels"]), len(geo["badges"]), len(pixels))
    Path("/tmp/journeylab_canvas_measured.json").write_text(json.dumps(measured, indent=1))


_MOUSE = """
import json, pathlib
from journeylab import Journey
from journeylab.widget import JourneyBuilder
journey = Journey("By mouse", id="mouse")
builder = JourneyBuilder(journey, height="420px")
OUT = pathlib.Path({out!r})
def record(_j=None):
    OUT.write_text(json.dumps({{"nodes": [n.id for n in journey.nodes],
                               "connectors": sorted([c.source, c.port, c.target] for c in journey.connectors),
                               "message": builder.message, "kind": builder.kind_picker.value}}))
journey.on_change(record)
builder.kind_picker.observe(record, names="value")
record()
builder
"""

CY = "document.querySelector('.journeylab-builder .custom-widget')._cyreg.cy"
MOUSE_CANVAS = cytoscape(".journeylab-builder .custom-widget")


def _click_node(page, selector: str) -> None:  # noqa: ANN001
    box = page.locator(".journeylab-builder .custom-widget").bounding_box()
    pos = page.evaluate(f"() => {{ const n = {CY}.nodes('{selector}')[0]; return n && n.renderedPosition(); }}")
    assert pos, selector
    page.mouse.click(box["x"] + pos["x"], box["y"] + pos["y"])


def test_build_and_connect_a_journey_with_the_mouse(jupyter_lab, page, tmp_path) -> None:  # noqa: ANN001
    import nbformat

    out = tmp_path / "mouse.json"
    name = f"mouse_{uuid.uuid4().hex[:8]}.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(_MOUSE.format(out=str(out)))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, jupyter_lab.root / name)
    _open(page, jupyter_lab, name)
    page.wait_for_selector(".journeylab-builder .custom-widget canvas", timeout=60_000)
    assert _wait_for(out, lambda s: "nodes" in s).get("nodes") == []
    add = ".journeylab-builder button:has-text('Add')"
    # 1. an Action entry (the palette's first kind)
    page.click(add)
    _wait_for(out, lambda s: len(s.get("nodes", [])) == 1)
    # 2. a push, after the selected node by its first free port (the default: yes). The kind is
    # awaited in the kernel before Add is clicked: while the kernel is busy, the browser holds a
    # widget's next value until the kernel is done with its last one, but sends a click at once
    page.select_option(".journeylab-builder select >> nth=0", label="Engage · Push")
    _wait_for(out, lambda s: s.get("kind") == "push")
    page.click(add)
    _wait_for(out, lambda s: len(s.get("nodes", [])) == 2)
    # 3. an email, after the push by its first free port (next)
    page.select_option(".journeylab-builder select >> nth=0", label="Engage · Email")
    _wait_for(out, lambda s: s.get("kind") == "email")
    page.click(add)
    state = _wait_for(out, lambda s: len(s.get("nodes", [])) == 3)
    assert state["nodes"] == ["action_1", "push_1", "email_1"]
    assert state["connectors"] == [["action_1", "yes", "push_1"], ["push_1", "next", "email_1"]]
    # 4. connect by mouse: click the entry, then its "timeout" port handle, then the email
    page.wait_for_function(f"() => {CY}.nodes('[role = \"node\"]').length === 3", timeout=15_000)
    wait_until_settled(page, MOUSE_CANVAS)
    # the port handles shown must be the entry's (a click lost while the canvas was busy leaves
    # the email selected, and the email has a timeout port too): click until they are
    port = '[role = "port"][port = "timeout"][node_id = "action_1"]'
    for attempt in range(3):
        _click_node(page, '[scene_id = "action_1"][role = "node"]')
        try:
            page.wait_for_function(f"() => {CY}.nodes({json.dumps(port)}).length === 1", timeout=10_000)
            break
        except Exception:
            if attempt == 2:
                raise
    wait_until_settled(page, MOUSE_CANVAS)
    _click_node(page, port)
    page.wait_for_function(f"() => {CY}.nodes('.port-armed').length === 1", timeout=15_000)
    wait_until_settled(page, MOUSE_CANVAS)
    _click_node(page, '[scene_id = "email_1"][role = "node"]')
    state = _wait_for(out, lambda s: len(s.get("connectors", [])) == 3)
    assert state["connectors"] == [
        ["action_1", "timeout", "email_1"],
        ["action_1", "yes", "push_1"],
        ["push_1", "next", "email_1"],
    ], state
    page.wait_for_function(f"() => {CY}.edges().length === 3", timeout=15_000)
    wait_until_settled(page, MOUSE_CANVAS)
    labels = page.evaluate(f"() => {CY}.nodes('[role = \"edge-label\"]').map(n => n.data('label')).sort()")
    assert labels == ["next", "timeout", "yes"]
    shot = tmp_path / "mouse.png"
    page.locator(".journeylab-builder").screenshot(path=str(shot))
    shutil.copy(shot, "/tmp/journeylab_mouse.png")


_PATH = """
import pathlib
from journeylab.examples import cart_abandonment
from journeylab.widget import JourneyBuilder
b = JourneyBuilder(cart_abandonment(), height="460px")
b.add_class("jl-path-case")
p = b.journey.preview({{"push_token": "t", "email": "a@x", "first_name": "Ana"}},
                      [{{"event": "Added To Cart", "ts": "2026-10-01T09:00Z"}}])
b.highlight_path(p)
display(b)
pathlib.Path({out!r}).write_text(",".join(p.path))
"""


def test_a_users_path_is_highlighted_on_the_canvas(jupyter_lab, page, tmp_path) -> None:  # noqa: ANN001
    """#18 item 4: the boxes and connectors of one user's preview path drawn violet (halo and
    line), everything else as before. Screenshot: /tmp/journeylab_canvas_path.png."""
    out = tmp_path / "path.txt"
    _run_cell(page, jupyter_lab, _PATH.format(out=str(out)), out, "path", 120)
    path = out.read_text().split(",")
    cls = "jl-path-case"
    page.wait_for_function(f"() => {{ const g = ({GEOMETRY})('{cls}'); return g && g.count > 0; }}", timeout=30_000)
    wait_until_settled(page, cytoscape(f".{cls} .custom-widget"))
    drawn = page.evaluate(f"""() => {{ const cy = document.querySelector('.{cls} .custom-widget')._cyreg.cy;
        return {{nodes: cy.nodes('.on-path[role = "node"]').map(n => n.data('scene_id')).sort(),
                 off: cy.nodes('[role = "node"]').filter(n => !n.hasClass('on-path')).map(n => n.data('scene_id')),
                 underlay: cy.nodes('.on-path[role = "node"]').map(n => [n.style('underlay-color'), n.style('underlay-opacity')]),
                 edges: cy.edges('.on-path').map(e => [e.data('node_id'), e.data('port'), e.style('line-color')]),
                 plain: cy.edges().filter(e => !e.hasClass('on-path')).map(e => e.style('line-color'))}}; }}""")
    assert drawn["nodes"] == sorted(path)
    assert all(c == "rgb(124,58,237)" and float(o) > 0 for c, o in drawn["underlay"]), drawn["underlay"]
    assert sorted((n, p) for n, p, _ in drawn["edges"]) == [
        ("cart", "yes"),
        ("charged", "timeout"),
        ("push", "next"),
        ("wait", "next"),
    ]
    assert {c for _, _, c in drawn["edges"]} == {"rgb(124,58,237)"}
    assert "rgb(124,58,237)" not in drawn["plain"]
    page.locator(f".{cls}").screenshot(path=str(tmp_path / "path.png"))
    shutil.copy(tmp_path / "path.png", "/tmp/journeylab_canvas_path.png")
