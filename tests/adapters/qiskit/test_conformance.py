"""hqnn's conformance suite (``hqnn_core.testing``) against the Aer backends: exact, sampled and a noisy device."""

import importlib.util

import pytest

pytest.importorskip("qiskit_aer")

from hqnn_core.testing import parametrize_with_checks  # noqa: E402
from hqnn_qiskit.backend import AerBackend, FakeDeviceBackend  # noqa: E402

pytestmark = pytest.mark.vendor

HAS_RUNTIME = importlib.util.find_spec("qiskit_ibm_runtime") is not None


@parametrize_with_checks([AerBackend(), AerBackend(method="statevector", seed=1)])
def test_conformance(component, check):
    check(component)


@parametrize_with_checks([FakeDeviceBackend("manila", seed=2)] if HAS_RUNTIME else [])  # empty: skipped without qiskit-ibm-runtime
def test_conformance_noisy_device(component, check):
    check(component)
