"""QuantumLayer takes inputs of any leading shape, as nn.Linear does: ``(n,)`` -> ``(K,)``, ``(..., n)`` -> ``(..., K)``."""

from __future__ import annotations

import pytest
import torch

from hqnn_core import QuantumLayer

GRADIENTS = ["backprop", "adjoint", "parameter_shift"]


def _layer(gradient: str, encoder: str = "angle") -> QuantumLayer:
    return QuantumLayer(3, encoder=encoder, layers=2, gradient=gradient, observables=["Z0", "X1", "0.5*Z0Z2"], seed=1)


@pytest.mark.parametrize("gradient", GRADIENTS)
@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 1, 2)], ids=["unbatched", "batch", "2-d", "3-d"])
def test_values_and_gradients_equal_the_batched_call(gradient, shape):
    layer = _layer(gradient)
    g = torch.Generator().manual_seed(2)
    x = torch.rand(*shape, layer.n_features, generator=g)
    cot = torch.randn(*shape, layer.n_outputs, generator=g)

    x_any = x.clone().requires_grad_(True)
    out = layer(x_any)
    assert out.shape == (*shape, 3)
    (out * cot).sum().backward()
    grad_w = layer.weights.grad.clone()
    layer.weights.grad = None

    x_rows = x.reshape(-1, layer.n_features).clone().requires_grad_(True)
    rows = layer(x_rows)
    (rows * cot.reshape(-1, 3)).sum().backward()
    torch.testing.assert_close(out.detach(), rows.detach().reshape(*shape, 3), atol=1e-6, rtol=0)
    torch.testing.assert_close(x_any.grad, x_rows.grad.reshape(x.shape), atol=1e-6, rtol=0)
    torch.testing.assert_close(grad_w, layer.weights.grad, atol=1e-6, rtol=0)
    assert x_any.grad.abs().sum() > 0


def test_an_unbatched_input_gives_the_first_row_of_the_batched_output():
    layer = _layer("backprop")
    x = torch.tensor([0.1, 0.2, 0.3])
    torch.testing.assert_close(layer(x), layer(x.unsqueeze(0))[0])
    assert layer(x).shape == (3,)


@pytest.mark.parametrize("gradient", GRADIENTS)
@pytest.mark.parametrize("shape", [(0,), (2, 0)])
@pytest.mark.parametrize("encoder", ["angle", "amplitude"])
def test_an_empty_batch_gives_an_empty_result_zero_gradients_and_no_backend_call(gradient, shape, encoder):
    layer = _layer(gradient, encoder)
    x = torch.zeros(*shape, layer.n_features, requires_grad=True)
    out = layer(x)
    assert out.shape == (*shape, 3)
    assert out.dtype == x.dtype
    out.sum().backward()
    assert x.grad.shape == x.shape
    assert torch.equal(layer.weights.grad, torch.zeros_like(layer.weights))
    assert layer.backend.accounting.calls == 0
