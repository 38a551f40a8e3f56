"""Run plots: log-scale loss, titles naming profile and backend, a gradient-norm plot, readable confusion matrices."""

from __future__ import annotations

import matplotlib.image
import pytest

from hqnn_core.training.plots import confusion_figure, curves_figure, grad_norm_figure, write_plots


def _epoch(i: int, loss: float, grad_q: float | None) -> dict:
    return {"epoch": i, "train_loss": loss, "test_loss": 2 * loss, "train_accuracy": 0.5 + i / 20, "test_accuracy": 0.5,
            "grad_norm_quantum": grad_q, "grad_norm_classical": 10 * (grad_q or 1e-3)}


MATRIX = [[40 + i if i == j else (i * 3 + j) % 4 for j in range(10)] for i in range(10)]
RECORD = {
    "profile": {"source": "/some/where/examples/digits10.yaml"},
    "backend": {"name": "qiskit.aer"},
    "data": {"labels": list(range(10))},
    "hybrid": {"epochs": [_epoch(1, 0.7, 1e-2), _epoch(2, 1e-3, 1e-4), _epoch(3, 1e-6, 1e-6), _epoch(4, 0.0, 1e-7)],
               "final": {"test_accuracy": 0.9, "confusion_matrix": MATRIX}},
    "baseline": {"epochs": [_epoch(1, 0.6, None), _epoch(2, 0.01, None)],
                 "final": {"test_accuracy": 0.8, "confusion_matrix": MATRIX}},
}


def test_loss_is_on_a_log_axis_titled_with_profile_and_backend():
    ax = curves_figure(RECORD, "loss", "cross-entropy loss", log=True).axes[0]
    assert ax.get_yscale() == "log"
    assert "digits10.yaml" in ax.get_title() and "qiskit.aer" in ax.get_title()
    hybrid_train = next(line for line in ax.lines if line.get_label() == "hybrid train")
    assert list(hybrid_train.get_ydata()) == [0.7, 1e-3, 1e-6]  # the 0.0 of epoch 4 cannot sit on a log axis and is left out
    assert curves_figure(RECORD, "accuracy", "accuracy").axes[0].get_yscale() == "linear"


def test_gradient_norm_plot_from_the_epoch_metrics():
    ax = grad_norm_figure(RECORD).axes[0]
    assert ax.get_yscale() == "log" and "digits10.yaml on qiskit.aer" in ax.get_title()
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.lines}
    assert lines["hybrid quantum"] == [1e-2, 1e-4, 1e-6, 1e-7]
    assert lines["hybrid classical"] == pytest.approx([0.1, 1e-3, 1e-5, 1e-6])
    assert "baseline quantum" not in lines and lines["baseline classical"] == pytest.approx([0.01, 0.01])  # no quantum layer
    gradient_free = {**RECORD, "hybrid": {"epochs": [{"epoch": 1, "grad_norm_quantum": None, "grad_norm_classical": None}]}, "baseline": None}
    assert grad_norm_figure(gradient_free) is None


def test_confusion_matrix_cells_show_every_count_readably():
    fig = confusion_figure(RECORD, list(range(10)))
    assert fig.get_suptitle().endswith("digits10.yaml on qiskit.aer")
    width, height = fig.get_size_inches()
    assert width / 2 / 10 >= 0.55 and height / 10 >= 0.55  # at least half an inch per cell and panel
    for ax in fig.axes[:2]:
        texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}
        assert len(texts) == 100
        for (r, c), text in texts.items():
            assert text.get_text() == str(MATRIX[r][c]) and text.get_fontsize() >= 9
            assert text.get_color() == ("white" if MATRIX[r][c] > max(map(max, MATRIX)) / 2 else "black")


def test_write_plots_writes_the_gradient_norm_png(tmp_path):
    written = write_plots(tmp_path, RECORD)
    assert written == ["plots/loss.png", "plots/accuracy.png", "plots/grad_norm.png", "plots/confusion_matrix.png"]
    image = matplotlib.image.imread(tmp_path / "plots" / "grad_norm.png")
    assert image.shape[0] > 100 and image[..., :3].std() > 0.01
