"""Docs tests: the checking helpers live beside the Sphinx extension in docs/_ext, one copy for both."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "docs" / "_ext"))
