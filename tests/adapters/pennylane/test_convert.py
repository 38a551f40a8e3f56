"""from_pennylane / to_pennylane: QNodes with templates become layers that equal TorchLayer; round trips keep the state."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("pennylane")

import pennylane as qml  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402
from hqnn_core.convert import from_pennylane, to_pennylane  # noqa: E402
from hqnn_core.errors import CapabilityError, ConfigError  # noqa: E402

pytestmark = pytest.mark.vendor

DEV = qml.device("default.qubit", wires=4)


@qml.qnode(DEV, interface="torch")
def angle_sel(inputs, weights):
    qml.AngleEmbedding(inputs, wires=range(4))
    qml.StronglyEntanglingLayers(weights, wires=range(4))
    return [qml.expval(qml.PauliZ(w)) for w in range(4)]


@qml.qnode(DEV, interface="torch")
def iqp_probs(inputs, weights):
    qml.IQPEmbedding(inputs, wires=range(4))
    qml.BasicEntanglerLayers(weights, wires=range(4))
    return qml.probs(wires=[0, 2])


def _pair(qnode, shapes, **layer_kwargs):
    torch_layer = qml.qnn.TorchLayer(qnode, shapes).double()
    (shape,) = shapes.values()
    ours = QuantumLayer(circuit=from_pennylane(qnode, inputs=4, weight_shapes=shapes), weight_shapes=shape, **layer_kwargs).double()
    with torch.no_grad():
        ours.weights.copy_(torch_layer.weights)
    return torch_layer, ours


@pytest.mark.parametrize(("qnode", "shapes", "kwargs"), [(angle_sel, {"weights": (2, 4, 3)}, {}),
                                                        (iqp_probs, {"weights": (2, 4)}, {"measure": "probs", "wires": [0, 2]})])
def test_outputs_and_gradients_equal_torch_layer(qnode, shapes, kwargs):
    torch_layer, ours = _pair(qnode, shapes, **kwargs)
    x = torch.rand(3, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2
    cotangent = torch.randn(3, ours.n_outputs, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    results = []
    for layer in (torch_layer, ours):
        xi = x.clone().requires_grad_(True)
        out = layer(xi)
        (out * cotangent).sum().backward()
        results.append((out.detach(), xi.grad, layer.weights.grad))
    for reference, got in zip(*results, strict=True):
        torch.testing.assert_close(got, reference, atol=1e-6, rtol=0)


def test_the_converted_layer_trains_on_digits_like_the_original():
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    data = load_digits(n_class=2)
    x = torch.tensor(PCA(4, random_state=0).fit_transform(data.data / 16.0), dtype=torch.float32)
    y = torch.tensor(data.target)
    torch_layer, ours = _pair(angle_sel, {"weights": (2, 4, 3)})
    model = torch.nn.Sequential(ours.float(), torch.nn.Linear(4, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        for idx in torch.randperm(len(y), generator=torch.Generator().manual_seed(0)).split(32):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()
    with torch.no_grad():
        assert float((model(x).argmax(1) == y).float().mean()) >= 0.9


def test_round_trip_through_to_pennylane_keeps_the_circuit():
    circuit = from_pennylane(iqp_probs, inputs=4, weight_shapes={"weights": (2, 4)})
    again = from_pennylane(to_pennylane(circuit), inputs=4, weight_shapes={"weights": (8,)})
    assert again.ops == circuit.ops and again.measurement == circuit.measurement
    x, w = torch.rand(4, dtype=torch.float64) + 0.3, torch.rand(8, dtype=torch.float64)
    reference = QuantumLayer(circuit=circuit, measure="probs", wires=[0, 2]).double()
    other = QuantumLayer(circuit=again, measure="probs", wires=[0, 2]).double()
    with torch.no_grad():
        reference.weights.copy_(w.reshape(reference.weights.shape))
        other.weights.copy_(w.reshape(other.weights.shape))
    torch.testing.assert_close(other.slot_values(x[None]), reference.slot_values(x[None]), atol=1e-10, rtol=0)
    torch.testing.assert_close(other(x), reference(x), atol=1e-10, rtol=0)


def test_what_cannot_be_converted_is_refused():
    @qml.qnode(DEV, interface="torch")
    def cubic(inputs, weights):
        qml.RX(inputs[0] ** 3, wires=0)
        return qml.expval(qml.PauliZ(0))

    with pytest.raises(CapabilityError, match="not affine"):
        from_pennylane(cubic, inputs=1, weight_shapes={"weights": (1,)})
    with pytest.raises(ConfigError, match="needs inputs="):
        from_pennylane(angle_sel, weight_shapes={"weights": (2, 4, 3)})


def test_a_qnode_given_directly_as_circuit_is_the_same_layer():
    layer = QuantumLayer(circuit=angle_sel, inputs=4, weight_shapes={"weights": (2, 4, 3)}, seed=0)
    assert tuple(layer.weights.shape) == (2, 4, 3) and layer.n_features == 4
    torch_layer = qml.qnn.TorchLayer(angle_sel, {"weights": (2, 4, 3)})
    with torch.no_grad():
        layer.weights.copy_(torch_layer.weights)
    x = torch.rand(2, 4)
    torch.testing.assert_close(layer(x), torch_layer(x), atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match="needs inputs=<number of features> and weight_shapes="):
        QuantumLayer(circuit=angle_sel, weight_shapes=(2, 4, 3))
