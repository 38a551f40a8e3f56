"""Both cores: the speed-up of hqnn's torch backend from 1 to 2 (or N) torch threads, measured in interleaved rounds.

    python benchmarks/threads.py                                   # W3, 16 and 20 qubits; 1 vs 2 threads; Markdown to stdout
    python benchmarks/threads.py --cases W3,q16 --threads 1 4 --rounds 9 --json benchmarks/results/threads.json

One step is one forward+backward (``sum(outputs * cotangent)``) of the benchmark layer (angle encoding,
hardware-efficient ansatz, ``<Z_i>``; :mod:`benchmarks.workloads`) on the ``torch`` backend. Every round
visits each thread count in a fresh random order and times ``--steps`` steps of each (after one untimed
warm-up step per visit), with new inputs and weights every round; the ratio of a round is the 1-thread time
over the N-thread time of that round, so both sides ran under the same load. The report gives the
per-round median ratio, its range and the best-of ratio (best 1-thread step over best N-thread step).
Run it on a quiet machine for numbers to quote: on a machine shared with other jobs the second
thread competes with them, and the ratios measure the load as much as the code.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.workloads import WORKLOADS, Workload  # noqa: E402

CASES = {
    "W1": WORKLOADS["W1"],
    "W3": WORKLOADS["W3"],
    "q16": Workload("q16", 16, 2, 16),
    "q20": Workload("q20", 20, 2, 4),
}


def _stepper(w: Workload, method: str) -> Any:
    from hqnn_core import QuantumLayer

    layer = QuantumLayer(w.n_qubits, encoder="angle", ansatz="hardware_efficient", layers=w.layers, seed=0,
                         backend_options={"diff_method": method})

    def step(x: torch.Tensor, cot: torch.Tensor) -> None:
        layer.weights.grad = None
        (layer(x) * cot).sum().backward()

    def set_weights(weights: torch.Tensor) -> None:
        with torch.no_grad():
            layer.weights.copy_(weights.reshape(layer.weights.shape))

    return step, set_weights


def measure(w: Workload, threads: list[int], rounds: int, steps: int, method: str, seed: int = 0) -> dict[str, Any]:
    """Per-round times of ``steps`` steps at each thread count, and the per-round ratios to the first count."""
    step, set_weights = _stepper(w, method)
    order = random.Random(seed)
    times: dict[int, list[float]] = {t: [] for t in threads}
    before = torch.get_num_threads()
    for r in range(rounds):
        x, weights, cot = w.data(torch.float32, variant=r + 1)
        set_weights(weights)
        visit = list(threads)
        order.shuffle(visit)
        for t in visit:
            torch.set_num_threads(t)
            step(x, cot)  # warm-up: the thread pool and the plan cache
            start = time.perf_counter()
            for _ in range(steps):
                step(x, cot)
            times[t].append((time.perf_counter() - start) / steps)
    torch.set_num_threads(before)
    base = threads[0]
    result: dict[str, Any] = {"case": w.name, "n_qubits": w.n_qubits, "layers": w.layers, "batch": w.batch, "method": method,
                              "times_s": {str(t): v for t, v in times.items()}, "speedup": {}}
    for t in threads[1:]:
        ratios = [a / b for a, b in zip(times[base], times[t], strict=True)]
        result["speedup"][str(t)] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios),
                                     "best_of": min(times[base]) / min(times[t])}
    return result


def markdown(results: list[dict[str, Any]], threads: list[int]) -> str:
    lines = ["| case | 1-thread step (median) | " + " | ".join(f"{t} threads: median (range), best-of" for t in threads[1:]) + " |",
             "|---|---:|" + "---:|" * (len(threads) - 1)]
    for r in results:
        base = statistics.median(r["times_s"][str(threads[0])]) * 1e3
        cells = [f"{s['median']:.2f}× ({s['min']:.2f}–{s['max']:.2f}), {s['best_of']:.2f}×" for s in r["speedup"].values()]
        label = f"{r['case']}: {r['n_qubits']} q, {r['layers']} L, batch {r['batch']}, {r['method']}"
        lines.append(f"| {label} | {base:,.1f} ms | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="W3,q16,q20", help=f"comma list of {', '.join(CASES)}")
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="thread counts; ratios are to the first")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=2, help="timed steps per visit")
    p.add_argument("--method", default="backprop", choices=["backprop", "adjoint"])
    p.add_argument("--json", default=None, help="write the results here")
    args = p.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = []
    for name in args.cases.split(","):
        results.append(measure(CASES[name.strip()], args.threads, args.rounds, args.steps, args.method))
        print(markdown(results[-1:], args.threads).splitlines()[-1], flush=True)
    info = {"torch": torch.__version__, "cpus": os.cpu_count(), "load_average_start": load,
            "load_average_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")}
    print(f"\ntorch {info['torch']}, {info['cpus']} CPUs, load average {load:.1f} at start, {info['load_average_end']:.1f} at end\n")
    print(markdown(results, args.threads))
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
