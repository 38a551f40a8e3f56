"""Random layers of every built-in encoder x ansatz agree with the embedded torch backend (1e-6).

For each combination a seeded random layer (2..6 qubits, 1..2 layers, float64) runs on the torch
backend (exact autograd: the reference, itself checked against closed forms) and on
``braket.local:sv`` with parameter-shift gradients. Values and the gradients with respect to the
weights and the inputs must agree to 1e-6, and each call's jobs must equal ``jobs_for(rows)``.
"""

from __future__ import annotations

import itertools
import random

import pytest

pytest.importorskip("braket.devices")

import torch  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402

pytestmark = pytest.mark.vendor

ENCODERS = ["angle", "amplitude", "basis", "iqp", "reuploading"]
ANSATZE = ["hardware_efficient", "strongly_entangling", "basic_entangler"]
N_ROWS = 3


def _spec(encoder: str, ansatz: str) -> tuple[int, int, int]:
    """(qubits, layers, seed), drawn reproducibly per combination."""
    rng = random.Random(f"braket/{encoder}/{ansatz}")
    return rng.randint(2, 6), rng.randint(1, 2), rng.randint(0, 10_000)


def _inputs(encoder: str, n_features: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    if encoder == "basis":
        return torch.randint(0, 2, (N_ROWS, n_features), generator=g).to(torch.float64)
    return torch.rand(N_ROWS, n_features, generator=g, dtype=torch.float64) * 2 - 0.5


def _forward_backward(layer: QuantumLayer, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = layer(x)
    cot = torch.linspace(-1.0, 1.0, out.numel(), dtype=out.dtype).reshape(out.shape)  # mixes every output into the check
    (out * cot).sum().backward()
    return out.detach(), layer.weights.grad.detach().clone(), x.grad.detach().clone()


def test_the_specs_cover_two_to_six_qubits():
    sizes = {_spec(e, a)[0] for e, a in itertools.product(ENCODERS, ANSATZE)}
    assert min(sizes) == 2 and max(sizes) == 6


@pytest.mark.parametrize(("encoder", "ansatz"), list(itertools.product(ENCODERS, ANSATZE)))
def test_random_layer_agrees_with_torch(float64, encoder, ansatz):
    n, layers, seed = _spec(encoder, ansatz)
    reference = QuantumLayer(n, encoder=encoder, ansatz=ansatz, layers=layers, backend="torch", gradient="backprop", seed=seed)
    layer = QuantumLayer(n, encoder=encoder, ansatz=ansatz, layers=layers, backend="braket.local:sv", gradient="parameter_shift", seed=seed)
    x = _inputs(encoder, layer.n_features, seed)
    values, grad_w, grad_x = _forward_backward(reference, x)
    got_values, got_w, got_x = _forward_backward(layer, x)
    acc = layer.backend.accounting
    assert acc.calls == 1 and acc.jobs == layer.backend.jobs_for(acc.circuits)
    torch.testing.assert_close(got_values, values, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_w, grad_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_x, grad_x, atol=1e-6, rtol=0)
