"""Ansätze add trainable gates that read weight slots."""

from __future__ import annotations

import math

import torch

from hqnn_core.interfaces.layout import AnsatzLayout


class Ansatz(AnsatzLayout):
    """A layered trainable circuit; the layer calls :meth:`add_layer` once per layer.

    Weights are stored as a ``(layers, weights_per_layer)`` tensor; inside :meth:`add_layer`,
    ``builder.weight(j)`` refers to weight ``j`` of the current layer. The weights and gates are
    declared by :class:`~hqnn_core.interfaces.layout.AnsatzLayout`, which imports no torch.
    """

    def init_weights(self, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Initial angles, uniform in [0, 2π) drawn from ``generator`` so a seed fixes them."""
        return torch.rand(shape, generator=generator, dtype=dtype) * (2 * math.pi)
