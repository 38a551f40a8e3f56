"""A model trained on the embedded torch backend, saved and loaded into a Braket layer, predicts the same.

Analytic predictions agree to 1e-6; shot-based quantum outputs stay within the shared shot bound.
"""

from __future__ import annotations

import io

import pytest

pytest.importorskip("braket.devices")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = pytest.mark.vendor


def _model(backend: str, shots: int | None = None) -> nn.Sequential:
    layer = QuantumLayer(3, ansatz="strongly_entangling", layers=2, backend=backend, shots=shots, seed=0,
                         gradient="best" if backend == "torch" else "parameter_shift",
                         backend_options=None if backend == "torch" else {"seed": 4})
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), layer, nn.Linear(3, 1))


@pytest.fixture
def trained(float64):
    """Train on torch (backprop) for 30 steps on a toy task, then save the state_dict to bytes."""
    torch.manual_seed(0)
    model = _model("torch")
    x = torch.rand(64, 2) * 2 - 1
    y = (x[:, :1] * x[:, 1:] > 0).to(torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(30):
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        opt.step()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return model, buffer.getvalue(), x[:12]


def _load(blob: bytes, backend: str, shots: int | None = None) -> nn.Sequential:
    model = _model(backend, shots)
    model.load_state_dict(torch.load(io.BytesIO(blob), weights_only=True))
    return model.eval()


def test_analytic_predictions_match(trained):
    model, blob, x = trained
    with torch.no_grad():
        expected = model(x)
        got = _load(blob, "braket.local:sv")(x)
    assert not torch.allclose(expected, torch.zeros_like(expected), atol=1e-3)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_shot_based_quantum_outputs_within_the_bound(trained):
    model, blob, x = trained
    shots = 4000
    loaded = _load(blob, "braket.local:sv", shots=shots)
    with torch.no_grad():
        features = model[1](model[0](x))
        exact = model[2](features)
        sampled = loaded[2](features)
    bound = shot_tolerance(exact, loaded[2].circuit.observables, shots)
    assert bool(((sampled - exact).abs() <= bound).all())
    assert not torch.equal(sampled, exact)
    # the head is linear, so the prediction error is bounded by |w| . bound
    head = model[3].weight.detach().abs()
    with torch.no_grad():
        pred_err = (loaded(x) - model(x)).abs()
    assert bool((pred_err <= bound @ head.T + 1e-12).all())
