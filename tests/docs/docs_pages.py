"""Reading docs pages and the examples marked in them for testing (``% test: <name>`` lines)."""

from __future__ import annotations

import re
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def page(relative: str) -> str:
    """The text of a docs page, e.g. ``page("plugins/hooks.md")``."""
    return (DOCS / relative).read_text(encoding="utf-8")


def marked_block(text: str, marker: str) -> str:
    """The first ```python block after the MyST comment line ``% test: <marker>``."""
    match = re.search(rf"^% test: {re.escape(marker)}\b.*?^```python\n(.*?)^```", text, re.S | re.M)
    if match is None:
        raise AssertionError(f"no '% test: {marker}' line followed by a python block: the page lost its tested example")
    return match.group(1)


def module_from(code: str, name: str) -> types.ModuleType:
    """Execute example code as a fresh module (so pluggy can register it as a plugin)."""
    module = types.ModuleType(name)
    exec(compile(code, f"<docs example {name}>", "exec"), module.__dict__)  # noqa: S102 - our own docs' examples
    return module
