"""Input drift: KS per feature (Holm) and MMD with a permutation p-value, on digits (docs/serving.md)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner
from scipy import stats
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from hqnn_core.serving.drift import accuracy_effect, detect_drift, holm, mmd_test


def _split(seed: int):
    """Two halves of digits, both mapped by a StandardScaler + PCA(8) fitted on the first (like a run's preprocessing)."""
    x, y = load_digits(return_X_y=True)
    a, b = train_test_split(x, test_size=0.5, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(a)
    pca = PCA(8, random_state=0).fit(scaler.transform(a))
    return (lambda rows: pca.transform(scaler.transform(rows))), a, b


def test_unshifted_splits_raise_at_most_alpha_false_alarms():
    alpha, alarms = 0.05, 0
    for seed in range(20):
        f, a, b = _split(seed)
        alarms += detect_drift(f(a), f(b), alpha=alpha, permutations=200, seed=seed, max_rows=300).drift
    # expected alpha * 20 = 1; P(X >= 4) < 0.016 for X ~ Binomial(20, 0.05)
    assert alarms <= 3


@pytest.mark.parametrize("shift", ["scaled", "permuted"])
def test_shifted_digits_are_reported_with_p_below_0_01(shift):
    f, a, b = _split(0)
    shifted = b * 1.2 if shift == "scaled" else b[:, np.random.default_rng(0).permutation(b.shape[1])]
    report = detect_drift(f(a), f(shifted), alpha=0.01, permutations=500, max_rows=400)
    assert report.drift and report.p_value < 0.01
    assert report.mmd["p_value"] == pytest.approx(1 / 501)  # no permutation reached the observed MMD
    assert report.p_value == pytest.approx(min(1.0, 2 * min(min(f["p_holm"] for f in report.features), report.mmd["p_value"])))


def test_ks_rows_are_scipy_ks_2samp_and_holm_is_the_step_down_rule():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + [0.0, 0.0, 0.6]
    report = detect_drift(a, b, alpha=0.05, permutations=100)
    for j, row in enumerate(report.features):
        ref = stats.ks_2samp(a[:, j], b[:, j])
        assert row["statistic"] == pytest.approx(ref.statistic) and row["p_value"] == pytest.approx(ref.pvalue)
    assert [f["drift"] for f in report.features] == [False, False, True]
    # Holm by hand: sorted p (0.01, 0.02, 0.04) x (3, 2, 1) = (0.03, 0.04, 0.04), running maximum, back in place
    assert holm(np.array([0.04, 0.01, 0.02])) == pytest.approx([0.04, 0.03, 0.04])
    assert holm(np.array([0.5, 0.001])) == pytest.approx([0.5, 0.002])


def test_mmd_statistic_matches_the_kernel_means():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(30, 2)), rng.normal(size=(20, 2)) + 0.5
    out = mmd_test(a, b, permutations=50, seed=0)
    k = lambda u, v: np.exp(-out["gamma"] * ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1))  # noqa: E731
    expected = k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()
    assert out["statistic"] == pytest.approx(expected, rel=1e-10)
    pooled = np.vstack([a, b])
    d2 = ((pooled[:, None] - pooled[None]) ** 2).sum(-1)
    assert out["gamma"] == pytest.approx(1 / np.median(d2[np.triu_indices(50, 1)]))


def test_accuracy_effect_uses_binomial_standard_errors():
    out = accuracy_effect(correct=80, n=100, test_accuracy=0.95, n_test=40)
    assert out["new_accuracy"] == 0.8 and out["new_standard_error"] == pytest.approx(math.sqrt(0.8 * 0.2 / 100))
    se = math.sqrt(0.8 * 0.2 / 100 + 0.95 * 0.05 / 40)
    assert out["difference"] == pytest.approx(-0.15) and out["difference_standard_error"] == pytest.approx(se)
    assert out["p_value_drop"] == pytest.approx(stats.norm.cdf(-0.15 / se))


def test_monitor_cli_reports_drift_on_a_shifted_file_and_none_on_the_data_itself(served_run, digits01, tmp_path):
    from hqnn_core.cli import cli

    x, y = digits01
    same, shifted = tmp_path / "same.npz", tmp_path / "shifted.npz"
    np.savez(same, X=x, y=y)
    np.savez(shifted, X=np.clip(x * 1.5, 0, 16), y=y)
    runner = CliRunner()
    out = runner.invoke(cli, ["monitor", str(served_run), "--data", str(shifted), "--json", "--permutations", "300"], catch_exceptions=False)
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["drift"] and report["p_value"] < 0.01 and report["alpha"] == 0.01
    acc = report["accuracy"]
    recorded = json.loads((served_run / "run.json").read_text())["hybrid"]["final"]["test_accuracy"]
    assert acc["test_accuracy"] == recorded and acc["n_new"] == len(y) and acc["n_test"] == 40
    assert acc["new_standard_error"] == pytest.approx(math.sqrt(max(acc["new_accuracy"] * (1 - acc["new_accuracy"]), 0.25 / len(y)) / len(y)))
    table = runner.invoke(cli, ["monitor", str(served_run), "--data", str(same), "--permutations", "300", "--out", str(tmp_path / "r.json")],
                          catch_exceptions=False)
    assert table.exit_code == 0 and "no drift" in table.output and "per-feature KS tests" in table.output
    saved = json.loads((tmp_path / "r.json").read_text())
    assert not saved["drift"] and saved["p_value"] >= 0.01 and len(saved["features"]) == 4
