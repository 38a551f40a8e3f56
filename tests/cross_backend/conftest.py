"""Registers every shipped adapter whose SDK is installed (autoload is off in the test suite)."""

from __future__ import annotations

import importlib
from contextlib import ExitStack

import pytest

import hqnn_core
from hqnn_core._optional import missing_modules

ADAPTERS = {"qiskit": ("qiskit", "qiskit_aer"), "pennylane": ("pennylane",), "braket": ("braket",)}


@pytest.fixture(autouse=True)
def vendor_adapters():
    with ExitStack() as stack:
        for name, modules in ADAPTERS.items():
            if not missing_modules(modules):
                plugin = importlib.import_module(f"hqnn_{name}")
                stack.enter_context(hqnn_core.temporary_plugin(plugin, name=name, distribution="hqnn"))
        yield
