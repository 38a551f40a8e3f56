"""readout + zne on realistic noisy emulations: an IBM device snapshot and Braket's density-matrix simulator.

The example model's circuits (angle encoder + hardware_efficient, 4 qubits) at fixed random
weights and inputs; the mean absolute error of the outputs against the exact values must fall by
at least half with mitigation. Shots are fixed and seeded, so the numbers are reproducible.
"""

from __future__ import annotations

import math

import pytest
import torch

import hqnn_core
from hqnn_core.components import get_backend
from hqnn_core.layer import QuantumLayer

pytestmark = pytest.mark.vendor

CASES = {
    # optimization_level 0: the transpiler must not cancel the folded U^dagger U pairs. Two scale factors:
    # with sampled shots a third point adds more variance than bias it removes (measured: 0.054 raw,
    # 0.039 readout, 0.026 readout+zne[1,3], 0.031 readout+zne[1,3,5] at 20000 shots).
    "qiskit.fake:manila": ("qiskit", {"seed": 7, "optimization_level": 0}, 20000, [1, 3]),
    "braket.local:dm": ("braket", {"depolarizing": 0.01, "readout_error": 0.04, "seed": 7}, None, [1, 3, 5]),
}


def _errors(name: str) -> tuple[float, float]:
    family, options, shots, scales = CASES[name]
    mitigation_profile = ["readout", {"name": "zne", "options": {"scale_factors": scales, "extrapolation": "richardson"}}]
    plugin = pytest.importorskip(f"hqnn_{family}")
    if family == "qiskit":
        pytest.importorskip("qiskit_ibm_runtime")
    with hqnn_core.temporary_plugin(plugin, name=family, distribution="hqnn"):
        x = torch.rand(4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(3)) * math.pi
        raw, mitigated = [], []
        for seed in range(2):
            exact = QuantumLayer(4, layers=2, seed=seed, backend="torch").double()
            with torch.no_grad():
                reference = exact(x)
                for mitigation, errors in (((), raw), (mitigation_profile, mitigated)):
                    layer = QuantumLayer(4, layers=2, seed=seed, backend=get_backend(name, **options), shots=shots,
                                         gradient="parameter_shift", mitigation=mitigation).double()
                    errors.append(float((layer(x) - reference).abs().mean()))
    return sum(raw) / len(raw), sum(mitigated) / len(mitigated)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_readout_and_zne_halve_the_error(name):
    raw, mitigated = _errors(name)
    print(f"{name}: unmitigated MAE {raw:.4f}, readout+zne MAE {mitigated:.4f}")
    assert raw > 0.03  # the emulation is noisy enough to matter
    assert mitigated <= 0.5 * raw, (raw, mitigated)
