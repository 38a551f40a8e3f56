"""Benchmark harness: hqnn's backends and the peers, side by side, on the same layer and the same numbers.

    python benchmarks/run.py                 # W1-W3, every installed tool, shots variants, scaling sweep, plot
    python benchmarks/run.py --quick         # tiny sizes, for CI: checks agreement, times nothing seriously

For every workload it first runs each tool once in float64 and checks its outputs and weight
gradients against an independent reference: a hand-written torch simulator in complex128
(``benchmarks/plain_torch.py``, no hqnn code), to ``--tolerance`` (float32-only tools to their own
tolerance; shot-based runs: values within 5 standard errors). A tool that disagrees is reported and
not timed, and the exit status is 1. Then it times one forward+backward per tool in interleaved
rounds, one process, 1 thread per tool (float32, as a model trains), with new inputs and weights
every round, and prints medians and per-round ratios to hqnn's torch backend (median and range),
jobs and circuits per step (hqnn accounting), and the fused floor: the time any fused simulation
needs to move (6L + 6) state sizes at the copy bandwidth and to do its flops at the matmul rate,
both measured in the same run. Slow tools are capped: a step past ``--cap`` seconds, or one
estimated past it from the previous workload, is reported as "(> cap)" instead of run.
TorchQuantum-ng runs when ``--torchquantum-path`` names a directory it was installed into with
``pip install --no-deps --target`` (its declared dependencies would replace the venv's torch).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks import plain_torch  # noqa: E402
from benchmarks.measure import StepTimeout, bandwidth, floors, interleaved, matmul_rate, max_deviation, round_ratios, timed  # noqa: E402
from benchmarks.report import plot, rows_markdown  # noqa: E402
from benchmarks.tools import PEER_SHOT_TOOLS, SHOT_TOOLS, TOOLS, TOOLS_BY_KEY, TORCHQUANTUM_PATH_ENV, Tool, Unavailable  # noqa: E402
from benchmarks.workloads import QUICK_WORKLOADS, WORKLOADS, Workload  # noqa: E402

HQNN = "hqnn-torch-backprop"  # the tool every ratio is taken against
SHOTS_PEER = "pl-default-shots"  # the peer sampled hqnn backends are compared with
SLOW_STEP = 2.0  # seconds: a tool this slow is timed on its float64 check runner (no second warm-up)


def _estimate(tool: Tool, seen: dict[str, tuple[Workload, float]], w: Workload) -> float | None:
    """Seconds expected on ``w`` from the last workload this tool ran: linear in batch x circuits x gates (a lower bound)."""
    if tool.key not in seen:
        return None
    prev, seconds = seen[tool.key]

    def cost(x: Workload) -> float:
        return x.batch * tool.circuits_per_sample(x) * x.gates * max(1.0, 2.0 ** (x.n_qubits - 10))

    return seconds * cost(w) / cost(prev)


def _shot_tolerance(exact: torch.Tensor, shots: int) -> torch.Tensor:
    """Five standard errors of a <Z> estimate from ``shots`` samples (hqnn_core.testing.stats' bound)."""
    return 5 * torch.sqrt(torch.clamp(1 - exact**2, min=1.0 / shots) / shots)


def _reference(w: Workload, x: torch.Tensor, weights: torch.Tensor, cot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Outputs and weight gradients from the plain torch simulator in complex128: shares no code with hqnn."""
    weights = weights.double().clone().requires_grad_(True)
    out = plain_torch.z_expectations(plain_torch.final_state(w, x.double(), weights))
    (out * cot.double()).sum().backward()
    assert weights.grad is not None
    return out.detach(), weights.grad


def run_workload(w: Workload, tools: list[Tool], args: argparse.Namespace, seen: dict[str, tuple[Workload, float]],
                 skipped: dict[str, str], bw: float, gflops: float) -> dict[str, Any]:
    x64, weights64, cot64 = w.data(torch.float64)
    reference = _reference(w, x64, weights64, cot64)
    rows: list[dict[str, Any]] = []
    steps = {}
    runners: dict[str, tuple[Any, torch.dtype]] = {}
    current: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # this round's inputs and cotangent, per tool
    for tool in tools:
        shots = args.shots if tool.shots else None
        row: dict[str, Any] = {"key": tool.key, "label": tool.label, "kind": tool.kind, "gradient": tool.gradient}
        rows.append(row)
        if tool.key in skipped:
            row["status"] = "not installed"
            continue
        estimate = _estimate(tool, seen, w)
        if estimate is not None and estimate > args.cap:
            row["status"] = f"(> cap: est. {estimate:,.0f} s)"
            continue
        try:
            check = tool.build(w, torch.float64, shots)
            result: list[Any] = []
            seconds = timed(lambda check=check, result=result: result.append(check.step(x64, cot64)), args.cap)
        except Unavailable as e:
            skipped[tool.key] = str(e)
            row["status"] = "not installed"
            continue
        except StepTimeout:
            row["status"] = f"(> cap {args.cap:.0f} s)"
            seen[tool.key] = (w, args.cap)
            continue
        except Exception as e:  # noqa: BLE001 - report any tool failure in the table and go on
            row["status"] = f"error: {type(e).__name__}: {str(e).splitlines()[0][:100]}"
            continue
        seen[tool.key] = (w, seconds)
        if shots is None:
            row["deviation"] = max_deviation(reference, result[0])
            row["agrees"] = row["deviation"] <= (tool.tolerance or args.tolerance)
        else:  # values within the shot-noise bound; sampled gradients are not compared
            tol = _shot_tolerance(reference[0], shots)
            row["deviation"] = float(((result[0][0] - reference[0]).abs() / tol).max())
            row["agrees"] = row["deviation"] <= 1.0
        if not row["agrees"]:
            row["status"] = f"DISAGREES (deviation {row['deviation']:.2e})"
            continue
        row["status"] = "ok"
        row["gradient"] = check.extra.get("gradient", tool.gradient)
        if seconds > SLOW_STEP:
            runner, dtype = check, torch.float64
        else:
            runner, dtype = tool.build(w, torch.float32, shots), torch.float32
            runner.step(*_round_inputs(w, -1, dtype))  # warm-up: compiles, caches, allocates
        row["dtype"] = runner.dtype_note
        counts = runner.counts()
        if counts:
            row.update(counts)
        runners[tool.key] = (runner, dtype)
        steps[tool.key] = lambda key=tool.key: runners[key][0].step(*current[key])

    def prepare(r: int) -> None:
        """New inputs and weights for every tool (the same numbers for all) before round ``r``."""
        _, weights, _ = w.data(torch.float64, variant=r + 1)
        for key, (runner, dtype) in runners.items():
            runner.set_weights(weights.to(dtype))
            current[key] = _round_inputs(w, r, dtype)

    timings = interleaved(steps, args.rounds, args.cap, args.budget, prepare=prepare)
    for row in rows:
        t = timings.get(row["key"])
        if t is None:
            continue
        if t.capped and not t.times:
            row["status"] = f"(> cap {args.cap:.0f} s)"
            continue
        row["median_s"], row["best_s"], row["repeats"], row["rounds"] = t.median, t.best, len(t.times), len(t.by_round)
        seen[row["key"]] = (w, t.median)
    timed_rows = {r["key"]: r for r in rows if r.get("median_s") is not None}
    hqnn = timings.get(HQNN)
    for r in timed_rows.values():
        ratios = round_ratios(timings[r["key"]], hqnn) if hqnn is not None and hqnn.times else []
        if ratios:  # this tool's time over hqnn torch backprop's, round by round
            r["vs_hqnn"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "rounds": len(ratios)}
        native = TOOLS_BY_KEY[r["key"]].native
        if native in timed_rows:
            native_ratios = round_ratios(timings[r["key"]], timings[native])
            if native_ratios:
                r["vs_native"] = statistics.median(native_ratios)
    fl = floors(w, bw, gflops, _plan_steps(w))
    summary: dict[str, str] = {}
    torch_row = timed_rows.get(HQNN)
    if torch_row:
        summary["hqnn torch / fused floor"] = (f"{torch_row['median_s'] / fl['floor_s']:.1f}x (floor {fl['floor_s'] * 1e3:.2f} ms: "
                                               f"memory {fl['memory_s'] * 1e3:.2f}, compute {fl['compute_s'] * 1e3:.2f})")
        peers = [r for r in timed_rows.values() if r["kind"] == "peer" and "vs_hqnn" in r]
        for r in sorted(peers, key=lambda r: r["vs_hqnn"]["median"]):
            v = r["vs_hqnn"]
            summary[f"{r['label']} ({r['gradient']}) / hqnn"] = f"{v['median']:.1f}x ({v['min']:.1f}-{v['max']:.1f}, {v['rounds']} rounds)"
    shots_peer = timings.get(SHOTS_PEER)
    for r in timed_rows.values():  # sampled hqnn backends against PennyLane default.qubit with the same shots
        if TOOLS_BY_KEY[r["key"]].shots and r["kind"] == "hqnn" and shots_peer is not None and shots_peer.times:
            ratios = round_ratios(timings[r["key"]], shots_peer)
            if ratios:
                r["vs_pl_shots"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios), "rounds": len(ratios)}
                summary[f"{r['label']} / PL default.qubit shots"] = (f"{r['vs_pl_shots']['median']:.2f}x "
                                                                    f"({r['vs_pl_shots']['min']:.2f}-{r['vs_pl_shots']['max']:.2f})")
    return {"label": w.label(), "n_qubits": w.n_qubits, "layers": w.layers, "batch": w.batch, "gates": w.gates,
            "floors": fl, "rows": rows, "summary": summary}


def _round_inputs(w: Workload, r: int, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    x, _, cot = w.data(torch.float64, variant=r + 1)
    return x.to(dtype), cot.to(dtype)


def _plan_steps(w: Workload) -> int | None:
    """Fused steps of hqnn's compiled plan for the workload's circuit (for the older fused-plan floor)."""
    try:
        from hqnn_core import QuantumLayer
        from hqnn_plugins.statevector_plan import _plan

        layer = QuantumLayer(w.n_qubits, encoder="angle", ansatz="hardware_efficient", layers=w.layers, backend="torch")
        return len(_plan(layer.circuit, True).steps)
    except Exception:  # noqa: BLE001 - an informational number; absence is fine
        return None


def scaling(args: argparse.Namespace) -> dict[str, Any]:
    """Time per step against qubits (batch 32, 4 layers), batch size (10 qubits, 4 layers), and large circuits (batch 1)."""
    fast = ["hqnn-torch-backprop", "hqnn-torch-adjoint", "pl-default-backprop", "pl-lightning-adjoint"]
    sweeps = {
        "qubits": ("4 layers, batch 32", fast, [(n, Workload(f"n{n}", n, 4, 32)) for n in range(4, 19, 2)]),
        "batch": ("10 qubits, 4 layers", fast, [(b, Workload(f"b{b}", 10, 4, b)) for b in (8, 16, 32, 64, 128, 256, 512)]),
        "large": ("hqnn torch, 2 layers, batch 1", ["hqnn-torch-adjoint", "hqnn-torch-backprop"],
                  [(n, Workload(f"l{n}", n, 2, 1)) for n in range(14, args.max_qubits + 1, 2)]),
    }
    cap = min(args.cap, 30.0)
    out: dict[str, Any] = {}
    for key, (title, keys, points) in sweeps.items():
        series: dict[str, list[dict[str, Any]]] = {}
        for k in keys:
            tool = TOOLS_BY_KEY[k]
            series[f"{tool.label} ({tool.gradient})"] = pts = []
            for xval, w in points:
                try:
                    runner = tool.build(w, torch.float32, None)
                    x, _, cot = w.data(torch.float32)
                    timed(lambda runner=runner, x=x, cot=cot: runner.step(x, cot), cap)
                    times = interleaved({"s": lambda runner=runner, x=x, cot=cot: runner.step(x, cot)}, 2, cap, 3 * cap)["s"]
                except (Unavailable, StepTimeout):
                    break
                if not times.times:
                    break
                pts.append({"x": xval, "median_s": times.median})
                print(f"  scaling {key}={xval:>4} {tool.label} ({tool.gradient}): {times.median * 1e3:,.1f} ms", flush=True)
                if times.median > cap / 3:  # the next point would pass the cap
                    break
        out[key] = {"title": title, "tools": series}
        anchor = next((pts for pts in series.values() if pts), None)
        if anchor:  # a line proportional to batch x 2**n x gates through hqnn's last point
            costs = {xval: w.batch * 2**w.n_qubits * w.gates for xval, w in points}
            last = anchor[-1]
            xs = [xval for xval, _ in points if xval >= anchor[0]["x"]]
            out[key]["guide"] = {"label": "∝ batch × 2^n × gates", "x": xs,
                                 "y": [last["median_s"] * 1e3 * costs[x] / costs[last["x"]] for x in xs]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="tiny workloads, 2 repeats, no scaling sweep (CI smoke test)")
    p.add_argument("--workloads", default="W1,W2,W3", help="comma list of W1,W2,W3")
    p.add_argument("--tools", default="", help="comma list of tool keys (default: all); see benchmarks/tools.py")
    p.add_argument("--rounds", type=int, default=7, help="timing rounds per workload (each a block of 3 steps per tool)")
    p.add_argument("--cap", type=float, default=60.0, help="seconds one step may take before a tool is reported as (> cap)")
    p.add_argument("--budget", type=float, default=90.0, help="seconds of timing per tool and workload (fewer rounds if slower)")
    p.add_argument("--threads", type=int, default=1, help="torch/OpenMP threads for every tool (0: library defaults)")
    p.add_argument("--shots", type=int, default=1000, help="shots for the sampled variants (0: skip them)")
    p.add_argument("--tolerance", type=float, default=1e-5, help="largest relative deviation from the reference")
    p.add_argument("--scaling", action=argparse.BooleanOptionalAction, default=None, help="run the scaling sweep (default: on unless --quick)")
    p.add_argument("--max-qubits", type=int, default=24, help="largest circuit of the scaling sweep's batch-1 series")
    p.add_argument("--torchquantum-path", default=os.environ.get(TORCHQUANTUM_PATH_ENV),
                   help=f"directory holding TorchQuantum-ng installed with pip --no-deps --target (or ${TORCHQUANTUM_PATH_ENV})")
    p.add_argument("--json", default=None, help="write the full results here")
    p.add_argument("--markdown", default=None, help="write the tables here")
    p.add_argument("--plot", default=None, help="write the scaling plot (PNG) here")
    args = p.parse_args(argv)

    if args.torchquantum_path:
        os.environ[TORCHQUANTUM_PATH_ENV] = args.torchquantum_path
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)  # lightning and other OpenMP code read it at first use
        torch.set_num_threads(args.threads)
    if args.quick:
        workloads = list(QUICK_WORKLOADS.values())
        args.rounds = 1  # agreement is what quick mode checks; one timed round keeps it to seconds
        args.budget = min(args.budget, 1.0)
        args.shots = min(args.shots, 200) if args.shots else 0
    else:
        workloads = [WORKLOADS[k.strip()] for k in args.workloads.split(",") if k.strip()]
    scaling_on = args.scaling if args.scaling is not None else not args.quick
    tools = TOOLS + (SHOT_TOOLS + PEER_SHOT_TOOLS if args.shots else [])
    if args.tools:
        wanted = {k.strip() for k in args.tools.split(",")} | {HQNN}
        tools = [t for t in tools if t.key in wanted]

    started = time.time()
    bw = bandwidth(megabytes=32 if args.quick else 256, repeats=3 if args.quick else 7)
    bw["matmul_GFLOPs"] = gflops = matmul_rate(256 if args.quick else 512)
    run: dict[str, Any] = {
        "command": " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version()},
        "bandwidth": bw,
        "largest_statevector": _largest_statevector(),
        "workloads": {},
        "skipped": {},
    }
    print(f"copy bandwidth {bw['copy_GBps']:.1f} GB/s (add {bw['add_GBps']:.1f}), matmul {gflops:.1f} GFLOP/s; "
          f"threads {torch.get_num_threads()}")
    if run["largest_statevector"]:
        big = run["largest_statevector"]
        print(f"largest statevector (batch 1, complex64, {big['free_GiB']:.1f} GiB free): {big['forward']} qubits forward, "
              f"{big['adjoint_training']} qubits adjoint training")
    seen: dict[str, tuple[Workload, float]] = {}
    failures = 0
    for w in workloads:
        print(f"\n== {w.label()}", flush=True)
        result = run_workload(w, tools, args, seen, run["skipped"], bw["copy_GBps"], gflops)
        run["workloads"][w.name] = result
        for r in result["rows"]:
            if r["status"].startswith("DISAGREES") or r["status"].startswith("error"):
                failures += 1
            med = f"{r['median_s'] * 1e3:10,.1f} ms" if r.get("median_s") is not None else f"{'':>13}"
            extra = f"  jobs {r['jobs']} circuits {r['circuits']}" if "jobs" in r else ""
            print(f"  {r['label'][:52]:52s} {r['gradient'][:16]:16s} {med}  {r['status'] if r['status'] != 'ok' else ''}{extra}")
        for k, v in result["summary"].items():
            print(f"  {k}: {v}")
    if scaling_on:
        print("\n== scaling sweep", flush=True)
        run["scaling"] = scaling(args)
    run["elapsed_s"] = time.time() - started
    versions = {}
    for dist in ("pennylane", "pennylane_lightning", "qiskit", "qiskit-aer", "qiskit-machine-learning", "amazon-braket-sdk",
                 "amazon-braket-pennylane-plugin", "amazon-braket-default-simulator"):
        try:
            from importlib.metadata import version

            versions[dist] = version(dist)
        except Exception:  # noqa: BLE001
            continue
    run["versions"] = versions
    if args.json:
        Path(args.json).write_text(json.dumps(run, indent=1, default=_jsonable))
    if args.markdown:
        Path(args.markdown).write_text(rows_markdown(run))
    if args.plot and run.get("scaling"):
        plot(run, args.plot)
    if run["skipped"]:
        print("\nskipped: " + "; ".join(f"{k}: {v}" for k, v in run["skipped"].items()))
    print(f"\ndone in {run['elapsed_s']:.0f} s; {failures} tool(s) disagreed or failed")
    return 1 if failures else 0


def _largest_statevector() -> dict[str, Any]:
    """The most qubits hqnn's torch backend runs here (batch 1, complex64), from the memory free now."""
    from hqnn_plugins.torch_backend_memory import available_memory, largest_qubits

    free = available_memory()
    if free is None:
        return {}
    return {"free_GiB": free / 2**30, "forward": largest_qubits(free), "adjoint_training": largest_qubits(free, method="adjoint")}


def _jsonable(o: Any) -> Any:
    if isinstance(o, float) and math.isnan(o):
        return None
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
