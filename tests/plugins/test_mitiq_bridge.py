"""benchmarks/mitiq_bridge.py: neutral <-> Cirq conversion and Mitiq's folding keep exact expectations.

Local check only: CI does not install Mitiq (``pip install mitiq`` downgrades numpy through
cirq-core), so this file is skipped there. To run it, install Mitiq beside the venv
(``pip install --target /tmp/mitiq-lib mitiq``) and set ``HQNN_MITIQ_PATH=/tmp/mitiq-lib``: the
directory is appended to the END of ``sys.path`` so the venv's numpy still wins.
"""

from __future__ import annotations

import os
import random
import sys
from collections import Counter

import numpy as np
import pytest
import torch

if os.environ.get("HQNN_MITIQ_PATH") and os.environ["HQNN_MITIQ_PATH"] not in sys.path:
    sys.path.append(os.environ["HQNN_MITIQ_PATH"])
pytest.importorskip("mitiq")
cirq = pytest.importorskip("cirq")

from mitiq.zne.scaling import fold_global  # noqa: E402

from benchmarks.mitiq_bridge import const_row, from_cirq, to_cirq  # noqa: E402
from hqnn_core.circuit import GATES, Circuit, CircuitBuilder, Observable  # noqa: E402
from hqnn_core.components import get_backend  # noqa: E402
from hqnn_core.errors import CapabilityError  # noqa: E402
from hqnn_core.layer import QuantumLayer  # noqa: E402

N = 4
OBSERVABLES = [Observable.z(w) for w in range(N)] + [Observable.parse("X0Y1 + 0.5*Z1Z3"), Observable.parse("Y2X3")]


def _random_circuit(seed: int, n_ops: int = 40) -> tuple[Circuit, torch.Tensor]:
    """Every neutral gate, random wires and angles (the rows carry the angles)."""
    rng = random.Random(seed)
    b = CircuitBuilder(N)
    names = sorted(GATES)
    for k in range(n_ops):
        name = names[k % len(names)] if k < len(names) else rng.choice(names)
        spec = GATES[name]
        b.add(name, rng.sample(range(N), spec.n_wires), *(b.input(0) for _ in range(spec.n_params)))
    circuit = b.build(OBSERVABLES)
    rows = torch.rand(1, circuit.n_slots, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * 4 - 2
    return circuit, rows


def _exact(circuit: Circuit, rows: torch.Tensor) -> torch.Tensor:
    return get_backend("torch").expectations(circuit, rows)[0]


def _cirq_expectations(c: cirq.Circuit) -> torch.Tensor:
    """An independent oracle: Cirq's own state vector and Pauli strings."""
    q = cirq.LineQubit.range(N)
    state = cirq.Simulator(dtype=np.complex128).simulate(c, qubit_order=q).final_state_vector
    paulis = {"X": cirq.X, "Y": cirq.Y, "Z": cirq.Z}
    out = []
    for obs in OBSERVABLES:
        total = 0.0
        for term in obs.terms:
            ps = cirq.PauliString({q[w]: paulis[p] for w, p in term.paulis}, coefficient=term.coeff)
            total += ps.expectation_from_state_vector(state, {qq: i for i, qq in enumerate(q)}).real
        out.append(total)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_to_cirq_matches_torch_backend(seed: int) -> None:
    circuit, rows = _random_circuit(seed)
    torch.testing.assert_close(_cirq_expectations(to_cirq(circuit, rows[0])), _exact(circuit, rows), atol=1e-10, rtol=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_round_trip_keeps_exact_expectations(seed: int) -> None:
    circuit, rows = _random_circuit(seed)
    back = from_cirq(to_cirq(circuit, rows[0]), N, OBSERVABLES)
    assert all(s.source == "const" for s in back.slots)
    torch.testing.assert_close(_exact(back, const_row(back)), _exact(circuit, rows), atol=1e-10, rtol=0)


@pytest.mark.parametrize("scale", [1.0, 3.0, 5.0])
def test_mitiq_fold_global_is_identity_noiselessly(scale: float) -> None:
    circuit, rows = _random_circuit(5)
    folded = from_cirq(fold_global(to_cirq(circuit, rows[0]), scale), N, OBSERVABLES)
    assert len(folded.ops) == scale * len(_ops_without_rot(circuit))  # the fold really added gates
    torch.testing.assert_close(_exact(folded, const_row(folded)), _exact(circuit, rows), atol=1e-10, rtol=0)


def _ops_without_rot(circuit: Circuit) -> list:
    return [o for o in circuit.ops for _ in range(3 if o.name == "Rot" else 1)]  # Rot goes to Cirq as three gates


def test_example_model_round_trip_keeps_gate_names() -> None:
    """The benchmark's circuits (RY/RZ/CNOT) come back with the same gates, so the noise per gate is unchanged."""
    layer = QuantumLayer(N, layers=2, seed=0).double()
    x = torch.rand(2, N, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    rows = layer.slot_values(x)
    for row in rows:
        back = from_cirq(to_cirq(layer.circuit, row), N, layer.circuit.observables)
        # Cirq packs gates into moments, so the order across wires may change; the gates do not.
        assert Counter((o.name, o.wires) for o in back.ops) == Counter((o.name, o.wires) for o in layer.circuit.ops)
        torch.testing.assert_close(_exact(back, const_row(back)), _exact(layer.circuit, row[None]), atol=1e-10, rtol=0)


def test_unmapped_gate_is_named() -> None:
    c = cirq.Circuit(cirq.CCX(*cirq.LineQubit.range(3)))
    with pytest.raises(CapabilityError, match="CCX|TOFFOLI"):
        from_cirq(c, 3, [Observable.z(0)])
