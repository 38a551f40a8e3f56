"""``hqnn compare``: one trained model evaluated on several backends, side by side (the sim-to-hardware gap).

The reference is always the noiseless ``torch`` backend with exact expectations and no mitigation.
For every other backend the report gives the test accuracy, the mean absolute error of the quantum
layer's outputs against the reference (over every test sample and observable), the same for the
logits, and the jobs and shots spent. Every backend is built and validated before any circuit
runs, so a misspelt name or an impossible shot setting fails before anything is spent.

A backend is written ``NAME`` or ``NAME?key=value&...``: keys are the backend's own options (values
read as YAML scalars, so ``readout_error=0.05`` is a number), plus three reserved keys: ``shots``
(an integer or ``none``), ``mitigation`` (mitigator names joined by ``+``) and ``label``. A YAML
file can list the same as mappings ``{name, options, shots, mitigation, label}`` instead.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import yaml

from hqnn_core.components import backend_capabilities
from hqnn_core.errors import ConfigError
from hqnn_core.option_text import read_value, split_query
from hqnn_core.plugin_manager import get_plugins
from hqnn_core.training.calibration import (
    ACCURACY_STEP,
    FD_STEP,
    SAMPLED_FD_STEP,
    add_calibration_deltas,
    noise_sensitivity,
    recorded_calibration,
)
from hqnn_core.training.model import HybridModel, build_model
from hqnn_core.training.paths import confined
from hqnn_core.training.prepare import Prepared, build_layer, prepare
from hqnn_core.training.resilience import build_backend
from hqnn_core.training.run import load_run_profile, trained_state
from hqnn_core.training.shots import layer_standard_error
from hqnn_core.training.spec import resolve

#: ``shots`` not given for a backend: use ``--shots``, else the run's own shots on its backend, else exact.
DEFAULT = "default"
REFERENCE = "exact (torch)"
_RESERVED = {"shots", "mitigation", "label"}


@dataclass
class BackendSpec:
    """One column of the comparison: a backend with options, shots and mitigation."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    shots: Any = DEFAULT
    mitigation: list[Any] = field(default_factory=list)
    label: str = ""

    def title(self) -> str:
        if self.label:
            return self.label
        text = self.name + ("?" + "&".join(f"{k}={v}" for k, v in self.options.items()) if self.options else "")
        return text + (" + " + "+".join(m if isinstance(m, str) else m["name"] for m in self.mitigation) if self.mitigation else "")


def _shots_value(value: Any, where: str) -> Any:
    if value is None or (isinstance(value, str) and value.lower() in {"none", "null", "exact"}):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    raise ConfigError(f"{where}: shots must be a positive integer or 'none' (exact), got {value!r}.")


def parse_backend_spec(text: str) -> BackendSpec:
    """``torch.noisy?readout_error=0.05&shots=2000&mitigation=readout`` -> :class:`BackendSpec`."""
    where = f"backend {text!r}"
    name, raw = split_query(text, where)
    if not name:
        raise ConfigError(f"{where}: give a backend name, e.g. torch or 'torch.noisy?readout_error=0.05'.")
    options = {key: read_value(value, where, key) for key, value in raw.items() if key not in _RESERVED}
    shots = _shots_value(read_value(raw["shots"], where, "shots"), where) if "shots" in raw else DEFAULT
    mitigation = [m for m in re.split(r"[+\s]+", raw.get("mitigation", "")) if m]  # the query form reads '+' as a space
    return BackendSpec(name, options, shots, mitigation, raw.get("label", ""))


def load_specs_file(path: str | Path) -> list[BackendSpec]:
    """A YAML list of backends: names, or mappings ``{name, options, shots, mitigation, label}``."""
    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such backends file.") from None
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path}: expected a YAML list of backends, e.g. '- torch' and '- {{name: torch.noisy, options: {{readout_error: 0.05}}}}'.")
    specs = []
    for i, item in enumerate(data):
        if isinstance(item, str):
            specs.append(parse_backend_spec(item))
            continue
        if not isinstance(item, dict) or "name" not in item or set(item) - {"name", "options", *_RESERVED}:
            raise ConfigError(f"{path}: entry {i} must be a name or a mapping with keys name, options, shots, mitigation, label; got {item!r}.")
        shots = _shots_value(item["shots"], f"{path}: entry {i}") if "shots" in item else DEFAULT
        specs.append(BackendSpec(item["name"], dict(item.get("options") or {}), shots, list(item.get("mitigation") or []), item.get("label", "")))
    return specs


def _resolve_shots(spec: BackendSpec, default_shots: Any, prepared: Prepared) -> Any:
    caps = backend_capabilities(spec.name, spec.options)
    shots = spec.shots
    if shots == DEFAULT:
        profile_backend = prepared.loaded.profile.backend
        if default_shots != DEFAULT:
            shots = default_shots
        elif spec.name == profile_backend.name:
            shots = profile_backend.shots
        else:
            shots = None
    if shots is not None and not caps.shots:
        return None  # an exact-only backend ignores --shots
    if shots is None and not caps.analytic:
        raise ConfigError(f"backend {spec.name!r} only samples; give --shots N or write '{spec.name}?shots=N'.")
    return shots


def _build(prepared: Prepared, spec: BackendSpec, shots: Any, state: dict[str, Any]) -> HybridModel:
    loaded, d = prepared.loaded, prepared.dataset
    run_spec = resolve(loaded, spec.name, shots, spec.options)
    where = f"compare backend {spec.title()!r}"
    # evaluation only: no gradient is computed, so none can be unsupported
    layer = build_layer(run_spec, build_backend(run_spec), where, mitigation=list(spec.mitigation), gradient="best")
    model = build_model(loaded.profile, d.n_features, d.n_classes, d.image_shape, layer, where, loaded.base_dir)
    model.load_state_dict(state)
    model.eval()
    return model


@torch.no_grad()
def _outputs(model: HybridModel, x: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Quantum-layer outputs, their shot noise and the logits for every test sample."""
    captured: list[torch.Tensor] = []
    layer = model.quantum
    assert layer is not None
    handle = layer.register_forward_hook(lambda module, inputs, output: captured.append(output.detach()))
    try:
        logits = torch.cat([model(x[i : i + batch]) for i in range(0, len(x), batch)])
    finally:
        handle.remove()
    quantum = torch.cat(captured)
    return quantum, layer_standard_error(layer, quantum), logits


def _row(label: str, model: HybridModel, shots: Any, x: torch.Tensor, y: torch.Tensor, batch: int,
         reference: tuple[torch.Tensor, torch.Tensor] | None) -> tuple[dict[str, Any], tuple[torch.Tensor, torch.Tensor]]:
    layer = model.quantum
    assert layer is not None
    began = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        quantum, noise, logits = _outputs(model, x, batch)
    ref_q, ref_logits = reference if reference is not None else (quantum, logits)
    row = {
        "label": label,
        "backend": layer.backend.describe(),
        "shots": shots,
        "mitigation": [m.config() for m in layer.mitigators],
        "test_accuracy": float((logits.argmax(dim=1) == y).double().mean()),
        "test_loss": float(torch.nn.functional.cross_entropy(logits, y)),
        "output_error": float((quantum - ref_q).abs().mean()),
        "output_error_per_observable": [float(v) for v in (quantum - ref_q).abs().mean(dim=0)],
        "logit_error": float((logits - ref_logits).abs().mean()),
        "shot_noise": float(noise.mean()),
        "jobs": layer.backend.accounting.jobs,
        "shots_used": layer.backend.accounting.shots,
        "wall_time_s": round(time.perf_counter() - began, 3),
        "calibration": layer.backend.calibration(layer.n_qubits),
    }
    return row, (quantum, logits)


def _sensitivity(prepared: Prepared, spec: BackendSpec, shots: Any, state: dict[str, Any], x: torch.Tensor, y: torch.Tensor, batch: int,
                 step: float) -> list[dict[str, Any]] | None:
    """The noise-sensitivity table of ``spec``'s backend, or None if it lists no noise options.

    Exact expectations where the backend has them; otherwise ``shots`` with the same seed at every point.
    """
    cls = get_plugins().backends.get(spec.name)
    if not cls.noise_options:
        return None
    analytic = cls.capabilities.analytic
    defaults = {k: f.default for k, f in cls.Options.model_fields.items()}
    options = dict(spec.options)
    if not analytic and "seed" in defaults:
        options.setdefault("seed", 0)  # the same shot seed at every point: differences are the noise model's, not new samples

    def evaluate(options: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor]:
        spec_shots = None if analytic else shots
        model = _build(prepared, BackendSpec(spec.name, options, spec_shots, spec.mitigation), spec_shots, state).double()
        with torch.random.fork_rng(devices=[]):  # float64 inputs: the steps of the finite differences stay far above rounding
            quantum, _, logits = _outputs(model, x.double(), batch)
        return quantum, logits

    return noise_sensitivity(cls.noise_options, options, defaults, evaluate, y, step, FD_STEP if analytic else SAMPLED_FD_STEP)


def compare_run(run_dir: str | Path, specs: list[BackendSpec], shots: Any = DEFAULT, mitigation: list[Any] | None = None,
                out: str | Path | None = None, sensitivity: bool = False, sensitivity_step: float = ACCURACY_STEP,
                calibration_from: str | Path | None = None) -> dict[str, Any]:
    """Evaluate the run's trained model on the exact reference and every backend in ``specs``; write ``compare/``.

    ``mitigation`` adds, for every backend, a second row with those mitigators applied. Rows of backends with
    calibration data carry per-qubit deltas against the run's recorded snapshot (or that of ``calibration_from``,
    another run; else the first such row);
    ``sensitivity`` adds, for each backend that lists noise options, the table of
    :func:`hqnn_core.training.calibration.noise_sensitivity`.
    """
    run_dir = Path(run_dir)
    record, loaded = load_run_profile(run_dir)
    if not specs:
        raise ConfigError("give at least one backend to compare, e.g. --backends torch,'torch.noisy?readout_error=0.05'.")
    state, recorded, origin = trained_state(run_dir, record)
    reference_calibration = recorded_calibration(record, calibration_from)  # a bad --calibration-from fails before any circuit
    prepared = prepare(loaded, backend="torch", shots=None, backend_options={})
    rows_specs = list(specs)
    if mitigation:
        rows_specs += [BackendSpec(s.name, s.options, s.shots, [*s.mitigation, *mitigation], f"{s.title()} + {'+'.join(map(str, mitigation))}")
                       for s in specs]
    # build and validate everything before any circuit runs
    reference = _build(prepared, BackendSpec("torch"), None, state)
    models = []
    for spec in rows_specs:
        spec_shots = _resolve_shots(spec, shots, prepared)
        models.append((spec, spec_shots, _build(prepared, spec, spec_shots, state)))
    x, y = torch.from_numpy(prepared.dataset.x_test), torch.from_numpy(prepared.dataset.y_test)
    batch = loaded.profile.train.eval_batch_size
    ref_row, ref = _row(REFERENCE, reference, None, x, y, batch, None)
    rows = [ref_row]
    for spec, spec_shots, model in models:
        label = spec.title() + ("" if spec.label or spec_shots is None else f" ({spec_shots} shots)")
        rows.append(_row(label, model, spec_shots, x, y, batch, ref)[0])
    report: dict[str, Any] = {
        "run_dir": str(run_dir),
        "weights": origin,
        "recorded_test_accuracy": recorded,
        "trained_on": {"backend": loaded.profile.backend.name, "shots": loaded.profile.backend.shots},
        "n_test": len(y),
        "reference": REFERENCE,
        "rows": rows,
    }
    add_calibration_deltas(report, *reference_calibration)
    if sensitivity:
        tables = {spec.title(): _sensitivity(prepared, spec, spec_shots, state, x, y, batch, sensitivity_step)
                  for spec, spec_shots, _ in models[: len(specs)]}
        report["sensitivity"] = {k: v for k, v in tables.items() if v is not None}
    if out is not None:  # the user's folder
        folder = Path(out)
        json_path, png_path = folder / "compare.json", folder / "compare.png"
    else:  # inside the run directory: symlinks there must not lead the writes out of it
        folder = confined(run_dir, "compare")
        json_path, png_path = confined(run_dir, "compare/compare.json"), confined(run_dir, "compare/compare.png")
    folder.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    report["files"] = {"json": str(json_path), "plot": str(write_plot(report, png_path))}
    return report


def write_plot(report: dict[str, Any], path: Path) -> Path:
    """Bars per backend: test accuracy (left) and mean |output - exact| of quantum outputs and logits (right)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = report["rows"]
    labels = [r["label"] for r in rows]
    xs = list(range(len(rows)))
    fig = Figure(figsize=(max(7.0, 1.6 * len(rows) + 3), 4.5))
    FigureCanvasAgg(fig)
    acc, err = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    acc.bar(xs, [r["test_accuracy"] for r in rows], color="tab:blue")
    if report.get("recorded_test_accuracy") is not None:
        acc.axhline(report["recorded_test_accuracy"], color="black", linestyle="--", linewidth=1, label="recorded in run.json")
        acc.legend(fontsize=8, loc="lower left")
    acc.set_ylim(0, 1.05)
    acc.set_ylabel("test accuracy")
    width = 0.4
    err.bar([i - width / 2 for i in xs], [r["output_error"] for r in rows], width, label="quantum outputs", color="tab:orange")
    err.bar([i + width / 2 for i in xs], [r["logit_error"] for r in rows], width, label="logits", color="tab:green")
    err.set_ylabel("mean |value - exact value|")
    err.legend(fontsize=8)
    for ax in (acc, err):
        ax.set_xticks(xs, labels, rotation=20, ha="right", fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    fig.suptitle(f"{report['run_dir']}: {report['n_test']} test samples")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    return path


__all__ = ["BackendSpec", "compare_run", "load_specs_file", "parse_backend_spec"]
