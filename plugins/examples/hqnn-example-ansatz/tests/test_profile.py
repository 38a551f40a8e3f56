"""A profile that names the plugin's components validates and trains through the ``hqnn`` command."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

PROFILE = Path(__file__).resolve().parents[1] / "profile.yaml"
ROTOSOLVE_PROFILE = PROFILE.with_name("rotosolve.yaml")


def hqnn(*args: str) -> subprocess.CompletedProcess:
    exe = shutil.which("hqnn")
    if exe is None:
        pytest.fail("the hqnn command is not on PATH; install hqnn into this environment")
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=300)


def test_profile_validates_with_the_plugin_installed():
    proc = hqnn("validate", str(PROFILE))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_profile_trains_to_95_percent(tmp_path):
    run_dir = tmp_path / "run"
    proc = hqnn("train", str(PROFILE), "--set", "train.epochs=3", "--out", str(run_dir), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((run_dir / "run.json").read_text())
    quantum = record["profile"]["resolved"]["model"]["quantum"]
    assert quantum["encoder"]["name"] == "example.dense_angle"
    assert quantum["ansatz"] == {"name": "example.ladder", "options": {"rotation": "RY"}}
    assert record["status"] == "completed"
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.95  # 1.0 when measured (90 test images)


def test_rotosolve_profile_trains_and_spends_what_it_declares(tmp_path):
    run_dir = tmp_path / "run"
    proc = hqnn("train", str(ROTOSOLVE_PROFILE), "--out", str(run_dir), "--quiet")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((run_dir / "run.json").read_text())
    assert record["profile"]["resolved"]["train"]["optimizer"]["name"] == "example.rotosolve"
    first, last = record["hybrid"]["epochs"]
    assert last["train_loss"] < 0.1 * first["train_loss"]  # 0.297 -> 0.0053 when measured
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.95  # 1.0 when measured
    # 270 training samples in batches of 90: 3 steps of 1 + 3 x 18 evaluations (18 parameters), and 1 test pass, per epoch
    assert [e["jobs_epoch"] for e in record["hybrid"]["epochs"]] == [3 * 55 + 1] * 2


def test_conformance_command_checks_the_plugin_optimizer():
    proc = hqnn("conformance", "--optimizer", "example.rotosolve", "--", "-q")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "9 passed" in proc.stdout
