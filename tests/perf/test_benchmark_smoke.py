"""The benchmark harness runs end to end on tiny sizes and every installed tool computes the same numbers.

No timing is asserted: CI machines are too noisy for that, and ratios are measured by the full run
(``python benchmarks/run.py``, results in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_benchmark_completes_and_every_tool_agrees(tmp_path):
    out = tmp_path / "quick.json"
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "0", "MPLBACKEND": "Agg"}  # adapters load where their SDK is installed
    table = tmp_path / "quick.md"
    proc = subprocess.run([sys.executable, "benchmarks/run.py", "--quick", "--cap", "60", "--json", str(out), "--markdown", str(table)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = json.loads(out.read_text())
    assert run["bandwidth"]["GBps"] > 0
    assert set(run["workloads"]) == {"Q1", "Q2"}
    for name, w in run["workloads"].items():
        rows = {r["key"]: r for r in w["rows"]}
        # the embedded backend always runs, in both differentiation modes, as one job per step
        for key in ("hqnn-torch-backprop", "hqnn-torch-adjoint", "plain-torch"):
            assert rows[key]["status"] == "ok", (name, rows[key])
            if key.startswith("hqnn"):
                assert (rows[key]["jobs"], rows[key]["circuits"]) == (1, w["batch"])
        for r in w["rows"]:
            assert r["status"] == "ok" or r["status"] == "not installed" or r["status"].startswith("(> cap"), (name, r)
            if r["status"] == "ok":
                assert r["agrees"] and r["deviation"] <= (1e-4 if r["key"] == "torchquantum" else 1e-5) or r["key"].endswith("-shots"), (name, r)
                assert r["median_s"] > 0 and r["repeats"] >= 1
        assert w["floors"]["floor_s"] >= w["floors"]["memory_s"] > 0
    # every tool has a row, peers and shot variants included, and the markdown report shows each one
    expected = {"hqnn-torch-backprop", "hqnn-torch-adjoint", "hqnn-qiskit-aer", "hqnn-pl-default", "hqnn-pl-lightning", "hqnn-braket-sv",
                "plain-torch", "torchquantum", "pl-default-backprop", "pl-lightning-adjoint", "pl-param-shift", "qiskit-ml", "pl-braket",
                "hqnn-torch-shots", "hqnn-qiskit-aer-shots", "hqnn-pl-default-shots", "hqnn-braket-sv-shots", "pl-default-shots"}
    text = table.read_text()
    assert text.count("### ") == 2
    for w in run["workloads"].values():
        assert {r["key"] for r in w["rows"]} == expected
        for r in w["rows"]:
            assert f"| {r['label']} | {r['gradient']} |" in text, r
