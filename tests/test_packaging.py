"""What the installed package needs ships in it.

Every file of the package that is not Python (bundled datasets, example journeys, the JSON
schema) must be matched by a ``[tool.setuptools.package-data]`` pattern of its package, or a
wheel would silently lack it (``load`` would even regenerate a missing dataset in memory).
The bundled examples are usable by name from the command line, so the installed wheel alone
runs the README's main job. ``scripts/check_package.py`` (a phase of ``.ci/run``) builds the
wheel and sdist, checks their contents against the source tree and runs that job from the
wheel in a fresh virtual environment.
"""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pandas as pd

from journeylab import cli
from journeylab.examples import EXAMPLES, example_path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "journeylab"


def _data_files() -> list[Path]:
    return sorted(
        p
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    )


def test_every_data_file_of_the_package_is_declared_as_package_data():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns: dict[str, list[str]] = config["tool"]["setuptools"]["package-data"]
    files = _data_files()
    # what the wheel must carry: the datasets, the examples, the schema, the typing marker
    assert {p.relative_to(PACKAGE).parts[0] for p in files} >= {"datasets", "examples", "model"}
    missing = []
    for p in files:
        rel = p.relative_to(ROOT)
        # the package owning the file is its nearest folder with an __init__.py
        pkg = p.parent
        while not (pkg / "__init__.py").exists():
            pkg = pkg.parent
        name = ".".join(pkg.relative_to(ROOT).parts)
        inner = p.relative_to(pkg).as_posix()
        globs = patterns.get(name, []) + patterns.get("*", [])
        if not any(fnmatch.fnmatch(inner, g) for g in globs):
            missing.append(str(rel))
    assert not missing, f"not in [tool.setuptools.package-data], so not in the wheel: {missing}"


def test_the_repository_examples_are_the_bundled_ones():
    """``examples/*.json`` (what the README uses) and the JSON shipped in the package agree."""
    for name in EXAMPLES:
        assert (ROOT / "examples" / f"{name}.json").read_bytes() == example_path(name).read_bytes(), name


def test_cli_runs_a_bundled_example_by_name(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no examples/ folder here: the package's own JSON is used
    assert cli.main(["examples"]) == 0
    listed = capsys.readouterr().out
    assert "cart_abandonment" in listed and "reference_journey" in listed
    assert cli.main(["validate", "cart_abandonment"]) == 0
    assert "cart_abandonment: 0 errors" in capsys.readouterr().out
    by_name = tmp_path / "by_name"
    assert (
        cli.main(["simulate", "cart_abandonment", "--dataset", "ecommerce", "--workers", "1", "--out", str(by_name)])
        == 0
    )
    by_file = tmp_path / "by_file"
    src = str(ROOT / "examples" / "cart_abandonment.json")
    assert cli.main(["simulate", src, "--dataset", "ecommerce", "--workers", "1", "--out", str(by_file)]) == 0
    a, b = pd.read_parquet(by_name / "trace.parquet"), pd.read_parquet(by_file / "trace.parquet")
    assert len(a) > 1000
    pd.testing.assert_frame_equal(a, b)
    # a name that is neither a file nor an example is reported as a missing file
    assert cli.main(["validate", "no_such_journey"]) == 2
    assert "no_such_journey" in capsys.readouterr().err
