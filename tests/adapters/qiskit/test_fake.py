"""``qiskit.fake:<device>``: the same model on a noisy IBM device snapshot, and by how much it differs."""

import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_ibm_runtime")

import torch  # noqa: E402

from hqnn_core import CapabilityError, CircuitBuilder, ConfigError, QuantumLayer, get_backend  # noqa: E402

pytestmark = [pytest.mark.vendor, pytest.mark.shots]

SHOTS = 4000


def _x() -> torch.Tensor:
    return torch.rand(16, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 3


def _outputs(backend: str, shots: int | None, seed: int = 1) -> torch.Tensor:
    options = {"seed": seed} if shots else {}
    layer = QuantumLayer(3, layers=2, backend=backend, shots=shots, seed=0, backend_options=options).double()
    with torch.no_grad():
        return layer(_x())


def test_noisy_device_differs_from_exact_by_the_stated_amount():
    """3 qubits, 2 hardware-efficient layers, 16 inputs, 4000 shots on FakeManilaV2.

    Measured: mean |noisy - exact| = 0.057 (shots alone, on noiseless Aer: 0.010) and a least-squares
    shrink factor of 0.86: gate and readout errors pull every expectation towards 0.
    """
    exact = _outputs("qiskit.aer", None)
    noisy = _outputs("qiskit.fake:manila", SHOTS)
    sampled = _outputs("qiskit.aer", SHOTS)
    noisy_err = (noisy - exact).abs().mean().item()
    shot_err = (sampled - exact).abs().mean().item()
    assert 0.02 < noisy_err < 0.2
    assert noisy_err > 3 * shot_err  # the difference is the device's noise, not shot noise
    shrink = ((noisy * exact).sum() / (exact**2).sum()).item()
    assert 0.6 < shrink < 0.97


def test_same_seed_reproduces_device_samples():
    assert torch.equal(_outputs("qiskit.fake:manila", 500, seed=4), _outputs("qiskit.fake:manila", 500, seed=4))
    assert not torch.equal(_outputs("qiskit.fake:manila", 500, seed=4), _outputs("qiskit.fake:manila", 500, seed=5))


def test_a_training_step_is_one_job_and_transpiles_once():
    layer = QuantumLayer(3, layers=1, backend="qiskit.fake:manila", gradient="parameter_shift", shots=128, seed=0)
    for _ in range(2):
        layer(torch.rand(8, 3)).sum().backward()
    assert layer.backend.accounting.jobs == 2
    assert len(layer.backend._prepared) == 1  # one (circuit, Z basis) compilation serves every step


@pytest.mark.parametrize("name", ["manila", "fake_manila", "FakeManilaV2", "FakeManila"])
def test_device_name_spellings(name):
    backend = get_backend(f"qiskit.fake:{name}")
    assert backend.device.name == "fake_manila" and backend.capabilities.max_qubits == 5


def test_unknown_device_suggests_close_names():
    with pytest.raises(ConfigError, match=r"qiskit\.fake:manila") as info:
        get_backend("qiskit.fake:manilla")
    assert "Available devices" in str(info.value)


def test_exact_mode_and_oversized_circuits_are_rejected_before_any_job():
    backend = get_backend("qiskit.fake:manila")
    assert backend.capabilities.noise and not backend.capabilities.analytic
    b = CircuitBuilder(2)
    b.add("H", [0])
    with pytest.raises(CapabilityError, match="only samples"):
        backend.expectations(b.build(), torch.zeros(1, 0))
    wide = CircuitBuilder(6)
    wide.add("H", [0])
    with pytest.raises(CapabilityError, match="at most 5"):
        backend.expectations(wide.build(), torch.zeros(1, 0), shots=10)
    assert backend.accounting.jobs == 0


def test_describe_names_the_calibration_snapshot():
    info = get_backend("qiskit.fake:manila").describe()
    device = info["device"]
    assert info["name"] == "qiskit.fake:manila"
    assert device["name"] == "fake_manila" and device["num_qubits"] == 5
    assert device["calibration"]["last_update_date"].startswith("2024-05-27")
    assert {"cx", "rz", "sx"} <= set(device["basis_gates"])
