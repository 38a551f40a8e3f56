"""Pure functions from the neutral IR to Amazon Braket objects (no simulator is run here).

A neutral :class:`~hqnn_core.circuit.Circuit` becomes ONE parametric ``braket.circuits.Circuit``
with a ``FreeParameter`` named ``hqnn_s<i>`` per slot, so every binding of a call reuses the same
program and only the inputs change. Conventions were checked gate by gate against the torch
reference (``tests/adapters/braket/test_translate.py``):

* Braket's ``rx/ry/rz/phaseshift/cphaseshift`` equal PennyLane's RX/RY/RZ/PhaseShift/CPhase, and
  ``xx/yy/zz(t)`` equal ``exp(-i t P⊗P / 2)`` = RXX/RYY/RZZ: no angle factors are needed.
* ``Rot(a, b, c) = RZ(c) RY(b) RZ(a)`` becomes ``rz(a); ry(b); rz(c)`` (time order).
* CRX/CRY/CRZ have no Braket gate that every device runs, so they are decomposed:
  ``CRZ(t) = rz_t(t/2) cnot rz_t(-t/2) cnot``, ``CRY`` likewise with ``ry``, and
  ``CRX = h_t CRZ h_t``. The angles are linear in the slot and the decomposition is exact, so the
  circuit is the same function of the slot value and the slot's own shift rule (four-term) stays
  valid for parameter-shift gradients.
* Braket, like hqnn, treats qubit 0 as the most significant bit of basis states and bitstrings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from braket.circuits import Circuit as BraketCircuit
from braket.circuits import FreeParameter, Noise
from braket.circuits import Observable as BraketObservable
from braket.circuits.gates import I as IdentityGate

from hqnn_core.circuit import Circuit
from hqnn_core.errors import CapabilityError
from hqnn_core.measurement import BASIS_ROTATIONS

PARAM_PREFIX = "hqnn_s"

Basis = tuple[tuple[int, str], ...]
_Writer = Callable[[BraketCircuit, tuple[int, ...], list[FreeParameter]], None]


def param_name(slot: int) -> str:
    """The FreeParameter name of slot ``slot`` (``hqnn_s<slot>``)."""
    return f"{PARAM_PREFIX}{slot}"


def _crz(bc: BraketCircuit, wires: tuple[int, ...], p: list[FreeParameter]) -> None:
    c, t = wires
    bc.rz(t, p[0] / 2).cnot(c, t).rz(t, -p[0] / 2).cnot(c, t)


def _cry(bc: BraketCircuit, wires: tuple[int, ...], p: list[FreeParameter]) -> None:
    c, t = wires
    bc.ry(t, p[0] / 2).cnot(c, t).ry(t, -p[0] / 2).cnot(c, t)


def _crx(bc: BraketCircuit, wires: tuple[int, ...], p: list[FreeParameter]) -> None:
    bc.h(wires[1])
    _crz(bc, wires, p)
    bc.h(wires[1])


def _rot(bc: BraketCircuit, wires: tuple[int, ...], p: list[FreeParameter]) -> None:
    bc.rz(wires[0], p[0]).ry(wires[0], p[1]).rz(wires[0], p[2])


def _fixed(method: str) -> _Writer:
    return lambda bc, wires, p: getattr(bc, method)(*wires)


def _angled(method: str) -> _Writer:
    return lambda bc, wires, p: getattr(bc, method)(*wires, p[0])


#: How each neutral gate is written in Braket. Every name in ``hqnn_core.circuit.GATES`` has an entry.
GATE_WRITERS: dict[str, _Writer] = {
    "I": _fixed("i"),
    "H": _fixed("h"),
    "X": _fixed("x"),
    "Y": _fixed("y"),
    "Z": _fixed("z"),
    "S": _fixed("s"),
    "Sdg": _fixed("si"),
    "T": _fixed("t"),
    "Tdg": _fixed("ti"),
    "SX": _fixed("v"),
    "CNOT": _fixed("cnot"),
    "CZ": _fixed("cz"),
    "SWAP": _fixed("swap"),
    "RX": _angled("rx"),
    "RY": _angled("ry"),
    "RZ": _angled("rz"),
    "PhaseShift": _angled("phaseshift"),
    "RXX": _angled("xx"),
    "RYY": _angled("yy"),
    "RZZ": _angled("zz"),
    "CPhase": _angled("cphaseshift"),
    "Rot": _rot,
    "CRX": _crx,
    "CRY": _cry,
    "CRZ": _crz,
}

#: The Braket operation names each neutral gate needs (to check a device's supportedOperations).
BRAKET_OPERATIONS: dict[str, frozenset[str]] = {
    "I": frozenset({"i"}), "H": frozenset({"h"}), "X": frozenset({"x"}), "Y": frozenset({"y"}), "Z": frozenset({"z"}),
    "S": frozenset({"s"}), "Sdg": frozenset({"si"}), "T": frozenset({"t"}), "Tdg": frozenset({"ti"}), "SX": frozenset({"v"}),
    "CNOT": frozenset({"cnot"}), "CZ": frozenset({"cz"}), "SWAP": frozenset({"swap"}),
    "RX": frozenset({"rx"}), "RY": frozenset({"ry"}), "RZ": frozenset({"rz"}), "PhaseShift": frozenset({"phaseshift"}),
    "RXX": frozenset({"xx"}), "RYY": frozenset({"yy"}), "RZZ": frozenset({"zz"}), "CPhase": frozenset({"cphaseshift"}),
    "Rot": frozenset({"rz", "ry"}), "CRX": frozenset({"h", "rz", "cnot"}), "CRY": frozenset({"ry", "cnot"}),
    "CRZ": frozenset({"rz", "cnot"}),
}


def supported_gates(operations: Sequence[str]) -> frozenset[str]:
    """Neutral gates whose Braket translation uses only ``operations`` (a device's supportedOperations)."""
    ops = {o.lower() for o in operations}
    return frozenset(g for g, needed in BRAKET_OPERATIONS.items() if needed <= ops)


def to_braket(circuit: Circuit, *, depolarizing: float = 0.0, readout_error: float = 0.0) -> BraketCircuit:
    """The neutral circuit as one parametric Braket circuit, without result types or measurements.

    Every wire is opened with an identity gate so that all ``n_qubits`` qubits exist in the
    program (Braket only counts qubits that are used) and measurements cover every wire in order.
    ``depolarizing`` adds a single-qubit depolarizing channel after every gate on each qubit it
    touches; ``readout_error`` adds a bit flip on every qubit at the end (before any measurement),
    both as Braket noise instructions (density-matrix simulators only).
    """
    params = [FreeParameter(param_name(i)) for i in range(circuit.n_slots)]
    body = BraketCircuit()
    for k, op in enumerate(circuit.ops):
        writer = GATE_WRITERS.get(op.name)
        if writer is None:  # pragma: no cover - GATES and GATE_WRITERS are kept in step by a test
            raise CapabilityError(f"op {k}: the Braket adapter has no translation for gate {op.name!r}.")
        writer(body, op.wires, [params[s] for s in op.slots])
    if depolarizing > 0 and body.instructions:
        gate_types = {type(ins.operator) for ins in body.instructions} - {IdentityGate}
        if gate_types:
            body.apply_gate_noise(Noise.Depolarizing(probability=depolarizing), target_gates=list(gate_types))
    if readout_error > 0:
        body.apply_readout_noise(Noise.BitFlip(probability=readout_error), target_qubits=list(range(circuit.n_qubits)))
    return BraketCircuit().i(range(circuit.n_qubits)).add_circuit(body)


def pauli_observable(paulis: Basis) -> BraketObservable:
    """The Braket tensor-product observable of a Pauli string such as ``((0, "Z"), (2, "X"))``."""
    factors = {"X": BraketObservable.X, "Y": BraketObservable.Y, "Z": BraketObservable.Z}
    obs = factors[paulis[0][1]]()
    for _, p in paulis[1:]:
        obs = obs @ factors[p]()
    return obs


def with_expectations(bc: BraketCircuit, terms: Sequence[Basis]) -> BraketCircuit:
    """A copy of ``bc`` with one expectation result type per Pauli string, in order (exact mode)."""
    out = bc.copy()
    for paulis in terms:
        out.expectation(pauli_observable(paulis), target=[w for w, _ in paulis])
    return out


#: Braket's instruction for each neutral gate of :data:`hqnn_core.measurement.BASIS_ROTATIONS`.
_ROTATION_GATES = {"H": "h", "Sdg": "si"}


def with_basis_rotation(bc: BraketCircuit, basis: Basis) -> BraketCircuit:
    """A copy of ``bc`` rotated so that measuring Z reads ``basis`` (the core plan's rotations)."""
    out = bc.copy()
    for w, p in basis:
        for gate in BASIS_ROTATIONS[p]:
            getattr(out, _ROTATION_GATES[gate])(w)
    return out
