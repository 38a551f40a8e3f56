"""Encoders load classical features into a circuit through input slots."""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar

import torch

from hqnn_core.circuit import CircuitBuilder
from hqnn_core.errors import InputError
from hqnn_core.interfaces.component import Component


class Encoder(Component):
    """Adds gates whose angles read the (transformed) input features.

    The layer calls :meth:`transform` on each batch, then gives the circuit's input slots the
    columns of its result, so any differentiable preprocessing (products for IQP, rotation-tree
    angles for amplitude encoding) stays inside torch and gradients reach the inputs.
    """

    kind: ClassVar[str] = "encoder"
    #: When True the layer encodes again before every ansatz layer (data re-uploading).
    reupload: ClassVar[bool] = False

    @abstractmethod
    def n_features(self, n_qubits: int) -> int:
        """How many input features the layer must receive for ``n_qubits`` qubits."""

    def min_qubits(self) -> int:
        return 1

    def n_encoded(self, n_qubits: int) -> int:
        """Width of :meth:`transform`'s output (the input slots' source); default: the features."""
        return self.n_features(n_qubits)

    def weights_per_upload(self, n_qubits: int) -> int:
        """Trainable weights the encoding reads each time it runs (default 0: a fixed encoding).

        The layer keeps them in ``encoder_weights`` of shape ``(uploads, weights_per_upload)``; inside
        :meth:`add_ops`, ``builder.weight(j)`` is weight ``j`` of the current upload. Gate angles such
        as ``builder.input(i).times(builder.weight(j))`` make trainable input scalings.
        """
        return 0

    def init_weights(self, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Initial encoder weights: ones, so a trainable scaling starts as the plain encoding."""
        return torch.ones(shape, dtype=dtype)

    def transform(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        """Map ``(B, n_features)`` inputs to ``(B, n_encoded)`` slot sources; identity by default."""
        return x

    def check_inputs(self, x: torch.Tensor, n_qubits: int) -> None:
        """Raise :class:`InputError` for values this encoding cannot represent (default: accept)."""

    @abstractmethod
    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        """Append the encoding gates, reading ``builder.input(i)`` for encoded feature ``i``."""

    def _require(self, ok: bool, message: str) -> None:
        if not ok:
            raise InputError(message)
