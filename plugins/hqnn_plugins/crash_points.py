"""Crash-test points at a run's boundaries, as an observer instead of a line in the training loop.

``HQNN_TEST_KILL_AT=epoch:N`` (see :mod:`hqnn_core.kill_points`) kills ``hqnn train`` once epoch N's
checkpoint and run record are written and every other observer has seen the epoch (``trylast``),
which is what the resume tests need. It does nothing when the variable is unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hqnn_core.hookspecs import hookimpl
from hqnn_core.kill_points import kill_point


@hookimpl(trylast=True)
def hqnn_epoch_finished(run: Mapping[str, Any], epoch: int, metrics: Mapping[str, float]) -> None:
    kill_point("epoch", epoch)
