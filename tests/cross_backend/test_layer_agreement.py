"""Random layers of every built-in encoder x ansatz agree with the embedded torch backend (1e-6), on every installed SDK.

For each combination a seeded random layer (2..6 qubits, 1..2 layers, float64) runs on the torch
backend (exact autograd: the reference, itself checked against closed forms) and on each installed
simulator, with parameter-shift gradients and with the device's own differentiation (backprop on
default.qubit, adjoint on lightning.qubit). Values and the gradients with respect to the weights and
the inputs must agree to 1e-6; the forward pass and every shift of the backward pass are one call and
one job. A run whose SDK is missing is skipped, naming the missing modules.
"""

from __future__ import annotations

import functools
import itertools
import random

import pytest
import torch

from hqnn_core import QuantumLayer
from hqnn_core._optional import missing_modules

pytestmark = pytest.mark.vendor

ENCODERS = ["angle", "amplitude", "basis", "iqp", "reuploading"]
ANSATZE = ["hardware_efficient", "strongly_entangling", "basic_entangler"]
# (backend, gradient, modules the backend needs): parameter-shift everywhere, plus what each device differentiates natively.
RUNS = [
    ("qiskit.aer", "parameter_shift", ("qiskit", "qiskit_aer")),
    ("pennylane:default.qubit", "parameter_shift", ("pennylane",)),
    ("pennylane:default.qubit", "backprop", ("pennylane",)),
    ("pennylane:lightning.qubit", "parameter_shift", ("pennylane", "pennylane_lightning")),
    ("pennylane:lightning.qubit", "adjoint", ("pennylane", "pennylane_lightning")),
    ("braket.local:sv", "parameter_shift", ("braket",)),
]
N_ROWS = 3


def _spec(encoder: str, ansatz: str) -> tuple[int, int, int]:
    """(qubits, layers, seed), drawn reproducibly per combination."""
    rng = random.Random(f"agreement/{encoder}/{ansatz}")
    return rng.randint(2, 6), rng.randint(1, 2), rng.randint(0, 10_000)


def _observables(n_qubits: int) -> list[str]:
    """A single-qubit term, a two-qubit product in the X basis, and a weighted sum that needs a Y rotation."""
    return ["Z0", "X0X1", f"0.5*Y{n_qubits - 1} + Z0Z{n_qubits - 1}"]


def _layer(encoder: str, ansatz: str, backend: str, gradient: str) -> QuantumLayer:
    n, layers, seed = _spec(encoder, ansatz)
    return QuantumLayer(n, encoder=encoder, ansatz=ansatz, layers=layers, backend=backend, gradient=gradient,
                        observables=_observables(n), seed=seed).double()


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


@functools.cache
def _reference(encoder: str, ansatz: str) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """The inputs and the torch backend's values and gradients (computed once per combination)."""
    layer = _layer(encoder, ansatz, "torch", "backprop")
    x = _inputs(encoder, layer.n_features, _spec(encoder, ansatz)[2])
    return x, _forward_backward(layer, x)


def test_the_specs_cover_two_to_six_qubits_and_one_to_two_layers():
    specs = [_spec(e, a) for e, a in itertools.product(ENCODERS, ANSATZE)]
    assert {n for n, _, _ in specs} == {2, 3, 4, 5, 6} and {layers for _, layers, _ in specs} == {1, 2}


@pytest.mark.parametrize(("backend", "gradient", "needs"), RUNS, ids=[f"{b}-{g}" for b, g, _ in RUNS])
@pytest.mark.parametrize(("encoder", "ansatz"), list(itertools.product(ENCODERS, ANSATZE)))
def test_random_layer_agrees_with_torch(backend, gradient, needs, encoder, ansatz):
    missing = missing_modules(needs)
    if missing:
        pytest.skip(f"{backend} needs {', '.join(missing)} (not installed)")
    layer = _layer(encoder, ansatz, backend, gradient)
    assert layer.gradient.name == gradient
    x, (values, grad_w, grad_x) = _reference(encoder, ansatz)
    got_values, got_w, got_x = _forward_backward(layer, x)
    acc = layer.backend.accounting
    assert acc.calls == 1 and acc.jobs == 1 == layer.backend.jobs_for(acc.circuits)
    torch.testing.assert_close(got_values, values, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_w, grad_w, atol=1e-6, rtol=0)
    torch.testing.assert_close(got_x, grad_x, atol=1e-6, rtol=0)
