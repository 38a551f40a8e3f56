"""Squared maximum mean discrepancy between distributions over bit-strings, with a Gaussian kernel mixture.

The kernel is ``K(x, y) = mean_σ exp(-|x - y|² / (2σ²))`` on the bit vectors, so ``|x - y|²`` is
their Hamming distance (Liu & Wang 2018 train bars and stripes on this distance). A Gaussian of
the Hamming distance factorises over bits: ``K_σ = ⊗_i [[1, a], [a, 1]]`` with ``a = exp(-1/(2σ²))``.
``K v`` is therefore ``n`` two-term updates of the vector, ``O(n 2**n)``, and the ``2**n x 2**n``
matrix is never built, which keeps 16-bit images (65,536 outcomes) cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from hqnn_core.errors import ConfigError

#: The bandwidths of PennyLane's QCBM demo on bars and stripes (its ``[0.25, 0.5, 1]``).
DEFAULT_BANDWIDTHS = (0.25, 0.5, 1.0)


class MMD:
    """``MMD²(p, q) = (p - q)ᵀ K (p - q)`` for probability vectors over ``2**n_bits`` outcomes.

    With ``shots`` the first argument is a vector of sampled frequencies; the value is then the
    unbiased estimator (pairs of distinct shots only), while its gradient stays ``2 K (p̂ - q)``,
    which is unbiased when the frequencies and their Jacobian come from independent shots.
    """

    def __init__(self, n_bits: int, bandwidths: Sequence[float] = DEFAULT_BANDWIDTHS) -> None:
        bandwidths = tuple(float(s) for s in bandwidths)
        if not bandwidths or any(not math.isfinite(s) or s <= 0 for s in bandwidths):
            raise ConfigError(f"MMD bandwidths must be positive numbers, got {bandwidths!r}; e.g. [0.25, 0.5, 1.0].")
        self.n_bits, self.bandwidths = n_bits, bandwidths
        self.off_diagonal = tuple(math.exp(-1.0 / (2 * s * s)) for s in bandwidths)

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        """``K v`` for vectors ``v`` of shape ``(..., 2**n_bits)``."""
        out = torch.zeros_like(v)
        for a in self.off_diagonal:
            w = v.reshape(-1, *(2,) * self.n_bits)
            for axis in range(1, self.n_bits + 1):
                w = w + a * w.flip(axis)  # (I + a X) on this bit: [v0 + a v1, v1 + a v0]
            out = out + w.reshape(v.shape)
        return out / len(self.off_diagonal)

    def __call__(self, p: torch.Tensor, q: torch.Tensor, shots: int | None = None) -> torch.Tensor:
        diff = p - q
        value = (diff * self.apply(diff)).sum(-1)
        if shots is None or shots < 2:
            return value
        pkp = (p * self.apply(p)).sum(-1)
        unbiased_pkp = (shots * pkp - 1.0) / (shots - 1)  # drop the S self-pairs, each K(x, x) = 1
        return value + (unbiased_pkp - pkp).detach()
