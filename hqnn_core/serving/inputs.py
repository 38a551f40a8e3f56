"""New rows for ``hqnn predict`` and ``hqnn monitor``: an ``.npz`` (``X``, optional ``y``) or a ``.csv``.

Rows are raw features in the units the run's data source stores (digits pixels 0..16, MNIST 0..255,
a CSV's own columns); the run's fitted preprocessing turns them into model inputs. A CSV holds the
features, optionally followed by the label as its last column (told apart by the column count).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hqnn_core.errors import InputError
from hqnn_core.training.data import Preprocessing


@dataclass
class Rows:
    """Raw feature rows and, when the file has them, their raw labels."""

    x: np.ndarray
    y: np.ndarray | None
    source: str


def read_rows(path: str | Path, preprocessing: Preprocessing) -> Rows:
    """Read ``path`` and check its width against the run's raw features (InputError names the fix)."""
    p = Path(path)
    n = preprocessing.raw_features
    if not p.is_file():
        raise InputError(f"--data {p}: no such file; give an .npz (arrays X, optional y) or a .csv of {n} features (optional label last).")
    if p.suffix.lower() == ".npz":
        with np.load(p, allow_pickle=False) as npz:
            if "X" not in npz.files:
                raise InputError(f"--data {p}: the npz has arrays {sorted(npz.files)}; it needs X (rows of raw features) and optionally y (labels).")
            x = np.asarray(npz["X"], dtype=np.float64).reshape(len(npz["X"]), -1)
            y = np.asarray(npz["y"]).ravel() if "y" in npz.files else None
    elif p.suffix.lower() == ".csv":
        try:
            data = np.loadtxt(p, delimiter=",", dtype=np.float64, ndmin=2)
        except ValueError as e:
            raise InputError(f"--data {p}: not a numeric CSV ({e}); write one row per sample, features then an optional label, no header.") from None
        if data.shape[1] == n + 1:
            x, y = data[:, :n], data[:, n]
        else:
            x, y = data, None
    else:
        raise InputError(f"--data {p}: unknown file type {p.suffix or '(none)'!r}; use .npz (X, optional y) or .csv.")
    if x.shape[1] != n or len(x) == 0:
        raise InputError(f"--data {p}: {x.shape[1]} features in {len(x)} rows, but the run was trained on {n} raw features; "
                         f"give rows of {n} features (CSV: optionally the label as column {n + 1}).")
    if not np.all(np.isfinite(x)):
        raise InputError(f"--data {p}: the features hold NaN or infinite values; clean or drop those rows.")
    if y is not None and len(y) != len(x):
        raise InputError(f"--data {p}: {len(x)} rows but {len(y)} labels; give one label per row.")
    return Rows(x, y, str(p))
