"""The documentation site's own machinery (``docs/_ext/journeylab_docs.py``, ``docs/check_links.py``).

Links in the repository's Markdown name repository files, so they work on a code host; while
the site is built they are pointed at the site's pages, and a link to a file or a test that has
no page is reported (an error with ``-W``). The offline link checker finds a missing page and a
missing anchor. The site itself is built with warnings as errors by ``.ci/run``.
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def ext():  # type: ignore[no-untyped-def]
    pytest.importorskip("sphinx", reason="sphinx is not installed (the docs extra)")
    return _load("journeylab_docs", ROOT / "docs" / "_ext" / "journeylab_docs.py")


def test_repository_links_become_site_links(ext, caplog):
    t = ext._site_target
    # a page of docs/ to another, with its anchor
    assert t("concepts", "docs/concepts.md", "format.md#settings") == "format.md#settings"
    # repository files that are pages of the site, seen from pages at different depths
    assert t("quickstart", "docs/quickstart.md", "../notebooks/01_quickstart.ipynb") == "tutorials/01_quickstart.ipynb"
    assert t("tutorials/index", "notebooks/README.md", "../docs/notebooks.md") == "../notebooks.md"
    assert t("tutorials/index", "notebooks/README.md", "02_timeouts.ipynb") == "02_timeouts.ipynb"
    assert t("bundled/examples", "examples/README.md", "../docs/format.md") == "../format.md"
    assert t("index", "docs/index.md", "../notebooks/README.md") == "tutorials/index.md"
    # a test, by module and name
    link = "../tests/test_engine_examples.py#test_node_timeout_users_a_and_b"
    assert t("decisions", "docs/decisions.md", link) == "tests/test_engine_examples.md#test_node_timeout_users_a_and_b"
    assert (
        t("decisions", "docs/decisions.md", "../tests/browser/test_canvas_browser.py")
        == "tests/browser/test_canvas_browser.md"
    )
    # other sites and anchors of the same page are left alone
    assert t("index", "docs/index.md", "https://nbval.readthedocs.io") is None
    assert t("index", "docs/index.md", "#quick-start") is None
    assert not caplog.records


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("../tests/test_engine_examples.py#test_that_does_not_exist", "a test that does not exist"),
        ("../tests/test_nothing_here.py", "a test module that does not exist"),
        ("../pyproject.toml", "has no page on this site"),
    ],
)
def test_a_link_to_nothing_on_the_site_is_reported(ext, caplog, target, says):
    with caplog.at_level(logging.WARNING):
        ext._site_target("decisions", "docs/decisions.md", target)
    assert any(says in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_links_inside_code_are_not_rewritten(ext, monkeypatch):
    class Env:
        def doc2path(self, docname: str) -> Path:
            return Path(f"{docname}.md")

    class App:
        env = Env()

    text = (
        "See [the format](format.md) and [`examples/`](../examples/README.md).\n\n"
        "```python\nx = handlers[j](../examples/README.md)\n```\n"
        "and `d[k](../pyproject.toml)` inline.\n"
    )
    source = [text]
    ext.rewrite_links(App(), "concepts", source)
    assert "[`examples/`](bundled/examples.md)" in source[0]
    assert "handlers[j](../examples/README.md)" in source[0]
    assert "`d[k](../pyproject.toml)`" in source[0]


def test_the_link_checker_finds_a_missing_page_and_a_missing_anchor(tmp_path, capsys):
    check = _load("check_links", ROOT / "docs" / "check_links.py")
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1><a href="b.html#part">b</a><a href="https://x.example/">x</a>')
    (tmp_path / "b.html").write_text('<h2 id="part">B</h2><a href="a.html#top">a</a>')
    assert check.main(str(tmp_path)) == 0
    (tmp_path / "b.html").write_text('<h2 id="other">B</h2><a href="c.html">c</a>')
    assert check.main(str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "a.html: b.html#part (no id 'part' there)" in out and "b.html: c.html (no such file)" in out
