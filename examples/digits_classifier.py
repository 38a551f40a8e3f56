"""Digits 0 vs 1 in plain Python: scikit-learn preprocessing, a QuantumLayer, a linear head, Adam.

Run it with ``python examples/digits_classifier.py``. It prints the hybrid model's test accuracy
and that of the classical baseline (the quantum layer replaced by Linear(4, 4) + tanh), trained
the same way. ``hqnn train examples/digits.yaml`` does the same from a profile, and records it.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler
from torch import nn

from hqnn_core import QuantumLayer

SEED = 0


def load_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Digits 0 and 1, 4 principal components of the pixels, scaled to angles in [0, pi]."""
    x, y = load_digits(return_X_y=True)
    keep = y < 2
    x, y = x[keep] / 16.0, y[keep]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=SEED)
    pca = PCA(n_components=4, random_state=SEED).fit(x_train)
    scale = MinMaxScaler(feature_range=(0, np.pi), clip=True).fit(pca.transform(x_train))

    def prepare(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(scale.transform(pca.transform(a)), dtype=torch.float32)

    return prepare(x_train), torch.tensor(y_train), prepare(x_test), torch.tensor(y_test)


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 15, lr: float = 0.05, batch_size: int = 16) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    shuffle = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=shuffle).split(batch_size):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(dim=1) == y).float().mean())


def main() -> None:
    x_train, y_train, x_test, y_test = load_data()
    torch.manual_seed(SEED)
    hybrid = nn.Sequential(
        QuantumLayer(n_qubits=4, encoder="angle", ansatz="hardware_efficient", layers=2, seed=SEED),  # backend="torch"
        nn.Linear(4, 2),
    )
    baseline = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    fit(hybrid, x_train, y_train)
    fit(baseline, x_train, y_train)
    print(f"hybrid test accuracy:   {accuracy(hybrid, x_test, y_test):.4f}")
    print(f"baseline test accuracy: {accuracy(baseline, x_test, y_test):.4f}")


if __name__ == "__main__":
    main()
