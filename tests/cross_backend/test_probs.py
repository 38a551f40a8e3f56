"""Probabilities agree on every installed simulator, with Qiskit's Statevector, exactly and with shots."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hqnn_core import QuantumLayer
from hqnn_core._optional import missing_modules

from .test_agreement import INSTALLED

pytestmark = pytest.mark.vendor

X = torch.tensor([[0.4, -1.1, 2.0], [1.3, 0.2, -0.6]], dtype=torch.float64)


def _layer(backend: str, **kw) -> QuantumLayer:
    return QuantumLayer(3, encoder="angle", ansatz="strongly_entangling", layers=2, backend=backend, seed=5,
                        measure="probs", **kw).double()


def _statevector_probs(layer: QuantumLayer) -> np.ndarray:
    """The oracle: Qiskit's Statevector of the translated circuit, wire 0 as the most significant bit."""
    from qiskit.quantum_info import Statevector

    from hqnn_qiskit.translate import to_quantum_circuit

    qc = to_quantum_circuit(layer.circuit)
    rows = []
    for values in layer.slot_values(X).detach().numpy():
        bound = qc.assign_parameters(dict(zip(qc.parameters, values[[p.index for p in qc.parameters]], strict=True)))
        little_endian = Statevector(bound).probabilities()  # index bit q = qubit q
        n = layer.n_qubits
        rows.append([little_endian[int(format(b, f"0{n}b")[::-1], 2)] for b in range(2**n)])
    return np.array(rows)


@pytest.mark.skipif(missing_modules(("qiskit",)), reason="needs qiskit for the Statevector oracle")
@pytest.mark.parametrize("name", INSTALLED)
def test_probabilities_match_qiskit_statevector(name):
    layer = _layer(name)
    torch.testing.assert_close(layer(X).double(), torch.from_numpy(_statevector_probs(layer)), atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", INSTALLED)
def test_parameter_shift_gradients_of_marginals_agree_with_torch_backprop(name):
    cotangent = torch.tensor([[0.2, -1.0, 0.6, 1.5], [1.0, 0.3, -0.4, 0.1]], dtype=torch.float64)
    grads = []
    for backend, gradient in (("torch", "backprop"), (name, "parameter_shift")):
        layer = _layer(backend, wires=[2, 0], gradient=gradient)
        x = X.clone().requires_grad_(True)
        (layer(x) * cotangent).sum().backward()
        grads.append((layer.weights.grad, x.grad))
    for reference, got in zip(*grads, strict=True):
        torch.testing.assert_close(got, reference, atol=1e-6, rtol=0)


@pytest.mark.shots
@pytest.mark.parametrize("name", [n for n in INSTALLED if n != "pennylane:lightning.qubit"])
def test_sampled_probabilities_fall_within_five_standard_errors(name):
    shots = 3000
    exact = _layer("torch")(X).double()
    sampled = _layer(name, shots=shots, backend_options={"seed": 3})(X).double()
    torch.testing.assert_close(sampled.sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-9, rtol=0)
    counts = sampled * shots  # the Z strings share one set of samples, so these are the counts drawn
    torch.testing.assert_close(counts, counts.round(), atol=1e-6, rtol=0)
    stderr = torch.sqrt(exact * (1 - exact) / shots)
    assert bool(((sampled - exact).abs() <= 5 * stderr + 1e-9).all()), (sampled - exact).abs() / (stderr + 1e-12)


@pytest.mark.shots
@pytest.mark.parametrize("name", [n for n in INSTALLED if n != "pennylane:lightning.qubit"])
def test_samples_on_every_backend_are_the_sampled_counts(name):
    shots = 2000
    layer = QuantumLayer(3, encoder="angle", ansatz="strongly_entangling", layers=2, backend=name, seed=5, measure="samples",
                         wires=[1, 2], shots=shots, backend_options={"seed": 4})
    samples = layer(X)
    assert samples.shape == (2, shots, 2)
    outcome = (samples[..., 0] * 2 + samples[..., 1]).long()
    frequencies = torch.stack([(outcome == b).double().mean(dim=1) for b in range(4)], dim=1)
    exact = QuantumLayer(3, encoder="angle", ansatz="strongly_entangling", layers=2, seed=5, measure="probs", wires=[1, 2])(X).double()
    stderr = torch.sqrt(exact * (1 - exact) / shots)
    assert bool(((frequencies - exact).abs() <= 5 * stderr + 1e-9).all())
