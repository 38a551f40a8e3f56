"""The documentation builds with warnings as errors, as CI builds it (slow; needs the docs extra)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from docs_pages import DOCS

pytest.importorskip("sphinx", reason="building the docs needs Sphinx: pip install sphinx myst-parser furo (the tox 'docs' env)")
pytest.importorskip("myst_parser", reason="building the docs needs myst-parser (the tox 'docs' env)")
pytest.importorskip("furo", reason="building the docs needs the furo theme (the tox 'docs' env)")


@pytest.mark.slow
def test_docs_build_with_warnings_as_errors(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    html = (tmp_path / "html" / "plugins" / "hooks.html").read_text()
    assert "hqnn_register_backends" in html
    assert (tmp_path / "html" / "configuration.html").read_text().count("<table") >= 9  # the generated tables are there
