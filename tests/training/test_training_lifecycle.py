"""Run lifecycle: plugin hooks see start, epochs and finish; the progress bar shows usage; a diverged run fails cleanly."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console
from training_helpers import write_profile

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
    assert not list((tmp_path / "r").glob("checkpoints/hybrid/epoch-*.pt"))
