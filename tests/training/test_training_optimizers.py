"""Gradient-free training for shot-based hardware: SPSA (two forward passes a step) and COBYLA (scipy) learn."""

from __future__ import annotations

from training_helpers import write_profile

from hqnn_core.training import train


def test_spsa_with_shots_learns_and_costs_two_jobs_per_step(tmp_path):
    profile = write_profile(tmp_path, backend={"name": "torch", "shots": 500},
                            train={"optimizer": {"name": "spsa", "options": {"c": 0.2}}, "lr": 2.0, "epochs": 10})
    record = train(profile, out=tmp_path / "run", quiet=True).record
    epochs = record["hybrid"]["epochs"]
    assert epochs[-1]["train_loss"] < 0.75 * epochs[0]["train_loss"]
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.9
    # 4 steps x 2 evaluations (no gradient circuits) + 1 test pass, per epoch
    assert record["hybrid"]["accounting"]["jobs"] == 10 * (4 * 2 + 1)
    assert record["hybrid"]["accounting"]["circuits"] == 10 * (64 * 2 + 40)


def test_cobyla_learns_on_the_full_training_loss(tmp_path):
    profile = write_profile(tmp_path, train={"optimizer": {"name": "cobyla", "options": {"maxiter": 60}}, "epochs": 2})
    record = train(profile, out=tmp_path / "run", quiet=True).record
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.95
    assert record["hybrid"]["epochs"][-1]["train_loss"] < 0.1
    # at most maxiter loss evaluations (one job each for 64 samples) + 1 test pass per epoch
    assert record["hybrid"]["accounting"]["jobs"] <= 2 * (60 + 1)
