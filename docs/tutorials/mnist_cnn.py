"""Tutorial 3: an MNIST image classifier with a CNN front end and a 4-qubit quantum layer.

Run it with ``python docs/tutorials/mnist_cnn.py``. It reads the MNIST IDX files from
``$HQNN_DATASETS/mnist`` (default: ``shared/datasets`` beside the repository), keeps the digits
3 and 5, and trains ``CNN -> 4 angles -> QuantumLayer -> Linear`` end to end: the gradients of
the quantum layer reach the convolutions. The sizes are CI-sized (600 training images, 6 epochs);
``hqnn train examples/mnist.yaml`` trains the same kind of model from a profile on all of them.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from hqnn_core import QuantumLayer
from hqnn_core.training.data import read_idx

SEED = 0
DIGITS = (3, 5)
N_TRAIN, N_TEST = 600, 400


def datasets_dir() -> Path:
    """``$HQNN_DATASETS``, else the ``shared/datasets`` folder next to the repository."""
    env = os.environ.get("HQNN_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "datasets"




def load_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Images of 3 and 5 from MNIST's 10,000 test images (the pool), shuffled with a seed, split train/test."""
    folder = datasets_dir() / "mnist"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    keep = np.flatnonzero(np.isin(labels, DIGITS))
    keep = np.random.default_rng(SEED).permutation(keep)[: N_TRAIN + N_TEST]
    x = torch.tensor(images[keep], dtype=torch.float32).unsqueeze(1) / 255.0  # (N, 1, 28, 28)
    y = torch.tensor(labels[keep] == DIGITS[1], dtype=torch.long)  # 0 for a 3, 1 for a 5
    return x[:N_TRAIN], y[:N_TRAIN], x[N_TRAIN:], y[N_TRAIN:]


def model(backend: str = "torch") -> nn.Module:
    """Two conv + pool blocks (28 -> 14 -> 7), dense layers to 4 angles in (-pi, pi), the circuit, a linear head.

    tanh everywhere keeps the angles out of saturation early in training (ReLU sometimes leaves
    a dead front end that the circuit cannot recover from).
    """
    torch.manual_seed(SEED)
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.Tanh(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, padding=2), nn.Tanh(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.Tanh(),
        nn.Linear(32, 4), nn.Tanh(), Scale(math.pi),
        QuantumLayer(4, encoder="angle", ansatz="hardware_efficient", layers=2, backend=backend, seed=SEED),
        nn.Linear(4, 2),
    )


class Scale(nn.Module):
    """Multiply by a constant: tanh outputs in (-1, 1) become rotation angles."""

    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.factor * x


def fit(net: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int = 6, lr: float = 0.005, batch_size: int = 16) -> None:
    """Adam with the learning rate annealed to zero (cosine): at a constant rate the test accuracy still swings by
    a few images from epoch to epoch, so where training stops would decide the result."""
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * math.ceil(len(y) / batch_size))
    order = torch.Generator().manual_seed(SEED)
    for _ in range(epochs):
        for idx in torch.randperm(len(y), generator=order).split(batch_size):
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            optimizer.step()
            schedule.step()


@torch.no_grad()
def accuracy(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((net(x).argmax(dim=1) == y).float().mean())


def main() -> None:
    torch.set_num_threads(min(2, torch.get_num_threads()))  # CI runners have two cores
    x_train, y_train, x_test, y_test = load_data()
    net = model()
    fit(net, x_train, y_train)
    acc = accuracy(net, x_test, y_test)
    print(f"train/test images: {len(y_train)}/{len(y_test)}")
    print(f"hybrid test accuracy: {acc:.4f}")
    assert acc >= 0.95, f"the CNN + quantum layer should tell 3 from 5 in 95% of test images, got {acc:.4f}"


if __name__ == "__main__":
    main()
