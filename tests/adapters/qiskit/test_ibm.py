"""``qiskit.ibm:<backend>`` offline: missing credentials, and the whole path in qiskit-ibm-runtime's local mode.

The local testing mode runs the runtime's own Sampler on a fake device, so everything but the
network is exercised: transpiling, one job per call, result conversion, error mapping, provenance.
"""

import os

import pytest

pytest.importorskip("qiskit_aer")
pytest.importorskip("qiskit_ibm_runtime")

import torch  # noqa: E402

from hqnn_core import CapabilityError, CircuitBuilder, ConfigError, PermanentBackendError, QuantumLayer, get_backend  # noqa: E402
from hqnn_qiskit.backend import IBMBackend  # noqa: E402

pytestmark = pytest.mark.vendor

TOKEN = "a1b2c3d4" * 16  # looks like an IBM API token (128 hex characters)


@pytest.fixture
def no_account(monkeypatch, tmp_path):
    import qiskit_ibm_runtime.accounts.management as management

    monkeypatch.setattr(management, "_DEFAULT_ACCOUNT_CONFIG_JSON_FILE", str(tmp_path / "qiskit-ibm.json"))
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_URL", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL"):
        monkeypatch.delenv(name, raising=False)


class _LocalService:
    """Stands in for QiskitRuntimeService: hands out fake devices, which run in local testing mode."""

    calls: list[dict] = []

    def __init__(self, **kwargs):
        type(self).calls.append(kwargs)

    def backend(self, name):
        from qiskit_ibm_runtime.fake_provider import FakeManilaV2

        if name != "ibm_manila":
            from qiskit_ibm_runtime.exceptions import IBMBackendValueError

            raise IBMBackendValueError(f"No backend matches the criteria: {name}")
        return FakeManilaV2()


@pytest.fixture
def local_service(monkeypatch):
    _LocalService.calls = []
    monkeypatch.setattr(IBMBackend, "service_factory", _LocalService)
    return _LocalService


def test_no_account_fails_before_any_job_and_names_the_fix(no_account):
    with pytest.raises(PermanentBackendError) as info:
        get_backend("qiskit.ibm:ibm_brisbane")
    message = str(info.value)
    assert "QiskitRuntimeService.save_account" in message and "QISKIT_IBM_TOKEN" in message


def test_a_token_in_options_is_refused():
    with pytest.raises(ConfigError, match="token"):
        get_backend("qiskit.ibm:ibm_brisbane", token=TOKEN)


def test_environment_token_is_accepted_and_never_described(no_account, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    backend = get_backend("qiskit.ibm:ibm_brisbane", instance="my-instance")
    assert backend.capabilities.remote and not backend.capabilities.analytic and not backend.capabilities.deterministic_shots
    info = backend.describe()
    assert TOKEN not in repr(info)
    assert info["device"]["name"] == "ibm_brisbane" and info["device"]["instance"] == "my-instance"
    assert backend.accounting.jobs == 0  # constructing it connected to nothing


def _unwrapped(backend):
    """Layers put remote backends behind a retrying fallback chain; the IBM backend is its first link."""
    links = getattr(backend, "links", None)
    return links[0].backend if links else backend


def test_local_mode_runs_a_training_step_as_one_job(local_service):
    layer = QuantumLayer(3, layers=1, backend="qiskit.ibm:ibm_manila", gradient="parameter_shift", shots=512, seed=0,
                         backend_options={"channel": "ibm_quantum_platform", "optimization_level": 1})
    x = torch.rand(4, 3)
    layer(x).sum().backward()
    backend = _unwrapped(layer.backend)
    assert backend.accounting.jobs == 1 and backend.accounting.circuits == 4 * (1 + 2 * 6)
    assert local_service.calls == [{"channel": "ibm_quantum_platform"}]
    assert backend.capabilities.max_qubits == 5  # learnt from the device once connected
    exact = QuantumLayer(3, layers=1, backend="qiskit.aer", seed=0)
    with torch.no_grad():
        error = (layer(x) - exact(x)).abs().mean().item()
    assert error < 0.25  # the fake device's noise and 512 shots (measured: about 0.05)
    assert layer.weights.grad is not None and bool(torch.isfinite(layer.weights.grad).all())
    info = backend.describe()
    assert info["device"]["name"] == "fake_manila" and info["device"]["calibration"]["last_update_date"]


def test_local_mode_rejects_oversized_circuits_before_submitting(local_service):
    backend = get_backend("qiskit.ibm:ibm_manila")
    b = CircuitBuilder(6)
    b.add("H", [0])
    with pytest.raises(CapabilityError, match="at most 5"):
        backend.expectations(b.build(), torch.zeros(1, 0), shots=100)
    assert backend.accounting.jobs == 0


def test_unknown_device_is_a_permanent_error(local_service):
    backend = get_backend("qiskit.ibm:ibm_nowhere")
    b = CircuitBuilder(1)
    b.add("H", [0])
    with pytest.raises(PermanentBackendError, match="ibm_nowhere"):
        backend.expectations(b.build(), torch.zeros(1, 0), shots=100)


@pytest.mark.remote
@pytest.mark.skipif(not os.environ.get("HQNN_IBM_BACKEND"), reason="set HQNN_IBM_BACKEND=<device> (and an IBM account) to run on a QPU")
def test_real_qpu_smoke():  # pragma: no cover - never runs in CI
    backend = get_backend(f"qiskit.ibm:{os.environ['HQNN_IBM_BACKEND']}", max_execution_time=60)
    b = CircuitBuilder(2)
    b.add("H", [0])
    b.add("CNOT", [0, 1])
    out = backend.expectations(b.build(), torch.zeros(1, 0), shots=1000)
    assert out[0, 0].item() == pytest.approx(0.0, abs=0.2)
    assert backend.accounting.jobs == 1


def test_an_ibm_qpu_prices_itself_from_the_adapter(no_account, monkeypatch):
    from hqnn_core.pricing import device_class, price_of
    from hqnn_qiskit.pricing import IBM_QPU

    monkeypatch.setenv("QISKIT_IBM_TOKEN", TOKEN)
    backend = get_backend("qiskit.ibm:ibm_brisbane", instance="my-instance")
    assert device_class(backend) == "ibm:qpu" and price_of(backend) is IBM_QPU
    # IBM pay-as-you-go, 96 USD/min; one job of 1000 shots ~ 2 s + 1000 * 250 us = 2.25 s = 3.60 USD
    assert IBM_QPU.cost(1, 1000) == pytest.approx(3.6)
