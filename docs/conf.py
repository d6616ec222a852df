"""Sphinx configuration of the journeylab documentation site.

Build it (``docs`` extra) with warnings as errors, then check every link offline::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
    python docs/check_links.py docs/_build/html

The Markdown pages of ``docs/`` are the site's pages (MyST). ``_ext/journeylab_docs.py``
adds what lives elsewhere in the repository: the tutorial notebooks (``tutorials/``, rendered
with their outputs by myst-nb), the dataset and example READMEs, and one page per test module
that a page links to (``tests/``); it also turns links between repository files, written so
that they work on a code host, into links between the site's pages.

The notebooks are rendered with the outputs of the test run when
``JOURNEYLAB_EXECUTED_NOTEBOOKS`` names the folder where the test run kept them (CI does);
otherwise they are executed when the build starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document journeylab from this checkout
sys.path.insert(0, str(DOCS / "_ext"))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import journeylab  # noqa: E402

project = "journeylab"
author = "the journeylab authors"
copyright = "the journeylab authors"
release = version = journeylab.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "journeylab_docs",
]
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "check_links.py"]
suppress_warnings: list[str] = []

# MyST: GitHub-style anchors for links such as format.md#settings
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]

# myst-nb renders the notebooks as _ext/journeylab_docs.py wrote them, outputs included (the
# test run's, or executed by the extension when the build starts): it executes nothing itself
nb_execution_mode = "off"
nb_merge_streams = True

# API reference from the docstrings (the public names of each module's __all__)
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autosummary_generate = False
viewcode_follow_imported_members = False  # a source page per module, linked from its own objects
napoleon_numpy_docstring = True
napoleon_google_docstring = False

html_theme = "pydata_sphinx_theme"
html_title = f"journeylab {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_static_path = ["_static"]
html_css_files = ["journeylab.css"]
html_show_sourcelink = False
html_copy_source = False
