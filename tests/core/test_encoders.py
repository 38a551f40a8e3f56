"""Encoders prepare the states they promise (checked on the simulated statevector)."""

import math

import pytest
import torch

from hqnn_core import CircuitBuilder, ConfigError, InputError, QuantumLayer, get_backend, get_encoder


def _state(encoder_spec, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
    enc = get_encoder(encoder_spec)
    b = CircuitBuilder(n_qubits)
    enc.add_ops(b, list(range(n_qubits)))
    circuit = b.build()
    feats = enc.transform(x, n_qubits)
    values = torch.stack([s.coeff * feats[:, s.index] + s.offset for s in circuit.slots], dim=1)
    return get_backend("torch").simulate(circuit, values)


@pytest.mark.parametrize("n_qubits", [1, 2, 3, 4])
def test_amplitude_encoding_prepares_the_normalised_vector_with_signs(n_qubits):
    g = torch.Generator().manual_seed(n_qubits)
    x = torch.randn(6, 2**n_qubits, generator=g, dtype=torch.float64)
    x[0, 1:] = 0  # sparse rows and zero subtrees must not produce NaN
    if 2**n_qubits >= 4:
        x[1, : 2**n_qubits // 2] = 0
    state = _state("amplitude", x, n_qubits)
    expected = x / x.norm(dim=1, keepdim=True)
    torch.testing.assert_close(state.real, expected, atol=1e-10, rtol=0)
    torch.testing.assert_close(state.imag, torch.zeros_like(expected), atol=1e-10, rtol=0)


def test_amplitude_padding_and_gradients_reach_inputs_without_nan():
    layer = QuantumLayer(2, encoder={"name": "amplitude", "options": {"n_features": 3, "pad_with": 0.0}}, seed=0).double()
    x = torch.tensor([[1.0, 0.0, 0.0], [0.3, -0.4, 0.5]], dtype=torch.float64, requires_grad=True)
    layer(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    state = _state({"name": "amplitude", "options": {"n_features": 3}}, x.detach(), 2)
    torch.testing.assert_close(state.real[1, :3], x[1].detach() / x[1].detach().norm(), atol=1e-10, rtol=0)


def test_amplitude_rejects_zero_rows_and_too_many_features():
    layer = QuantumLayer(2, encoder="amplitude", seed=0)
    with pytest.raises(InputError, match="all-zero feature vector"):
        layer(torch.zeros(1, 4))
    with pytest.raises(ConfigError, match="needs at least 3 qubits"):
        QuantumLayer(2, encoder={"name": "amplitude", "options": {"n_features": 5}})


def test_basis_encoding_prepares_the_bitstring_and_rejects_non_bits():
    x = torch.tensor([[1.0, 0.0, 1.0]], dtype=torch.float64)
    probs = _state("basis", x, 3).abs() ** 2
    assert probs[0, 0b101] == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"takes 0/1 features; found 0.5"):
        QuantumLayer(3, encoder="basis")(torch.tensor([[1.0, 0.5, 0.0]]))


def test_iqp_state_matches_its_definition():
    x = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    got = _state({"name": "iqp", "options": {"repeats": 2}}, x, 2)[0]
    # U = RZZ(x0 x1) (RZ(x0) ⊗ RZ(x1)) (H ⊗ H), applied twice, on |00>.
    def rz(t):
        return torch.tensor([[complex(math.cos(t / 2), -math.sin(t / 2)), 0], [0, complex(math.cos(t / 2), math.sin(t / 2))]], dtype=torch.complex128)
    h = torch.tensor([[1, 1], [1, -1]], dtype=torch.complex128) / math.sqrt(2)
    zz = torch.diag(torch.tensor([1, -1, -1, 1], dtype=torch.complex128))
    t = float(x[0, 0] * x[0, 1])
    rzz = torch.diag(torch.exp(-0.5j * t * torch.diag(zz)))
    u = rzz @ torch.kron(rz(0.3), rz(-1.2)) @ torch.kron(h, h)
    psi = u @ u @ torch.tensor([1, 0, 0, 0], dtype=torch.complex128)
    torch.testing.assert_close(got, psi, atol=1e-10, rtol=0)


def test_angle_encoding_rotation_axis_and_scale():
    x = torch.tensor([[0.7]], dtype=torch.float64)
    layer = QuantumLayer(1, encoder={"name": "angle", "options": {"rotation": "X", "scale": 2.0}}, ansatz="basic_entangler", seed=0).double()
    with torch.no_grad():
        layer.weights.zero_()
    assert layer(x).item() == pytest.approx(math.cos(1.4))


def test_reuploading_encodes_before_every_layer():
    layer = QuantumLayer(2, encoder="reuploading", ansatz="basic_entangler", layers=3, seed=0)
    assert sum(1 for s in layer.circuit.slots if s.source == "input") == 3 * 2
    angle = QuantumLayer(2, encoder="angle", ansatz="basic_entangler", layers=3, seed=0)
    assert sum(1 for s in angle.circuit.slots if s.source == "input") == 2


def test_unknown_encoder_option_names_the_allowed_ones():
    with pytest.raises(ConfigError, match=r"Invalid options for encoder 'angle': angle.axis: .*Allowed options: rotation, scale"):
        get_encoder({"name": "angle", "options": {"axis": "X"}})


# -- trainable input scaling, several features per qubit, amplitude copies -----------------------------------------

SCALED = {"name": "reuploading", "options": {"features_per_qubit": 3, "n_features": 5, "trainable_scaling": True}}


def _scaled_layer(gradient: str) -> QuantumLayer:
    layer = QuantumLayer(2, encoder=SCALED, ansatz="strongly_entangling", layers=2, gradient=gradient, seed=3).double()
    with torch.no_grad():
        layer.encoder_weights.copy_(torch.linspace(0.5, 1.5, 10, dtype=torch.float64).reshape(2, 5))
    return layer


def test_trainable_scaling_reads_weight_times_input_per_upload_and_feature():
    layer = _scaled_layer("backprop")
    assert layer.n_features == 5 and tuple(layer.encoder_weights.shape) == (2, 5)  # ceil(5/3) = 2 qubits
    x = torch.tensor([[0.1, -0.2, 0.3, 0.4, -0.5]], dtype=torch.float64)
    values = layer.slot_values(x)[0]
    w = layer.encoder_weights.detach()
    rots = [op for op in layer.circuit.ops if op.name == "Rot"]
    encoder_rots = [rots[0], rots[1], rots[4], rots[5]]  # uploads come before each ansatz layer's two Rot gates
    got = torch.stack([values[list(op.slots)] for op in encoder_rots])
    xp = torch.cat([x[0], torch.zeros(1, dtype=torch.float64)])
    wp = torch.cat([w, torch.zeros(2, 1, dtype=torch.float64)], dim=1)
    expected = torch.stack([(xp * wp[u])[3 * q : 3 * q + 3] for u in range(2) for q in range(2)])
    torch.testing.assert_close(got, expected, atol=1e-15, rtol=0)


def test_trainable_scaling_gradients_agree_across_estimators_and_with_finite_differences():
    x0 = torch.tensor([[0.3, -0.7, 1.1, 0.2, -0.4], [-0.9, 0.5, 0.1, 0.8, 0.6]], dtype=torch.float64)
    grads = {}
    for gradient in ("parameter_shift", "backprop"):
        layer = _scaled_layer(gradient)
        x = x0.clone().requires_grad_(True)
        (layer(x) * torch.tensor([1.0, -0.5], dtype=torch.float64)).sum().backward()
        grads[gradient] = (x.grad, layer.weights.grad, layer.encoder_weights.grad)
    for a, b in zip(grads["parameter_shift"], grads["backprop"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)

    layer = _scaled_layer("backprop")
    coef = torch.tensor([1.0, -0.5], dtype=torch.float64)

    def loss(x: torch.Tensor) -> float:
        with torch.no_grad():
            return float((layer(x) * coef).sum())

    def fd(tensor: torch.Tensor, f) -> torch.Tensor:
        out = torch.zeros_like(tensor)
        for i in range(tensor.numel()):
            keep = tensor.view(-1)[i].item()
            tensor.view(-1)[i] = keep + 1e-6
            up = f()
            tensor.view(-1)[i] = keep - 1e-6
            down = f()
            tensor.view(-1)[i] = keep
            out.view(-1)[i] = (up - down) / 2e-6
        return out

    x = x0.clone()
    with torch.no_grad():
        fd_x = fd(x, lambda: loss(x))
        fd_w = fd(layer.weights.data, lambda: loss(x0))
        fd_e = fd(layer.encoder_weights.data, lambda: loss(x0))
    for got, expected in zip(grads["parameter_shift"], (fd_x, fd_w, fd_e), strict=True):
        torch.testing.assert_close(got, expected, atol=1e-7, rtol=0)
    assert float(grads["parameter_shift"][2].abs().max()) > 1e-3  # the scalings really receive a gradient


def _fit_cos3x(trainable_scaling: bool) -> tuple[list[float], QuantumLayer]:
    x = torch.linspace(-1.0, 1.0, 24, dtype=torch.float64).reshape(-1, 1)
    y = torch.cos(3.0 * x[:, 0])
    layer = QuantumLayer(1, encoder={"name": "reuploading", "options": {"trainable_scaling": trainable_scaling}}, ansatz="separable",
                         layers=2, seed=1).double()
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    losses = []
    for _ in range(60):
        opt.zero_grad()
        loss = ((layer(x)[:, 0] - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, layer


def test_reuploading_with_trainable_scaling_trains():
    """cos(3x) needs input frequency 3; two plain uploads reach frequency 2, trainable scalings reach further."""
    scaled, layer = _fit_cos3x(True)
    fixed, _ = _fit_cos3x(False)
    assert scaled[-1] < 0.01 * scaled[0], [round(v, 4) for v in scaled[::10]]  # measured: 0.60 -> 0.0002
    assert scaled[-1] < 0.1 * fixed[-1], (scaled[-1], fixed[-1])  # measured: 0.0002 vs 0.12
    assert float((layer.encoder_weights.detach() - 1).abs().max()) > 0.1  # the scalings moved


@pytest.mark.parametrize(("spec", "n_qubits", "message"), [
    ({"name": "angle", "options": {"features_per_qubit": 3, "n_features": 7}}, 2, "needs at least 3 qubits"),
    ({"name": "angle", "options": {"features_per_qubit": 3, "rotation": "X"}}, 2, "rotation does not apply"),
    ({"name": "amplitude", "options": {"copies": 2}}, 3, "multiple of 2 qubits"),
])
def test_bad_encoder_options_name_the_problem(spec, n_qubits, message):
    with pytest.raises(ConfigError, match=message):
        QuantumLayer(n_qubits, encoder=spec)


def test_three_features_per_qubit_load_as_one_rot_each():
    layer = QuantumLayer(2, encoder={"name": "angle", "options": {"features_per_qubit": 3}}, ansatz="separable", seed=0)
    assert layer.n_features == 6
    assert [(op.name, op.wires) for op in layer.circuit.ops][:2] == [("Rot", (0,)), ("Rot", (1,))]


def test_product_slots_are_shifted_for_inputs_and_for_weights():
    layer = _scaled_layer("parameter_shift")
    scaled = torch.tensor([bool(s.factors) for s in layer.circuit.slots])
    assert int(scaled.sum()) == 10  # 5 features x 2 uploads
    assert bool(layer.trainable_slots(inputs=False, weights=True)[scaled].all())
    assert bool(layer.trainable_slots(inputs=True, weights=False)[scaled].all())
    assert not bool(layer.trainable_slots(inputs=False, weights=False).any())
