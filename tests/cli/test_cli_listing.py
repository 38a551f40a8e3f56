"""``hqnn backends`` / ``components`` / ``plugins``: user text is never read as rich markup, and tables fit 80 columns."""

from __future__ import annotations

import sys

import pytest

from hqnn_core import hookimpl
from hqnn_core.cli import main
from hqnn_core.plugin_manager import temporary_plugin


class _MissingSdk:
    """A vendor plugin whose backend needs an SDK that is not installed (its note carries the extra)."""

    @hookimpl
    def hqnn_register_backends(self, registry):
        registry.add("qiskit.nothing", "nowhere:Backend", extra="qiskit", requires=("acme_sdk_x",))


def _column(out: str, index: int) -> list[str]:
    """The cells of column ``index`` (1-based, between the │ borders) of every body line, in order."""
    return [line.split("│")[index].strip() for line in out.splitlines() if line.count("│") > index]


def _hqnn(monkeypatch, capsys, *args: str) -> str:
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys, "argv", ["hqnn", *args])
    with temporary_plugin(_MissingSdk(), name="a_vendor_plugin_with_a_rather_long_name"):
        main()
    return capsys.readouterr().out


@pytest.mark.parametrize("command", [["backends"], ["components"], ["components", "--kind", "backend"]])
def test_install_hint_survives_and_fits_80_columns(monkeypatch, capsys, command):
    out = _hqnn(monkeypatch, capsys, *command)
    notes = " ".join(" ".join(_column(out, 4)).split())
    assert 'needs acme_sdk_x, not installed; install it with: pip install "hqnn[qiskit]"' in notes
    assert '"hqnn[qiskit]"' in out  # the extra whole on one line, not swallowed as a [qiskit] style tag
    assert "…" not in out  # nothing is cut off
    widths = [len(line) for line in out.splitlines()]
    assert max(widths) <= 80, max(widths)


def test_plugins_table_keeps_brackets_in_errors(monkeypatch, capsys):
    from hqnn_core.plugin_manager import PluginInfo, get_plugins

    broken = PluginInfo("acme", "hqnn-acme", "1.0", status="broken", error='No module named acme_sdk; pip install "hqnn-acme[sdk]"')
    monkeypatch.setitem(get_plugins().infos, "acme", broken)
    out = _hqnn(monkeypatch, capsys, "plugins")
    assert max(len(line) for line in out.splitlines()) <= 80
    errors = " ".join(" ".join(_column(out, 5)).split())
    assert 'No module named acme_sdk; pip install "hqnn-acme[sdk]"' in errors
