"""The tutorial notebooks: stored as the conventions say, and what their executed form holds.

``python -m pytest`` runs every notebook in ``notebooks/`` through nbval first (lax mode: every
cell must run without an error; cells tagged ``nbval-check-output`` are compared with their
stored outputs after the sanitizers of ``notebooks/nbval_sanitize.cfg``; see ``conftest.py`` at
the repository root). The tests here check the stored notebooks without running anything, and
look at the notebooks as nbval executed them (``executed_notebooks``): each notebook runs once
per test run. Run alone, ``executed_notebooks`` executes them with nbclient instead.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RENDERER = 'pio.renderers.default = "plotly_mimetype+notebook"'
CHECKED = "nbval-check-output"
TEXT_MIMES = {"text/plain", "text/html"}


def _execute(path: Path, workdir: Path) -> tuple[object, str | None]:
    """Execute a notebook with nbclient in ``workdir``: (notebook, first error or None)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    try:
        client.execute()
    except CellExecutionError as e:
        return nb, ANSI.sub("", str(e))[-4000:]
    return nb, None


def _mimes(nb: object) -> dict[str, int]:
    out: dict[str, int] = {}
    for cell in nb.cells:  # type: ignore[attr-defined]
        for o in cell.get("outputs", []):
            for mime in o.get("data", {}):
                out[mime] = out.get(mime, 0) + 1
    return out


def test_there_are_nine_notebooks() -> None:
    assert NAMES == [
        "01_quickstart",
        "02_timeouts",
        "03_goals_and_exits",
        "04_quiet_hours_and_limits",
        "05_profile_updates_and_triggers",
        "06_build_it_visually",
        "07_simulation_to_production",
        "08_scaling_out",
        "09_experiments_and_optimisation",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_is_stored_clean_and_follows_the_conventions(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    checked = 0
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if CHECKED not in cell.metadata.get("tags", []):
            assert not cell.outputs and cell.execution_count is None, f"cell {i} of {path.name} has saved outputs"
            continue
        # a compared cell carries its reference output (nbval skips cells stored unexecuted),
        # text only and small: plain text, a table, printed lines
        checked += 1
        assert cell.outputs and cell.execution_count is not None, (
            f"cell {i} of {path.name}: no stored output to compare"
        )
        for o in cell.outputs:
            assert o.output_type in ("stream", "execute_result", "display_data"), (i, o.output_type)
            assert set(o.get("data", {})) <= TEXT_MIMES, f"cell {i} of {path.name} stores {set(o.data)}"
        assert len(json.dumps(cell.outputs)) < 10_000, f"cell {i} of {path.name} stores a large output"
    # every tutorial but the quiet-hours one (all charts) pins some outputs
    assert checked >= (0 if path.stem == "04_quiet_hours_and_limits" else 1), path.name
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # figures draw in exported HTML without the internet: plotly.js embedded by the renderer
    assert RENDERER in code
    # the journey graph as a static figure, visible in rendered pages
    assert "charts.journey(" in code or ".figure(" in code
    assert "connected" not in code.split(RENDERER)[0]  # no CDN renderer set before ours


@pytest.mark.parametrize("name", NAMES)
def test_executed_notebook_shows_its_figures(executed_notebooks, name: str) -> None:
    import nbformat

    run = executed_notebooks(name)
    if run.failed:
        pytest.fail(
            f"{name}.ipynb failed when executed by {run.by} (cells {run.failed}): see its nbval items", pytrace=False
        )
    nb = nbformat.read(run.path, as_version=4)
    mimes = _mimes(nb)
    # every notebook shows Plotly figures (live: the JupyterLab mime type; exported: HTML)
    assert mimes.get("application/vnd.plotly.v1+json", 0) >= 1, mimes
    assert mimes.get("text/html", 0) >= 1, mimes
    assert not [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


def test_simulate_forks_its_workers_inside_a_jupyter_kernel(tmp_path, monkeypatch):
    """A large simulation in a notebook runs on forked workers (the kernel has threads of its
    own), shows its progress bar, and gives the same result as one process."""
    pytest.importorskip("nbclient", reason="nbclient is not installed (the dev extra)")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (the notebook extra)")
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = new_notebook(
        cells=[
            new_code_cell(
                "import pandas as pd\n"
                "from journeylab.datasets import generate_cohort\n"
                "from journeylab.examples import reference_journey\n"
                "from journeylab.sim import simulate\n"
                "from journeylab.sim.pool import auto_workers\n"
                "profiles, events = generate_cohort(3000, seed=5)\n"
                "one = simulate(reference_journey(), (profiles, events), seed=5, workers=1)\n"
                "two = simulate(reference_journey(), (profiles, events), seed=5, workers=2, progress=True)\n"
                "pd.testing.assert_frame_equal(one.trace, two.trace)\n"
                "assert len(one.trace) > 1000\n"
                "print('same trace', len(one.trace))"
            )
        ]
    )
    path = tmp_path / "fork.ipynb"
    nbformat.write(nb, path)
    executed, error = _execute(path, tmp_path)
    assert error is None, error
    assert _mimes(executed).get("application/vnd.jupyter.widget-view+json", 0) >= 1  # the tqdm bar


@pytest.mark.parametrize("name", NAMES)
def test_executed_notebook_carries_plotlyjs_at_most_once(executed_notebooks, name: str) -> None:
    """plotly.js (~4.8 MB) is in a saved notebook once at most, whoever displays first (a
    result's rich output or a figure): the executed quickstart stays under 6 MB."""
    run = executed_notebooks(name)
    text = run.path.read_text(encoding="utf-8")
    copies = text.count("plotly.js v")
    assert copies <= 1, f"{name} carries plotly.js {copies} times"
    if name == "01_quickstart":
        size = len(text.encode())
        assert size < 6_000_000, f"{name} is {size / 1e6:.1f} MB executed"


def test_nbval_compares_tagged_cells_after_sanitizing(tmp_path):
    """The comparison the notebooks rely on can fail: in a small notebook run by nbval with the
    project's sanitizers, a tagged cell whose output changed fails; one that differs only by
    what the sanitizers replace (a port, a duration) passes; an untagged cell is not compared."""
    pytest.importorskip("nbval", reason="nbval is not installed (the dev extra)")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (the notebook extra)")
    import subprocess
    import sys

    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    def cell(source: str, stored: str | None, compare: bool = True) -> object:
        c = new_code_cell(source, metadata={"tags": [CHECKED]} if compare else {})
        if stored is not None:
            c.outputs = [new_output("stream", name="stdout", text=stored)]
            c.execution_count = 1
        return c

    nb = new_notebook(
        cells=[
            cell(
                "print('server at tcp://127.0.0.1:41011, took 2.4 s')", "server at tcp://127.0.0.1:50123, took 0.3 s\n"
            ),
            cell("print('entered 1591')", "entered 1590\n"),
            cell("print('anything')", None, compare=False),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    nbformat.write(nb, tmp_path / "check.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not this repository's settings
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--nbval-lax",
            "--nbval-current-env",
            f"--nbval-sanitize-with={ROOT / 'notebooks' / 'nbval_sanitize.cfg'}",
            "check.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = ANSI.sub("", proc.stdout)
    assert proc.returncode == 1, out[-3000:]
    assert "1 failed, 2 passed" in out, out[-3000:]
    assert "check.ipynb::Cell 1" in out and "entered 1590" in out, out[-3000:]
