"""QuantumLayer(circuit=...) with a circuit written in hqnn: its inputs and weights, shapes, and refusals."""

from __future__ import annotations

import math

import pytest
import torch

from hqnn_core import QuantumLayer
from hqnn_core.circuit import CircuitBuilder, Observable
from hqnn_core.errors import CapabilityError, ConfigError


def _circuit():
    b = CircuitBuilder(2)
    b.add("RY", [0], b.input(0))
    b.add("RY", [1], b.input(1, coeff=2.0))
    b.add("CNOT", [0, 1])
    b.add("RZZ", [0, 1], b.input(0, -1.0, math.pi).times(b.input(1, -1.0, math.pi)))
    b.add("RX", [0], b.weight(0))
    b.add("RY", [1], b.weight(1))
    b.add("RX", [1], b.weight(2))
    return b.build([Observable.parse("Z0"), Observable.parse("X0X1")])


def test_the_layer_reads_the_circuits_inputs_weights_and_observables():
    layer = QuantumLayer(circuit=_circuit(), weight_shapes=(3,), seed=0)
    assert (layer.n_qubits, layer.n_features, layer.n_outputs, tuple(layer.weights.shape)) == (2, 2, 2, (3,))
    assert layer.circuit.ops == _circuit().ops and layer.circuit.observables == _circuit().observables
    x = torch.tensor([[0.3, -0.8]], dtype=torch.float64, requires_grad=True)
    out = layer.double()(x)
    # the angles the layer computes are the circuit's own slot definitions
    angles = layer.slot_values(x.detach())[0]
    w = layer.weights.detach()
    expected = [0.3, -1.6, (math.pi - 0.3) * (math.pi + 0.8), *w.tolist()]
    torch.testing.assert_close(angles, torch.tensor(expected, dtype=torch.float64), atol=1e-12, rtol=0)
    out.sum().backward()
    assert x.grad is not None and layer.weights.grad is not None and layer.weights.grad.shape == (3,)


def test_a_circuits_probabilities_and_shapes_like_torch_layer():
    layer = QuantumLayer(circuit=_circuit(), measure="probs", seed=0)
    assert layer(torch.rand(5, 2)).shape == (5, 4) and layer(torch.rand(2)).shape == (4,)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight_shapes": (2, 2)}, "holds 4 weights; the circuit reads 3"),
        ({"n_qubits": 3}, "the circuit has 2 qubits"),
        ({"inputs": ["x"]}, "an hqnn circuit already reads"),
        ({"layers": 2}, "one layer"),
    ],
)
def test_bad_circuit_arguments_name_the_fix(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        QuantumLayer(circuit=_circuit(), **kwargs)


def test_circuit_arguments_without_a_circuit_and_unknown_circuit_types_are_refused():
    with pytest.raises(ConfigError, match="describe a circuit given with circuit="):
        QuantumLayer(2, weight_shapes=(3,))
    with pytest.raises(ConfigError, match="circuit= takes an hqnn Circuit"):
        QuantumLayer(circuit=object())


def test_angles_written_as_formulas_over_shaped_inputs_and_weights():
    b = CircuitBuilder(2)
    x, w = b.inputs(2), b.weights(2, 2, 3)
    b.add("PhaseShift", [0], 2 * x[0])
    b.add("PhaseShift", [1], 2 * (math.pi - x[0]) * (math.pi - x[1]))
    b.add("RY", [0], x[1] * w[1, 0, 2] + 0.5)
    b.add("RZ", [1], -w[0, 1, 1] / 4 - 1.0)
    for layer_index in range(2):
        for q in range(2):
            b.add("Rot", [q], w[layer_index, q, 0], w[layer_index, q, 1], w[layer_index, q, 2])
    layer = QuantumLayer(circuit=b.build(), weight_shapes=w.shape, seed=1).double()
    xv = torch.tensor([[0.3, -0.7]], dtype=torch.float64)
    wv = layer.weights.detach()
    angles = layer.slot_values(xv)[0]
    expected = [0.6, 2 * (math.pi - 0.3) * (math.pi + 0.7), -0.7 * float(wv[1, 0, 2]) + 0.5, -float(wv[0, 1, 1]) / 4 - 1.0]
    torch.testing.assert_close(angles[:4], torch.tensor(expected, dtype=torch.float64), atol=1e-12, rtol=0)
    torch.testing.assert_close(angles[4:], wv.reshape(-1), atol=0, rtol=0)  # w[l, q, k] is flat index (l * 2 + q) * 3 + k


def test_formula_mistakes_are_refused_naming_the_fix():
    b = CircuitBuilder(2)
    x, w = b.inputs(2), b.weights(3)
    with pytest.raises(CapabilityError, match="sum of two entries is not one gate angle"):
        x[0] + x[1]
    with pytest.raises(CapabilityError, match="product plus an offset"):
        (x[0] * w[0] + 1.0) * x[1]
    with pytest.raises(ConfigError, match="outside shape"):
        w[3]
    with pytest.raises(ConfigError, match="must be positive integers"):
        b.weights(0, 2)
