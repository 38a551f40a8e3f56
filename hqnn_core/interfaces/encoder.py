"""Encoders load classical features into a circuit through input slots."""

from __future__ import annotations

import torch

from hqnn_core.errors import InputError
from hqnn_core.interfaces.layout import EncoderLayout


class Encoder(EncoderLayout):
    """Adds gates whose angles read the (transformed) input features.

    The layer calls :meth:`transform` on each batch, then gives the circuit's input slots the
    columns of its result, so any differentiable preprocessing (products for IQP, rotation-tree
    angles for amplitude encoding) stays inside torch and gradients reach the inputs. The features
    and gates are declared by :class:`~hqnn_core.interfaces.layout.EncoderLayout`, which imports no torch.
    """

    def init_weights(self, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Initial encoder weights: ones, so a trainable scaling starts as the plain encoding."""
        return torch.ones(shape, dtype=dtype)

    def transform(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        """Map ``(B, n_features)`` inputs to ``(B, n_encoded)`` slot sources; identity by default."""
        return x

    def check_inputs(self, x: torch.Tensor, n_qubits: int) -> None:
        """Raise :class:`InputError` for values this encoding cannot represent (default: accept)."""

    def _require(self, ok: bool, message: str) -> None:
        if not ok:
            raise InputError(message)
