"""Did the quantum layer help? The verdict on the hybrid model against its classical baseline, with its numbers.

Both models are tested on the same samples, so the comparison is paired: McNemar's exact test, a
two-sided binomial test on the discordant samples (those exactly one of the two models classifies
correctly; Dietterich 1998, "Approximate statistical tests for comparing supervised classification
learning algorithms"). A difference with ``p < ALPHA`` is ``better`` or ``worse``; anything else is
``equal within noise``. Where the per-sample outcomes are unknown (a run record written before they
were kept), the unpaired two-proportion z-test on the two accuracies decides instead.

The standard error reported with the difference is the binomial one: ``sqrt(b + c - (b - c)**2 / n) / n``
for ``b`` and ``c`` discordant samples (paired), else ``sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n)``.
"""

from __future__ import annotations

import math
from typing import Any

from scipy.stats import binomtest, norm

#: significance level of the two-sided test
ALPHA = 0.05
BETTER, EQUAL, WORSE = "better", "equal within noise", "worse"


def correct_string(y: Any, pred: Any) -> str:
    """Per-test-sample outcome as ``"1"`` (right) / ``"0"`` (wrong), in test-set order: compact in run.json."""
    return "".join("1" if bool(a == b) else "0" for a, b in zip(pred.tolist(), y.tolist(), strict=True))


def discordant(hybrid_correct: str, baseline_correct: str) -> tuple[int, int]:
    """``(hybrid right and baseline wrong, baseline right and hybrid wrong)`` counts over the same test samples."""
    pairs = list(zip(hybrid_correct, baseline_correct, strict=True))
    return sum(h == "1" and b == "0" for h, b in pairs), sum(h == "0" and b == "1" for h, b in pairs)


def compare_accuracies(hybrid_accuracy: float, baseline_accuracy: float, n_test: int, pairs: tuple[int, int] | None = None,
                       alpha: float = ALPHA) -> dict[str, Any]:
    """The verdict with the test used, its p-value, the difference and its standard error, and a one-line summary."""
    diff = hybrid_accuracy - baseline_accuracy
    if pairs is not None:
        b, c = pairs
        test = "McNemar exact (two-sided)"
        p_value = 1.0 if b + c == 0 else float(binomtest(min(b, c), b + c, 0.5).pvalue)
        se = math.sqrt(max(b + c - (b - c) ** 2 / n_test, 0.0)) / n_test
    else:
        test = "two-proportion z-test (two-sided, unpaired)"
        pooled = (hybrid_accuracy + baseline_accuracy) / 2
        pooled_se = math.sqrt(2 * pooled * (1 - pooled) / n_test)
        p_value = 1.0 if pooled_se == 0 else float(2 * norm.sf(abs(diff) / pooled_se))
        se = math.sqrt((hybrid_accuracy * (1 - hybrid_accuracy) + baseline_accuracy * (1 - baseline_accuracy)) / n_test)
    verdict = EQUAL if p_value >= alpha else (BETTER if diff > 0 else WORSE)
    relation = {BETTER: "better than", EQUAL: "equal within noise to", WORSE: "worse than"}[verdict]
    summary = (
        f"hybrid {relation} the classical baseline: test accuracy {hybrid_accuracy:.3f} vs {baseline_accuracy:.3f} "
        f"(difference {diff:+.3f} ± {se:.3f}, {test.split(' (')[0]} p = {p_value:.3g}, {'<' if p_value < alpha else '≥'} {alpha}; "
        f"{n_test} test samples)"
    )
    result: dict[str, Any] = {"verdict": verdict, "test": test, "p_value": p_value, "alpha": alpha, "n_test": n_test,
                              "accuracy_difference": diff, "standard_error": se, "summary": summary}
    if pairs is not None:
        result.update(hybrid_only_correct=pairs[0], baseline_only_correct=pairs[1])
    return result


def run_comparison(record: dict[str, Any]) -> dict[str, Any] | None:
    """A run record's ``comparison``: the hybrid and baseline test accuracies side by side, with the verdict (None without both)."""
    hybrid = (record.get("hybrid") or {}).get("final") or {}
    baseline = (record.get("baseline") or {}).get("final") or {}
    if not hybrid or not baseline:
        return None
    outcomes: tuple[str, str] = (hybrid.get("test_correct") or "", baseline.get("test_correct") or "")
    paired = bool(outcomes[0]) and len(outcomes[0]) == len(outcomes[1])
    n_test = len(outcomes[0]) if paired else int((record.get("data") or {}).get("n_test") or 0)
    return {
        "hybrid_test_accuracy": hybrid["test_accuracy"],
        "baseline_test_accuracy": baseline["test_accuracy"],
        "hybrid_parameters": (record.get("model") or {}).get("hybrid", {}).get("parameters"),
        "baseline_parameters": (record.get("model") or {}).get("baseline", {}).get("parameters"),
        **compare_accuracies(hybrid["test_accuracy"], baseline["test_accuracy"], max(n_test, 1), discordant(*outcomes) if paired else None),
    }


__all__ = ["ALPHA", "BETTER", "EQUAL", "WORSE", "compare_accuracies", "correct_string", "discordant", "run_comparison"]
