"""The converter registry: lazy like backends, and hqnn_core.convert imports no SDK."""

from __future__ import annotations

import subprocess
import sys

import pytest

import hqnn_core
from hqnn_core import hookimpl
from hqnn_core.errors import MissingExtraError, PluginError
from hqnn_core.plugin_manager import get_plugins


class _AcmeConverters:
    @hookimpl
    def hqnn_register_converters(self, registry):
        registry.add("acme.qasm", "acme_sdk_that_is_not_installed.convert:Converter", requires=("acme_sdk_that_is_not_installed",))


def test_a_third_party_converter_registers_lazily_and_a_missing_sdk_is_named():
    with hqnn_core.temporary_plugin(_AcmeConverters(), name="acme", distribution="hqnn-acme"):
        entry = get_plugins().converters.entry("acme.qasm")
        assert (entry.plugin, entry.distribution, entry.available) == ("acme", "hqnn-acme", False)
        with pytest.raises(MissingExtraError, match="acme_sdk_that_is_not_installed"):
            get_plugins().converters.get("acme.qasm")


def test_converter_names_from_third_parties_are_namespaced_and_have_no_families():
    class Bad:
        @hookimpl
        def hqnn_register_converters(self, registry):
            registry.add("qasm9", "x:Y")

    with pytest.raises(PluginError, match="without a namespace"), hqnn_core.temporary_plugin(Bad(), name="bad", distribution="hqnn-bad"):
        pass
    with pytest.raises(TypeError, match="families are for backends"):
        get_plugins().converters.add_family("acme", "x:Y")


def test_importing_hqnn_core_convert_imports_no_vendor_sdk():
    code = "import sys, hqnn_core.convert; print(sorted(m for m in ('qiskit', 'pennylane', 'braket') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
