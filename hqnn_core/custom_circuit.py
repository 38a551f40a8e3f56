"""A user's own circuit as a layer: its inputs and weights as the encoder and ansatz the layer expects.

``QuantumLayer(circuit=...)`` wraps a neutral circuit (written with :class:`CircuitBuilder`, or
converted from Qiskit or OpenQASM 3 by :mod:`hqnn_core.convert`) in these two components, so
everything built on encoders and ansätze (gradients, mitigation, run records, drawing) serves it
unchanged: the encoder hands feature ``i`` to the circuit's ``x[i]``, and the ansatz replays the
circuit's gates with its weights ``w[j]`` as one layer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.circuit import Circuit, CircuitBuilder, SlotRef
from hqnn_core.convert import from_pennylane, from_qasm3, from_qiskit
from hqnn_core.errors import ConfigError
from hqnn_core.interfaces import Ansatz, Encoder


def entries_read(circuit: Circuit, source: str) -> int:
    """How many ``source`` entries the circuit reads: one past the largest index (unread ones still count)."""
    return max(circuit.reads(source), default=-1) + 1  # type: ignore[arg-type]


def neutral_circuit(circuit: Any, inputs: Any = None, weights: Any = None, weight_shapes: Any = None) -> Circuit:
    """A neutral circuit from an hqnn circuit, a Qiskit ``QuantumCircuit``, a PennyLane QNode or OpenQASM 3 text."""
    if isinstance(circuit, Circuit):
        if inputs is not None or weights is not None:
            raise ConfigError("inputs= and weights= name a Qiskit circuit's parameters; an hqnn circuit already reads x[i] and w[j].")
        return circuit
    if isinstance(circuit, str):
        if inputs is not None:
            raise ConfigError("with OpenQASM 3 text, every `input float` is an input except those named in weights=[...].")
        return from_qasm3(circuit, weights=weights or ())
    module = type(circuit).__module__
    if module.startswith("qiskit"):
        if inputs is None and weights is None:
            raise ConfigError("a Qiskit circuit needs inputs=[...] and weights=[...]: its Parameters or ParameterVectors, in order.")
        return from_qiskit(circuit, inputs=inputs or (), weights=weights or ())
    if module.startswith("pennylane"):
        if not isinstance(weight_shapes, Mapping) or isinstance(inputs, bool) or not isinstance(inputs, int):
            raise ConfigError("a PennyLane QNode needs inputs=<number of features> and weight_shapes={name: shape}, as TorchLayer does.")
        return from_pennylane(circuit, inputs=inputs, weight_shapes=weight_shapes)
    raise ConfigError(
        f"circuit= takes an hqnn Circuit, a Qiskit QuantumCircuit, a PennyLane QNode or OpenQASM 3 text, got {type(circuit).__name__}."
    )


def layer_weight_shape(weight_shapes: Any) -> tuple[int, ...] | None:
    """The layer's weight tensor shape: the user's shape, a QNode's single weight's shape, or flat for several."""
    if weight_shapes is None:
        return None
    if isinstance(weight_shapes, Mapping):
        shapes = [(s,) if isinstance(s, int) else tuple(s) for s in weight_shapes.values()]
        return shapes[0] if len(shapes) == 1 else (sum(math.prod(s) for s in shapes),)
    return (weight_shapes,) if isinstance(weight_shapes, int) else tuple(weight_shapes)


class CircuitInputs(Encoder):
    """The features of a user's circuit as they are: feature ``i`` is the circuit's ``x[i]``."""

    name = "circuit_inputs"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        n_inputs: int = Field(ge=0, description="features the circuit reads")

    def n_features(self, n_qubits: int) -> int:
        return int(self.options.n_inputs)

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        """Nothing: the circuit's own gates read the inputs (see :class:`CircuitAnsatz`)."""


class CircuitAnsatz(Ansatz):
    """A user's circuit replayed as one layer: its gates, reading its inputs and weights."""

    name = "circuit"
    circuit: ClassVar[Circuit | None] = None

    def __init__(self, circuit: Circuit, **options: Any) -> None:
        super().__init__(**options)
        self.circuit = circuit  # type: ignore[misc]  # per instance: the circuit is what this ansatz is

    def weights_per_layer(self, n_qubits: int) -> int:
        assert self.circuit is not None
        return entries_read(self.circuit, "weight")

    def min_qubits(self) -> int:
        assert self.circuit is not None
        return self.circuit.n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        assert self.circuit is not None
        if layer:
            raise ConfigError("a circuit given as circuit= is one layer; leave layers at 1.")
        for op in self.circuit.ops:
            angles = [SlotRef(s.source, s.index, s.coeff, s.offset, s.factors) for s in (self.circuit.slots[i] for i in op.slots)]
            builder.add(op.name, [wires[w] for w in op.wires], *angles)
