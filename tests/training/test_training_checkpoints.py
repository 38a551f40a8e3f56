"""Checkpoints: atomic writes, checksums, fallback from a corrupt newest file, weights-only loading, rotation."""

from __future__ import annotations

import io
import json
import os
import pickle
import stat

import numpy as np
import pytest
import torch

from hqnn_core.errors import CheckpointError
from hqnn_core.training.checkpoints import MANIFEST, CheckpointManager, CheckpointWarning, sha256_file


def _state(epoch: int) -> dict:
    rng = np.random.Generator(np.random.PCG64(epoch))
    return {
        "model": {"w": torch.full((3,), float(epoch))},
        "epoch": epoch,
        "rng": {"numpy": rng.bit_generator.state, "torch": torch.get_rng_state()},  # 128-bit ints load weights-only
    }


def _filled(tmp_path, epochs=(1, 2, 3), keep=3) -> CheckpointManager:
    manager = CheckpointManager(tmp_path / "ckpt", keep=keep)
    for e in epochs:
        manager.save(_state(e), e)
    return manager


def test_round_trip_checksums_permissions_and_rotation(tmp_path):
    manager = _filled(tmp_path, epochs=(1, 2, 3, 4, 5), keep=3)
    entries = manager.entries()
    assert [e["epoch"] for e in entries] == [3, 4, 5]
    assert sorted(p.name for p in manager.directory.iterdir()) == ["epoch-0003.pt", "epoch-0004.pt", "epoch-0005.pt", MANIFEST]
    for e in entries:
        path = manager.directory / e["file"]
        assert sha256_file(path) == e["sha256"]
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    state, entry = manager.load_latest()
    assert entry["epoch"] == 5 and torch.equal(state["model"]["w"], torch.full((3,), 5.0))
    restored = np.random.Generator(np.random.PCG64(0))
    restored.bit_generator.state = state["rng"]["numpy"]
    assert restored.random() == np.random.Generator(np.random.PCG64(5)).random()


def test_corrupt_newest_falls_back_with_a_warning_naming_the_file(tmp_path):
    manager = _filled(tmp_path)
    newest = manager.directory / "epoch-0003.pt"
    newest.write_bytes(newest.read_bytes()[:100])  # truncated, as a crash during a non-atomic save would leave it
    with pytest.warns(CheckpointWarning, match="epoch-0003.pt"):
        state, entry = manager.load_latest()
    assert entry["epoch"] == 2 and state["epoch"] == 2


def test_truncated_file_with_a_matching_checksum_is_still_rejected(tmp_path):
    manager = _filled(tmp_path)
    newest = manager.directory / "epoch-0003.pt"
    newest.write_bytes(newest.read_bytes()[:-50])
    manifest = json.loads((manager.directory / MANIFEST).read_text())
    manifest["checkpoints"][-1]["sha256"] = sha256_file(newest)
    (manager.directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.warns(CheckpointWarning, match="epoch-0003.pt.*cannot be loaded safely"):
        _, entry = manager.load_latest()
    assert entry["epoch"] == 2


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_never_executed(tmp_path):
    manager = _filled(tmp_path)
    marker = tmp_path / "PWNED"
    newest = manager.directory / "epoch-0003.pt"
    buffer = io.BytesIO()
    torch.save({"model": {}, "x": _Payload(marker)}, buffer, pickle_module=pickle)
    newest.write_bytes(buffer.getvalue())
    manifest = json.loads((manager.directory / MANIFEST).read_text())
    manifest["checkpoints"][-1]["sha256"] = sha256_file(newest)  # an attacker can rewrite the manifest too
    (manager.directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.warns(CheckpointWarning, match=r"epoch-0003\.pt.*(os\.system|posix\.system|disallowed|Unsupported global)"):
        _, entry = manager.load_latest()
    assert entry["epoch"] == 2
    assert not marker.exists()


def test_interrupted_write_never_replaces_the_last_good_checkpoint(tmp_path, monkeypatch):
    manager = _filled(tmp_path, epochs=(1, 2))
    before = {p.name: p.read_bytes() for p in manager.directory.iterdir()}

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        manager.save(_state(3), 3)
    monkeypatch.undo()
    after = {p.name: p.read_bytes() for p in manager.directory.iterdir()}
    assert after == before  # no partial file, no temporary left behind, manifest unchanged
    state, entry = manager.load_latest()
    assert entry["epoch"] == 2 and state["epoch"] == 2


def test_unserialisable_state_is_refused_before_anything_is_written(tmp_path):
    manager = _filled(tmp_path, epochs=(1,))
    with pytest.raises(CheckpointError, match="cannot be loaded safely"):
        manager.save({"model": {}, "bad": _Payload(tmp_path / "x")}, 2)
    assert [e["epoch"] for e in manager.entries()] == [1]
    assert not (manager.directory / "epoch-0002.pt").exists()


def test_lost_manifest_and_all_corrupt(tmp_path):
    manager = _filled(tmp_path, epochs=(1, 2))
    (manager.directory / MANIFEST).write_text("{not json")
    with pytest.warns(CheckpointWarning, match="manifest"):
        _, entry = manager.load_latest()
    assert entry["epoch"] == 2
    for p in manager.directory.glob("epoch-*.pt"):
        p.write_bytes(b"garbage")
    with pytest.warns(CheckpointWarning), pytest.raises(CheckpointError, match="no checkpoint in .* can be loaded"):
        manager.load_latest()
    assert CheckpointManager(tmp_path / "empty").load_latest() is None
