"""Issue 18 item 1: nothing in a run directory makes hqnn touch a path outside it.

A run directory is data a user may receive from someone else. The manifests and ``run.json`` name
files that hqnn reads, replaces and deletes; each name is confined to the run directory
(:func:`hqnn_core.training.paths.confined`). Oracle: victim files outside the run still exist,
byte for byte, after a resume that rotates checkpoints past crafted entries.
"""

from __future__ import annotations

import json
import os

import pytest
from training_helpers import write_profile

from hqnn_core.errors import CheckpointError
from hqnn_core.kill_points import KILL_VAR
from hqnn_core.training import CheckpointWarning, evaluate_run, train
from hqnn_core.training.checkpoints import MANIFEST, CheckpointManager
from hqnn_core.training.paths import confined

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")


@pytest.mark.parametrize("name", [
    "/etc/passwd", "../victim.txt", "../../../victim_rel.txt", "a/../../victim.txt", "./epoch-0001.pt", "", "epoch\n.pt",
    "epoch\x00.pt", "..\\victim.txt", None, 3, ["epoch-0001.pt"],
])
def test_names_that_are_not_plain_relative_paths_are_refused(tmp_path, name):
    with pytest.raises(CheckpointError, match="hqnn only touches files inside the run directory"):
        confined(tmp_path, name, "manifest.json")


def test_symlinks_are_followed_and_refused_when_they_lead_out(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir(), outside.mkdir()
    (run / "out-link").symlink_to(outside / "victim.txt")
    (run / "dir-link").symlink_to(outside, target_is_directory=True)
    (run / "in-link").symlink_to(run / "real.pt")
    for name in ("out-link", "dir-link/epoch-0001.pt", "dir-link"):
        with pytest.raises(CheckpointError, match="symlink .* leading outside the run directory"):
            confined(run, name)
    assert confined(run, "in-link") == run.resolve() / "in-link"  # a link that stays inside is fine
    assert confined(run, "checkpoints/hybrid/epoch-0001.pt") == run.resolve() / "checkpoints/hybrid/epoch-0001.pt"


@pytest.fixture
def interrupted(tmp_path, monkeypatch):
    """A 4-epoch run stopped (SIGINT, in process) after epoch 2, keeping 2 checkpoints."""
    profile = write_profile(tmp_path, train={"epochs": 4, "keep_checkpoints": 2}, output={"plots": False})
    run_dir = tmp_path / "run"
    monkeypatch.setenv(KILL_VAR, "epoch:2:INT")
    with pytest.raises(KeyboardInterrupt):
        train(profile, out=run_dir, quiet=True)
    monkeypatch.delenv(KILL_VAR)
    return run_dir


def test_a_crafted_manifest_deletes_and_reads_nothing_outside_the_run(tmp_path, interrupted):
    ckpt = interrupted / "checkpoints" / "hybrid"
    manifest = json.loads((ckpt / MANIFEST).read_text())
    assert [e["epoch"] for e in manifest["checkpoints"]] == [1, 2]
    victims = {tmp_path / "victim_abs.txt": "absolute", tmp_path / "victim_rel.txt": "relative", tmp_path / "victim_link.pt": "symlink"}
    for path, text in victims.items():
        path.write_text(text)
    (ckpt / "epoch-0009.pt").symlink_to(tmp_path / "victim_link.pt")
    crafted = [{"file": str(tmp_path / "victim_abs.txt"), "epoch": -3, "sha256": None},
               {"file": os.path.relpath(tmp_path / "victim_rel.txt", ckpt), "epoch": -2, "sha256": None},  # ../../../victim_rel.txt
               {"file": "epoch\n.pt", "epoch": -1, "sha256": None},
               {"file": "epoch-0009.pt", "epoch": 9, "sha256": None}]  # the newest entry: a symlink out, must not be loaded
    manifest["checkpoints"] = crafted + manifest["checkpoints"]
    (ckpt / MANIFEST).write_text(json.dumps(manifest))

    with pytest.warns(CheckpointWarning) as caught:
        result = train(resume=interrupted, quiet=True)
    assert result.record["status"] == "completed" and [e["epoch"] for e in result.record["hybrid"]["epochs"]] == [1, 2, 3, 4]
    assert result.record["resumed"][0]["from_epoch"] == 2  # the symlinked "epoch 9" was skipped, the real epoch 2 loaded
    messages = " ".join(str(w.message) for w in caught)
    assert "victim_abs.txt" in messages and "../../../victim_rel.txt" in messages and "epoch-0009.pt" in messages
    for path, text in victims.items():  # before the fix, the rotation unlinked the absolute and the '..' victims
        assert path.read_text() == text
    after = json.loads((ckpt / MANIFEST).read_text())["checkpoints"]
    assert [(e["file"], e["epoch"]) for e in after] == [("epoch-0003.pt", 3), ("epoch-0004.pt", 4)]


def test_a_checkpoint_folder_symlinked_out_of_the_run_is_refused(tmp_path, interrupted):
    outside = tmp_path / "elsewhere"
    (interrupted / "checkpoints" / "hybrid").rename(outside)
    (interrupted / "checkpoints" / "hybrid").symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    with pytest.raises(CheckpointError, match="checkpoints/hybrid.*symlink"):
        train(resume=interrupted, quiet=True)
    assert sorted(p.name for p in outside.iterdir()) == before


def test_run_json_naming_weights_outside_the_run_is_refused(tmp_path, interrupted):
    (tmp_path / "secret.pt").write_bytes(b"not yours")
    record = json.loads((interrupted / "run.json").read_text())
    record["hybrid"]["weights"] = {"file": "../secret.pt", "sha256": "0" * 64}
    (interrupted / "run.json").write_text(json.dumps(record))
    with pytest.raises(CheckpointError, match=r"hybrid.weights.file names '../secret.pt', a path outside the run directory"):
        evaluate_run(interrupted)


def test_rotation_never_unlinks_an_unconfined_entry(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    manager = CheckpointManager(tmp_path / "ckpt", keep=1)
    (tmp_path / "ckpt").mkdir()
    (tmp_path / "ckpt" / MANIFEST).write_text(json.dumps({"format": 1, "checkpoints": [{"file": str(victim), "epoch": 0, "sha256": None}]}))
    with pytest.warns(CheckpointWarning, match="dropped from the manifest"):
        manager.save({"model": {}}, epoch=1)
    assert victim.read_text() == "keep me" and [e["file"] for e in manager.entries()] == ["epoch-0001.pt"]
