"""Every installed simulator agrees with every other, and with the golden closed forms (analytic mode)."""

from __future__ import annotations

import itertools

import pytest
import torch

from hqnn_core import QuantumLayer, get_backend, get_gradient
from hqnn_core._optional import missing_modules
from hqnn_core.testing.golden import golden_cases

pytestmark = pytest.mark.vendor

BACKENDS = [
    ("torch", ()),
    ("qiskit.aer", ("qiskit", "qiskit_aer")),
    ("pennylane:default.qubit", ("pennylane",)),
    ("pennylane:lightning.qubit", ("pennylane_lightning",)),
    ("braket.local:sv", ("braket",)),
]
INSTALLED = [name for name, needs in BACKENDS if not missing_modules(needs)]
ENCODERS = ["angle", "amplitude", "basis", "iqp", "reuploading"]
ANSATZE = ["hardware_efficient", "strongly_entangling", "basic_entangler"]


def _layer_inputs(encoder: str, layer: QuantumLayer) -> torch.Tensor:
    g = torch.Generator().manual_seed(11)
    if encoder == "basis":
        return torch.randint(0, 2, (3, layer.n_features), generator=g).double()
    return torch.rand(3, layer.n_features, generator=g, dtype=torch.float64) * 2 - 0.5


def _values_and_jacobian(backend_name: str, encoder: str, ansatz: str, n_qubits: int):
    layer = QuantumLayer(n_qubits, encoder=encoder, ansatz=ansatz, layers=2, backend=backend_name, seed=n_qubits).double()
    slots = layer.slot_values(_layer_inputs(encoder, layer)).detach()
    ps = get_gradient("parameter_shift")
    batch = ps.expand(layer.circuit, slots, torch.ones(layer.circuit.n_slots, dtype=torch.bool))
    values, jac = ps.combine(batch, layer.backend.expectations(layer.circuit, batch.slot_values).double())
    return values, jac


@pytest.mark.skipif(len(INSTALLED) < 3, reason="needs at least two vendor SDKs besides torch")
@pytest.mark.parametrize("encoder, ansatz", list(itertools.product(ENCODERS, ANSATZE)))
def test_all_simulators_agree_pairwise_on_values_and_shift_gradients(encoder, ansatz):
    n_qubits = 3 + (ENCODERS.index(encoder) + ANSATZE.index(ansatz)) % 4  # 3..6 qubits across the table
    results = {name: _values_and_jacobian(name, encoder, ansatz, n_qubits) for name in INSTALLED}
    for a, b in itertools.combinations(INSTALLED, 2):
        torch.testing.assert_close(results[a][0], results[b][0], atol=1e-6, rtol=0, msg=f"values {a} vs {b}")
        torch.testing.assert_close(results[a][1], results[b][1], atol=1e-6, rtol=0, msg=f"gradients {a} vs {b}")


@pytest.mark.parametrize("name", INSTALLED)
def test_every_simulator_matches_the_golden_closed_forms(name):
    backend = get_backend(name)
    for case in golden_cases():
        got = backend.expectations(case.circuit, case.slot_values).double()
        torch.testing.assert_close(got, case.values, atol=1e-6, rtol=0, msg=f"{name}: {case.name}")
