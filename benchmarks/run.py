"""Benchmark harness: hqnn's backends and the peers, side by side, on the same layer and the same numbers.

    python benchmarks/run.py                 # W1-W3, every installed tool, shots variants, scaling sweep, plot
    python benchmarks/run.py --quick         # tiny sizes, for CI: checks agreement, times nothing seriously

For every workload it first runs each tool once in float64 and checks its outputs and weight
gradients against hqnn's torch backend in complex128 (relative deviation at most ``--tolerance``;
shot-based runs: values within 5 standard errors). A tool that disagrees is reported and not
timed, and the exit status is 1. Then it times one forward+backward per tool in interleaved
rounds (float32 inputs, as a model trains) and prints medians, ratios to the fastest peer and to the
peer an adapter wraps, jobs and circuits per step (hqnn accounting), and the memory-bandwidth floor
measured on this machine. Slow tools are capped: a step past ``--cap`` seconds, or one estimated past
it from the previous workload, is reported as "(> cap)" instead of run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from benchmarks.measure import StepTimeout, bandwidth, floors, interleaved, max_deviation, timed  # noqa: E402
from benchmarks.report import plot, rows_markdown  # noqa: E402
from benchmarks.tools import SHOT_TOOLS, TOOLS, TOOLS_BY_KEY, Tool, Unavailable  # noqa: E402
from benchmarks.workloads import QUICK_WORKLOADS, WORKLOADS, Workload  # noqa: E402

REFERENCE = "hqnn-torch-backprop"
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


def run_workload(w: Workload, tools: list[Tool], args: argparse.Namespace, seen: dict[str, tuple[Workload, float]],
                 skipped: dict[str, str], bw: float) -> dict[str, Any]:
    x64, _, cot64 = w.data(torch.float64)
    x32, _, cot32 = w.data(torch.float32)
    ref_runner = TOOLS_BY_KEY[REFERENCE].build(w, torch.float64, None)
    reference = ref_runner.step(x64, cot64)
    rows: list[dict[str, Any]] = []
    steps = {}
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
            row["agrees"] = row["deviation"] <= args.tolerance
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
            runner, x, cot = check, x64, cot64
        else:
            runner, x, cot = tool.build(w, torch.float32, shots), x32, cot32
            runner.step(x, cot)  # warm-up: compiles, caches, allocates
        row["dtype"] = runner.dtype_note
        counts = runner.counts()
        if counts:
            row.update(counts)
        steps[tool.key] = lambda runner=runner, x=x, cot=cot: runner.step(x, cot)
    timings = interleaved(steps, args.rounds, args.cap, args.budget)
    for row in rows:
        t = timings.get(row["key"])
        if t is None:
            continue
        if t.capped and not t.times:
            row["status"] = f"(> cap {args.cap:.0f} s)"
            continue
        row["median_s"], row["best_s"], row["repeats"] = t.median, t.best, len(t.times)
        seen[row["key"]] = (w, t.median)
    timed_rows = {r["key"]: r for r in rows if r.get("median_s") is not None}
    peers = [r["median_s"] for r in timed_rows.values() if r["kind"] == "peer"]
    fastest_peer = min(peers) if peers else None
    for r in timed_rows.values():
        if fastest_peer:
            r["vs_fastest_peer"] = r["median_s"] / fastest_peer
        native = TOOLS_BY_KEY[r["key"]].native
        if native in timed_rows:
            r["vs_native"] = r["median_s"] / timed_rows[native]["median_s"]
    plan_steps = _plan_steps(ref_runner)
    fl = floors(w, bw, plan_steps)
    summary = {}
    torch_row = timed_rows.get(REFERENCE)
    if torch_row:
        summary["hqnn torch / gate-by-gate floor"] = f"{torch_row['median_s'] / fl['gate_by_gate_s']:.2f}"
        summary["hqnn torch / fused-plan floor"] = f"{torch_row['median_s'] / fl['fused_s']:.2f}"
        if "pl-default-backprop" in timed_rows:
            summary["speed-up vs PennyLane default.qubit backprop"] = f"{timed_rows['pl-default-backprop']['median_s'] / torch_row['median_s']:.1f}x"
        if fastest_peer:
            summary["speed-up vs fastest peer"] = f"{fastest_peer / torch_row['median_s']:.1f}x"
    return {"label": w.label(), "n_qubits": w.n_qubits, "layers": w.layers, "batch": w.batch, "gates": w.gates,
            "plan_steps": plan_steps, "floors": fl, "rows": rows, "summary": summary}


def _plan_steps(runner: Any) -> int | None:
    """Fused steps of hqnn's compiled plan for the workload's circuit (to count the fused floor)."""
    try:
        from hqnn_plugins.torch_backend import _plan

        return len(_plan(runner.extra["circuit"], True).steps)
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
    p.add_argument("--json", default=None, help="write the full results here")
    p.add_argument("--markdown", default=None, help="write the tables here")
    p.add_argument("--plot", default=None, help="write the scaling plot (PNG) here")
    args = p.parse_args(argv)

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
    tools = TOOLS + (SHOT_TOOLS if args.shots else [])
    if args.tools:
        wanted = {k.strip() for k in args.tools.split(",")} | {REFERENCE}
        tools = [t for t in tools if t.key in wanted]

    started = time.time()
    bw = bandwidth(megabytes=32 if args.quick else 256, repeats=3 if args.quick else 7)
    run: dict[str, Any] = {
        "command": " ".join(["python benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count(),
                    "threads": torch.get_num_threads(), "torch": torch.__version__, "python": platform.python_version()},
        "bandwidth": bw,
        "largest_statevector": _largest_statevector(),
        "workloads": {},
        "skipped": {},
    }
    print(f"memory bandwidth: {bw['GBps']:.1f} GB/s (copy {bw['copy_GBps']:.1f}, add {bw['add_GBps']:.1f}); threads {torch.get_num_threads()}")
    if run["largest_statevector"]:
        big = run["largest_statevector"]
        print(f"largest statevector (batch 1, complex64, {big['free_GiB']:.1f} GiB free): {big['forward']} qubits forward, "
              f"{big['adjoint_training']} qubits adjoint training")
    seen: dict[str, tuple[Workload, float]] = {}
    failures = 0
    for w in workloads:
        print(f"\n== {w.label()}", flush=True)
        result = run_workload(w, tools, args, seen, run["skipped"], bw["GBps"])
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
    from hqnn_plugins.torch_backend import _available_memory, largest_qubits

    free = _available_memory()
    if free is None:
        return {}
    return {"free_GiB": free / 2**30, "forward": largest_qubits(free), "adjoint_training": largest_qubits(free, method="adjoint")}


def _jsonable(o: Any) -> Any:
    if isinstance(o, float) and math.isnan(o):
        return None
    return str(o)


if __name__ == "__main__":
    sys.exit(main())
