"""A quantum circuit Born machine on the qml-benchmarks 4x4 bars-and-stripes images, beside a classical baseline.

The images are noisy (N, 1, 4, 4) arrays; each is binarised by sign into 16 bits, so the Born machine
has 16 qubits and 65,536 outcomes. It is trained exactly on the torch backend (statevector, backprop)
against the empirical distribution of the training images, and both models are scored by total-variation
distance and KL divergence to the training and test distributions:

    python examples/born_machine_bars_and_stripes.py --steps 200

HQNN_DATASETS points at the datasets folder (default: ../shared/datasets beside the repository).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from hqnn_core.generative import BornMachine, ProductBernoulli, as_indices, bars_and_stripes

FILE = "qml_benchmarks/bars_and_stripes/bars_and_stripes_4_x_4_0.5noise.npz"


def load_bits() -> tuple[np.ndarray, np.ndarray]:
    root = Path(os.environ.get("HQNN_DATASETS") or Path(__file__).resolve().parents[2] / "shared" / "datasets")
    with np.load(root / FILE, allow_pickle=False) as data:
        return [(data[k].reshape(len(data[k]), -1) > 0).astype(np.uint8) for k in ("X_train", "X_test")]  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", default="uniform", choices=["uniform", "normal"],
                        help="starting weights: uniform angles, or small ones (normal) that start near |0...0>, the blank image")
    parser.add_argument("--bandwidths", type=float, nargs="+", default=[1.0, 2.0, 4.0],
                        help="σ of the MMD kernel mixture; 16 bits need wider kernels than 3x3 patterns (see docs/generative.md)")
    args = parser.parse_args()
    train, test = load_bits()
    patterns = set(as_indices(bars_and_stripes(4, 4))[0].tolist())
    clean = np.mean([i in patterns for i in as_indices(train)[0]])
    print(f"{len(train)} training / {len(test)} test images of 16 bits; {clean:.1%} of the training images are exact bars or stripes")
    start = time.perf_counter()
    born = BornMachine(layers=args.layers, steps=args.steps, learning_rate=args.lr, seed=args.seed, bandwidths=args.bandwidths,
                       init=args.init)
    born.fit(train, callback=lambda row: print(f"  step {int(row['step']) + 1}: mmd {row['mmd']:.5f} tvd {row['tvd']:.4f}")
             if (int(row["step"]) + 1) % 25 == 0 else None)
    seconds = time.perf_counter() - start
    baseline = ProductBernoulli().fit(train)
    print(f"{'model':<28}{'train TVD':>10}{'train KL':>10}{'test TVD':>10}{'test KL':>10}{'mass on patterns':>18}")
    for name, model in ((f"Born machine ({args.layers} SEL layers)", born), ("product of Bernoullis", baseline)):
        on_train, on_test = model.score(), model.score(test)
        mass = model.probabilities()[sorted(patterns)].sum()
        print(f"{name:<28}{on_train['tvd']:>10.3f}{on_train['kl']:>10.3f}{on_test['tvd']:>10.3f}{on_test['kl']:>10.3f}{mass:>18.3f}")
    print(f"trained {args.steps} steps in {seconds:.0f} s")


if __name__ == "__main__":
    main()
