"""Runs seeded SIGKILL schedules for test_ledger_crash.py: ``python ledger_kill_driver.py PROFILE OUT SEED...``.

One process imports hqnn once, then forks one child per session (train, or resume, with
``HQNN_TEST_KILL_AT`` set to that session's kill point), so twenty schedules of several killed
sessions cost seconds, not a fresh interpreter each. Nothing has run torch in this process before
a fork, so the children start clean. After every session it writes what the test checks: how the
child ended, the run's ledger (``ledger.jsonl``), and the jobs that reached the backend as counted
by the ``faulty:`` backend in a side file (``HQNN_TEST_SUBMISSIONS``), independently of the ledger.
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

from hqnn_core.errors import BudgetExceededError
from hqnn_core.kill_points import KILL_VAR
from hqnn_core.training import train
from hqnn_core.training.ledger import ledger_files, read_spent

EPOCHS, STEPS_PER_EPOCH, JOBS_PER_EPOCH = 3, 2, 3  # the test's profile: 32 samples in batches of 16, one test pass
MAX_SESSIONS = 6


def _point(rng: random.Random, next_entry: int) -> str:
    """One kill point at a random write point: a step, a checkpoint or record write, a call, or either side of a submission."""
    kind = rng.choice(["step", "epoch", "checkpoint", "record", "call", "intent", "submitted"])
    if kind == "step":
        return f"step:{rng.randint(1, EPOCHS * STEPS_PER_EPOCH)}"
    if kind in ("epoch", "checkpoint", "record"):  # record:N: mid-write of the run record holding N epochs
        return f"{kind}:{rng.randint(1, EPOCHS)}"
    if kind == "call":
        return f"call:{rng.randint(1, EPOCHS * JOBS_PER_EPOCH)}"
    return f"{kind}:{next_entry + rng.randint(0, EPOCHS * JOBS_PER_EPOCH - 1)}"


def _next_entry(run_dir: Path) -> int:
    entries = [json.loads(line) for p in ledger_files(run_dir) for line in p.read_text().splitlines() if line.strip()]
    return max((e["n"] for e in entries), default=0) + 1


def _session(profile: Path, run_dir: Path, kill: str | None, submissions: Path) -> int:
    pid = os.fork()
    if pid == 0:  # the child: one session of the run
        code = 0
        try:
            os.environ[KILL_VAR] = kill or ""
            os.environ["HQNN_TEST_SUBMISSIONS"] = str(submissions)
            if (run_dir / "run.json").exists():
                train(resume=run_dir, quiet=True)
            else:
                train(profile, out=run_dir, quiet=True)
        except BudgetExceededError:
            code = 3
        except BaseException:  # noqa: BLE001 - reported to the test as exit code 4
            import traceback

            traceback.print_exc()
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def schedule(profile: Path, out: Path, seed: int) -> dict:
    rng = random.Random(seed)
    run_dir, submissions = out / f"run-{seed}", out / f"submitted-{seed}.txt"
    max_jobs = rng.randint(6, 14)  # the run needs 9 jobs uninterrupted, more with replayed steps: some finish, some stop
    (out / f"profile-{seed}.yaml").write_text(profile.read_text().replace("max_jobs: 1000", f"max_jobs: {max_jobs}"))
    sessions = []
    for _ in range(MAX_SESSIONS):
        kill = _point(rng, _next_entry(run_dir)) if rng.random() < 0.7 else None
        code = _session(out / f"profile-{seed}.yaml", run_dir, kill, submissions)
        spent = read_spent(run_dir)
        executed = sum(int(x) for x in submissions.read_text().split()) if submissions.exists() else 0
        status = json.loads((run_dir / "run.json").read_text())["status"] if (run_dir / "run.json").exists() else None
        sessions.append({"kill": kill, "code": code, "ledger_jobs": spent.jobs if spent else 0, "executed_jobs": executed, "status": status})
        if code in (0, 3, 4):
            break
    return {"seed": seed, "max_jobs": max_jobs, "sessions": sessions}


if __name__ == "__main__":
    profile_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    results = [schedule(profile_path, out_dir, int(s)) for s in sys.argv[3:]]
    (out_dir / "results.json").write_text(json.dumps(results, indent=1))
