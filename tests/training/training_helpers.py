"""Helpers for the training tests: small profiles, weight comparison, running the CLI in a fresh process."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DATASETS = REPO.parent / "shared" / "datasets"

SMALL = {
    "description": "small digits run for tests",
    "data": {"source": "digits", "classes": [0, 1], "pca": 4, "standardize": False, "angle_range": [0.0, 3.14159],
             "max_train": 64, "max_test": 40},
    "model": {"quantum": {"n_qubits": 4, "layers": 1}},
    "backend": {"name": "torch"},
    "train": {"optimizer": "adam", "lr": 0.05, "epochs": 4, "batch_size": 16, "seed": 3, "baseline": False},
}


def write_profile(folder: Path, name: str = "small.yaml", **sections) -> Path:
    """SMALL with sections updated key by key (``train={"epochs": 2}``), written as YAML."""
    data = copy.deepcopy(SMALL)
    for section, values in sections.items():
        if isinstance(values, dict) and isinstance(data.get(section), dict):
            data[section].update(values)
        else:
            data[section] = values
    data.setdefault("output", {})["runs_dir"] = str(folder / "runs")
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def load_state(path: Path) -> dict:
    return torch.load(path, weights_only=True)


def assert_same_weights(a: Path, b: Path) -> None:
    sa, sb = load_state(a), load_state(b)
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """``python -m hqnn_core ARGS`` in a fresh process (built-in plugins only)."""
    full_env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg", **(env or {})}
    return subprocess.run([sys.executable, "-m", "hqnn_core", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout)
