"""Fixtures for the PennyLane adapter tests: the adapter's plugin registered, float64 by default.

The plugin module imports only hqnn_core, so this file loads without PennyLane; each test module
skips itself with ``pytest.importorskip("pennylane")``.
"""

from __future__ import annotations

import pytest
import torch

import hqnn_core
import hqnn_pennylane


@pytest.fixture(autouse=True)
def pennylane_plugin():
    """Make ``pennylane:<device>`` names resolvable (autoload is off in tests)."""
    with hqnn_core.temporary_plugin(hqnn_pennylane, name="pennylane", distribution="hqnn") as plugins:
        yield plugins


@pytest.fixture
def float64():
    """Layers built inside get float64 weights, so comparisons can be made at 1e-6 and tighter."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
