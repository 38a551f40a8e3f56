"""The figures of ``hqnn explain``: stage ablation, attributions, per-class gap (PNG, Agg, no pyplot state)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _ablation(report: dict[str, Any], path: Path) -> None:
    rows = [r for r in report["ablation"] if "skipped" not in r]
    fig = _figure(max(7.0, 1.5 * len(rows) + 2), 4.2)
    acc, change = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    xs = list(range(len(rows)))
    acc.bar(xs, [r["accuracy"] for r in rows], color="tab:blue")
    acc.set_ylim(0, 1.05)
    acc.set_ylabel("test accuracy")
    change.bar(xs, [r["logit_change"] for r in rows], color="tab:orange")
    change.set_ylabel("mean |logits - full model's|")
    for ax in (acc, change):
        ax.set_xticks(xs, [r["stage"] for r in rows], rotation=25, ha="right", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle("stage ablation")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)


def _attributions(report: dict[str, Any], path: Path) -> None:
    parts = report["attributions"]
    keys = ["input_features", "quantum_inputs", "observables"]
    fig = _figure(12.0, 4.2)
    for i, key in enumerate(keys):
        ax = fig.add_subplot(1, 3, i + 1)
        part = parts[key]
        xs = list(range(len(part["names"])))
        width = 0.4
        ax.bar([x - width / 2 for x in xs], part["integrated_gradients"], width, label="integrated gradients")
        ax.bar([x + width / 2 for x in xs], part["feature_ablation"], width, label="feature ablation")
        if len(xs) <= 16:
            ax.set_xticks(xs, part["names"], rotation=45, ha="right", fontsize=7)
        ax.set_title(f"{key.replace('_', ' ')} (IG completeness error {part['completeness_error']:.1e})", fontsize=8)
        ax.set_ylabel("mean |attribution|")
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)


def _per_class(report: dict[str, Any], path: Path) -> None:
    rows = report["per_class"]
    fig = _figure(max(5.0, 0.7 * len(rows) + 2), 4.0)
    ax = fig.add_subplot()
    xs = [r["class"] for r in rows]
    width = 0.4
    ax.bar([x - width / 2 for x in xs], [r["hybrid"] for r in rows], width, label="hybrid")
    if rows and "baseline" in rows[0]:
        ax.bar([x + width / 2 for x in xs], [r["baseline"] for r in rows], width, label="classical baseline")
    ax.set_xlabel("class")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)


def write_plots(report: dict[str, Any], folder: Path) -> dict[str, str]:
    """``ablation.png``, ``attributions.png`` and ``per_class.png`` in ``folder``."""
    files = {"ablation": folder / "ablation.png", "attributions": folder / "attributions.png", "per_class": folder / "per_class.png"}
    _ablation(report, files["ablation"])
    _attributions(report, files["attributions"])
    _per_class(report, files["per_class"])
    return {k: str(v) for k, v in files.items()}
