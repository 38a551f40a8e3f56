"""Each published model's circuit output equals the paper's circuit on PennyLane's ``default.qubit``.

The PennyLane circuits are written here from XanaduAI/qml-benchmarks' model code (templates where
the paper's code uses them: IQPEmbedding, StronglyEntanglingLayers, AmplitudeEmbedding), and fed
the model's own preprocessed inputs and parameters; the hqnn side is the model's forward pass on
the torch backend. Random parameters, not the initial ones, so every gate matters.
"""

from __future__ import annotations

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core.models import (  # noqa: E402
    CircuitCentricClassifier,
    DataReuploadingClassifier,
    DressedQuantumCircuitClassifier,
    IQPVariationalClassifier,
    QuantumKitchenSinks,
    QuantumMetricLearner,
    SeparableVariationalClassifier,
    TreeTensorClassifier,
)

pytestmark = pytest.mark.vendor

RNG = np.random.default_rng(7)


def _prepared(model, n_features: int, n_rows: int = 3):
    """The model built for ``n_features`` with random parameters; its preprocessed inputs as numpy and torch."""
    X = RNG.uniform(-1, 1, size=(20, n_features))
    features = model._preprocess(X, fit=True)
    model._build(features.shape[1], np.random.default_rng(0))
    with torch.no_grad():
        for p in model.params_.values():
            p.copy_(torch.from_numpy(RNG.uniform(-np.pi, np.pi, size=tuple(p.shape))))
    rows = features[:n_rows]
    return rows, torch.from_numpy(rows)


def _params(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy() for k, v in model.params_.items()}


def _cz_pairs(n: int, layer: int) -> list[tuple[int, int]]:
    start = 0 if layer % 2 == 0 else 1  # qml.broadcast patterns "double" and "double_odd"
    return [(i, i + 1) for i in range(start, n - 1, 2)]


@pytest.mark.parametrize(("n_features", "n_layers"), [(4, 2), (8, 3), (3, 1)])
def test_data_reuploading_matches_the_paper_circuit(n_features, n_layers):
    model = DataReuploadingClassifier(n_layers=n_layers, observable_type="full")
    rows, x = _prepared(model, n_features)
    p, n = _params(model), model.n_qubits_

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit(x):
        for layer in range(n_layers):
            for i in range(n):
                qml.Rot(*(x[3 * i : 3 * i + 3] * p["omegas"][layer, 3 * i : 3 * i + 3]), wires=i)
                qml.Rot(*p["thetas"][i, layer], wires=i)
            for a, b in _cz_pairs(n, layer):
                qml.CZ(wires=[a, b])
        for i in range(n):
            qml.Rot(*(x[3 * i : 3 * i + 3] * p["omegas"][n_layers, 3 * i : 3 * i + 3] + p["thetas"][i, n_layers]), wires=i)
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    expected = np.array([circuit(r) for r in rows]).reshape(len(rows), n)
    np.testing.assert_allclose(model._outputs(x).detach().numpy(), expected, atol=1e-10)


@pytest.mark.parametrize(("n_features", "n_layers"), [(4, 1), (5, 3), (2, 2)])
def test_dressed_quantum_circuit_matches_the_paper_circuit(n_features, n_layers):
    model = DressedQuantumCircuitClassifier(n_layers=n_layers)
    rows, x = _prepared(model, n_features)
    p, n = _params(model), n_features
    ring = [(0, 1)] if n == 2 else [(i, (i + 1) % n) for i in range(n)]

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit(angles):
        for i in range(n):
            qml.Hadamard(wires=i)
            qml.RY(angles[i], wires=i)
        for layer in range(n_layers):
            for i in range(n):
                qml.RY(p["circuit_weights"][layer, i], wires=i)
            for a, b in ring:
                qml.CNOT(wires=[a, b])
        return [qml.expval(qml.PauliZ(i)) for i in range(n)]

    expected = []
    for r in rows:
        angles = np.tanh(p["input_weights"] @ r) * np.pi / 2
        expected.append(p["output_weights"] @ np.array(circuit(angles)))
    np.testing.assert_allclose(model._outputs(x).detach().numpy(), np.array(expected), atol=1e-10)


@pytest.mark.parametrize(("n_features", "n_layers", "repeats"), [(4, 2, 1), (5, 3, 2), (2, 1, 1)])
def test_iqp_variational_matches_the_paper_circuit(n_features, n_layers, repeats):
    model = IQPVariationalClassifier(n_layers=n_layers, repeats=repeats)
    rows, x = _prepared(model, n_features)
    weights = _params(model)["weights"].reshape(n_layers, n_features, 3)
    wires = range(n_features)

    @qml.qnode(qml.device("default.qubit", wires=n_features))
    def circuit(x):
        qml.IQPEmbedding(x, wires=wires, n_repeats=repeats)
        qml.StronglyEntanglingLayers(weights, wires=wires, imprimitive=qml.CZ)
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    expected = np.array([circuit(r) for r in rows])
    np.testing.assert_allclose(model._outputs(x).detach().numpy(), expected, atol=1e-10)


@pytest.mark.parametrize(("n_features", "copies", "n_layers"), [(4, 3, 1), (5, 2, 2), (8, 1, 3)])
def test_circuit_centric_matches_the_paper_circuit(n_features, copies, n_layers):
    model = CircuitCentricClassifier(n_input_copies=copies, n_layers=n_layers)
    rows, x = _prepared(model, n_features)
    p, n = _params(model), model.n_qubits_
    size = 2 ** (n // copies)

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit(state):
        qml.AmplitudeEmbedding(state, wires=range(n))
        qml.StronglyEntanglingLayers(p["weights"].reshape(n_layers, n, 3), wires=range(n))
        return qml.expval(qml.PauliZ(0))

    expected = []
    for r in rows:
        padded = np.r_[r, np.full(size - n_features, 1 / size)]
        padded = padded / np.linalg.norm(padded)
        state = padded
        for _ in range(copies - 1):
            state = np.kron(state, padded)
        expected.append(circuit(state) + p["b"])
    np.testing.assert_allclose(model._outputs(x).detach().numpy(), np.array(expected), atol=1e-10)


@pytest.mark.parametrize(("n_features", "encoding_layers"), [(4, 1), (3, 2)])
def test_separable_matches_the_paper_circuit(n_features, encoding_layers):
    model = SeparableVariationalClassifier(encoding_layers=encoding_layers)
    rows, x = _prepared(model, n_features)
    weights = _params(model)["weights"]

    @qml.qnode(qml.device("default.qubit", wires=1))
    def qubit(w, xi):
        for layer in range(encoding_layers):
            qml.Rot(*w[layer], wires=0)
            qml.RY(xi, wires=0)
        qml.Rot(*w[encoding_layers], wires=0)
        return qml.expval(qml.PauliZ(0))

    expected = [np.mean([qubit(weights[i], r[i]) for i in range(n_features)]) for r in rows]
    np.testing.assert_allclose(model._outputs(x).detach().numpy(), np.array(expected), atol=1e-10)


@pytest.mark.parametrize("n_features", [4, 8, 5])
def test_tree_tensor_matches_the_paper_circuit(n_features):
    model = TreeTensorClassifier()
    rows, x = _prepared(model, n_features)
    p, n = _params(model), model.n_qubits_

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit(features):
        qml.AmplitudeEmbedding(features, normalize=True, wires=range(n))
        count = 0
        for level in range(int(np.log2(n))):
            for q in range(0, n, 2**level):
                qml.RY(p["weights"][0, count], wires=q)
                count += 1
            for i in range(0, n, 2 ** (level + 1)):
                qml.CNOT(wires=[i + 2**level, i])
        qml.RY(p["weights"][0, count], wires=0)
        return qml.expval(qml.PauliZ(0))

    expected = [circuit(np.r_[r, np.full(2**n - n_features, 1 / 2**n)]) + p["bias"][0] for r in rows]
    np.testing.assert_allclose(model._outputs(x).detach().numpy(), np.array(expected), atol=1e-10)


@pytest.mark.parametrize("n_qubits", [4, 5])
def test_kitchen_sink_shots_match_the_paper_circuit_and_sampler(n_qubits):
    """Outcome probabilities equal PennyLane's, and the shared-u shot is jax.random.choice's inverse-CDF outcome."""
    model = QuantumKitchenSinks(n_episodes=3, random_state=3).fit(RNG.uniform(-1, 1, (12, n_qubits)), np.tile([-1, 1], 6))
    angles = RNG.uniform(-3, 3, size=(4, n_qubits))

    @qml.qnode(qml.device("default.qubit", wires=n_qubits))
    def circuit(q):
        for i in range(n_qubits):
            qml.RX(q[i], wires=i)
        for i in range(0, n_qubits - 1, 2):
            qml.CNOT(wires=[i, i + 1])
        for i in range(n_qubits - 2):
            qml.CNOT(wires=[i, i + 2])
        return qml.probs(wires=range(n_qubits))

    expected = np.array([circuit(a) for a in angles])
    with torch.no_grad():
        probs = model.layer_(torch.from_numpy(angles)).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-10)
    from hqnn_core.models.quantum_kitchen_sinks import shared_shot

    bits = shared_shot(torch.from_numpy(expected), model.u_).numpy()
    for row, p in zip(bits, expected, strict=True):
        index = int(np.searchsorted(np.cumsum(p), np.cumsum(p)[-1] * (1 - model.u_)))
        assert list(row.astype(int)) == [int(b) for b in format(index, f"0{n_qubits}b")]



def test_a_model_runs_unchanged_on_a_pennylane_backend():
    """backend= moves the circuit to a vendor: same outputs from the same parameters."""
    on_torch, on_pennylane = DataReuploadingClassifier(n_layers=2), DataReuploadingClassifier(n_layers=2, backend="pennylane:default.qubit")
    rows, x = _prepared(on_torch, 5)
    on_pennylane._preprocess(RNG.uniform(-1, 1, size=(20, 5)), fit=True)
    on_pennylane._build(6, np.random.default_rng(0))
    with torch.no_grad():
        for name, p in on_pennylane.params_.items():
            p.copy_(on_torch.params_[name])
    np.testing.assert_allclose(on_pennylane._outputs(x).detach().numpy(), on_torch._outputs(x).detach().numpy(), atol=1e-10)


def test_metric_learner_uses_compute_uncompute_where_the_backend_has_no_states():
    """Without statevectors the fidelity is the all-zeros probability of embed-then-unembed; it equals the state overlap."""
    X, y = RNG.uniform(-1, 1, size=(8, 3)), np.tile([-1, 1], 4)
    by_state = QuantumMetricLearner(n_layers=2, batch_size=4, max_steps=1, convergence_interval=None).fit(X, y)
    by_overlap = QuantumMetricLearner(n_layers=2, batch_size=4, max_steps=1, convergence_interval=None,
                                      backend="pennylane:default.qubit").fit(X, y)
    assert (by_state.layer_.circuit.measurement.kind, by_overlap.layer_.circuit.measurement.kind) == ("state", "probs")
    with torch.no_grad():
        by_overlap.layer_.weights.copy_(by_state.layer_.weights)
        x1, x2 = (torch.from_numpy(RNG.uniform(-1.5, 1.5, size=(4, 3))) for _ in range(2))
        np.testing.assert_allclose(by_overlap.fidelities(x1, x2).numpy(), by_state.fidelities(x1, x2).numpy(), atol=1e-10)
