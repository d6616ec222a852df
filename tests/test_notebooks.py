"""The tutorial notebooks run top to bottom without an error (they are end-to-end tests too).

Every notebook in ``notebooks/`` is executed with nbclient in a fresh kernel, each in its own
temporary working directory (notebooks write exports to ``out/``), two at a time. A failure
names the notebook, the cell and the error. The notebooks are stored without outputs; that
and the conventions every notebook follows (the Plotly renderer that embeds plotly.js, a
static journey figure) are checked without running anything.

Equivalent by hand: ``python -m pytest --nbval-lax notebooks/`` (see notebooks/README.md).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NAMES = [p.stem for p in NOTEBOOKS]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RENDERER = 'pio.renderers.default = "plotly_mimetype+notebook"'


@dataclass
class Run:
    """One executed notebook: seconds, the error (cell index, source, traceback) if any."""

    name: str
    seconds: float = 0.0
    error: tuple[int, str, str] | None = None
    cells: list[tuple[int, float]] = field(default_factory=list)  # (cell index, seconds)
    outputs: dict[str, int] = field(default_factory=dict)  # mime type -> count
    size: int = 0  # bytes of the executed notebook
    plotlyjs: int = 0  # copies of plotly.js in its outputs


def _execute(path: Path, workdir: Path) -> Run:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    run = Run(path.stem)
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError:
        pass  # located below, from the outputs
    except Exception as e:  # the kernel died, a timeout...
        run.error = (-1, "", f"{type(e).__name__}: {e}")
    run.seconds = time.perf_counter() - t0
    text = nbformat.writes(nb)
    run.size = len(text.encode())
    run.plotlyjs = text.count("plotly.js v")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        m = cell.metadata.get("execution", {})
        a, b = m.get("iopub.execute_input"), m.get("shell.execute_reply")
        if a and b:
            run.cells.append(
                (
                    i,
                    (
                        dt.datetime.fromisoformat(b.rstrip("Z")) - dt.datetime.fromisoformat(a.rstrip("Z"))
                    ).total_seconds(),
                )
            )
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error" and run.error is None:
                tb = ANSI.sub("", "\n".join(out.get("traceback", [])))
                run.error = (i, cell.source, tb[-4000:])
            for mime in out.get("data", {}):
                run.outputs[mime] = run.outputs.get(mime, 0) + 1
    return run


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    pytest.importorskip("nbclient", reason="nbclient is not installed (the dev extra)")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (the notebook extra)")
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.skip("no 'python3' Jupyter kernel (python -m ipykernel install --user)")
    # the kernels import journeylab from this checkout, whatever is installed
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [old])])
    try:
        dirs = {p.stem: tmp_path_factory.mktemp(p.stem) for p in NOTEBOOKS}
        # the slowest first, two at a time (every runner has at least two cores)
        order = sorted(NOTEBOOKS, key=lambda p: p.stem != "08_scaling_out")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {p.stem: pool.submit(_execute, p, dirs[p.stem]) for p in order}
            return {name: f.result() for name, f in futures.items()}
    finally:
        if old is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = old


def test_there_are_eight_notebooks() -> None:
    assert NAMES == [
        "01_quickstart",
        "02_timeouts",
        "03_goals_and_exits",
        "04_quiet_hours_and_limits",
        "05_profile_updates_and_triggers",
        "06_build_it_visually",
        "07_simulation_to_production",
        "08_scaling_out",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=NAMES)
def test_notebook_is_stored_clean_and_follows_the_conventions(path: Path) -> None:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"cell {i} of {path.name} has saved outputs"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # figures draw in exported HTML without the internet: plotly.js embedded by the renderer
    assert RENDERER in code
    # the journey graph as a static figure, visible in rendered pages
    assert "journey_figure(" in code or ".figure(" in code
    assert "connected" not in code.split(RENDERER)[0]  # no CDN renderer set before ours


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    if run.error is not None:
        i, source, tb = run.error
        pytest.fail(f"{name}.ipynb failed in cell {i}:\n{source}\n\n{tb}", pytrace=False)
    # every notebook shows Plotly figures (live: the JupyterLab mime type; exported: HTML)
    assert run.outputs.get("application/vnd.plotly.v1+json", 0) >= 1, run.outputs
    assert run.outputs.get("text/html", 0) >= 1, run.outputs
    # well under a minute each (measured ~5-30 s on 2 cores, two notebooks at a time)
    assert run.seconds < 150, (
        f"{name} took {run.seconds:.0f} s; slowest cells: {sorted(run.cells, key=lambda c: -c[1])[:3]}"
    )


def test_simulate_forks_its_workers_inside_a_jupyter_kernel(tmp_path, monkeypatch):
    """A large simulation in a notebook runs on forked workers (the kernel has threads of its
    own), shows its progress bar, and gives the same result as one process."""
    pytest.importorskip("nbclient", reason="nbclient is not installed (the dev extra)")
    pytest.importorskip("ipykernel", reason="ipykernel is not installed (the notebook extra)")
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    nb = new_notebook(cells=[new_code_cell(
        "import pandas as pd\n"
        "from journeylab.datasets import generate_cohort\n"
        "from journeylab.examples import reference_journey\n"
        "from journeylab.sim import simulate\n"
        "from journeylab.sim.simulator import _auto_workers\n"
        "profiles, events = generate_cohort(3000, seed=5)\n"
        "one = simulate(reference_journey(), (profiles, events), seed=5, workers=1)\n"
        "two = simulate(reference_journey(), (profiles, events), seed=5, workers=2, progress=True)\n"
        "pd.testing.assert_frame_equal(one.trace, two.trace)\n"
        "assert len(one.trace) > 1000\n"
        "print('same trace', len(one.trace))"
    )])
    path = tmp_path / "fork.ipynb"
    nbformat.write(nb, path)
    run = _execute(path, tmp_path)
    assert run.error is None, run.error
    assert run.outputs.get("application/vnd.jupyter.widget-view+json", 0) >= 1  # the tqdm bar


@pytest.mark.parametrize("name", NAMES)
def test_executed_notebook_carries_plotlyjs_at_most_once(runs: dict[str, Run], name: str) -> None:
    """plotly.js (~4.8 MB) is in a saved notebook once at most, whoever displays first (a
    result's rich output or a figure): the executed quickstart stays under 6 MB."""
    run = runs[name]
    assert run.plotlyjs <= 1, f"{name} carries plotly.js {run.plotlyjs} times"
    if name == "01_quickstart":
        assert run.size < 6_000_000, f"{name} is {run.size / 1e6:.1f} MB executed"
