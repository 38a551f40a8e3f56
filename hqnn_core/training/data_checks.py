"""Checks of raw data arrays, so that ``hqnn validate`` finds a bad file before any training batch does.

Each check raises one :class:`~hqnn_core.errors.ConfigError` naming the profile key, the file and
the row, and never quotes the file's content: ``data.path`` may point at anything (a password file
included), so a message says what shape or value is wrong, not what the file holds.

Image layout: a sample of shape ``(H, W)`` is one channel; ``(C, H, W)`` is channels-first (torch's
layout); ``(H, W, C)`` with ``C`` in 1..4 and ``H, W`` above 4 is channels-last (Keras' CIFAR-10) and
is moved to channels-first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hqnn_core.errors import ConfigError

#: most channels a trailing axis may have to be read as channels-last (grey, RGB, RGBA)
MAX_CHANNELS_LAST = 4


def image_layout(sample_shape: tuple[int, ...], where: str) -> tuple[tuple[int, int, int] | None, bool]:
    """``(C, H, W)`` of one sample (None for flat features) and whether its axes are channels-last."""
    if len(sample_shape) <= 1:
        return None, False
    if len(sample_shape) == 2:
        return (1, int(sample_shape[0]), int(sample_shape[1])), False
    if len(sample_shape) == 3:
        a, b, c = (int(s) for s in sample_shape)
        if c <= MAX_CHANNELS_LAST < min(a, b):
            return (c, a, b), True
        return (a, b, c), False
    raise ConfigError(
        f"{where}: samples have shape {tuple(sample_shape)}; use (N, features), (N, H, W) or (N, C, H, W) images."
    )


def check_features(x: np.ndarray, where: str) -> None:
    """Features must be real numbers, finite, with at least one sample."""
    if x.dtype.kind not in "biuf":
        raise ConfigError(f"{where}: holds {x.dtype} values; features must be numbers (int or float arrays).")
    if len(x) == 0:
        raise ConfigError(f"{where}: holds no samples; every split needs at least one row.")
    if x.dtype.kind == "f":
        finite = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
        if not finite.all():
            row = int(np.argmin(finite))
            raise ConfigError(
                f"{where}: row {row} (0-based) holds NaN or inf ({int((~finite).sum())} of {len(x)} rows do); remove or impute those rows."
            )


def check_labels(y: np.ndarray, n_samples: int, where: str) -> np.ndarray:
    """Labels as int64: a 1-D (or ``(N, 1)``) integer array, or floats that are whole numbers, one per sample."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ConfigError(f"{where}: labels have shape {y.shape}; give one integer class per sample, shape (N,).")
    if len(y) != n_samples:
        raise ConfigError(f"{where}: {len(y)} labels for {n_samples} samples; the features and labels must have the same length.")
    if y.dtype.kind in "biu":
        return y.astype(np.int64)
    if y.dtype.kind != "f":
        raise ConfigError(f"{where}: labels are {y.dtype} values; labels must be integer classes (map names to 0..K-1 first).")
    bad = ~(np.isfinite(y) & (y == np.round(y)))
    if bad.any():
        raise ConfigError(f"{where}: label at row {int(np.argmax(bad))} (0-based) is not a whole number; labels must be integer classes.")
    return y.astype(np.int64)


def _data_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, text)`` of the lines ``numpy.loadtxt`` reads as data (not blank, not ``#`` comments)."""
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        lines = [(i, line.split("#", 1)[0].strip()) for i, line in enumerate(fh, start=1)]
    return [(i, text) for i, text in lines if text]


def csv_problem(path: Path, labels_last: bool = False) -> str:
    """Where a csv stops being a table of finite numbers (and whole-number labels): the line and column, never the text."""
    width = None
    for line, text in _data_lines(path):
        cells = text.split(",")
        if width is None:
            width = len(cells)
        if len(cells) != width:
            return f"line {line} has {len(cells)} columns where the first data line has {width}"
        for column, cell in enumerate(cells, start=1):
            try:
                value = float(cell)
            except ValueError:
                return f"line {line}, column {column} is not a number (a header line, or text)"
            if not np.isfinite(value):
                return f"line {line}, column {column} is NaN or inf"
            if labels_last and column == width and value != round(value):
                return f"line {line}, column {column} (the label) is not a whole number"
    return "it holds no rows" if width is None else "it is not a table of numbers"


__all__ = ["MAX_CHANNELS_LAST", "check_features", "check_labels", "csv_problem", "image_layout"]
