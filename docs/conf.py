"""Sphinx configuration: MyST Markdown pages, autodoc + napoleon (Google style), furo.

Build with warnings as errors (CI does): ``sphinx-build -W --keep-going -b html docs docs/_build/html``.
Reference pages are generated from the code by ``docs/_ext/hqnn_docs.py``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(DOCS.parent))

# Describe hqnn and the adapters it ships, not whatever third-party plugins are installed here.
os.environ.setdefault("HQNN_DISABLE_PLUGIN_AUTOLOAD", "1")

import hqnn_core  # noqa: E402

project = "hqnn"
author = "The hqnn developers"
copyright = "the hqnn developers"  # noqa: A001 - Sphinx's name
release = hqnn_core.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "hqnn_docs",
]

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "separated"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

smartquotes = False  # keep "--resume" and quotes in help texts exactly as the CLI prints them

html_theme = "furo"
html_title = f"hqnn {release}"


def _skip_metadata_request_setters(app, what, name, obj, skip, options):
    """scikit-learn generates ``set_*_request`` methods whose docstrings cite its own glossary, which Sphinx -W rejects."""
    return True if name.startswith("set_") and name.endswith("_request") else None


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_setters)
