"""``hqnn diagnose`` (barren-plateau check) and ``hqnn compare`` (sim-to-hardware gap) commands.

The work is in :mod:`hqnn_core.diagnostics` and :mod:`hqnn_core.training.compare`; this module only
parses options and prints rich tables.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hqnn_core.errors import ConfigError


def _int_list(text: str, option: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"{option} {text!r}: give comma-separated positive integers, e.g. 2,4,6,8.") from None
    if not values or any(v < 1 for v in values):
        raise ConfigError(f"{option} {text!r}: give comma-separated positive integers, e.g. 2,4,6,8.")
    return values


def _new_folder(runs_dir: Path, prefix: str) -> Path:
    """A fresh ``runs_dir/<prefix>-<UTC time>[-N]`` beside the training runs (never the working folder itself)."""
    name = f"{re.sub(r'[^A-Za-z0-9._-]', '_', prefix)}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    for i in range(1, 1000):
        path = runs_dir / (name if i == 1 else f"{name}-{i}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            continue
    raise ConfigError(f"output.runs_dir: could not create a new folder under {runs_dir}; pass --out FOLDER.")


def _shots_option(text: str | None) -> object:
    from hqnn_core.training.compare import DEFAULT

    if text is None:
        return DEFAULT
    if text.lower() in {"none", "null", "exact"}:
        return None
    if text.isdigit() and int(text) > 0:
        return int(text)
    raise ConfigError(f"--shots {text!r}: give a positive integer, or 'none' for exact expectations.")


@click.command()
@click.argument("profile", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a profile key (repeatable).")
@click.option("--ansatz", help="Ansatz to check instead of the profile's (a registered name); needed without a PROFILE unless hardware_efficient.")
@click.option("--qubits", default="2,4,6,8", show_default=True, help="Comma-separated qubit counts.")
@click.option("--layers", "depths", default=None, help="Comma-separated depths: integers or multiples of the qubit count (n, 2n). "
              "Default: the profile's layers and n.")
@click.option("--cost", "costs", default="local,global", show_default=True,
              help="Comma-separated costs: local (Z on wire 1), global (Z on every wire), or Pauli strings such as 'Z0 Z1'.")
@click.option("--samples", default=50, show_default=True, type=click.IntRange(min=2), help="Random initialisations per setting.")
@click.option("--init", "inits", default="uniform", show_default=True,
              help="Comma-separated initialisation strategies to compare: uniform, normal (small angles), zeros, identity_blocks.")
@click.option("--init-std", default=0.1, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Standard deviation of the normal strategy.")
@click.option("--input", "inputs", type=click.Choice(["zero", "random"]), default="zero", show_default=True,
              help="Start state: |0...0>, or a random product state per sample (needed by zeros and identity_blocks).")
@click.option("--seed", type=int, default=None, help="Seed of the initialisations (default: the profile's train.seed, else 0).")
@click.option("--out", type=click.Path(file_okay=False), help="Folder for diagnose.json and the plot (default: a new folder "
              "diagnose-<profile or ansatz>-<UTC time> under the profile's output.runs_dir, else runs/).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
def diagnose(profile: str | None, overrides: tuple[str, ...], ansatz: str | None, qubits: str, depths: str | None, costs: str, samples: int,
             inits: str, init_std: float, inputs: str, seed: int | None, out: str | None, as_json: bool) -> None:
    """Barren-plateau check: variance of cost gradients per layer as qubits and depth grow, with the fitted decay rate."""
    from hqnn_core.config import OutputConfig, load_profile
    from hqnn_core.diagnostics import gradient_variance, write_report

    ansatz_spec: Any = ansatz or "hardware_efficient"
    default_depths = ["1", "n"]
    runs_dir, stem = OutputConfig().runs_dir, ansatz_spec
    if profile is not None:
        p = load_profile(profile, overrides).profile
        runs_dir, stem = p.output.runs_dir, Path(profile).stem
        if ansatz is None:
            ansatz_spec = p.model.quantum.ansatz.spec()
        default_depths = [str(p.model.quantum.layers), "n"]
        seed = p.train.seed if seed is None else seed
    depth_list = [d.strip() for d in depths.split(",") if d.strip()] if depths else list(dict.fromkeys(default_depths))
    report = gradient_variance(ansatz_spec, _int_list(qubits, "--qubits"), depth_list, [c.strip() for c in costs.split(",") if c.strip()],
                               samples, seed or 0, [i.strip() for i in inits.split(",") if i.strip()], inputs, init_std)
    files = write_report(report, out if out is not None else _new_folder(Path(runs_dir), f"diagnose-{stem}"))
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "files": files}, indent=2))
        return
    console = Console()
    table = Table("init", "cost", "depth", "qubits", "layers", "Var first layer", "Var last layer", "Var mean", "mean |dC/dθ|",
                  title=Text(f"gradient variance, {report.ansatz['name']}, {report.samples} samples, {report.inputs} input state"))
    for pt in report.points:  # Text: user-given names are plain text, not rich markup
        table.add_row(Text(pt.init), Text(pt.cost), Text(pt.depth), str(pt.n_qubits), str(pt.layers), f"{pt.var_first:.3e}", f"{pt.var_last:.3e}",
                      f"{pt.var_mean:.3e}",
                      f"{pt.mean_abs_grad:.3e}")
    console.print(table)
    fits = Table("init", "cost", "depth", "slope first layer", "slope last layer", "slope mean", "verdict",
                 title="fit ln Var = a + b·qubits (b per qubit; -ln 2 = -0.69 is a 2-design's decay)")
    for f in report.fits:
        verdict = "barren plateau" if f.slope_first < -0.4 else ("decaying" if f.slope_first < -0.15 else "no plateau")  # rules of thumb
        fits.add_row(Text(f.init), Text(f.cost), Text(f.depth), f"{f.slope_first:+.3f}", f"{f.slope_last:+.3f}", f"{f.slope_mean:+.3f}", verdict)
    console.print(fits)
    console.print(f"wrote {files['json']} and {files['plot']}", highlight=False, soft_wrap=True, markup=False)


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--backends", "backend_list", help="Comma-separated backends, each NAME or NAME?key=value&... "
              "(reserved keys: shots, mitigation (names joined by +), label), e.g. torch,'torch.noisy?readout_error=0.05'.")
@click.option("--backend", "backend_items", multiple=True, help="One backend in the same syntax (repeatable; for values with commas).")
@click.option("--backends-file", type=click.Path(exists=True, dir_okay=False), help="YAML list of backends: names or {name, options, shots, mitigation, label}.")
@click.option("--shots", help="Shots for backends that do not set their own: a positive integer, or 'none' (default: exact where possible).")
@click.option("--mitigation", help="Comma-separated mitigators: adds, for every backend, a row with them applied.")
@click.option("--out", type=click.Path(file_okay=False), help="Folder for compare.json and compare.png (default: RUN_DIR/compare).")
@click.option("--sensitivity", is_flag=True, help="For backends with noise options (torch.noisy): vary each one at a time and report "
              "d(output)/d(param) and the change in accuracy.")
@click.option("--sensitivity-step", default=0.01, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="How far each noise parameter is raised for the accuracy change.")
@click.option("--calibration-from", type=click.Path(exists=True, file_okay=False),
              help="Another run whose recorded calibration the per-qubit deltas start from (default: RUN_DIR's own).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of a table.")
def compare(run_dir: str, backend_list: str | None, backend_items: tuple[str, ...], backends_file: str | None, shots: str | None,
            mitigation: str | None, out: str | None, sensitivity: bool, sensitivity_step: float, calibration_from: str | None,
            as_json: bool) -> None:
    """Evaluate a run's trained model on several backends side by side: accuracy and output error against exact.

    Backends with calibration data (Qiskit fake and IBM devices, torch.noisy) also get per-qubit calibration
    deltas against the run's recorded snapshot, next to the output error of each observable.
    """
    from hqnn_core.training.compare import compare_run, load_specs_file, parse_backend_spec

    specs = [parse_backend_spec(t) for t in (backend_list or "").split(",") if t.strip()]
    specs += [parse_backend_spec(t) for t in backend_items]
    if backends_file:
        specs += load_specs_file(backends_file)
    if not specs:
        raise click.UsageError("give backends to compare: --backends torch,'torch.noisy?readout_error=0.05' (or --backend, --backends-file).")
    mitigators = [m.strip() for m in (mitigation or "").split(",") if m.strip()]
    report = compare_run(Path(run_dir), specs, _shots_option(shots), mitigators, out, sensitivity, sensitivity_step, calibration_from)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    recorded = report["recorded_test_accuracy"]
    table = Table("backend", "shots", "test accuracy", "output error", "logit error", "shot noise", "jobs", "shots used",
                  title=f"{report['n_test']} test samples; recorded test accuracy {'-' if recorded is None else f'{recorded:.4f}'}")
    for r in report["rows"]:
        table.add_row(Text(r["label"]), str(r["shots"]), f"{r['test_accuracy']:.4f}", f"{r['output_error']:.4f}", f"{r['logit_error']:.4f}",
                      f"{r['shot_noise']:.4f}", str(r["jobs"]), str(r["shots_used"]))
    console = Console()
    console.print(table)
    _print_calibration(console, report)
    console.print(f"wrote {report['files']['json']} and {report['files']['plot']}", highlight=False, soft_wrap=True, markup=False)


def _print_calibration(console: Console, report: dict[str, Any]) -> None:
    """Per-qubit calibration deltas next to each observable's output error, then the noise-sensitivity tables."""
    reference = report.get("calibration_reference")
    for r in report["rows"]:
        deltas = [d for d in r.get("calibration_deltas", []) if d["delta"]]
        if not reference or not deltas:
            continue
        errors = r["output_error_per_observable"]
        table = Table("wire", "qubit", "parameter", "reference", "value", "delta", "output error (observable = wire)",
                      title=f"{r['label']}: calibration against {reference['label']}")
        for d in deltas:
            wire = d["wire"]
            table.add_row(str(wire), f"{d['physical_reference']} -> {d['physical']}", d["parameter"], f"{d['reference']:.4g}",
                          f"{d['value']:.4g}", f"{d['delta']:+.4g}", f"{errors[wire]:.4f}" if wire < len(errors) else "-")
        console.print(table)
    for label, rows in (report.get("sensitivity") or {}).items():
        table = Table("parameter", "baseline", "mean |d output / d param|", "d output / d param per observable",
                      f"Δaccuracy (param + {rows[0].get('step', '')})" if rows else "Δaccuracy", title=f"{label}: noise sensitivity (exact)")
        for row in rows:
            if "skipped" in row:
                table.add_row(row["parameter"], str(row["baseline"]), Text(row["skipped"]), "", "")
                continue
            per = ", ".join(f"{v:+.3f}" for v in row["d_output_per_observable"])
            table.add_row(row["parameter"], f"{row['baseline']:.4g}", f"{row['d_output_mean_abs']:.4f}", per, f"{row['delta_accuracy']:+.4f}")
        console.print(table)
