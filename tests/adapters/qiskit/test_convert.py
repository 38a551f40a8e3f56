"""from_qiskit / to_qiskit / from_qasm3 / to_qasm3: exact states against Qiskit's Statevector, and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import Parameter, ParameterVector  # noqa: E402
from qiskit.circuit.library import real_amplitudes, zz_feature_map  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402

from hqnn_core import get_backend  # noqa: E402
from hqnn_core.circuit import Circuit, Observable  # noqa: E402
from hqnn_core.convert import from_qasm3, from_qiskit, to_qasm3, to_qiskit  # noqa: E402
from hqnn_core.errors import CapabilityError, ConfigError  # noqa: E402

pytestmark = pytest.mark.vendor

RNG = np.random.default_rng(7)


def _angles(circuit: Circuit, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slot values computed from the slot definitions (the oracle for the layer's own evaluation)."""
    read = {"input": x, "weight": w}
    out = []
    for slot in circuit.slots:
        value = 1.0 if slot.source == "const" and slot.factors else 0.0 if slot.source == "const" else read[slot.source][slot.index]
        for f in slot.factors:
            value *= f.coeff * read[f.source][f.index] + f.offset
        out.append(slot.coeff * value + slot.offset)
    return np.array(out)


def _bound(qc: QuantumCircuit, params: list, values: np.ndarray) -> np.ndarray:
    return Statevector(qc.assign_parameters(dict(zip(params, values, strict=True)))).data


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(abs(np.vdot(a, b)))


def _zz_model():
    fm, ansatz = zz_feature_map(4, reps=2), real_amplitudes(4, reps=2)
    return fm.compose(ansatz), fm, ansatz


def test_zz_feature_map_and_real_amplitudes_keep_their_expectations_on_the_torch_backend():
    qc, fm, ansatz = _zz_model()
    observables = [Observable.parse(o) for o in ("Z0", "Z1Z2", "X3", "0.5*Y0X1 + Z3")]
    circuit = from_qiskit(qc, inputs=fm.parameters, weights=ansatz.parameters, observables=observables)
    assert circuit.gate_names <= {"H", "PhaseShift", "CNOT", "RY"} and circuit.n_qubits == 4
    backend = get_backend("torch")
    for _ in range(3):
        x, w = RNG.uniform(0, 2, 4), RNG.uniform(-np.pi, np.pi, ansatz.num_parameters)
        state = Statevector(qc.assign_parameters(dict(zip([*fm.parameters, *ansatz.parameters], [*x, *w], strict=True))))
        expected = [state.expectation_value(_sparse(o)).real for o in observables]
        got = backend.expectations(circuit, torch.tensor(_angles(circuit, x, w))[None], shots=None)[0]
        np.testing.assert_allclose(got.numpy(), expected, atol=1e-10)


def _sparse(observable: Observable):
    from hqnn_qiskit.translate import observable_to_sparse_pauli_op

    return observable_to_sparse_pauli_op(observable, 4)


def test_to_qiskit_and_qasm3_round_trips_preserve_the_state():
    qc, fm, ansatz = _zz_model()
    circuit = from_qiskit(qc, inputs=fm.parameters, weights=ansatz.parameters)
    back = to_qiskit(circuit)
    x, w = RNG.uniform(0, 2, 4), RNG.uniform(-np.pi, np.pi, ansatz.num_parameters)
    original = _bound(qc, [*fm.parameters, *ansatz.parameters], np.concatenate([x, w]))
    values = {p: (x if p.vector.name == "x" else w)[p.index] for p in back.parameters}
    assert _overlap(original, Statevector(back.assign_parameters(values)).data) == pytest.approx(1.0, abs=1e-10)

    text = to_qasm3(circuit)
    assert "input float[64] x_0;" in text and "input float[64] w_11;" in text
    again = from_qasm3(text, weights=[f"w_{i}" for i in range(ansatz.num_parameters)])
    assert again.n_slots == circuit.n_slots
    np.testing.assert_allclose(_angles(again, x, w), _angles(circuit, x, w), atol=1e-12)


def test_qasm3_program_with_input_declarations_runs_like_qiskit():
    text = """OPENQASM 3.0;
include "stdgates.inc";
input float[64] alpha;
input float[64] theta;
qubit[2] q;
h q[0];
ry(2 * alpha + 0.5) q[1];
cx q[0], q[1];
rz(theta * alpha) q[1];
crx(-theta) q[1], q[0];
"""
    circuit = from_qasm3(text, weights=["theta"])
    alpha, theta = Parameter("alpha"), Parameter("theta")
    reference = QuantumCircuit(2)
    reference.h(0)
    reference.ry(2 * alpha + 0.5, 1)
    reference.cx(0, 1)
    reference.rz(theta * alpha, 1)
    reference.crx(-theta, 1, 0)
    back = to_qiskit(circuit)
    ordered = sorted(back.parameters, key=lambda p: (p.vector.name != "x", p.index))  # x[0] = alpha (input), w[0] = theta (weight)
    for a, t in RNG.uniform(-2, 2, (3, 2)):
        state = _bound(reference, [alpha, theta], np.array([a, t]))
        assert _overlap(state, _bound(back, ordered, np.array([a, t]))) == pytest.approx(1.0, abs=1e-10)


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda qc, p: qc.ry(p[0] * p[0] + p[1], 0), CapabilityError, "not an affine function"),
        (lambda qc, p: qc.ry(Parameter("stray"), 0), ConfigError, "neither inputs= nor weights="),
        (lambda qc, p: qc.reset(0), CapabilityError, "reset"),
    ],
)
def test_what_cannot_be_converted_is_refused_naming_the_fix(build, error, message):
    p = ParameterVector("p", 2)
    qc = QuantumCircuit(1)
    build(qc, p)
    with pytest.raises(error, match=message):
        from_qiskit(qc, inputs=p)
