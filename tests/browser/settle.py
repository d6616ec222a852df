"""Wait for a page to settle by what it shows, not by the clock.

A fixed pause ("wait 500 ms for the figures to finish their layout") passes on an idle
machine and fails on a loaded one. These helpers wait for conditions instead:

* :func:`wait_until_settled`: what the page shows has stopped changing — a signature of it
  (by default the geometry and SVG marks of every Plotly figure; :func:`cytoscape` for a
  journey canvas: zoom, pan, every element's position, label and classes) is the same on
  several consecutive animation frames, polled once per frame;
* :func:`after_kernel_round_trip`: an action in the browser (a click on a widget) has been
  handled by the kernel — the notebook's kernel went busy after the action and is idle
  again — and then the canvas has settled.

A slow machine only makes them take longer.
"""

from __future__ import annotations

from collections.abc import Callable

# every Plotly figure: place, size, marks drawn
FIGURES = """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(d => {
  const r = d.getBoundingClientRect();
  return [d.id, Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height),
          d.querySelectorAll('svg path, svg text').length, !!d._fullLayout];
})"""


def cytoscape(css: str) -> str:
    """The signature of the cytoscape canvas inside the element ``css``: its box, zoom, pan,
    and each element's id, position, label and classes."""
    return f"""() => {{
  const el = document.querySelector({css!r});
  if (!el || !el._cyreg) return null;
  const cy = el._cyreg.cy, r = el.getBoundingClientRect(), p = cy.pan();
  return [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height),
          cy.zoom().toFixed(4), Math.round(p.x), Math.round(p.y),
          cy.elements().map(e => [e.id(), e.isNode() ? [Math.round(e.position('x')), Math.round(e.position('y'))] : 0,
                                  e.data('label') || '', e.classes().join(' ')])];
}}"""


def wait_until_settled(page: object, signature: str = FIGURES, frames: int = 5, timeout: float = 60_000) -> None:
    """Return once ``signature`` (a JavaScript function) gives the same value on ``frames``
    animation frames in a row (and a value at all)."""
    page.evaluate("() => { window.__jlSettle = {last: null, same: 0}; }")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"""() => {{
  const v = ({signature})();
  const sig = v === null || v === undefined ? null : JSON.stringify(v);
  const s = window.__jlSettle;
  if (sig !== null && sig === s.last) {{ s.same += 1; }} else {{ s.last = sig; s.same = 0; }}
  return s.same >= {frames};
}}""",
        polling="raf",
        timeout=timeout,
    )


_KERNEL = "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
_WATCH = f"""() => {{
  const k = {_KERNEL};
  window.__jlBusy = false;
  if (window.__jlWatched !== k) {{
    k.statusChanged.connect((_, status) => {{ if (status === 'busy') window.__jlBusy = true; }});
    window.__jlWatched = k;
  }}
}}"""
_HANDLED = f"() => window.__jlBusy === true && {_KERNEL}.status === 'idle'"


def after_kernel_round_trip(
    page: object, act: Callable[[], object], signature: str | None = None, timeout: float = 60_000
) -> None:
    """Do ``act`` (e.g. click a widget's button), wait until the notebook's kernel has handled
    it (busy after the action, idle again), then until ``signature`` has settled."""
    page.evaluate(_WATCH)  # type: ignore[attr-defined]
    act()
    page.wait_for_function(_HANDLED, timeout=timeout)  # type: ignore[attr-defined]
    if signature is not None:
        wait_until_settled(page, signature, timeout=timeout)
