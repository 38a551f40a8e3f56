"""``model.kind: kernel`` through ``hqnn train``/``validate``/``estimate``: the paper's accuracy, limits, estimate = accounting, verdict.

Oracles: the paper's published test accuracy of the IQP-kernel SVM (0.8167 = 49/60 on linearly_separable_4d),
the pair counts of a Gram matrix (n(n-1)/2 training pairs, n_test x n_train test pairs), and the run's own ledger.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from training_helpers import DATASETS, EXAMPLES

from hqnn_core.cli import cli
from hqnn_core.config import load_profile
from hqnn_core.errors import BudgetExceededError, CheckpointError, ConfigError
from hqnn_core.training import evaluate_run, train
from hqnn_core.training.kernel_run import estimate_kernel_run, prepare_kernel
from hqnn_core.training.verdict import WORSE

pytestmark = [
    pytest.mark.skipif(not (DATASETS / "qml_benchmarks").is_dir(), reason="the shared qml-benchmarks datasets are not beside the repository"),
    pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning"),
]
PROFILE = EXAMPLES / "kernel.yaml"
#: 20 training and 6 test points, compute-uncompute circuits with shots: 190 + 120 circuits
SMALL_SHOTS = ["data.max_train=20", "data.max_test=6", "model.kernel.method=compute_uncompute", "backend.shots=200"]


@pytest.fixture(autouse=True)
def _datasets(monkeypatch):
    monkeypatch.setenv("HQNN_DATASETS", str(DATASETS))


def test_kernel_example_reproduces_the_paper_with_the_rbf_baseline_and_the_verdict(tmp_path):
    result = train(PROFILE, out=tmp_path / "run", quiet=True)
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["model"]["hybrid"]["type"] == "fidelity"
    assert record["hybrid"]["final"]["test_accuracy"] == pytest.approx(49 / 60)  # the paper's 0.8167
    assert record["hybrid"]["final"]["train_accuracy"] == pytest.approx(0.9958, abs=1e-4)  # the paper's train accuracy too
    assert record["baseline"]["final"]["test_accuracy"] == 1.0  # the paper's RBF SVC on this file
    assert record["comparison"]["verdict"] == WORSE and record["comparison"]["n_test"] == 60
    # statevector overlaps: one simulation per point, counted as the backend counts them; the local simulator bills no job
    assert {k: record["hybrid"]["accounting"][k] for k in ("jobs", "circuits", "shots")} == {"jobs": 2, "circuits": 240 + 300, "shots": 0}
    assert {k: record["estimate"]["total"][k] for k in ("jobs", "circuits", "shots")} == {"jobs": 2, "circuits": 540, "shots": 0}
    assert record["ledger"] == {"jobs": 0, "circuits": 0, "shots": 0}
    assert any(result.run_dir.glob("profile.*"))
    with pytest.raises(ConfigError, match="kernel SVC run"):
        evaluate_run(result.run_dir)
    with pytest.raises(CheckpointError, match="no epochs to resume"):
        train(resume=result.run_dir, quiet=True)


@pytest.mark.parametrize(("kernel", "circuits"), [("fidelity", (20 * 19 // 2, 6 * 20)), ("projected", (20, 6 + 20))])
def test_estimate_equals_the_runs_accounting_with_shots(tmp_path, kernel, circuits):
    loaded = load_profile(PROFILE, [*SMALL_SHOTS, f"model.kernel.type={kernel}"] if kernel == "fidelity" else
                          [*SMALL_SHOTS[:2], "backend.shots=200", "model.kernel.type=projected", "model.kernel.gamma=0.5"])
    est = estimate_kernel_run(prepare_kernel(loaded))
    assert (est.parts["training"].circuits, est.parts["evaluation"].circuits) == circuits
    assert est.total.shots == sum(circuits) * 200
    record = train(loaded, out=tmp_path / "run", quiet=True).record
    assert record["ledger"] == est.total.as_dict()
    assert {k: record["hybrid"]["accounting"][k] for k in ("jobs", "circuits", "shots")} == est.total.as_dict()
    assert 0.5 <= record["hybrid"]["final"]["test_accuracy"] <= 1.0


def test_limits_refuse_before_anything_is_written_and_the_guard_stops_a_run_without_preflight(tmp_path):
    with pytest.raises(BudgetExceededError, match="max_shots"):
        train(load_profile(PROFILE, [*SMALL_SHOTS, "limits.max_shots=1000"]), out=tmp_path / "refused", quiet=True)
    assert not (tmp_path / "refused").exists()
    # the training matrix (190 circuits x 200 shots = 38,000) fits; the test matrix does not
    with pytest.raises(BudgetExceededError, match="max_shots=40000"):
        train(load_profile(PROFILE, [*SMALL_SHOTS, "limits.max_shots=40000", "limits.preflight=false"]), out=tmp_path / "stopped", quiet=True)
    record = json.loads((tmp_path / "stopped" / "run.json").read_text())
    assert record["status"] == "stopped" and record["ledger"]["shots"] == 38000 and record["error"]["type"] == "BudgetExceededError"


def test_transient_faults_are_retried_through_the_chain_to_the_same_kernel(tmp_path):
    overrides = ["data.max_train=30", "data.max_test=10", "train.baseline=false", "model.kernel.method=compute_uncompute"]
    clean = train(load_profile(PROFILE, overrides), out=tmp_path / "clean", quiet=True).record
    faulty = train(load_profile(PROFILE, [*overrides, "backend.name=faulty:torch?rate=0.5&seed=3&kinds=throttle,timeout",
                                          "backend.retry.attempts=8", "backend.retry.backoff_s=0", "backend.retry.jitter_s=0"]),
                   out=tmp_path / "faulty", quiet=True).record
    assert faulty["hybrid"]["final"]["test_correct"] == clean["hybrid"]["final"]["test_correct"]
    assert faulty["ledger"]["jobs"] >= clean["ledger"]["jobs"] == 2


def test_kernel_profiles_are_checked_with_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="model.quantum.ansatz"):
        load_profile(PROFILE, ["model.quantum.ansatz=strongly_entangling"])
    with pytest.raises(ConfigError, match="model.kind: kernel"):
        load_profile(EXAMPLES / "linearly_separable.yaml", ["model.kernel.C=2.0"])
    with pytest.raises(ConfigError, match="model.quantum.n_qubits"):
        prepare_kernel(load_profile(PROFILE, ["model.quantum.n_qubits=3"]))
    with pytest.raises(ConfigError, match="mitigation"):
        prepare_kernel(load_profile(PROFILE, ["mitigation=[readout]"]))


def test_cli_validate_and_estimate_count_the_gram_matrices():
    runner = CliRunner()
    out = runner.invoke(cli, ["validate", str(PROFILE)], catch_exceptions=False).output
    assert "fidelity kernel SVC (C=10.0, method state)" in out and "2 jobs, 540 circuits" in out
    est = json.loads(runner.invoke(cli, ["estimate", str(PROFILE), "--json", "--set", "model.kernel.method=compute_uncompute"],
                                   catch_exceptions=False).output)
    assert est["parts"]["training"]["circuits"] == 240 * 239 // 2 and est["parts"]["evaluation"]["circuits"] == 60 * 240
    assert est["total"]["jobs"] == 2


def test_model_kind_leaves_the_config_hash_of_classifier_profiles_unchanged():
    """Checkpoints carry the config hash; a classifier profile hashes as before model.kind existed (value from that code)."""
    assert load_profile(EXAMPLES / "digits.yaml").config_hash == "6d49c33707e31b3a866347bc79fbe4d098af4bc69fa019a856858ba4344f4ef1"
    assert load_profile(PROFILE).config_hash != load_profile(PROFILE, ["model.kernel.C=1.0"]).config_hash
