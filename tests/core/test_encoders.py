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
