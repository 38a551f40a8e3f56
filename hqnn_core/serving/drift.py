"""Input drift: are new rows drawn from the distribution the run was trained on? (``hqnn monitor``)

Both samples are compared in the model's input space (after the run's preprocessing). Two test
families, each controlling its own false-alarm rate at ``alpha``:

* per feature, the two-sample Kolmogorov-Smirnov test (``scipy.stats.ks_2samp``), Holm-corrected
  over the features (family-wise error rate);
* jointly, the maximum mean discrepancy with a Gaussian kernel (bandwidth: the median pairwise
  distance of the pooled sample) and a seeded permutation p-value.

The overall p-value is the Bonferroni combination of the two, ``min(1, 2 * min(p_KS_holm, p_MMD))``,
so an unshifted sample raises an alarm with probability at most ``alpha``.

The reference sample is the run's training split, re-derived from the profile's data source (the
data loading is seeded and deterministic, and ``run.json`` holds the sha256 of every data file, so a
changed file is detected and reported instead of silently compared against).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats
from sklearn.metrics.pairwise import euclidean_distances

from hqnn_core.errors import ConfigError
from hqnn_core.serving.inputs import Rows, read_rows
from hqnn_core.training.prepare import prepare
from hqnn_core.training.run import load_run_profile, trained_state


@dataclass
class DriftReport:
    """Per-feature and joint test results, the overall verdict and (with labels) the accuracy effect."""

    alpha: float
    n_reference: int
    n_new: int
    features: list[dict[str, Any]]
    mmd: dict[str, Any]
    p_value: float
    drift: bool
    accuracy: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error rate control)."""
    m = len(p_values)
    order = np.argsort(p_values)
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p_values[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def mmd_test(a: np.ndarray, b: np.ndarray, permutations: int, seed: int) -> dict[str, Any]:
    """Biased MMD^2 with a median-heuristic Gaussian kernel, and its permutation p-value."""
    pooled = np.vstack([a, b]).astype(np.float64)
    distances = euclidean_distances(pooled, squared=True)
    median = float(np.median(distances[np.triu_indices(len(pooled), k=1)]))
    gamma = 1.0 / median if median > 0 else 1.0
    kernel = np.exp(-gamma * distances)
    n, m = len(a), len(b)
    signs = np.concatenate([np.full(n, 1.0 / n), np.full(m, -1.0 / m)])
    rng = np.random.default_rng(seed)
    columns = np.stack([signs] + [rng.permutation(signs) for _ in range(permutations)], axis=1)
    values = np.einsum("ip,ip->p", columns, kernel @ columns)  # s^T K s for the observed split and every permutation
    observed = float(values[0])
    p_value = (1 + int(np.sum(values[1:] >= observed - 1e-12))) / (1 + permutations)
    return {"statistic": observed, "p_value": p_value, "permutations": permutations, "gamma": gamma, "kernel": "gaussian (median heuristic)"}


def detect_drift(reference: np.ndarray, new: np.ndarray, alpha: float = 0.01, permutations: int = 1000, seed: int = 0,
                 max_rows: int = 1000) -> DriftReport:
    """Test ``new`` rows against ``reference`` rows (same columns); see the module docs for the tests."""
    if not 0 < alpha < 1:
        raise ConfigError(f"--alpha {alpha}: give a significance level between 0 and 1, e.g. 0.01.")
    if reference.shape[1] != new.shape[1]:
        raise ConfigError(f"the new rows have {new.shape[1]} features, the reference {reference.shape[1]}; they must match.")
    rng = np.random.default_rng(seed)
    ref = reference[rng.choice(len(reference), max_rows, replace=False)] if len(reference) > max_rows else reference
    cur = new[rng.choice(len(new), max_rows, replace=False)] if len(new) > max_rows else new
    ks = [stats.ks_2samp(ref[:, j], cur[:, j]) for j in range(ref.shape[1])]
    raw = np.array([float(r.pvalue) for r in ks])
    adjusted = holm(raw)
    features = [
        {"feature": j, "statistic": float(r.statistic), "p_value": float(p), "p_holm": float(q), "drift": bool(q < alpha)}
        for j, (r, p, q) in enumerate(zip(ks, raw, adjusted))
    ]
    mmd = mmd_test(ref, cur, permutations, seed)
    mmd["drift"] = bool(mmd["p_value"] < alpha)
    p_value = min(1.0, 2 * min(float(adjusted.min()), mmd["p_value"]))
    return DriftReport(alpha, len(ref), len(cur), features, mmd, p_value, p_value < alpha)


def accuracy_effect(correct: int, n: int, test_accuracy: float, n_test: int) -> dict[str, Any]:
    """Accuracy on the new labelled rows against the run's test accuracy, with binomial standard errors."""
    acc = correct / n
    se_new = math.sqrt(max(acc * (1 - acc), 0.25 / n) / n)  # floor avoids a zero error at 0% or 100%
    se_test = math.sqrt(max(test_accuracy * (1 - test_accuracy), 0.25 / n_test) / n_test)
    delta = acc - test_accuracy
    se = math.sqrt(se_new**2 + se_test**2)
    return {
        "new_accuracy": acc, "new_standard_error": se_new, "n_new": n,
        "test_accuracy": test_accuracy, "test_standard_error": se_test, "n_test": n_test,
        "difference": delta, "difference_standard_error": se, "z": delta / se,
        "p_value_drop": float(stats.norm.cdf(delta / se)),  # one-sided: is the new accuracy lower?
    }


def monitor_run(run_dir: str | Path, data: str | Path | Rows, alpha: float = 0.01, permutations: int = 1000, seed: int = 0) -> DriftReport:
    """Drift of ``data`` (a file or :class:`Rows`) against a run's training inputs, and with labels the effect on its accuracy."""
    run_dir = Path(run_dir)
    record, loaded = load_run_profile(run_dir)
    prepared = prepare(loaded)
    d = prepared.dataset
    assert d.preprocessing is not None
    rows = data if isinstance(data, Rows) else read_rows(data, d.preprocessing)
    new = d.preprocessing.transform(rows.x)
    report = detect_drift(d.x_train, new, alpha, permutations, seed)
    if (record.data.get("data") or {}).get("files", {}) != d.info.get("files", {}):
        report.notes.append("the data files changed since training (sha256 differs): the reference sample is not the one the run saw")
    if rows.y is not None:
        y = torch.from_numpy(d.preprocessing.class_indices(rows.y, rows.source))
        state, recorded, _ = trained_state(run_dir, record)
        model = prepared.model
        model.load_state_dict(state)
        model.eval()
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            pred = torch.cat([model(torch.from_numpy(new[i:i + 256])).argmax(1) for i in range(0, len(new), 256)])
        if recorded is None:
            report.notes.append("the run has no recorded test accuracy; the accuracy effect is not reported")
        else:
            report.accuracy = accuracy_effect(int((pred == y).sum()), len(y), float(recorded), int(d.info["n_test"]))
    return report
