"""``hqnn explain``: stage ablation, attributions and the per-class gap of a trained run (work in :mod:`hqnn_core.training.explain`)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--steps", default=64, show_default=True, type=click.IntRange(min=2), help="Integration steps of integrated gradients.")
@click.option("--backend", default="torch", show_default=True, help="Backend to differentiate through (exact expectations).")
@click.option("--max-samples", type=click.IntRange(min=1), help="Explain only the first N test samples.")
@click.option("--out", type=click.Path(file_okay=False), help="Folder for explain.json and the plots (default: RUN_DIR/explain).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
def explain(run_dir: str, steps: int, backend: str, max_samples: int | None, out: str | None, as_json: bool) -> None:
    """Which stage contributes what: stage ablation, Captum attributions through the quantum layer, per-class gap to the baseline."""
    from hqnn_core.training.explain import explain_run

    report = explain_run(run_dir, out, steps, backend, max_samples)
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = Console()
    ablation = Table("stage", "test accuracy", "loss", "mean |Δ logits|", "predictions changed", title=f"stage ablation ({report['n_test']} test samples)")
    for r in report["ablation"]:
        if "skipped" in r:
            ablation.add_row(Text(r["stage"]), "-", "-", "-", Text(f"skipped: {r['skipped']}"))
        else:
            ablation.add_row(Text(r["stage"]), f"{r['accuracy']:.4f}", f"{r['loss']:.4f}", f"{r['logit_change']:.4f}", f"{r['prediction_change']:.1%}")
    console.print(ablation)
    for key, part in report["attributions"].items():
        if not isinstance(part, dict):
            continue
        table = Table("feature", "mean |IG|", "mean IG", "mean |ablation|",
                      title=f"{key.replace('_', ' ')}: integrated gradients (completeness error {part['completeness_error']:.1e}) and feature ablation")
        for name, a, s, f in zip(part["names"], part["integrated_gradients"], part["integrated_gradients_signed"], part["feature_ablation"]):
            table.add_row(Text(str(name)), f"{a:.4f}", f"{s:+.4f}", f"{f:.4f}")
        console.print(table)
    classes = Table("class", "n", "hybrid", "baseline", "gap", title="per-class test accuracy")
    for r in report["per_class"]:
        classes.add_row(str(r["class"]), str(r["n"]), f"{r['hybrid']:.4f}", f"{r['baseline']:.4f}" if "baseline" in r else "-",
                        f"{r['gap']:+.4f}" if "gap" in r else "-")
    console.print(classes)
    console.print(f"wrote {report['files']['json']} and plots in {report['files']['ablation'].rsplit('/', 1)[0]}", highlight=False, soft_wrap=True, markup=False)  # paths are not markup
