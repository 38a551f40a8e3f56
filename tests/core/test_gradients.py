"""Parameter-shift, finite differences and backprop agree on every built-in encoder x ansatz."""

import itertools

import pytest
import torch

from hqnn_core import QuantumLayer, UnsupportedError, get_gradient

ENCODERS = {
    "angle": {},
    "amplitude": {},
    "basis": {},
    "iqp": {},
    "reuploading": {},
}
ANSATZE = ["hardware_efficient", "strongly_entangling", "basic_entangler"]


def _inputs(encoder: str, layer: QuantumLayer, batch: int = 3) -> torch.Tensor:
    g = torch.Generator().manual_seed(5)
    if encoder == "basis":
        return torch.randint(0, 2, (batch, layer.n_features), generator=g).double()
    return (torch.rand(batch, layer.n_features, generator=g, dtype=torch.float64) - 0.3) * 2


def _grads(layer: QuantumLayer, x: torch.Tensor, differentiate_inputs: bool):
    x = x.clone().requires_grad_(differentiate_inputs)
    layer.zero_grad()
    out = layer(x)
    weights = torch.linspace(-1, 1, out.numel(), dtype=out.dtype).reshape(out.shape)  # a non-trivial loss
    (out * weights).sum().backward()
    return out.detach(), layer.weights.grad.clone(), (x.grad.clone() if differentiate_inputs else None)


@pytest.mark.parametrize("encoder, ansatz", list(itertools.product(ENCODERS, ANSATZE)))
def test_shift_fd_and_backprop_agree_for_weights_and_inputs(encoder, ansatz):
    n_qubits = 3
    results = {}
    for gradient in ("backprop", "parameter_shift", "finite_diff"):
        layer = QuantumLayer(n_qubits, encoder=encoder, ansatz=ansatz, layers=2, gradient=gradient, seed=3).double()
        x = _inputs(encoder, layer)
        results[gradient] = _grads(layer, x, differentiate_inputs=encoder != "basis")
    ref_out, ref_w, ref_x = results["backprop"]
    out, w, xg = results["parameter_shift"]
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=1e-8, rtol=0)
    if ref_x is not None:
        torch.testing.assert_close(xg, ref_x, atol=1e-8, rtol=0)
    _, w_fd, x_fd = results["finite_diff"]
    torch.testing.assert_close(w_fd, ref_w, atol=1e-4, rtol=1e-4)
    if ref_x is not None:
        torch.testing.assert_close(x_fd, ref_x, atol=1e-4, rtol=1e-4)
    assert ref_w.abs().max() > 1e-3  # the comparison is not between zeros


def test_four_term_rule_on_controlled_rotations_matches_backprop():
    from hqnn_core.circuit import CircuitBuilder

    b = CircuitBuilder(2)
    b.add("H", [0])
    b.add("RY", [1], b.input(0))
    for gate in ("CRX", "CRY", "CRZ"):
        b.add(gate, [0, 1], b.weight(0))
        b.add(gate, [1, 0], b.weight(1))
    circuit = b.build()
    from hqnn_core import get_backend

    backend = get_backend("torch")
    g = torch.Generator().manual_seed(0)
    # build slot values: input, then six weights
    values = torch.rand(4, circuit.n_slots, generator=g, dtype=torch.float64) * 6 - 3
    ps = get_gradient("parameter_shift")
    batch = ps.expand(circuit, values, torch.ones(circuit.n_slots, dtype=torch.bool))
    _, jac = ps.combine(batch, backend.expectations(circuit, batch.slot_values))
    auto = torch.stack([torch.autograd.functional.jacobian(lambda s: backend.expectations(circuit, s[None])[0], v) for v in values])
    torch.testing.assert_close(jac, auto, atol=1e-10, rtol=0)
    # 1 input-rotation slot x 2 terms + 6 controlled slots x 4 terms, plus the unshifted rows
    assert batch.slot_values.shape[0] == 4 * (1 + 2 + 6 * 4)


def test_only_trainable_slots_are_shifted():
    layer = QuantumLayer(3, layers=2, gradient="parameter_shift", seed=0).double()
    before = layer.backend.accounting.circuits
    layer(torch.rand(5, 3, dtype=torch.float64)).sum().backward()  # inputs do not require grad
    n_weights = layer.weights.numel()
    assert layer.backend.accounting.circuits - before == 5 * (1 + 2 * n_weights)


def test_gradcheck_on_the_layer_in_float64():
    for gradient in ("parameter_shift", "backprop"):
        layer = QuantumLayer(2, encoder="angle", ansatz="strongly_entangling", layers=2, gradient=gradient, seed=1).double()
        x = torch.rand(2, 2, dtype=torch.float64, requires_grad=True)
        w = layer.weights.detach().clone().requires_grad_(True)

        def f(inp, weights, layer=layer):
            return torch.func.functional_call(layer, {"weights": weights}, (inp,))

        assert torch.autograd.gradcheck(f, (x, w), atol=1e-6)


def test_spsa_estimates_the_gradient_direction():
    layer = QuantumLayer(3, layers=2, gradient="backprop", seed=2).double()
    x = torch.rand(8, 3, dtype=torch.float64)
    layer(x).sum().backward()
    exact = layer.weights.grad.flatten().clone()
    spsa = QuantumLayer(3, layers=2, gradient={"name": "spsa", "options": {"samples": 400, "seed": 0, "c": 0.05}}, seed=2).double()
    spsa(x).sum().backward()
    estimate = spsa.weights.grad.flatten()
    cosine = torch.nn.functional.cosine_similarity(exact, estimate, dim=0)
    assert cosine > 0.9, cosine  # SPSA is unbiased to O(c^2); 400 directions give a close direction


def test_backprop_refuses_shots_and_best_picks_parameter_shift():
    with pytest.raises(UnsupportedError, match="backprop cannot differentiate sampled"):
        QuantumLayer(2, gradient="backprop", shots=100)
    assert QuantumLayer(2, shots=100).gradient.name == "parameter_shift"
    assert QuantumLayer(2).gradient.name == "backprop"


def test_adjoint_refused_where_backend_does_not_declare_it():
    import dataclasses

    from hqnn_core import get_backend

    backend = get_backend("torch")
    backend.capabilities = dataclasses.replace(backend.capabilities, adjoint=False)
    with pytest.raises(UnsupportedError, match="does not declare adjoint"):
        QuantumLayer(2, gradient="adjoint", backend=backend)
    with pytest.raises(UnsupportedError, match="adjoint differentiation needs exact results"):
        QuantumLayer(2, gradient="adjoint", shots=100)
