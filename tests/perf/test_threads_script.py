"""benchmarks/threads.py: its ratios are the per-round 1-thread over N-thread times it reports (no timing asserted)."""

from __future__ import annotations

import statistics

import torch

from benchmarks.threads import markdown, measure
from benchmarks.workloads import Workload


def test_ratios_follow_the_reported_round_times_and_threads_are_restored():
    before = torch.get_num_threads()
    result = measure(Workload("tiny", 3, 1, 2), [1, 2], rounds=3, steps=1, method="adjoint")
    assert torch.get_num_threads() == before
    one, two = result["times_s"]["1"], result["times_s"]["2"]
    assert len(one) == len(two) == 3 and min(one + two) > 0
    ratios = [a / b for a, b in zip(one, two, strict=True)]
    speedup = result["speedup"]["2"]
    assert speedup["median"] == statistics.median(ratios)
    assert (speedup["min"], speedup["max"]) == (min(ratios), max(ratios))
    assert speedup["best_of"] == min(one) / min(two)
    assert "| tiny: 3 q, 1 L, batch 2, adjoint |" in markdown([result], [1, 2])
