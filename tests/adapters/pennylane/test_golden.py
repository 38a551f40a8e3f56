"""Closed-form golden circuits on PennyLane devices: values and parameter-shift Jacobians to 1e-6."""

from __future__ import annotations

import pytest

pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core import get_backend, get_gradient  # noqa: E402
from hqnn_core.execution import Executor  # noqa: E402
from hqnn_core.testing.golden import golden_cases  # noqa: E402

pytestmark = pytest.mark.vendor

DEVICES = ["default.qubit", "lightning.qubit"]
CASES = golden_cases()


@pytest.fixture(scope="module", params=DEVICES)
def device(request):
    return request.param


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_golden_values_and_parameter_shift_gradients(device, case):
    backend = get_backend(f"pennylane:{device}")
    values = backend.expectations(case.circuit, case.slot_values)
    assert values.dtype == torch.float64 and values.shape == case.values.shape
    torch.testing.assert_close(values, case.values, atol=1e-6, rtol=0)
    if case.circuit.n_slots:
        executor = Executor(backend, get_gradient("parameter_shift"))
        trainable = torch.ones(case.circuit.n_slots, dtype=torch.bool)
        jobs = backend.accounting.jobs
        vals, jac = executor.values_and_jacobian(case.circuit, case.slot_values, trainable)
        assert backend.accounting.jobs - jobs == 1
        torch.testing.assert_close(vals, case.values, atol=1e-6, rtol=0)
        torch.testing.assert_close(jac, case.jacobian, atol=1e-6, rtol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_golden_gradients_through_the_device(device):
    """backprop (default.qubit) / adjoint (lightning.qubit) Jacobians against the closed forms."""
    backend = get_backend(f"pennylane:{device}")
    for case in CASES:
        if not case.circuit.n_slots:
            continue
        x = case.slot_values.clone().requires_grad_(True)
        jac = torch.autograd.functional.jacobian(lambda v, c=case.circuit: backend.expectations(c, v), x)  # [N, K, N, S]
        jac = torch.einsum("nkns->nks", jac)
        torch.testing.assert_close(jac, case.jacobian, atol=1e-6, rtol=0, msg=case.name)


def test_golden_values_on_braket_local_qubit():
    pytest.importorskip("braket.pennylane_plugin", reason="amazon-braket-pennylane-plugin not installed")
    backend = get_backend("pennylane:braket.local.qubit")
    assert not backend.capabilities.backprop and not backend.capabilities.adjoint
    for case in CASES:
        torch.testing.assert_close(
            backend.expectations(case.circuit, case.slot_values), case.values, atol=1e-6, rtol=0, msg=case.name
        )
