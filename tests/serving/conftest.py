"""A small digits 0-vs-1 run with its classical baseline, trained once for the serving and drift tests."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

PROFILE = {
    "description": "small digits run with a baseline, for serving tests",
    "data": {"source": "digits", "classes": [0, 1], "pca": 4, "standardize": False, "angle_range": [0.0, 3.14159],
             "max_train": 64, "max_test": 40},
    "model": {"quantum": {"n_qubits": 4, "layers": 1}},
    "backend": {"name": "torch"},
    "train": {"optimizer": "adam", "lr": 0.1, "epochs": 5, "batch_size": 16, "seed": 3, "baseline": True},
    "output": {"plots": False},
}


@pytest.fixture(scope="session")
def served_run(tmp_path_factory):
    """The trained run's directory (hybrid test accuracy 0.975, baseline 1.0)."""
    from hqnn_core.training import train

    folder = tmp_path_factory.mktemp("serving")
    path = folder / "small.yaml"
    path.write_text(yaml.safe_dump(PROFILE, sort_keys=False))
    return train(path, out=folder / "run", quiet=True).run_dir


@pytest.fixture(scope="session")
def digits01():
    """Raw digits rows of classes 0 and 1 (pixels 0..16, as the data source stores them) and their labels."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    keep = np.isin(y, [0, 1])
    return x[keep], y[keep]
