"""Calibration impact: per-qubit deltas between calibration snapshots, and the model's sensitivity to each noise parameter.

A snapshot is what :meth:`hqnn_core.interfaces.Backend.calibration` returns (T1, T2, readout and gate
errors per wire; vendor knowledge stays in the adapters). ``hqnn compare`` puts the deltas between
two snapshots next to the output error each backend causes.

The sensitivity table varies ONE noise option of a backend at a time (the options it lists in
``noise_options``), everything else at its baseline:

* ``d(output)/d(param)``: the derivative of the quantum layer's outputs, by finite differences with a
  small step ``h`` (central, or one-sided of second order where ``param - h`` would be negative),
  reported per observable as the mean over test samples and as the mean of its absolute value.
  Backends that only sample (fake devices) are evaluated with the same shot seed at every point and
  a larger step, so the derivative carries their shot noise (about ``sqrt(2 / shots) / (2 h)``);
* ``Δaccuracy``: test accuracy at ``param + step`` minus test accuracy at the baseline (accuracy is
  piecewise constant in a parameter, so it gets a finite step rather than a derivative).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from hqnn_core.errors import ConfigError
from hqnn_core.training.records import RunRecord

#: Evaluates the model with these backend options: quantum-layer outputs ``[N, K]`` and logits ``[N, C]``.
Evaluate = Callable[[dict[str, Any]], tuple[torch.Tensor, torch.Tensor]]

FD_STEP = 1e-3
#: Step for backends that only sample: shot noise would swamp a small one.
SAMPLED_FD_STEP = 0.25
ACCURACY_STEP = 0.01


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def calibration_deltas(reference: Mapping[str, Any], other: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``other - reference`` for every numeric parameter both snapshots give, wire by wire (a wire's physical qubit may differ)."""
    by_wire = {q["wire"]: q for q in reference.get("qubits", [])}
    rows = []
    for qubit in other.get("qubits", []):
        ref = by_wire.get(qubit["wire"])
        if ref is None:
            continue
        for name, value in qubit.items():
            a, b = _number(ref.get(name)), _number(value)
            if name in ("wire", "physical") or a is None or b is None:
                continue
            rows.append({"wire": qubit["wire"], "physical_reference": ref.get("physical"), "physical": qubit.get("physical"),
                         "parameter": name, "reference": a, "value": b, "delta": b - a,
                         "relative": (b - a) / a if a else None})
    return rows


def recorded_calibration(record: RunRecord, other: str | Path | None) -> tuple[dict[str, Any] | None, str]:
    """The snapshot the deltas start from: ``other`` run's (which must have one), else this run's own; and its label."""
    if other is None:
        return record.data.get("calibration"), f"recorded in run.json ({record.data['profile']['resolved']['backend']['name']})"
    other_record = RunRecord.load(Path(other))
    snapshot = other_record.data.get("calibration")
    if not snapshot:
        raise ConfigError(f"--calibration-from {other}: that run recorded no calibration (its backend has none, or it predates calibration "
                          "records); name a run trained on a device or on torch.noisy.")
    return snapshot, f"recorded in {other} ({other_record.data['profile']['resolved']['backend']['name']})"


def add_calibration_deltas(report: dict[str, Any], recorded: dict[str, Any] | None, label: str) -> None:
    """Each calibrated row's per-qubit deltas against a recorded snapshot (else the first calibrated row)."""
    calibrated = [r for r in report["rows"] if r.get("calibration")]
    if recorded:
        reference = recorded
    elif calibrated:
        reference, label = calibrated[0]["calibration"], calibrated[0]["label"]
    else:
        return
    report["calibration_reference"] = {"label": label, "calibration": reference}
    for row in calibrated:
        row["calibration_deltas"] = calibration_deltas(reference, row["calibration"])


def _derivative(evaluate: Evaluate, options: dict[str, Any], name: str, base: float, h: float) -> torch.Tensor:
    """``d outputs / d options[name]`` ``[N, K]`` by finite differences (second order either way)."""
    def at(value: float) -> torch.Tensor:
        return evaluate({**options, name: value})[0].double()

    if base - h >= 0:
        return (at(base + h) - at(base - h)) / (2 * h)
    return (-3 * at(base) + 4 * at(base + h) - at(base + 2 * h)) / (2 * h)


def noise_sensitivity(names: Sequence[str], options: Mapping[str, Any], defaults: Mapping[str, Any], evaluate: Evaluate,
                      labels: torch.Tensor, step: float = ACCURACY_STEP, h: float = FD_STEP) -> list[dict[str, Any]]:
    """One row per noise option in ``names``: baseline, d(output)/d(param) and Δaccuracy at ``param + step``.

    ``options`` are the backend's options as given (``defaults`` fill the rest). An option whose baseline
    is not one number (e.g. per-qubit readout pairs) gets a row that says so instead of numbers.
    """
    options = {**{n: defaults[n] for n in names if n in defaults}, **options}  # every varied option given, also at the baseline
    base_outputs, base_logits = evaluate(dict(options))
    base_accuracy = float((base_logits.argmax(dim=1) == labels).double().mean())
    rows = []
    for name in names:
        base = _number(options.get(name, defaults.get(name)))
        if base is None:
            rows.append({"parameter": name, "baseline": options.get(name), "skipped": "baseline is not a single number; give one value to vary"})
            continue
        grad = _derivative(evaluate, dict(options), name, base, h)
        outputs, logits = evaluate({**options, name: base + step})
        rows.append({
            "parameter": name,
            "baseline": base,
            "d_output_mean_abs": float(grad.abs().mean()),
            "d_output_per_observable": [float(v) for v in grad.mean(dim=0)],
            "step": step,
            "output_change": float((outputs.double() - base_outputs.double()).abs().mean()),
            "delta_accuracy": float((logits.argmax(dim=1) == labels).double().mean()) - base_accuracy,
        })
    return rows


__all__ = ["ACCURACY_STEP", "FD_STEP", "SAMPLED_FD_STEP", "add_calibration_deltas", "calibration_deltas", "noise_sensitivity", "recorded_calibration"]
