"""Translation to Braket, checked without any simulator run where possible.

Each neutral gate is written into a Braket circuit, bound, and its ``to_unitary()`` (big-endian,
qubit 0 most significant) is compared with the gate's closed-form matrix written out here in
PennyLane's conventions: that is the independent oracle for the angle factors (xx/yy/zz), the
Rot order and the controlled-rotation decompositions.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("braket.devices")

import numpy as np  # noqa: E402
from braket.circuits import Noise  # noqa: E402
from braket.circuits.serialization import IRType  # noqa: E402
from braket.devices import LocalSimulator  # noqa: E402

from hqnn_braket.translate import (  # noqa: E402
    BRAKET_OPERATIONS,
    GATE_WRITERS,
    param_name,
    supported_gates,
    to_braket,
    with_basis_rotation,
    with_expectations,
)
from hqnn_core import CircuitBuilder, Observable  # noqa: E402
from hqnn_core.circuit import GATES  # noqa: E402
from hqnn_core.measurement import plan_measurements  # noqa: E402

pytestmark = pytest.mark.vendor

I2 = np.eye(2)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]])
Z = np.diag([1.0, -1.0]).astype(complex)
P0, P1 = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])


def _exp_pauli(t: float, p: np.ndarray) -> np.ndarray:
    """exp(-i t P / 2) for a Pauli product P (P^2 = I)."""
    return math.cos(t / 2) * np.eye(p.shape[0]) - 1j * math.sin(t / 2) * p


def _controlled(u: np.ndarray) -> np.ndarray:
    return np.kron(P0, I2) + np.kron(P1, u)


def _rz(t: float) -> np.ndarray:
    return _exp_pauli(t, Z)


def _ry(t: float) -> np.ndarray:
    return _exp_pauli(t, Y)


FIXED = {
    "I": I2, "H": np.array([[1, 1], [1, -1]]) / math.sqrt(2), "X": X, "Y": Y, "Z": Z,
    "S": np.diag([1, 1j]), "Sdg": np.diag([1, -1j]), "T": np.diag([1, np.exp(1j * math.pi / 4)]),
    "Tdg": np.diag([1, np.exp(-1j * math.pi / 4)]), "SX": np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2,
    "CNOT": _controlled(X), "CZ": np.diag([1, 1, 1, -1]), "SWAP": np.eye(4)[[0, 2, 1, 3]],
}
ANGLED = {
    "RX": lambda t: _exp_pauli(t[0], X),
    "RY": lambda t: _ry(t[0]),
    "RZ": lambda t: _rz(t[0]),
    "PhaseShift": lambda t: np.diag([1, np.exp(1j * t[0])]),
    "Rot": lambda t: _rz(t[2]) @ _ry(t[1]) @ _rz(t[0]),
    "RXX": lambda t: _exp_pauli(t[0], np.kron(X, X)),
    "RYY": lambda t: _exp_pauli(t[0], np.kron(Y, Y)),
    "RZZ": lambda t: _exp_pauli(t[0], np.kron(Z, Z)),
    "CRX": lambda t: _controlled(_exp_pauli(t[0], X)),
    "CRY": lambda t: _controlled(_ry(t[0])),
    "CRZ": lambda t: _controlled(_rz(t[0])),
    "CPhase": lambda t: np.diag([1, 1, 1, np.exp(1j * t[0])]),
}
ANGLES = (0.37, -1.21, 2.9)


def test_every_neutral_gate_has_a_translation_and_an_oracle_here():
    assert set(GATE_WRITERS) == set(GATES) == set(BRAKET_OPERATIONS)
    assert set(FIXED) | set(ANGLED) == set(GATES)


def _unitary(name: str, wires: tuple[int, ...], n: int, angles: tuple[float, ...]) -> np.ndarray:
    b = CircuitBuilder(n)
    b.add(name, wires, *[b.weight(i) for i in range(GATES[name].n_params)])
    bc = to_braket(b.build())
    values = {param_name(i): angles[i] for i in range(GATES[name].n_params)}
    return bc.make_bound_circuit(values).to_unitary() if values else bc.to_unitary()


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_matches_closed_form(name):
    spec = GATES[name]
    angles = ANGLES[: spec.n_params]
    expected = FIXED[name] if name in FIXED else ANGLED[name](angles)
    wires = tuple(range(spec.n_wires))
    np.testing.assert_allclose(_unitary(name, wires, spec.n_wires, angles), expected, atol=1e-12)


@pytest.mark.parametrize("name", [g for g, s in GATES.items() if s.n_wires == 2])
def test_two_qubit_gate_with_reversed_wires(name):
    angles = ANGLES[: GATES[name].n_params]
    u = FIXED[name] if name in FIXED else ANGLED[name](angles)
    swap = FIXED["SWAP"]
    np.testing.assert_allclose(_unitary(name, (1, 0), 2, angles), swap @ u @ swap, atol=1e-12)


def test_one_parametric_circuit_with_a_free_parameter_per_slot():
    b = CircuitBuilder(3)
    b.add("RY", [0], b.input(0))
    b.add("CRX", [0, 2], b.weight(0))
    b.add("Rot", [1], b.weight(1), b.weight(2), b.weight(3))
    circuit = b.build()
    bc = to_braket(circuit)
    assert sorted(p.name for p in bc.parameters) == sorted(param_name(i) for i in range(circuit.n_slots))
    source = bc.to_ir(IRType.OPENQASM).source
    assert "qubit[3] q;" in source
    assert "rz(hqnn_s1/2) q[2];" in source and "rz(-hqnn_s1/2) q[2];" in source  # CRX's decomposition stays linear
    assert bc.qubit_count == 3


def test_qubit_zero_is_the_most_significant_bit_in_braket_results():
    b = CircuitBuilder(3)
    b.add("X", [0])
    bc = to_braket(b.build())
    result = LocalSimulator("braket_sv").run(bc.copy().probability(), shots=0).result()
    probs = np.asarray(result.values[0])
    assert probs[0b100] == pytest.approx(1.0)
    counts = LocalSimulator("braket_sv").run(bc, shots=20).result().measurement_counts
    assert dict(counts) == {"100": 20}


def test_untouched_wires_still_exist_so_observables_on_them_run():
    b = CircuitBuilder(3)
    b.add("H", [0])
    circuit = b.build([Observable.parse("Z2"), Observable.parse("X0")])
    exact = with_expectations(to_braket(circuit), plan_measurements(circuit).terms)
    values = LocalSimulator("braket_sv").run(exact, shots=0).result().values
    np.testing.assert_allclose(values, [1.0, 1.0], atol=1e-12)


def test_basis_rotation_reads_x_and_y_in_z():
    b = CircuitBuilder(2)
    b.add("H", [0])
    b.add("H", [1])
    b.add("S", [1])  # |+> on wire 0 (X = +1), |+i> on wire 1 (Y = +1)
    bc = with_basis_rotation(to_braket(b.build()), ((0, "X"), (1, "Y")))
    counts = LocalSimulator("braket_sv").run(bc, shots=50).result().measurement_counts
    assert dict(counts) == {"00": 50}


def test_noise_is_added_after_gates_and_before_readout():
    b = CircuitBuilder(2)
    b.add("RY", [0], b.weight(0))
    b.add("CNOT", [0, 1])
    bc = to_braket(b.build(), depolarizing=0.01, readout_error=0.02)
    kinds = [type(ins.operator).__name__ for ins in bc.instructions]
    # two identities open the wires (no noise after them), RY + 1 DEPO, CNOT + 2 DEPO, 2 bit flips at the end
    assert kinds == ["I", "I", "Ry", "Depolarizing", "CNot", "Depolarizing", "Depolarizing", "BitFlip", "BitFlip"]
    assert all(ins.operator.probability == 0.01 for ins in bc.instructions if isinstance(ins.operator, Noise.Depolarizing))


def test_supported_gates_follow_a_devices_operations():
    ionq_like = ["x", "y", "z", "rx", "ry", "rz", "h", "cnot", "s", "si", "t", "ti", "v", "vi", "xx", "yy", "zz", "swap"]
    gates = supported_gates(ionq_like)
    assert {"RX", "Rot", "CRX", "CRY", "CRZ", "RXX", "RZZ", "SX"} <= gates
    assert "CPhase" not in gates and "CZ" not in gates and "PhaseShift" not in gates and "I" not in gates
