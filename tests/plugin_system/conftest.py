"""Fake installed distributions (dist-info + module) on a temporary sys.path entry."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from hqnn_core.plugin_manager import reset_plugins


class FakeSite:
    """Writes ``name-version.dist-info`` folders with ``hqnn`` entry points into one sys.path entry."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: list[str] = []

    def add(self, dist: str, module: str, source: str, *, version: str = "1.0", entry_name: str | None = None,
            requires: tuple[str, ...] = ("hqnn>=0.1",)) -> None:
        (self.root / f"{module}.py").write_text(textwrap.dedent(source))
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        meta = ["Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}"] + [f"Requires-Dist: {r}" for r in requires]
        (info / "METADATA").write_text("\n".join(meta) + "\n")
        (info / "entry_points.txt").write_text(f"[hqnn]\n{entry_name or module} = {module}\n")
        self.modules.append(module)
        importlib.invalidate_caches()


@pytest.fixture
def fake_site(tmp_path, monkeypatch):
    """A sys.path entry for fake plugin distributions, with entry-point autoload switched on."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HQNN_DISABLE_PLUGIN_AUTOLOAD", "0")
    site = FakeSite(tmp_path)
    reset_plugins()
    yield site
    for module in site.modules:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()
    reset_plugins()


GOOD_PLUGIN_SOURCE = """
    from hqnn_core import hookimpl, Encoder

    class Doubled(Encoder):
        '''Angle encoding at twice the angle.'''
        name = "good.doubled"
        def n_features(self, n_qubits):
            return n_qubits
        def add_ops(self, builder, wires):
            for i, w in enumerate(wires):
                builder.add("RY", [w], builder.input(i, 2.0))

    @hookimpl
    def hqnn_register_encoders(registry):
        registry.add(Doubled)
"""


@pytest.fixture
def good_plugin() -> str:
    """Source of a well-behaved plugin module registering the encoder ``good.doubled``."""
    return GOOD_PLUGIN_SOURCE
