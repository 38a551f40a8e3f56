"""Issue 18 items 2, 11, 12: what a crash, a full disk or a shared run directory can leave behind.

- Item 11: a run SIGKILLed while writing its first ``run.json`` leaves only a temporary file; that
  folder is restartable with ``--out`` (and ``--resume`` says so), and no ``.run.json.*.tmp``
  survives a later resume.
- Item 12: ENOSPC at the checkpoint write, or on every write from then on, leaves run.json saying
  ``failed`` (with the reason when the disk allows it), never ``running``.
- Item 2: ``profile.yaml`` is the validated, resolved profile with secrets redacted, not a copy of
  the user's file; it trains to the same config hash.
"""

from __future__ import annotations

import errno
import json
import signal

import pytest
import yaml
from training_helpers import run_cli, write_profile

from hqnn_core.config import load_profile
from hqnn_core.errors import CheckpointError
from hqnn_core.kill_points import KILL_VAR
from hqnn_core.training import checkpoints, records, train

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")


# --- item 11 --------------------------------------------------------------------------------------
def test_a_kill_during_the_first_record_write_leaves_a_restartable_folder(tmp_path, monkeypatch):
    profile = write_profile(tmp_path, train={"epochs": 2}, output={"plots": False})
    run_dir = tmp_path / "run"
    proc = run_cli("train", str(profile), "--out", str(run_dir), "-q", env={KILL_VAR: "record:0"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    left = sorted(p.name for p in run_dir.iterdir())
    assert not (run_dir / "run.json").exists() and any(n.startswith(".run.json.") and n.endswith(".tmp") for n in left), left
    with pytest.raises(CheckpointError, match=rf"holds no run record.*hqnn train PROFILE --out {run_dir}"):
        train(resume=run_dir, quiet=True)  # before: "not a run directory"
    result = train(profile, out=run_dir, quiet=True)  # before: "the folder exists and is not empty"
    assert result.record["status"] == "completed" and len(result.record["hybrid"]["epochs"]) == 2
    assert not list(run_dir.glob(".*.tmp"))


def test_no_interrupted_record_write_survives_a_resume(tmp_path):
    profile = write_profile(tmp_path, train={"epochs": 2}, output={"plots": False})
    run_dir = tmp_path / "run"
    proc = run_cli("train", str(profile), "--out", str(run_dir), "-q", env={KILL_VAR: "record:1"})  # mid-write of the epoch-1 record
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert list(run_dir.glob(".run.json.*.tmp"))
    result = train(resume=run_dir, quiet=True)
    assert result.record["status"] == "completed"
    assert sorted(p.name for p in run_dir.glob(".*.tmp")) == []


# --- item 12 --------------------------------------------------------------------------------------
def _disk_full_at_checkpoint(monkeypatch, everywhere: bool) -> None:
    """ENOSPC from the first checkpoint write on: only for checkpoints, or (``everywhere``) for every later write too."""
    full = {"now": False}
    real_checkpoint_write, real_record_write = checkpoints.atomic_write, records.atomic_write

    def checkpoint_write(path, data, *args, **kwargs):
        if path.suffix == ".pt":
            full["now"] = True
        if full["now"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_checkpoint_write(path, data, *args, **kwargs)

    def record_write(path, data, *args, **kwargs):
        if everywhere and full["now"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_record_write(path, data, *args, **kwargs)

    monkeypatch.setattr(checkpoints, "atomic_write", checkpoint_write)
    monkeypatch.setattr(records, "atomic_write", record_write)


def test_enospc_at_the_checkpoint_write_records_failed_with_the_reason(tmp_path, monkeypatch):
    profile = write_profile(tmp_path, train={"epochs": 2}, output={"plots": False})
    _disk_full_at_checkpoint(monkeypatch, everywhere=False)
    with pytest.raises(OSError, match="No space left on device"):
        train(profile, out=tmp_path / "run", quiet=True)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "failed" and record["error"] == {"type": "OSError", "message": "[Errno 28] No space left on device"}


def test_a_full_disk_still_marks_the_record_failed_in_place(tmp_path, monkeypatch):
    profile = write_profile(tmp_path, train={"epochs": 2}, output={"plots": False})
    _disk_full_at_checkpoint(monkeypatch, everywhere=True)
    with pytest.raises(OSError, match="No space left on device"):  # the run's own error, not the record's
        train(profile, out=tmp_path / "run", quiet=True)
    text = (tmp_path / "run" / "run.json").read_text()
    record = json.loads(text)  # still valid JSON
    assert record["status"] == "failed"  # before: "running"
    assert record["hybrid"]["status"] == "running"  # only the top-level status was rewritten, in place
    monkeypatch.undo()
    resumed = train(resume=tmp_path / "run", quiet=True)  # and the run resumes once the disk has room
    assert resumed.record["status"] == "completed" and len(resumed.record["hybrid"]["epochs"]) == 2


# --- item 2 ---------------------------------------------------------------------------------------
CANARY = "canaryProfileSecret7Hq2Zx9"


def test_profile_yaml_is_the_resolved_profile_with_secrets_redacted(tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY)  # a credential hqnn knows, pasted into the profile below
    profile = write_profile(tmp_path, train={"epochs": 1}, output={"plots": False, "keep_raw_profile": True},
                            description=f"trained with key {CANARY}")
    profile.write_text(f"# my aws secret: {CANARY}\n# token: hunter2hunter2\n" + profile.read_text())
    result = train(profile, out=tmp_path / "run", quiet=True)
    stored = (tmp_path / "run" / "profile.yaml").read_text()
    raw = (tmp_path / "run" / "profile.raw.yaml").read_text()
    assert CANARY not in stored and "hunter2" not in stored and "my aws secret" not in stored  # comments are gone
    assert CANARY not in raw and "hunter2" not in raw and "# my aws secret: ***" in raw and "token: ***" in raw
    assert yaml.safe_load(stored)["description"] == "trained with key ***"
    assert load_profile(tmp_path / "run" / "profile.yaml").config_hash == result.record["profile"]["config_hash"]


def test_the_raw_profile_is_kept_only_when_asked(tmp_path):
    profile = write_profile(tmp_path, train={"epochs": 1}, output={"plots": False})
    train(profile, out=tmp_path / "run", quiet=True)
    assert sorted(p.name for p in (tmp_path / "run").glob("profile*")) == ["profile.yaml"]
    stored = (tmp_path / "run" / "profile.yaml").read_text()
    assert stored != profile.read_text() and stored.startswith("# the profile this run trained: validated, resolved and redacted")
