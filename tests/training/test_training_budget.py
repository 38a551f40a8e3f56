"""limits.max_jobs / limits.max_shots: refused before the first submission, or stopped before crossing, nothing corrupted."""

from __future__ import annotations

import json

import pytest
from training_helpers import assert_same_weights, load_state, write_profile

from hqnn_core.errors import BudgetExceededError
from hqnn_core.training import train
from hqnn_core.training.prepare import estimate, prepare

# The small profile: 64 training samples in batches of 16 -> 4 optimiser steps + 1 test evaluation = 5 jobs per epoch.
JOBS_PER_EPOCH = 5


def test_preflight_refuses_before_anything_is_submitted_or_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    profile = write_profile(tmp_path, limits={"max_jobs": 3 * JOBS_PER_EPOCH})  # 4 epochs need 20
    with pytest.raises(BudgetExceededError, match=r"limits\.max_jobs: the remaining 4 epoch\(s\) need about 20 jobs .* Nothing was submitted"):
        train(profile, out=tmp_path / "out", quiet=True)
    assert not (tmp_path / "out").exists() and not (tmp_path / "runs").exists()


def test_estimate_equals_what_training_spends(tmp_path):
    from hqnn_core.config import load_profile

    profile = write_profile(tmp_path, backend={"name": "torch", "shots": 50}, train={"epochs": 2})
    predicted = estimate(prepare(load_profile(profile)))
    result = train(profile, out=tmp_path / "run", quiet=True)
    spent = result.record["hybrid"]["accounting"]
    assert predicted.as_dict() == {"jobs": spent["jobs"], "circuits": spent["circuits"], "shots": spent["shots"]}
    assert spent["jobs"] == 2 * JOBS_PER_EPOCH
    # parameter-shift with shots: every training sample costs 1 + 2 * 8 weight slots circuit executions
    assert spent["circuits"] == 2 * (64 * 17 + 40) and spent["shots"] == 50 * spent["circuits"]


def test_run_stops_before_crossing_max_jobs_and_resumes_with_a_higher_limit(tmp_path):
    reference = train(write_profile(tmp_path, "ref.yaml"), out=tmp_path / "ref", quiet=True)
    profile = write_profile(tmp_path, limits={"max_jobs": 7, "preflight": False})
    run_dir = tmp_path / "limited"
    with pytest.raises(BudgetExceededError, match=r"limits\.max_jobs=7 would be crossed: 7 used so far and the next submission needs 1"):
        train(profile, out=run_dir, quiet=True)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "stopped" and record["error"]["type"] == "BudgetExceededError"
    assert record["hybrid"]["accounting"]["jobs"] == 7 and record["ledger"]["jobs"] == 7  # stopped at, never past, the limit
    assert [e["epoch"] for e in record["hybrid"]["epochs"]] == [1]
    assert load_state(run_dir / "checkpoints" / "hybrid" / "epoch-0001.pt")["epoch"] == 1  # the last checkpoint is intact
    assert "hqnn train --resume" in record["error"]["message"]

    resumed = train(resume=run_dir, overrides=["limits.max_jobs=100"], quiet=True)
    assert resumed.record["status"] == "completed"
    assert_same_weights(run_dir / "model.pt", reference.run_dir / "model.pt")
    # the ledger counts the 2 steps of the stopped session that the epoch-1 checkpoint does not include
    assert resumed.record["ledger"]["jobs"] == 4 * JOBS_PER_EPOCH + 2


def test_max_shots_stops_before_the_submission_that_would_cross_it(tmp_path):
    profile = write_profile(tmp_path, backend={"name": "torch", "shots": 10}, train={"epochs": 1},
                            limits={"max_shots": 10 * (64 * 17) + 10 * 39, "preflight": False})  # one row short of the test pass
    with pytest.raises(BudgetExceededError, match=r"limits\.max_shots=11270 would be crossed: 10880 used so far and the next submission needs 400"):
        train(profile, out=tmp_path / "run", quiet=True)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["ledger"]["shots"] == 10880 <= 11270
