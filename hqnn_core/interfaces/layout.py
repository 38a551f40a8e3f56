"""The torch-free half of each component interface: its options and the shape of what it builds.

``hqnn validate`` and ``hqnn estimate`` need a component's options, the circuit an encoder and an
ansatz build, and how many rows a gradient rule sends per sample, not the torch code that runs
them. Each interface (:class:`~hqnn_core.interfaces.encoder.Encoder`, ...) extends its layout here,
and a registry entry may name a layout class by import string next to the component's own, so
that describing a model imports no torch (docs/architecture.md, deviation 11).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel

from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.component import Component

if TYPE_CHECKING:
    from hqnn_core.circuit import Circuit, CircuitBuilder


class EncoderLayout(Component):
    """How many features an encoding reads and the gates it adds (its torch half transforms the inputs)."""

    kind: ClassVar[str] = "encoder"
    #: When True the layer encodes again before every ansatz layer (data re-uploading).
    reupload: ClassVar[bool] = False

    @abstractmethod
    def n_features(self, n_qubits: int) -> int:
        """How many input features the layer must receive for ``n_qubits`` qubits."""

    def min_qubits(self) -> int:
        return 1

    def n_encoded(self, n_qubits: int) -> int:
        """Width of the transformed inputs (the input slots' source); default: the features."""
        return self.n_features(n_qubits)

    def weights_per_upload(self, n_qubits: int) -> int:
        """Trainable weights the encoding reads each time it runs (default 0: a fixed encoding).

        The layer keeps them in ``encoder_weights`` of shape ``(uploads, weights_per_upload)``; inside
        :meth:`add_ops`, ``builder.weight(j)`` is weight ``j`` of the current upload. Gate angles such
        as ``builder.input(i).times(builder.weight(j))`` make trainable input scalings.
        """
        return 0

    @abstractmethod
    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        """Append the encoding gates, reading ``builder.input(i)`` for encoded feature ``i``."""


class AnsatzLayout(Component):
    """How many weights a layer reads and the gates it adds (its torch half draws the initial weights)."""

    kind: ClassVar[str] = "ansatz"

    @abstractmethod
    def weights_per_layer(self, n_qubits: int) -> int:
        """How many angles one layer reads."""

    def min_qubits(self) -> int:
        return 1

    @abstractmethod
    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        """Append layer ``layer``'s gates, reading ``builder.weight(j)`` for ``j < weights_per_layer``."""


class GradientLayout(Component):
    """What a gradient rule needs of a backend and how many rows it evaluates per sample."""

    kind: ClassVar[str] = "gradient"
    through_backend: ClassVar[bool] = False
    higher_order: ClassVar[bool] = False

    def supported_by(self, capabilities: BackendCapabilities, shots: int | None) -> bool:
        """Whether a backend with ``capabilities`` can serve this rule at ``shots`` (default: any backend)."""
        return True

    def rows_per_sample(self, circuit: Circuit, trainable: Sequence[bool]) -> int | None:
        """Rows ``expand`` sends per input row for ``circuit`` with slots ``trainable``, counted without building them.

        ``None`` (the default) means "not known without expanding": a description then builds the model to count.
        """
        return None


class MitigatorLayout(Component):
    """A mitigator's name and options (its torch half expands and combines)."""

    kind: ClassVar[str] = "mitigator"


#: how an optimiser's epoch runs (see :mod:`hqnn_core.interfaces.optimizer`)
Stepping = Literal["gradient", "loss", "whole_set"]


class OptimizerLayout(Component):
    """How an optimiser's epoch runs and what a step costs (its torch half builds the stepping object)."""

    kind: ClassVar[str] = "optimizer"
    stepping: ClassVar[Stepping] = "gradient"

    @classmethod
    def gradient_free(cls) -> bool:
        """Only evaluates losses: the layer runs no gradient circuits, and ``backprop`` is never asked for."""
        return cls.stepping != "gradient"

    @classmethod
    def data_parallel(cls) -> bool:
        """Whether it can train under distributed data parallelism (DDP averages gradients; only ``gradient`` steps have any)."""
        return cls.stepping == "gradient"

    def evaluations_per_step(self, n_params: int) -> int:
        """Loss evaluations one step makes on its data (a torch step: one forward and backward pass).

        The shot budget divides ``train.shots_per_step`` among them, and estimates multiply by them.
        ``n_params`` counts the trainable parameters (an optimiser that visits each one needs it).
        """
        return 1

    def steps_per_epoch(self, n_batches: int, n_params: int) -> int:
        """The most steps one epoch makes: one per mini-batch, or a ``whole_set`` optimiser's cap on evaluations."""
        return n_batches


class BackendLayout(Component):
    """A backend's name, options and declared capabilities, readable without importing its simulator or SDK."""

    kind: ClassVar[str] = "backend"
    capabilities: ClassVar[BackendCapabilities]

    @classmethod
    def capabilities_for(cls, target: str | None, options: BaseModel) -> BackendCapabilities:
        """The capabilities a backend built from ``target`` and validated ``options`` will declare (default: the declared ones).

        The same question as ``Backend.capabilities_for``, answered without importing the backend:
        a layout whose backend refines its capabilities by target or options must refine them here too.
        """
        return cls.capabilities


__all__ = ["AnsatzLayout", "BackendLayout", "EncoderLayout", "GradientLayout", "MitigatorLayout", "OptimizerLayout", "Stepping"]
