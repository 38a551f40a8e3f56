"""The budget's place in the backend stack: every submission to a vendor backend passes the run's meter first.

A run's backends are assembled once (see docs/architecture.md, "How a run is assembled"), from
the outside in: fallback over the members, retry per member, this meter, the vendor backend. The
budget is one meter (the run's limits and ledger, :class:`~hqnn_core.training.budget.BudgetGuard`)
whose wrapper sits directly around each vendor backend, so that every attempt is checked before
it is sent: a retry of the primary and a call that falls back to another member are separate
submissions, each refused on its own when it would cross a limit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import torch

from hqnn_core.execution.wrapper import BackendWrapper
from hqnn_core.interfaces import Backend
from hqnn_core.interfaces.backend import Task


class Meter(Protocol):
    """Checks a submission against the run's limits, sends it with ``send`` and charges what it used."""

    def submit(self, backend: Backend, tasks: Sequence[Task], shots: int | None, send: Callable[[], list[torch.Tensor]]) -> list[torch.Tensor]:
        ...


class MeteredBackend(BackendWrapper):
    """A vendor backend whose every submission goes through ``meter`` (which may refuse it before it is sent)."""

    def __init__(self, inner: Backend, meter: Meter) -> None:
        super().__init__(inner)
        self.meter = meter

    def run_batch(self, tasks: Sequence[Task], shots: int | None = None, seed: int | None = None) -> list[torch.Tensor]:
        return self.meter.submit(self.inner, tasks, shots, lambda: self.inner.run_batch(tasks, shots=shots, seed=seed))


__all__ = ["Meter", "MeteredBackend"]
