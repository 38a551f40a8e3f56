"""Crash-test hooks: SIGKILL (or another signal) this process at a named point when ``HQNN_TEST_KILL_AT`` lists it.

The crash tests start ``hqnn train`` in a subprocess with, e.g., ``HQNN_TEST_KILL_AT=epoch:2`` and
check that the run resumes to the same weights. The points are named where they fire: ``epoch``
and ``step`` in the trainer, ``checkpoint`` and ``record`` inside atomic writes, ``intent`` and
``submitted`` in the job ledger, and ``call`` in the ``faulty:`` wrapper backend. This module sits in
the bottom layer, beside ``errors``, so that a plugin wrapper can fire a point without importing the
training package. Unset (always, outside tests) every point does nothing.
"""

from __future__ import annotations

import os
import signal

KILL_VAR = "HQNN_TEST_KILL_AT"


def kill_point(name: str, value: int | None = None) -> None:
    """Send this process a signal at point ``name`` (number ``value``) when ``HQNN_TEST_KILL_AT`` lists it.

    ``HQNN_TEST_KILL_AT=epoch:2`` kills after epoch 2's checkpoint and record are written;
    ``step:7`` before the 7th optimiser step; ``checkpoint:2`` after epoch 2's checkpoint is in its
    temporary file but before it replaces anything. A third field picks the signal (``epoch:1:TERM``).
    Several points are separated by commas.
    """
    spec = os.environ.get(KILL_VAR)
    if not spec:
        return
    for item in spec.split(","):
        point, at, sig = (item.strip().split(":") + ["", ""])[:3]
        if point == name and (not at or value is None or int(at) == value):
            os.kill(os.getpid(), getattr(signal, f"SIG{sig or 'KILL'}"))
