"""Fidelity and projected kernels against numpy oracles: values, pair counting, shot errors, PSD projection."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from kernel_oracles import (
    bloch_vectors,
    fidelity_matrix,
    iqp_state,
    projected_matrix,
    zz_feature_map_circuit,
    zz_feature_map_state,
)

from hqnn_core.circuit import GATES, CircuitBuilder
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.kernels import FidelityKernel, ProjectedKernel, compute_uncompute_circuit, nearest_psd

RNG = np.random.default_rng(7)
X = RNG.uniform(-1.5, 1.5, size=(6, 3))
Y = RNG.uniform(-1.5, 1.5, size=(4, 3))


def _iqp_fidelity(a: np.ndarray, b: np.ndarray, repeats: int = 1) -> np.ndarray:
    return fidelity_matrix(np.array([iqp_state(x, repeats) for x in a]), np.array([iqp_state(x, repeats) for x in b]))


@pytest.mark.parametrize("method", ["state", "compute_uncompute"])
def test_fidelity_kernel_equals_the_dense_iqp_oracle(method):
    kernel = FidelityKernel(encoder={"name": "iqp", "options": {"repeats": 2}}, n_qubits=3, method=method)
    np.testing.assert_allclose(kernel(X), _iqp_fidelity(X, X, 2), atol=1e-10)
    np.testing.assert_allclose(kernel(X, Y), _iqp_fidelity(X, Y, 2), atol=1e-10)
    np.testing.assert_allclose(kernel.matrix(Y, X), _iqp_fidelity(Y, X, 2), atol=1e-10)


def test_a_custom_circuit_feature_map_is_qiskits_zz_feature_map():
    data = RNG.uniform(0, 2, size=(5, 2))
    expected = fidelity_matrix(*(np.array([zz_feature_map_state(x) for x in data]),) * 2)
    for method in ("state", "compute_uncompute"):
        np.testing.assert_allclose(FidelityKernel(circuit=zz_feature_map_circuit(), method=method)(data), expected, atol=1e-10)


def test_the_adjoint_undoes_every_gate():
    """U(x)† U(x) = I for a circuit using every neutral gate; U(x')† U(x) gives the states' overlap."""
    b = CircuitBuilder(3)
    x = b.inputs(9)
    k = 0
    for name, spec in GATES.items():
        wires = [0, 1, 2][: spec.n_wires] if name != "SWAP" else [2, 0]
        angles = [x[(k + i) % 9] * (1 + i) + 0.3 for i in range(spec.n_params)]
        k += spec.n_params
        b.add("H", [1])
        b.add(name, wires, *angles)
    circuit = b.build()
    assert compute_uncompute_circuit(circuit).n_slots == 2 * circuit.n_slots
    data = RNG.uniform(-2, 2, size=(4, 9))
    by_states = FidelityKernel(circuit=circuit, method="state")(data)
    by_uncompute = FidelityKernel(circuit=circuit, method="compute_uncompute", evaluate_diagonal=True)(data)
    np.testing.assert_allclose(np.diag(by_uncompute), 1.0, atol=1e-10)
    np.testing.assert_allclose(by_uncompute, by_states, atol=1e-10)
    assert np.ptp(by_states) > 0.1  # the points differ, so the check has teeth


def test_a_gram_matrix_is_one_backend_call_and_evaluates_each_pair_once():
    kernel = FidelityKernel(encoder="iqp", n_qubits=3, method="compute_uncompute")
    before = kernel.backend.accounting.copy()
    kernel(X)
    spent = kernel.backend.accounting - before
    assert (spent.calls, spent.jobs, spent.circuits) == (1, 1, 6 * 5 // 2)
    kernel(X, Y)
    spent = kernel.backend.accounting - before
    assert (spent.calls, spent.circuits) == (2, 15 + 6 * 4)
    states = FidelityKernel(encoder="iqp", n_qubits=3)
    states(X, Y)
    assert (states.backend.accounting.calls, states.backend.accounting.circuits) == (1, 10)  # one simulation per point


@pytest.mark.parametrize(
    "make",
    [
        lambda: FidelityKernel(encoder="iqp", n_qubits=3, method="compute_uncompute", shots=50,
                               backend="torch.noisy", mitigation=[{"name": "zne", "options": {"scale_factors": [1, 3]}}]),
        lambda: FidelityKernel(encoder="iqp", n_qubits=3, method="compute_uncompute", evaluate_diagonal=True),
        lambda: FidelityKernel(encoder="iqp", n_qubits=3),
        lambda: ProjectedKernel(encoder="iqp", n_qubits=3, backend="torch.noisy", shots=20),
    ],
)
def test_cost_predicts_what_a_matrix_spends(make):
    kernel = make()
    for other in (None, Y):
        predicted = kernel.cost(len(X), None if other is None else len(other))
        before = kernel.backend.accounting.copy()
        kernel(X, other)
        spent = kernel.backend.accounting - before
        assert (predicted["circuits"], predicted["shots"], predicted["jobs"]) == (spent.circuits, spent.shots, spent.jobs)
        assert spent.calls == 1


def test_the_symmetric_diagonal_is_one_and_sklearn_style_calls_are_symmetric():
    kernel = FidelityKernel(encoder="iqp", n_qubits=3, method="compute_uncompute", shots=100, backend_options={"seed": 3})
    K = kernel(X, X.copy())  # SVC.fit calls kernel(X, X): recognised as the training matrix
    assert np.array_equal(np.diag(K), np.ones(6)) and np.array_equal(K, K.T)
    assert kernel.backend.accounting.circuits == 15


def test_shot_estimates_fall_within_their_standard_errors():
    data = np.random.default_rng(3).uniform(-1, 1, size=(14, 3))
    exact = _iqp_fidelity(data, data)
    kernel = FidelityKernel(encoder="iqp", n_qubits=3, shots=400, backend_options={"seed": 11})
    K, std = kernel.matrix(data, return_std=True)
    off = ~np.eye(14, dtype=bool)
    z = np.abs(K - exact)[off] / std[off]
    assert np.all(z < 5) and 0.88 <= np.mean(z < 2) <= 1.0
    binomial = np.sqrt(exact * (1 - exact) / 400)[off]
    np.testing.assert_allclose(std[off], binomial, atol=0.01)  # the stated error is the binomial one
    assert np.array_equal(kernel.last_std_, std) and np.all(np.diag(std) == 0)


def test_psd_projection_clips_the_negative_eigenvalues_of_a_noisy_estimate():
    data = np.random.default_rng(0).uniform(-3, 3, size=(16, 3))
    noisy = FidelityKernel(encoder="iqp", n_qubits=3, shots=10, backend_options={"seed": 5})(data)
    assert np.linalg.eigvalsh(noisy).min() < -0.05  # ten shots give an indefinite estimate
    projected = FidelityKernel(encoder="iqp", n_qubits=3, shots=10, backend_options={"seed": 5}, psd=True)(data)
    assert np.linalg.eigvalsh(projected).min() > -1e-10
    np.testing.assert_allclose(projected, nearest_psd(noisy), atol=1e-12)


def test_nearest_psd_is_the_eigenvalue_clipped_matrix():
    q, _ = np.linalg.qr(RNG.normal(size=(4, 4)))
    matrix = q @ np.diag([2.0, 0.5, -0.3, -1.0]) @ q.T
    np.testing.assert_allclose(nearest_psd(matrix), q @ np.diag([2.0, 0.5, 0, 0]) @ q.T, atol=1e-12)
    np.testing.assert_allclose(nearest_psd(np.eye(3)), np.eye(3), atol=1e-12)


@pytest.mark.parametrize(("gamma", "gradient"), [(0.3, "best"), (2.0, "parameter_shift")])
def test_projected_kernel_equals_the_reduced_density_matrix_oracle(gamma, gradient):
    """From statevectors (torch's default) and from measured Pauli expectations (any backend, here forced by the gradient)."""
    kernel = ProjectedKernel(encoder="iqp", n_qubits=3, gamma=gamma, gradient=gradient)
    assert kernel.feature_map.circuit.measurement.kind == ("state" if gradient == "best" else "expval")
    bx, by = (np.array([bloch_vectors(iqp_state(x)) for x in d]) for d in (X, Y))
    np.testing.assert_allclose(kernel.reduced_bloch_vectors(X).detach().numpy(), bx, atol=1e-10)
    np.testing.assert_allclose(kernel(X), projected_matrix(bx, bx, gamma), atol=1e-10)
    np.testing.assert_allclose(kernel(X, Y), projected_matrix(bx, by, gamma), atol=1e-10)
    assert kernel.backend.accounting.calls == 3  # Bloch vectors, K(X, X), K(X, Y): one call each


def test_projected_shot_estimates_fall_within_their_standard_errors():
    data = np.random.default_rng(4).uniform(-1, 1, size=(12, 3))
    exact = ProjectedKernel(encoder="iqp", n_qubits=3, gamma=0.5)(data)
    K, std = ProjectedKernel(encoder="iqp", n_qubits=3, gamma=0.5, shots=2000, backend_options={"seed": 2}).matrix(data, return_std=True)
    off = ~np.eye(12, dtype=bool)
    z = np.abs(K - exact)[off] / std[off]
    assert np.all(z < 5) and 0.85 <= np.mean(z < 2)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: FidelityKernel(encoder="iqp", circuit=zz_feature_map_circuit()), ConfigError, "not both"),
        (lambda: FidelityKernel(encoder="iqp", n_qubits=2, shots=10, method="state"), ConfigError, "method='compute_uncompute'"),
        (lambda: FidelityKernel(encoder="iqp", n_qubits=2, method="overlap"), ConfigError, "not a fidelity method"),
        (lambda: FidelityKernel(encoder="iqp", n_qubits=11, method="compute_uncompute"), ConfigError, "at most 10 qubits"),
        (lambda: ProjectedKernel(encoder="iqp", n_qubits=2, gamma=0), ConfigError, "gamma must be a positive number"),
        (lambda: FidelityKernel(encoder="iqp", n_qubits=2)(np.zeros((3, 5))), InputError, "expected 2 features"),
        (lambda: FidelityKernel(encoder="iqp", n_qubits=2)(np.zeros(2)), InputError, "reshape one sample"),
        (lambda: FidelityKernel(encoder="iqp", n_qubits=2)([["a", "b"]]), InputError, "numeric array"),
        (lambda: FidelityKernel(encoder="iqp", n_qubits=2)(np.array([[np.nan, 0.0]])), InputError, "non-finite"),
    ],
)
def test_bad_kernels_and_inputs_fail_with_one_clear_error(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_an_svc_with_the_kernel_matches_a_precomputed_svc():
    from sklearn.svm import SVC

    data = np.random.default_rng(1).uniform(-1.5, 1.5, size=(20, 2))
    labels = (data[:, 0] + data[:, 1] > 0).astype(int)
    kernel = FidelityKernel(encoder="angle", n_qubits=2)
    direct = SVC(kernel=kernel).fit(data, labels)
    precomputed = SVC(kernel="precomputed").fit(kernel(data), labels)
    test = np.random.default_rng(2).uniform(-1.5, 1.5, size=(8, 2))
    assert np.array_equal(direct.predict(test), precomputed.predict(kernel(test, data)))
    assert direct.score(data, labels) >= 0.95 and direct.score(test, (test[:, 0] + test[:, 1] > 0).astype(int)) >= 0.85
    assert torch.is_tensor(kernel.gram(data)) and kernel.gram(data).dtype == torch.float64
