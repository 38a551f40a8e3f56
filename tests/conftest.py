"""Test-wide settings: built-in plugins only (no entry points), fresh registries per test."""

from __future__ import annotations

import os
import signal

os.environ.setdefault("HQNN_DISABLE_PLUGIN_AUTOLOAD", "1")
# A shell starts background jobs with SIGINT ignored, and `hqnn train` children inherit that: the Ctrl-C
# tests (kill points that send SIGINT) need Python's own handler, which exec resets to the default for children.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

import pytest  # noqa: E402
import torch  # noqa: E402

from hqnn_core.plugin_manager import reset_plugins  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_plugins_and_seed():
    """Each test builds its own plugin manager and starts from the same torch seed."""
    reset_plugins()
    torch.manual_seed(1234)
    yield
    reset_plugins()
