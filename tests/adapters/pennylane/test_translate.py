"""translate.py against hand-written PennyLane circuits and against the neutral gates' defining matrices."""

from __future__ import annotations

import math

import pytest

qml = pytest.importorskip("pennylane")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.linalg import expm  # noqa: E402

from hqnn_core.circuit import GATES, CircuitBuilder, Observable, PauliTerm  # noqa: E402
from hqnn_pennylane.translate import FIXED, PARAMETRIC, observable, operations, to_tape, translate  # noqa: E402

pytestmark = pytest.mark.vendor


def test_every_neutral_gate_has_exactly_one_translation():
    assert set(PARAMETRIC) | set(FIXED) == set(GATES)
    assert not set(PARAMETRIC) & set(FIXED)
    for name, cls in PARAMETRIC.items():
        assert cls.num_params == GATES[name].n_params, name


_I2 = np.eye(2)
_P = {"X": np.array([[0, 1], [1, 0]], dtype=complex), "Y": np.array([[0, -1j], [1j, 0]]), "Z": np.diag([1.0 + 0j, -1.0])}


def _rotation(pauli: str, t: float) -> np.ndarray:
    return expm(-0.5j * t * _P[pauli])


def _controlled(u: np.ndarray) -> np.ndarray:
    out = np.eye(4, dtype=complex)
    out[2:, 2:] = u  # control is wire 0, the most significant bit
    return out


def _reference(name: str, a: float, b: float, c: float) -> np.ndarray:
    """The neutral gate's matrix from its definition in hqnn_core.circuit (an oracle independent of both libraries)."""
    r = 1 / np.sqrt(2)
    table = {
        "I": _I2,
        "H": r * np.array([[1, 1], [1, -1]]),
        "X": _P["X"],
        "Y": _P["Y"],
        "Z": _P["Z"],
        "S": np.diag([1, 1j]),
        "Sdg": np.diag([1, -1j]),
        "T": np.diag([1, np.exp(0.25j * np.pi)]),
        "Tdg": np.diag([1, np.exp(-0.25j * np.pi)]),
        "SX": 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]),
        "CNOT": _controlled(_P["X"]),
        "CZ": np.diag([1, 1, 1, -1]),
        "SWAP": np.eye(4)[[0, 2, 1, 3]],
        "RX": _rotation("X", a),
        "RY": _rotation("Y", a),
        "RZ": _rotation("Z", a),
        "PhaseShift": np.diag([1, np.exp(1j * a)]),
        "Rot": _rotation("Z", c) @ _rotation("Y", b) @ _rotation("Z", a),
        "RXX": expm(-0.5j * a * np.kron(_P["X"], _P["X"])),
        "RYY": expm(-0.5j * a * np.kron(_P["Y"], _P["Y"])),
        "RZZ": expm(-0.5j * a * np.kron(_P["Z"], _P["Z"])),
        "CRX": _controlled(_rotation("X", a)),
        "CRY": _controlled(_rotation("Y", a)),
        "CRZ": _controlled(_rotation("Z", a)),
        "CPhase": np.diag([1, 1, 1, np.exp(1j * a)]),
    }
    return table[name]


@pytest.mark.parametrize("name", sorted(GATES))
def test_gate_matrix_matches_the_neutral_definition(name):
    """Same convention in both libraries: the PennyLane matrix equals the gate's defining matrix."""
    spec = GATES[name]
    angles = [0.37, -1.21, 2.05]
    wires = list(range(spec.n_wires))
    op = PARAMETRIC[name](*angles[: spec.n_params], wires=wires) if spec.n_params else FIXED[name](wires)
    np.testing.assert_allclose(qml.matrix(op, wire_order=wires), _reference(name, *angles), atol=1e-12)


def test_translation_equals_a_hand_written_tape():
    b = CircuitBuilder(3)
    b.add("H", [0])
    b.add("RY", [1], b.input(0))
    b.add("Rot", [2], b.weight(0), b.weight(1), b.weight(2))
    b.add("CRZ", [0, 2], b.weight(3))
    b.add("RXX", [1, 2], b.weight(4))
    b.add("Sdg", [1])
    b.add("CPhase", [2, 0], b.const(0.25))
    circuit = b.build([Observable.parse("Z0"), Observable.parse("0.5*X0Y1 - Z2")])
    values = torch.tensor([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.25]], dtype=torch.float64)
    tape = to_tape(translate(circuit), values.numpy().T)
    col = values.numpy().T
    expected = qml.tape.QuantumScript(
        [
            qml.Hadamard(0),
            qml.RY(col[0], 1),
            qml.Rot(col[1], col[2], col[3], wires=2),
            qml.CRZ(col[4], wires=[0, 2]),
            qml.IsingXX(col[5], wires=[1, 2]),
            qml.adjoint(qml.S(1)),
            qml.ControlledPhaseShift(col[6], wires=[2, 0]),
        ],
        [qml.expval(qml.Z(0)), qml.expval(qml.Hamiltonian([0.5, -1.0], [qml.X(0) @ qml.Y(1), qml.Z(2)]))],
    )
    assert len(tape.operations) == len(expected.operations)
    for got, want in zip(tape.operations, expected.operations):
        qml.assert_equal(got, want)
    for got, want in zip(tape.measurements, expected.measurements):
        np.testing.assert_allclose(qml.matrix(got.obs, wire_order=[0, 1, 2]), qml.matrix(want.obs, wire_order=[0, 1, 2]))


def test_columns_broadcast_one_tape_over_all_bindings():
    b = CircuitBuilder(2)
    b.add("RX", [0], b.input(0))
    b.add("RZ", [1], b.weight(0))
    translation = translate(b.build())
    rows = np.random.default_rng(0).uniform(size=(7, 2))
    assert to_tape(translation, rows.T).batch_size == 7
    assert to_tape(translation, [rows[:, 0], 0.3]).batch_size == 7  # a shared (scalar) weight stays unbroadcast
    assert to_tape(translation, [0.1, 0.3]).batch_size is None
    assert to_tape(translation, rows.T, shots=100).shots.total_shots == 100


def test_observables_single_word_and_weighted_sum():
    z = observable(Observable.parse("Z1"))
    qml.assert_equal(z, qml.Z(1))
    h = observable(Observable((PauliTerm(0.5, ((0, "X"), (1, "Y"))), PauliTerm(2.0, ((0, "Z"),)), PauliTerm(-1.0, ()))))
    want = 0.5 * np.kron(qml.matrix(qml.X(0)), qml.matrix(qml.Y(1))) + 2 * np.kron(np.diag([1, -1]), np.eye(2)) - np.eye(4)
    np.testing.assert_allclose(qml.matrix(h, wire_order=[0, 1]), want, atol=1e-12)


def test_noise_channels_are_inserted_after_gates_and_before_measurement():
    b = CircuitBuilder(2)
    b.add("RY", [0], b.weight(0))
    b.add("CNOT", [0, 1])
    clean = translate(b.build())
    noisy = translate(b.build(), depolarizing=0.01, readout=0.1)
    ops = operations(noisy, [0.3])
    names = [op.name for op in ops]
    assert names == [
        "RY",
        "DepolarizingChannel",
        "CNOT",
        "DepolarizingChannel",
        "DepolarizingChannel",
        "DepolarizingChannel",
        "DepolarizingChannel",
    ]
    assert [op.wires.tolist() for op in ops[-2:]] == [[0], [1]]
    assert ops[-1].parameters[0] == pytest.approx(0.15)  # readout q modelled as depolarizing 3q/2
    assert len(operations(clean, [0.3])) == 2
    assert math.isclose(ops[1].parameters[0], 0.01)
