"""``model.kind: kernel`` on a vendor simulator with shots: the run's ledger equals ``hqnn estimate``, and the kernel SVC learns.

Oracle: the pair counts of the two Gram matrices (compute-uncompute: n(n-1)/2 and n_test x n) times the
shots, against the budget guard's ledger of what was submitted to Qiskit Aer.
"""

from __future__ import annotations

import pytest
from training_helpers import DATASETS, EXAMPLES

import hqnn_core
from hqnn_core.config import load_profile
from hqnn_core.training import train
from hqnn_core.training.kernel_run import estimate_kernel_run, prepare_kernel

pytestmark = [pytest.mark.vendor,
              pytest.mark.skipif(not (DATASETS / "qml_benchmarks").is_dir(), reason="the shared qml-benchmarks datasets are not beside the repository")]


def test_kernel_profile_on_qiskit_aer_with_shots_spends_what_was_estimated(tmp_path, monkeypatch):
    pytest.importorskip("qiskit_aer")
    monkeypatch.setenv("HQNN_DATASETS", str(DATASETS))
    with hqnn_core.temporary_plugin(pytest.importorskip("hqnn_qiskit"), name="qiskit", distribution="hqnn"):
        loaded = load_profile(EXAMPLES / "kernel.yaml", ["data.max_train=24", "data.max_test=8", "backend.name=qiskit.aer", "backend.shots=500",
                                                         "model.kernel.psd=true"])
        est = estimate_kernel_run(prepare_kernel(loaded))
        record = train(loaded, out=tmp_path / "run", quiet=True).record
    assert est.total.circuits == 24 * 23 // 2 + 8 * 24 and est.total.shots == est.total.circuits * 500
    assert record["ledger"] == est.total.as_dict() and record["model"]["hybrid"]["method"] == "compute_uncompute"
    assert record["hybrid"]["final"]["train_accuracy"] >= 0.75
