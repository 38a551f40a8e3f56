"""The embedded torch backend against closed forms, and its shot sampling against the stated bound."""

import math

import pytest
import torch

from hqnn_core import CapabilityError, CircuitBuilder, ConfigError, Observable, get_backend
from hqnn_core.testing.golden import golden_cases
from hqnn_core.testing.stats import shot_tolerance

CASES = golden_cases()


def _jacobian(backend, case):
    rows = []
    for i in range(case.slot_values.shape[0]):
        def f(s, i=i):
            return backend.expectations(case.circuit, s.unsqueeze(0))[0]
        rows.append(torch.autograd.functional.jacobian(f, case.slot_values[i]))
    return torch.stack(rows)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_values_and_gradients_complex128(case):
    backend = get_backend("torch")
    values = backend.expectations(case.circuit, case.slot_values)
    assert values.dtype == torch.float64 and values.shape == case.values.shape
    torch.testing.assert_close(values, case.values, atol=1e-6, rtol=0)
    if case.slot_values.shape[1]:
        torch.testing.assert_close(_jacobian(backend, case), case.jacobian, atol=1e-6, rtol=0)


@pytest.mark.parametrize("case", CASES[:4], ids=[c.name for c in CASES[:4]])
def test_golden_values_complex64(case):
    backend = get_backend("torch", precision="complex64")
    values = backend.expectations(case.circuit, case.slot_values.float())
    assert values.dtype == torch.float32
    torch.testing.assert_close(values.double(), case.values, atol=1e-5, rtol=0)


def test_precision_auto_follows_input_dtype():
    case = CASES[0]
    backend = get_backend("torch")
    assert backend.expectations(case.circuit, case.slot_values).dtype == torch.float64
    assert backend.expectations(case.circuit, case.slot_values.float()).dtype == torch.float32


def test_batch_of_one_is_not_squeezed():
    case = CASES[0]
    out = get_backend("torch").expectations(case.circuit, case.slot_values[:1])
    assert out.shape == (1, 2)


@pytest.mark.parametrize("case", [c for c in CASES if c.name in ("ry_zx", "bell", "rz_xy", "weighted_sum", "ry_rz_chain")],
                         ids=lambda c: c.name)
def test_shot_estimates_within_five_standard_errors(case):
    shots = 4000
    backend = get_backend("torch", seed=7)
    est = backend.expectations(case.circuit, case.slot_values, shots=shots)
    tol = shot_tolerance(case.values, case.circuit.observables, shots)
    assert est.dtype == torch.float64
    assert bool(((est - case.values).abs() <= tol).all()), (est - case.values).abs() / tol
    # Shot noise is really there: not every estimate equals the exact value.
    if case.name != "bell":
        assert (est - case.values).abs().max() > 0


def test_same_seed_same_samples_other_seed_other_samples():
    case = CASES[1]
    a = get_backend("torch").expectations(case.circuit, case.slot_values, shots=500, seed=3)
    b = get_backend("torch").expectations(case.circuit, case.slot_values, shots=500, seed=3)
    c = get_backend("torch").expectations(case.circuit, case.slot_values, shots=500, seed=4)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_backend_seed_option_reproduces_a_sequence_of_calls():
    case = CASES[1]
    runs = []
    for _ in range(2):
        be = get_backend("torch", seed=11)
        runs.append([be.expectations(case.circuit, case.slot_values, shots=200) for _ in range(3)])
    for x, y in zip(*runs):
        assert torch.equal(x, y)
    assert not torch.equal(runs[0][0], runs[0][1])  # successive calls draw fresh samples


def test_z_terms_share_one_measurement():
    """<Z0>, <Z1> and <Z0Z1> come from the same samples, so <Z0 Z1> = <Z0><Z1> exactly for a product of deterministic states."""
    b = CircuitBuilder(2)
    b.add("RY", [0], b.weight(0))
    b.add("CNOT", [0, 1])
    c = b.build([Observable.parse(o) for o in ("Z0", "Z1", "Z0Z1")])
    est = get_backend("torch").expectations(c, torch.tensor([[1.0]], dtype=torch.float64), shots=1000, seed=1)
    assert est[0, 0] == est[0, 1]  # perfectly correlated wires read from the same bitstrings
    assert est[0, 2] == 1.0
    assert abs(est[0, 0] - math.cos(1.0)) <= 5 * math.sqrt((1 - math.cos(1.0) ** 2) / 1000)


def test_accounting_counts_jobs_circuits_and_shots():
    case = CASES[1]
    be = get_backend("torch")
    be.expectations(case.circuit, case.slot_values)
    be.expectations(case.circuit, case.slot_values, shots=100)
    acc = be.accounting
    n = case.slot_values.shape[0]
    assert (acc.calls, acc.jobs, acc.circuits, acc.shots) == (2, 2, 2 * n, 100 * n)
    assert acc.wall_time > 0


@pytest.mark.parametrize("shots", [0, -5, 1.5, True, "1e3"])
def test_bad_shot_counts_are_rejected_before_running(shots):
    case = CASES[0]
    be = get_backend("torch")
    with pytest.raises(ConfigError, match="shots"):
        be.expectations(case.circuit, case.slot_values, shots=shots)
    assert be.accounting.calls == 0


def test_too_many_qubits_rejected_before_any_work():
    b = CircuitBuilder(31)
    b.add("H", [0])
    be = get_backend("torch")
    with pytest.raises(CapabilityError, match="needs 31 qubits; backend 'torch' supports at most 30"):
        be.expectations(b.build([Observable.z(0)]), torch.zeros(1, 0))
    assert be.accounting.calls == 0


def test_memory_is_checked_before_allocating(monkeypatch):
    import hqnn_plugins.torch_backend_memory as memory

    monkeypatch.setattr(memory, "available_memory", lambda: 1 << 20)  # pretend only 1 MiB is free
    b = CircuitBuilder(16)
    b.add("H", [0])
    with pytest.raises(CapabilityError, match=r"GiB; .* free\. Lower the batch size"):
        get_backend("torch").expectations(b.build([Observable.z(0)]), torch.zeros(8, 0))


def test_describe_has_provenance():
    info = get_backend("torch").describe()
    assert info["name"] == "torch" and info["vendor"] == "hqnn"
    assert info["versions"]["torch"] == torch.__version__
    assert info["capabilities"]["backprop"] is True
