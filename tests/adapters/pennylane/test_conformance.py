"""The hqnn conformance suite run against PennyLane devices (STYLE.md §3.7)."""

from __future__ import annotations

import pytest

pytest.importorskip("pennylane")

from hqnn_core.testing import parametrize_with_checks  # noqa: E402
from hqnn_pennylane.backend import PennyLaneBackend  # noqa: E402

pytestmark = pytest.mark.vendor


@parametrize_with_checks(
    [
        PennyLaneBackend("default.qubit", seed=0),
        PennyLaneBackend("lightning.qubit", seed=0),
        PennyLaneBackend("default.mixed", seed=0, depolarizing=0.01, readout=0.02),
    ]
)
def test_conformance(component, check):
    check(component)
