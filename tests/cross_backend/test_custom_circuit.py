"""A Qiskit circuit as a layer (ZZ feature map + RealAmplitudes): every backend agrees with Qiskit's Statevector."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hqnn_core import QuantumLayer
from hqnn_core._optional import missing_modules

from .test_agreement import INSTALLED

pytestmark = [pytest.mark.vendor, pytest.mark.skipif(missing_modules(("qiskit",)), reason="needs qiskit")]

X = torch.tensor([[0.1, 0.5, 1.2, -0.3], [1.7, -0.4, 0.2, 0.9]], dtype=torch.float64)


def _model():
    from qiskit.circuit.library import real_amplitudes, zz_feature_map

    fm, ansatz = zz_feature_map(4, reps=2), real_amplitudes(4, reps=2)
    return fm.compose(ansatz), fm, ansatz


def _layer(backend: str, **kw) -> QuantumLayer:
    qc, fm, ansatz = _model()
    return QuantumLayer(circuit=qc, inputs=fm.parameters, weights=ansatz.parameters, weight_shapes=(3, 4), backend=backend, seed=2,
                        **kw).double()


def _statevector(layer: QuantumLayer, x: torch.Tensor):
    from qiskit.quantum_info import Statevector

    qc, fm, ansatz = _model()
    values = dict(zip([*fm.parameters, *ansatz.parameters], [*x.tolist(), *layer.weights.detach().reshape(-1).tolist()], strict=True))
    return Statevector(qc.assign_parameters(values))


@pytest.mark.parametrize("name", INSTALLED)
def test_expectations_and_probabilities_match_the_statevector(name):
    from qiskit.quantum_info import SparsePauliOp

    layer, probs_layer = _layer(name), _layer(name, measure="probs")
    values, probs = layer(X), probs_layer(X)
    for row, x in enumerate(X):
        state = _statevector(layer, x)
        z = [state.expectation_value(SparsePauliOp.from_sparse_list([("Z", [q], 1.0)], 4)).real for q in range(4)]
        np.testing.assert_allclose(values[row].detach().numpy(), z, atol=1e-6)
        little_endian = state.probabilities()
        expected = [little_endian[int(format(b, "04b")[::-1], 2)] for b in range(16)]  # wire 0 is the most significant bit
        np.testing.assert_allclose(probs[row].detach().numpy(), expected, atol=1e-6)


def _gradients(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    layer = _layer(name)
    x = X.clone().requires_grad_(True)
    cotangent = torch.tensor([[1.0, -0.5, 0.3, 2.0], [0.2, 0.7, -1.1, 0.4]], dtype=torch.float64)
    (layer(x) * cotangent).sum().backward()
    return x.grad, layer.weights.grad


@pytest.mark.parametrize("name", [n for n in INSTALLED if n != "torch"])
def test_input_and_weight_gradients_agree_across_backends(name):
    for reference, got in zip(_gradients("torch"), _gradients(name), strict=True):
        torch.testing.assert_close(got, reference, atol=1e-6, rtol=0)


def test_gradients_match_finite_differences():
    grad_x, grad_w = _gradients("torch")
    layer = _layer("torch")
    cotangent = torch.tensor([[1.0, -0.5, 0.3, 2.0], [0.2, 0.7, -1.1, 0.4]], dtype=torch.float64)
    eps = 1e-6
    with torch.no_grad():
        for i, j in [(0, 0), (0, 3), (1, 1), (1, 2)]:
            up, down = X.clone(), X.clone()
            up[i, j] += eps
            down[i, j] -= eps
            fd = float(((layer(up) - layer(down)) * cotangent).sum()) / (2 * eps)
            assert fd == pytest.approx(float(grad_x[i, j]), abs=1e-6)
        for k in [(0, 0), (2, 3)]:
            layer.weights[k] += eps
            up_value = float((layer(X) * cotangent).sum())
            layer.weights[k] -= 2 * eps
            fd = (up_value - float((layer(X) * cotangent).sum())) / (2 * eps)
            layer.weights[k] += eps
            assert fd == pytest.approx(float(grad_w[k]), abs=1e-6)
