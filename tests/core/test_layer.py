"""QuantumLayer as a torch module: shapes, Sequential, state_dict, devices, and clear input errors."""

import io

import pytest
import torch
from torch import nn

from hqnn_core import ConfigError, InputError, QuantumLayer, UnknownComponentError


def test_output_shape_dtype_and_default_observables():
    layer = QuantumLayer(3, layers=2, seed=0)
    out = layer(torch.rand(5, 3))
    assert out.shape == (5, 3) and out.dtype == torch.float32
    assert [str(o) for o in layer.circuit.observables] == ["Z0", "Z1", "Z2"]
    assert bool((out.abs() <= 1 + 1e-6).all())


def test_custom_observables():
    layer = QuantumLayer(2, observables=["Z0Z1", "0.5*X0 + 0.5*X1"], seed=0)
    assert layer(torch.rand(4, 2)).shape == (4, 2)
    assert layer.n_outputs == 2


def test_same_seed_same_weights():
    a, b = QuantumLayer(3, layers=2, seed=42), QuantumLayer(3, layers=2, seed=42)
    assert torch.equal(a.weights, b.weights)
    assert not torch.equal(a.weights, QuantumLayer(3, layers=2, seed=43).weights)


def test_trains_inside_sequential_and_reaches_front_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 2), QuantumLayer(2, layers=2, seed=0), nn.Linear(2, 1))
    x = torch.randn(64, 4)
    y = (x[:, 0] * x[:, 1] > 0).float().unsqueeze(1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        assert model[0].weight.grad is not None and model[0].weight.grad.abs().sum() > 0
        opt.step()
        first = first if first is not None else loss.item()
    assert loss.item() < first * 0.8


def test_state_dict_round_trip_through_weights_only_load():
    layer = QuantumLayer(3, ansatz="strongly_entangling", layers=2, seed=0)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert list(state) == ["weights"]
    other = QuantumLayer(3, ansatz="strongly_entangling", layers=2, seed=99)
    other.load_state_dict(state)
    x = torch.rand(4, 3)
    torch.testing.assert_close(other(x), layer(x))


def test_to_device_and_dtype_move_weights_and_slot_maps():
    layer = QuantumLayer(2, seed=0).to(torch.device("cpu")).double()
    assert layer.weights.dtype == torch.float64
    out = layer(torch.rand(3, 2, dtype=torch.float64))
    assert out.dtype == torch.float64
    meta = QuantumLayer(2, seed=0).to("meta")
    assert meta.weights.device.type == "meta" and meta._slot_coeff.device.type == "meta"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda_and_matches_cpu():
    layer = QuantumLayer(3, layers=2, seed=0)
    x = torch.rand(4, 3)
    cpu = layer(x)
    gpu = layer.to("cuda")(x.cuda())
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "x, message",
    [
        (torch.rand(4, 3), r"expected 2 features per sample for encoder 'angle' on 2 qubits, got 3"),
        (torch.rand(4, 1), r"expected 2 features .* got 1"),
        (torch.tensor([[0.1, float("nan")], [float("inf"), 0.0]]), r"contains 2 non-finite values \(first at \[0, 1\]\)"),
        (torch.ones(4, 2, dtype=torch.long), r"floating-point inputs, got dtype torch.int64"),
        (torch.rand(2, 2, 3), r"got 3 \(the last dimension of shape \(2, 2, 3\)\)"),
        (torch.tensor(0.5), r"shape \(\.\.\., 2\), got a scalar"),
    ],
)
def test_bad_inputs_raise_before_any_backend_call(x, message):
    layer = QuantumLayer(2, seed=0)
    with pytest.raises(InputError, match=message):
        layer(x)
    assert layer.backend.accounting.calls == 0


def test_nan_weights_are_reported_with_the_fix():
    layer = QuantumLayer(2, seed=0)
    with torch.no_grad():
        layer.weights[0, 0] = float("nan")
    with pytest.raises(InputError, match="lower the learning rate or clip gradients"):
        layer(torch.rand(1, 2))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_qubits": 0}, ConfigError, "n_qubits must be a positive integer"),
        ({"n_qubits": 2, "layers": 0}, ConfigError, "layers must be a positive integer"),
        ({"n_qubits": 2, "shots": 1.5}, ConfigError, "shots must be a positive integer or null"),
        ({"n_qubits": 2, "ansatz": "hardware_efficent"}, UnknownComponentError, "Did you mean 'hardware_efficient'"),
        ({"n_qubits": 2, "backend": "qiskit.aer"}, UnknownComponentError, r'pip install "hqnn\[qiskit\]"'),
        ({"n_qubits": 2, "encoder": {"name": "angle", "opts": {}}}, ConfigError, "the encoder spec must be a name or"),
        ({"n_qubits": 2, "observables": []}, ConfigError, "observables is empty"),
        ({"n_qubits": 2, "observables": ["Z5"]}, Exception, "outside wires 0..1"),
    ],
)
def test_bad_construction_names_the_problem(kwargs, error, message):
    with pytest.raises(error, match=message):
        QuantumLayer(**kwargs)


def test_describe_lists_components_and_backend():
    info = QuantumLayer(2, layers=2, seed=0).describe()
    assert info["encoder"] == {"name": "angle", "options": {"rotation": "Y", "scale": 1.0, "hadamard": False, "features_per_qubit": 1,
                                                            "n_features": None, "trainable_scaling": False}}
    assert info["gradient"]["name"] == "backprop" and info["backend"]["name"] == "torch"
    assert info["n_weights"] == 8
