"""Atomic, checksummed checkpoints that load with ``torch.load(weights_only=True)``.

A checkpoint is one file written to a temporary file in the same folder, flushed, fsynced and
``os.replace``d into place, then the folder is fsynced; ``manifest.json`` (written the same way,
last) lists each file with its sha256. A write interrupted at any point therefore leaves the last
good checkpoint and the manifest untouched. Loading verifies the checksum and falls back to the
previous checkpoint, with a warning naming the bad file, when the newest is corrupt. Old
checkpoints are deleted only after the new one is written and listed, and only when the manifest
names a file inside the checkpoint folder (:func:`hqnn_core.training.paths.confined`): a crafted
manifest can neither make hqnn read nor delete anything outside it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch

from hqnn_core.errors import CheckpointError, HQNNWarning
from hqnn_core.kill_points import kill_point
from hqnn_core.training.paths import confined

MANIFEST = "manifest.json"


class CheckpointWarning(HQNNWarning):
    """A checkpoint was skipped (corrupt, or not listed in the manifest) and an older one is used."""


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened for fsync
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o600, kill: tuple[str, int] | None = None) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        if kill is not None:
            kill_point(*kill)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    return sha256_bytes(path.read_bytes())


def load_weights_only(source: Path | bytes, where: str) -> Any:
    """``torch.load(weights_only=True)``; a disallowed object or a truncated file is a CheckpointError."""
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else source
        return torch.load(handle, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - unpickling errors come in many types; all mean "not a safe, whole checkpoint"
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        detail = next((line for line in lines if "GLOBAL" in line or "global" in line), lines[0] if lines else "")
        if isinstance(source, bytes):
            try:  # name the disallowed objects (reads the pickle's globals without running them)
                unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(io.BytesIO(source))
                if unsafe:
                    detail = f"it holds disallowed objects {unsafe}"
            except Exception:  # noqa: BLE001, S110 - not a zip checkpoint at all: keep torch's message
                pass
        raise CheckpointError(
            f"{where} cannot be loaded safely ({type(e).__name__}: {detail}); "
            "it is truncated, corrupt, or holds objects other than tensors and plain data. hqnn never loads it with weights_only=False."
        ) from None


class CheckpointManager:
    """Checkpoints of one model in ``directory``: ``epoch-0003.pt`` files plus ``manifest.json``."""

    def __init__(self, directory: str | os.PathLike[str], keep: int = 3) -> None:
        self.directory = Path(directory)
        self.keep = keep

    # -- manifest -----------------------------------------------------------------------------
    def entries(self) -> list[dict[str, Any]]:
        """Listed checkpoints, oldest first (an unreadable manifest falls back to the files present)."""
        path = self.directory / MANIFEST
        if path.exists():
            try:
                data = json.loads(path.read_text())
                return sorted(data["checkpoints"], key=lambda e: e["epoch"])
            except (ValueError, KeyError, TypeError):
                warnings.warn(f"checkpoint manifest {path} is unreadable; using the checkpoint files without checksums.", CheckpointWarning, stacklevel=2)
        found = (re.fullmatch(r"epoch-(\d+)\.pt", f.name) for f in sorted(self.directory.glob("epoch-*.pt")))
        return [{"file": m.group(0), "epoch": int(m.group(1)), "sha256": None} for m in found if m]

    def path(self, entry: dict[str, Any]) -> Path:
        """The file a manifest entry names, confined to this folder (CheckpointError otherwise)."""
        return confined(self.directory, entry.get("file"), f"{self.directory / MANIFEST}")

    def _write_manifest(self, entries: list[dict[str, Any]]) -> None:
        blob = json.dumps({"format": 1, "checkpoints": entries}, indent=2, allow_nan=False).encode()
        atomic_write(self.directory / MANIFEST, blob, mode=0o600)

    def clean_temporary(self) -> list[str]:
        """Delete leftovers of interrupted writes (``.*.tmp``); returns their names."""
        removed = []
        for tmp in self.directory.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp.name)
        return removed

    # -- save / load --------------------------------------------------------------------------
    def save(self, state: dict[str, Any], epoch: int) -> dict[str, Any]:
        """Write ``state`` as epoch ``epoch``'s checkpoint; returns its manifest entry (file, sha256, bytes)."""
        buffer = io.BytesIO()
        torch.save(state, buffer)
        blob = buffer.getvalue()
        load_weights_only(blob, f"the checkpoint for epoch {epoch}")  # never publish what could not be loaded back
        name = f"epoch-{epoch:04d}.pt"
        path = self.directory / name
        atomic_write(path, blob, mode=0o600, kill=("checkpoint", epoch))
        digest = sha256_bytes(blob)
        if sha256_file(path) != digest:
            raise CheckpointError(f"checkpoint {path} reads back differently from what was written; check the disk.")
        entry = {"file": name, "epoch": epoch, "sha256": digest, "bytes": len(blob), "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        entries = [e for e in self._confined_entries() if e["epoch"] != epoch] + [entry]
        entries.sort(key=lambda e: e["epoch"])
        kept, dropped = entries[-self.keep :], entries[: -self.keep]
        self._write_manifest(kept)
        for old in dropped:
            with contextlib.suppress(OSError):
                self.path(old).unlink()
        return entry

    def _confined_entries(self) -> list[dict[str, Any]]:
        """The listed checkpoints whose file lies in this folder; any other entry is dropped with a warning, never touched."""
        good = []
        for e in self.entries():
            try:
                self.path(e)
            except CheckpointError as err:
                warnings.warn(f"{err} The entry is dropped from the manifest.", CheckpointWarning, stacklevel=3)
                continue
            good.append(e)
        return good

    def load_latest(self) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The newest checkpoint that verifies and loads, with its entry; ``None`` if there is none.

        A corrupt newest checkpoint is skipped with a :class:`CheckpointWarning` naming the file.
        Raises CheckpointError when checkpoints are listed but none can be loaded.
        """
        entries = self.entries()
        problems = []
        for entry in reversed(entries):
            try:
                path = self.path(entry)
                if not path.exists():
                    raise CheckpointError(f"checkpoint {path} is listed in the manifest but missing")
                blob = path.read_bytes()
                if entry.get("sha256") and sha256_bytes(blob) != entry["sha256"]:
                    raise CheckpointError(f"checkpoint {path} does not match its sha256 in the manifest (corrupt or modified)")
                state = load_weights_only(blob, f"checkpoint {path}")
                if not isinstance(state, dict) or "model" not in state:
                    raise CheckpointError(f"checkpoint {path} is not an hqnn checkpoint (no model state)")
            except CheckpointError as e:
                problems.append(str(e))
                warnings.warn(f"{e}; falling back to the previous checkpoint.", CheckpointWarning, stacklevel=2)
                continue
            return state, entry
        if problems:
            raise CheckpointError("no checkpoint in " + str(self.directory) + " can be loaded: " + "; ".join(problems) + ". Start a new run.")
        return None
