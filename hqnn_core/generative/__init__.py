"""Generative models over bit-strings: a quantum circuit Born machine, a classical baseline, data and distances."""

from hqnn_core.generative.baseline import ProductBernoulli
from hqnn_core.generative.born import BornMachine
from hqnn_core.generative.distributions import (
    as_indices,
    bars_and_stripes,
    bits_of,
    divergences,
    empirical_distribution,
    kl_divergence,
    total_variation,
)
from hqnn_core.generative.mmd import DEFAULT_BANDWIDTHS, MMD

__all__ = [
    "DEFAULT_BANDWIDTHS",
    "MMD",
    "BornMachine",
    "ProductBernoulli",
    "as_indices",
    "bars_and_stripes",
    "bits_of",
    "divergences",
    "empirical_distribution",
    "kl_divergence",
    "total_variation",
]
