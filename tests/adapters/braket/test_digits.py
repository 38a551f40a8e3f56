"""Digits 0 vs 1 trains to at least 95% test accuracy on ``braket.local:sv`` with parameter-shift gradients.

scikit-learn's 8x8 digits, classes 0 and 1 (360 images): StandardScaler + PCA to 4 components,
scaled to angles in [-pi/2, pi/2], angle encoding on 4 qubits, 2 hardware-efficient layers, a
linear head, Adam. Analytic mode. To stay fast, training uses a 64-image subset for 3 epochs
(6 steps of batch 32, about 6,300 circuits); the test set is the full held-out quarter (90 images).
"""

from __future__ import annotations

import pytest

pytest.importorskip("braket.devices")
pytest.importorskip("sklearn")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from torch import nn  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402

pytestmark = [pytest.mark.vendor, pytest.mark.slow]

N_TRAIN, EPOCHS, BATCH, LR = 64, 3, 32, 0.3


def _data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    x, y = load_digits(return_X_y=True)
    keep = y < 2
    x_tr, x_te, y_tr, y_te = train_test_split(x[keep], y[keep], test_size=0.25, random_state=0, stratify=y[keep])
    scaler = StandardScaler().fit(x_tr)
    pca = PCA(4, random_state=0).fit(scaler.transform(x_tr))

    def angles(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(np.clip(pca.transform(scaler.transform(a)) / 4, -1, 1) * np.pi / 2)

    return angles(x_tr)[:N_TRAIN], torch.tensor(y_tr[:N_TRAIN], dtype=torch.float64), angles(x_te), torch.tensor(y_te)


def test_digits_zero_vs_one_reaches_95_percent(float64):
    x_tr, y_tr, x_te, y_te = _data()
    torch.manual_seed(0)
    layer = QuantumLayer(4, encoder="angle", ansatz="hardware_efficient", layers=2, backend="braket.local:sv",
                         gradient="parameter_shift", seed=0)
    model = nn.Sequential(layer, nn.Linear(4, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    order = torch.Generator().manual_seed(0)
    for _ in range(EPOCHS):
        perm = torch.randperm(N_TRAIN, generator=order)
        for start in range(0, N_TRAIN, BATCH):
            idx = perm[start : start + BATCH]
            optimizer.zero_grad()
            nn.functional.binary_cross_entropy_with_logits(model(x_tr[idx]).squeeze(1), y_tr[idx]).backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = ((model(x_te).squeeze(1) > 0).long() == y_te).double().mean().item()
    assert len(y_te) == 90
    assert accuracy >= 0.95, accuracy
    assert layer.backend.accounting.calls == EPOCHS * (N_TRAIN // BATCH) + 1
