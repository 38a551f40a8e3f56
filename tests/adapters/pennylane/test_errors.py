"""Error mapping table, missing-SDK and unknown-device messages, and a plugin module that never imports PennyLane."""

from __future__ import annotations

import subprocess
import sys

import pytest

qml = pytest.importorskip("pennylane")

import torch  # noqa: E402
from pennylane import exceptions as plx  # noqa: E402

import hqnn_core.registry  # noqa: E402
from hqnn_core import MissingExtraError, PermanentBackendError, TransientBackendError, UnknownComponentError, get_backend  # noqa: E402
from hqnn_core.circuit import CircuitBuilder  # noqa: E402
from hqnn_pennylane.errors import ERROR_TABLE, TRANSIENT_NAMES, classify, map_error  # noqa: E402

pytestmark = pytest.mark.vendor

EXPECTED = [
    (plx.DeviceError, PermanentBackendError),
    (plx.WireError, PermanentBackendError),
    (plx.QuantumFunctionError, PermanentBackendError),
    (plx.DecompositionError, PermanentBackendError),
    (plx.DecompositionUndefinedError, PermanentBackendError),  # through OperatorPropertyUndefined
    (plx.MatrixUndefinedError, PermanentBackendError),
    (plx.TransformError, PermanentBackendError),
    (plx.NonDifferentiableError, PermanentBackendError),
    (plx.AllocationError, PermanentBackendError),
    (MemoryError, PermanentBackendError),
    (ConnectionError, TransientBackendError),
    (ConnectionResetError, TransientBackendError),
    (TimeoutError, TransientBackendError),
]


@pytest.mark.parametrize(("exc_type", "expected"), EXPECTED, ids=[e.__name__ for e, _ in EXPECTED])
def test_table_maps_real_exception_classes(exc_type, expected):
    mapped = map_error(exc_type("boom"), "pennylane:default.qubit")
    assert type(mapped) is expected
    assert "pennylane:default.qubit" in str(mapped) and "boom" in str(mapped)
    assert ("retry later" in str(mapped)) == (expected is TransientBackendError)


def test_every_table_row_is_exercised():
    assert {row[0] for row in ERROR_TABLE} <= {c for c, _ in EXPECTED} | {
        plx.OperatorPropertyUndefined,
        plx.MeasurementShapeError,
    }


@pytest.mark.parametrize("name", sorted(TRANSIENT_NAMES))
def test_service_errors_of_plugin_sdks_are_transient_by_name(name):
    botocore_like = type(name, (Exception,), {})
    assert classify(botocore_like("slow down")) == (TransientBackendError, "a remote service is busy or unreachable")


@pytest.mark.parametrize("exc", [TypeError("bug"), ValueError("bug"), KeyError("bug")])
def test_programming_errors_are_not_disguised_as_backend_failures(exc):
    assert map_error(exc, "pennylane:default.qubit") is None


def test_a_failing_execution_raises_the_mapped_error_with_the_cause(monkeypatch):
    backend = get_backend("pennylane:default.qubit")
    b = CircuitBuilder(1)
    b.add("RX", [0], b.weight(0))
    circuit = b.build()

    def broken(*args, **kwargs):
        raise plx.DeviceError("device exploded")

    monkeypatch.setattr(qml, "execute", broken)
    with pytest.raises(PermanentBackendError, match="device exploded") as info:
        backend.expectations(circuit, torch.zeros(2, 1, dtype=torch.float64))
    assert isinstance(info.value.__cause__, plx.DeviceError)


def test_missing_sdk_names_the_extra(monkeypatch, adapter_plugin):
    monkeypatch.setattr(hqnn_core.registry, "missing_modules", lambda modules: [m for m in modules if m == "pennylane"])
    entry = adapter_plugin.backends.entry("pennylane")
    assert not entry.available and 'pip install "hqnn[pennylane]"' in entry.reason
    with pytest.raises(MissingExtraError) as info:
        get_backend("pennylane:default.qubit")
    message = str(info.value)
    assert "needs PennyLane, which is not installed" in message
    assert message.endswith('Install it with: pip install "hqnn[pennylane]"')
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_unknown_device_lists_installed_devices():
    with pytest.raises(UnknownComponentError) as info:
        get_backend("pennylane:default.qubitt")
    message = str(info.value)
    assert "Did you mean 'pennylane:default.qubit'" in message
    assert "lightning.qubit" in message and "default.mixed" in message


def test_plugin_module_does_not_import_pennylane():
    code = (
        "import sys, hqnn_pennylane, hqnn_core\n"
        "info = hqnn_pennylane.hqnn_environment_info()\n"
        "assert 'pennylane' not in sys.modules, 'plugin module imported pennylane'\n"
        "print(info['pennylane'])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == qml.__version__
