"""The torch backend keeps freed states in the heap (glibc), so a step does not fault its memory in again.

Each case runs in a fresh process: the tuning is process-wide and done once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent("""
    import resource, sys, torch
    from hqnn_core import QuantumLayer
    layer = QuantumLayer(4, layers=1, backend="torch")
    layer(torch.rand(2, 4)).sum().backward()  # the first CPU run tunes (or not) the allocator
    print(layer.backend.describe()["allocator"])

    def step():  # what a training step does to memory: ten 8 MiB states allocated, touched, then freed
        states = [torch.empty(2**20, dtype=torch.complex64).fill_(1) for _ in range(10)]
        del states

    step(); step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step()
    print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5)
""")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")


def _run(**env: str) -> tuple[str, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "HQNN_MALLOC_TUNING"}
    proc = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**clean, **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    described, faults = proc.stdout.strip().splitlines()[-2:]
    return described, float(faults)


def test_freed_states_are_reused_without_page_faults():
    tuned, tuned_faults = _run()
    untouched, default_faults = _run(HQNN_MALLOC_TUNING="0")
    assert tuned.startswith("glibc mmap threshold 32 MiB, trim threshold")
    assert untouched == "untouched (HQNN_MALLOC_TUNING=0)"
    # glibc's defaults give the trimmed heap back and fault it in again every step; tuned, the heap is reused
    assert tuned_faults * 4 < default_faults, (tuned_faults, default_faults)


def test_a_users_glibc_setting_wins():
    described, _ = _run(MALLOC_TRIM_THRESHOLD_="131072")
    assert described == "untouched (MALLOC_TRIM_THRESHOLD_ is set)"
