"""QNNClassifier and QNNRegressor pass scikit-learn's own estimator checks (sklearn.utils.estimator_checks).

Exact instances pass every check. The instance with shots runs on a seeded ``torch`` backend, so
which checks it fails is reproducible; each failure is listed with its reason.
"""

from __future__ import annotations

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from hqnn_core.sklearn import QNNClassifier, QNNRegressor

pytestmark = pytest.mark.slow  # 160 checks, about 15 s of CPU together (each well under a second)

SEEDED_TORCH = {"name": "torch", "options": {"seed": 0}}

#: checks that cannot apply to an estimator whose predictions are finite-sampling estimates
SHOTS_EXPECTED_FAILURES = {
    "check_classifiers_train": "with shots, predict and predict_proba each draw their own shots, so near the decision "
                               "boundary predict can differ from the argmax of a separate predict_proba call",
}

ESTIMATORS = [
    QNNClassifier(n_qubits=2, layers=1, max_epochs=3, random_state=0),
    QNNRegressor(n_qubits=2, layers=1, max_epochs=10, random_state=0),
    QNNClassifier(n_qubits=2, layers=1, max_epochs=3, shots=100, backend=SEEDED_TORCH, random_state=0),
]


def expected_failed_checks(estimator):
    return SHOTS_EXPECTED_FAILURES if estimator.shots is not None else {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
