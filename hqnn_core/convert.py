"""Bring circuits from Qiskit, PennyLane and OpenQASM 3 into hqnn, and take neutral circuits back out.

The vendor halves are converters registered by the adapters (``hqnn_register_converters``), so
this module imports no SDK; a missing one raises :class:`~hqnn_core.errors.MissingExtraError`
naming the pip extra. Round trips preserve the prepared state up to a global phase.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hqnn_core.circuit import Circuit, Observable
from hqnn_core.plugin_manager import get_plugins


def _converter(name: str) -> Any:
    return get_plugins().converters.get(name)()


def from_qiskit(qc: Any, inputs: Iterable[Any] = (), weights: Iterable[Any] = (), observables: Sequence[Observable] | None = None) -> Circuit:
    """A Qiskit ``QuantumCircuit`` as a neutral circuit; ``inputs`` and ``weights`` are its ``Parameter`` or ``ParameterVector`` objects, in order."""
    return _converter("qiskit").to_neutral(qc, inputs=inputs, weights=weights, observables=observables)


def to_qiskit(circuit: Circuit) -> Any:
    """A Qiskit ``QuantumCircuit`` over ``ParameterVector("x")`` (inputs) and ``ParameterVector("w")`` (weights)."""
    return _converter("qiskit").from_neutral(circuit)


def from_qasm3(text: str, weights: Iterable[str] = (), observables: Sequence[Observable] | None = None) -> Circuit:
    """OpenQASM 3 text as a neutral circuit; ``input float`` parameters are inputs unless named in ``weights``."""
    return _converter("qasm3").to_neutral(text, weights=weights, observables=observables)


def to_qasm3(circuit: Circuit) -> str:
    """OpenQASM 3 text declaring the inputs ``x_i`` and weights ``w_j`` as ``input float[64]``."""
    return _converter("qasm3").from_neutral(circuit)


def from_pennylane(qnode_or_tape: Any, inputs: int | None = None, weight_shapes: Mapping[str, int | Sequence[int]] | None = None) -> Circuit:
    """A PennyLane QNode (called ``qnode(inputs, **weights)`` as TorchLayer does) or tape as a neutral circuit.

    ``inputs`` is the number of features; ``weight_shapes`` the QNode's weight arguments and shapes,
    whose entries become ``w[0], w[1], ...`` in order, each flattened row-major.
    """
    return _converter("pennylane").to_neutral(qnode_or_tape, inputs=inputs, weight_shapes=weight_shapes)


def to_pennylane(circuit: Circuit) -> Any:
    """A QNode on ``default.qubit`` called as ``qnode(inputs, weights)`` with the circuit's slot formulas as angles."""
    return _converter("pennylane").from_neutral(circuit)
