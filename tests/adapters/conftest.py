"""Fixtures of the vendor adapter tests: the folder's adapter registered, float64 on request.

A test in ``tests/adapters/<vendor>/`` gets that vendor's adapter plugin (autoload is off in the
test suite). The plugin modules import only hqnn_core, so this file loads without any SDK; each
test module skips itself when its SDK is missing. Tests directly in ``tests/adapters`` register
what they need themselves.
"""

from __future__ import annotations

import pytest
import torch

import hqnn_braket
import hqnn_core
import hqnn_pennylane
import hqnn_qiskit

ADAPTERS = {"qiskit": hqnn_qiskit, "pennylane": hqnn_pennylane, "braket": hqnn_braket}


@pytest.fixture(autouse=True)
def adapter_plugin(request, _fresh_plugins_and_seed):
    """The plugin manager with the adapter of the test's vendor folder registered (None outside those folders)."""
    vendor = request.path.parent.name
    if vendor not in ADAPTERS:
        yield None
        return
    with hqnn_core.temporary_plugin(ADAPTERS[vendor], name=vendor, distribution="hqnn") as plugins:
        yield plugins


@pytest.fixture
def float64():
    """Layers built inside get float64 weights, so comparisons can be made at 1e-6 and tighter."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
