"""Store the reference outputs nbval compares, and nothing else, in the tutorial notebooks.

    python scripts/store_notebook_outputs.py [--check] [NOTEBOOK...]

The notebooks are stored without outputs, except the code cells tagged
``nbval-check-output``: their outputs are the reference that ``python -m pytest`` (nbval,
lax mode) compares a new run with, after the sanitizers of ``notebooks/nbval_sanitize.cfg``.
This script executes each notebook (default: every ``notebooks/NN_*.ipynb``) in a fresh
kernel in a scratch folder with journeylab imported from this checkout, then writes it back
with the outputs of the tagged cells and every other cell cleared. Run it after changing a
tagged cell, or after a change of behaviour that rightly changes what such a cell shows
(review the diff: it is the behaviour change). ``--check`` writes nothing and exits 1 when a
stored notebook differs from what it would write (outputs are compared after sanitizing).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TAG = "nbval-check-output"


def sanitizers() -> list[tuple[str, str]]:
    text = (ROOT / "notebooks" / "nbval_sanitize.cfg").read_text()
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.MULTILINE)


def tagged(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and TAG in cell.get("metadata", {}).get("tags", [])


def execute(path: Path) -> tuple[nbformat.NotebookNode, float]:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix=f"nb-{path.stem}-") as work:
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": work}}).execute()
        return nb, time.perf_counter() - t0


def stored_form(executed: nbformat.NotebookNode, stored: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(executed)
    nb.metadata = stored.metadata  # not the kernel's language_info, widget state...
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.metadata.pop("execution", None)
        if tagged(cell):
            cell.execution_count = count
            for o in cell.outputs:
                if o.output_type == "execute_result":
                    o.execution_count = count
        else:
            cell.outputs = []
            cell.execution_count = None
    return nb


def normalised(nb: nbformat.NotebookNode, subs: list[tuple[str, str]]) -> str:
    text = nbformat.writes(nb)
    for regex, replace in subs:
        text = re.sub(regex, replace, text)
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="names or paths (default: every notebooks/NN_*.ipynb)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a notebook would change")
    args = ap.parse_args()
    paths = [ROOT / "notebooks" / f"{Path(n).stem}.ipynb" for n in args.notebooks] or sorted(
        (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")
    )
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    subs = sanitizers()
    changed = []
    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, (executed, seconds) in zip(paths, pool.map(execute, paths), strict=True):
            old = nbformat.read(path, as_version=4)
            new = stored_form(executed, old)
            n = sum(tagged(c) for c in new.cells)
            same = normalised(new, subs) == normalised(old, subs)
            print(f"{path.name}: {seconds:.0f} s, {n} compared cells, {'unchanged' if same else 'changed'}")
            if not same:
                changed.append(path.name)
                if not args.check:
                    path.write_text(nbformat.writes(new) + "\n", encoding="utf-8")
    if args.check and changed:
        print(f"would change: {', '.join(changed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
