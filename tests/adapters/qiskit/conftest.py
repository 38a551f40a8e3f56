"""Registers the Qiskit adapter for every test here (the suite runs without entry-point autoload).

Importing ``hqnn_qiskit`` imports only hqnn_core, so this works without the SDK; each test module
skips itself when qiskit-aer is missing.
"""

from __future__ import annotations

import pytest

import hqnn_core
import hqnn_qiskit


@pytest.fixture(autouse=True)
def qiskit_plugin(_fresh_plugins_and_seed):
    """The adapter's backends (``qiskit.aer``, ``qiskit.fake:<device>``, ``qiskit.ibm:<backend>``)."""
    with hqnn_core.temporary_plugin(hqnn_qiskit, name="qiskit", distribution="hqnn") as plugins:
        yield plugins
