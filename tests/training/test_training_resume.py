"""A run killed with SIGKILL resumes with --resume to exactly the weights of an uninterrupted run."""

from __future__ import annotations

import json
import signal

import pytest
from training_helpers import assert_same_weights, load_state, run_cli, write_profile

from hqnn_core.training import train
from hqnn_core.training.checkpoints import MANIFEST


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The small profile trained without interruption (adam, exact) and the same profile with shots and SPSA."""
    folder = tmp_path_factory.mktemp("reference")
    exact = write_profile(folder, "exact.yaml")
    spsa = write_profile(folder, "spsa.yaml", backend={"name": "torch", "shots": 200},
                         train={"optimizer": {"name": "spsa", "options": {"c": 0.2}}, "lr": 0.3, "epochs": 3})
    runs = {}
    for path in (exact, spsa):
        runs[path.stem] = (path, train(path, out=folder / f"run-{path.stem}", quiet=True))
    return runs


def _numbers(record):
    """Per-epoch metrics without wall times (and checkpoint hashes, which include them)."""
    return [{k: v for k, v in e.items() if k not in ("wall_time_epoch_s", "wall_time_total_s", "checkpoint")} for e in record["hybrid"]["epochs"]]


def _kill_then_resume(tmp_path, profile, kill_at):
    run_dir = tmp_path / "killed"
    proc = run_cli("train", str(profile), "--out", str(run_dir), "-q", env={"HQNN_TEST_KILL_AT": kill_at})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "running" and not (run_dir / "model.pt").exists()  # really stopped partway
    return run_dir, record


@pytest.mark.parametrize(
    ("kill_at", "checkpointed"),
    [("epoch:2", [1, 2]), ("step:7", [1]), ("checkpoint:2", [1])],
    ids=["after-epoch-2", "mid-epoch-2", "mid-checkpoint-write"],
)
def test_sigkill_then_resume_gives_identical_weights(tmp_path, reference, kill_at, checkpointed):
    profile, uninterrupted = reference["exact"]
    run_dir, _ = _kill_then_resume(tmp_path, profile, kill_at)
    ckpt = run_dir / "checkpoints" / "hybrid"
    assert [e["epoch"] for e in json.loads((ckpt / MANIFEST).read_text())["checkpoints"]] == checkpointed
    if kill_at.startswith("checkpoint"):  # the write was interrupted after the temporary file, before the rename
        assert list(ckpt.glob(".epoch-0002.pt.*.tmp")) and not (ckpt / "epoch-0002.pt").exists()
        assert load_state(ckpt / "epoch-0001.pt")["epoch"] == 1  # the last good one is intact
    resumed = train(resume=run_dir, quiet=True)
    assert_same_weights(run_dir / "model.pt", uninterrupted.run_dir / "model.pt")
    assert _numbers(resumed.record) == _numbers(uninterrupted.record)
    assert resumed.record["status"] == "completed"
    assert resumed.record["resumed"][0]["from_epoch"] == checkpointed[-1]
    assert not list(ckpt.glob("*.tmp"))


def test_resume_with_shots_and_spsa_restores_every_random_stream(tmp_path, reference):
    """Shot sampling seeds (backend accounting) and SPSA's numpy generator come back exactly."""
    profile, uninterrupted = reference["spsa"]
    run_dir, _ = _kill_then_resume(tmp_path, profile, "epoch:1")
    resumed = train(resume=run_dir, quiet=True)
    assert_same_weights(run_dir / "model.pt", uninterrupted.run_dir / "model.pt")
    want = _numbers(uninterrupted.record)
    assert _numbers(resumed.record) == want
    assert want[-1]["shots_total"] > 0 and want[-1]["jobs_total"] > 0


def test_sigterm_records_interrupted_and_resumes(tmp_path, reference):
    profile, uninterrupted = reference["exact"]
    run_dir = tmp_path / "terminated"
    proc = run_cli("train", str(profile), "--out", str(run_dir), "-q", env={"HQNN_TEST_KILL_AT": "epoch:1:TERM"})
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and "hqnn train --resume" in record["error"]["message"]
    train(resume=run_dir, quiet=True)
    assert_same_weights(run_dir / "model.pt", uninterrupted.run_dir / "model.pt")


def test_same_profile_same_numbers(tmp_path, reference):
    profile, first = reference["exact"]
    second = train(profile, out=tmp_path / "again", quiet=True)
    assert_same_weights(first.run_dir / "model.pt", second.run_dir / "model.pt")
    assert [e["test_loss"] for e in first.record["hybrid"]["epochs"]] == [e["test_loss"] for e in second.record["hybrid"]["epochs"]]


def test_resume_refuses_a_different_profile_and_completed_runs_do_nothing(tmp_path, reference):
    from hqnn_core.errors import CheckpointError

    profile, done = reference["exact"]
    with pytest.raises(CheckpointError, match=r"differs from the profile .* --force"):
        train(profile, overrides=["train.lr=0.01"], resume=done.run_dir, quiet=True)
    before = (done.run_dir / "run.json").read_text()
    again = train(resume=done.run_dir, quiet=True)
    assert again.record["status"] == "completed"
    assert (done.run_dir / "run.json").read_text() == before
