"""The same digits profile trains on every vendor, selected only by --set backend.name=... (issue 4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hqnn_core._optional import missing_modules
from hqnn_core.config import load_profile
from hqnn_core.training import train

pytestmark = [pytest.mark.vendor, pytest.mark.slow]

PROFILE = Path(__file__).resolve().parents[2] / "examples" / "digits.yaml"
# CI-sized: fewer training images and epochs than the example, same model and data pipeline.
SMALL = ["data.max_train=96", "train.epochs=4", "train.baseline=false"]

CASES = [
    pytest.param(["backend.name=qiskit.aer", "backend.shots=1024", "model.quantum.gradient=parameter_shift"], ("qiskit_aer",), id="qiskit.aer-1024-shots"),
    pytest.param(["backend.name=pennylane:default.qubit"], ("pennylane",), id="pennylane-default.qubit"),
    pytest.param(["backend.name=braket.local:sv", "model.quantum.gradient=parameter_shift"], ("braket",), id="braket.local-sv"),
]


@pytest.mark.parametrize("overrides, needs", CASES)
def test_digits_profile_reaches_95_percent_on_each_vendor(overrides, needs, tmp_path):
    if missing_modules(needs):
        pytest.skip(f"needs {needs}")
    record = train(load_profile(PROFILE, [*SMALL, *overrides]), out=tmp_path / "run", quiet=True).record
    assert record["backend"]["name"] == overrides[0].split("=", 1)[1]
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.95
    assert record["hybrid"]["accounting"]["jobs"] > 0
