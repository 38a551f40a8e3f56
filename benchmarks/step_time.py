"""Time one forward+backward of the torch backend's layer in *this* checkout, to compare two trees.

The harness (``benchmarks/run.py``) compares tools in one process; two versions of hqnn cannot share
one. Run this alternately from each tree (``PYTHONPATH=<tree>:<tree>/plugins``) a few times, so both see
the same load, and compare the medians::

    for i in 1 2 3; do for t in ../old ../new; do PYTHONPATH=$t:$t/plugins python benchmarks/step_time.py W3; done; done
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch

from hqnn_core import QuantumLayer

SIZES = {"W1": (4, 2, 32), "W2": (8, 4, 64), "W3": (12, 6, 128)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=sorted(SIZES))
    parser.add_argument("--steps", type=int, default=12, help="timed steps (the first two are dropped)")
    parser.add_argument("--gradient", default="backprop", choices=["backprop", "adjoint"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    n, layers, batch = SIZES[args.workload]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        layer = QuantumLayer(n, encoder="angle", ansatz="hardware_efficient", layers=layers, backend="torch",
                             gradient=args.gradient, seed=0, backend_options={"diff_method": args.gradient}).to(torch.float32)
    gen = torch.Generator().manual_seed(1)
    times = []
    for _ in range(args.steps):
        x, cot = torch.rand(batch, n, generator=gen), torch.randn(batch, n, generator=gen)
        layer.weights.grad = None
        start = time.perf_counter()
        (layer(x) * cot).sum().backward()
        times.append(time.perf_counter() - start)
    kept = times[2:]
    print(f"{args.workload} {args.gradient}: median {1e3 * statistics.median(kept):.1f} ms, best {1e3 * min(kept):.1f} ms")


if __name__ == "__main__":
    main()
