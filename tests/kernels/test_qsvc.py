"""QSVC and QuantumKernel as scikit-learn estimators: the estimator checks, pipelines, grid search over backends."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from hqnn_core.errors import ConfigError
from hqnn_core.kernels import FidelityKernel, ProjectedKernel
from hqnn_core.sklearn import QSVC, QuantumKernel

#: SVC's own limits with any callable kernel (they fail for SVC(kernel=sklearn.metrics.pairwise.rbf_kernel) too), and one width.
SVC_CALLABLE_KERNEL = {
    "check_n_features_in": "SVC does not set n_features_in_ when its kernel is a callable",
    "check_n_features_in_after_fitting": "SVC does not set n_features_in_ when its kernel is a callable",
    "check_sample_weight_equivalence_on_dense_data": "SVC with a callable kernel fails it; its data has 30 features (30 qubits)",
    "check_sample_weight_equivalence_on_sparse_data": "SVC with a callable kernel fails it; its data has 30 features (30 qubits)",
    "check_supervised_y_no_nan": "SVC warns (invalid value in cast) on y with inf before raising; tests turn warnings into errors",
}
#: Checks on 20-feature data: 20-qubit statevectors for 100 samples take most of a minute on a loaded CI machine.
TOO_WIDE = {"check_all_zero_sample_weights_error"}


def _expected_failures(estimator):
    return SVC_CALLABLE_KERNEL if isinstance(estimator, SVC) else {}


@parametrize_with_checks([QSVC(), QSVC(kernel="projected", probability=True), SVC(kernel=QuantumKernel())],
                         expected_failed_checks=_expected_failures)
def test_sklearn_estimator_checks(estimator, check):
    if isinstance(estimator, SVC) and getattr(check, "func", check).__name__ in TOO_WIDE:
        pytest.skip("20 features make 20 qubits: correct but slow (QSVC meets the same check's error without a kernel)")
    check(estimator)


def _xor(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    data = np.random.default_rng(seed).uniform(-1, 1, size=(n, 2))
    return data, (data[:, 0] + data[:, 1] > 0).astype(int)


def test_qsvc_equals_an_svc_on_the_precomputed_quantum_kernel():
    X, y = _xor(24, 0)
    test, _ = _xor(10, 1)
    qsvc = QSVC(kernel="projected", gamma=0.5, C=2.0).fit(X, y)
    kernel = ProjectedKernel(n_qubits=2, gamma=0.5)
    reference = SVC(kernel="precomputed", C=2.0).fit(kernel(X), y)
    np.testing.assert_allclose(qsvc.decision_function(test), reference.decision_function(kernel(test, X)), atol=1e-10)
    assert qsvc.score(X, y) >= 0.9


def test_prediction_evaluates_only_the_support_vectors():
    X, y = _xor(30, 2)
    qsvc = QSVC(method="compute_uncompute").fit(X, y)
    backend = qsvc.quantum_kernel_.kernel_for(2).backend
    assert backend.accounting.circuits == 30 * 29 // 2  # the training matrix: each pair once
    before = backend.accounting.copy()
    qsvc.predict(X[:7])
    spent = backend.accounting - before
    assert 0 < len(qsvc.support_) < 30 and (spent.calls, spent.circuits) == (1, 7 * len(qsvc.support_))


def test_quantum_kernel_params_clone_and_pickle():
    kernel = QuantumKernel(kind="projected", gamma=0.3, backend="torch")
    assert kernel.get_params()["gamma"] == 0.3 and clone(kernel).get_params() == kernel.get_params()
    X = np.random.default_rng(3).uniform(-1, 1, size=(5, 3))
    first = kernel(X)
    assert isinstance(kernel.kernel_for(3), ProjectedKernel)
    kernel.set_params(kind="fidelity")
    assert isinstance(kernel.kernel_for(3), FidelityKernel)  # a changed parameter rebuilds the kernel
    np.testing.assert_allclose(kernel(X), FidelityKernel(n_qubits=3)(X), atol=1e-12)
    restored = pickle.loads(pickle.dumps(kernel.set_params(kind="projected")))
    np.testing.assert_allclose(restored(X), first, atol=1e-12)
    svc = SVC(kernel=QuantumKernel())
    assert svc.get_params()["kernel__backend"] == "torch"  # nested parameters reach a grid search


def test_pipeline_and_grid_search_swap_the_backend():
    X, y = _xor(24, 4)
    pipe = Pipeline([("scale", MinMaxScaler((-1, 1))), ("qsvc", QSVC())])
    grid = GridSearchCV(pipe, {"qsvc__backend": ["torch", "torch.noisy"], "qsvc__C": [0.5, 2.0]}, cv=3).fit(X, y)
    backends = [p["qsvc__backend"] for p in grid.cv_results_["params"]]
    assert sorted(set(backends)) == ["torch", "torch.noisy"] and grid.best_score_ >= 0.8
    assert grid.best_estimator_.named_steps["qsvc"].quantum_kernel_.kernel_for(2).backend.name == grid.best_params_["qsvc__backend"]
    svc_grid = GridSearchCV(SVC(kernel=QuantumKernel()), {"kernel__kind": ["fidelity", "projected"]}, cv=3).fit(X, y)
    assert svc_grid.best_score_ >= 0.8


def test_bad_kernel_parameters_fail_at_fit():
    X, y = _xor(6, 5)
    with pytest.raises(ConfigError, match="not a quantum kernel"):
        QSVC(kernel="rbf").fit(X, y)
    with pytest.raises(ConfigError, match="gamma must be a positive number"):
        QSVC(kernel="projected", gamma=-1.0).fit(X, y)
