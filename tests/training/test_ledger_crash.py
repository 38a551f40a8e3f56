"""Issue 18 item 5: the write-ahead ledger holds every job submitted, whatever point a SIGKILL hits, and limits hold across crashes.

Before: the ledger lived in run.json, written at epoch ends after the checkpoint, so a kill mid-epoch
lost the spend since the last record and a resumed run crossed ``limits.max_jobs`` (39 -> 42 jobs run).
The oracle is not the ledger: the ``faulty:`` backend appends each call's jobs to a side file as it
arrives (``HQNN_TEST_SUBMISSIONS``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from training_helpers import write_profile

from hqnn_core.errors import CheckpointError
from hqnn_core.training.ledger import LEDGER, Ledger, Spend, read_spent

SCHEDULES = range(20)
DRIVER = Path(__file__).with_name("ledger_kill_driver.py")


@pytest.fixture(scope="module")
def schedules(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledger-kills")
    profile = write_profile(folder, "tiny.yaml", backend={"name": "faulty:torch?rate=0"}, output={"plots": False},
                            data={"max_train": 32, "max_test": 8}, train={"epochs": 3}, limits={"max_jobs": 1000, "preflight": False})
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(DRIVER), str(profile), str(folder), *map(str, SCHEDULES)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads((folder / "results.json").read_text())


@pytest.mark.slow
def test_ledger_equals_jobs_submitted_after_every_kill_and_limits_hold_across_crashes(schedules):
    kills = 0
    endings = set()
    for run in schedules:
        in_flight = 0  # submissions a kill caught between their intent and their sending (counted as spent, never sent)
        for session in run["sessions"]:
            where = f"schedule {run['seed']} (max_jobs {run['max_jobs']}), kill {session['kill']}: {session}"
            assert session["executed_jobs"] <= run["max_jobs"] and session["ledger_jobs"] <= run["max_jobs"], where
            if session["code"] == -signal.SIGKILL:
                kills += 1
                # killed between writing the intent and sending: the ledger counts the submission it cannot know was never sent
                in_flight += 1 if session["kill"].startswith("intent") else 0
            else:
                assert session["code"] in (0, 3), where  # completed, or stopped before crossing the limit
            assert session["ledger_jobs"] == session["executed_jobs"] + in_flight, where
        last = run["sessions"][-1]
        assert last["status"] in ("completed", "stopped"), run
        endings.add(last["status"])
    assert kills >= 20 and endings == {"completed", "stopped"}  # the schedules exercise crashes, both endings, and resumes


def test_a_submission_without_a_result_counts_as_spent_and_a_torn_line_is_dropped(tmp_path):
    ledger = Ledger(tmp_path / LEDGER)
    a = ledger.intend("torch", Spend(1, 10, 100, Decimal("0.3")))
    ledger.settle(a, Spend(1, 10, 100, Decimal("0.3")))
    b = ledger.intend("torch", Spend(2, 20, 200, Decimal("0.6")))  # in flight when the process died
    ledger.close()
    with open(tmp_path / LEDGER, "ab") as fh:
        fh.write(b'{"n": 3, "event": "int')  # a write cut short
    spent = read_spent(tmp_path)
    assert (spent.jobs, spent.circuits, spent.shots, spent.cost) == (3, 30, 300, Decimal("0.9"))
    reopened = Ledger(tmp_path / LEDGER)  # cuts the torn line off before appending
    c = reopened.intend("torch", Spend(1, 1, 1, Decimal("0.1")))
    reopened.settle(c, Spend(0, 0, 0, Decimal(0)))  # refused before it reached the vendor: nothing spent
    reopened.settle(b, Spend(1, 20, 200, Decimal("0.3")))
    reopened.close()
    assert (b, c) == (2, 3)
    assert read_spent(tmp_path) == Spend(2, 30, 300, Decimal("0.6"))
    assert all(json.loads(line) for line in (tmp_path / LEDGER).read_text().splitlines())


def test_a_damaged_ledger_line_is_an_error_naming_the_file(tmp_path):
    (tmp_path / LEDGER).write_text('{"n": 1, "event": "intent", "jobs": 1, "circuits": 1, "shots": 0, "cost_usd": "0"}\nnot json\n'
                                   '{"n": 2, "event": "intent", "jobs": 1, "circuits": 1, "shots": 0, "cost_usd": "0"}\n')
    with pytest.raises(CheckpointError, match=r"ledger\.jsonl: line 2 is not a ledger entry .*damaged"):
        read_spent(tmp_path)
    (tmp_path / LEDGER).write_text('{"n": 1, "event": "intent", "jobs": -5, "circuits": 1, "shots": 0, "cost_usd": "0"}\n')
    with pytest.raises(CheckpointError, match=r"line 1 is not a ledger entry"):
        read_spent(tmp_path)
