"""PennyLaneBackend's contract: registration, capabilities per device, gradient choice, shapes and dtypes."""

from __future__ import annotations

import pytest

qml = pytest.importorskip("pennylane")

import torch  # noqa: E402

import hqnn_pennylane  # noqa: E402
from hqnn_core import CapabilityError, ConfigError, QuantumLayer, UnsupportedError, get_backend  # noqa: E402
from hqnn_core.circuit import CircuitBuilder, Observable  # noqa: E402

pytestmark = pytest.mark.vendor


def _circuit(n: int = 2):
    b = CircuitBuilder(n)
    for w in range(n):
        b.add("RY", [w], b.input(w))
        b.add("RZ", [w], b.weight(w))
    b.add("CNOT", [0, 1])
    return b.build()


def test_family_is_registered_lazily_with_its_extra(adapter_plugin):
    entry = adapter_plugin.backends.entry("pennylane")
    assert entry.family and entry.extra == "pennylane" and entry.requires == ("pennylane",)
    assert entry.target == "hqnn_pennylane.backend:PennyLaneBackend"
    assert entry.available


@pytest.mark.parametrize(
    ("device", "backprop", "adjoint", "max_qubits"),
    [("default.qubit", True, False, 30), ("lightning.qubit", False, True, 30), ("default.mixed", True, False, 14)],
)
def test_capabilities_per_device(device, backprop, adjoint, max_qubits):
    backend = get_backend(f"pennylane:{device}")
    caps = backend.capabilities
    assert (caps.backprop, caps.adjoint, caps.max_qubits) == (backprop, adjoint, max_qubits)
    assert caps.analytic and caps.shots and not caps.noise and not caps.remote and caps.max_circuits_per_job is None
    assert type(backend).capabilities is not caps  # per instance; the class attribute is untouched
    info = backend.describe()
    assert info["name"] == f"pennylane:{device}" and info["device"] == device
    assert info["versions"]["pennylane"] == qml.__version__


def test_diff_method_can_be_forced_and_is_checked():
    backend = get_backend("pennylane:default.qubit", diff_method="adjoint")
    assert backend.capabilities.adjoint and not backend.capabilities.backprop
    layer = QuantumLayer(2, backend=backend, gradient="adjoint", seed=0)
    x = torch.rand(3, 2)
    layer(x).sum().backward()
    reference = QuantumLayer(2, backend="torch", seed=0)
    reference(x).sum().backward()
    torch.testing.assert_close(layer.weights.grad, reference.weights.grad, atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match="does not support diff_method='backprop'"):
        get_backend("pennylane:lightning.qubit", diff_method="backprop")


def test_best_gradient_per_device_and_shots():
    assert QuantumLayer(2, backend="pennylane:default.qubit", seed=0).gradient.name == "backprop"
    assert QuantumLayer(2, backend="pennylane:lightning.qubit", seed=0).gradient.name == "adjoint"
    assert QuantumLayer(2, backend="pennylane:lightning.qubit", shots=100, seed=0).gradient.name == "parameter_shift"
    with pytest.raises(UnsupportedError, match="backprop"):
        QuantumLayer(2, backend="pennylane:lightning.qubit", gradient="backprop", seed=0)


def test_choose_gradient_hook_only_speaks_for_adjoint_only_pennylane_devices():
    circuit = _circuit()
    choose = hqnn_pennylane.hqnn_choose_gradient
    assert choose(backend=get_backend("pennylane:lightning.qubit"), circuit=circuit, shots=None) == "adjoint"
    assert choose(backend=get_backend("pennylane:lightning.qubit"), circuit=circuit, shots=10) is None
    assert choose(backend=get_backend("pennylane:default.qubit"), circuit=circuit, shots=None) is None
    assert choose(backend=get_backend("torch"), circuit=circuit, shots=None) is None


def test_shapes_dtypes_and_no_squeeze():
    backend = get_backend("pennylane:default.qubit")
    circuit = _circuit().with_observables([Observable.parse("Z0Z1")])
    one = backend.expectations(circuit, torch.rand(1, 4, dtype=torch.float64))
    assert one.shape == (1, 1) and one.dtype == torch.float64 and not one.requires_grad
    grad32 = backend.expectations(circuit, torch.rand(5, 4, requires_grad=True))
    assert grad32.shape == (5, 1) and grad32.dtype == torch.float32 and grad32.requires_grad
    nograd32 = backend.expectations(circuit, torch.rand(5, 4))
    assert nograd32.dtype == torch.float64 and not nograd32.requires_grad


def test_all_tasks_of_a_call_are_one_job():
    backend = get_backend("pennylane:default.qubit")
    tasks = [(_circuit(), torch.rand(4, 4, dtype=torch.float64)), (_circuit(3), torch.rand(2, 6, dtype=torch.float64))]
    results = backend.run_batch(tasks)
    reference = get_backend("torch").run_batch(tasks)
    assert backend.accounting.jobs == 1 and backend.accounting.circuits == 6
    for got, want in zip(results, reference):
        torch.testing.assert_close(got, want, atol=1e-10, rtol=0)


def test_too_many_qubits_are_rejected_before_any_job():
    backend = get_backend("pennylane:default.mixed")
    b = CircuitBuilder(15)
    b.add("H", [14])
    with pytest.raises(CapabilityError, match="at most 14"):
        backend.expectations(b.build(), torch.zeros(1, 0, dtype=torch.float64))
    assert backend.accounting.jobs == 0


def test_translation_is_cached_per_circuit():
    backend = get_backend("pennylane:default.qubit")
    circuit = _circuit()
    backend.expectations(circuit, torch.rand(2, 4, dtype=torch.float64))
    first = backend.translation(circuit)
    backend.expectations(circuit, torch.rand(3, 4, dtype=torch.float64))
    assert backend.translation(circuit) is first


def test_shared_weight_columns_keep_gradients_exact():
    """Identical weight rows go to PennyLane as one scalar; input rows keep their own gradients."""
    circuit = _circuit()
    x = torch.rand(4, 2, dtype=torch.float64)
    w = torch.tensor([0.3, -0.8], dtype=torch.float64)

    def grads(backend_name: str, **options):
        xi, wi = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        values = torch.stack([xi[:, 0], wi[0].expand(4), xi[:, 1], wi[1].expand(4)], dim=1)
        get_backend(backend_name, **options).expectations(circuit, values).sum().backward()
        return xi.grad, wi.grad

    want = grads("torch")
    for options in ({}, {"share_weights": False}):
        got = grads("pennylane:default.qubit", **options)
        torch.testing.assert_close(got, want, atol=1e-12, rtol=0)


def test_threads_option_is_validated_and_results_do_not_depend_on_it():
    circuit = _circuit()
    values = torch.rand(6, 4, dtype=torch.float64)
    a = get_backend("pennylane:lightning.qubit", threads=1).expectations(circuit, values)
    b = get_backend("pennylane:lightning.qubit", threads=2).expectations(circuit, values)
    torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    with pytest.raises(ConfigError):
        get_backend("pennylane:lightning.qubit", threads=0)


def test_every_option_is_documented():
    from pathlib import Path

    from hqnn_pennylane.backend import PennyLaneBackend

    page = (Path(__file__).resolve().parents[3] / "docs" / "adapters" / "pennylane.md").read_text()
    for name, field in PennyLaneBackend.Options.model_fields.items():
        default = str(field.default).lower() if isinstance(field.default, bool) or field.default is None else str(field.default)
        default = "null" if field.default is None else default
        assert f"| `{name}` | `{default}` |" in page, (
            f"option {name!r} (default {default}) is missing from docs/adapters/pennylane.md"
        )


def test_a_device_needing_more_arguments_is_a_config_error_naming_the_alternative(monkeypatch):
    def needs_arn(name, wires=None, **kwargs):
        raise TypeError(f"{name} missing 1 required argument: 'device_arn'")

    monkeypatch.setattr(qml, "device", needs_arn)
    with pytest.raises(ConfigError, match="device_arn.*braket.aws:<device arn>"):
        get_backend("pennylane:default.qubit")


def test_family_without_a_device_says_how_to_name_one():
    from hqnn_pennylane.backend import PennyLaneBackend

    with pytest.raises(ConfigError, match="pennylane:<device>"):
        PennyLaneBackend()
