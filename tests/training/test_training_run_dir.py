"""The README's main command: examples/digits.yaml reaches 98 %, writes a complete run directory, and eval reproduces it."""

from __future__ import annotations

import csv
import hashlib
import importlib.metadata
import json
import stat

import matplotlib.image
import pytest
import torch
from training_helpers import EXAMPLES, load_state

import hqnn_core
from hqnn_core.training import evaluate_run
from hqnn_core.training.verdict import compare_accuracies, discordant


def test_digits_profile_reaches_98_percent(digits_run):
    final = digits_run.record["hybrid"]["final"]
    assert final["test_accuracy"] >= 0.98
    assert digits_run.record["data"]["n_test"] == 90
    matrix = final["confusion_matrix"]
    assert sum(map(sum, matrix)) == 90 and (matrix[0][0] + matrix[1][1]) / 90 == pytest.approx(final["test_accuracy"])


def test_run_json_records_what_ran(digits_run):
    run = json.loads((digits_run.run_dir / "run.json").read_text())
    assert run["format"] == "hqnn-run/1" and run["status"] == "completed"
    for key in ("profile", "environment", "seeds", "data", "backend", "model", "hybrid", "baseline", "comparison", "wall_time_s", "ledger"):
        assert key in run, key
    profile = run["profile"]
    assert profile["sha256"] == hashlib.sha256((EXAMPLES / "digits.yaml").read_bytes()).hexdigest()
    assert profile["resolved"]["model"]["quantum"]["n_qubits"] == 4 and len(profile["config_hash"]) == 64
    env = run["environment"]
    assert env["hqnn"] == hqnn_core.__version__ and env["packages"]["torch"] == importlib.metadata.version("torch")
    assert any(p["name"] == "hqnn_plugins.layouts.backends" for p in env["plugins"])  # registers the embedded backends
    assert run["backend"]["name"] == "torch" and "capabilities" in run["backend"]
    assert run["seeds"]["train"] == 0 and "weights" in run["seeds"]
    epochs = run["hybrid"]["epochs"]
    assert [e["epoch"] for e in epochs] == list(range(1, 16))
    # 270 training samples in batches of 16 -> 17 steps, plus one test evaluation: 18 jobs per epoch on the torch backend
    assert [e["jobs_epoch"] for e in epochs] == [18] * 15
    assert [e["jobs_total"] for e in epochs] == [18 * (i + 1) for i in range(15)]
    assert run["hybrid"]["accounting"]["jobs"] == 270 and run["hybrid"]["accounting"]["shots"] == 0
    assert run["estimate"]["jobs"] == 270
    comparison = run["comparison"]
    assert comparison["hybrid_test_accuracy"] == run["hybrid"]["final"]["test_accuracy"]
    assert comparison["baseline_test_accuracy"] == run["baseline"]["final"]["test_accuracy"]
    assert comparison["hybrid_parameters"] == 26 and comparison["baseline_parameters"] == 30  # 4x2 layers x 2 rotations + head 10
    hybrid, baseline = run["hybrid"]["final"]["test_correct"], run["baseline"]["final"]["test_correct"]
    assert len(hybrid) == 90 and hybrid.count("1") / 90 == pytest.approx(run["hybrid"]["final"]["test_accuracy"])
    assert comparison["test"] == "McNemar exact (two-sided)"
    assert (comparison["hybrid_only_correct"], comparison["baseline_only_correct"]) == discordant(hybrid, baseline)
    assert comparison["verdict"] == compare_accuracies(comparison["hybrid_test_accuracy"], comparison["baseline_test_accuracy"], 90,
                                                       discordant(hybrid, baseline))["verdict"]


def test_metrics_csv_matches_run_json(digits_run):
    run = json.loads((digits_run.run_dir / "run.json").read_text())
    rows = list(csv.DictReader((digits_run.run_dir / "metrics.csv").read_text().splitlines()))
    assert len(rows) == 30 and {r["model"] for r in rows} == {"hybrid", "baseline"}
    assert list(rows[0]) == ["model", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                             "jobs_epoch", "circuits_epoch", "shots_epoch", "wall_time_epoch_s", "jobs_total", "circuits_total", "shots_total",
                             "wall_time_total_s", "grad_norm_quantum", "grad_norm_classical", "shot_noise", "state_fidelity",
                             "effective_sample_size"]
    hybrid = [r for r in rows if r["model"] == "hybrid"]
    assert float(hybrid[-1]["test_accuracy"]) == run["hybrid"]["final"]["test_accuracy"]
    # per-epoch columns add up to the running totals
    assert sum(int(r["circuits_epoch"]) for r in hybrid) == int(hybrid[-1]["circuits_total"]) == run["hybrid"]["accounting"]["circuits"]
    assert sum(float(r["wall_time_epoch_s"]) for r in hybrid) == pytest.approx(float(hybrid[-1]["wall_time_total_s"]), abs=0.001 * len(hybrid))
    assert {r["jobs_epoch"] for r in rows if r["model"] == "baseline"} == {"0"}


def test_plots_are_valid_pngs(digits_run):
    for name in ("loss.png", "accuracy.png", "grad_norm.png", "confusion_matrix.png"):
        path = digits_run.run_dir / "plots" / name
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert image[..., :3].std() > 0.01  # not a blank canvas


def test_checkpoints_load_weights_only_with_everything_resume_needs(digits_run):
    folder = digits_run.run_dir / "checkpoints" / "hybrid"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert [e["epoch"] for e in manifest["checkpoints"]] == [13, 14, 15]  # keep_checkpoints: 3
    path = folder / "epoch-0015.pt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert hashlib.sha256(path.read_bytes()).hexdigest() == manifest["checkpoints"][-1]["sha256"]
    state = torch.load(path, weights_only=True)
    assert {"model", "optimizer", "rng", "data_position", "accounting", "config_hash", "epoch", "history"} <= set(state)
    assert state["epoch"] == 15 and state["data_position"] == {"epoch": 15, "batch": 0}
    assert isinstance(state["rng"]["torch"], torch.Tensor) and isinstance(state["rng"]["shuffle"], torch.Tensor)
    assert torch.equal(state["model"]["middle.weights"], load_state(digits_run.run_dir / "model.pt")["middle.weights"])
    assert stat.S_IMODE((digits_run.run_dir / "model.pt").stat().st_mode) == 0o600


def test_eval_reproduces_the_test_accuracy(digits_run):
    result = evaluate_run(digits_run.run_dir)
    assert result["test_accuracy"] == digits_run.record["hybrid"]["final"]["test_accuracy"]
    assert result["matches_record"] and not result["data_changed"]
    assert result["confusion_matrix"] == digits_run.record["hybrid"]["final"]["confusion_matrix"]


def test_eval_with_shots_stays_within_the_shot_noise_of_the_exact_result(digits_run):
    """Same weights on the same backend sampled with 2000 shots: a few borderline samples at most may flip."""
    exact = evaluate_run(digits_run.run_dir)
    sampled = evaluate_run(digits_run.run_dir, shots=2000)
    assert sampled["shots"] == 2000 and sampled["accounting"]["shots"] == 2000 * 90
    assert abs(sampled["test_accuracy"] - exact["test_accuracy"]) <= 2 / 90


def test_eval_on_another_registered_backend(digits_run):
    """A model trained on `torch` evaluates on any backend; here a second registered statevector backend."""
    from hqnn_core import hookimpl, temporary_plugin
    from hqnn_plugins.torch_backend import TorchBackend

    class OtherBackend(TorchBackend):
        """The torch simulator registered under another name, standing in for a vendor simulator."""

        name = "tests.other"

    class Plugin:
        @hookimpl
        def hqnn_register_backends(self, registry):
            registry.add("tests.other", OtherBackend)

    with temporary_plugin(Plugin(), name="tests", distribution="tests"):
        result = evaluate_run(digits_run.run_dir, backend="tests.other")
    assert result["backend"]["name"] == "tests.other" and result["accounting"]["jobs"] == 1
    assert result["test_accuracy"] == digits_run.record["hybrid"]["final"]["test_accuracy"]
