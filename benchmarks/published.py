"""The published qml-benchmarks models against the paper's numbers (Bowles, Ahmed, Schuld 2024).

For each (dataset, model) row of ``paper_reference_results.csv`` the model is trained with the
paper's best hyperparameters on the shared copy of the dataset, once per seed (``random_state`` =
0..4, the paper's protocol), and scored on the test split. A model is "within" the paper when its
mean test accuracy lies within two of the paper's standard deviations, or 0.05, whichever is larger.

Models resolve by name: ``hqnn_core.models.NAME`` for the quantum models, scikit-learn for the
classical baselines the paper reports (``SVC``, ``MLPClassifier``). Every estimator receives the
features flattened to ``(n_samples, n_features)`` and labels in {-1, +1}, as in the paper's code.

Run from the repository root, e.g.::

    python benchmarks/published.py --dataset linearly_separable_4d --model SVC,DataReuploadingClassifier
    python benchmarks/published.py --table          # the Markdown table of every stored result

Results go to ``benchmarks/results/published/<dataset>__<model>.json``, one file per row, so that
separate invocations (and separate machines) fill one table.
"""

from __future__ import annotations

import argparse
import ast
import csv
import importlib
import inspect
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "published"
#: dataset name (as in the CSV) -> npz path relative to the datasets root
DATASETS = {
    "linearly_separable_4d": "qml_benchmarks/linearly_separable/linearly_separable_4d.npz",
    "linearly_separable_8d": "qml_benchmarks/linearly_separable/linearly_separable_8d.npz",
    "bars_and_stripes_4_x_4_0.5noise": "qml_benchmarks/bars_and_stripes/bars_and_stripes_4_x_4_0.5noise.npz",
}
#: the classical baselines of the paper, from scikit-learn
CLASSICAL = {"SVC": "sklearn.svm", "MLPClassifier": "sklearn.neural_network"}
#: the paper's classical baselines that hqnn_core.models provides (the CNN for images)
CLASSICAL_IN_HQNN = ("ConvolutionalNeuralNetwork",)


def datasets_root() -> Path:
    """``$HQNN_DATASETS``, else ``shared/datasets`` beside the repository."""
    env = os.environ.get("HQNN_DATASETS")
    return Path(env).expanduser() if env else REPO.parent / "shared" / "datasets"


@dataclass(frozen=True)
class PaperRow:
    """One published result: the best hyperparameters and the test accuracies over five seeds."""

    dataset: str
    model: str
    hyperparameters: dict[str, Any]
    test_acc_mean: float
    test_acc_std: float
    train_acc_mean: float

    def tolerance(self) -> float:
        return max(2 * self.test_acc_std, 0.05)


def parse_hyperparameters(text: str) -> dict[str, Any]:
    """``"batch_size=32;learning_rate=0.001;observable_type=full"`` -> typed values (tuples included)."""
    out: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(";"))):
        key, _, raw = item.partition("=")
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw  # a bare word such as "full" or "edge_detect"
    return out


def paper_rows(root: Path | None = None) -> dict[tuple[str, str], PaperRow]:
    path = (root or datasets_root()) / "qml_benchmarks" / "paper_reference_results.csv"
    with path.open(newline="") as handle:
        return {
            (row["dataset"], row["model"]): PaperRow(
                row["dataset"], row["model"], parse_hyperparameters(row["best_hyperparams"]),
                float(row["test_acc_mean"]), float(row["test_acc_std"]), float(row["train_acc_mean"]),
            )
            for row in csv.DictReader(handle)
        }


def load_dataset(name: str, root: Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``X_train, y_train, X_test, y_test`` with features flattened to two dimensions."""
    if name not in DATASETS:
        raise SystemExit(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    with np.load((root or datasets_root()) / DATASETS[name]) as data:
        x_train, x_test = (data[k].reshape(len(data[k]), -1) for k in ("X_train", "X_test"))
        return x_train, data["y_train"], x_test, data["y_test"]


def estimator_class(model: str) -> type:
    module = CLASSICAL.get(model, "hqnn_core.models")
    try:
        return getattr(importlib.import_module(module), model)
    except AttributeError:
        raise SystemExit(f"{model} is not implemented in {module}") from None


def make_estimator(model: str, hyperparameters: dict[str, Any], seed: int) -> Any:
    cls = estimator_class(model)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(hyperparameters) - set(accepted))
    if unknown:
        raise SystemExit(f"{model} does not take the paper's hyperparameter(s) {unknown}; name them as the paper does")
    kwargs = dict(hyperparameters)
    if "random_state" in accepted:
        kwargs["random_state"] = seed
    return cls(**kwargs)


@dataclass
class Result:
    dataset: str
    model: str
    seeds: list[int]
    test_acc: list[float]
    train_acc: list[float]
    fit_seconds: list[float]
    paper_test_mean: float
    paper_test_std: float
    paper_train_mean: float
    hyperparameters: dict[str, Any]

    @property
    def test_mean(self) -> float:
        return statistics.fmean(self.test_acc)

    @property
    def test_std(self) -> float:
        return statistics.pstdev(self.test_acc) if len(self.test_acc) > 1 else 0.0

    @property
    def within(self) -> bool:
        return abs(self.test_mean - self.paper_test_mean) <= max(2 * self.paper_test_std, 0.05)


def evaluate(row: PaperRow, seeds: list[int], root: Path | None = None, progress: bool = True) -> Result:
    x_train, y_train, x_test, y_test = load_dataset(row.dataset, root)
    result = Result(row.dataset, row.model, [], [], [], [], row.test_acc_mean, row.test_acc_std, row.train_acc_mean,
                    row.hyperparameters)
    for seed in seeds:
        estimator = make_estimator(row.model, row.hyperparameters, seed)
        start = time.perf_counter()
        estimator.fit(x_train, y_train)
        result.fit_seconds.append(time.perf_counter() - start)
        result.seeds.append(seed)
        result.train_acc.append(float(estimator.score(x_train, y_train)))
        result.test_acc.append(float(estimator.score(x_test, y_test)))
        if progress:
            print(f"  {row.dataset} {row.model} seed {seed}: test {result.test_acc[-1]:.4f} "
                  f"({result.fit_seconds[-1]:.1f} s)", file=sys.stderr, flush=True)
    return result


def save(result: Result, folder: Path = RESULTS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{result.dataset}__{result.model}.json"
    path.write_text(json.dumps(asdict(result), indent=1, default=str) + "\n")
    return path


def table(folder: Path = RESULTS) -> str:
    """Markdown: hqnn against the paper, per dataset and model; classical baselines marked."""
    lines = ["| dataset | model | hqnn test acc (5 seeds) | paper test acc | within 2σ or 0.05 | fit s/seed |",
             "|---|---|---|---|---|---|"]
    for path in sorted(folder.glob("*.json")):
        result = Result(**json.loads(path.read_text()))
        kind = " (classical)" if result.model in CLASSICAL or result.model in CLASSICAL_IN_HQNN else ""
        lines.append(
            f"| {result.dataset} | {result.model}{kind} | {result.test_mean:.3f} ± {result.test_std:.3f} "
            f"| {result.paper_test_mean:.3f} ± {result.paper_test_std:.3f} | {'yes' if result.within else 'NO'} "
            f"| {statistics.median(result.fit_seconds):.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=",".join(DATASETS), help="comma-separated dataset names")
    parser.add_argument("--model", default="", help="comma-separated model names (default: every row of the dataset)")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="comma-separated random_state values")
    parser.add_argument("--table", action="store_true", help="print the table of stored results and exit")
    args = parser.parse_args(argv)
    if args.table:
        print(table())
        return 0
    rows = paper_rows()
    seeds = [int(s) for s in args.seeds.split(",")]
    wanted = [m for m in args.model.split(",") if m]
    failures = 0
    for dataset in args.dataset.split(","):
        for (row_dataset, model), row in sorted(rows.items()):
            if row_dataset != dataset or (wanted and model not in wanted):
                continue
            result = evaluate(row, seeds)
            save(result)
            failures += not result.within
            print(f"{dataset} {model}: {result.test_mean:.3f} ± {result.test_std:.3f} "
                  f"(paper {row.test_acc_mean:.3f} ± {row.test_acc_std:.3f}) {'within' if result.within else 'OUTSIDE'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["PaperRow", "Result", "evaluate", "load_dataset", "make_estimator", "paper_rows", "parse_hyperparameters", "table"]
