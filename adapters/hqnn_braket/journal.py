"""The pending-task journal: every remote task hqnn creates is written down before hqnn waits for it.

A task costs money from the moment it is created, so its identity must survive the process: a
run killed while a task is queued, or a CreateQuantumTask whose response was lost, must find that
task again instead of paying for a second one (RELIABILITY.md R4/R7). Entries are keyed by a
fingerprint of the request (device, shots, programs and inputs), which an exactly resumed run
reproduces; each holds the client token and ``hqnn-unit`` tag given to CreateQuantumTask and,
once known, the task ARN. The file is small JSON, replaced atomically on every change.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def fingerprint(device_arn: str, shots: int, programs: list[Any]) -> str:
    """A stable key for one task request: device, shots and each program's source with its inputs."""
    blob = json.dumps([device_arn, shots, programs], sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()


class TaskJournal:
    """``pending_tasks.json``: fingerprint -> {token, unit, arn, created}; thread-safe, atomically replaced."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def entries(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:  # a torn file cannot happen (atomic replace); a hand-edited one is ignored, not trusted
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self.entries().get(key)

    def put(self, key: str, **fields: Any) -> None:
        """Add or update the entry for ``key`` and make it durable before returning."""
        with self._lock:
            data = self.entries()
            data[key] = {**data.get(key, {}), **fields, "updated": time.time()}
            self._write(data)

    def remove(self, keys: list[str]) -> None:
        """Forget tasks whose results were collected."""
        with self._lock:
            data = self.entries()
            if any(k in data for k in keys):
                self._write({k: v for k, v in data.items() if k not in keys})

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
