"""Noisy emulation on default.mixed: the same model runs, and its outputs move by the stated amount.

Readout error q scales every single-qubit Pauli expectation by exactly (1 - 2q). A depolarizing
channel of strength p after each gate scales a single-qubit Pauli by (1 - 4p/3) per gate, since
that channel commutes with every single-qubit unitary.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core import ConfigError, QuantumLayer, get_backend  # noqa: E402
from hqnn_core.circuit import CircuitBuilder, Observable  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = pytest.mark.vendor


def test_readout_error_scales_every_output_by_one_minus_2q(float64):
    x = torch.rand(16, 4) * 3
    exact = QuantumLayer(4, layers=2, backend="torch", seed=0)(x)
    noisy_layer = QuantumLayer(4, layers=2, backend="pennylane:default.mixed", backend_options={"readout": 0.05}, seed=0)
    assert noisy_layer.backend.capabilities.noise
    noisy = noisy_layer(x)
    torch.testing.assert_close(noisy, 0.9 * exact, atol=1e-9, rtol=0)
    assert (noisy - exact).abs().max() > 0.01  # the difference is real, not rounding


def test_depolarizing_noise_contracts_a_single_qubit_circuit_by_the_closed_form():
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    b.add("RZ", [0], b.weight(1))
    b.add("RY", [0], b.weight(2))
    circuit = b.build([Observable.parse(o) for o in ("X0", "Y0", "Z0")])
    values = torch.tensor([[0.3, 1.1, -0.4], [2.0, -0.5, 0.9]], dtype=torch.float64)
    exact = get_backend("torch").expectations(circuit, values)
    p = 0.03
    noisy = get_backend("pennylane:default.mixed", depolarizing=p).expectations(circuit, values)
    torch.testing.assert_close(noisy, (1 - 4 * p / 3) ** 3 * exact, atol=1e-12, rtol=0)


def test_noisy_model_trains_and_differs_from_exact_with_shots():
    x = torch.rand(8, 3, dtype=torch.float64)
    exact = QuantumLayer(3, layers=1, backend="pennylane:default.qubit", seed=0).double()(x).detach()
    noisy = QuantumLayer(
        3, layers=1, backend="pennylane:default.mixed", seed=0, shots=4000, backend_options={"readout": 0.1, "seed": 1}
    ).double()
    out = noisy(x)
    out.sum().backward()  # parameter-shift through the noisy device
    assert noisy.weights.grad is not None
    # readout 0.1 shrinks every <Z_i> by exactly 0.8; the samples sit within hqnn's shot bound of that
    expected = 0.8 * exact
    bound = shot_tolerance(expected, noisy.circuit.observables, 4000)
    assert bool(((out.detach() - expected).abs() <= bound).all())
    assert bool(((out.detach() - exact).abs() > bound).any())  # and the noise is visible above the shot noise


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
def test_noise_options_on_a_pure_state_device_are_rejected(device):
    with pytest.raises(ConfigError, match="default.mixed"):
        get_backend(f"pennylane:{device}", depolarizing=0.01)
