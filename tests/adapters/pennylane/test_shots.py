"""Shot-based results: within hqnn's shot-noise bound of the exact values, and reproducible by seed."""

from __future__ import annotations

import pytest

pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core import QuantumLayer, get_backend  # noqa: E402
from hqnn_core.circuit import CircuitBuilder, Observable  # noqa: E402
from hqnn_core.testing.golden import golden_cases  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = [pytest.mark.vendor, pytest.mark.shots]

SHOTS = 2000


def _mixed_observables_circuit():
    """Non-commuting observables in one call: Z (shared samples), X, Y and a weighted sum."""
    b = CircuitBuilder(2)
    b.add("RY", [0], b.weight(0))
    b.add("RX", [1], b.weight(1))
    b.add("CNOT", [0, 1])
    obs = [Observable.parse(o) for o in ("Z0", "Z1", "X0", "Y1", "Z0Z1", "0.5*X0X1 + 2*Z1")]
    values = torch.tensor([[0.3, 1.2], [2.0, -0.7], [1.0, 1.0], [-2.5, 0.4]], dtype=torch.float64)
    return b.build(obs), values


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit", "default.mixed"])
def test_sampled_values_within_shot_tolerance(device):
    backend = get_backend(f"pennylane:{device}")
    exact_backend = get_backend("torch")
    cases = [(c.circuit, c.slot_values) for c in golden_cases()] + [_mixed_observables_circuit()]
    for circuit, values in cases:
        exact = exact_backend.expectations(circuit, values)
        sampled = backend.expectations(circuit, values, shots=SHOTS, seed=11)
        assert sampled.dtype == torch.float64 and sampled.shape == exact.shape
        bound = shot_tolerance(exact, circuit.observables, SHOTS)
        assert bool(((sampled - exact).abs() <= bound).all()), (circuit, sampled, exact)
    assert backend.accounting.shots == SHOTS * sum(v.shape[0] for _, v in cases)


def test_samples_are_not_exact_and_each_binding_is_sampled_separately():
    """Identical rows still get independent samples (no shared-parameter shortcut with shots)."""
    backend = get_backend("pennylane:default.qubit")
    circuit, values = _mixed_observables_circuit()
    rows = values[:1].repeat(6, 1)
    sampled = backend.expectations(circuit, rows, shots=200, seed=3)
    assert len({tuple(r.tolist()) for r in sampled}) > 1
    exact = backend.expectations(circuit, rows)
    assert not torch.equal(sampled, exact)


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
def test_same_seed_reproduces_and_another_seed_differs(device):
    backend = get_backend(f"pennylane:{device}")
    assert backend.capabilities.deterministic_shots
    circuit, values = _mixed_observables_circuit()
    a = backend.expectations(circuit, values, shots=500, seed=7)
    b = backend.expectations(circuit, values, shots=500, seed=7)
    c = backend.expectations(circuit, values, shots=500, seed=8)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_backend_seed_option_makes_a_whole_run_reproducible():
    """Without a per-call seed, the backend derives one from options.seed and its call count."""
    x = torch.rand(8, 3, dtype=torch.float64)

    def run():
        layer = QuantumLayer(3, layers=1, backend="pennylane:default.qubit", shots=300, seed=0, backend_options={"seed": 5})
        return torch.cat([layer(x), layer(x)])

    first, second = run(), run()
    assert torch.equal(first, second)
    assert not torch.equal(first[:8], first[8:])  # consecutive calls draw fresh samples


def test_shot_layer_trains_with_parameter_shift():
    layer = QuantumLayer(2, layers=1, backend="pennylane:default.qubit", shots=1000, seed=0, backend_options={"seed": 1})
    assert layer.gradient.name == "parameter_shift"
    layer(torch.rand(4, 2)).sum().backward()
    assert layer.weights.grad is not None and bool(layer.weights.grad.abs().sum() > 0)
