"""``GridSearchCV`` over vendors: QNNClassifier trained on torch, PennyLane and Qiskit Aer gives the same model.

Exact simulators and exact gradients (backprop on torch, the vendors' own or parameter-shift
elsewhere) make training the same computation, so the fitted weights agree to 1e-6.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import hqnn_core
from hqnn_core.sklearn import QNNClassifier

pytestmark = pytest.mark.vendor

BACKENDS = ["torch", "pennylane:default.qubit", "qiskit.aer"]


@pytest.fixture(autouse=True)
def vendor_plugins():
    pytest.importorskip("pennylane")
    pytest.importorskip("qiskit_aer")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny circuits: one thread is fastest
    with hqnn_core.temporary_plugin(importlib.import_module("hqnn_pennylane"), name="pennylane", distribution="hqnn"), \
            hqnn_core.temporary_plugin(importlib.import_module("hqnn_qiskit"), name="qiskit", distribution="hqnn"):
        yield
    torch.set_num_threads(threads)


def test_grid_search_over_vendors_fits_the_same_model():
    X, y = make_classification(40, n_features=4, n_informative=3, n_redundant=0, random_state=1)
    pipeline = Pipeline([("scale", StandardScaler()),
                         ("qnn", QNNClassifier(n_qubits=2, layers=1, max_epochs=3, batch_size=20, random_state=0))])
    search = GridSearchCV(pipeline, {"qnn__backend": BACKENDS}, cv=2).fit(X, y)
    assert [p["qnn__backend"] for p in search.cv_results_["params"]] == BACKENDS
    for split in ("split0_test_score", "split1_test_score"):
        assert len(set(search.cv_results_[split])) == 1, search.cv_results_[split]  # every vendor scores the same

    fitted = {backend: clone(pipeline).set_params(qnn__backend=backend).fit(X, y) for backend in BACKENDS}
    reference = fitted["torch"]["qnn"].module_.state_dict()
    for backend in BACKENDS[1:]:
        model = fitted[backend]["qnn"]
        assert model.module_[-2].backend.full_name.startswith(backend.split(":")[0])
        for name, value in model.module_.state_dict().items():
            np.testing.assert_allclose(value.numpy(), reference[name].numpy(), atol=1e-6, rtol=0, err_msg=f"{backend}: {name}")
        np.testing.assert_allclose(fitted[backend].predict_proba(X), fitted["torch"].predict_proba(X), atol=1e-6)
