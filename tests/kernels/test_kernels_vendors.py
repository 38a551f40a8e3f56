"""Fidelity kernels of Qiskit's ZZ feature map on every local vendor simulator against Qiskit ML's own kernel.

The oracle is ``FidelityStatevectorKernel(feature_map=zz_feature_map(2, reps=2))``; the feature map
enters hqnn through the Qiskit converter and, separately, written with the circuit API. With shots,
every entry must lie within 5 of its stated standard errors and about 95% within 2.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from kernel_oracles import zz_feature_map_circuit

import hqnn_core
from hqnn_core.kernels import FidelityKernel, ProjectedKernel

pytestmark = pytest.mark.vendor

BACKENDS = ["torch", "qiskit.aer", "pennylane:default.qubit", "braket.local:sv"]
FAMILY = {"qiskit.aer": "qiskit", "pennylane:default.qubit": "pennylane", "braket.local:sv": "braket"}
X = np.random.default_rng(0).uniform(0, 2, size=(6, 2))
Y = np.random.default_rng(1).uniform(0, 2, size=(3, 2))


@pytest.fixture(autouse=True)
def vendor_plugins():
    """Every adapter's plugin registered (autoload is off in tests); the Qiskit one also converts circuits."""
    pytest.importorskip("qiskit_machine_learning")
    with contextlib.ExitStack() as stack:
        for family in ("qiskit", "pennylane", "braket"):
            stack.enter_context(hqnn_core.temporary_plugin(pytest.importorskip(f"hqnn_{family}"), name=family, distribution="hqnn"))
        yield


def _qiskit_reference(a: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
    from qiskit.circuit.library import zz_feature_map
    from qiskit_machine_learning.kernels import FidelityStatevectorKernel

    return FidelityStatevectorKernel(feature_map=zz_feature_map(2, reps=2)).evaluate(a, b)


def _skip_without(backend: str) -> None:
    if backend in FAMILY:
        pytest.importorskip({"qiskit": "qiskit_aer", "pennylane": "pennylane", "braket": "braket.devices"}[FAMILY[backend]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_zz_feature_map_kernel_equals_qiskits_statevector_kernel(backend):
    from qiskit.circuit.library import zz_feature_map

    _skip_without(backend)
    symmetric, rectangular = _qiskit_reference(X), _qiskit_reference(X, Y)
    for feature_map in (zz_feature_map(2, reps=2), zz_feature_map_circuit()):
        kernel = FidelityKernel(circuit=feature_map, backend=backend)
        np.testing.assert_allclose(kernel(X), symmetric, atol=1e-6)
        assert kernel.backend.accounting.jobs == 1  # the whole training matrix in one vendor job
        np.testing.assert_allclose(kernel(X, Y), rectangular, atol=1e-6)
    if backend == "torch":  # torch defaults to state overlaps; compute-uncompute must agree too
        np.testing.assert_allclose(FidelityKernel(circuit=zz_feature_map(2, reps=2), method="compute_uncompute")(X), symmetric, atol=1e-6)


@pytest.mark.parametrize(("backend", "options"), [("qiskit.aer", {"seed": 4}), ("braket.local:sv", {"seed": 4}), ("torch", {"seed": 4})])
def test_zz_feature_map_shot_estimates_fall_within_their_errors(backend, options):
    from qiskit.circuit.library import zz_feature_map

    _skip_without(backend)
    data = np.random.default_rng(5).uniform(0, 2, size=(14, 2))
    exact = _qiskit_reference(data)
    kernel = FidelityKernel(circuit=zz_feature_map(2, reps=2), backend=backend, shots=500, backend_options=options)
    K, std = kernel.matrix(data, return_std=True)
    off = ~np.eye(len(data), dtype=bool)
    z = np.abs(K - exact)[off] / std[off]
    assert np.all(z < 5) and np.mean(z < 2) >= 0.88
    assert kernel.backend.accounting.jobs == 1 and kernel.backend.accounting.circuits == 14 * 13 // 2


def test_a_pennylane_feature_map_equals_pennylanes_kernel_matrix():
    qml = pytest.importorskip("pennylane")
    device = qml.device("default.qubit", wires=3)

    @qml.qnode(device)
    def embedding(inputs):
        qml.IQPEmbedding(inputs, wires=range(3), n_repeats=2)
        return qml.expval(qml.PauliZ(0))

    @qml.qnode(device)
    def overlap(x1, x2):
        qml.IQPEmbedding(x1, wires=range(3), n_repeats=2)
        qml.adjoint(qml.IQPEmbedding)(x2, wires=range(3), n_repeats=2)
        return qml.probs(wires=range(3))

    data = np.random.default_rng(2).uniform(-1, 1, size=(5, 3))
    expected = qml.kernels.square_kernel_matrix(data, lambda a, b: overlap(a, b)[0], assume_normalized_kernel=True)
    for backend in ("torch", "pennylane:default.qubit"):
        np.testing.assert_allclose(FidelityKernel(circuit=embedding, inputs=3, backend=backend)(data), expected, atol=1e-8)
    np.testing.assert_allclose(FidelityKernel(encoder={"name": "iqp", "options": {"repeats": 2}}, n_qubits=3)(data), expected, atol=1e-8)


@pytest.mark.parametrize("backend", BACKENDS[1:])
def test_projected_kernel_agrees_across_vendors(backend):
    _skip_without(backend)
    reference = ProjectedKernel(circuit=zz_feature_map_circuit(), gamma=0.8)
    kernel = ProjectedKernel(circuit=zz_feature_map_circuit(), gamma=0.8, backend=backend)
    np.testing.assert_allclose(kernel(X, Y), reference(X, Y), atol=1e-6)
    assert kernel.backend.accounting.calls == 1


def test_grid_search_swaps_vendor_backends():
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import MinMaxScaler

    from hqnn_core.sklearn import QSVC

    data = np.random.default_rng(6).uniform(-1, 1, size=(18, 2))
    labels = (data[:, 0] + data[:, 1] > 0).astype(int)
    pipe = Pipeline([("scale", MinMaxScaler((-1, 1))), ("qsvc", QSVC(encoder="iqp"))])
    backends = ["torch", "qiskit.aer", "pennylane:default.qubit"]
    grid = GridSearchCV(pipe, {"qsvc__backend": backends}, cv=3).fit(data, labels)
    scores = grid.cv_results_["mean_test_score"]
    assert [p["qsvc__backend"] for p in grid.cv_results_["params"]] == backends
    np.testing.assert_allclose(scores, scores[0])  # exact kernels: every vendor gives the same classifier
