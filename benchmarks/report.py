"""Turning a benchmark run (the JSON the harness writes) into tables and a plot."""

from __future__ import annotations

import math
from typing import Any


def _ms(seconds: float | None) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    return f"{seconds * 1e3:,.1f}" if seconds < 10 else f"{seconds * 1e3:,.0f}"


def _ratio(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "—"
    return f"{x:.3g}×"


def _round_ratio(v: dict[str, float] | None) -> str:
    if not v:
        return "—"
    return f"{v['median']:.3g}× ({v['min']:.3g}–{v['max']:.3g})"


def rows_markdown(run: dict[str, Any]) -> str:
    """One table per workload: status, median and best ms, per-round ratio to hqnn torch, jobs and circuits per step."""
    out = []
    for w in run["workloads"].values():
        floor = w["floors"]
        out.append(f"### {w['label']}\n")
        out.append(
            f"Fused floor {_ms(floor['floor_s'])} ms: (6L + 6) state sizes at {run['bandwidth']['copy_GBps']:.1f} GB/s copy "
            f"({_ms(floor['memory_s'])} ms), flops at {run['bandwidth']['matmul_GFLOPs']:.1f} GFLOP/s ({_ms(floor['compute_s'])} ms).\n"
        )
        out.append("| tool | gradient | dtype | median ms | best ms | per-round ratio to hqnn torch (median, range) | vs native "
                   "| jobs/step | circuits/step | max dev. |")
        out.append("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in w["rows"]:
            if r["status"] != "ok":
                out.append(f"| {r['label']} | {r.get('gradient', '')} | | {r['status']} | | | | | | |")
                continue
            out.append(
                f"| {r['label']} | {r['gradient']} | {r['dtype']} | {_ms(r['median_s'])} | {_ms(r['best_s'])} | "
                f"{_round_ratio(r.get('vs_hqnn'))} | {_ratio(r.get('vs_native'))} | {r.get('jobs', '—')} | "
                f"{r.get('circuits', '—')} | {r['deviation']:.1e} |"
            )
        s = w.get("summary", {})
        if s:
            out.append("")
            out.append("; ".join(f"{k}: {v}" for k, v in s.items()))
        out.append("")
    big = run.get("largest_statevector")
    if big:
        out.append(f"Largest statevector on this machine ({big['free_GiB']:.1f} GiB free, batch 1, complex64): {big['forward']} qubits "
                   f"for a forward pass, {big['adjoint_training']} for adjoint training; past that the torch backend refuses "
                   "before allocating, with a CapabilityError naming the limit.\n")
    if run.get("skipped"):
        out.append("Skipped tools: " + "; ".join(f"{k} ({v})" for k, v in run["skipped"].items()) + "\n")
    return "\n".join(out)


def plot(run: dict[str, Any], path: str) -> None:
    """Time per step versus qubits and versus batch size (log scales), from the scaling sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scaling = run.get("scaling") or {}
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for ax, (key, xlabel) in zip(axes, (("qubits", "qubits"), ("batch", "batch size"), ("large", "qubits"))):
        series = scaling.get(key, {})
        for label, points in series.get("tools", {}).items():
            xs = [p["x"] for p in points if p.get("median_s") is not None]
            ys = [p["median_s"] * 1e3 for p in points if p.get("median_s") is not None]
            if xs:
                ax.plot(xs, ys, marker="o", label=label)
        ax.set_yscale("log")
        if key == "batch":
            ax.set_xscale("log", base=2)
        guide = series.get("guide")
        if guide:
            ax.plot(guide["x"], guide["y"], "k:", label=guide["label"])
        ax.set_xlabel(xlabel)
        ax.set_ylabel("forward+backward per step (ms)")
        ax.set_title(series.get("title", ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
