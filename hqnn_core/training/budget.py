"""Spending limits for a run: a pre-flight estimate, and a guard checked before every backend submission.

The guard wraps one backend instance's ``run_batch`` (every execution path, including
``expectations``, goes through it) and compares what the next submission needs with the backend's
own accounting. Crossing ``limits.max_jobs`` or ``limits.max_shots`` raises
:class:`BudgetExceededError` *before* the submission, so nothing is spent past the limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hqnn_core.errors import BudgetExceededError
from hqnn_core.interfaces import Backend
from hqnn_core.layer import QuantumLayer


@dataclass
class Usage:
    """Jobs, circuit executions (bindings) and shots."""

    jobs: int = 0
    circuits: int = 0
    shots: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.jobs + other.jobs, self.circuits + other.circuits, self.shots + other.shots)

    def times(self, n: int) -> Usage:
        return Usage(self.jobs * n, self.circuits * n, self.shots * n)

    def as_dict(self) -> dict[str, int]:
        return {"jobs": self.jobs, "circuits": self.circuits, "shots": self.shots}


class BudgetGuard:
    """Refuses any submission that would take the run's jobs or shots past the limits.

    What the run has spent is ``spent_before`` (earlier sessions, from the run record) plus what the
    backend's accounting has grown by in this session; the accounting itself is restored from the
    checkpoint on resume (it drives shot seeds), so it cannot be the ledger on its own.
    """

    def __init__(self, backend: Backend, max_jobs: int | None, max_shots: int | None, resume_hint: str = "",
                 spent_before: Usage | None = None) -> None:
        self.backend, self.max_jobs, self.max_shots, self.resume_hint = backend, max_jobs, max_shots, resume_hint
        self.spent_before = spent_before or Usage()
        self._start: Usage | None = None
        self._original = backend.run_batch

    def install(self) -> BudgetGuard:
        self.backend.run_batch = self._guarded  # type: ignore[method-assign]
        return self

    def uninstall(self) -> None:
        self.backend.__dict__.pop("run_batch", None)

    def _now(self) -> Usage:
        acc = self.backend.accounting
        return Usage(acc.jobs, acc.circuits, acc.shots)

    def spent(self) -> Usage:
        """Jobs, circuits and shots this run has used over all its sessions."""
        if self._start is None:
            return self.spent_before
        now, start = self._now(), self._start
        return self.spent_before + Usage(now.jobs - start.jobs, now.circuits - start.circuits, now.shots - start.shots)

    def _guarded(self, tasks: Sequence[Any], shots: int | None = None, seed: int | None = None) -> list[torch.Tensor]:
        if self._start is None:
            self._start = self._now()
        rows = sum(int(values.shape[0]) for _, values in tasks)
        self.check(self.backend.jobs_for(rows), rows * (shots or 0))
        return self._original(tasks, shots=shots, seed=seed)

    def check(self, jobs: int, shots: int) -> None:
        spent = self.spent()
        for key, used, need, limit in (("max_jobs", spent.jobs, jobs, self.max_jobs), ("max_shots", spent.shots, shots, self.max_shots)):
            if limit is not None and used + need > limit:
                raise BudgetExceededError(
                    f"limits.{key}={limit} would be crossed: {used} used so far and the next submission needs {need}. "
                    f"It was not submitted; the run stopped with its last checkpoint kept. Raise limits.{key}"
                    f"{self.resume_hint or ' and run again'}."
                )


def _rows_per_training_forward(layer: QuantumLayer, batch: int, inputs_need_grad: bool) -> int:
    if layer.gradient.through_backend:
        return batch
    circuit = layer.circuit
    source = layer._slot_source
    trainable = source == 1
    if inputs_need_grad:
        trainable = trainable | (source == 0)
    expanded = layer.gradient.expand(circuit, torch.zeros(batch, circuit.n_slots, dtype=torch.float64), trainable.cpu())
    return int(expanded.slot_values.shape[0])


def _circuits_factor(layer: QuantumLayer) -> int:
    circuits = [layer.circuit]
    for mitigator in layer.mitigators:
        try:
            circuits = [c for base in circuits for c in mitigator.expand(base).circuits]
        except Exception:  # noqa: BLE001 - an estimate; the guard is exact
            return len(circuits)
    return len(circuits)


def estimate_usage(
    layer: QuantumLayer, optimizer: str, n_train: int, n_test: int, batch_size: int, eval_batch_size: int, epochs: int,
    inputs_need_grad: bool, cobyla_maxiter: int = 0,
) -> Usage:
    """Jobs, circuits and shots that ``epochs`` epochs of training plus per-epoch evaluation will need."""
    backend, shots, factor = layer.backend, layer.shots or 0, _circuits_factor(layer)

    def calls(batches: list[int], rows_of: Any) -> Usage:
        total = Usage()
        for b in batches:
            rows = rows_of(b) * factor
            total = total + Usage(backend.jobs_for(rows), rows, rows * shots)
        return total

    full, last = divmod(n_train, batch_size)
    train_batches = [batch_size] * full + ([last] if last else [])
    full, last = divmod(n_test, eval_batch_size)
    test_batches = [eval_batch_size] * full + ([last] if last else [])
    full, last = divmod(n_train, eval_batch_size)
    train_eval_batches = [eval_batch_size] * full + ([last] if last else [])
    if optimizer in {"adam", "sgd"}:
        per_epoch = calls(train_batches, lambda b: _rows_per_training_forward(layer, b, inputs_need_grad))
    elif optimizer == "spsa":
        per_epoch = calls(train_batches, lambda b: b).times(2)
    else:
        per_epoch = calls(train_eval_batches, lambda b: b).times(cobyla_maxiter + 1)
    per_epoch = per_epoch + calls(test_batches, lambda b: b)
    return per_epoch.times(epochs)


def check_preflight(estimate: Usage, used: Usage, max_jobs: int | None, max_shots: int | None, source: str, epochs: int) -> None:
    """Refuse to start a run whose estimated usage crosses a limit (before anything is submitted)."""
    for key, need, have, limit in (("max_jobs", estimate.jobs, used.jobs, max_jobs), ("max_shots", estimate.shots, used.shots, max_shots)):
        if limit is not None and have + need > limit:
            raise BudgetExceededError(
                f"{source}: limits.{key}: the remaining {epochs} epoch(s) need about {need} {key.removeprefix('max_')} "
                f"({have} already used), over limits.{key}={limit}. Nothing was submitted. Raise the limit, train fewer epochs "
                "or use fewer/larger batches, or set limits.preflight: false to run until the limit and stop with a checkpoint."
            )


__all__ = ["BudgetGuard", "Usage", "check_preflight", "estimate_usage"]
