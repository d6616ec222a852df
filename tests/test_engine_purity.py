"""The engine core stays pure: standard library, numpy and the model layer only (DESIGN rule 1)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[1] / "journeylab" / "engine"
VALIDATE = ENGINE.parent / "validate"  # the engine's drivers validate on the way in: pure too
FORBIDDEN = {
    "simpy",
    "pandas",
    "plotly",
    "ipywidgets",
    "ipycytoscape",
    "sqlalchemy",
    "sqlite3",
    "dask",
    "requests",
    "httpx",
    "random",
    "time",
    "os",
    "socket",
    "asyncio",
    "threading",
}


def test_engine_sources_import_no_io_or_driver_library():
    for path in ENGINE.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in FORBIDDEN, f"{path.name} imports {name}"
                if top == "journeylab":
                    assert name.startswith(
                        ("journeylab.engine", "journeylab.model", "journeylab.errors", "journeylab.validate")
                    ), name


def test_validation_sources_import_no_io_or_driver_library_at_module_level():
    for path in VALIDATE.glob("*.py"):
        for node in ast.parse(path.read_text()).body:  # (a report's to_frame imports pandas when called)
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"
                if name.startswith("journeylab"):
                    assert name.startswith(("journeylab.model", "journeylab.errors", "journeylab.validate")), name


def test_importing_the_engine_loads_no_driver_library():
    code = (
        "import sys, journeylab.engine, journeylab.validate\n"
        "bad = sorted(m for m in ('simpy','pandas','plotly','ipywidgets','sqlalchemy','dask') if m in sys.modules)\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_engine_reads_no_clock():
    for path in ENGINE.glob("*.py"):
        src = path.read_text()
        for call in ("datetime.now(", "dt.datetime.now(", "time.time(", "utcnow(", "date.today("):
            assert call not in src, f"{path.name} reads the clock ({call})"
