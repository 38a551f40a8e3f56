"""W2's circuit (8 qubits, 4 layers) at small batches: hqnn on qiskit.aer against qiskit-machine-learning.

TorchConnector's step at W2's full batch (64) takes minutes and its memory grew past 16 GB before
it finished here, so ``run.py`` can only estimate it. This measures both tools in one process at
batches 4, 8 and 16 (the cost of parameter-shift is linear in the batch, which the numbers show)
and prints the ratio at each. Agreement of the two tools on these circuits is checked by
``run.py`` (W1, W2). Run from the repository root with the ``bench`` extra installed:

    HQNN_DISABLE_PLUGIN_AUTOLOAD=0 python benchmarks/qiskit_batches.py
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.tools import TOOLS  # noqa: E402
from benchmarks.workloads import Workload  # noqa: E402


def best_of(step, x: torch.Tensor, cot: torch.Tensor, repeats: int = 2) -> float:
    step(x, cot)  # warm-up: translation, transpilation, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(x, cot)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    tools = {t.key: t for t in TOOLS}
    for batch in (4, 8, 16):
        w = Workload(f"W2-batch{batch}", 8, 4, batch)
        x, _, cot = w.data(torch.float32)
        aer = best_of(tools["hqnn-qiskit-aer"].build(w, torch.float32, None).step, x, cot)
        ml = best_of(tools["qiskit-ml"].build(w, torch.float32, None).step, x, cot)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"batch {batch}: hqnn qiskit.aer {aer * 1e3:.0f} ms, TorchConnector {ml * 1e3:.0f} ms, "
              f"ratio {ml / aer:.1f}x, peak RSS {rss:.1f} GB", flush=True)


if __name__ == "__main__":
    main()
