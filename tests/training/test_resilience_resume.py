"""R6/R8: a run SIGKILLed at 8 points resumes to the weights and optimizer state of an uninterrupted run.

The 8 points: 5 optimiser steps drawn from a seeded RNG, mid-checkpoint-write (temporary file
written, not yet renamed), inside a backend call, and mid run-record write. All killed runs start
at once in subprocesses (one fixture), so the test costs about one process start per core. R8: the
newest checkpoint truncated, emptied or overwritten falls back to the previous one with a warning.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys

import pytest
import torch
from training_helpers import assert_same_weights, load_state, write_profile

from hqnn_core.kill_points import KILL_VAR
from hqnn_core.training import CheckpointWarning, train

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")

EPOCHS, STEPS_PER_EPOCH = 4, 4  # SMALL: 64 samples in batches of 16
STEPS = sorted(random.Random(6).sample(range(1, EPOCHS * STEPS_PER_EPOCH + 1), 5))
KILL_POINTS = [f"step:{s}" for s in STEPS] + ["checkpoint:2", "call:13", "record:2"]
SECTIONS = {"backend": {"name": "faulty:torch?rate=0"}, "output": {"plots": False}}  # faulty: hosts the call:N kill point


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _numbers(record):
    return [{k: v for k, v in e.items() if k not in ("wall_time_epoch_s", "wall_time_total_s", "checkpoint")} for e in record["hybrid"]["epochs"]]


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """The uninterrupted reference, and one run dir per kill point (plus epoch:3 for R8), killed concurrently."""
    folder = tmp_path_factory.mktemp("kills")
    profile = write_profile(folder, "small.yaml", **SECTIONS)
    # one thread each: nine concurrent processes on a 2-core runner would otherwise thrash (tiny tensors: same numbers)
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    procs = {}
    for point in [*KILL_POINTS, "epoch:3"]:
        out = folder / point.replace(":", "-")
        procs[point] = (out, subprocess.Popen([sys.executable, "-m", "hqnn_core", "train", str(profile), "--out", str(out), "-q"],
                                              env={**env, KILL_VAR: point}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    reference = train(profile, out=folder / "reference", quiet=True)
    runs = {}
    for point, (out, proc) in procs.items():
        _, err = proc.communicate(timeout=300)
        runs[point] = (out, proc.returncode, err)
    return reference, runs


def _check_killed(run_dir, code, err):
    assert code == -signal.SIGKILL, err
    record = json.loads((run_dir / "run.json").read_text())  # always whole, valid JSON
    assert record["status"] == "running" and not (run_dir / "model.pt").exists()
    return record


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_at_any_point_resumes_to_identical_weights_and_optimizer_state(killed, point):
    reference, runs = killed
    run_dir, code, err = runs[point]
    before = _check_killed(run_dir, code, err)
    ckpt = run_dir / "checkpoints" / "hybrid"
    if point == "checkpoint:2":
        assert list(ckpt.glob(".epoch-0002.pt.*.tmp")) and not (ckpt / "epoch-0002.pt").exists()
    if point == "record:2":  # checkpoint 2 is written; the record holding epoch 2 was not
        assert (ckpt / "epoch-0002.pt").exists() and len(before["hybrid"]["epochs"]) == 1
        assert list(run_dir.glob(".run.json.*.tmp"))
    resumed = train(resume=run_dir, quiet=True)
    assert resumed.record["status"] == "completed"
    assert_same_weights(run_dir / "model.pt", reference.run_dir / "model.pt")
    last = f"epoch-{EPOCHS:04d}.pt"
    mine, theirs = load_state(ckpt / last), load_state(reference.run_dir / "checkpoints" / "hybrid" / last)
    assert _same(mine["optimizer"], theirs["optimizer"]) and _same(mine["rng"], theirs["rng"])
    assert _numbers(resumed.record) == _numbers(reference.record)
    assert [e["epoch"] for e in resumed.record["hybrid"]["epochs"]] == list(range(1, EPOCHS + 1))
    assert not list(ckpt.glob("*.tmp"))


@pytest.mark.parametrize("damage", ["truncated", "empty", "random bytes"])
def test_a_corrupt_newest_checkpoint_falls_back_to_the_previous_one(killed, tmp_path, damage):
    reference, runs = killed
    source, code, err = runs["epoch:3"]
    _check_killed(source, code, err)
    run_dir = tmp_path / "run"
    shutil.copytree(source, run_dir)
    newest = run_dir / "checkpoints" / "hybrid" / "epoch-0003.pt"
    blob, rng = newest.read_bytes(), random.Random(damage)
    newest.write_bytes({"truncated": blob[: rng.randrange(1, len(blob))], "empty": b"", "random bytes": rng.randbytes(len(blob))}[damage])
    with pytest.warns(CheckpointWarning, match=r"epoch-0003\.pt.*falling back to the previous checkpoint"):
        resumed = train(resume=run_dir, quiet=True)
    assert resumed.record["resumed"][-1]["from_epoch"] == 2
    assert_same_weights(run_dir / "model.pt", reference.run_dir / "model.pt")
    assert _numbers(resumed.record) == _numbers(reference.record)
