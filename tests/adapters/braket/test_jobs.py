"""Jobs per training step on ``braket.local``: one, as the local simulators enforce no program-set limit.

The local simulators state the managed devices' limits (``maximumExecutables`` 100,
``maximumTotalShots`` 200000) but run a program set past both (checked below), so a step that is
one backend call is one job. ``emulate_limits`` chunks as a managed device must:
``ceil(circuits / limit)`` jobs, with ``limit = min(100, 200000 // shots)``.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("braket.devices")

import torch  # noqa: E402
import yaml  # noqa: E402
from torch import nn  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402

pytestmark = pytest.mark.vendor

DIGITS = yaml.safe_load((Path(__file__).resolve().parents[3] / "examples" / "digits.yaml").read_text())


def _step(shots: int | None, emulate: bool, batch: int) -> QuantumLayer:
    quantum = DIGITS["model"]["quantum"]
    layer = QuantumLayer(quantum["n_qubits"], encoder=quantum["encoder"], ansatz=quantum["ansatz"], layers=quantum["layers"],
                         backend="braket.local:sv", gradient=quantum["gradient"], shots=shots, seed=0,
                         backend_options={"seed": 0, "emulate_limits": emulate})
    model = nn.Sequential(layer, nn.Linear(quantum["n_qubits"], 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    x, y = torch.rand(batch, quantum["n_qubits"]) * math.pi, torch.randint(0, 2, (batch, 1)).to(torch.float64)
    before = layer.weights.detach().clone()
    nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
    optimizer.step()
    assert not torch.equal(layer.weights.detach(), before)
    return layer


@pytest.mark.parametrize("shots", [None, 1000, 4000])
def test_a_digits_profile_step_is_one_job(float64, shots):
    layer = _step(shots, emulate=False, batch=DIGITS["train"]["batch_size"])
    acc, backend = layer.backend.accounting, layer.backend
    assert layer.gradient.name == "parameter_shift"  # "best" on a backend without backprop
    assert acc.calls == 1 and acc.circuits == 16 * (1 + 2 * 16) == 528  # the rows, then two shifts per weight
    assert acc.jobs == 1 == backend.jobs_for(acc.circuits, shots)
    assert backend.capabilities.max_circuits_per_job is None and backend.executables_per_job(shots) is None


@pytest.mark.parametrize(("shots", "limit"), [(None, 100), (1000, 100), (4000, 50)])
def test_emulated_limits_submit_ceil_circuits_over_limit_jobs(float64, shots, limit):
    layer = _step(shots, emulate=True, batch=32)
    acc, backend = layer.backend.accounting, layer.backend
    assert backend.capabilities.max_circuits_per_job == 100 and backend.executables_per_job(shots) == limit
    assert acc.calls == 1
    assert acc.circuits == 32 * (1 + 2 * layer.weights.numel())
    assert acc.jobs == math.ceil(acc.circuits / limit) == backend.jobs_for(acc.circuits, shots)


def test_the_sdk_engine_runs_one_program_set_past_the_stated_limits(monkeypatch):
    """150 executables x 2000 shots (300000 > maximumTotalShots) in one LocalSimulator task: the limits are not enforced."""
    layer = QuantumLayer(2, layers=1, backend="braket.local:sv", shots=2000, gradient="parameter_shift", backend_options={"engine": "sdk"})
    backend = layer.backend
    submitted = []
    run = backend.device.run
    monkeypatch.setattr(backend.device, "run", lambda spec, **kw: submitted.append(spec) or run(spec, **kw))
    x = torch.linspace(0, math.pi, 150).unsqueeze(1).repeat(1, 2)
    with torch.no_grad():
        out = layer(x)
    assert len(submitted) == 1 and submitted[0].total_executables == 150 and backend.accounting.jobs == 1
    exact = QuantumLayer(2, layers=1, backend="torch")
    with torch.no_grad():
        exact.weights.copy_(layer.weights)
        expected = exact(x)
    bound = 5 * torch.sqrt(torch.clamp(1 - expected**2, min=1 / 2000) / 2000)  # 5 standard errors of a 2000-shot mean
    assert ((out - expected).abs() <= bound).all()
