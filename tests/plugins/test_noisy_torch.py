"""torch.noisy against independent oracles: closed forms per channel, the noiseless torch backend, autograd."""

from __future__ import annotations

import math

import pytest
import torch

from hqnn_core.circuit import CircuitBuilder, Observable
from hqnn_core.components import get_backend
from hqnn_core.errors import ConfigError
from hqnn_core.layer import QuantumLayer
from hqnn_core.testing import parametrize_with_checks
from hqnn_core.testing.stats import shot_tolerance
from hqnn_plugins.noisy_torch_backend import NoisyTorchBackend

OBS = [Observable.parse(s) for s in ("Z0", "Z1", "Z2", "Z3", "Z0Z1", "Z1Z2Z3", "Z0Z1Z2Z3")]
WEIGHTS = torch.tensor([1, 1, 1, 1, 2, 3, 4], dtype=torch.float64)


def _random_case(seed: int, rows: int = 6, layers: int = 2):
    layer = QuantumLayer(4, ansatz="strongly_entangling", layers=layers, seed=seed, observables=OBS).double()
    x = torch.rand(rows, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) * math.pi
    return layer.circuit, layer.slot_values(x).detach()


def _one_qubit(gate: str = "RX"):
    b = CircuitBuilder(1)
    b.add(gate, [0], b.input(0))
    return b.build()


THETA = torch.linspace(0.1, 3.0, 7, dtype=torch.float64).unsqueeze(1)


def test_registered_and_noiseless_equals_torch():
    circuit, values = _random_case(0)
    noiseless = get_backend("torch.noisy").expectations(circuit, values)
    exact = get_backend("torch").expectations(circuit, values)
    assert torch.allclose(noiseless, exact, atol=1e-12)


@pytest.mark.parametrize("q", [0.02, 0.1])
def test_symmetric_readout_scales_each_z_string_by_1_minus_2q_to_its_weight(q):
    for seed in range(3):
        circuit, values = _random_case(seed)
        exact = get_backend("torch").expectations(circuit, values)
        noisy = get_backend("torch.noisy", readout_error=q).expectations(circuit, values)
        assert torch.allclose(noisy, exact * (1 - 2 * q) ** WEIGHTS, atol=1e-12)


def test_asymmetric_readout_is_affine_per_qubit():
    """One Z: E~ = (p10 - p01) + (1 - p01 - p10) E (derived in docs/mitigation.md)."""
    pairs = [[0.02, 0.08], [0.1, 0.0], [0.0, 0.05], [0.03, 0.03]]
    circuit, values = _random_case(4)
    exact = get_backend("torch").expectations(circuit, values)[:, :4]
    noisy = get_backend("torch.noisy", readout_error=pairs).expectations(circuit, values)[:, :4]
    a = torch.tensor([p10 - p01 for p01, p10 in pairs], dtype=torch.float64)
    c = torch.tensor([1 - p01 - p10 for p01, p10 in pairs], dtype=torch.float64)
    assert torch.allclose(noisy, a + c * exact, atol=1e-12)


def test_depolarizing_closed_form():
    p = 0.09
    out = get_backend("torch.noisy", depolarizing=p).expectations(_one_qubit(), THETA)
    assert torch.allclose(out[:, 0], (1 - 4 * p / 3) * torch.cos(THETA[:, 0]), atol=1e-12)


def test_amplitude_damping_closed_form():
    g = 0.2
    out = get_backend("torch.noisy", amplitude_damping=g).expectations(_one_qubit("RY"), THETA)
    assert torch.allclose(out[:, 0], 1 - 2 * (1 - g) * torch.sin(THETA[:, 0] / 2) ** 2, atol=1e-12)


def test_two_qubit_depolarizing_closed_form():
    """A Bell pair: <Z0 Z1> and <X0 X1> shrink by 1 - 16p/15; the 1-qubit channel does not act on 2-qubit gates alone."""
    p = 0.15
    b = CircuitBuilder(2)
    b.add("H", [0])
    b.add("CNOT", [0, 1])
    circuit = b.build([Observable.parse("Z0Z1"), Observable.parse("X0X1"), Observable.parse("Z0")])
    out = get_backend("torch.noisy", two_qubit_depolarizing=p).expectations(circuit, torch.zeros(1, 0, dtype=torch.float64))
    assert torch.allclose(out, torch.tensor([[1 - 16 * p / 15, 1 - 16 * p / 15, 0.0]], dtype=torch.float64), atol=1e-12)


def test_backprop_matches_finite_differences_with_every_channel():
    backend = NoisyTorchBackend(depolarizing=0.03, two_qubit_depolarizing=0.05, amplitude_damping=0.04, readout_error=[0.02, 0.06])
    circuit, values = _random_case(5, rows=2, layers=1)
    assert torch.autograd.gradcheck(lambda v: backend.expectations(circuit, v), (values.clone().requires_grad_(True),))


def test_complex64_and_float32():
    circuit, values = _random_case(6)
    backend = NoisyTorchBackend(depolarizing=0.02)
    low = backend.expectations(circuit, values.float())
    assert low.dtype == torch.float32
    assert torch.allclose(low.double(), backend.expectations(circuit, values), atol=1e-5)


def test_shots_within_the_shot_noise_bound():
    backend = NoisyTorchBackend(depolarizing=0.02, readout_error=0.05, seed=3)
    circuit, values = _random_case(7)
    exact = backend.expectations(circuit, values)
    sampled = backend.expectations(circuit, values, shots=4000)
    assert sampled.dtype == torch.float64
    assert bool(((sampled - exact).abs() <= shot_tolerance(exact, circuit.observables, 4000)).all())


def test_option_errors_name_the_fix():
    with pytest.raises(ConfigError, match="pair"):
        get_backend("torch.noisy", readout_error=[0.1, 0.2, 0.3])
    circuit, values = _random_case(8)
    with pytest.raises(ConfigError, match="one \\[p01, p10\\] per qubit"):
        NoisyTorchBackend(readout_error=[[0.1, 0.1]]).expectations(circuit, values)


@parametrize_with_checks([NoisyTorchBackend(), NoisyTorchBackend(precision="complex128", seed=1)])
def test_conformance(component, check):
    check(component)


@pytest.mark.vendor
@pytest.mark.parametrize("name,options,observables", [
    # The Braket adapter flips bits before the basis change, so its readout noise leaves X terms alone: compare Z terms.
    ("braket.local:dm", {"depolarizing": 0.02, "readout_error": 0.04}, ["Z0", "Z1Z2", "Z2"]),
    ("pennylane:default.mixed", {"depolarizing": 0.02, "readout": 0.04}, ["Z0", "Z1Z2", "X0"]),
])
def test_agrees_with_vendor_density_matrix_simulators(name, options, observables):
    """Same noise placement as the adapters: depolarizing per wire after every gate, symmetric readout flips."""
    family = name.split(".")[0].split(":")[0]
    plugin = pytest.importorskip(f"hqnn_{family}")
    import hqnn_core

    with hqnn_core.temporary_plugin(plugin, name=family, distribution="hqnn"):
        vendor = get_backend(name, **options)
        layer = QuantumLayer(3, ansatz="hardware_efficient", layers=2, seed=9, observables=observables).double()
        values = layer.slot_values(torch.rand(3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(9))).detach()
        theirs = vendor.expectations(layer.circuit, values)
    ours = NoisyTorchBackend(depolarizing=0.02, readout_error=0.04).expectations(layer.circuit, values)
    exact = get_backend("torch").expectations(layer.circuit, values)
    assert (ours - exact).abs().max() > 0.01  # the noise is visible...
    assert torch.allclose(ours, theirs.to(ours.dtype), atol=1e-6)  # ...and identical to the vendor's
