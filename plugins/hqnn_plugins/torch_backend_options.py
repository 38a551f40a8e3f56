"""Options of the embedded torch backends (``torch`` and ``torch.noisy``), importable without torch.

Config-time tools (``hqnn validate``, the registry's option checks, the schema docs) read these models
without paying for ``import torch``; the backends in :mod:`hqnn_plugins.torch_backend` and
:mod:`hqnn_plugins.noisy_torch_backend` use them as their ``Options``. The two share precision and
seed (:class:`TorchSimulatorOptions`); each adds what only it has.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Precision = Literal["auto", "complex64", "complex128"]
DiffMethod = Literal["auto", "backprop", "adjoint", "autograd"]


class TorchSimulatorOptions(BaseModel):
    """What every embedded torch simulator takes: the complex precision and the shot seed."""

    model_config = ConfigDict(extra="forbid", strict=True)
    precision: Precision = Field("auto", description="auto: complex128 for float64 inputs, complex64 otherwise")
    seed: int | None = Field(None, description="base seed for shot sampling")


class StatevectorOptions(TorchSimulatorOptions):
    """Options of ``torch`` (the statevector simulator): how gradients flow."""

    diff_method: DiffMethod = Field(
        "auto",
        description="how gradients flow when slot values require grad (every mode gives exact higher-order derivatives): "
        "a reverse sweep over stored step states "
        "(backprop), one that keeps only the final state and undoes steps (adjoint: least memory), torch autograd "
        "through every step (autograd: slower), or backprop while it fits "
        "in memory, else adjoint (auto)",
    )


class DensityMatrixOptions(TorchSimulatorOptions):
    """Options of ``torch.noisy`` (the density-matrix simulator): its noise channels."""

    readout_error: float | list[float] | list[list[float]] = Field(
        0.0,
        description="bit flips at measurement: q (symmetric, every qubit), [p01, p10] (every qubit) or [[p01, p10], ...] per qubit",
    )
    depolarizing: float = Field(0.0, ge=0.0, le=0.75, description="single-qubit depolarizing probability after every gate, per wire")
    two_qubit_depolarizing: float = Field(0.0, ge=0.0, le=15 / 16, description="two-qubit depolarizing probability after every 2-qubit gate")
    amplitude_damping: float = Field(0.0, ge=0.0, le=1.0, description="amplitude-damping probability after every gate, per wire")

    @field_validator("readout_error")
    @classmethod
    def _probabilities(cls, value: Any) -> Any:
        flat = [value] if isinstance(value, (int, float)) else [x for v in value for x in (v if isinstance(v, list) else [v])]
        if isinstance(value, list) and not value:
            raise ValueError("readout_error is an empty list; write 0.0 for no readout error")
        if isinstance(value, list) and isinstance(value[0], (int, float)) and len(value) != 2:
            raise ValueError(f"readout_error {value} must be one number, a pair [p01, p10], or a list of pairs")
        if isinstance(value, list) and isinstance(value[0], list) and any(len(v) != 2 for v in value):
            raise ValueError(f"readout_error {value}: each per-qubit entry must be a pair [p01, p10]")
        if any(not 0.0 <= float(x) <= 1.0 for x in flat):
            raise ValueError(f"readout_error {value} has probabilities outside [0, 1]")
        return value
