"""Issue 18 item 10: an abandoned (hung) backend call never holds up the process's exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_a_run_whose_backend_hangs_exits_within_call_timeout_times_attempts(tmp_path):
    profile = tmp_path / "hang.yaml"
    profile.write_text(yaml.safe_dump({
        "data": {"source": "digits", "classes": [0, 1], "pca": 2, "max_train": 4, "max_test": 4, "angle_range": [0.0, 3.0]},
        "model": {"quantum": {"n_qubits": 2}},
        "backend": {"name": "faulty:torch?rate=1&kinds=hang&max_consecutive=1000&hang_seconds=120", "call_timeout_s": 0.5,
                    "retry": {"attempts": 2, "backoff_s": 0, "jitter_s": 0}},
        "train": {"epochs": 1, "batch_size": 4, "baseline": False}, "output": {"plots": False},
    }))
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1", "MPLBACKEND": "Agg"}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "hqnn_core", "train", str(profile), "--out", str(tmp_path / "run"), "-q"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=110)
    wall = time.monotonic() - start
    assert proc.returncode == 2 and "gave no answer within backend.call_timeout=0.5s" in proc.stderr, proc.stderr[-2000:]
    # 2 attempts x 0.5 s plus the interpreter start (seconds; ~20 s on a loaded 2-core runner); before the fix the
    # process waited out the 120 s hang (and hit the subprocess timeout)
    assert wall < 60, wall
