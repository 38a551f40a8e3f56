"""Random layers of every built-in encoder x ansatz agree with the embedded torch backend (1e-6).

For each combination a seeded random layer (2..6 qubits, float64) is evaluated on the torch
backend (exact autograd gradients: the reference) and on PennyLane devices with parameter-shift,
and with the device's own differentiation (backprop on default.qubit, adjoint on lightning.qubit).
Gradients are compared with respect to both the weights and the inputs.
"""

from __future__ import annotations

import itertools
import random

import pytest

pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402

pytestmark = pytest.mark.vendor

ENCODERS = ["angle", "amplitude", "basis", "iqp", "reuploading"]
ANSATZE = ["hardware_efficient", "strongly_entangling", "basic_entangler"]
# (device, gradient): parameter-shift everywhere, plus what each device differentiates natively.
RUNS = [
    ("default.qubit", "parameter_shift"),
    ("default.qubit", "backprop"),
    ("lightning.qubit", "parameter_shift"),
    ("lightning.qubit", "adjoint"),
]
N_ROWS = 3


def _spec(encoder: str, ansatz: str) -> tuple[int, int, int]:
    """(qubits, layers, seed), drawn reproducibly per combination; lightning's per-row cost keeps layers small."""
    rng = random.Random(f"{encoder}/{ansatz}")
    return rng.randint(2, 6), rng.randint(1, 2), rng.randint(0, 10_000)


def _inputs(encoder: str, n_features: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if encoder == "basis":
        return torch.randint(0, 2, (N_ROWS, n_features), generator=g).to(torch.float64)
    return torch.rand(N_ROWS, n_features, generator=g, dtype=torch.float64) * 2 - 0.5


def _forward_backward(layer: QuantumLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = layer(x)
    # A fixed random cotangent mixes every output into the gradient check.
    cot = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)
    (out * cot).sum().backward()
    return out.detach(), layer.weights.grad.detach().clone(), x.grad.detach().clone()


@pytest.fixture(scope="module")
def references():
    """The torch backend's values and gradients per combination (computed once)."""
    torch.set_default_dtype(torch.float64)
    try:
        out = {}
        for encoder, ansatz in itertools.product(ENCODERS, ANSATZE):
            n, layers, seed = _spec(encoder, ansatz)
            layer = QuantumLayer(n, encoder=encoder, ansatz=ansatz, layers=layers, backend="torch", seed=seed)
            x = _inputs(encoder, layer.n_features, seed)
            out[encoder, ansatz] = (x, _forward_backward(layer, x))
        return out
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize(("device", "gradient"), RUNS)
@pytest.mark.parametrize(("encoder", "ansatz"), list(itertools.product(ENCODERS, ANSATZE)))
def test_random_layer_agrees_with_torch(float64, references, device, gradient, encoder, ansatz):
    n, layers, seed = _spec(encoder, ansatz)
    layer = QuantumLayer(
        n, encoder=encoder, ansatz=ansatz, layers=layers, backend=f"pennylane:{device}", gradient=gradient, seed=seed
    )
    assert layer.gradient.name == gradient
    x, (values, grad_w, grad_x) = references[encoder, ansatz]
    got_values, got_w, got_x = _forward_backward(layer, x)
    assert layer.backend.accounting.jobs == 1
    torch.testing.assert_close(got_values, values, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_w, grad_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_x, grad_x, atol=1e-6, rtol=0)
