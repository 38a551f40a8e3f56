"""Fixtures for the Braket adapter tests: the adapter's plugin registered, float64 on request.

The plugin module imports only hqnn_core, so this file loads without the Braket SDK; each test
module skips itself with ``pytest.importorskip("braket.devices")``.
"""

from __future__ import annotations

import pytest
import torch

import hqnn_braket
import hqnn_core


@pytest.fixture(autouse=True)
def braket_plugin(_fresh_plugins_and_seed):
    """Make ``braket.local:<sv|dm>`` and ``braket.aws:<arn>`` resolvable (autoload is off in tests)."""
    with hqnn_core.temporary_plugin(hqnn_braket, name="braket", distribution="hqnn") as plugins:
        yield plugins


@pytest.fixture
def float64():
    """Layers built inside get float64 weights, so comparisons can be made at 1e-6 and tighter."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
