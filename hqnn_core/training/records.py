"""The run record: ``run.json`` (what ran, on what, with which seeds, and what came out) and ``metrics.csv``.

``run.json`` is rewritten atomically after every epoch with ``allow_nan=False`` (a NaN metric is a
bug to report, not a number to store). Epoch entries are keyed by epoch, so an epoch replayed after
a resume replaces its entry instead of being counted twice. Nothing in it comes from
``os.environ`` or ``repr()`` of SDK objects: the profile has no credential keys (the loader rejects
them) and backends' ``describe()`` promises none.
"""

from __future__ import annotations

import csv
import importlib.metadata as md
import io
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import torch

from hqnn_core.errors import CheckpointError
from hqnn_core.training.checkpoints import atomic_write

RUN_JSON = "run.json"
METRICS_CSV = "metrics.csv"
FORMAT = "hqnn-run/1"
METRIC_COLUMNS = ["model", "epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "jobs", "circuits", "shots", "wall_time_s",
                  "grad_norm_quantum", "grad_norm_classical", "shot_noise", "state_fidelity"]  # the last four: hqnn_core.training.monitor
_PACKAGES = ("torch", "numpy", "scikit-learn", "scipy", "pydantic", "pluggy", "matplotlib", "pyyaml")


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def environment() -> dict[str, Any]:
    """Versions of hqnn, Python, the libraries and every plugin (as ``hqnn plugins`` lists them)."""
    import hqnn_core
    from hqnn_core.plugin_manager import get_plugins, hqnn_version

    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = md.version(name)
        except md.PackageNotFoundError:
            versions[name] = None
    return {
        "hqnn": hqnn_version(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": versions,
        "torch_threads": torch.get_num_threads(),
        "plugin_environment": get_plugins().environment_info(),
        "plugins": hqnn_core.list_plugins(),
    }


class RunRecord:
    """``run.json`` in memory, saved atomically; one section per trained model (``hybrid``, ``baseline``)."""

    def __init__(self, run_dir: str | Path, data: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.data = data

    @classmethod
    def load(cls, run_dir: str | Path) -> RunRecord:
        path = Path(run_dir) / RUN_JSON
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
        from hqnn_core.redaction import redact

        blob = json.dumps(redact(self.data), indent=2, allow_nan=False, sort_keys=False).encode()  # errors may echo credentials
        # crash-test hook (HQNN_TEST_KILL_AT=record:N): killed mid-write of the record holding N hybrid epochs
        atomic_write(self.run_dir / RUN_JSON, blob, mode=0o644, kill=("record", len((self.data.get("hybrid") or {}).get("epochs") or [])))
        self._write_metrics()

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

    def compare(self) -> None:
        """Put the hybrid and baseline test accuracies side by side (the honest question)."""
        hybrid = (self.data.get("hybrid") or {}).get("final") or {}
        baseline = (self.data.get("baseline") or {}).get("final") or {}
        if not hybrid or not baseline:
            self.data["comparison"] = None
            return
        self.data["comparison"] = {
            "hybrid_test_accuracy": hybrid["test_accuracy"],
            "baseline_test_accuracy": baseline["test_accuracy"],
            "accuracy_difference": hybrid["test_accuracy"] - baseline["test_accuracy"],
            "hybrid_parameters": (self.data.get("model") or {}).get("hybrid", {}).get("parameters"),
            "baseline_parameters": (self.data.get("model") or {}).get("baseline", {}).get("parameters"),
        }
