"""Bit-string data as distributions: the bars-and-stripes sets, outcome indices, and the distances reported.

Bit ``0`` of a string is the most significant bit of its outcome index, as wire 0 is in
:mod:`hqnn_core.measurement`, so a Born machine's outcome ``b`` is the string ``bits(b)``.
"""

from __future__ import annotations

import itertools

import numpy as np

from hqnn_core.errors import InputError

#: Model probabilities are floored here in the KL divergence, so a pattern the model never produces
#: gives a large finite value (``-log(1e-12)`` ≈ 27.6 per unit of data mass) instead of infinity.
KL_FLOOR = 1e-12


def bars_and_stripes(rows: int, cols: int) -> np.ndarray:
    """Every distinct bars-and-stripes image of ``rows x cols`` pixels, flattened row-major: ``(2**rows + 2**cols - 2, rows*cols)``.

    A stripe pattern colours whole rows, a bar pattern whole columns; the blank and the full image
    are both, and are listed once.
    """
    if min(rows, cols) < 1:
        raise InputError(f"bars_and_stripes needs rows and cols of at least 1, got {rows}x{cols}.")
    patterns = {tuple(np.repeat(np.array(r), cols)) for r in itertools.product((0, 1), repeat=rows)}
    patterns |= {tuple(np.tile(np.array(c), rows)) for c in itertools.product((0, 1), repeat=cols)}
    return np.array(sorted(patterns), dtype=np.uint8)


def bits_of(indices: np.ndarray, n_bits: int) -> np.ndarray:
    """Outcome indices ``(N,)`` as bit-strings ``(N, n_bits)`` (bit 0 the most significant)."""
    shifts = np.arange(n_bits - 1, -1, -1)
    return ((np.asarray(indices, dtype=np.int64)[:, None] >> shifts) & 1).astype(np.uint8)


def as_indices(X: np.ndarray, n_bits: int | None = None) -> tuple[np.ndarray, int]:
    """``(indices (N,), n_bits)`` from bit-strings ``(N, n_bits)`` or from integer indices ``(N,)`` (which need ``n_bits``)."""
    X = np.asarray(X)
    if X.ndim == 2:
        if n_bits is not None and X.shape[1] != n_bits:
            raise InputError(f"the data has {X.shape[1]} bits per sample but the model has n_bits={n_bits}; match them.")
        if not np.isin(X, (0, 1)).all():
            raise InputError("bit-string data must hold only 0 and 1; binarise it first (e.g. (X > 0).astype(int)).")
        n_bits = X.shape[1]
        return X.astype(np.int64) @ (1 << np.arange(n_bits - 1, -1, -1, dtype=np.int64)), n_bits
    if X.ndim == 1 and np.issubdtype(X.dtype, np.integer):
        if n_bits is None:
            raise InputError("integer outcome indices need n_bits (the number of bits per string); pass n_bits=... to the model.")
        if X.size and (X.min() < 0 or X.max() >= 2**n_bits):
            raise InputError(f"outcome indices must lie in 0..{2**n_bits - 1} for {n_bits} bits, got {X.min()}..{X.max()}.")
        return X.astype(np.int64), n_bits
    raise InputError(f"expected bit-strings of shape (N, n_bits) or integer indices of shape (N,), got {X.dtype} {X.shape}.")


def empirical_distribution(X: np.ndarray, n_bits: int | None = None) -> np.ndarray:
    """The data's outcome frequencies over all ``2**n_bits`` strings (float64, sums to 1)."""
    indices, n_bits = as_indices(X, n_bits)
    if not indices.size:
        raise InputError("the data is empty; a distribution needs at least one sample.")
    return np.bincount(indices, minlength=2**n_bits).astype(np.float64) / indices.size


def total_variation(p: np.ndarray, q: np.ndarray) -> float:
    """``max_A |p(A) - q(A)| = ½ Σ |p - q|``."""
    return 0.5 * float(np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum())


def kl_divergence(data: np.ndarray, model: np.ndarray) -> float:
    """``KL(data ‖ model) = Σ data log(data / model)`` over the data's support (model floored at :data:`KL_FLOOR`)."""
    data, model = np.asarray(data, dtype=np.float64), np.asarray(model, dtype=np.float64)
    support = data > 0
    return float(np.sum(data[support] * (np.log(data[support]) - np.log(np.maximum(model[support], KL_FLOOR)))))


def divergences(data: np.ndarray, model: np.ndarray) -> dict[str, float]:
    """The figures every generative model reports against its data: ``tvd`` and ``kl``."""
    return {"tvd": total_variation(data, model), "kl": kl_divergence(data, model)}
