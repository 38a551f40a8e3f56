"""Run lifecycle: plugin hooks see start, epochs and finish; the progress bar shows usage; a diverged run fails cleanly."""

from __future__ import annotations

import io
import json
import re

import pytest
from rich.console import Console
from training_helpers import run_cli, write_profile

from hqnn_core import hookimpl, temporary_plugin
from hqnn_core.errors import BudgetExceededError, InputError
from hqnn_core.training import train


class Recorder:
    def __init__(self):
        self.calls = []

    @hookimpl
    def hqnn_run_started(self, run):
        self.calls.append(("started", run["status"]))

    @hookimpl
    def hqnn_epoch_finished(self, run, epoch, metrics):
        self.calls.append(("epoch", epoch, metrics["jobs_total"]))

    @hookimpl
    def hqnn_run_finished(self, run, error):
        self.calls.append(("finished", run["status"], type(error).__name__ if error else None))


def test_hooks_see_the_run_from_start_to_finish(tmp_path):
    recorder = Recorder()
    with temporary_plugin(recorder, name="recorder"):
        train(write_profile(tmp_path, train={"epochs": 2}), out=tmp_path / "ok", quiet=True)
        with pytest.raises(BudgetExceededError):
            train(write_profile(tmp_path, "b.yaml", limits={"max_jobs": 3, "preflight": False}), out=tmp_path / "b", quiet=True)
    assert recorder.calls == [
        ("started", "running"), ("epoch", 1, 5), ("epoch", 2, 10), ("finished", "completed", None),
        ("started", "running"), ("finished", "stopped", "BudgetExceededError"),
    ]


def test_progress_bar_shows_loss_accuracy_jobs_and_shots(tmp_path):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=160)
    train(write_profile(tmp_path, backend={"name": "torch", "shots": 20}, train={"epochs": 1}), out=tmp_path / "r", console=console)
    text = buffer.getvalue()
    for fragment in ("hybrid epoch 1/1", "loss", "acc", "jobs 5", f"shots {20 * (64 * 17 + 40)}"):
        assert fragment in text, fragment


def test_diverged_training_fails_cleanly_without_a_checkpoint(tmp_path):
    profile = write_profile(tmp_path, train={"optimizer": "sgd", "lr": 1e38, "epochs": 2})
    with pytest.raises(InputError, match="NaN or inf.*lower the learning rate"):
        train(profile, out=tmp_path / "r", quiet=True)
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert record["status"] == "failed" and record["error"]["type"] == "InputError"
    log = (tmp_path / "r" / "run.log").read_text()  # quiet on screen, but the run's log holds the header and the error
    assert f"INFO hqnn.train: hqnn train {profile}" in log and f"run directory {tmp_path / 'r'}" in log
    assert "ERROR hqnn.train: run failed: InputError:" in log and "Traceback" in log


def _plain(text: str) -> list[str]:
    """What a terminal shows: ANSI codes removed, each carriage-return redraw on its own line."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "\n").splitlines()


def test_progress_bar_keeps_counter_and_clocks_at_80_columns(tmp_path):
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=80)
    train(write_profile(tmp_path, train={"epochs": 1}), out=tmp_path / "r", console=console)
    bars = [line for line in _plain(buffer.getvalue()) if line.startswith("hybrid epoch 1/1 ") and "━" in line]
    assert bars and all(len(line) <= 80 for line in bars)
    last = bars[-1]
    assert re.search(r" 4/4 \d:\d\d:\d\d \d:\d\d:\d\d loss 0\.\d{4} acc 0\.\d{3} ", last), last  # 64 samples / batch 16: 4 steps


def test_header_before_epoch_1_names_profile_backend_gradient_data_and_run_dir(tmp_path):
    buffer = io.StringIO()
    profile = write_profile(tmp_path, train={"epochs": 1})
    train(profile, out=tmp_path / "r", console=Console(file=buffer, width=200))
    lines = buffer.getvalue().splitlines()
    first_epoch = next(i for i, line in enumerate(lines) if line.startswith("hybrid epoch 1/1:"))
    header = "\n".join(lines[:first_epoch])
    assert f"hqnn train {profile} (config hash " in header and "1 epochs, optimizer adam, batch 16" in header
    assert "backend torch (exact), gradient backprop; 4 qubits, angle encoder, hardware_efficient x1" in header
    assert "data digits: 64 train / 40 test, 4 features, 2 classes" in header and f"run directory {tmp_path / 'r'}" in header
    log = (tmp_path / "r" / "run.log").read_text()
    assert "data digits: 64 train / 40 test" in log and "INFO hqnn.train: hybrid epoch 1/1: loss" in log


def test_ctrl_c_says_where_the_run_is_and_how_to_resume_it(tmp_path):
    profile = write_profile(tmp_path, train={"epochs": 3})
    run_dir = tmp_path / "run"
    # A real SIGINT to the `hqnn train` process, delivered by the process itself before optimiser step 7
    # (4 steps per epoch: epoch 2, step 3), so the moment is exact on a loaded machine.
    proc = run_cli("train", str(profile), "--out", str(run_dir), "-q", env={"HQNN_TEST_KILL_AT": "step:7:INT"})
    assert proc.returncode == 130, proc.stderr
    assert "interrupted (Ctrl-C) during hybrid epoch 2/3, step 3/4; saved up to epoch 1 (checkpoints/hybrid/epoch-0001.pt)" in proc.stderr
    assert f"run directory: {run_dir}\n" in proc.stderr
    assert f"continue with: hqnn train --resume {run_dir}\n" in proc.stderr
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and [e["epoch"] for e in record["hybrid"]["epochs"]] == [1]
    log = (run_dir / "run.log").read_text()
    assert "INFO hqnn.train: hybrid epoch 1/3: loss" in log and f"WARNING hqnn.train: continue with: hqnn train --resume {run_dir}" in log

    resumed = run_cli("train", "--resume", str(run_dir), "-q")  # the printed command, as printed
    assert resumed.returncode == 0, resumed.stderr
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "completed" and [e["epoch"] for e in record["hybrid"]["epochs"]] == [1, 2, 3]
    assert f"run directory {run_dir} (resuming after epoch 1)" in (run_dir / "run.log").read_text()
    assert not list((tmp_path / "r").glob("checkpoints/hybrid/epoch-*.pt"))


def test_run_log_is_redacted(tmp_path, monkeypatch):
    secret = "wJalrXUtnFEMI0K7MDENGbPxRfiCYz"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    profile = write_profile(tmp_path, f"{secret}.yaml", train={"epochs": 1})  # the header names the profile file
    train(profile, out=tmp_path / "r", quiet=True)
    log = (tmp_path / "r" / "run.log").read_text()
    assert secret not in log and f"hqnn train {tmp_path}/***.yaml (config hash" in log
