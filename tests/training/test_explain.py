"""``hqnn explain``: stage ablation and Captum attributions through the quantum layer, against direct evaluations."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from training_helpers import write_profile

from hqnn_core.cli import cli
from hqnn_core.config import load_profile
from hqnn_core.training import prepare, train
from hqnn_core.training.explain import explain_model


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Digits 0 vs 1 on 4 qubits, trained 3 epochs with its classical baseline."""
    folder = tmp_path_factory.mktemp("explain")
    return train(write_profile(folder, train={"epochs": 3, "baseline": True}), out=folder / "run", quiet=True)


def _model_and_data(run):
    prepared = prepare(load_profile(run.run_dir / "profile.yaml"))
    prepared.model.load_state_dict(torch.load(run.run_dir / "model.pt", weights_only=True))
    d = prepared.dataset
    return prepared.model, torch.from_numpy(d.x_test), torch.from_numpy(d.y_test), torch.from_numpy(d.x_train)


def test_a_disconnected_quantum_layer_contributes_nothing(run):
    model, x, y, x_train = _model_and_data(run)
    with torch.no_grad():
        model.head[-1].weight.zero_()  # the head ignores every observable: only its bias reaches the logits
    report = explain_model(model, x, y, x_train, 2, steps=16)
    done = [r for r in report["ablation"] if "skipped" not in r]
    assert {r["stage"] for r in done} == {"full model", "quantum -> mean output", "quantum -> random weights", "quantum -> identity"}
    for row in done:
        assert row["logit_change"] == 0.0 and row["prediction_change"] == 0.0, row
        assert row["accuracy"] == done[0]["accuracy"]
    for part in report["attributions"].values():
        if isinstance(part, dict):
            assert max(part["integrated_gradients"]) == 0.0 and max(part["feature_ablation"]) == 0.0


def test_the_trained_quantum_layer_contributes(run):
    model, x, y, x_train = _model_and_data(run)
    report = explain_model(model, x, y, x_train, 2)
    rows = {r["stage"]: r for r in report["ablation"]}
    with torch.no_grad():
        full = model(x).argmax(dim=1)
    assert rows["full model"]["accuracy"] == pytest.approx(float((full == y).double().mean()))
    assert rows["quantum -> mean output"]["logit_change"] > 0.05 and rows["quantum -> random weights"]["logit_change"] > 0.05
    assert model.quantum.weights.dtype == torch.float32  # explain restores the model's dtype


def test_integrated_gradients_are_complete_to_1e_3(run):
    # sum of attributions per sample = f(x) - f(mean training input), checked against direct forward passes
    model, x, y, x_train = _model_and_data(run)
    parts = explain_model(model, x, y, x_train, 2, steps=64)["attributions"]
    for key in ("input_features", "quantum_inputs", "observables"):
        assert parts[key]["completeness_error"] < 1e-3, key
    coarse = explain_model(model, x, y, x_train, 2, steps=2)["attributions"]
    assert coarse["input_features"]["completeness_error"] > 1e-3  # the check can fail: two steps are too few


def test_feature_ablation_matches_direct_replacement(run):
    model, x, y, x_train = _model_and_data(run)
    feats = explain_model(model, x, y, x_train, 2, steps=8)["attributions"]["input_features"]
    model.double()
    xd, base = x.double(), x_train.double().mean(dim=0)
    with torch.no_grad():
        logits = model(xd)
        target = logits.argmax(dim=1)
        for i in range(xd.shape[1]):
            ablated = xd.clone()
            ablated[:, i] = base[i]
            change = logits.gather(1, target[:, None]) - model(ablated).gather(1, target[:, None])
            assert feats["feature_ablation"][i] == pytest.approx(float(change.abs().mean()), abs=1e-9)


def test_explain_command_writes_report_and_plots(run, tmp_path):
    tmp_path = tmp_path / "explain[qiskit]"  # brackets: rich markup would swallow "[qiskit]"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["explain", str(run.run_dir), "--steps", "16", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'explain.json'} and plots in {tmp_path}" in result.output
    assert "stage ablation" in result.output and "per-class test accuracy" in result.output
    data = json.loads((tmp_path / "explain.json").read_text())
    classes = data["per_class"]
    assert [c["class"] for c in classes] == [0, 1] and all(c["gap"] == pytest.approx(c["hybrid"] - c["baseline"]) for c in classes)
    assert sum(c["n"] for c in classes) == data["n_test"] == 40
    for name in ("ablation", "attributions", "per_class"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
