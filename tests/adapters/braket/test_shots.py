"""Shot-based results: within the shared statistical bound, with the torch backend's shot semantics.

Semantics (documented in ``hqnn_braket.measurement`` and docs/adapters/braket.md): every binding is
measured ``shots`` times per measurement setting; terms diagonal in Z share one setting, each
distinct set of non-Z factors gets its own. Bounds come from ``hqnn_core.testing.stats``.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("braket.devices")

import torch  # noqa: E402

from hqnn_core import CircuitBuilder, Observable, get_backend  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = [pytest.mark.vendor, pytest.mark.shots]

OBSERVABLES = ("Z0", "X1", "Y2", "Z0Z1", "0.5*X0Y1 - 0.25*Z2", "X1Z2")


def _mixed_circuit(n_rows: int, seed: int = 3) -> tuple:
    b = CircuitBuilder(3)
    for w in range(3):
        b.add("RY", [w], b.input(w))
    b.add("CNOT", [0, 1])
    b.add("CRX", [1, 2], b.weight(0))
    b.add("Rot", [0], b.weight(1), b.weight(2), b.weight(3))
    b.add("RZZ", [2, 0], b.weight(4))
    circuit = b.build([Observable.parse(o) for o in OBSERVABLES])
    g = torch.Generator().manual_seed(seed)
    values = torch.rand(n_rows, circuit.n_slots, generator=g, dtype=torch.float64) * 6 - 3
    return circuit, values


def _within(got: torch.Tensor, circuit, values: torch.Tensor, shots: int) -> None:
    exact = get_backend("torch").expectations(circuit, values)
    bound = shot_tolerance(exact, circuit.observables, shots)
    excess = (got - exact).abs() - bound
    assert got.dtype == torch.float64 and got.shape == exact.shape
    assert bool((excess <= 0).all()), f"worst excess over the 5-sigma bound: {excess.max().item():.4g}"


def test_direct_engine_shots_within_bound_and_reproducible():
    circuit, values = _mixed_circuit(40)
    backend = get_backend("braket.local:sv", seed=11)
    got = backend.expectations(circuit, values, shots=2000)
    _within(got, circuit, values, 2000)
    again = get_backend("braket.local:sv", seed=11).expectations(circuit, values, shots=2000)
    assert torch.equal(got, again)
    other = backend.expectations(circuit, values, shots=2000, seed=12)
    assert not torch.equal(got, other)
    assert backend.accounting.shots == 2 * 40 * 2000


def test_direct_engine_shots_on_the_density_matrix_simulator():
    circuit, values = _mixed_circuit(10)
    got = get_backend("braket.local:dm", seed=5).expectations(circuit, values, shots=4000)
    _within(got, circuit, values, 4000)


def test_terms_in_one_setting_share_samples_and_settings_are_separate():
    b = CircuitBuilder(2)
    b.add("H", [0])
    b.add("CNOT", [0, 1])  # Bell state: Z0 = Z1 in every shot, X0X1 = +1 in every shot
    circuit = b.build([Observable.parse(o) for o in ("Z0", "Z1", "X0X1", "Z0Z1")])
    got = get_backend("braket.local:sv", seed=1).expectations(circuit, torch.zeros(25, 0, dtype=torch.float64), shots=64)
    torch.testing.assert_close(got[:, 0], got[:, 1], rtol=0, atol=0)  # one Z setting, the same samples
    torch.testing.assert_close(got[:, 2:], torch.ones(25, 2, dtype=torch.float64), rtol=0, atol=0)
    assert got[:, 0].abs().max() < 1  # Z0 itself is random


def test_sdk_engine_submits_program_sets_within_the_bound(monkeypatch):
    circuit, values = _mixed_circuit(12)
    backend = get_backend("braket.local:sv", engine="sdk", emulate_limits=True)
    submitted = []
    run = backend.device.run
    monkeypatch.setattr(backend.device, "run", lambda spec, **kw: submitted.append((spec, kw)) or run(spec, **kw))
    shots = 1000
    got = backend.expectations(circuit, values, shots=shots)
    _within(got, circuit, values, shots)
    settings = 4  # Z-only, X1, Y2, X0Y1 (X1Z2 shares the X1 setting)
    limit = backend.executables_per_job(shots)
    assert limit == 100
    assert backend.accounting.jobs == len(submitted) == math.ceil(12 * settings / limit) == backend.jobs_for(12, shots, settings)
    assert all(type(spec).__name__ == "ProgramSet" and kw["shots"] == shots * spec.total_executables for spec, kw in submitted)


def test_program_set_limit_follows_the_total_shot_cap():
    backend = get_backend("braket.local:sv", emulate_limits=True)
    assert backend.executables_per_job(None) == backend.capabilities.max_circuits_per_job == 100
    assert backend.executables_per_job(1000) == 100
    assert backend.executables_per_job(4000) == 50  # maximumTotalShots 200000 / 4000
    circuit, values = _mixed_circuit(120)
    z_only = circuit.with_observables([Observable.parse("Z0"), Observable.parse("Z1Z2")])
    backend.expectations(z_only, values, shots=4000)
    assert backend.accounting.jobs == 3 == backend.jobs_for(120, 4000)
