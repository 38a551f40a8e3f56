"""translate.py against hand-written expectations: gate mapping, bit order, observables, parameters, bits.

No simulator runs here: the checks read circuit instructions, compare unitaries with
``qiskit.quantum_info.Operator`` and statevectors with the torch backend's (wire 0 = most
significant bit versus Qiskit's qubit 0 = least significant bit).
"""

import math

import numpy as np
import pytest

pytest.importorskip("qiskit_aer")

import torch  # noqa: E402
from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import ParameterVector  # noqa: E402
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector  # noqa: E402

from hqnn_core import CircuitBuilder, Observable, get_backend  # noqa: E402
from hqnn_core.circuit import GATES  # noqa: E402
from hqnn_core.measurement import plan_measurements
from hqnn_qiskit import translate  # noqa: E402

pytestmark = pytest.mark.vendor

# neutral gate -> (qiskit instruction name, qubits it must act on) for a gate placed on wires (1, 0)
EXPECTED_NAMES = {
    "I": "id", "H": "h", "X": "x", "Y": "y", "Z": "z", "S": "s", "Sdg": "sdg", "T": "t", "Tdg": "tdg", "SX": "sx",
    "RX": "rx", "RY": "ry", "RZ": "rz", "PhaseShift": "p", "CNOT": "cx", "CZ": "cz", "SWAP": "swap",
    "RXX": "rxx", "RYY": "ryy", "RZZ": "rzz", "CRX": "crx", "CRY": "cry", "CRZ": "crz", "CPhase": "cp",
}


def _single(gate: str, angles=(0.3, -0.7, 1.9)) -> tuple:
    spec = GATES[gate]
    b = CircuitBuilder(2)
    wires = [1, 0][: spec.n_wires]
    b.add(gate, wires, *[b.weight(i) for i in range(spec.n_params)])
    return b.build(), wires, torch.tensor([angles[: spec.n_params]], dtype=torch.float64)


def test_every_neutral_gate_is_translated():
    assert translate.SUPPORTED_GATES == frozenset(GATES)


@pytest.mark.parametrize("gate", sorted(EXPECTED_NAMES))
def test_gate_maps_to_the_named_qiskit_instruction_on_the_same_qubits(gate):
    circuit, wires, _ = _single(gate)
    qc = translate.to_quantum_circuit(circuit)
    (inst,) = qc.data
    assert inst.operation.name == EXPECTED_NAMES[gate]
    assert [qc.find_bit(q).index for q in inst.qubits] == wires  # control first for controlled gates
    if GATES[gate].n_params:
        assert [str(p) for p in inst.operation.params] == ["s[0]"]


def test_rot_is_rz_ry_rz_in_time_order():
    circuit, _, _ = _single("Rot")
    qc = translate.to_quantum_circuit(circuit)
    assert [(i.operation.name, str(i.operation.params[0])) for i in qc.data] == [("rz", "s[0]"), ("ry", "s[1]"), ("rz", "s[2]")]


def _rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def _ry(t):
    c, s = math.cos(t / 2), math.sin(t / 2)
    return np.array([[c, -s], [s, c]])


def test_rot_unitary_is_pennylane_rot():
    a, b, c = 0.3, -0.7, 1.9
    bld = CircuitBuilder(1)
    bld.add("Rot", [0], bld.const(a), bld.const(b), bld.const(c))
    qc = translate.to_quantum_circuit(bld.build())
    bound = qc.assign_parameters([a, b, c])
    np.testing.assert_allclose(Operator(bound).data, _rz(c) @ _ry(b) @ _rz(a), atol=1e-12)


def test_cphase_is_diag_1_1_1_phase():
    circuit, _, values = _single("CPhase")
    bound = translate.to_quantum_circuit(circuit).assign_parameters(values[0].tolist())
    np.testing.assert_allclose(Operator(bound).data, np.diag([1, 1, 1, np.exp(0.3j)]), atol=1e-12)


@pytest.mark.parametrize("gate", ["CRX", "CRY", "CRZ", "CPhase"])
def test_expanded_controlled_rotations_equal_the_gate(gate):
    circuit, _, values = _single(gate)
    native = translate.to_quantum_circuit(circuit).assign_parameters(values[0].tolist())
    expanded = translate.to_quantum_circuit(circuit, expand_controlled=True)
    assert not {i.operation.name for i in expanded.data} & {"crx", "cry", "crz", "cp"}
    params = translate.parameter_map(expanded)
    bound = expanded.assign_parameters(params.bind(values.numpy())[0])
    assert Operator(bound).equiv(native)  # equal up to global phase, which expectations never see
    np.testing.assert_allclose(Operator(bound).data, Operator(native).data, atol=1e-12)  # here even the phase agrees


def _every_gate_circuit():
    b = CircuitBuilder(3)
    k = 0
    for gate, spec in GATES.items():
        for w in range(3):
            b.add("RY", [w], b.input(w, 0.4 + 0.1 * w))
        wires = [(k + i) % 3 for i in range(spec.n_wires)]
        b.add(gate, wires, *[b.weight(k + j) for j in range(spec.n_params)])
        k += 3
    return b.build()


def test_statevector_matches_torch_backend_with_qubit_order_reversed():
    circuit = _every_gate_circuit()
    values = torch.linspace(-2.5, 2.5, circuit.n_slots, dtype=torch.float64).unsqueeze(0)
    torch_state = get_backend("torch").simulate(circuit, values)[0].numpy()
    qc = translate.to_quantum_circuit(circuit)
    qiskit_state = Statevector(qc.assign_parameters(values[0].numpy())).data
    # torch index bit (n-1-w) is wire w; Qiskit index bit w is qubit w: reverse the axes to compare.
    as_wires = qiskit_state.reshape([2] * 3).transpose(2, 1, 0).reshape(-1)
    overlap = abs(np.vdot(torch_state, as_wires))
    assert overlap == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(as_wires, torch_state, atol=1e-12)  # same global phase too


def test_pauli_labels_are_little_endian():
    # Z on wire 0 of 3 qubits is qubit 0, the rightmost character.
    assert translate.observable_to_sparse_pauli_op(Observable.parse("Z0"), 3) == SparsePauliOp("IIZ")
    assert translate.observable_to_sparse_pauli_op(Observable.parse("X0Y2"), 3) == SparsePauliOp("YIX")
    op = translate.observable_to_sparse_pauli_op(Observable.parse("0.5*Z0Z1 + 2*X2 - Z0Z1"), 3)
    assert op == SparsePauliOp(["IZZ", "XII"], [-0.5, 2.0])


def test_x_on_wire_0_flips_qubit_0():
    b = CircuitBuilder(2)
    b.add("X", [0])
    circuit = b.build([Observable.parse("Z0"), Observable.parse("Z1")])
    state = Statevector(translate.to_quantum_circuit(circuit))
    ops = [translate.observable_to_sparse_pauli_op(o, 2) for o in circuit.observables]
    assert [state.expectation_value(o).real for o in ops] == pytest.approx([-1.0, 1.0])


def test_term_paulis_follow_qiskit_little_endian_labels():
    b = CircuitBuilder(2)
    obs = [Observable.parse(t) for t in ("Z0", "0.5*Z0 + 2*X0X1", "-X0X1 + 0.25*I0", "Z1")]
    plan = plan_measurements(b.build(obs))
    assert [str(p) for p in translate.term_paulis(plan)] == ["IZ", "XX", "ZI"]


def test_measured_circuit_rotates_then_measures_every_qubit_into_its_clbit():
    b = CircuitBuilder(2)
    qc = translate.measured_circuit(b.build(), ((0, "X"), (1, "Y")))
    names = [(i.operation.name, [qc.find_bit(q).index for q in i.qubits]) for i in qc.data if i.operation.name != "barrier"]
    assert names == [("h", [0]), ("sdg", [1]), ("h", [1]), ("measure", [0]), ("measure", [1])]
    measures = [i for i in qc.data if i.operation.name == "measure"]
    assert [(qc.find_bit(i.qubits[0]).index, qc.find_bit(i.clbits[0]).index) for i in measures] == [(0, 0), (1, 1)]


def test_parameter_map_survives_dropped_and_reordered_parameters():
    p = ParameterVector("s", 4)
    half = ParameterVector("s_half", 4)
    qc = QuantumCircuit(1)
    qc.rx(p[3], 0)
    qc.rz(half[1], 0)
    qc.ry(p[0], 0)  # slot 2 is never used, e.g. optimised away by the transpiler
    pm = translate.parameter_map(qc)
    values = np.array([[10.0, 11.0, 12.0, 13.0], [20.0, 21.0, 22.0, 23.0]])
    assert [str(x) for x in qc.parameters] == ["s[0]", "s[3]", "s_half[1]"]
    np.testing.assert_allclose(pm.bind(values), [[10.0, 13.0, 5.5], [20.0, 23.0, 10.5]])


def _pack(bits: np.ndarray) -> np.ndarray:
    """Pack [N, S, n] bits (column w = clbit w) the way Qiskit's BitArray does."""
    n = bits.shape[-1]
    width = (n + 7) // 8
    padded = np.zeros(bits.shape[:-1] + (8 * width,), dtype=np.uint8)
    padded[..., 8 * width - n:] = bits[..., ::-1]
    return np.packbits(padded, axis=-1)


def test_term_means_read_clbit_w_as_wire_w():
    # two shots of 10 qubits: clbit 0 set in shot 0, clbits 0 and 9 set in shot 1
    bits = np.zeros((1, 2, 10), dtype=np.uint8)
    bits[0, 0, 0] = 1
    bits[0, 1, [0, 9]] = 1
    means = translate.term_means_from_bits(_pack(bits), 10, ((0,), (9,), (0, 9), (5,)))
    np.testing.assert_allclose(means, [[-1.0, 0.0, 0.0, 1.0]])


def test_term_means_are_parities_averaged_over_shots():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, size=(5, 300, 3), dtype=np.uint8)
    wires = ((0,), (1, 2), (0, 1, 2))
    expected = np.stack([(1 - 2 * (bits[..., list(w)].astype(int).sum(-1) % 2)).mean(-1) for w in wires], axis=1)
    np.testing.assert_allclose(translate.term_means_from_bits(_pack(bits), 3, wires), expected)


def test_translation_is_cached_by_circuit():
    circuit, _, _ = _single("RX")
    again, _, _ = _single("RX")
    assert circuit is not again and circuit == again
    assert translate.to_quantum_circuit(circuit) is translate.to_quantum_circuit(again)
