"""Test set-up for the whole repository: the tutorial notebooks run through nbval.

``python -m pytest`` collects ``notebooks/`` first (``testpaths`` in pyproject.toml) and nbval
runs every code cell of every notebook as a test item, in one kernel per notebook started
from the environment running pytest (``--nbval-lax --nbval-current-env`` in ``addopts``).
Lax mode: a cell must run without an error; its outputs are compared with the stored ones only
in cells tagged ``nbval-check-output`` (after the sanitizers of
``notebooks/nbval_sanitize.cfg``). This file adds what nbval leaves to its users:

* every kernel imports journeylab from this checkout (``PYTHONPATH``), and works in a scratch
  folder of its own (notebooks write exports to ``out/``), not in ``notebooks/``;
* the outputs of each notebook are kept and the executed notebook is written once its last
  cell has run, for the tests that look at executed notebooks (``executed_notebooks``: sizes,
  plotly.js copies, the pages exported to HTML in a browser), so each notebook executes once
  per test run. ``JOURNEYLAB_EXECUTED_NOTEBOOKS=DIR`` keeps them in DIR (CI builds the
  documentation site from them); by default they go to pytest's temporary folder;
* a table of seconds per notebook at the end of the run;
* under pytest-xdist (``-n auto`` in ``addopts``), the notebooks' cells and the tests that use
  ``executed_notebooks`` are one work unit (``NOTEBOOK_GROUP``): they run on one worker, in
  collection order, so the tests still reuse nbval's runs; each worker sends its notebook
  table to the controller, which prints it.

When the notebooks were not collected in this run (``python -m pytest tests/...``), the
``executed_notebooks`` fixture executes the ones a test asks for with nbclient instead.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SANITIZE = ROOT / "notebooks" / "nbval_sanitize.cfg"


@dataclass
class Executed:
    """One executed tutorial notebook: where it was written, how long it took, what failed."""

    name: str
    path: Path | None = None
    seconds: float = 0.0
    failed: list[int] = field(default_factory=list)  # code cells (nbval numbering) that did not run
    by: str = "nbval"
    differ: list[int] = field(default_factory=list)  # cells that ran but show other outputs than stored


@dataclass
class _Run:
    nb: object
    workdir: Path
    started: float
    outputs: dict[int, list] = field(default_factory=dict)
    failed: list[int] = field(default_factory=list)
    differ: list[int] = field(default_factory=list)


_EXECUTED = pytest.StashKey[dict[str, Executed]]()
_RUNS = pytest.StashKey[dict[str, _Run]]()
_OUT = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    # kernels, subprocesses and the documentation build import journeylab from this checkout
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(ROOT) not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *parts])
    opt = config.option
    nbval = getattr(opt, "nbval_lax", False) or getattr(opt, "nbval", False)
    if nbval and getattr(opt, "nbval_sanitize_with", None) is None:
        opt.nbval_sanitize_with = str(SANITIZE)
    config.stash[_EXECUTED] = {}
    config.stash[_RUNS] = {}
    _byte_compile()


def _byte_compile() -> None:
    """Byte-compile journeylab once, as an installation does. The test run starts many Python
    processes that import it (kernels, worker processes, notebooks); with
    ``PYTHONDONTWRITEBYTECODE`` set none of them writes its compiled modules, so each would
    compile every module again (about 0.6 s a process here). A file that changes later is
    compiled again by the process that imports it, as always."""
    import compileall

    compileall.compile_dir(str(ROOT / "journeylab"), quiet=1)


def _out_dir(config: pytest.Config) -> Path:
    if _OUT not in config.stash:
        keep = os.environ.get("JOURNEYLAB_EXECUTED_NOTEBOOKS")
        if keep:
            out = Path(keep).resolve()
            out.mkdir(parents=True, exist_ok=True)
        else:
            out = Path(config._tmp_path_factory.mktemp("executed-notebooks"))  # type: ignore[attr-defined]
        config.stash[_OUT] = out
    return config.stash[_OUT]


def _is_cell(item: pytest.Item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item.parent, "kernel")


#: where the notebooks' cells and the tests that read their executed copies are: one work unit
#: of pytest-xdist (see pytest_xdist_make_scheduler)
NOTEBOOK_GROUP = ("notebooks/", "tests/test_notebooks.py::", "tests/browser/test_notebooks_browser.py::")


def pytest_itemcollected(item: pytest.Item) -> None:
    if "executed_notebooks" in getattr(item, "fixturenames", ()) and not item.nodeid.startswith(NOTEBOOK_GROUP):
        raise pytest.UsageError(
            f"{item.nodeid} uses executed_notebooks: add its file to NOTEBOOK_GROUP in conftest.py, so that it "
            "runs on the worker that executed the notebooks"
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # type: ignore[no-untyped-def]
    """(xdist controller, ``--dist load``, the default of ``-n``) every test goes to whichever
    worker is free, except the notebooks' cells and the tests that read the executed notebooks:
    one work unit, in collection order, on one worker (the cells of a notebook share its kernel,
    and each notebook is executed once). The unit is chosen from node ids, which is all the
    controller sees (xdist's own ``loadgroup`` marks node ids in a way pytest 9.2 ignores)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class NotebooksTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "notebooks" if nodeid.startswith(NOTEBOOK_GROUP) else nodeid

    return NotebooksTogether(config, log)


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = getattr(session.config, "workeroutput", None)  # an xdist worker: tell the controller
    if out is not None:
        done = session.config.stash.get(_EXECUTED, {})
        out["journeylab_notebooks"] = {
            name: {**asdict(e), "path": None if e.path is None else str(e.path)} for name, e in done.items()
        }
        if _OUT in session.config.stash:
            out["journeylab_notebooks_dir"] = str(session.config.stash[_OUT])


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # type: ignore[no-untyped-def]
    """(xdist controller) a worker's executed notebooks, for the table at the end."""
    out = getattr(node, "workeroutput", {})
    for name, e in out.get("journeylab_notebooks", {}).items():
        node.config.stash[_EXECUTED][name] = Executed(**{**e, "path": e["path"] and Path(e["path"])})
    if "journeylab_notebooks_dir" in out:
        node.config.stash[_OUT] = Path(out["journeylab_notebooks_dir"])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):  # type: ignore[no-untyped-def]
    yield  # nbval's collector has started the notebook's kernel
    if not _is_cell(item) or item.cell_num != 0:  # type: ignore[attr-defined]
        return
    name = Path(str(item.parent.fspath)).stem  # type: ignore[union-attr]
    workdir = Path(item.config._tmp_path_factory.mktemp(f"nb-{name}"))  # type: ignore[attr-defined]
    kernel = item.parent.kernel  # type: ignore[union-attr]
    if kernel is not None and kernel.is_alive():
        # a scratch working folder; nothing is added to the notebook's namespace
        msg_id = kernel.execute_cell_input(f"__import__('os').chdir({str(workdir)!r})", allow_stdin=False)
        kernel.await_reply(msg_id, timeout=60)
        kernel.await_idle(msg_id, 60)
    item.config.stash[_RUNS][name] = _Run(copy.deepcopy(item.parent.nb), workdir, time.perf_counter())  # type: ignore[union-attr]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    if not _is_cell(item) or call.when != "call":
        return
    run = item.config.stash[_RUNS].get(Path(str(item.parent.fspath)).stem)  # type: ignore[union-attr]
    if run is None:
        return
    run.outputs[item.cell_num] = list(item.test_outputs or [])  # type: ignore[attr-defined]
    if outcome.get_result().failed:
        # a cell that ran to the end but shows another output than the stored one leaves a
        # complete executed notebook; one that raised (or timed out) does not
        exc = call.excinfo.value if call.excinfo is not None else None
        if exc is not None and str(exc) == "Cell outputs differ":
            run.differ.append(item.cell_num)  # type: ignore[attr-defined]
        else:
            run.failed.append(item.cell_num)  # type: ignore[attr-defined]


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    if not _is_cell(item) or (nextitem is not None and nextitem.parent is item.parent):
        return
    name = Path(str(item.parent.fspath)).stem  # type: ignore[union-attr]
    run = item.config.stash[_RUNS].pop(name, None)
    if run is None:
        return
    import nbformat

    nb = run.nb
    n = 0
    for cell in nb.cells:  # type: ignore[attr-defined]
        if cell.cell_type != "code":
            continue
        outs = run.outputs.get(n)
        cell.outputs = [nbformat.from_dict(dict(o)) for o in outs] if outs is not None else []
        cell.execution_count = n + 1 if outs is not None else None
        for o in cell.outputs:
            if o.output_type == "execute_result":
                o.execution_count = cell.execution_count
        n += 1
    path = _out_dir(item.config) / f"{name}.ipynb"
    nbformat.write(nb, path)
    item.config.stash[_EXECUTED][name] = Executed(
        name, path, time.perf_counter() - run.started, run.failed, differ=run.differ
    )


def _execute_with_nbclient(name: str, out: Path, workdir: Path) -> Executed:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(workdir)}})
    t0 = time.perf_counter()
    failed: list[int] = []
    try:
        client.execute()
    except CellExecutionError:
        failed = [-1]
    path = out / f"{name}.ipynb"
    nbformat.write(nb, path)
    return Executed(name, path, time.perf_counter() - t0, failed, by="nbclient")


@pytest.fixture(scope="session")
def executed_notebooks(request: pytest.FixtureRequest) -> Callable[[str], Executed]:
    """``get(name)``: the tutorial notebook ``name`` as executed in this test run (by nbval,
    or now by nbclient when nbval did not run it)."""
    config = request.config
    done = config.stash[_EXECUTED]

    def get(name: str) -> Executed:
        if name not in done:
            pytest.importorskip("nbclient", reason="nbclient is not installed (the dev extra)")
            pytest.importorskip("ipykernel", reason="ipykernel is not installed (the notebook extra)")
            workdir = Path(config._tmp_path_factory.mktemp(f"nb-{name}"))  # type: ignore[attr-defined]
            done[name] = _execute_with_nbclient(name, _out_dir(config), workdir)
        return done[name]

    return get


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    done = config.stash.get(_EXECUTED, {})
    if not done:
        return
    tr = terminalreporter
    tr.section("notebooks")
    total = 0.0
    for name in sorted(done):
        e = done[name]
        total += e.seconds
        state = "ok" if not e.failed else f"FAILED (cells {e.failed})"
        if e.differ:
            state += f", outputs differ from the stored ones in cells {e.differ}"
        tr.write_line(f"{name:36} {e.seconds:6.1f} s  {e.by:8} {state}")
    tr.write_line(f"{'executed notebooks':36} {total:6.1f} s  in {_out_dir(config)}")
