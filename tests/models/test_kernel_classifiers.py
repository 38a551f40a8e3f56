"""The qml-benchmarks kernel models: Gram matrices against dense numpy statevectors, the paper's accuracy, the sklearn API.

Oracles: each feature map's state written from its formula with numpy matrices (not from hqnn
circuits), and the paper's published test accuracy of the IQP-kernel SVM on linearly_separable_4d.
"""

from __future__ import annotations

import itertools
from functools import reduce

import numpy as np
import pytest
from scipy.linalg import expm
from sklearn.base import clone

from benchmarks.published import DATASETS, datasets_root, evaluate, paper_rows
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.models import IQPKernelClassifier, ProjectedQuantumKernel, SeparableKernelClassifier

I2 = np.eye(2)
PX = np.array([[0, 1], [1, 0]], dtype=complex)
PY = np.array([[0, -1j], [1j, 0]])
PZ = np.diag([1.0, -1.0]).astype(complex)
H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)


def _rx(a):
    return expm(-0.5j * a * PX)


def _ry(a):
    return expm(-0.5j * a * PY)


def _rz(a):
    return expm(-0.5j * a * PZ)


def _on(n, ops):
    """Kronecker product of one-qubit matrices ``{wire: M}`` on ``n`` wires (wire 0 most significant)."""
    return reduce(np.kron, [ops.get(w, I2) for w in range(n)])


def iqp_state(x, repeats):
    n = len(x)
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    for _ in range(repeats):
        psi = _on(n, dict.fromkeys(range(n), H)) @ psi
        for i in range(n):
            psi = _on(n, {i: _rz(x[i])}) @ psi
        for i, j in itertools.combinations(range(n), 2):
            psi = expm(-0.5j * x[i] * x[j] * _on(n, {i: PZ, j: PZ})) @ psi
    return psi


def separable_state(x, layers):
    """The paper's one-qubit states: per layer RX(-π/4) then RY(-x_i), as a product over qubits."""
    qubits = []
    for xi in x:
        q = np.array([1, 0], dtype=complex)
        for _ in range(layers):
            q = _ry(-xi) @ _rx(-np.pi / 4) @ q
        qubits.append(q)
    return reduce(np.kron, qubits)


def hamiltonian_bloch(x, t, steps, angles):
    """``[n_qubits, 3]`` reduced Bloch vectors after the paper's Rot layer and Trotterised Heisenberg chain."""
    n = len(x) + 1
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    for q in range(n):
        phi, theta, omega = angles[q]
        psi = _on(n, {q: _rz(omega) @ _ry(theta) @ _rz(phi)}) @ psi
    dt = t / steps * (n - 1)
    for _ in range(steps):
        for j in range(n - 1):
            for P in (PX, PY, PZ):
                psi = expm(-0.5j * x[j] * dt * _on(n, {j: P, j + 1: P})) @ psi
    return np.array([[np.real(psi.conj() @ _on(n, {q: P}) @ psi) for P in (PX, PY, PZ)] for q in range(n)])


def fidelity_gram(states_a, states_b):
    return np.abs(np.conj(states_a) @ np.asarray(states_b).T) ** 2


@pytest.fixture
def data():
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, size=(12, 3))
    y = np.where(X[:, 0] + 0.5 * X[:, 1] > 0, 1, -1)
    return X, y


@pytest.mark.parametrize("repeats", [1, 2])
def test_iqp_gram_equals_numpy_statevectors(data, repeats):
    X, y = data
    model = IQPKernelClassifier(repeats=repeats, C=10.0).fit(X, y)
    Xs = model.X_train_
    assert Xs.min() == pytest.approx(-np.pi / 2) and Xs.max(axis=0) == pytest.approx(np.full(3, np.pi / 2))  # the paper's scaling
    states = np.array([iqp_state(x, repeats) for x in Xs])
    np.testing.assert_allclose(model.precompute_kernel(Xs, Xs), fidelity_gram(states, states), atol=1e-10)
    np.testing.assert_allclose(model.precompute_kernel(Xs[:4], Xs[4:]), fidelity_gram(states[:4], states[4:]), atol=1e-10)


@pytest.mark.parametrize("layers", [1, 2])
def test_separable_gram_equals_numpy_statevectors(data, layers):
    X, y = data
    model = SeparableKernelClassifier(encoding_layers=layers).fit(X, y)
    Xs = model.X_train_
    states = np.array([separable_state(x, layers) for x in Xs])
    np.testing.assert_allclose(model.precompute_kernel(Xs, Xs), fidelity_gram(states, states), atol=1e-10)


def test_projected_gram_equals_numpy_bloch_vectors_with_the_papers_gamma(data):
    X, y = data
    model = ProjectedQuantumKernel(gamma_factor=3.0, t=0.7, trotter_steps=2, random_state=5).fit(X, y)
    rng = np.random.default_rng(5)
    rng.integers(100000)
    angles = rng.uniform(size=(4, 3)) * 2 * np.pi  # the paper's draw order: the SVC's seed, then the rotations
    np.testing.assert_allclose(model.rotation_angles_, angles)
    Xs = model.X_train_
    bloch = np.array([hamiltonian_bloch(x, 0.7, 2, angles) for x in Xs])
    a, b = bloch[:5], bloch[5:]
    gamma = 3.0 / np.var(a) / 3  # from the first argument's expectations, over n_features
    expected = np.exp(-gamma * ((a[:, None] - b[None]) ** 2).sum(axis=(2, 3)))
    np.testing.assert_allclose(model.precompute_kernel(Xs[:5], Xs[5:]), expected, atol=1e-10)
    full = model.precompute_kernel(Xs, Xs)
    np.testing.assert_allclose(np.diag(full), 1.0)
    assert full[0, 1] == pytest.approx(np.exp(-3.0 / np.var(bloch) / 3 * ((bloch[0] - bloch[1]) ** 2).sum()), abs=1e-10)


def test_sklearn_api_labels_probabilities_and_params(data):
    X, y = data
    model = IQPKernelClassifier(repeats=1, C=10.0, random_state=0)
    assert model.get_params()["repeats"] == 1 and clone(model).set_params(C=2.0).C == 2.0
    model.fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (12, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert set(model.predict(X)) <= {-1, 1}
    np.testing.assert_array_equal(model.predict(X), np.where(model.decision_function(X) > 0, 1, -1))
    assert model.score(X, y) == pytest.approx(np.mean(model.predict(X) == y))
    with pytest.raises(InputError, match="labels -1 and \\+1"):
        IQPKernelClassifier().fit(X, (y + 1) // 2)
    with pytest.raises(InputError, match="fitted on 3"):
        model.predict(X[:, :2])
    with pytest.raises(ConfigError, match="embedding"):
        ProjectedQuantumKernel(embedding="ZZ").fit(X, y)
    with pytest.raises(ConfigError, match="C must be"):
        SeparableKernelClassifier(C=0).fit(X, y)


def test_paper_defaults():
    assert IQPKernelClassifier().get_params() == {"svm": None, "repeats": 2, "C": 1.0, "random_state": 42, "scaling": 1.0,
                                                  "backend": "torch", "shots": None}
    pqk = ProjectedQuantumKernel()
    assert (pqk.gamma_factor, pqk.C, pqk.embedding, pqk.t, pqk.trotter_steps) == (1.0, 1.0, "Hamiltonian", 1.0 / 3, 5)
    assert (SeparableKernelClassifier().encoding_layers, SeparableKernelClassifier().C) == (1, 1.0)


@pytest.mark.skipif(not (datasets_root() / DATASETS["linearly_separable_4d"]).is_file(),
                    reason="the shared qml-benchmarks datasets are not beside the repository")
def test_iqp_kernel_svm_reproduces_the_papers_accuracy_exactly():
    row = paper_rows()[("linearly_separable_4d", "IQPKernelClassifier")]
    result = evaluate(row, seeds=[0], progress=False)
    assert result.test_acc == [pytest.approx(0.8167, abs=1e-4)] and row.test_acc_mean == 0.8167
    assert result.train_acc == [pytest.approx(row.train_acc_mean, abs=1e-4)]
