"""The lines a stopped run prints: why it stopped, where, what is saved and the command that continues it."""

from __future__ import annotations

from pathlib import Path

import pytest

from hqnn_core.training.messages import interrupted_lines

RUN = Path("runs/exp [qiskit]")
POSITION = {"phase": "hybrid", "epoch": 2, "epochs": 5, "step": 3, "steps": 9}
RECORD = {"hybrid": {"epochs": [{"epoch": 1, "checkpoint": {"file": "checkpoints/epoch_001.pt"}}, {"epoch": 2}]}}


@pytest.mark.parametrize(("error", "why"), [
    (KeyboardInterrupt(), "interrupted (Ctrl-C)"),
    (SystemExit(143), "stopped (SIGTERM)"),
    (SystemExit(2), "stopped (exit 2)"),
])
def test_the_reason_position_checkpoint_and_resume_command(error, why):
    lines = interrupted_lines(RUN, POSITION, RECORD, error)
    assert lines == [
        f"{why} during hybrid epoch 2/5, step 3/9; saved up to epoch 1 (checkpoints/epoch_001.pt); resuming continues after it.",
        f"run directory: {RUN}",
        "continue with: hqnn train --resume 'runs/exp [qiskit]'",
    ]


def test_before_training_nothing_is_saved():
    lines = interrupted_lines(RUN, {}, {}, KeyboardInterrupt())
    assert lines[0] == "interrupted (Ctrl-C) before training started; no epoch is saved yet; resuming starts from epoch 1."
