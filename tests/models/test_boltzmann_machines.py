"""The quantum Boltzmann machines against scipy's matrix exponential and the closed form of a qubit's Gibbs state."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.linalg import expm
from sklearn.exceptions import ConvergenceWarning

from hqnn_core.errors import ConfigError
from hqnn_core.models import QuantumBoltzmannMachine, QuantumBoltzmannMachineSeparable

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "qml_benchmarks" / "linearly_separable" / "linearly_separable_4d.npz"
RNG = np.random.default_rng(21)
Z = np.diag([1.0, -1.0])
X = np.array([[0.0, 1.0], [1.0, 0.0]])


def embed(ops: dict[int, np.ndarray], n: int) -> np.ndarray:
    out = np.eye(1)
    for q in range(n):
        out = np.kron(out, ops.get(q, np.eye(2)))
    return out


def _prepared(model, n_features: int):
    features = model._preprocess(RNG.normal(size=(10, n_features)), fit=True)
    model._build(n_features, np.random.default_rng(0))
    return features[:3], model.params_["thetas"].detach().numpy()


@pytest.mark.parametrize(("visible", "observable"), [("all", "sum"), ("half", "product"), ("single", "sum")])
def test_qbm_is_the_gibbs_expectation_of_the_papers_hamiltonian(visible, observable):
    model = QuantumBoltzmannMachine(visible_qubits=visible, observable_type=observable, temperature=2.0)
    rows, thetas = _prepared(model, 3)
    assert thetas.shape == (2 * 3 + 3, 3)  # the paper's n_params_ rows, of which the pair rows past the first go unused
    visible_qubits = {"all": 3, "half": 1, "single": 1}[visible]
    if observable == "sum":
        observable_matrix = sum(embed({q: Z}, 3) for q in range(visible_qubits)) / visible_qubits
    else:
        observable_matrix = embed(dict.fromkeys(range(visible_qubits), Z), 3)
    got = model._outputs(torch.from_numpy(rows)).detach().numpy()
    for x, out in zip(rows, got, strict=True):
        H = np.zeros((8, 8))
        count = 0
        for i in range(3):  # the paper's loop: Z_i, X_i with their own rows, then every pair on row 2n (never advanced)
            H += embed({i: Z}, 3) * (thetas[count] @ x)
            H += embed({i: X}, 3) * (thetas[count + 1] @ x)
            count += 2
        for i, j in [(0, 1), (0, 2), (1, 2)]:
            H += embed({i: Z, j: Z}, 3) * (thetas[count] @ x)
        rho = expm(-H / 2.0)
        assert out == pytest.approx(np.trace(rho @ observable_matrix) / np.trace(rho), abs=1e-10)


def test_separable_qbm_is_the_mean_of_single_qubit_gibbs_magnetisations():
    model = QuantumBoltzmannMachineSeparable(visible_qubits="all", temperature=1.5)
    rows, thetas = _prepared(model, 4)
    got = model._outputs(torch.from_numpy(rows)).detach().numpy()
    a, b = rows @ thetas[0::2].T, rows @ thetas[1::2].T  # [row, qubit]
    r = np.hypot(a, b)
    expected = np.mean(-a / r * np.tanh(r / 1.5), axis=1)  # <Z> of exp(-(a Z + b X) / T) / Z
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_boltzmann_machines_train_and_refuse_unknown_options():
    with np.load(DATA) as data:
        X_train, y_train, X_test, y_test = (data[k] for k in ("X_train", "y_train", "X_test", "y_test"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 60 steps, fewer than the paper's 2 x 200-step windows
        model = QuantumBoltzmannMachineSeparable(learning_rate=0.05, max_steps=60, random_state=0).fit(X_train, y_train)
        assert model.score(X_test, y_test) >= 0.9
        model = QuantumBoltzmannMachine(visible_qubits="all", temperature=10.0, learning_rate=0.05, max_steps=60, random_state=0)
        assert model.fit(X_train, y_train).score(X_test, y_test) >= 0.8
    np.testing.assert_allclose(model.predict_proba(X_test).sum(axis=1), 1.0, atol=1e-12)
    with pytest.raises(ConfigError, match="visible_qubits='most'"):
        QuantumBoltzmannMachine(visible_qubits="most").fit(X_train, y_train)
    assert QuantumBoltzmannMachine().get_params() == {
        "visible_qubits": "single", "observable_type": "sum", "temperature": 1, "learning_rate": 0.001, "batch_size": 32,
        "max_vmap": None, "max_steps": 10000, "convergence_threshold": 1e-6, "random_state": 42, "scaling": 1.0}
