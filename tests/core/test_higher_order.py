"""Second derivatives (``create_graph=True``) against central finite differences of the first derivative.

Every gradient path that claims higher-order support is checked on Hessian-vector products with
respect to the inputs, the weights and both at once (which covers the mixed blocks), on circuits
that reach every kind of compiled step of the torch backend: fused opening states, Kronecker
blocks of several wires, Rot gates, diagonal RZZ runs and CNOT permutations. The oracle is the
difference quotient of each path's own first-order gradient (``create_graph=False``), which other
tests check against closed forms and vendors. Paths that cannot give second derivatives must raise.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hqnn_core import QuantumLayer, get_backend
from hqnn_core.errors import CapabilityError, UnsupportedError
from hqnn_plugins import torch_backend_memory as memory
from hqnn_plugins.statevector_plan import _plan
from hqnn_plugins.torch_backend_memory import memory_needed

# (gradient, backend, backend options, tolerance): the default torch paths, every diff_method, torch.noisy,
# and the estimator paths (parameter-shift exact; finite differences of differences only approximate).
PATHS = [
    ("backprop", "torch", {}, 1e-7),
    ("adjoint", "torch", {}, 1e-7),
    ("backprop", "torch", {"diff_method": "autograd"}, 1e-7),
    ("backprop", "torch", {"diff_method": "backprop"}, 1e-7),
    ("backprop", "torch", {"diff_method": "adjoint"}, 1e-7),
    ("backprop", "torch.noisy", {"depolarizing": 0.02, "readout_error": 0.03}, 1e-7),
    ("parameter_shift", "torch", {}, 1e-7),
    ("finite_diff", "torch", {}, 1e-5),
]
PATH_IDS = [f"{g}-{b}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}" for g, b, o, _ in PATHS]

# (qubits, layers, encoder, ansatz, observables): the issue's reproducer, then circuits that exercise every compiled step.
CIRCUITS = [
    (2, 2, "angle", "hardware_efficient", None),
    (5, 1, "angle", "strongly_entangling", None),  # Rot gates, Kronecker blocks of 3 and 2 wires
    (3, 2, "iqp", "basic_entangler", None),  # diagonal RZZ runs between dense layers
    (3, 1, "angle", "hardware_efficient", ("X0", "0.5*Y1Z2")),  # non-Z terms: the sweep returns the final state
]


@pytest.fixture(autouse=True)
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _layer(gradient: str, backend: str, options: dict, n_qubits: int = 2, layers: int = 2, encoder: str = "angle",
           ansatz: str = "hardware_efficient", observables: tuple[str, ...] | None = None, **kwargs) -> QuantumLayer:
    return QuantumLayer(n_qubits, encoder=encoder, ansatz=ansatz, layers=layers, gradient=gradient, backend=backend,
                        backend_options=options, observables=observables, seed=3, **kwargs)


def _grads(layer: QuantumLayer, x: torch.Tensor, cot: torch.Tensor, create_graph: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """d(sum(out * cot)) / d(x, weights)."""
    loss = (layer(x) * cot).sum()
    gx, gw = torch.autograd.grad(loss, (x, layer.weights), create_graph=create_graph)
    return gx, gw


def _fd_hvp(layer: QuantumLayer, x0: torch.Tensor, cot: torch.Tensor, u: torch.Tensor, v: torch.Tensor,
            eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Central differences of the first derivative along (u, v): the Hessian-vector product's oracle."""
    w0 = layer.weights.detach().clone()
    sides = []
    for t in (eps, -eps):
        with torch.no_grad():
            layer.weights.copy_(w0 + t * v)
        x = (x0 + t * u).requires_grad_(True)
        sides.append(_grads(layer, x, cot, create_graph=False))
    with torch.no_grad():
        layer.weights.copy_(w0)
    (px, pw), (mx, mw) = sides
    return (px - mx) / (2 * eps), (pw - mw) / (2 * eps)


# every path on every circuit, except torch.noisy's 5-qubit density matrices (slow; its small circuits cover it)
HVP_CASES = [(*p, c) for p in PATHS for c in CIRCUITS if not (p[1] == "torch.noisy" and c[0] > 3)]
HVP_IDS = [f"{i}-{c[0]}q-{c[2]}-{c[3]}{'-xy' if c[4] else ''}" for i, p in zip(PATH_IDS, PATHS) for c in CIRCUITS if not (p[1] == "torch.noisy" and c[0] > 3)]


@pytest.mark.parametrize(("gradient", "backend", "options", "tol", "circuit"), HVP_CASES, ids=HVP_IDS)
def test_hessian_vector_products_match_finite_differences(gradient, backend, options, tol, circuit):
    layer = _layer(gradient, backend, options, *circuit)
    g = torch.Generator().manual_seed(11)
    x0 = torch.rand(2, layer.n_features, generator=g) * 2 - 0.5
    cot = torch.randn(2, layer.n_outputs, generator=g)
    expected = {}
    for name, (u, v) in {  # inputs only, weights only, both (mixed terms)
        "inputs": (torch.randn(x0.shape, generator=g), torch.zeros_like(layer.weights)),
        "weights": (torch.zeros_like(x0), torch.randn(layer.weights.shape, generator=g)),
        "mixed": (torch.randn(x0.shape, generator=g), torch.randn(layer.weights.shape, generator=g)),
    }.items():
        x = x0.clone().requires_grad_(True)
        gx, gw = _grads(layer, x, cot, create_graph=True)
        hx, hw = torch.autograd.grad((gx * u).sum() + (gw * v).sum(), (x, layer.weights))
        fx, fw = _fd_hvp(layer, x0, cot, u, v)
        torch.testing.assert_close(hx, fx, atol=tol, rtol=0, msg=lambda m, name=name: f"{name}, d/dx: {m}")
        torch.testing.assert_close(hw, fw, atol=tol, rtol=0, msg=lambda m, name=name: f"{name}, d/dw: {m}")
        expected[name] = (hx, hw)
    assert expected["mixed"][0].abs().max() > 1e-2  # the check is not vacuous


def test_the_issue_reproducer_input_hessian_is_the_same_on_every_path():
    """2 qubits, 2 layers, x = [[0.3, 0.7]]: the default paths returned the second derivative without its main term."""
    results = {}
    for (gradient, backend, options, _), name in zip(PATHS, PATH_IDS):
        if backend != "torch":
            continue
        layer = _layer(gradient, backend, options)
        x = torch.tensor([[0.3, 0.7]], requires_grad=True)
        (g,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
        hessian = torch.stack([torch.autograd.grad(g[0, i], x, retain_graph=True)[0][0] for i in range(2)])
        results[name] = hessian
    # the oracle: central differences of the first derivative, column by column
    layer = _layer("backprop", "torch", {})
    eps, columns = 1e-5, []
    for i in range(2):
        sides = []
        for t in (eps, -eps):
            x = torch.tensor([[0.3, 0.7]])
            x[0, i] += t
            x.requires_grad_(True)
            sides.append(torch.autograd.grad(layer(x).sum(), x)[0][0])
        columns.append((sides[0] - sides[1]) / (2 * eps))
    fd = torch.stack(columns, dim=1)
    for name, hessian in results.items():
        torch.testing.assert_close(hessian, fd, atol=1e-6 if "finite_diff" in name else 1e-8, rtol=0, msg=lambda m, n=name: f"{n}: {m}")
    torch.testing.assert_close(results[PATH_IDS[0]], results[PATH_IDS[0]].T, atol=1e-12, rtol=0)  # symmetric
    assert fd.abs().max() > 0.1


@pytest.mark.parametrize(("gradient", "backend", "options", "tol"), PATHS, ids=PATH_IDS)
def test_a_gradient_penalty_training_step_matches_finite_differences(gradient, backend, options, tol):
    """loss = mse + lambda * ||d out / d x||^2, one SGD step: the weight update is lr times the FD gradient of that loss."""
    lam, lr = 0.5, 0.1
    layer = _layer(gradient, backend, options)
    g = torch.Generator().manual_seed(5)
    x0 = torch.rand(3, 2, generator=g)
    y = torch.rand(3, 2, generator=g) * 2 - 1

    def penalized(create_graph: bool) -> torch.Tensor:
        x = x0.clone().requires_grad_(True)
        out = layer(x)
        (gx,) = torch.autograd.grad(out.sum(), x, create_graph=create_graph)
        return ((out - y) ** 2).mean() + lam * gx.pow(2).sum()

    w0 = layer.weights.detach().clone()
    fd = torch.zeros_like(w0)
    eps = 1e-5
    for i in range(w0.numel()):
        sides = []
        for t in (eps, -eps):
            with torch.no_grad():
                layer.weights.copy_(w0)
                layer.weights.view(-1)[i] += t
            sides.append(penalized(create_graph=False).item())
        fd.view(-1)[i] = (sides[0] - sides[1]) / (2 * eps)
    with torch.no_grad():
        layer.weights.copy_(w0)

    optimizer = torch.optim.SGD(layer.parameters(), lr=lr)
    optimizer.zero_grad()
    penalized(create_graph=True).backward()
    optimizer.step()
    torch.testing.assert_close(layer.weights.detach(), w0 - lr * fd, atol=lr * 10 * tol, rtol=0)
    assert (lr * fd).abs().max() > 1e-3  # the penalty's own gradient moved the weights


def test_third_derivatives_are_correct_too():
    layer = _layer("backprop", "torch", {})
    x = torch.tensor([[0.3, 0.7]], requires_grad=True)
    (g,) = torch.autograd.grad(layer(x).sum(), x, create_graph=True)
    (h,) = torch.autograd.grad(g[0, 0], x, create_graph=True)
    (third,) = torch.autograd.grad(h[0, 0], x)
    eps, sides = 1e-4, []
    for t in (eps, -eps):
        xs = torch.tensor([[0.3 + t, 0.7]], requires_grad=True)
        (gs,) = torch.autograd.grad(layer(xs).sum(), xs, create_graph=True)
        sides.append(torch.autograd.grad(gs[0, 0], xs)[0])
    torch.testing.assert_close(third, (sides[0] - sides[1]) / (2 * eps), atol=1e-6, rtol=0)


def test_first_order_results_are_unchanged_by_create_graph():
    layer = _layer("backprop", "torch", {})
    x = torch.rand(4, 2, requires_grad=True)
    cot = torch.randn(4, 2)
    plain = _grads(layer, x, cot, create_graph=False)
    recorded = _grads(layer, x, cot, create_graph=True)
    for a, b in zip(plain, recorded):
        torch.testing.assert_close(a, b.detach(), atol=1e-12, rtol=0)


def test_spsa_refuses_create_graph_with_the_fix_and_keeps_first_order():
    layer = _layer("spsa", "torch", {})
    x = torch.rand(2, 2, requires_grad=True)
    torch.autograd.grad(layer(x).sum(), x)  # first order: fine
    with pytest.raises(UnsupportedError, match=r"gradient 'spsa' gives first derivatives only.*gradient='parameter_shift'"):
        torch.autograd.grad(layer(x).sum(), x, create_graph=True)


def test_folding_mitigation_refuses_second_derivatives_with_the_fix():
    layer = _layer("parameter_shift", "torch.noisy", {"depolarizing": 0.01}, mitigation=["zne"])
    x = torch.rand(1, 2, requires_grad=True)
    torch.autograd.grad(layer(x).sum(), x)  # first order: fine
    with pytest.raises(UnsupportedError, match=r"not available under mitigation that remaps gate angles \(zne\).*create_graph=True"):
        torch.autograd.grad(layer(x).sum(), x, create_graph=True)


def test_a_double_backward_keeps_the_adjoint_sweep_memory_small():
    """The sweep keeps the opening state as two half-size factors, not a full state, for a double backward."""
    layer = _layer("adjoint", "torch", {}, n_qubits=10, layers=2)
    x = torch.rand(4, 10, requires_grad=True)
    saved: list[int] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.append(t.numel() * t.element_size() if t.is_complex() and t.dim() == 2 else 0)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = layer(x)
    state_bytes = 4 * 2**10 * 16
    assert sum(saved) <= 2 * state_bytes
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    assert g.requires_grad


def test_a_backend_without_higher_order_refuses_create_graph_with_the_fix():
    """Through-backend gradients of a backend that does not declare higher_order raise instead of dropping terms."""
    backend = get_backend("torch")
    backend.capabilities = dataclasses.replace(backend.capabilities, higher_order=False)
    layer = QuantumLayer(2, layers=1, encoder="iqp", backend=backend, gradient="backprop", seed=0)
    x = torch.rand(2, 2, requires_grad=True)
    (first,) = torch.autograd.grad(layer(x).sum(), x)  # first order: unchanged
    (reference,) = torch.autograd.grad(QuantumLayer(2, layers=1, encoder="iqp", seed=0)(x).sum(), x)
    torch.testing.assert_close(first, reference)
    with pytest.raises(UnsupportedError, match=r"backend 'torch' differentiates with 'backprop' to first order only.*parameter_shift"):
        torch.autograd.grad(layer(x).sum(), x, create_graph=True)


def test_a_double_backward_that_cannot_fit_is_refused_before_allocating(monkeypatch):
    layer = _layer("backprop", "torch", {"diff_method": "adjoint"}, n_qubits=4, layers=8)  # deep: autograd outgrows adjoint
    x = torch.rand(8, 4, requires_grad=True)
    steps = len(_plan(layer.circuit, True).steps)
    adjoint = memory_needed(4, 8, torch.complex128, "adjoint", steps)
    assert memory_needed(4, 8, torch.complex128, "autograd", steps) > adjoint
    monkeypatch.setattr(memory, "available_memory", lambda: adjoint)
    torch.autograd.grad(layer(x).sum(), x)  # first order fits
    with pytest.raises(CapabilityError, match=r"a double backward \(create_graph=True\) over 8 bindings of 4 qubits.*Lower the batch size"):
        torch.autograd.grad(layer(x).sum(), x, create_graph=True)
