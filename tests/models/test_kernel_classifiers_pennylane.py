"""The kernel models' Gram matrices equal the paper's own PennyLane circuits (as in XanaduAI/qml-benchmarks), and run on other vendors.

Oracle: the circuits of the paper's code written with PennyLane's templates and gates
(``IQPEmbedding``, ``Rot``, ``IsingXX/YY/ZZ``, the one-qubit overlap circuit of the separable kernel)
on ``default.qubit``, independently of hqnn's circuit builder.
"""

from __future__ import annotations

import numpy as np
import pytest

import hqnn_core
from hqnn_core.models import IQPKernelClassifier, ProjectedQuantumKernel, SeparableKernelClassifier

pytestmark = pytest.mark.vendor
qml = pytest.importorskip("pennylane")


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    X = rng.uniform(-1, 1, size=(8, 3))
    return X, np.where(X.sum(axis=1) > 0, 1, -1)


def test_iqp_kernel_equals_pennylane_iqp_embedding_compute_uncompute(data):
    X, y = data
    model = IQPKernelClassifier(repeats=2).fit(X, y)
    Xs = model.X_train_
    dev = qml.device("default.qubit", wires=3)

    @qml.qnode(dev)
    def overlap(a, b):
        qml.IQPEmbedding(a, wires=range(3), n_repeats=2)
        qml.adjoint(qml.IQPEmbedding(b, wires=range(3), n_repeats=2))
        return qml.probs()

    expected = np.array([[overlap(a, b)[0] for b in Xs] for a in Xs])
    np.testing.assert_allclose(model.precompute_kernel(Xs, Xs), expected, atol=1e-10)


def test_separable_kernel_equals_the_papers_one_qubit_overlap_circuit(data):
    X, y = data
    layers = 2
    model = SeparableKernelClassifier(encoding_layers=layers).fit(X, y)
    Xs = model.X_train_
    dev = qml.device("default.qubit", wires=1)

    @qml.qnode(dev)
    def qubit(a, b):  # the paper's qubit_circuit, with x[0] = a and x[1] = b
        for _ in range(layers):
            qml.RX(-np.pi / 4, wires=0)
            qml.RY(-a, wires=0)
        for _ in range(layers):
            qml.RY(b, wires=0)
            qml.RX(np.pi / 4, wires=0)
        return qml.expval(qml.Hermitian(np.diag([1.0, 0.0]), wires=0))

    expected = np.array([[np.prod([qubit(a[i], b[i]) for i in range(3)]) for b in Xs] for a in Xs])
    np.testing.assert_allclose(model.precompute_kernel(Xs, Xs), expected, atol=1e-10)


def test_projected_kernel_equals_the_papers_hamiltonian_embedding(data):
    X, y = data
    model = ProjectedQuantumKernel(gamma_factor=2.0, t=0.5, trotter_steps=3, random_state=1).fit(X, y)
    Xs, angles, n = model.X_train_, model.rotation_angles_, 4
    dev = qml.device("default.qubit", wires=n)

    @qml.qnode(dev)
    def paulis(x):
        evol_time = 0.5 / 3 * (n - 1)
        for i in range(n):
            qml.Rot(angles[i, 0], angles[i, 1], angles[i, 2], wires=i)
        for _ in range(3):
            for j in range(n - 1):
                qml.IsingXX(x[j] * evol_time, wires=[j, j + 1])
                qml.IsingYY(x[j] * evol_time, wires=[j, j + 1])
                qml.IsingZZ(x[j] * evol_time, wires=[j, j + 1])
        return [qml.expval(P(i)) for P in (qml.PauliX, qml.PauliY, qml.PauliZ) for i in range(n)]

    a, b = np.array([paulis(x) for x in Xs[:3]]), np.array([paulis(x) for x in Xs[3:]])
    gamma = 1 / np.var(a) / 3
    expected = np.exp(-gamma * 2.0 * ((a[:, None] - b[None]) ** 2).sum(-1))
    np.testing.assert_allclose(model.precompute_kernel(Xs[:3], Xs[3:]), expected, atol=1e-10)


@pytest.mark.parametrize("backend", ["pennylane:default.qubit", "qiskit.aer"])
def test_models_run_on_other_vendors_with_the_same_predictions(data, backend):
    family = backend.split(":")[0].split(".")[0]
    pytest.importorskip("qiskit_aer" if family == "qiskit" else "pennylane")
    X, y = data
    with hqnn_core.temporary_plugin(pytest.importorskip(f"hqnn_{family}"), name=family, distribution="hqnn"):
        _same_as_torch(X, y, backend)


def _same_as_torch(X, y, backend):
    torch_model = IQPKernelClassifier(repeats=1, C=10.0).fit(X, y)
    vendor_model = IQPKernelClassifier(repeats=1, C=10.0, backend=backend).fit(X, y)
    np.testing.assert_allclose(vendor_model.precompute_kernel(vendor_model.X_train_, vendor_model.X_train_),
                               torch_model.precompute_kernel(torch_model.X_train_, torch_model.X_train_), atol=1e-6)
    np.testing.assert_array_equal(vendor_model.predict(X), torch_model.predict(X))
