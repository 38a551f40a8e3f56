"""``hqnn predict`` (serving with a classical fallback) and ``hqnn monitor`` (input drift) commands.

The work is in :mod:`hqnn_core.serving`; this module parses options, writes the records and
prints rich tables.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--data", "data_file", required=True, type=click.Path(dir_okay=False),
              help="Rows to predict: .npz (X, optional y) or .csv (raw features, optional label last).")
@click.option("--out", type=click.Path(dir_okay=False), default="predictions.csv", show_default=True,
              help="Per-row record (CSV); the summary with every switch goes beside it as .json.")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE",
              help="Override a key of the run's profile, e.g. --set serving.window=100 or --set backend.name=torch (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of a table.")
def predict(run_dir: str, data_file: str, out: str, overrides: tuple[str, ...], as_json: bool) -> None:
    """Predict with a trained run, serving its classical model when the quantum path is down or degraded."""
    from hqnn_core.serving import Predictor, read_rows

    predictor = Predictor.from_run(run_dir, overrides)
    try:
        rows = read_rows(data_file, predictor.preprocessing)
        served = predictor.predict_rows(rows)
    finally:
        predictor.close()
    report = {"run_dir": run_dir, "data": data_file, "n_rows": len(served.predictions), **predictor.report()}
    if served.labels is not None:
        report["accuracy"] = float((served.predictions == served.labels).mean())
    out_path = Path(out)
    with out_path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["row", "prediction", "served_by", "reason", *(["label"] if served.labels is not None else [])])
        for i, (p, who, why) in enumerate(zip(served.predictions, served.served_by, served.reasons)):
            writer.writerow([i, int(p), who, why, *([int(served.labels[i])] if served.labels is not None else [])])
    summary = out_path.with_suffix(".json")
    summary.write_text(json.dumps(report, indent=2))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    console = Console()
    console.print(f"{report['n_rows']} rows: {report['rows']['quantum']} quantum, {report['rows']['classical']} classical "
                  f"({report['classical_model'] or 'no fallback'}); {report['switch_count']} switches", highlight=False, markup=False)
    if predictor.switches:
        table = Table("batch", "row", "to", "reason", "quantum acc", "classical acc", "detail", title="switches")
        for s in predictor.switches:
            table.add_row(str(s.batch), str(s.row), Text(s.to), Text(s.reason), _fmt(s.quantum_accuracy), _fmt(s.classical_accuracy), Text(s.detail[:80]))
        console.print(table)
    if "accuracy" in report:
        console.print(f"accuracy on the labelled rows: {report['accuracy']:.4f}", highlight=False)
    console.print(f"predictions: {out_path}; record: {summary}", highlight=False, soft_wrap=True, markup=False)  # a path is not markup


@click.command()
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--data", "data_file", required=True, type=click.Path(dir_okay=False),
              help="New rows: .npz (X, optional y) or .csv (raw features, optional label last).")
@click.option("--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.01, show_default=True,
              help="Significance level: drift is reported when the combined p-value is below it.")
@click.option("--permutations", type=click.IntRange(min=19), default=1000, show_default=True, help="Permutations of the MMD test.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the permutations and subsampling.")
@click.option("--out", type=click.Path(dir_okay=False), help="Also write the report as JSON here.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
def monitor(run_dir: str, data_file: str, alpha: float, permutations: int, seed: int, out: str | None, as_json: bool) -> None:
    """Compare new rows with a run's training inputs (KS per feature, MMD jointly) and, with labels, its accuracy."""
    from hqnn_core.serving import monitor_run

    report = monitor_run(run_dir, data_file, alpha, permutations, seed)
    data = {"run_dir": run_dir, "data": data_file, **report.as_dict()}
    if out:
        Path(out).write_text(json.dumps(data, indent=2))
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    console = Console()
    table = Table("feature", "KS statistic", "p-value", "p (Holm)", "drift", title=f"per-feature KS tests, alpha {alpha}")
    for f in report.features:
        table.add_row(Text(str(f["feature"])), f"{f['statistic']:.4f}", f"{f['p_value']:.3g}", f"{f['p_holm']:.3g}", "yes" if f["drift"] else "")
    console.print(table)
    m = report.mmd
    console.print(f"MMD^2 {m['statistic']:.5f}, permutation p-value {m['p_value']:.4g} ({m['permutations']} permutations)", highlight=False)
    verdict = "DRIFT" if report.drift else "no drift"
    console.print(f"{verdict}: combined p-value {report.p_value:.4g} (alpha {alpha}); {report.n_reference} reference rows, {report.n_new} new rows",
                  highlight=False)
    a = report.accuracy
    if a is not None:
        console.print(
            f"accuracy on the new rows {a['new_accuracy']:.4f} ± {a['new_standard_error']:.4f} vs test accuracy {a['test_accuracy']:.4f} "
            f"± {a['test_standard_error']:.4f}: difference {a['difference']:+.4f} ± {a['difference_standard_error']:.4f} "
            f"(one-sided p of a drop {a['p_value_drop']:.3g})", highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False, markup=False)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
