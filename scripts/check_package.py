"""Build the sdist and the wheel, check what they carry, and run the README's main job from
the wheel installed in a fresh virtual environment (a phase of ``.ci/run``).

    python scripts/check_package.py [--keep DIR]

1. ``python -m build`` (the sdist, then the wheel built from the sdist, so the sdist must be
   complete too) into a temporary folder (``--keep DIR``: into DIR, kept);
2. every file of the package in the source tree (modules, bundled datasets, example
   journeys, the JSON schema, the ``py.typed`` marker) must be in the wheel and in the sdist, the wheel
   must carry nothing else but its metadata, and it must declare the ``journeylab`` command;
3. a fresh virtual environment gets the wheel with its base dependencies only (no extras);
4. from that environment, in an empty folder: ``journeylab simulate cart_abandonment
   --dataset ecommerce --out out --report out/report.html`` (the example journey and the
   dataset come from the package data), then the README's exact job from the checkout
   (``examples/cart_abandonment.json``) into another folder; both traces must be equal,
   non-trivial, and the report written.
Exit status 0 when everything holds; otherwise 1 with the reason.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    print("$", " ".join(cmd), flush=True)
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # nothing but the installed wheel
    return subprocess.run(cmd, check=True, text=True, env=env, **kw)  # type: ignore[call-overload]


def source_files() -> set[str]:
    out = set()
    for p in (ROOT / "journeylab").rglob("*"):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
            out.add(p.relative_to(ROOT).as_posix())
    return out


def check_contents(wheel: Path, sdist: Path) -> None:
    want = source_files()
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        entry_points = next((z.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")), "")
    # every file under journeylab/ is wanted; py.typed (PEP 561) is named too so that the check
    # cannot pass on a tree that has lost it
    want |= {"journeylab/py.typed"}
    missing = sorted(want - names)
    if missing:
        raise SystemExit(f"the wheel lacks {len(missing)} files of the package: {missing}")
    extra = sorted(n for n in names - want if ".dist-info/" not in n)
    if extra:
        raise SystemExit(f"the wheel carries files that are not part of the package: {extra}")
    if "journeylab = journeylab.cli:main" not in entry_points:
        raise SystemExit(f"the wheel does not declare the journeylab command:\n{entry_points}")
    with tarfile.open(sdist) as t:
        top = t.getnames()[0].split("/")[0]
        snames = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    missing = sorted((want | {"pyproject.toml", "README.md"}) - snames)
    if missing:
        raise SystemExit(f"the sdist {top} lacks {missing}")
    data = sorted(n for n in want if not n.endswith(".py"))
    print(
        f"wheel {wheel.name}: {len(names)} files, every one of the package's {len(want)} "
        f"({len(data)} data files: {', '.join(Path(d).name for d in data)})"
    )
    print(f"sdist {sdist.name}: {len(snames)} files, the package complete")


def smoke(wheel: Path, work: Path) -> None:
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    py, cmd = venv / "bin" / "python", venv / "bin" / "journeylab"
    t0 = time.perf_counter()
    run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)])
    print(f"installed the wheel and its dependencies in {time.perf_counter() - t0:.0f} s")
    empty = work / "empty"
    empty.mkdir()
    where = run(
        [
            str(py),
            "-c",
            "import journeylab, journeylab.datasets._registry as r; "
            "print(journeylab.__file__); print(r.DATA_DIR); "
            "print(sorted(p.name for p in r.DATA_DIR.glob('*.parquet')))",
        ],
        cwd=empty,
        capture_output=True,
    ).stdout.splitlines()
    print("\n".join(where))
    if not where[0].startswith(str(venv)):
        raise SystemExit(f"journeylab was imported from {where[0]}, not from the wheel in {venv}")
    if "ecommerce-events.parquet" not in where[2]:
        raise SystemExit("the installed package has no bundled ecommerce dataset")
    # 1. from the package data alone: the bundled example by name, the bundled dataset
    t0 = time.perf_counter()
    run(
        [
            str(cmd),
            "simulate",
            "cart_abandonment",
            "--dataset",
            "ecommerce",
            "--out",
            "out",
            "--report",
            "out/report.html",
        ],
        cwd=empty,
    )
    took = time.perf_counter() - t0
    # 2. the README's job as written, from the checkout, with the installed wheel
    readme = work / "readme"
    run(
        [
            str(cmd),
            "simulate",
            "examples/cart_abandonment.json",
            "--dataset",
            "ecommerce",
            "--out",
            str(readme / "out"),
            "--report",
            str(readme / "out" / "report.html"),
        ],
        cwd=ROOT,
    )
    check = (
        "import pandas as pd, sys\n"
        "a = pd.read_parquet(sys.argv[1]); b = pd.read_parquet(sys.argv[2])\n"
        "pd.testing.assert_frame_equal(a, b)\n"
        "assert len(a) > 1000, len(a)\n"
        "print(f'traces equal: {len(a):,} rows, {a.user_id.nunique():,} users')\n"
    )
    run([str(py), "-c", check, str(empty / "out" / "trace.parquet"), str(readme / "out" / "trace.parquet")])
    for report in (empty / "out" / "report.html", readme / "out" / "report.html"):
        size = report.stat().st_size
        if size < 50_000:
            raise SystemExit(f"{report} is only {size} bytes")
    print(f"smoke run from the wheel: {took:.1f} s, report {size / 1e6:.1f} MB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keep", help="build into this folder and keep it (default: a temporary folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="journeylab-package-") as tmp:
        work = Path(tmp)
        dist = Path(args.keep).resolve() if args.keep else work / "dist"
        t0 = time.perf_counter()
        run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], stdout=subprocess.DEVNULL)
        wheels, sdists = sorted(dist.glob("journeylab-*.whl")), sorted(dist.glob("journeylab-*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            raise SystemExit(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
        print(f"built in {time.perf_counter() - t0:.0f} s")
        check_contents(wheels[0], sdists[0])
        smoke(wheels[0], work)
    print("package: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
