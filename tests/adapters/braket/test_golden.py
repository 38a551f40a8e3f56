"""Closed-form golden circuits on the Braket local simulators: values and parameter-shift gradients.

The oracle is ``hqnn_core.testing.golden`` (closed forms, not another simulator). Both engines of
``braket.local:sv`` are checked, and the density-matrix simulator without noise must give the same.
"""

from __future__ import annotations

import pytest

pytest.importorskip("braket.devices")

import torch  # noqa: E402

from hqnn_core import get_backend, get_gradient  # noqa: E402
from hqnn_core.testing.golden import golden_cases  # noqa: E402

pytestmark = pytest.mark.vendor

CASES = golden_cases()
IDS = [c.name for c in CASES]


def _values_and_jacobian(backend, case):
    if case.circuit.n_slots == 0:  # nothing to differentiate (the core's parameter-shift expand needs a slot)
        return backend.expectations(case.circuit, case.slot_values), case.jacobian.new_zeros(case.jacobian.shape)
    estimator = get_gradient("parameter_shift")
    trainable = torch.ones(case.circuit.n_slots, dtype=torch.bool)
    batch = estimator.expand(case.circuit, case.slot_values, trainable)
    return estimator.combine(batch, backend.expectations(case.circuit, batch.slot_values))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@pytest.mark.parametrize("target", ["sv", "dm"])
def test_direct_engine_values_and_parameter_shift_gradients(case, target):
    backend = get_backend(f"braket.local:{target}")
    values, jac = _values_and_jacobian(backend, case)
    assert values.dtype == torch.float64 and values.shape == case.values.shape
    torch.testing.assert_close(values, case.values, atol=1e-6, rtol=0)
    torch.testing.assert_close(jac, case.jacobian, atol=1e-6, rtol=0)


def test_sdk_engine_values_on_every_golden_case():
    """LocalSimulator.run_batch of the OpenQASM program, all cases in one backend call."""
    backend = get_backend("braket.local:sv", engine="sdk", max_parallel=1)
    results = backend.run_batch([(c.circuit, c.slot_values) for c in CASES])
    for case, out in zip(CASES, results):
        torch.testing.assert_close(out, case.values, atol=1e-6, rtol=0, msg=lambda m, name=case.name: f"{name}: {m}")
    units = sum(int(c.slot_values.shape[0]) for c in CASES)
    assert backend.accounting.jobs == backend.jobs_for(units) == 1  # the local simulator enforces no program-set limit


@pytest.mark.parametrize("name", ["crx_four_term", "rot"])
def test_sdk_engine_parameter_shift_gradients(name):
    case = next(c for c in CASES if c.name == name)
    values, jac = _values_and_jacobian(get_backend("braket.local:sv", engine="sdk", max_parallel=1), case)
    torch.testing.assert_close(values, case.values, atol=1e-6, rtol=0)
    torch.testing.assert_close(jac, case.jacobian, atol=1e-6, rtol=0)
