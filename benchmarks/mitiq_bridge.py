"""Neutral ``Circuit`` <-> Cirq, so Mitiq can fold hqnn's circuits and hqnn's backends can run the folds.

The benchmark's Mitiq column must differ from hqnn's ``zne`` only in the folding and extrapolation
code: Mitiq folds a Cirq copy of the circuit (angles bound), and the executor converts each folded
Cirq circuit back into a neutral :class:`~hqnn_core.circuit.Circuit` (angles as const slots) that
runs on the same hqnn backend with the same noise. Lives in ``benchmarks/``: Mitiq is a
comparison, never a dependency of hqnn. Import after ``cirq`` is importable.

Conventions match: ``LineQubit(w)`` is wire ``w`` (Cirq also orders qubits most significant
first) and ``cirq.rx(t) = exp(-i t X / 2)`` like the neutral ``RX``. Gates coming back are
matched up to a global phase (``S`` returns as ``RZ(pi/2)``), which no expectation can see.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import cirq
import torch

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable
from hqnn_core.errors import CapabilityError

_FIXED = {"I": cirq.I, "H": cirq.H, "X": cirq.X, "Y": cirq.Y, "Z": cirq.Z, "S": cirq.S, "Sdg": cirq.S**-1, "T": cirq.T,
          "Tdg": cirq.T**-1, "SX": cirq.XPowGate(exponent=0.5), "CNOT": cirq.CNOT, "CZ": cirq.CZ, "SWAP": cirq.SWAP}
_ROTATION: dict[str, Callable[[float], cirq.Gate]] = {
    "RX": cirq.rx, "RY": cirq.ry, "RZ": cirq.rz,
    "PhaseShift": lambda t: cirq.ZPowGate(exponent=t / math.pi),
    "RXX": lambda t: cirq.XXPowGate(exponent=t / math.pi, global_shift=-0.5),
    "RYY": lambda t: cirq.YYPowGate(exponent=t / math.pi, global_shift=-0.5),
    "RZZ": lambda t: cirq.ZZPowGate(exponent=t / math.pi, global_shift=-0.5),
    "CRX": lambda t: cirq.ControlledGate(cirq.rx(t)), "CRY": lambda t: cirq.ControlledGate(cirq.ry(t)),
    "CRZ": lambda t: cirq.ControlledGate(cirq.rz(t)),
    "CPhase": lambda t: cirq.CZPowGate(exponent=t / math.pi),
}
# Cirq gate families (any exponent) -> neutral gate taking the angle pi * exponent (equal up to phase).
_POW = [(cirq.XPowGate, "RX"), (cirq.YPowGate, "RY"), (cirq.ZPowGate, "RZ"), (cirq.XXPowGate, "RXX"),
        (cirq.YYPowGate, "RYY"), (cirq.ZZPowGate, "RZZ"), (cirq.CZPowGate, "CPhase")]
_SELF_INVERSE = [(cirq.HPowGate, "H"), (cirq.CXPowGate, "CNOT"), (cirq.SwapPowGate, "SWAP")]
_CONTROLLED = {cirq.XPowGate: "CRX", cirq.YPowGate: "CRY", cirq.ZPowGate: "CRZ"}


def to_cirq(circuit: Circuit, angles: Sequence[float] | torch.Tensor) -> cirq.Circuit:
    """``circuit`` with one row of slot values bound, as a Cirq circuit on ``LineQubit(0..n-1)``."""
    values = [float(v) for v in (angles.detach().reshape(-1).tolist() if isinstance(angles, torch.Tensor) else angles)]
    if len(values) != circuit.n_slots:
        raise CapabilityError(f"to_cirq needs {circuit.n_slots} slot values, got {len(values)}; pass one row of layer.slot_values(x).")
    q = cirq.LineQubit.range(circuit.n_qubits)
    ops = []
    for op in circuit.ops:
        qubits = [q[w] for w in op.wires]
        if op.name in _FIXED:
            ops.append(_FIXED[op.name].on(*qubits))
        elif op.name in _ROTATION:
            ops.append(_ROTATION[op.name](values[op.slots[0]]).on(*qubits))
        elif op.name == "Rot":  # Rot(a, b, c) = RZ(c) RY(b) RZ(a): RZ(a) acts first
            a, b, c = (values[s] for s in op.slots)
            ops += [cirq.rz(a).on(*qubits), cirq.ry(b).on(*qubits), cirq.rz(c).on(*qubits)]
        else:
            raise CapabilityError(f"to_cirq has no Cirq form for gate {op.name!r}; add it to benchmarks/mitiq_bridge.py.")
    return cirq.Circuit(ops)


def _neutral(gate: cirq.Gate) -> tuple[str, float | None]:
    """The neutral gate name and angle (``None`` when it has none) of one Cirq gate, up to global phase."""
    for cls, name in _SELF_INVERSE:  # before the Pow families: CXPowGate is not a CZPowGate, but be explicit
        if isinstance(gate, cls):
            if abs(gate.exponent) % 2 != 1:  # type: ignore[attr-defined]
                break
            return name, None
    if isinstance(gate, cirq.ControlledGate) and gate.num_controls() == 1:
        sub = gate.sub_gate
        for cls, name in _CONTROLLED.items():  # only exp(-i t P / 2) (cirq.rx etc.): a control makes phases visible
            if isinstance(sub, cls) and getattr(sub, "global_shift", None) == -0.5:
                return name, math.pi * float(sub.exponent)
    for cls, name in _POW:
        if isinstance(gate, cls) and not isinstance(gate, cirq.CXPowGate):
            return name, math.pi * float(gate.exponent)  # type: ignore[attr-defined]
    if isinstance(gate, cirq.IdentityGate) and gate.num_qubits() == 1:
        return "I", None
    raise CapabilityError(f"from_cirq cannot map Cirq gate {gate!r} to a neutral gate; add it to benchmarks/mitiq_bridge.py.")


def from_cirq(circuit: cirq.Circuit, n_qubits: int, observables: Sequence[Observable]) -> Circuit:
    """A neutral circuit whose angles are const slots (``LineQubit(w)`` -> wire ``w``), gate by gate."""
    builder = CircuitBuilder(n_qubits)
    for op in circuit.all_operations():
        if cirq.is_measurement(op):
            continue
        if op.gate is None or not all(isinstance(q, cirq.LineQubit) for q in op.qubits):
            raise CapabilityError(f"from_cirq needs gate operations on LineQubits, got {op!r}.")
        name, angle = _neutral(op.gate)
        builder.add(name, [q.x for q in op.qubits], *(() if angle is None else (angle,)))
    return builder.build(observables)


def const_row(circuit: Circuit) -> torch.Tensor:
    """The ``[1, n_slots]`` slot values of a circuit whose slots are all constants (from :func:`from_cirq`)."""
    return torch.tensor([[s.offset for s in circuit.slots]], dtype=torch.float64)


class BackendExecutor:
    """Mitiq executors for ``<observable k>`` running folded Cirq circuits on one hqnn backend.

    A folded circuit is run once for all observables (like hqnn's ``zne``, one set of shots gives
    every output) and cached, so the per-output Mitiq calls do not resubmit it.
    """

    def __init__(self, backend, n_qubits: int, observables: Sequence[Observable], shots: int | None) -> None:
        self.backend, self.n_qubits, self.observables, self.shots = backend, n_qubits, tuple(observables), shots
        self._cache: dict[Circuit, torch.Tensor] = {}

    def values(self, folded: cirq.Circuit) -> torch.Tensor:
        neutral = from_cirq(folded, self.n_qubits, self.observables)
        if neutral not in self._cache:
            self._cache[neutral] = self.backend.expectations(neutral, const_row(neutral), shots=self.shots)[0]
        return self._cache[neutral]

    def for_output(self, k: int) -> Callable[[cirq.Circuit], float]:
        return lambda folded: float(self.values(folded)[k])
