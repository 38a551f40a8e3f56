"""PNG plots of a run: loss and accuracy curves, and confusion matrices.

Uses matplotlib's object API with the Agg canvas directly (no pyplot), so it needs no display and
does not change the global matplotlib backend of a program that imports hqnn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hqnn_core.training.paths import confined

_STYLES = {"hybrid": "-", "baseline": "--"}


def _save(fig: Figure, path: Path) -> str:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return path.name


def _curves(record: dict[str, Any], metric: str, label: str, path: Path) -> str:
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for name in ("hybrid", "baseline"):
        epochs = (record.get(name) or {}).get("epochs") or []
        if not epochs:
            continue
        xs = [e["epoch"] for e in epochs]
        for split, marker in (("train", "o"), ("test", "s")):
            ys = [e[f"{split}_{metric}"] for e in epochs]
            ax.plot(xs, ys, _STYLES[name], marker=marker, markersize=3, label=f"{name} {split}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def _confusion(record: dict[str, Any], labels: list[Any], path: Path) -> str:
    names = [n for n in ("hybrid", "baseline") if ((record.get(n) or {}).get("final") or {}).get("confusion_matrix")]
    fig = Figure(figsize=(4.5 * max(1, len(names)), 4))
    for i, name in enumerate(names):
        matrix = record[name]["final"]["confusion_matrix"]
        ax = fig.add_subplot(1, len(names), i + 1)
        ax.imshow(matrix, cmap="Blues")
        peak = max(max(row) for row in matrix) or 1
        for r, row in enumerate(matrix):
            for c, value in enumerate(row):
                ax.text(c, r, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black", fontsize=8)
        ax.set_xticks(range(len(labels)), [str(x) for x in labels])
        ax.set_yticks(range(len(labels)), [str(x) for x in labels])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}: test accuracy {record[name]['final']['test_accuracy']:.3f}")
    return _save(fig, path)


def write_plots(run_dir: str | Path, record: dict[str, Any]) -> list[str]:
    """Write ``plots/loss.png``, ``plots/accuracy.png`` and ``plots/confusion_matrix.png``; returns their paths."""
    confined(run_dir, "plots").mkdir(parents=True, exist_ok=True)
    labels = (record.get("data") or {}).get("labels") or []

    def path(name: str) -> Path:  # savefig follows symlinks: a plots/ link must not lead out of the run directory
        return confined(run_dir, f"plots/{name}")

    written = [
        _curves(record, "loss", "cross-entropy loss", path("loss.png")),
        _curves(record, "accuracy", "accuracy", path("accuracy.png")),
    ]
    if ((record.get("hybrid") or {}).get("final") or {}).get("confusion_matrix"):
        written.append(_confusion(record, labels, path("confusion_matrix.png")))
    return [f"plots/{name}" for name in written]
