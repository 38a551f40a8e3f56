"""The estimators inside ``Pipeline`` + ``GridSearchCV`` with the backend in the grid (vendors: tests/adapters/test_sklearn_vendors.py)."""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from hqnn_core.sklearn import QNNClassifier

NOISELESS = "torch.noisy?depolarizing=0"
NOISY = "torch.noisy?depolarizing=0.1&readout_error=0.1"


def test_grid_search_swaps_backends_and_noiseless_density_matrices_agree_with_statevectors():
    X, y = make_classification(80, n_features=4, n_informative=3, n_redundant=0, random_state=0)
    pipeline = Pipeline([("scale", StandardScaler()), ("qnn", QNNClassifier(n_qubits=2, layers=1, max_epochs=4, random_state=0))])
    search = GridSearchCV(pipeline, {"qnn__backend": ["torch", NOISELESS, NOISY]}, cv=2).fit(X, y)

    assert [p["qnn__backend"] for p in search.cv_results_["params"]] == ["torch", "torch.noisy?depolarizing=0", NOISY]
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] == scores[1]  # same splits, same seed, the same circuit simulated two ways
    layer = search.best_estimator_["qnn"].module_[-2]
    assert layer.backend.name == ("torch" if search.best_params_["qnn__backend"] == "torch" else "torch.noisy")

    fitted = {backend: clone(pipeline).set_params(qnn__backend=backend).fit(X, y) for backend in ["torch", NOISELESS, NOISY]}
    exact = fitted["torch"].predict_proba(X)
    np.testing.assert_allclose(fitted[NOISELESS].predict_proba(X), exact, atol=1e-9)
    assert np.abs(fitted[NOISY].predict_proba(X) - exact).max() > 1e-3  # the noise reached the model
    assert fitted[NOISY]["qnn"].module_[-2].backend.options.readout_error == 0.1
