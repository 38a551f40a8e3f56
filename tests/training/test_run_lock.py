"""Issue 18 item 6: one writer per run directory.

A real holder: ``hqnn train`` in a subprocess that stops itself (SIGSTOP) right after epoch 1,
holding the lock with its record written. While it is stopped, a second ``--out`` and a
``--resume`` on its folder are refused naming its pid and host; after it is SIGKILLed, the lock
it leaves behind is free and ``--resume`` finishes the run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from training_helpers import write_profile

from hqnn_core.errors import RunInUseError
from hqnn_core.kill_points import KILL_VAR
from hqnn_core.training import train
from hqnn_core.training.rundir import LOCK_INFO, RunLock

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")


def _wait_stopped(proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        with open(f"/proc/{proc.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "T":  # stopped
                return
        time.sleep(0.1)
    raise AssertionError("the holder never reached its stop point")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to see the holder stopped")
def test_a_live_run_refuses_a_second_writer_and_a_resume_and_its_lock_is_recovered_after_sigkill(tmp_path):
    profile = write_profile(tmp_path, train={"epochs": 3}, output={"plots": False})
    run_dir = tmp_path / "run"
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg", KILL_VAR: "epoch:1:STOP"}
    holder = subprocess.Popen([sys.executable, "-m", "hqnn_core", "train", str(profile), "--out", str(run_dir), "-q"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_stopped(holder)
        record_before = (run_dir / "run.json").read_bytes()
        assert json.loads((run_dir / LOCK_INFO).read_text())["pid"] == holder.pid
        who = rf"in use by pid {holder.pid} on host {socket.gethostname()}"
        with pytest.raises(RunInUseError, match=who):
            train(profile, out=run_dir, quiet=True)  # the same --out while it runs
        with pytest.raises(RunInUseError, match=who):
            train(resume=run_dir, quiet=True)  # a resume of the live run
        tmp = run_dir / ".run.json.live.tmp"  # stands for the live writer's half-written file: a refused resume must not delete it
        tmp.write_text("{}")
        with pytest.raises(RunInUseError):
            train(resume=run_dir, quiet=True)
        assert tmp.exists() and (run_dir / "run.json").read_bytes() == record_before  # the refused writers touched nothing
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=60)
    assert holder.returncode == -signal.SIGKILL
    resumed = train(resume=run_dir, quiet=True)  # the dead holder's lock file is there, but free
    assert resumed.record["status"] == "completed" and [e["epoch"] for e in resumed.record["hybrid"]["epochs"]] == [1, 2, 3]
    assert resumed.record["resumed"][0]["from_epoch"] == 1
    assert not list(run_dir.glob(".*.tmp")) and not (run_dir / LOCK_INFO).exists()  # released at the end


def test_two_writers_in_one_process_are_refused_and_the_lock_is_released_on_exit(tmp_path):
    with RunLock(tmp_path) as held:
        assert json.loads((tmp_path / LOCK_INFO).read_text())["pid"] == os.getpid()
        with pytest.raises(RunInUseError, match=f"pid {os.getpid()} on host"):
            RunLock(tmp_path).acquire()
        assert held.holder()["host"] == socket.gethostname()
    with RunLock(tmp_path):  # free again
        pass


def test_a_symlinked_lock_file_is_refused(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    run = tmp_path / "run"
    run.mkdir()
    (run / ".hqnn.lock").symlink_to(victim)
    with pytest.raises(Exception, match="symlink .* leading outside the run directory"):
        RunLock(run)
    assert victim.read_text() == "keep me"
