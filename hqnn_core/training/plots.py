"""PNG plots of a run: loss (log scale), accuracy, gradient norms, and confusion matrices.

Uses matplotlib's object API with the Agg canvas directly (no pyplot), so it needs no display and
does not change the global matplotlib backend of a program that imports hqnn. Each ``*_figure``
function builds one Figure from a run record (titled with the profile and the backend), so tests
can inspect the axes; :func:`write_plots` saves them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hqnn_core.training.paths import confined

_STYLES = {"hybrid": "-", "baseline": "--"}
_MODELS = ("hybrid", "baseline")


def _save(fig: Figure, path: Path) -> str:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return path.name


def run_title(record: dict[str, Any]) -> str:
    """``digits.yaml on torch``: the profile and the backend the run trained on."""
    source = str((record.get("profile") or {}).get("source") or "profile")
    return f"{Path(source).name} on {(record.get('backend') or {}).get('name', 'unknown backend')}"


def _series(record: dict[str, Any], name: str, key: str, positive: bool = False) -> tuple[list[int], list[float]]:
    """Epochs and values of one metric of one model; missing values (and non-positive ones for a log axis) left out."""
    points = [(e["epoch"], e.get(key)) for e in (record.get(name) or {}).get("epochs") or []]
    kept = [(x, float(y)) for x, y in points if y is not None and (not positive or y > 0)]
    return [x for x, _ in kept], [y for _, y in kept]


def curves_figure(record: dict[str, Any], metric: str, label: str, log: bool = False) -> Figure:
    """Train and test ``metric`` per epoch for each model; on a log axis when ``log`` (losses span decades)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for name in _MODELS:
        for split, marker in (("train", "o"), ("test", "s")):
            xs, ys = _series(record, name, f"{split}_{metric}", positive=log)
            if xs:
                ax.plot(xs, ys, _STYLES[name], marker=marker, markersize=3, label=f"{name} {split}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    ax.set_title(f"{label}: {run_title(record)}")
    ax.grid(alpha=0.3, which="both" if log else "major")
    if ax.lines:
        ax.legend()
    return fig


def grad_norm_figure(record: dict[str, Any]) -> Figure | None:
    """Mean L2 gradient norm per epoch of the quantum weights and of the classical ones (None without any)."""
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for name in _MODELS:
        for key, marker in (("grad_norm_quantum", "o"), ("grad_norm_classical", "s")):
            xs, ys = _series(record, name, key, positive=True)
            if xs:
                ax.plot(xs, ys, _STYLES[name], marker=marker, markersize=3, label=f"{name} {key.removeprefix('grad_norm_')}")
    if not ax.lines:
        return None
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("gradient L2 norm (mean over steps)")
    ax.set_title(f"gradient norms: {run_title(record)}")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return fig


def confusion_figure(record: dict[str, Any], labels: list[Any]) -> Figure:
    """One confusion matrix per model, counts in every cell, cells large enough for the numbers to be read."""
    names = [n for n in _MODELS if ((record.get(n) or {}).get("final") or {}).get("confusion_matrix")]
    n_classes = max(len(labels), 1)
    side = max(4.5, 0.55 * n_classes + 1.8)  # about half an inch per cell
    fontsize = 11 if n_classes <= 5 else 9
    fig = Figure(figsize=(side * max(1, len(names)), side))
    for i, name in enumerate(names):
        matrix = record[name]["final"]["confusion_matrix"]
        ax = fig.add_subplot(1, len(names), i + 1)
        peak = max(max(row) for row in matrix) or 1
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=peak)
        for r, row in enumerate(matrix):
            for c, value in enumerate(row):
                ax.text(c, r, str(value), ha="center", va="center", fontsize=fontsize,
                        color="white" if value > peak / 2 else "black")  # dark text on light cells, light on dark
        ax.set_xticks(range(len(labels)), [str(x) for x in labels])
        ax.set_yticks(range(len(labels)), [str(x) for x in labels])
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{name}: test accuracy {record[name]['final']['test_accuracy']:.3f}")
    fig.suptitle(f"confusion matrices: {run_title(record)}")
    return fig


def write_plots(run_dir: str | Path, record: dict[str, Any]) -> list[str]:
    """Write ``plots/loss.png``, ``accuracy.png``, ``grad_norm.png`` (when measured) and ``confusion_matrix.png``; returns their paths."""
    confined(run_dir, "plots").mkdir(parents=True, exist_ok=True)
    labels = (record.get("data") or {}).get("labels") or []

    def path(name: str) -> Path:  # savefig follows symlinks: a plots/ link must not lead out of the run directory
        return confined(run_dir, f"plots/{name}")

    written = [
        _save(curves_figure(record, "loss", "cross-entropy loss", log=True), path("loss.png")),
        _save(curves_figure(record, "accuracy", "accuracy"), path("accuracy.png")),
    ]
    grad = grad_norm_figure(record)
    if grad is not None:
        written.append(_save(grad, path("grad_norm.png")))
    if ((record.get("hybrid") or {}).get("final") or {}).get("confusion_matrix"):
        written.append(_save(confusion_figure(record, labels), path("confusion_matrix.png")))
    return [f"plots/{name}" for name in written]
