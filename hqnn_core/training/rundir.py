"""Claiming a run directory: one writer at a time, and what a crash before the first record leaves.

Two processes writing one run would overwrite each other's record, delete each other's temporary
checkpoints and each spend the whole budget, so ``hqnn train`` holds an exclusive ``filelock`` on
``.hqnn.lock`` while it runs. It is an OS file lock (``flock``): the operating system releases it
when its holder dies, however it dies, so a lock left by a crashed or SIGKILLed run is simply free
and the next writer takes it. Next to it, ``.hqnn.lock.json`` says who holds it (pid, host, start
time), so a refused writer can name the holder.

A run killed before its first ``run.json`` was in place leaves only :func:`leftovers` (temporary
files and the lock; ``profile.yaml`` is written after ``run.json``): such a folder counts as empty
for ``--out``, and ``--resume`` says to start it again.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock

from hqnn_core.errors import RunInUseError
from hqnn_core.training.checkpoints import atomic_write
from hqnn_core.training.paths import confined
from hqnn_core.training.records import RUN_JSON, utc_now

LOCK_FILE = ".hqnn.lock"
LOCK_INFO = ".hqnn.lock.json"
logger = logging.getLogger("hqnn.lock")


class RunLock:
    """``with RunLock(run_dir):`` holds the run directory for this process, or raises :class:`RunInUseError`."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.run_dir = Path(run_dir)
        self._lock = filelock.FileLock(confined(self.run_dir, LOCK_FILE, f"{self.run_dir}: the run lock"))  # opened O_NOFOLLOW
        self._info = confined(self.run_dir, LOCK_INFO, f"{self.run_dir}: the run lock's holder")

    def holder(self) -> dict[str, Any]:
        """What the lock-info file says about the (last) holder; empty when it is missing or unreadable."""
        try:
            data = json.loads(self._info.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> RunLock:
        try:
            self._lock.acquire(blocking=False)
        except filelock.Timeout:
            h = self.holder()
            who = f"pid {h.get('pid', '?')} on host {h.get('host', '?')} (since {h.get('started', '?')})" if h else "another process"
            raise RunInUseError(
                f"{self.run_dir} is in use by {who}: one run directory takes one writer. Wait for that process to finish "
                "or stop it, then --resume; or start a new run with another --out."
            ) from None
        stale = self.holder()
        if stale:  # the OS released the lock when its holder died: take over, and say whose it was
            logger.info("%s: taking over the lock left by pid %s on host %s, which no longer holds it", self.run_dir, stale.get("pid"), stale.get("host"))
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": utc_now()}
        atomic_write(self._info, json.dumps(info).encode(), mode=0o644)
        return self

    def release(self) -> None:
        """Let the next writer in (the lock file stays, so that every waiter locks the same inode)."""
        if self._lock.is_locked:
            self._info.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def leftovers(run_dir: str | os.PathLike[str]) -> list[Path] | None:
    """What a run killed before its first ``run.json`` left in ``run_dir``; None when it holds anything else (or a record)."""
    found = []
    for entry in Path(run_dir).iterdir():
        name = entry.name
        if name == RUN_JSON:
            return None
        if not (name in (LOCK_FILE, LOCK_INFO) or (name.startswith(".") and name.endswith(".tmp"))):
            return None
        found.append(entry)
    return found


def clean_temporary(run_dir: str | os.PathLike[str]) -> list[str]:
    """Delete interrupted atomic writes (``.run.json.*.tmp``, ``.metrics.csv.*.tmp``) at the top of ``run_dir``; call it holding the lock."""
    removed = []
    for tmp in Path(run_dir).glob(".*.tmp"):
        if tmp.is_file() or tmp.is_symlink():  # a symlink is removed, never followed
            tmp.unlink(missing_ok=True)
            removed.append(tmp.name)
    return removed
