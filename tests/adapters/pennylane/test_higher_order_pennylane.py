"""Second derivatives of hqnn layers against PennyLane ``default.qubit`` (torch interface, backprop).

The oracle is a QNode written out by hand: angle encoding ``RY(x_i)``, then per layer ``RY(w[l, 2i])``
and ``RZ(w[l, 2i + 1])`` on every wire and a CNOT ring (hqnn's ``hardware_efficient`` layout), with
``<Z_i>`` on each wire. Its Hessians come from torch autograd through PennyLane's own simulator.
"""

from __future__ import annotations

import pytest

qml = pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402
from hqnn_core.errors import UnsupportedError  # noqa: E402

pytestmark = pytest.mark.vendor

# every hqnn path that claims second derivatives, on its own simulator and through the PennyLane adapter
PATHS = [
    ("torch", "backprop", {}),
    ("torch", "adjoint", {}),
    ("torch", "backprop", {"diff_method": "autograd"}),
    ("torch", "backprop", {"diff_method": "adjoint"}),
    ("torch", "parameter_shift", {}),
    ("torch.noisy", "backprop", {}),
    ("pennylane:default.qubit", "backprop", {}),
    ("pennylane:default.qubit", "parameter_shift", {}),
]
IDS = [f"{b}-{g}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}" for b, g, o in PATHS]


def _qnode(n: int, layers: int):
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(x: torch.Tensor, w: torch.Tensor) -> list:
        for i in range(n):
            qml.RY(x[i], wires=i)
        for layer in range(layers):
            for i in range(n):
                qml.RY(w[layer, 2 * i], wires=i)
                qml.RZ(w[layer, 2 * i + 1], wires=i)
            for a, b in ([(0, 1)] if n == 2 else [(i, (i + 1) % n) for i in range(n)]):
                qml.CNOT(wires=[a, b])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    return lambda x, w: torch.stack(circuit(x, w))


@pytest.mark.parametrize(("backend", "gradient", "options"), PATHS, ids=IDS)
def test_the_issue_reproducer_matches_pennylane(float64, backend, gradient, options):
    """2 qubits, 2 layers, x = [[0.3, 0.7]]: grad of grad of sum(out), the input Hessian and a weight Hessian."""
    layer = QuantumLayer(2, layers=2, backend=backend, gradient=gradient, backend_options=options, seed=0)
    w = layer.weights.detach().clone()
    f = _qnode(2, 2)
    x0 = torch.tensor([0.3, 0.7])

    x = x0.clone().unsqueeze(0).requires_grad_(True)
    (g,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
    (hg,) = torch.autograd.grad(g.sum(), x, retain_graph=True)
    input_hessian = torch.stack([torch.autograd.grad(g[0, i], x, retain_graph=True)[0][0] for i in range(2)])

    xp = x0.clone().requires_grad_(True)
    (gp,) = torch.autograd.grad(f(xp, w).sum(), xp, create_graph=True)
    (hp,) = torch.autograd.grad(gp.sum(), xp)
    pl_hessian = torch.autograd.functional.hessian(lambda v: f(v, w).sum(), x0)
    torch.testing.assert_close(hg[0], hp, atol=1e-9, rtol=0)
    torch.testing.assert_close(input_hessian, pl_hessian, atol=1e-9, rtol=0)

    # weights and mixed: d/d(x, w) of <d out/d w, v>
    v = torch.linspace(-1, 1, w.numel()).reshape(w.shape)
    x = x0.clone().unsqueeze(0).requires_grad_(True)
    (gw,) = torch.autograd.grad(layer(x).sum(), layer.weights, create_graph=True)
    hx, hw = torch.autograd.grad((gw * v).sum(), (x, layer.weights))
    xp, wp = x0.clone().requires_grad_(True), w.clone().requires_grad_(True)
    (gwp,) = torch.autograd.grad(f(xp, wp).sum(), wp, create_graph=True)
    hxp, hwp = torch.autograd.grad((gwp * v).sum(), (xp, wp))
    torch.testing.assert_close(hx[0], hxp, atol=1e-9, rtol=0)
    torch.testing.assert_close(hw, hwp, atol=1e-9, rtol=0)
    assert pl_hessian.abs().max() > 0.1


def test_a_gradient_penalty_step_matches_pennylane(float64):
    """One SGD step on mse + lambda * ||d out / d x||^2: the hqnn default path and the PennyLane QNode move the weights alike."""
    lam, lr = 0.5, 0.1
    layer = QuantumLayer(3, layers=2, seed=4)
    w = torch.nn.Parameter(layer.weights.detach().clone())
    f = _qnode(3, 2)
    g = torch.Generator().manual_seed(6)
    x0, y = torch.rand(4, 3, generator=g), torch.rand(4, 3, generator=g) * 2 - 1

    def penalized(forward) -> torch.Tensor:
        x = x0.clone().requires_grad_(True)
        out = forward(x)
        (gx,) = torch.autograd.grad(out.sum(), x, create_graph=True)
        return ((out - y) ** 2).mean() + lam * gx.pow(2).sum()

    for params, forward in (([layer.weights], layer), ([w], lambda x: torch.stack([f(row, w) for row in x]))):
        optimizer = torch.optim.SGD(params, lr=lr)
        optimizer.zero_grad()
        penalized(forward).backward()
        optimizer.step()
    torch.testing.assert_close(layer.weights.detach(), w.detach(), atol=1e-9, rtol=0)


def test_lightning_adjoint_refuses_second_derivatives_with_the_fix(float64):
    """PennyLane's adjoint gradients are first-order only: create_graph=True raises instead of dropping terms."""
    layer = QuantumLayer(2, layers=1, encoder="iqp", backend="pennylane:lightning.qubit", gradient="adjoint", seed=0)
    x = torch.tensor([[0.3, 0.7]], requires_grad=True)
    torch.autograd.grad(layer(x).sum(), x)  # first order: fine
    with pytest.raises(UnsupportedError, match=r"first order only.*gradient='parameter_shift' or the torch backend"):
        torch.autograd.grad(layer(x).sum(), x, create_graph=True)
