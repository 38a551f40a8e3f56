"""Scaling evidence: data-parallel training on 1, 2 and 4 processes, and the embedded backend against qubit count.

    python benchmarks/scaling.py                       # both parts, Markdown to stdout, JSON to benchmarks/results/scaling.json
    python benchmarks/scaling.py --part ranks --nproc 1 2 4
    python benchmarks/scaling.py --part qubits --max-qubits 24 --cap 60

Part ``ranks`` trains the same profile (default: the digits profile below, SGD) with
``hqnn_core.training.launch.launch`` on N local gloo processes and reports the training
throughput (samples/s over the trainer's own epoch time, start-up excluded), the start-up overhead,
and the largest weight difference to the 1-process run (same global batch and seed).

Part ``qubits`` times one forward+backward of a ``QuantumLayer`` (angle encoder, hardware-efficient
ansatz, 2 layers, backprop) on the embedded ``torch`` backend for a batch of 8, each size in a fresh
process, and reads that process's peak resident memory; it stops when a step exceeds ``--cap``
seconds or the next size's predicted memory exceeds half of the available RAM, and extrapolates the
largest size this machine holds from the measured bytes per amplitude.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROFILE = {
    "description": "scaling benchmark: digits 0-9, 8 qubits (SGD, so results can be compared weight by weight)",
    "data": {"source": "digits", "pca": 8, "standardize": False, "angle_range": [0.0, 3.14159], "max_train": 1024, "max_test": 64},
    "model": {"quantum": {"n_qubits": 8, "layers": 3}},
    "backend": {"name": "torch"},
    "train": {"optimizer": "sgd", "lr": 0.1, "epochs": 2, "batch_size": 64, "seed": 3, "baseline": False},
    "output": {"plots": False},
}

_STEP = r"""
import resource, sys, time, torch
from hqnn_core import QuantumLayer
torch.set_num_threads(int(sys.argv[2]))
n = int(sys.argv[1])
layer = QuantumLayer(n, encoder="angle", ansatz="hardware_efficient", layers=2, backend="torch", gradient="backprop", seed=0)
x = torch.rand(8, n)
def step():
    layer.zero_grad()
    layer(x).sum().backward()
step()
times = []
for _ in range(3):
    t = time.perf_counter(); step(); times.append(time.perf_counter() - t)
    if times[-1] > 20: break
print(min(times), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def _available_bytes() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 8 * 2**30


def ranks(nprocs: list[int], epochs: int, n_qubits: int) -> list[dict[str, Any]]:
    import tempfile

    import torch
    import yaml

    from hqnn_core.training.launch import launch

    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        profile = Path(tmp) / "scaling.yaml"
        profile.write_text(yaml.safe_dump({**PROFILE, "train": {**PROFILE["train"], "epochs": epochs},
                                           "data": {**PROFILE["data"], "pca": n_qubits}, "model": {"quantum": {"n_qubits": n_qubits, "layers": 3}}}))
        reference = None
        for n in nprocs:
            began = time.perf_counter()
            result = launch(n, profile=str(profile), out=str(Path(tmp) / f"n{n}"), quiet=True)
            total = time.perf_counter() - began
            record = result["record"]
            train_s = float(record["hybrid"]["wall_time_s"])
            samples = epochs * int(record["data"].get("n_train") or PROFILE["data"]["max_train"])  # type: ignore[call-overload]
            weights = torch.load(Path(result["run_dir"]) / "model.pt", weights_only=True)
            if reference is None:
                reference = weights
            diff = max(float((weights[k] - reference[k]).abs().max()) for k in weights)
            out.append({"nproc": n, "qubits": n_qubits, "train_s": round(train_s, 2), "total_s": round(total, 2), "samples_per_s": round(samples / train_s, 1),
                        "max_weight_diff_vs_1": diff, "test_accuracy": record["hybrid"]["final"]["test_accuracy"]})
            print(f"  nproc={n}: {out[-1]}", file=sys.stderr)
    return out


def qubits(start: int, max_qubits: int, cap: float, threads: int) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    available = _available_bytes()
    per_amp: float | None = None
    baseline: int | None = None
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    for n in range(start, max_qubits + 1, 2):
        if per_amp is not None and (baseline or 0) + per_amp * 2**n > available / 2:
            rows.append({"qubits": n, "skipped": f"predicted {per_amp * 2**n / 2**30:.1f} GiB > half of available RAM"})
            break
        limit = max(cap * 6, 120)
        try:
            proc = subprocess.run([sys.executable, "-c", _STEP, str(n), str(threads)], capture_output=True, text=True, env=env, timeout=limit)
        except subprocess.TimeoutExpired:
            rows.append({"qubits": n, "error": f"no result within {limit:.0f} s"})
            break
        if proc.returncode != 0:
            rows.append({"qubits": n, "error": proc.stderr.strip().splitlines()[-1] if proc.stderr else f"exit {proc.returncode}"})
            break
        seconds, rss = proc.stdout.split()
        rows.append({"qubits": n, "step_s": round(float(seconds), 4), "peak_rss_mib": round(int(rss) / 2**20, 1)})
        print(f"  qubits={n}: {rows[-1]}", file=sys.stderr)
        baseline = baseline if baseline is not None else int(rss)  # interpreter + torch + hqnn, at the smallest size
        if n >= 16:  # above the baseline, memory is dominated by the saved states: bytes per amplitude
            per_amp = (int(rss) - baseline) / 2**n
        if float(seconds) > cap:
            break
    largest = None
    if per_amp:
        largest = max(n for n in range(1, 40) if (baseline or 0) + per_amp * 2**n <= available * 0.8)
    return {"rows": rows, "bytes_per_amplitude_batch8": per_amp, "available_gib": round(available / 2**30, 1),
            "largest_qubits_predicted": largest}


def markdown(result: dict[str, Any]) -> str:
    lines = []
    if "ranks" in result:
        lines += [f"Profile: digits 0-9, {result['ranks'][0]['qubits']} qubits, 3 layers, SGD, global batch 64, 1024 training samples.", "",
                  "| processes | train time (s) | throughput (samples/s) | launch + train (s) | max weight diff vs 1 process | test accuracy |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['nproc']} | {r['train_s']} | {r['samples_per_s']} | {r['total_s']} | {r['max_weight_diff_vs_1']:.1e} | {r['test_accuracy']:.3f} |"
                  for r in result["ranks"]]
        lines.append("")
    if "qubits" in result:
        q = result["qubits"]
        lines += ["| qubits | forward+backward, batch 8 (s) | peak RSS (MiB) |", "|---|---|---|"]
        for r in q["rows"]:
            lines.append(f"| {r['qubits']} | {r.get('step_s', r.get('skipped', r.get('error')))} | {r.get('peak_rss_mib', '')} |")
        lines.append(f"\nAvailable RAM {q['available_gib']} GiB; measured {q['bytes_per_amplitude_batch8'] or 0:.0f} bytes per amplitude "
                     f"(batch 8, backprop); largest size predicted to fit: {q['largest_qubits_predicted']} qubits.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["ranks", "qubits", "both"], default="both")
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--ranks-qubits", type=int, default=12, help="qubits of the profile trained in part ranks")
    parser.add_argument("--start", type=int, default=4)
    parser.add_argument("--max-qubits", type=int, default=26)
    parser.add_argument("--cap", type=float, default=30.0, help="stop the qubit sweep after a step slower than this (s)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "scaling.json")
    args = parser.parse_args()
    os.environ.setdefault("HQNN_DISABLE_PLUGIN_AUTOLOAD", "1")
    result: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
                              "command": " ".join(["python", "benchmarks/scaling.py", *sys.argv[1:]])}
    with open("/proc/loadavg") as fh:
        result["machine"]["loadavg_before"] = fh.read().split()[:3]
    if args.part in ("ranks", "both"):
        result["ranks"] = ranks(args.nproc, args.epochs, args.ranks_qubits)
    if args.part in ("qubits", "both"):
        result["qubits"] = qubits(args.start, args.max_qubits, args.cap, args.threads)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    print(markdown(result))


if __name__ == "__main__":
    main()
