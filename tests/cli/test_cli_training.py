"""hqnn train / eval / validate from the command line: exit codes, one-line errors, summaries."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from hqnn_core.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SMALL = {
    "data": {"source": "digits", "classes": [0, 1], "pca": 4, "standardize": False, "max_train": 64, "max_test": 40},
    "model": {"quantum": {"n_qubits": 4}},
    "train": {"lr": 0.05, "epochs": 2, "batch_size": 16},
}


def hqnn(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the console script's main() in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["hqnn", *args])
    code = 0
    try:
        main()
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(SMALL))
    return path


def test_validate_ok_prints_a_summary_and_writes_nothing(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = hqnn(monkeypatch, capsys, "validate", str(EXAMPLES / "digits.yaml"))
    assert code == 0
    assert out.startswith(f"OK {EXAMPLES / 'digits.yaml'}")
    assert "270 train / 90 test" in out and "4 qubits" in out and "estimated usage: 270 jobs" in out
    assert list(tmp_path.iterdir()) == []


def test_validate_error_is_one_line_and_exit_2(monkeypatch, capsys, small):
    code, out, err = hqnn(monkeypatch, capsys, "validate", str(small), "--set", "backend.shots=1e3")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"Error: {small}: backend.shots:")
    assert "(from --set backend.shots=1e3)" in err


def test_validate_schema_prints_the_reference(monkeypatch, capsys):
    code, out, _ = hqnn(monkeypatch, capsys, "validate", "--schema")
    assert code == 0 and out.startswith("# Run profile reference") and "`train.optimizer`" in out


def test_train_then_eval_then_resume(monkeypatch, capsys, small, tmp_path):
    run_dir = tmp_path / "run"
    code, out, _ = hqnn(monkeypatch, capsys, "train", str(small), "--out", str(run_dir), "--set", "train.baseline=true", "-q")
    assert code == 0, out
    record = json.loads((run_dir / "run.json").read_text())
    acc = record["hybrid"]["final"]["test_accuracy"]
    assert "hybrid" in out and "baseline" in out and f"{acc:.4f}" in out and str(run_dir) in out.replace("\n", "")
    verdict = record["comparison"]["verdict"]  # the table's caption says whether the quantum layer helped
    assert f"hybrid {dict(better='better than', worse='worse than').get(verdict, 'equal within noise to')} the classical baseline" in " ".join(out.split())
    code, out, _ = hqnn(monkeypatch, capsys, "eval", str(run_dir), "--json")
    result = json.loads(out)
    assert code == 0 and result["test_accuracy"] == acc and result["matches_record"]
    code, out, _ = hqnn(monkeypatch, capsys, "eval", str(run_dir), "--shots", "many")
    assert code == 2
    code, _, err = hqnn(monkeypatch, capsys, "train", "--resume", str(run_dir))
    assert code == 0 and "already complete" in err
    code, _, err = hqnn(monkeypatch, capsys, "train", str(small), "--out", str(run_dir))
    assert code == 2 and "not empty" in err and "--resume" in err


def test_train_budget_error_exits_2_with_the_fix(monkeypatch, capsys, small, tmp_path):
    code, _, err = hqnn(monkeypatch, capsys, "train", str(small), "--out", str(tmp_path / "r"), "--set", "limits.max_jobs=3")
    assert code == 2 and "limits.max_jobs" in err and "Raise the limit" in err
    assert not (tmp_path / "r").exists()


def test_train_needs_a_profile_or_resume(monkeypatch, capsys):
    code, _, err = hqnn(monkeypatch, capsys, "train")
    assert code == 2 and "give a PROFILE" in err


def test_listing_commands_still_work(monkeypatch, capsys):
    code, out, _ = hqnn(monkeypatch, capsys, "backends", "--json")
    assert code == 0 and "torch" in [row["name"] for row in json.loads(out)]
    code, out, _ = hqnn(monkeypatch, capsys, "plugins", "--json")
    assert code == 0 and json.loads(out)


def test_too_many_qubits_says_what_limits_them_and_what_to_do(monkeypatch, capsys, small):
    code, out, err = hqnn(monkeypatch, capsys, "validate", str(small), "--set", "model.quantum.n_qubits=40")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "circuit needs 40 qubits; backend 'torch' supports at most 30 (its declared max_qubits" in err  # the backend's capability
    assert "2**n amplitudes, 8 TiB at 40 qubits in complex64" in err  # the memory behind it: 8 bytes * 2**40
    assert "Lower n_qubits (model.quantum.n_qubits in a profile)" in err and "`hqnn backends`" in err  # what to do
    assert "less than or equal to 30" not in err
