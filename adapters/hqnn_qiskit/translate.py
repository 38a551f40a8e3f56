"""Pure translations between hqnn's neutral circuits and Qiskit objects (no simulator runs here).

Conventions that matter:

* Wire ``w`` of a neutral circuit is Qiskit qubit ``w``. Gates do not care about bit order, but
  Qiskit writes basis states and Pauli labels little-endian (qubit 0 is the *rightmost* character
  of ``"IZ"`` and the lowest bit of a measured integer) while hqnn's wire 0 is the most significant
  bit. Observables are therefore built from ``(pauli, [qubit])`` lists, never from hand-written
  label strings, and measured bits are read by clbit index.
* Every slot becomes element ``slot`` of one :class:`~qiskit.circuit.ParameterVector`. Slot values
  already include the affine map ``coeff * source + offset``, so a gate's angle *is* its slot value
  and every binding is just a row of the ``[N, n_slots]`` array the backend receives.
* Gate conventions are PennyLane's, which match Qiskit's (``rx(t) = exp(-i t X / 2)``,
  ``cp(t) = diag(1, 1, 1, e^{it})``, ...); ``Rot(a, b, c) = RZ(c) RY(b) RZ(a)`` is emitted as
  ``rz(a)``, ``ry(b)``, ``rz(c)`` in time order.

Translations are cached by circuit (neutral circuits are immutable and hashable); callers must not
mutate the returned Qiskit objects (copy them first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Pauli, SparsePauliOp

from hqnn_core.caching import TranslationCache
from hqnn_core.circuit import Circuit, Observable
from hqnn_core.measurement import BASIS_ROTATIONS, Basis, MeasurementPlan

PARAMETER_NAME = "s"
#: Translations kept per cache (a layer uses one circuit; the bound is for odd workloads).
MAX_CACHED_CIRCUITS = 256

#: neutral gate name -> how to append it to a QuantumCircuit (``qc``, qubits, angle parameters).
_EMIT: dict[str, Callable[[QuantumCircuit, tuple[int, ...], list[Any]], object]] = {
    "I": lambda qc, q, a: qc.id(q[0]),
    "H": lambda qc, q, a: qc.h(q[0]),
    "X": lambda qc, q, a: qc.x(q[0]),
    "Y": lambda qc, q, a: qc.y(q[0]),
    "Z": lambda qc, q, a: qc.z(q[0]),
    "S": lambda qc, q, a: qc.s(q[0]),
    "Sdg": lambda qc, q, a: qc.sdg(q[0]),
    "T": lambda qc, q, a: qc.t(q[0]),
    "Tdg": lambda qc, q, a: qc.tdg(q[0]),
    "SX": lambda qc, q, a: qc.sx(q[0]),
    "RX": lambda qc, q, a: qc.rx(a[0], q[0]),
    "RY": lambda qc, q, a: qc.ry(a[0], q[0]),
    "RZ": lambda qc, q, a: qc.rz(a[0], q[0]),
    "PhaseShift": lambda qc, q, a: qc.p(a[0], q[0]),
    "Rot": lambda qc, q, a: (qc.rz(a[0], q[0]), qc.ry(a[1], q[0]), qc.rz(a[2], q[0])),
    "CNOT": lambda qc, q, a: qc.cx(q[0], q[1]),
    "CZ": lambda qc, q, a: qc.cz(q[0], q[1]),
    "SWAP": lambda qc, q, a: qc.swap(q[0], q[1]),
    "RXX": lambda qc, q, a: qc.rxx(a[0], q[0], q[1]),
    "RYY": lambda qc, q, a: qc.ryy(a[0], q[0], q[1]),
    "RZZ": lambda qc, q, a: qc.rzz(a[0], q[0], q[1]),
    "CRX": lambda qc, q, a: qc.crx(a[0], q[0], q[1]),
    "CRY": lambda qc, q, a: qc.cry(a[0], q[0], q[1]),
    "CRZ": lambda qc, q, a: qc.crz(a[0], q[0], q[1]),
    "CPhase": lambda qc, q, a: qc.cp(a[0], q[0], q[1]),
}

#: Every neutral gate this module translates (the adapter's ``native_gates``; a test keeps it equal to ``GATES``).
SUPPORTED_GATES: frozenset[str] = frozenset(_EMIT)

#: Controlled rotations written with CNOTs and half-angle rotations (Qiskit's own definitions). Aer
#: 0.18 ignores or misbinds parameters of controlled gates in primitives (qiskit-aer issues #2323,
#: #2391, #2403), so the Aer backend runs these forms; the half angles are parameters of their own
#: (vectors ``s_half`` and ``s_neg_half``) whose values are computed from the slot values in numpy.
_EXPANDED: dict[str, Callable[[QuantumCircuit, tuple[int, ...], Any, Any], object]] = {
    "CRZ": lambda qc, q, h, m: (qc.rz(h, q[1]), qc.cx(q[0], q[1]), qc.rz(m, q[1]), qc.cx(q[0], q[1])),
    "CRY": lambda qc, q, h, m: (qc.ry(h, q[1]), qc.cx(q[0], q[1]), qc.ry(m, q[1]), qc.cx(q[0], q[1])),
    "CRX": lambda qc, q, h, m: (qc.h(q[1]), qc.rz(h, q[1]), qc.cx(q[0], q[1]), qc.rz(m, q[1]), qc.cx(q[0], q[1]), qc.h(q[1])),
    "CPhase": lambda qc, q, h, m: (qc.p(h, q[0]), qc.cx(q[0], q[1]), qc.p(m, q[1]), qc.cx(q[0], q[1]), qc.p(h, q[1])),
}
#: Parameter vector name -> factor applied to the slot value (see :func:`parameter_columns`).
_SCALES = {PARAMETER_NAME: 1.0, PARAMETER_NAME + "_half": 0.5, PARAMETER_NAME + "_neg_half": -0.5}


#: Translations shared by every backend in the process (the circuit alone decides them).
_UNMEASURED: TranslationCache[tuple[Circuit, bool], QuantumCircuit] = TranslationCache(MAX_CACHED_CIRCUITS)
_MEASURED: TranslationCache[tuple[Circuit, Basis, bool], QuantumCircuit] = TranslationCache(MAX_CACHED_CIRCUITS)


def to_quantum_circuit(circuit: Circuit, expand_controlled: bool = False) -> QuantumCircuit:
    """The unmeasured circuit, one ``ParameterVector("s", n_slots)`` element per slot (cached).

    With ``expand_controlled`` the controlled rotations CRX/CRY/CRZ/CPhase are written as CNOTs and
    half-angle rotations (exact, see :data:`_EXPANDED`).
    """
    return _UNMEASURED.get((circuit, expand_controlled), lambda: _unmeasured(circuit, expand_controlled))


def _unmeasured(circuit: Circuit, expand_controlled: bool) -> QuantumCircuit:
    params = ParameterVector(PARAMETER_NAME, circuit.n_slots)
    half = ParameterVector(PARAMETER_NAME + "_half", circuit.n_slots)
    neg_half = ParameterVector(PARAMETER_NAME + "_neg_half", circuit.n_slots)
    qc = QuantumCircuit(circuit.n_qubits)
    for op in circuit.ops:
        if expand_controlled and op.name in _EXPANDED:
            _EXPANDED[op.name](qc, op.wires, half[op.slots[0]], neg_half[op.slots[0]])
        else:
            _EMIT[op.name](qc, op.wires, [params[s] for s in op.slots])
    return qc


@dataclass(frozen=True)
class ParameterMap:
    """How a (possibly transpiled) circuit's parameters come from slot values: ``values[:, slots] * scales``."""

    slots: np.ndarray
    scales: np.ndarray

    def bind(self, values: np.ndarray) -> np.ndarray:
        """Parameter values ``[N, num_parameters]`` in ``qc.parameters`` order, from slot values ``[N, n_slots]``."""
        return values[:, self.slots] * self.scales


def parameter_map(qc: QuantumCircuit) -> ParameterMap:
    """Read the slot and factor of each of ``qc.parameters`` (transpiling may drop or reorder some)."""
    params = list(qc.parameters)
    return ParameterMap(
        np.fromiter((p.index for p in params), dtype=np.intp, count=len(params)),
        np.fromiter((_SCALES[p.vector.name] for p in params), dtype=np.float64, count=len(params)),
    )


def pauli_term_operator(paulis: tuple[tuple[int, str], ...], n_qubits: int, coeff: float = 1.0) -> SparsePauliOp:
    """``coeff * P`` for a neutral Pauli product on wires (wire ``w`` is qubit ``w``)."""
    if not paulis:
        return SparsePauliOp.from_sparse_list([("", [], coeff)], num_qubits=n_qubits)
    label = "".join(p for _, p in paulis)
    return SparsePauliOp.from_sparse_list([(label, [w for w, _ in paulis], coeff)], num_qubits=n_qubits)


def observable_to_sparse_pauli_op(observable: Observable, n_qubits: int) -> SparsePauliOp:
    """A neutral observable as a :class:`SparsePauliOp` (duplicate Pauli strings are summed)."""
    ops = [pauli_term_operator(t.paulis, n_qubits, t.coeff) for t in observable.terms]
    return SparsePauliOp.sum(ops).simplify(atol=0)


def term_paulis(plan: MeasurementPlan) -> list[Pauli]:
    """The plan's distinct Pauli terms as Qiskit ``Pauli`` objects, for one EstimatorV2 PUB."""
    return [Pauli(pauli_term_operator(t, plan.n_qubits).paulis[0]) for t in plan.terms]


def measured_circuit(circuit: Circuit, basis: Basis, expand_controlled: bool = False) -> QuantumCircuit:
    """The circuit, the core plan's basis rotations, and every qubit measured into clbit ``w`` (cached)."""
    return _MEASURED.get((circuit, basis, expand_controlled), lambda: _measured(circuit, basis, expand_controlled))


def _measured(circuit: Circuit, basis: Basis, expand_controlled: bool) -> QuantumCircuit:
    qc = to_quantum_circuit(circuit, expand_controlled).copy()
    for w, p in basis:
        for gate in BASIS_ROTATIONS[p]:
            _EMIT[gate](qc, (w,), [])
    qc.measure_all()
    return qc


def term_means_from_bits(packed: np.ndarray, n_bits: int, term_wires: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """Mean ±1 eigenvalue of each term over the shots: ``packed`` is a BitArray's ``[N, S, bytes]`` uint8.

    Qiskit packs bitstrings big-endian with clbit 0 as the lowest bit of the last byte, so clbit
    ``w`` is column ``8 * bytes - 1 - w`` after unpacking. A term's sample is ``(-1) ** parity``
    of its wires' bits. Vectorised over bindings and shots; returns ``[N, T]`` float64.
    """
    rows, shots, width = packed.shape
    out = np.empty((rows, len(term_wires)))
    if rows == 0 or not term_wires:
        return out
    chunk = max(1, 2**24 // max(1, shots * n_bits))  # bound the unpacked array to ~16 MiB
    for start in range(0, rows, chunk):
        bits = np.unpackbits(packed[start : start + chunk], axis=-1)[..., ::-1][..., :n_bits]  # column w = clbit w
        for t, wires in enumerate(term_wires):
            parity = np.bitwise_xor.reduce(bits[..., list(wires)], axis=-1) if len(wires) > 1 else bits[..., wires[0]]
            out[start : start + chunk, t] = 1.0 - 2.0 * parity.mean(axis=-1)
    return out
