"""``braket.local:dm`` with noise runs the same model; the outputs move from the exact ones by stated amounts.

Oracles: a bit flip with probability q before readout multiplies every Z-string expectation of
weight w by (1 - 2q)^w exactly; a single-qubit depolarizing channel with probability p after RY
shrinks <Z> by (1 - 4p/3). For a whole 4-qubit, 2-layer model with p = 0.01 after every gate
and q = 0.02, the outputs shrink toward 0 by a stated amount (asserted below).
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("braket.devices")

import torch  # noqa: E402

from hqnn_core import CircuitBuilder, ConfigError, Observable, QuantumLayer, get_backend  # noqa: E402

pytestmark = pytest.mark.vendor

P, Q = 0.01, 0.02


def test_readout_error_scales_expectations_exactly(float64):
    exact = QuantumLayer(4, layers=2, seed=7, gradient="parameter_shift", observables=["Z0", "Z1Z2", "Z0Z1Z3"])
    noisy = QuantumLayer(4, layers=2, seed=7, gradient="parameter_shift", observables=["Z0", "Z1Z2", "Z0Z1Z3"],
                         backend="braket.local:dm", backend_options={"readout_error": Q})
    x = torch.rand(6, 4) * math.pi
    factors = torch.tensor([(1 - 2 * Q) ** w for w in (1, 2, 3)])
    with torch.no_grad():
        torch.testing.assert_close(noisy(x), exact(x) * factors, atol=1e-10, rtol=0)


def test_depolarizing_after_one_gate_matches_closed_form():
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    circuit = b.build([Observable.parse("Z0"), Observable.parse("X0")])
    t = torch.tensor([[0.0], [0.7], [2.5]], dtype=torch.float64)
    got = get_backend("braket.local:dm", depolarizing=P, readout_error=Q).expectations(circuit, t)
    shrink = 1 - 4 * P / 3
    expected = torch.cat([shrink * (1 - 2 * Q) * torch.cos(t), shrink * torch.sin(t)], dim=1)  # bit flips leave X alone
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_noisy_model_differs_from_exact_by_a_stated_amount(float64):
    kwargs = dict(n_qubits=4, layers=2, seed=3, gradient="parameter_shift")
    exact = QuantumLayer(**kwargs)
    noisy = QuantumLayer(**kwargs, backend="braket.local:dm", backend_options={"depolarizing": P, "readout_error": Q})
    assert noisy.backend.capabilities.noise
    x = torch.rand(16, 4, generator=torch.Generator().manual_seed(0)) * math.pi
    with torch.no_grad():
        e, n = exact(x), noisy(x)
    diff = (n - e).abs()
    # Each output's light cone holds roughly 20 depolarizing locations: a contraction of about
    # (1 - 4p/3)^20 (1 - 2q) ~ 0.73 (measured: sum|noisy| / sum|exact| = 0.71, mean |difference| 0.051,
    # max 0.20). Stated bounds: mean |difference| in (0.01, 0.15), max below 0.3, overall contraction in (0.5, 0.95).
    assert 0.01 < diff.mean().item() < 0.15 and diff.max().item() < 0.3
    assert 0.5 < (n.abs().sum() / e.abs().sum()).item() < 0.95  # noise pulls expectations toward 0
    noisy(x[:2]).sum().backward()  # the same model trains with parameter-shift on the noisy simulator
    assert noisy.weights.grad is not None and bool(torch.isfinite(noisy.weights.grad).all())


def test_noise_free_density_matrix_equals_state_vector(float64):
    kwargs = dict(n_qubits=3, layers=2, seed=1, ansatz="strongly_entangling", gradient="parameter_shift")
    x = torch.rand(4, 3) * math.pi
    with torch.no_grad():
        dm, sv = QuantumLayer(**kwargs, backend="braket.local:dm")(x), QuantumLayer(**kwargs, backend="braket.local:sv")(x)
    torch.testing.assert_close(dm, sv, atol=1e-10, rtol=0)


def test_noise_on_the_state_vector_simulator_is_rejected():
    with pytest.raises(ConfigError, match="use 'braket.local:dm'"):
        get_backend("braket.local:sv", depolarizing=0.01)
