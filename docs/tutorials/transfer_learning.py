"""Tutorial 7: transfer learning, a CNN pretrained on ten MNIST digits as the frozen backbone of a quantum 3-vs-5 classifier.

Run it with ``python docs/tutorials/transfer_learning.py``. It reads MNIST's IDX files from
``$HQNN_DATASETS/mnist`` (default: ``shared/datasets`` beside the repository), and

1. pretrains a small CNN (hqnn's own ``kind: cnn`` front end, ending in ten logits) on all ten
   digits with a plain torch loop, on a seeded training part of the pool, and saves its ``state_dict``;
2. trains ``pretrained backbone (frozen) -> new projection -> 4 qubits -> linear head`` on 3 vs 5
   for ONE epoch with ``model.front_end: {kind: pretrained, freeze: true}``, with the classical head
   (Linear + tanh in place of the circuit) as the baseline;
3. trains the same model from scratch (``kind: cnn``) for TEN epochs.

The 3-vs-5 test images come from a held-out part of the pool the backbone never saw.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
import yaml

from hqnn_core.config import FrontEndConfig
from hqnn_core.training import train
from hqnn_core.training.data import read_idx
from hqnn_core.training.model import build_front_end

SEED = 0
N_PRETRAIN, N_TRAIN = 2000, 300  # ten-digit images for pretraining; 3/5 images for the quantum model
PRETRAIN_EPOCHS, TRANSFER_EPOCHS, SCRATCH_EPOCHS = 2, 1, 10
TRANSFER_LR, SCRATCH_LR = 0.02, 0.005  # the small head takes a larger step; the whole CNN from scratch needs a small one
BACKBONE = {"channels": [8, 16], "kernel_size": 5, "hidden": [32], "activation": "tanh"}


def datasets_dir() -> Path:
    """``$HQNN_DATASETS``, else the ``shared/datasets`` folder next to the repository."""
    env = os.environ.get("HQNN_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "datasets"




def split_pool() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST's 10,000 test images, shuffled with a seed: 80% for training (both tasks), 20% held out for testing."""
    folder = datasets_dir() / "mnist"
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(labels))
    cut = int(0.8 * len(order))
    train, test = order[:cut], order[cut:]
    return images[train], labels[train], images[test], labels[test]


def pretrain(x: np.ndarray, y: np.ndarray, x_test: np.ndarray, y_test: np.ndarray, path: Path) -> float:
    """Train hqnn's own CNN front end as a ten-class classifier and save its state_dict; return its held-out accuracy."""
    torch.manual_seed(SEED)
    cfg = FrontEndConfig(kind="cnn", output_scale=8.0, **BACKBONE)  # ten logits in [-8, 8]
    net = build_front_end(cfg, 28 * 28, 10, (1, 28, 28), "pretraining")
    xs, ys = torch.from_numpy(x[:N_PRETRAIN].reshape(-1, 28 * 28)), torch.from_numpy(y[:N_PRETRAIN])
    optimizer = torch.optim.Adam(net.parameters(), lr=0.005)
    order = torch.Generator().manual_seed(SEED)
    for _ in range(PRETRAIN_EPOCHS):
        for idx in torch.randperm(len(ys), generator=order).split(32):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(xs[idx]), ys[idx]).backward()
            optimizer.step()
    torch.save(net.state_dict(), path)
    with torch.no_grad():
        logits = net(torch.from_numpy(x_test.reshape(-1, 28 * 28)))
        return float((logits.argmax(dim=1) == torch.from_numpy(y_test)).float().mean())


def three_vs_five(x: np.ndarray, y: np.ndarray, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    keep = np.flatnonzero(np.isin(y, (3, 5)))[:limit]
    return x[keep], (y[keep] == 5).astype(np.int64)


def profile(folder: Path, front_end: dict, epochs: int, lr: float, baseline: bool) -> Path:
    """3 vs 5: the front end -> 4 angles in (-pi/2, pi/2) -> H, RY(angle) on 4 qubits -> 2 entangling layers -> linear head.

    The Hadamards (Mari et al.'s dressed circuit) make <Z> = -sin(angle): steepest at 0 and odd, so the
    sign of every feature survives; plain RY from |0> gives cos(angle), flat at 0 and blind to the sign.
    """
    encoder = {"name": "angle", "options": {"hadamard": True}}
    data = {
        "data": {"source": "npz", "path": "three_vs_five.npz", "standardize": False},
        "model": {"front_end": {**front_end, "output_scale": math.pi / 2},
                  "quantum": {"n_qubits": 4, "encoder": encoder, "ansatz": "hardware_efficient", "layers": 2}},
        "backend": {"name": "torch"},
        "train": {"optimizer": "adam", "lr": lr, "epochs": epochs, "batch_size": 16, "seed": SEED, "baseline": baseline},
        "output": {"plots": False, "runs_dir": str(folder / "runs")},
    }
    path = folder / f"{front_end['kind']}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def main() -> None:
    torch.set_num_threads(1)  # small convolutions and 4-qubit states gain nothing from threads on a shared two-core CI runner
    x_train, y_train, x_test, y_test = split_pool()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pretrain_accuracy = pretrain(x_train, y_train, x_test, y_test, folder / "backbone.pt")
        train_35, test_35 = three_vs_five(x_train, y_train, N_TRAIN), three_vs_five(x_test, y_test)
        np.savez(folder / "three_vs_five.npz", X_train=train_35[0], y_train=train_35[1], X_test=test_35[0], y_test=test_35[1])

        pretrained = {"kind": "pretrained", "from": "backbone.pt", "backbone": "cnn", "freeze": True, **BACKBONE}
        transfer = train(profile(folder, pretrained, TRANSFER_EPOCHS, TRANSFER_LR, baseline=True), out=folder / "transfer", quiet=True).record
        scratch = train(profile(folder, {"kind": "cnn", **BACKBONE}, SCRATCH_EPOCHS, SCRATCH_LR, baseline=False), out=folder / "scratch", quiet=True).record

    frozen = transfer["model"]["hybrid"]["frozen_parameters"]
    quantum, classical = transfer["hybrid"]["final"]["test_accuracy"], transfer["baseline"]["final"]["test_accuracy"]
    from_scratch = scratch["hybrid"]["final"]["test_accuracy"]
    print(f"pretraining images (ten digits): {N_PRETRAIN}")
    print(f"pretrained CNN, ten-digit accuracy on held-out images: {pretrain_accuracy:.4f}")
    print(f"3-vs-5 train/test images: {len(train_35[1])}/{len(test_35[1])}")
    print(f"frozen backbone parameters: {frozen}")
    print(f"pretrained + quantum head, {TRANSFER_EPOCHS} epoch: {quantum:.4f}")
    print(f"pretrained + classical head, {TRANSFER_EPOCHS} epoch: {classical:.4f}")
    print(f"from scratch + quantum head, {SCRATCH_EPOCHS} epochs: {from_scratch:.4f}")
    assert quantum >= from_scratch, f"one epoch on the pretrained backbone ({quantum:.4f}) should match ten from scratch ({from_scratch:.4f})"


if __name__ == "__main__":
    main()
