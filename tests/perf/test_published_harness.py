"""The published-models harness reads the paper's rows and data as the paper did.

Oracle: an RBF SVC with the paper's best hyperparameters reproduces the paper's published train and
test accuracies exactly on both linearly separable files (the shared datasets' README says so).
"""

from __future__ import annotations

import pytest

from benchmarks.published import DATASETS, datasets_root, evaluate, paper_rows, parse_hyperparameters

pytestmark = pytest.mark.skipif(not (datasets_root() / DATASETS["linearly_separable_4d"]).is_file(),
                                reason="the shared qml-benchmarks datasets are not beside the repository")


def test_hyperparameters_parse_to_typed_values():
    assert parse_hyperparameters("batch_size=32;learning_rate=0.001;observable_type=full;hidden_layer_sizes=(100,)") == {
        "batch_size": 32, "learning_rate": 0.001, "observable_type": "full", "hidden_layer_sizes": (100,)}
    assert parse_hyperparameters("") == {}


@pytest.mark.parametrize("dataset", ["linearly_separable_4d", "linearly_separable_8d"])
def test_svc_reproduces_the_paper_exactly(dataset):
    row = paper_rows()[(dataset, "SVC")]
    result = evaluate(row, seeds=[0, 1], progress=False)
    assert result.test_mean == pytest.approx(row.test_acc_mean, abs=1e-4)
    assert sum(result.train_acc) / 2 == pytest.approx(row.train_acc_mean, abs=1e-4)
    assert result.within
