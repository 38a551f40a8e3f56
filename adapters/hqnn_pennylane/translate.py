"""Pure functions from hqnn's neutral circuit to PennyLane operators and broadcast tapes.

:func:`translate` runs once per circuit (the backend caches it); :func:`to_tape` runs once per call
and only creates the parametrised operators, each holding a whole column of slot values so that
one tape carries every binding (PennyLane parameter broadcasting). Both libraries use the same
gate conventions and wire order (wire 0 is the most significant bit), so the mapping is one to one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pennylane as qml
from pennylane.operation import Operator

from hqnn_core.circuit import Circuit, Observable
from hqnn_core.errors import CapabilityError
from hqnn_core.measurement import BASIS_ROTATIONS, MeasurementPlan

#: Neutral gates with angles -> PennyLane classes taking ``(*angles, wires=...)``.
PARAMETRIC: dict[str, type[Operator]] = {
    "RX": qml.RX,
    "RY": qml.RY,
    "RZ": qml.RZ,
    "PhaseShift": qml.PhaseShift,
    "Rot": qml.Rot,  # Rot(a, b, c) = RZ(c) RY(b) RZ(a) in both libraries
    "RXX": qml.IsingXX,
    "RYY": qml.IsingYY,
    "RZZ": qml.IsingZZ,
    "CRX": qml.CRX,
    "CRY": qml.CRY,
    "CRZ": qml.CRZ,
    "CPhase": qml.ControlledPhaseShift,
}

#: Neutral gates without angles -> a factory of the PennyLane operator on ``wires``.
FIXED: dict[str, Callable[[Sequence[int]], Operator]] = {
    "I": lambda w: qml.Identity(w),
    "H": lambda w: qml.Hadamard(w),
    "X": lambda w: qml.PauliX(w),
    "Y": lambda w: qml.PauliY(w),
    "Z": lambda w: qml.PauliZ(w),
    "S": lambda w: qml.S(w),
    "Sdg": lambda w: qml.adjoint(qml.S(w)),
    "T": lambda w: qml.T(w),
    "Tdg": lambda w: qml.adjoint(qml.T(w)),
    "SX": lambda w: qml.SX(w),
    "CNOT": lambda w: qml.CNOT(w),
    "CZ": lambda w: qml.CZ(w),
    "SWAP": lambda w: qml.SWAP(w),
}

_PAULI: dict[str, type[Operator]] = {"X": qml.PauliX, "Y": qml.PauliY, "Z": qml.PauliZ}


@dataclass(frozen=True)
class Step:
    """One operation of a translated circuit: a fixed operator, or a class filled from slot columns."""

    op: Operator | None
    cls: type[Operator] | None
    wires: tuple[int, ...]
    slots: tuple[int, ...]


@dataclass(frozen=True)
class Translation:
    """A circuit ready to become tapes: its steps and its (parameter-free) observables."""

    n_wires: int
    steps: tuple[Step, ...]
    observables: tuple[Operator, ...]


def observable(obs: Observable) -> Operator:
    """A neutral observable as a PennyLane operator: a Pauli word, or ``qml.Hamiltonian`` of words."""
    words: list[Operator] = []
    coeffs: list[float] = []
    for term in obs.terms:
        factors = [_PAULI[p](w) for w, p in term.paulis]
        if not factors:  # identity term: a constant; any wire of the circuit carries it
            word: Operator = qml.Identity(0)
        elif len(factors) == 1:
            word = factors[0]
        else:
            word = qml.prod(*factors)
        words.append(word)
        coeffs.append(float(term.coeff))
    if len(words) == 1 and coeffs[0] == 1.0:
        return words[0]
    return qml.Hamiltonian(coeffs, words)


def translate(circuit: Circuit, depolarizing: float = 0.0, readout: float = 0.0) -> Translation:
    """Translate ``circuit`` once; optional noise channels make it a noisy (mixed-state) program.

    Args:
        circuit: the neutral circuit.
        depolarizing: probability ``p`` of a ``DepolarizingChannel(p)`` on every wire a gate touches,
            after that gate.
        readout: symmetric readout-error probability ``q`` (each measured bit flips with probability
            ``q``, in whichever basis it is measured). Modelled as ``DepolarizingChannel(3q/2)`` on
            every wire just before measurement: that channel scales each single-qubit Pauli by
            ``1 - 2q``, which gives exactly the outcome distribution of a bit flipped with
            probability ``q`` in any Pauli basis.

    Raises:
        CapabilityError: a gate has no PennyLane counterpart (cannot happen for the neutral set).
    """
    steps: list[Step] = []
    for op in circuit.ops:
        if op.name in PARAMETRIC:
            steps.append(Step(None, PARAMETRIC[op.name], op.wires, op.slots))
        elif op.name in FIXED:
            steps.append(Step(FIXED[op.name](list(op.wires)), None, op.wires, ()))
        else:  # pragma: no cover - GATES and these tables are kept in step by tests
            raise CapabilityError(
                f"gate {op.name!r} has no PennyLane translation; supported: {sorted(PARAMETRIC) + sorted(FIXED)}."
            )
        if depolarizing:
            steps.extend(Step(qml.DepolarizingChannel(depolarizing, wires=w), None, (w,), ()) for w in op.wires)
    if readout:
        steps.extend(Step(qml.DepolarizingChannel(1.5 * readout, wires=w), None, (w,), ()) for w in range(circuit.n_qubits))
    return Translation(circuit.n_qubits, tuple(steps), tuple(observable(o) for o in circuit.observables))


def operations(translation: Translation, columns: Sequence[Any]) -> list[Operator]:
    """The tape's operators, with slot ``s`` taking ``columns[s]`` (an array of N values, or a scalar)."""
    ops: list[Operator] = []
    for step in translation.steps:
        if step.op is not None:
            ops.append(step.op)
        else:
            assert step.cls is not None
            ops.append(step.cls(*(columns[s] for s in step.slots), wires=list(step.wires)))
    return ops


def to_tape(translation: Translation, columns: Sequence[Any], shots: int | None = None) -> qml.tape.QuantumScript:
    """One (broadcast) tape evaluating every binding given by ``columns``; ``shots`` per binding.

    Measurement processes are made fresh per tape because PennyLane's samplers rewrite them in place.
    """
    measurements = [qml.expval(o) for o in translation.observables]
    return qml.tape.QuantumScript(operations(translation, columns), measurements, shots=shots)


def to_sample_tapes(translation: Translation, columns: Sequence[Any], shots: int, plan: MeasurementPlan) -> list[qml.tape.QuantumScript]:
    """One (broadcast) tape per measurement setting of the core plan, rotated and sampled on every wire.

    The terms of a setting are then read from its samples (``plan.term_values_from_bits``), which is
    the shot semantics of every hqnn backend: S samples per binding and setting, shared by its terms.
    Noise channels are unitarily invariant, so rotating after them equals rotating before them.
    """
    tapes = []
    for setting in plan.settings:
        rotations = [FIXED[gate]([w]) for w, pauli in setting.basis for gate in BASIS_ROTATIONS[pauli]]
        ops = operations(translation, columns) + rotations
        tapes.append(qml.tape.QuantumScript(ops, [qml.sample(wires=list(range(translation.n_wires)))], shots=shots))
    return tapes
