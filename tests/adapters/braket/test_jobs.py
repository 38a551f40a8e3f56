"""One training step of batch 32 with parameter-shift costs exactly ceil(circuits / limit) Braket jobs.

A job is one program set's worth of executables: at most the simulator's ``maximumExecutables``
(100) and ``maximumTotalShots`` (200000) / shots. The whole step is ONE backend call.
"""

from __future__ import annotations

import math

import pytest

pytest.importorskip("braket.devices")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402

pytestmark = pytest.mark.vendor


@pytest.mark.parametrize(("shots", "limit"), [(None, 100), (1000, 100), (4000, 50)])
def test_one_training_step_submits_ceil_circuits_over_limit_jobs(float64, shots, limit):
    layer = QuantumLayer(4, layers=2, backend="braket.local:sv", gradient="parameter_shift", shots=shots, seed=0,
                         backend_options={"seed": 0})
    model = nn.Sequential(layer, nn.Linear(4, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.rand(32, 4) * math.pi, torch.randint(0, 2, (32, 1)).to(torch.float64)
    before = layer.weights.detach().clone()

    loss = nn.functional.binary_cross_entropy_with_logits(model(x), y)
    loss.backward()
    optimizer.step()

    acc, backend = layer.backend.accounting, layer.backend
    assert backend.capabilities.max_circuits_per_job == 100 and backend.executables_per_job(shots) == limit
    assert acc.calls == 1
    assert acc.circuits == 32 * (1 + 2 * layer.weights.numel())  # the rows, then two shifts per weight
    assert acc.jobs == math.ceil(acc.circuits / limit) == backend.jobs_for(acc.circuits, shots)
    assert not torch.equal(layer.weights.detach(), before)
