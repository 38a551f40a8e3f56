"""Tutorial 1: a hybrid classifier for handwritten digits, trained on the embedded simulator.

Run it with ``python docs/tutorials/digits_classifier.py``. It trains a classical front end, a
4-qubit quantum layer and a linear head on scikit-learn's 8x8 digits (classes 0 to 3), then
prints the test accuracy next to that of a classical model of the same shape.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from hqnn_core import QuantumLayer

SEED = 0
CLASSES = 4  # digits 0, 1, 2, 3
N_QUBITS = 4


def load_data(classes: int = CLASSES) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Digits 0..classes-1 as 64 pixels in [0, 1]; a seeded, stratified 75/25 split."""
    x, y = load_digits(return_X_y=True)
    keep = y < classes
    x, y = x[keep] / 16.0, y[keep]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, stratify=y, random_state=SEED)

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(a, dtype=torch.float32)

    return tensor(x_train), torch.tensor(y_train), tensor(x_test), torch.tensor(y_test)


class ToAngles(nn.Module):
    """Squash features into rotation angles in (-pi, pi): tanh keeps gradients alive at the edges."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return math.pi * torch.tanh(x)


def hybrid_model(backend: str = "torch", classes: int = CLASSES) -> nn.Module:
    """64 pixels -> Linear -> angles -> 4-qubit circuit (Z on each qubit) -> Linear -> class scores."""
    torch.manual_seed(SEED)  # the classical layers' initial weights
    return nn.Sequential(
        nn.Linear(64, N_QUBITS),
        ToAngles(),
        QuantumLayer(N_QUBITS, encoder="angle", ansatz="strongly_entangling", layers=2, backend=backend, seed=SEED),
        nn.Linear(N_QUBITS, classes),
    )


def classical_model() -> nn.Module:
    """The same shape with the quantum layer replaced by Linear + tanh: the baseline to beat."""
    torch.manual_seed(SEED)
    return nn.Sequential(nn.Linear(64, N_QUBITS), ToAngles(), nn.Linear(N_QUBITS, N_QUBITS), nn.Tanh(), nn.Linear(N_QUBITS, CLASSES))


def fit(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 20, lr: float = 0.02, batch_size: int = 32) -> None:
    """Plain torch training: the quantum layer is just another module."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=order).split(batch_size):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            optimizer.step()


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model(x).argmax(dim=1) == y).float().mean())


def main() -> None:
    x_train, y_train, x_test, y_test = load_data()
    hybrid, baseline = hybrid_model(), classical_model()
    fit(hybrid, x_train, y_train)
    fit(baseline, x_train, y_train)
    hybrid_acc, baseline_acc = accuracy(hybrid, x_test, y_test), accuracy(baseline, x_test, y_test)
    print(f"train/test samples: {len(y_train)}/{len(y_test)}")
    print(f"hybrid test accuracy: {hybrid_acc:.4f}")
    print(f"classical test accuracy: {baseline_acc:.4f}")
    assert hybrid_acc >= 0.90, f"the hybrid model should reach 90% test accuracy, got {hybrid_acc:.4f}"


if __name__ == "__main__":
    main()
