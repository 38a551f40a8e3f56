"""The plugin's Rotosolve optimiser: its update is the exact minimum of a sinusoid, in hqnn's layers too."""

import math

import pytest
import torch
from hqnn_example_ansatz.optimizers import Rotosolve, rotosolve_minimum

import hqnn_core


@pytest.mark.parametrize(("a", "b", "c", "theta"), [(1.3, 0.4, 0.2, -1.0), (-0.7, 2.5, 1.0, 3.0), (2.0, -3.0, -0.5, 0.1), (0.01, 1.0, 5.0, -2.9)])
def test_the_update_reaches_the_analytic_minimum_of_a_cos_curve(a, b, c, theta):
    def f(x):
        return a * math.cos(x - b) + c

    best, predicted = rotosolve_minimum(theta, f(theta), f(theta + math.pi / 2), f(theta - math.pi / 2))
    argmin = b + math.pi if a > 0 else b  # where a cos(x - b) + c is smallest
    assert abs(math.remainder(best - argmin, 2 * math.pi)) < 1e-9
    assert abs(best - theta) <= math.pi + 1e-12  # the nearest minimiser: a step never wraps round
    assert predicted == pytest.approx(c - abs(a), abs=1e-9)
    assert f(best) == pytest.approx(c - abs(a), abs=1e-9)


def test_one_step_puts_a_qubit_at_the_minimum_of_its_expectation():
    # inputs 0: the layer is RY(w)|0>, so its output <Z> = cos(w) has its minimum -1 at w = pi
    backend = hqnn_core.get_backend("torch", precision="complex128")
    layer = hqnn_core.QuantumLayer(1, encoder="example.dense_angle", ansatz="example.ladder", layers=1, backend=backend).double()
    with torch.no_grad():
        layer.weights.fill_(0.3)
    x = torch.zeros(1, 2, dtype=torch.float64)
    optimizer = hqnn_core.get_optimizer("example.rotosolve")
    assert optimizer.evaluations_per_step(1) == 4  # the start, theta +- pi/2, the jump
    calls = []

    def loss():
        calls.append(1)
        return float(layer(x).detach().sum()), 0

    with torch.no_grad():
        results = optimizer.build(list(layer.parameters()), lr=0.01, seed=0).step(loss)
    assert len(calls) == 4
    assert results == [(pytest.approx(math.cos(0.3), abs=1e-12), 0)]  # the loss the step started from
    assert abs(math.remainder(layer.weights.detach().reshape(-1)[0].item() - math.pi, 2 * math.pi)) < 1e-9
    assert float(layer(x).detach().sum()) == pytest.approx(-1.0, abs=1e-9)


def test_keep_if_lower_refuses_a_jump_that_raises_a_non_sinusoidal_loss():
    # cos(theta) inside |theta| < 2, a wall of 10 outside: the sinusoid through the three values has its
    # minimum at pi, behind the wall, so the checked jump is refused and the unchecked one is taken
    theta = torch.nn.Parameter(torch.tensor([0.1], dtype=torch.float64))

    def loss():
        value = theta.item()
        return (math.cos(value) if abs(value) < 2 else 10.0), 0

    with torch.no_grad():
        Rotosolve().build([theta], 0.01, 0).step(loss)
    assert theta.item() == 0.1
    with torch.no_grad():
        Rotosolve(keep_if_lower=False).build([theta], 0.01, 0).step(loss)
    assert abs(theta.item() - math.pi) < 1e-9
