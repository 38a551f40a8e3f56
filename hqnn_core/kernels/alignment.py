"""Kernel-target alignment (Cristianini et al. 2001) and a loop that trains a feature map by it.

``A(K, y) = <K, T>_F / (||K||_F ||T||_F)`` with the ideal kernel ``T[i, j] = 1`` for equal labels
and ``-1/(C-1)`` otherwise (``y yᵀ`` for ±1 labels). Raising it makes the kernel separate the
classes before any SVC is fitted (Hubregtsen et al. 2022, arXiv:2105.02276).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hqnn_core.errors import ConfigError, InputError
from hqnn_core.kernels.base import QuantumKernelBase


def _ideal_kernel(y: Any, n: int) -> torch.Tensor:
    labels = np.asarray(y).reshape(-1)
    if labels.shape[0] != n:
        raise InputError(f"y has {labels.shape[0]} labels for a {n}x{n} kernel matrix; pass one label per sample.")
    classes, codes = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise InputError(f"kernel-target alignment needs at least two classes in y, got {classes.tolist()}.")
    same = torch.as_tensor(codes[:, None] == codes[None, :])
    return torch.where(same, 1.0, -1.0 / (len(classes) - 1)).double()


def kernel_target_alignment(K: torch.Tensor, y: Any) -> torch.Tensor:
    """The alignment of a (differentiable) square kernel matrix ``K`` with the labels ``y``, in [-1, 1]."""
    if K.ndim != 2 or K.shape[0] != K.shape[1]:
        raise InputError(f"kernel_target_alignment takes a square Gram matrix, got shape {tuple(K.shape)}.")
    T = _ideal_kernel(y, K.shape[0]).to(K.device)
    K = K.double()
    return (K * T).sum() / (K.norm() * T.norm())


def fit_alignment(kernel: QuantumKernelBase, X: Any, y: Any, epochs: int = 50, lr: float = 0.05, batch_size: int | None = None,
                  seed: int | None = None) -> list[float]:
    """Train ``kernel``'s feature-map weights by Adam on ``1 - alignment``; returns the alignment before each step.

    ``batch_size`` subsamples the points each step (the matrix costs ``batch_size²`` entries); ``None`` uses all.
    """
    params = list(kernel.parameters())
    if not params:
        raise ConfigError("the kernel's feature map has no trainable weights; give it ansatz=... (or a circuit reading w[j]) to train it.")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}.")
    data, labels = np.asarray(X, dtype=np.float64), np.asarray(y)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 2):
        raise ConfigError(f"batch_size must be an integer of at least 2 (or None for all points), got {batch_size!r}.")
    rng = np.random.default_rng(seed)
    optimizer = torch.optim.Adam(params, lr=lr)
    history = []
    for _ in range(epochs):
        pick = np.arange(len(data)) if batch_size is None or batch_size >= len(data) else rng.choice(len(data), batch_size, replace=False)
        optimizer.zero_grad()
        alignment = kernel_target_alignment(kernel.gram(data[pick]), labels[pick])
        (1 - alignment).backward()
        optimizer.step()
        history.append(float(alignment.detach()))
    return history
