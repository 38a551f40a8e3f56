"""The run record: ``run.json`` (what ran, on what, with which seeds, and what came out) and ``metrics.csv``.

``run.json`` is rewritten atomically after every epoch with ``allow_nan=False`` (a NaN metric is a
bug to report, not a number to store). Epoch entries are keyed by epoch, so an epoch replayed after
a resume replaces its entry instead of being counted twice. Nothing in it comes from
``os.environ`` or ``repr()`` of SDK objects: the profile has no credential keys (the loader rejects
them) and backends' ``describe()`` promises none.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from hqnn_core.config import LoadedProfile
from hqnn_core.errors import CheckpointError
from hqnn_core.plugin_manager import get_plugins, hqnn_version, list_plugins
from hqnn_core.redaction import redact, redact_text
from hqnn_core.training.checkpoints import atomic_write
from hqnn_core.training.paths import confined
from hqnn_core.versions import installed_versions

RUN_JSON = "run.json"
PROFILE_COPY = "profile.yaml"
CIRCUIT_TEXT = "circuit.txt"
METRICS_CSV = "metrics.csv"
FORMAT = "hqnn-run/1"
#: ``*_epoch``: this epoch alone; ``*_total``: the model's running total since its epoch 1 (across resumes)
METRIC_COLUMNS = ["model", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                  "jobs_epoch", "circuits_epoch", "shots_epoch", "wall_time_epoch_s", "jobs_total", "circuits_total", "shots_total", "wall_time_total_s",
                  "grad_norm_quantum", "grad_norm_classical", "shot_noise", "state_fidelity",
                  "effective_sample_size"]  # the last five: hqnn_core.training.monitor
_PACKAGES = ("torch", "numpy", "scikit-learn", "scipy", "pydantic", "pluggy", "matplotlib", "pyyaml")


def save_profile(run_dir: Path, loaded: LoadedProfile, keep_raw: bool = False) -> list[str]:
    """Write the run's ``profile.yaml``: the validated, resolved profile, redacted; returns the files written.

    Not a copy of the user's file: a comment, or a value the schema drops, may hold a secret, and
    ``profile.yaml`` must be as safe to share as ``run.json``. It trains exactly like the original
    (same config hash). ``output.keep_raw_profile`` also keeps the original text, redacted, as
    ``profile.raw<suffix>``.
    """
    header = f"# the profile this run trained: validated, resolved and redacted (from {loaded.source})\n"
    text = header + yaml.safe_dump(redact(loaded.resolved()), sort_keys=False)
    atomic_write(run_dir / PROFILE_COPY, text.encode(), mode=0o644)
    written = [PROFILE_COPY]
    source = Path(loaded.source)
    if keep_raw and source.is_file():
        raw = f"profile.raw{source.suffix}"
        atomic_write(run_dir / raw, redact_text(source.read_text(encoding="utf-8", errors="replace")).encode(), mode=0o644)
        written.append(raw)
    return written


def save_circuit(run_dir: Path, diagram: str) -> str:
    """Write the quantum layer's text diagram beside run.json (its specs are in run.json's ``circuit``)."""
    atomic_write(run_dir / CIRCUIT_TEXT, (diagram + "\n").encode(), mode=0o644)
    return CIRCUIT_TEXT


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def environment() -> dict[str, Any]:
    """Versions of hqnn, Python, the libraries and every plugin (as ``hqnn plugins`` lists them)."""
    versions: dict[str, str | None] = {name: None for name in _PACKAGES}  # a missing library is recorded as null
    versions.update(installed_versions(_PACKAGES))
    return {
        "hqnn": hqnn_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "torch_threads": torch.get_num_threads(),
        "plugin_environment": get_plugins().environment_info(),
        "plugins": list_plugins(),
    }


class RunRecord:
    """``run.json`` in memory, saved atomically; one section per trained model (``hybrid``, ``baseline``)."""

    def __init__(self, run_dir: str | Path, data: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.data = data

    @classmethod
    def load(cls, run_dir: str | Path) -> RunRecord:
        path = confined(run_dir, RUN_JSON)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise CheckpointError(f"{run_dir} is not a run directory (no {RUN_JSON}); give the folder `hqnn train` created.") from None
        except ValueError as e:
            raise CheckpointError(f"{path} is not valid JSON ({e}); the run record is damaged.") from None
        if data.get("format") != FORMAT:
            raise CheckpointError(f"{path} has format {data.get('format')!r}, expected {FORMAT!r}; it was written by another hqnn version.")
        return cls(run_dir, data)

    def save(self) -> None:
        blob = json.dumps(redact(self.data), indent=2, allow_nan=False, sort_keys=False).encode()  # errors may echo credentials
        # crash-test hook (HQNN_TEST_KILL_AT=record:N): killed mid-write of the record holding N hybrid epochs
        atomic_write(self.run_dir / RUN_JSON, blob, mode=0o644, kill=("record", len((self.data.get("hybrid") or {}).get("epochs") or [])))
        self._write_metrics()

    def save_status_in_place(self, status: str) -> bool:
        """Last resort when the disk refuses a new ``run.json`` (full): overwrite its top-level status in place.

        The bytes are rewritten at the same length (``"failed" `` over ``"running"``), so no block
        is allocated and a full disk still allows it. Returns whether the status was written.
        """
        try:
            with confined(self.run_dir, RUN_JSON).open("r+b") as fh:
                text = fh.read()
                found = re.search(rb'\n  "status": "([a-z]+)"', text)  # top level: json.dumps(indent=2) puts its keys at 2 spaces
                if found is None or len(status) > len(found.group(1)):
                    return False
                fh.seek(found.start(1))
                fh.write(status.encode() + b'"' + b" " * (len(found.group(1)) - len(status)))
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, CheckpointError):
            return False
        return True

    def phase(self, name: str) -> dict[str, Any]:
        return self.data.setdefault(name, {"status": "pending", "epochs": []})

    def add_epoch(self, name: str, metrics: dict[str, Any]) -> None:
        phase = self.phase(name)
        phase["epochs"] = [e for e in phase["epochs"] if e["epoch"] < metrics["epoch"]] + [metrics]
        self.save()

    def _write_metrics(self) -> None:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=METRIC_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for name in ("hybrid", "baseline"):
            for row in (self.data.get(name) or {}).get("epochs", []):
                writer.writerow({"model": name, **row})
        atomic_write(self.run_dir / METRICS_CSV, out.getvalue().encode(), mode=0o644)
