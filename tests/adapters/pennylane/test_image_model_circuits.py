"""The image models' circuits equal the paper's on PennyLane's ``default.qubit``.

Written from XanaduAI/qml-benchmarks' model code: WeiNet's ``AmplitudeEmbedding`` +
``QubitUnitary(kron(V, V))`` with its correlators, and the quanvolutional filter's RY(pi x) +
``RandomLayers(weights, seed=42)`` probabilities; the hqnn side runs on the torch backend and, for
``backend=``, on PennyLane itself.
"""

from __future__ import annotations

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core.models import QuanvolutionalNeuralNetwork, WeiNet  # noqa: E402
from hqnn_core.models.base import circuit_layer  # noqa: E402
from hqnn_core.models.quanvolutional_neural_network import bit_patterns, quanv_circuit, random_layers  # noqa: E402

pytestmark = pytest.mark.vendor

RNG = np.random.default_rng(9)


def test_random_layers_are_pennylanes_gate_for_gate():
    weights = RNG.uniform(0, 2 * np.pi, size=(10, 20))
    theirs = qml.RandomLayers.compute_decomposition(weights, wires=range(4), ratio_imprim=0.3, imprimitive=qml.CNOT,
                                                    rotations=(qml.RX, qml.RY, qml.RZ), seed=42)
    ours = random_layers(weights, 4)
    assert [(op.name, tuple(op.wires), float(op.parameters[0]) if op.parameters else None) for op in theirs] == ours


def test_quanvolutional_filter_probabilities_equal_pennylanes():
    weights = RNG.uniform(0, 2 * np.pi, size=(10, 20))
    dev = qml.device("default.qubit", wires=4)

    @qml.qnode(dev)
    def circuit(x):
        for i in range(4):
            qml.RY(x[i] * np.pi, wires=i)
        qml.RandomLayers(weights, wires=range(4))
        return qml.probs(wires=range(4))

    patterns = bit_patterns(4).astype(float)
    expected = np.array([circuit(x) for x in patterns])
    layer = circuit_layer(quanv_circuit(weights, 4), "torch", measure="probs")
    with torch.no_grad():
        got = layer(torch.from_numpy(patterns)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_weinet_output_equals_the_papers_qnode_on_torch_and_on_pennylane():
    X = RNG.normal(size=(3, 16))
    V = np.zeros((4, 4))
    V[np.arange(4), (np.arange(4) + 1) % 4] = 1
    dev = qml.device("default.qubit", wires=4)
    operators = [qml.PauliZ(0), qml.PauliZ(0) @ qml.PauliZ(2), qml.PauliZ(2), qml.Identity(0)]

    @qml.qnode(dev)
    def circuit(x):
        qml.AmplitudeEmbedding(x, wires=range(4), normalize=True, pad_with=0.0)
        qml.QubitUnitary(np.kron(V, V), wires=range(4))
        return [qml.expval(op) for op in operators]

    weights = RNG.normal(size=4)
    expected = [float(np.dot(weights, circuit(x))) for x in X]
    for backend in ("torch", "pennylane:default.qubit"):
        model = WeiNet(backend=backend)
        features = model._preprocess(X, fit=True)
        model._build(features.shape[1], np.random.default_rng(0))
        with torch.no_grad():
            model.params_["weights"].copy_(torch.from_numpy(weights))
            got = model._outputs(torch.from_numpy(features)).numpy()
        np.testing.assert_allclose(got, expected, atol=1e-8, err_msg=backend)


def test_quanvolutional_model_runs_its_filters_on_pennylane():
    X = RNG.normal(size=(6, 16))
    maps = []
    for backend in ("torch", "pennylane:default.qubit"):
        model = QuanvolutionalNeuralNetwork(n_qchannels=2, rand_depth=3, rand_rot=6, backend=backend, random_state=1)
        bits = model._preprocess(X, fit=True)
        model._build(16, np.random.default_rng(1))
        maps.append(model.feature_maps(torch.from_numpy(bits)).numpy())
    np.testing.assert_array_equal(maps[0], maps[1])
