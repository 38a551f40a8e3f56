"""Training on PennyLane devices: one job per step, torch-trained weights carry over, digits reach 95%."""

from __future__ import annotations

import io
import time

import pytest

pytest.importorskip("pennylane")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402

pytestmark = pytest.mark.vendor


@pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
def test_parameter_shift_training_step_of_batch_32_is_one_job(device):
    layer = QuantumLayer(4, layers=2, backend=f"pennylane:{device}", gradient="parameter_shift", seed=0)
    head = nn.Linear(4, 2)
    opt = torch.optim.SGD([*layer.parameters(), *head.parameters()], lr=0.1)
    x, y = torch.rand(32, 4), torch.randint(0, 2, (32,))
    before = layer.backend.accounting.copy()
    opt.zero_grad()
    nn.functional.cross_entropy(head(layer(x)), y).backward()
    opt.step()
    spent = layer.backend.accounting - before
    assert spent.jobs == 1
    assert spent.calls == 1
    # every sample, plus two shifted copies per weight slot (16 weights; inputs need no gradient)
    assert spent.circuits == 32 * (1 + 2 * 16)


def _model(backend: str, seed: int) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Linear(6, 3),
        nn.Tanh(),
        QuantumLayer(3, ansatz="strongly_entangling", layers=2, backend=backend, seed=seed),
        nn.Linear(3, 2),
    )


def test_model_trained_on_torch_predicts_the_same_on_pennylane(float64):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 6, generator=g)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = _model("torch", seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(15):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    with torch.no_grad():
        expected = model(x)
    for device in ("default.qubit", "lightning.qubit"):
        other = _model(f"pennylane:{device}", seed=99)  # different initial weights, overwritten by the load
        other.load_state_dict(state)
        with torch.no_grad():
            got = other(x)
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
        assert torch.equal(got.argmax(1), expected.argmax(1))


def _digits_0_vs_1() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_digits(n_class=2)
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0, stratify=data.target
    )
    prep = make_pipeline(StandardScaler(), PCA(n_components=4, random_state=0), StandardScaler())
    x_train, x_test = prep.fit_transform(x_train), prep.transform(x_test)
    as_t = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    return as_t(x_train), torch.tensor(y_train), as_t(x_test), torch.tensor(y_test)


def test_digits_0_vs_1_reaches_95_percent_on_default_qubit():
    x_train, y_train, x_test, y_test = _digits_0_vs_1()
    torch.manual_seed(0)
    layer = QuantumLayer(4, layers=2, backend="pennylane:default.qubit", seed=0)
    assert layer.gradient.name == "backprop"
    model = nn.Sequential(layer, nn.Linear(4, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    start = time.perf_counter()
    for _epoch in range(5):
        for idx in torch.randperm(len(x_train)).split(32):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            opt.step()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy >= 0.95, accuracy
    assert time.perf_counter() - start < 60
