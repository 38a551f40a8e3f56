"""The hybrid-vs-baseline verdict: McNemar's exact test (paired) and the two-proportion z-test, against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from hqnn_core.training.verdict import BETTER, EQUAL, WORSE, compare_accuracies, correct_string, discordant, run_comparison


def _mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value, written out: 2 * P(Binomial(b + c, 1/2) <= min(b, c)), capped at 1."""
    n = b + c
    return min(1.0, 2 * sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n)


@pytest.mark.parametrize(("accuracies", "pairs", "verdict"), [
    ((0.80, 0.95), (2, 32), WORSE),       # 34 discordant samples, 32 of them favour the baseline
    ((0.835, 0.85), (5, 8), EQUAL),       # p = 2 * 2380 / 8192 = 0.581
    ((0.93, 0.85), (20, 4), BETTER),
])
def test_paired_verdict_matches_the_exact_mcnemar_test(accuracies, pairs, verdict):
    result = compare_accuracies(*accuracies, 200, pairs)
    b, c = pairs
    assert result["verdict"] == verdict and result["test"] == "McNemar exact (two-sided)"
    assert result["p_value"] == pytest.approx(_mcnemar_exact(b, c), rel=1e-9)
    assert result["standard_error"] == pytest.approx(math.sqrt(b + c - (b - c) ** 2 / 200) / 200)
    assert result["accuracy_difference"] == pytest.approx(accuracies[0] - accuracies[1])
    assert (result["hybrid_only_correct"], result["baseline_only_correct"]) == pairs


def test_equal_case_p_value_in_closed_form():
    assert compare_accuracies(0.835, 0.85, 200, (5, 8))["p_value"] == pytest.approx(2 * 2380 / 8192)


def test_worse_summary_states_the_numbers():
    summary = compare_accuracies(0.80, 0.95, 200, (2, 32))["summary"]
    assert summary.startswith("hybrid worse than the classical baseline: test accuracy 0.800 vs 0.950 (difference -0.150 ± 0.027")
    assert "McNemar exact p = 6.94e-08, < 0.05; 200 test samples)" in summary  # 2 * (1 + 34 + 561) / 2**34


def test_unpaired_z_test_when_outcomes_are_unknown():
    result = compare_accuracies(0.90, 0.80, 200)
    z = 0.10 / math.sqrt(2 * 0.85 * 0.15 / 200)  # pooled two-proportion z = 2.80
    assert result["p_value"] == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-9)  # 0.0051
    assert result["verdict"] == BETTER and result["test"].startswith("two-proportion z-test")
    assert result["standard_error"] == pytest.approx(math.sqrt((0.9 * 0.1 + 0.8 * 0.2) / 200))
    assert compare_accuracies(0.81, 0.80, 200)["verdict"] == EQUAL
    assert compare_accuracies(1.0, 1.0, 90)["verdict"] == EQUAL and compare_accuracies(1.0, 1.0, 90)["p_value"] == 1.0


def test_outcome_strings_and_discordant_counts():
    assert correct_string(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 0, 1, 2])) == "1011"
    assert discordant("1011", "1101") == (1, 1)
    assert discordant("1111", "0000") == (4, 0)


def test_run_record_comparison_uses_the_paired_outcomes():
    comparison = run_comparison({
        "data": {"n_test": 10}, "model": {"hybrid": {"parameters": 26}, "baseline": {"parameters": 30}},
        "hybrid": {"final": {"test_accuracy": 0.2, "test_correct": "1100000000"}},
        "baseline": {"final": {"test_accuracy": 1.0, "test_correct": "1111111111"}},
    })
    assert comparison["verdict"] == WORSE and comparison["baseline_only_correct"] == 8 and comparison["hybrid_only_correct"] == 0
    assert comparison["p_value"] == pytest.approx(2 / 2**8)  # all 8 discordant samples favour the baseline
    assert comparison["hybrid_parameters"] == 26 and comparison["accuracy_difference"] == pytest.approx(-0.8)
