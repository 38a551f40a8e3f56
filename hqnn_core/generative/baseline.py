"""Classical baselines with the Born machine's API, so every report sets the quantum model beside one."""

from __future__ import annotations

import numpy as np

from hqnn_core.errors import ConfigError
from hqnn_core.generative.distributions import as_indices, bits_of, divergences, empirical_distribution


class ProductBernoulli:
    """Independent bits, each with the data's frequency of ones (the maximum-likelihood product distribution).

    It captures every pixel's marginal and no correlation, so on bars and stripes (where the pixels
    of a row or column agree) it spreads its mass far beyond the patterns: the gap to the Born
    machine is the value of modelling correlations.
    """

    def __init__(self, n_bits: int | None = None, seed: int | None = None) -> None:
        self.n_bits, self.seed = n_bits, seed
        self.marginals: np.ndarray | None = None
        self.data_distribution: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> ProductBernoulli:
        indices, self.n_bits = as_indices(X, self.n_bits)
        self.marginals = bits_of(indices, self.n_bits).mean(axis=0)
        self.data_distribution = empirical_distribution(X, self.n_bits)
        return self

    def _fitted(self) -> tuple[np.ndarray, int]:
        if self.marginals is None or self.n_bits is None:
            raise ConfigError("the baseline is not fitted; call fit(X) first.")
        return self.marginals, self.n_bits

    def probabilities(self) -> np.ndarray:
        """``Π_i q_i^{x_i} (1 - q_i)^{1 - x_i}`` for every string ``x`` (bit 0 the most significant)."""
        q, n_bits = self._fitted()
        out = np.ones(1)
        for qi in q:  # outer product bit by bit, most significant first
            out = np.outer(out, [1 - qi, qi]).ravel()
        return out

    def sample(self, n: int, seed: int | None = None) -> np.ndarray:
        q, n_bits = self._fitted()
        rng = np.random.default_rng(self.seed if seed is None else seed)
        return (rng.random((n, n_bits)) < q).astype(np.uint8)

    def score(self, X: np.ndarray | None = None) -> dict[str, float]:
        data = self.data_distribution if X is None else empirical_distribution(X, self.n_bits)
        assert data is not None
        return divergences(data, self.probabilities())
