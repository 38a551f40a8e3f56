"""Ansätze add trainable gates that read weight slots."""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import ClassVar

import torch

from hqnn_core.circuit import CircuitBuilder
from hqnn_core.interfaces.component import Component


class Ansatz(Component):
    """A layered trainable circuit; the layer calls :meth:`add_layer` once per layer.

    Weights are stored as a ``(layers, weights_per_layer)`` tensor; inside :meth:`add_layer`,
    ``builder.weight(j)`` refers to weight ``j`` of the current layer.
    """

    kind: ClassVar[str] = "ansatz"

    @abstractmethod
    def weights_per_layer(self, n_qubits: int) -> int:
        """How many angles one layer reads."""

    def min_qubits(self) -> int:
        return 1

    @abstractmethod
    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        """Append layer ``layer``'s gates, reading ``builder.weight(j)`` for ``j < weights_per_layer``."""

    def init_weights(self, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Initial angles, uniform in [0, 2π) drawn from ``generator`` so a seed fixes them."""
        return torch.rand(shape, generator=generator, dtype=dtype) * (2 * math.pi)
