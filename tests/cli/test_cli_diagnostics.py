"""``hqnn diagnose`` and ``hqnn compare`` from the command line (CliRunner, built-in plugins only)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from training_helpers import EXAMPLES, write_profile  # noqa: E402

from hqnn_core.cli import cli  # noqa: E402


def test_diagnose_prints_tables_and_writes_json_and_plot(tmp_path):
    out = tmp_path / "diag"
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["diagnose", str(EXAMPLES / "digits.yaml"), "--qubits", "2,4,6", "--layers", "1,n", "--samples", "30",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "gradient variance, hardware_efficient" in result.output and "barren plateau" in result.output
    data = json.loads((out / "diagnose.json").read_text())
    fits = {(f["cost"], f["depth"]): f for f in data["fits"]}
    assert fits[("global", "n")]["slope_first"] < -0.4 and abs(fits[("local", "1")]["slope_first"]) < 0.15
    assert data["seed"] == 0 and data["samples"] == 30  # the profile's train.seed
    assert (out / "gradient_variance.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnose_writes_under_the_runs_directory_not_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = ["--qubits", "2,3", "--layers", "1", "--cost", "local", "--samples", "3"]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["diagnose", *args])  # no profile: runs/ as train's default runs_dir
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "runs").iterdir()
    assert folder.name.startswith("diagnose-hardware_efficient-") and (folder / "diagnose.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # no diagnostics/ in the working folder

    (tmp_path / "p").mkdir()
    profile = write_profile(tmp_path / "p", train={"epochs": 1})
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["diagnose", str(profile), *args])
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "p" / "runs").iterdir()  # the profile's output.runs_dir
    assert folder.name.startswith("diagnose-small-") and json.loads((folder / "diagnose.json").read_text())["samples"] == 3
    assert str(folder / "diagnose.json") in " ".join(result.output.split())


def test_diagnose_rejects_bad_options(tmp_path):
    result = CliRunner().invoke(cli, ["diagnose", "--qubits", "2,x", "--out", str(tmp_path)])
    assert result.exit_code != 0 and "comma-separated positive integers" in str(result.exception)


def test_compare_command(tmp_path):
    from hqnn_core.training import train

    run = train(write_profile(tmp_path, train={"epochs": 2}), out=tmp_path / "run", quiet=True)
    result = CliRunner().invoke(cli, ["compare", str(run.run_dir), "--backends", "torch,torch.noisy?readout_error=0.05",
                                      "--backend", "torch.noisy?depolarizing=0.02&label=depolarized", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [r["label"] for r in report["rows"]] == ["exact (torch)", "torch", "torch.noisy?readout_error=0.05", "depolarized"]
    assert report["rows"][1]["test_accuracy"] == run.record["hybrid"]["final"]["test_accuracy"]
    assert report["rows"][2]["output_error"] > 0.01 and report["rows"][3]["output_error"] > 0.0
    assert (run.run_dir / "compare" / "compare.png").exists()
    missing = CliRunner().invoke(cli, ["compare", str(run.run_dir)])
    assert missing.exit_code == 2 and "give backends to compare" in missing.output


@pytest.mark.parametrize("shots", ["0", "lots"])
def test_compare_rejects_bad_shots(tmp_path, shots):
    (tmp_path / "run").mkdir()
    result = CliRunner().invoke(cli, ["compare", str(tmp_path / "run"), "--backends", "torch", "--shots", shots])
    assert result.exit_code != 0 and "give a positive integer, or 'none'" in str(result.exception)
