"""hqnn draw PROFILE, and the diagram and specs a run directory keeps."""

from __future__ import annotations

import json

import yaml
from test_cli_training import SMALL, hqnn

from hqnn_core.config import load_profile
from hqnn_core.training.prepare import prepare


def test_draw_prints_the_profiles_circuit_and_its_step_cost(tmp_path, monkeypatch, capsys):
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({**SMALL, "data": {**SMALL["data"], "pca": 3}, "model": {"quantum": {"n_qubits": 3, "ansatz": "strongly_entangling", "layers": 2,
                                                                      "gradient": "parameter_shift"}}}))
    code, out, err = hqnn(monkeypatch, capsys, "draw", str(profile), "--json")
    assert code == 0, err
    shown = json.loads(out)
    layer = prepare(load_profile(profile)).layer
    assert shown["diagram"] == layer.draw()
    assert shown["specs"]["gate_counts"] == {"CNOT": 6, "RY": 3, "Rot": 6}
    assert shown["specs"]["per_training_step"] == layer.specs(batch_size=16)["per_training_step"]
    code, out, _ = hqnn(monkeypatch, capsys, "draw", str(profile), "--width", "60", "--figure", str(tmp_path / "c.png"))
    assert code == 0 and "╭●" in out and "per training step (batch 16)" in out
    assert (tmp_path / "c.png").stat().st_size > 1000


def test_a_run_directory_keeps_the_circuit_diagram_and_specs(tmp_path, monkeypatch, capsys):
    profile = tmp_path / "p.yaml"
    profile.write_text(yaml.safe_dump({**SMALL, "train": {**SMALL["train"], "epochs": 1}}))
    code, _, err = hqnn(monkeypatch, capsys, "train", str(profile), "--out", str(tmp_path / "run"), "--quiet")
    assert code == 0, err
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["circuit"]["diagram"] == "circuit.txt"
    assert record["circuit"]["specs"]["n_qubits"] == 4 and record["circuit"]["specs"]["per_training_step"]["circuits"] == 16
    assert (tmp_path / "run" / "circuit.txt").read_text().startswith("0: ─RY(x[0])")
