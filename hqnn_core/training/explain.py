"""``hqnn explain``: which stage of a trained hybrid model contributes what.

Three views, all on the test set and in float64 so attributions add up:

* **Stage ablation** swaps one stage and measures how the logits and accuracy move: the quantum
  layer replaced by the identity (when its input and output widths match), by freshly drawn random
  weights, and by its mean output over the training inputs; the front end removed (when the data
  width equals the encoder's). A stage whose replacement leaves the logits unchanged contributes
  nothing.
* **Attributions** with Captum, through the quantum layer (any backend that gives gradients):
  integrated gradients and feature ablation per input feature, and integrated gradients and
  feature ablation per quantum-layer input (one per encoder feature, i.e. per qubit for angle
  encoders) and per observable. Integrated gradients are complete: per sample, the attributions
  sum to ``f(x) - f(baseline)``; the report gives the largest violation (``completeness_error``).
  The baseline input is the training-set mean; the target is the predicted class.
* **Per-class gap** between the hybrid and its classical baseline (when the run trained one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hqnn_core.errors import ConfigError, MissingExtraError
from hqnn_core.layer import QuantumLayer
from hqnn_core.training.checkpoints import load_weights_only
from hqnn_core.training.explain_plots import write_plots
from hqnn_core.training.model import HybridModel, build_baseline
from hqnn_core.training.prepare import prepare
from hqnn_core.training.run import load_run_profile, trained_state

#: Steps of the Gauss-Legendre rule for integrated gradients: enough for completeness to ~1e-6 in float64.
DEFAULT_STEPS = 64


class _Constant(nn.Module):
    """A stage replaced by a fixed vector (the quantum layer's mean output)."""

    constant: torch.Tensor

    def __init__(self, value: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("constant", value.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.constant.expand(x.shape[0], -1)


def _captum() -> Any:
    try:
        import captum.attr
    except ImportError:
        raise MissingExtraError('hqnn explain computes attributions with Captum, which is not installed; pip install "hqnn[explain]".') from None
    return captum.attr


@contextmanager
def _float64(model: nn.Module) -> Iterator[None]:
    """Run ``model`` in float64 (so integrated gradients add up to 1e-3 and better), then restore its dtype."""
    dtype = next((p.dtype for p in model.parameters()), torch.get_default_dtype())
    model.double()
    try:
        yield
    finally:
        model.to(dtype)


@torch.no_grad()
def _logits(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x)


def _score(name: str, logits: torch.Tensor, reference: torch.Tensor, y: torch.Tensor, note: str = "") -> dict[str, Any]:
    return {
        "stage": name,
        "accuracy": float((logits.argmax(dim=1) == y).double().mean()),
        "loss": float(nn.functional.cross_entropy(logits, y)),
        "logit_change": float((logits - reference).abs().mean()),  #: mean |logits - full model's logits|
        "prediction_change": float((logits.argmax(dim=1) != reference.argmax(dim=1)).double().mean()),
        "note": note,
    }


@contextmanager
def _random_weights(layer: QuantumLayer, seed: int) -> Iterator[None]:
    """The layer with weights redrawn by its ansatz's own initialiser, restored afterwards."""
    saved = layer.weights.detach().clone()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.weights.copy_(layer.ansatz.init_weights(tuple(saved.shape), generator, torch.float64))
    try:
        yield
    finally:
        with torch.no_grad():
            layer.weights.copy_(saved)


def stage_ablation(model: HybridModel, x: torch.Tensor, y: torch.Tensor, x_train: torch.Tensor, seed: int = 0, draws: int = 3) -> list[dict[str, Any]]:
    """Accuracy, loss and logit change with each stage replaced (see the module docstring)."""
    layer = model.quantum
    if layer is None:
        raise ConfigError("stage ablation needs a model with a quantum layer; the classical baseline has none.")
    full = _logits(model, x)
    rows = [_score("full model", full, full, y)]
    mean_out = _logits(model.middle, _logits(model.front, x_train)).mean(dim=0)
    rows.append(_score("quantum -> mean output", _logits(HybridModel(model.front, _Constant(mean_out), model.head), x), full, y,
                       "the layer's mean output over the training inputs"))
    draws_logits = []
    for d in range(draws):
        with _random_weights(layer, seed + d):
            draws_logits.append(_logits(model, x))
    row = _score("quantum -> random weights", draws_logits[0], full, y, f"mean over {draws} draws of the ansatz's initialiser")
    scores = [_score("", z, full, y) for z in draws_logits]
    for key in ("accuracy", "loss", "logit_change", "prediction_change"):
        row[key] = sum(s[key] for s in scores) / draws
    rows.append(row)
    if layer.n_features == layer.n_outputs:
        rows.append(_score("quantum -> identity", _logits(HybridModel(model.front, nn.Identity(), model.head), x), full, y))
    else:
        rows.append({"stage": "quantum -> identity", "skipped": f"the layer maps {layer.n_features} inputs to {layer.n_outputs} outputs"})
    if isinstance(model.front, nn.Identity):
        rows.append({"stage": "front end removed", "skipped": "the model has no front end"})
    elif x.shape[1] == layer.n_features:
        rows.append(_score("front end removed", _logits(HybridModel(nn.Identity(), model.middle, model.head), x), full, y,
                           "data features fed straight to the quantum layer"))
    else:
        rows.append({"stage": "front end removed", "skipped": f"the data has {x.shape[1]} features, the encoder takes {layer.n_features}"})
    return rows


def _ig(method: Any, x: torch.Tensor, baseline: torch.Tensor, target: torch.Tensor, steps: int, **kwargs: Any) -> torch.Tensor:
    attr = method.attribute(x, baselines=baseline, target=target, n_steps=steps, method="gausslegendre", **kwargs)
    return attr.detach()


def _summary(names: list[str], ig: torch.Tensor, ablation: torch.Tensor, gap: torch.Tensor) -> dict[str, Any]:
    """Mean |attribution| per feature, and the completeness check: per sample, sum of IG = f(x) - f(baseline)."""
    return {"names": names, "integrated_gradients": [float(v) for v in ig.abs().mean(dim=0)],
            "integrated_gradients_signed": [float(v) for v in ig.mean(dim=0)],
            "feature_ablation": [float(v) for v in ablation.abs().mean(dim=0)],
            "completeness_error": float((ig.sum(dim=1) - gap).abs().max())}


def attributions(model: HybridModel, x: torch.Tensor, x_train: torch.Tensor, steps: int = DEFAULT_STEPS) -> dict[str, Any]:
    """Mean |attribution| per input feature, per quantum-layer input and per observable (float64 model expected)."""
    attr = _captum()
    layer = model.quantum
    assert layer is not None
    baseline = x_train.mean(dim=0, keepdim=True)
    target = _logits(model, x).argmax(dim=1)
    batch = max(1, 4096 // steps) * steps
    rows = torch.arange(len(x))
    gap = _logits(model, x)[rows, target] - _logits(model, baseline)[0, target]  # what every IG below must add up to
    ig = _ig(attr.IntegratedGradients(model), x, baseline, target, steps, internal_batch_size=batch)
    ablation = attr.FeatureAblation(model).attribute(x, baselines=baseline, target=target)
    layer_ig = attr.LayerIntegratedGradients(model, layer)
    q_in = _ig(layer_ig, x, baseline, target, steps, internal_batch_size=batch, attribute_to_layer_input=True)
    q_out = _ig(layer_ig, x, baseline, target, steps, internal_batch_size=batch)
    layer_ablation = attr.LayerFeatureAblation(model, layer)
    front_train = _logits(model.front, x_train)
    q_in_ab = layer_ablation.attribute(x, layer_baselines=front_train.mean(dim=0, keepdim=True), target=target, attribute_to_layer_input=True)
    q_out_ab = layer_ablation.attribute(x, layer_baselines=_logits(layer, front_train).mean(dim=0, keepdim=True), target=target)
    observables = [str(o) for o in layer.circuit.observables]
    return {
        "baseline": "training-set mean input", "target": "predicted class", "steps": steps,
        "input_features": _summary([f"x{i}" for i in range(x.shape[1])], ig, ablation, gap),
        "quantum_inputs": _summary([f"q{i}" for i in range(layer.n_features)], q_in, q_in_ab, gap),
        "observables": _summary(observables, q_out, q_out_ab, gap),
    }


def per_class(model: nn.Module, baseline: nn.Module | None, x: torch.Tensor, y: torch.Tensor, n_classes: int) -> list[dict[str, Any]]:
    """Per-class test accuracy of the hybrid and its baseline, and the gap (hybrid minus baseline)."""
    pred = _logits(model, x).argmax(dim=1)
    base = _logits(baseline, x).argmax(dim=1) if baseline is not None else None
    rows = []
    for c in range(n_classes):
        mask = y == c
        n = int(mask.sum())
        acc = float((pred[mask] == c).double().mean()) if n else float("nan")
        row: dict[str, Any] = {"class": c, "n": n, "hybrid": acc}
        if base is not None:
            base_acc = float((base[mask] == c).double().mean()) if n else float("nan")
            row.update(baseline=base_acc, gap=acc - base_acc)
        rows.append(row)
    return rows


def explain_model(model: HybridModel, x: torch.Tensor, y: torch.Tensor, x_train: torch.Tensor, n_classes: int,
                  baseline: HybridModel | None = None, steps: int = DEFAULT_STEPS, seed: int = 0) -> dict[str, Any]:
    """Stage ablation, attributions and the per-class gap for ``model`` on ``(x, y)`` (computed in float64)."""
    if steps < 2:
        raise ConfigError(f"steps must be at least 2 for integrated gradients, got {steps}; use e.g. --steps 64.")
    model.eval()
    x, x_train = x.double(), x_train.double()
    with _float64(model):
        report = {"n_test": len(y), "ablation": stage_ablation(model, x, y, x_train, seed), "attributions": attributions(model, x, x_train, steps)}
        if baseline is not None:
            baseline.eval()
            with _float64(baseline):
                report["per_class"] = per_class(model, baseline, x, y, n_classes)
        else:
            report["per_class"] = per_class(model, None, x, y, n_classes)
    return report


def explain_run(run_dir: str | Path, out: str | Path | None = None, steps: int = DEFAULT_STEPS, backend: str = "torch",
                max_samples: int | None = None) -> dict[str, Any]:
    """Explain a run's trained model on its test set (exact expectations on ``backend``); write ``explain/``."""
    run_dir = Path(run_dir)
    record, loaded = load_run_profile(run_dir)
    state, _, origin = trained_state(run_dir, record)
    prepared = prepare(loaded, backend=backend, shots=None, backend_options={})
    model = prepared.model
    model.load_state_dict(state)
    d = prepared.dataset
    base_model = None
    base_info = (record.data.get("baseline") or {}).get("weights")
    if base_info and (run_dir / base_info["file"]).exists():
        base_model = build_baseline(loaded.profile, d.n_features, d.n_classes, d.image_shape, prepared.layer, loaded.source, loaded.base_dir)
        base_model.load_state_dict(load_weights_only((run_dir / base_info["file"]).read_bytes(), str(run_dir / base_info["file"])))
    x, y = torch.from_numpy(d.x_test), torch.from_numpy(d.y_test)
    if max_samples is not None:
        x, y = x[:max_samples], y[:max_samples]
    with torch.random.fork_rng(devices=[]):
        report = explain_model(model, x, y, torch.from_numpy(d.x_train), d.n_classes, base_model, steps, loaded.profile.train.seed)
    report = {"run_dir": str(run_dir), "weights": origin, "backend": prepared.layer.backend.describe(),
              "image_shape": list(d.image_shape) if d.image_shape else None, **report}
    folder = Path(out) if out is not None else run_dir / "explain"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "explain.json").write_text(json.dumps(report, indent=2) + "\n")
    report["files"] = {"json": str(folder / "explain.json"), **write_plots(report, folder)}
    return report


__all__ = ["DEFAULT_STEPS", "attributions", "explain_model", "explain_run", "per_class", "stage_ablation"]
