"""Sphinx extension of the journeylab documentation: pages from the rest of the repository,
and links between repository files turned into links between the site's pages.

Generated when the build starts (git-ignored, rewritten on every build):

* ``tutorials/``: the tutorial notebooks with their outputs (the executed copies of the test
  run when ``JOURNEYLAB_EXECUTED_NOTEBOOKS`` names them, else executed now with nbclient, two
  at a time, each in a scratch folder) and ``tutorials/index.md`` from ``notebooks/README.md``;
* ``bundled/datasets.md`` and ``bundled/examples.md`` from the READMEs of ``datasets/`` and
  ``examples/``;
* ``tests/<module>.md`` for every test module a page links to: each test function as a
  section (its name as the heading, its docstring, its source).

The Markdown in the repository links files by their repository paths, so the links work on a
code host too (``../notebooks/README.md``, ``../tests/test_engine_examples.py#test_name``).
While Sphinx reads a page, every relative link is resolved against the page's place in the
repository and pointed at the site page of that file; a link to a test names the test's
section. A link to a repository file that has no page here is an error (a warning, which the
build turns into an error with ``-W``), and so is a link to a test that does not exist.
"""

from __future__ import annotations

import ast
import os
import posixpath
import re
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

log = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
GENERATED = ("tutorials", "bundled", "tests")
# repository file -> site page (docname), besides the pages of docs/ themselves
PAGES = {
    "README.md": "index",
    "notebooks/README.md": "tutorials/index",
    "datasets/README.md": "bundled/datasets",
    "examples/README.md": "bundled/examples",
}
LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]+)\)")
FENCED = re.compile(r"(^(?:```|~~~).*?^(?:```|~~~)[ \t]*$)", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]+`")
TEST_LINK = re.compile(r"\(((?:\.\./)+)tests/((?:browser/)?test_\w+)\.py(?:#(\w+))?\)")

# docname -> the repository path it came from (generated pages)
ORIGIN: dict[str, str] = {}


def _notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _execute(path: Path) -> Any:
    import tempfile

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix=f"docs-{path.stem}-") as work:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": work}}).execute()
    return nb


def _generate_tutorials() -> None:
    from concurrent.futures import ThreadPoolExecutor

    import nbformat

    out = DOCS / "tutorials"
    executed = os.environ.get("JOURNEYLAB_EXECUTED_NOTEBOOKS")
    books = _notebooks()
    if executed:
        missing = [nb.name for nb in books if not (Path(executed) / nb.name).exists()]
        if missing:
            raise RuntimeError(f"JOURNEYLAB_EXECUTED_NOTEBOOKS={executed} lacks {missing}: run the tests first")
        runs = [nbformat.read(Path(executed) / nb.name, as_version=4) for nb in books]
    else:
        log.info("executing the tutorial notebooks (JOURNEYLAB_EXECUTED_NOTEBOOKS is not set)")
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(_execute, books))
    for nb, run in zip(books, runs, strict=True):
        # the site shows a figure's HTML (plotly.js embedded once per page, drawn offline);
        # Plotly's JupyterLab mime type, which only JupyterLab draws, is dropped
        for cell in run.cells:
            for o in cell.get("outputs", []):
                data = o.get("data", {})
                if "application/vnd.plotly.v1+json" in data and "text/html" in data:
                    del data["application/vnd.plotly.v1+json"]
        nbformat.write(run, out / nb.name)
        ORIGIN[f"tutorials/{nb.stem}"] = f"notebooks/{nb.name}"
    names = [nb.stem for nb in books]
    index = (ROOT / "notebooks" / "README.md").read_text(encoding="utf-8")
    index += "\n```{toctree}\n:hidden:\n\n" + "\n".join(names) + "\n```\n"
    _write(out / "index.md", index)
    ORIGIN["tutorials/index"] = "notebooks/README.md"


def _generate_bundled() -> None:
    for repo_path, docname in PAGES.items():
        if docname.startswith("bundled/"):
            _write(DOCS / f"{docname}.md", (ROOT / repo_path).read_text(encoding="utf-8"))
            ORIGIN[docname] = repo_path


def _test_page(module: str) -> str:
    path = ROOT / "tests" / f"{module}.py"
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    doc = ast.get_docstring(tree) or ""
    parts = [
        f"# tests/{module}.py\n",
        f"{doc}\n" if doc else "",
        f"Every test of `tests/{module}.py` with its source; run one with "
        f"`python -m pytest tests/{module}.py -k NAME`.\n",
    ]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
            code = "\n".join(lines[start : node.end_lineno])
            fdoc = ast.get_docstring(node) or ""
            parts.append(f"## {node.name}\n\n{fdoc}\n\n```python\n{code}\n```\n")
    return "\n".join(parts)


def _linked_tests() -> set[str]:
    found: set[str] = set()
    for md in DOCS.rglob("*.md"):
        if "_build" in md.parts:
            continue
        found.update(m.group(2) for m in TEST_LINK.finditer(md.read_text(encoding="utf-8")))
    for repo_path in PAGES:
        found.update(m.group(2) for m in TEST_LINK.finditer((ROOT / repo_path).read_text(encoding="utf-8")))
    return found


def _generate_tests() -> None:
    modules = [m for m in sorted(_linked_tests()) if (ROOT / "tests" / f"{m}.py").exists()]
    rows = []
    for module in modules:
        _write(DOCS / "tests" / f"{module}.md", _test_page(module))
        ORIGIN[f"tests/{module}"] = f"tests/{module}.py"
        doc = ast.get_docstring(ast.parse((ROOT / "tests" / f"{module}.py").read_text(encoding="utf-8"))) or ""
        rows.append(f"| [{module}.py]({module}.py) | {doc.splitlines()[0] if doc else ''} |")
    _write(
        DOCS / "tests" / "index.md",
        "\n".join(
            [
                "# Tests cited",
                "",
                "The test modules that pages of this site point to, each shown with its tests and their "
                "source. The whole suite runs with `.venv/bin/python -m pytest`.",
                "",
                "| module | what it tests |",
                "|---|---|",
                *rows,
                "",
                "```{toctree}",
                ":hidden:",
                "",
                *modules,
                "```",
                "",
            ]
        ),
    )
    ORIGIN["tests/index"] = "tests/index.md"


def generate(app: Sphinx, config: Any) -> None:
    for d in GENERATED:
        shutil.rmtree(DOCS / d, ignore_errors=True)
        (DOCS / d).mkdir()
    ORIGIN.clear()
    _generate_tutorials()
    _generate_bundled()
    _generate_tests()


def _site_target(docname: str, origin: str, target: str) -> str | None:
    """The link ``target`` written in repository file ``origin``, as seen from ``docname``;
    None when it is not a relative link to a file."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith(("#", "/")):
        return None
    path, _, fragment = target.partition("#")
    repo = posixpath.normpath(posixpath.join(posixpath.dirname(origin), path))
    if repo.startswith("docs/") and (repo.endswith(".md") or repo.endswith(".ipynb")):
        page = repo[len("docs/") :].rsplit(".", 1)[0]
    elif repo in PAGES:
        page = PAGES[repo]
    elif repo.startswith("notebooks/") and repo.endswith(".ipynb"):
        page = f"tutorials/{Path(repo).stem}"
    elif repo.startswith("tests/") and repo.endswith(".py"):
        module = repo[len("tests/") : -len(".py")]
        page = f"tests/{module}"
        if not (ROOT / repo).exists():
            log.warning(f"link to a test module that does not exist: {target}", location=docname)
            return target
        if fragment and fragment not in _test_names(module):
            log.warning(f"link to a test that does not exist: {target}", location=docname)
    else:
        log.warning(f"link to {repo}, a repository file that has no page on this site: {target}", location=docname)
        return target
    suffix = ".ipynb" if page.startswith("tutorials/") and page != "tutorials/index" else ".md"
    rel = posixpath.relpath(page + suffix, posixpath.dirname(docname) or ".")
    return rel + (f"#{fragment}" if fragment else "")


_TESTS: dict[str, set[str]] = {}


def _test_names(module: str) -> set[str]:
    if module not in _TESTS:
        tree = ast.parse((ROOT / "tests" / f"{module}.py").read_text(encoding="utf-8"))
        _TESTS[module] = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    return _TESTS[module]


def rewrite_links(app: Sphinx, docname: str, source: list[str]) -> None:
    if app.env.doc2path(docname).suffix != ".md":
        return  # notebooks link their neighbours only
    origin = ORIGIN.get(docname, f"docs/{docname}.md")

    def rewrite(text: str) -> str:
        code = [m.span() for m in INLINE_CODE.finditer(text)]

        def sub(m: re.Match[str]) -> str:
            if any(a <= m.start() < b for a, b in code):
                return m.group(0)  # inside inline code: not a link
            new = _site_target(docname, origin, m.group(2))
            return m.group(0) if new is None else f"[{m.group(1)}]({new})"

        return LINK.sub(sub, text)

    # links outside code: fenced blocks and inline code are left as they are
    parts = FENCED.split(source[0])
    source[0] = "".join(part if i % 2 else rewrite(part) for i, part in enumerate(parts))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", generate)
    app.connect("source-read", rewrite_links)
    return {"version": "1", "parallel_read_safe": True}
