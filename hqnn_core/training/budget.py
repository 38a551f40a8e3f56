"""Spending limits for a run: a pre-flight estimate, and a guard checked before every backend submission.

The guard sits around every vendor backend of the run's backend stack (every execution path,
including ``expectations``, retries and fallbacks, goes through it) and compares what the next submission
needs with the run's ledger. Crossing ``limits.max_jobs``, ``limits.max_shots`` or
``limits.max_cost`` (USD, from :mod:`hqnn_core.pricing`) raises :class:`BudgetExceededError`
*before* the submission, so nothing is spent past the limit; the error is never retried and never
falls back to another backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import torch

from hqnn_core.errors import BudgetExceededError
from hqnn_core.execution.metered import MeteredBackend
from hqnn_core.interfaces import Backend, Mitigator, Optimizer
from hqnn_core.interfaces.backend import Task
from hqnn_core.layer import QuantumLayer
from hqnn_core.pricing import Price, price_of, require_price, usd
from hqnn_core.training.ledger import Ledger, Spend
from hqnn_core.training.usage import Usage


class BudgetGuard:
    """Refuses any submission that would take the run's jobs, shots or cost past the limits.

    The guard is the run's meter (:class:`~hqnn_core.execution.metered.Meter`): :meth:`wrap` puts
    it around each vendor backend when the run's backend stack is built, so retries and fallbacks
    are checked one submission at a time: a retry that would cross a limit is refused before it is
    sent. What the run has spent is ``spent_before`` (earlier sessions, from the run's ledger) plus
    this session's ledger, charged for every submission that reached the vendor (a job was
    counted), answered or not: a lost response is billed all the same. With a ``journal``
    (:class:`~hqnn_core.training.ledger.Ledger`, given here or by :meth:`open_journal` once the run
    directory exists) each submission is written to disk before it is sent and again when it
    returns, so a crash cannot lose spend. Money is exact (:class:`~decimal.Decimal`), so a limit
    equal to the estimate is not crossed by rounding.
    """

    def __init__(self, max_jobs: int | None, max_shots: int | None, resume_hint: str = "", spent_before: Usage | None = None,
                 max_cost: float | Decimal | None = None, cost_before: float | Decimal = 0, journal: Ledger | None = None) -> None:
        self.max_jobs, self.max_shots, self.resume_hint = max_jobs, max_shots, resume_hint
        self.max_cost = usd(max_cost)
        self.spent_before = spent_before or Usage()
        self.cost_before = usd(cost_before) or Decimal(0)
        self.journal = journal
        self.ledger = Usage()
        self.cost_spent = Decimal(0)
        self.submissions = 0
        self.closed = False
        self._prices: dict[int, Price | None] = {}

    def wrap(self, backend: Backend) -> MeteredBackend:
        """``backend`` (a vendor backend) with every submission checked and charged here.

        Raises ConfigError when ``limits.max_cost`` is set and the backend has no known price.
        """
        for leaf in backend.members():
            self._prices[id(leaf)] = require_price(leaf) if self.max_cost is not None else price_of(leaf)
        return MeteredBackend(backend, self)

    def open_journal(self, journal: Ledger, resume_hint: str = "") -> None:
        """Once the run directory exists: write every submission ahead to ``journal``, and say how to resume in limit errors."""
        self.journal, self.resume_hint = journal, resume_hint or self.resume_hint

    def close(self) -> None:
        """Stop checking and charging (the backends keep working, unguarded) and close the journal."""
        self.closed = True
        if self.journal is not None:
            self.journal.close()

    def spent(self) -> Usage:
        """Jobs, circuits and shots this run has used over all its sessions."""
        return self.spent_before + self.ledger

    def cost(self) -> Decimal:
        """USD this run has spent over all its sessions (estimated from the price table), exactly."""
        return self.cost_before + self.cost_spent

    def _cost_of(self, leaf: Backend, jobs: int, shots: int) -> Decimal:
        price = self._prices.get(id(leaf))
        return price.exact_cost(jobs, shots) if price else Decimal(0)

    def submit(self, leaf: Backend, tasks: Sequence[Task], shots: int | None, send: Callable[[], list[torch.Tensor]]) -> list[torch.Tensor]:
        """Check the submission of ``tasks`` to ``leaf`` against the limits, send it, and charge what reached the vendor."""
        if self.closed:
            return send()
        rows = sum(int(values.shape[0]) for _, values in tasks)
        jobs = leaf.jobs_for(rows)
        need = self._cost_of(leaf, jobs, rows * (shots or 0))
        self.check(jobs, rows * (shots or 0), need, leaf.full_name)
        entry = None
        if self.journal is not None:  # written ahead: a crash from here on counts this submission as spent
            entry = self.journal.intend(leaf.full_name, Spend(jobs, rows, rows * (shots or 0), need))
        before = leaf.accounting.jobs
        ok = False
        try:
            out = send()
            ok = True
            return out
        finally:
            submitted = leaf.accounting.jobs - before
            used = Usage(submitted, rows, rows * (shots or 0)) if ok or submitted > 0 else Usage()
            if ok or submitted > 0:
                self.ledger = self.ledger + used
                self.cost_spent += self._cost_of(leaf, used.jobs, used.shots)
                self.submissions += 1
            if entry is not None and self.journal is not None:
                self.journal.settle(entry, Spend(used.jobs, used.circuits, used.shots, self._cost_of(leaf, used.jobs, used.shots)))

    def check(self, jobs: int, shots: int, cost: float | Decimal = 0, backend: str = "the backend") -> None:
        spent = self.spent()
        for key, used, need, limit in (("max_jobs", spent.jobs, jobs, self.max_jobs), ("max_shots", spent.shots, shots, self.max_shots)):
            if limit is not None and used + need > limit:
                raise BudgetExceededError(
                    f"limits.{key}={limit} would be crossed: {used} used so far and the next submission needs {need}. "
                    f"It was not submitted; the run stopped with its last checkpoint kept. Raise limits.{key}"
                    f"{self.resume_hint or ' and run again'}."
                )
        cost = usd(cost) or Decimal(0)
        if self.max_cost is not None and self.cost() + cost > self.max_cost:
            raise BudgetExceededError(
                f"limits.max_cost={self.max_cost.normalize():f} USD would be crossed: {self.cost():.4f} USD spent so far (estimated from list "
                f"prices) and the next submission to {backend} ({jobs} job(s), {shots} shots) costs about {cost:.4f} USD. "
                f"It was not submitted; the run stopped with its last checkpoint kept. Raise limits.max_cost"
                f"{self.resume_hint.replace('KEY=N', 'max_cost=USD') if self.resume_hint else ' and run again'}."
            )


def _rows_per_training_forward(layer: QuantumLayer, batch: int, inputs_need_grad: bool) -> int:
    if layer.gradient.through_backend:
        return batch
    circuit = layer.circuit
    trainable = layer.trainable_slots(inputs_need_grad, True)
    expanded = layer.gradient.expand(circuit, torch.zeros(batch, circuit.n_slots, dtype=torch.float64), trainable.cpu())
    return int(expanded.slot_values.shape[0])


def _circuits_factor(layer: QuantumLayer) -> int:
    """The mitigation multiplier: circuits run per circuit, asked of each mitigator in turn.

    A mitigator that overrides ``Mitigator.circuits_per_circuit`` is asked; otherwise its
    ``expand`` is (the default of 1 would undercount a mitigator that forgot to override it).
    """
    factor = 1
    for mitigator in layer.mitigators:
        if type(mitigator).circuits_per_circuit is not Mitigator.circuits_per_circuit:
            factor *= int(mitigator.circuits_per_circuit())
        else:
            factor *= len(mitigator.expand(layer.circuit).circuits)
    return factor


def calibration_usage(layer: QuantumLayer) -> Usage:
    """Jobs, circuits and shots the mitigators' calibration runs (once per session) will use."""
    total = Usage()
    for mitigator in layer.mitigators:
        shots = mitigator.calibration_shots(layer.shots) or 0
        for rows in mitigator.calibration_batches(layer.circuit, layer.shots):
            total = total + Usage(layer.backend.jobs_for(rows), rows, rows * shots)
    return total


def estimate_parts(
    layer: QuantumLayer, optimizer: Optimizer, n_train: int, n_test: int, batch_size: int, eval_batch_size: int, epochs: int,
    inputs_need_grad: bool, n_params: int,
) -> dict[str, Usage]:
    """Usage of ``epochs`` epochs split into ``training`` (optimiser steps) and ``evaluation`` (per-epoch test pass).

    An epoch makes ``optimizer.steps_per_epoch`` steps of ``evaluations_per_step`` loss evaluations each:
    on mini-batches (with gradient rows unless gradient-free), or for a ``whole_set`` optimiser on the
    whole training set in evaluation batches, as the trainer runs them.
    """
    backend, shots = layer.backend, layer.shots or 0
    trainable = layer.trainable_slots(inputs_need_grad, True).cpu()

    def calls(batches: list[int], differentiated: bool) -> Usage:
        """What the executor sends for each batch (gradient rows and mitigation circuits, remapped ones too)."""
        total = Usage()
        for b in batches:
            rows = layer.executor.circuits_per_call(layer.circuit, b, trainable if differentiated else None)
            total = total + Usage(backend.jobs_for(rows), rows, rows * shots)
        return total

    full, last = divmod(n_train, batch_size)
    train_batches = [batch_size] * full + ([last] if last else [])
    full, last = divmod(n_test, eval_batch_size)
    test_batches = [eval_batch_size] * full + ([last] if last else [])
    full, last = divmod(n_train, eval_batch_size)
    train_eval_batches = [eval_batch_size] * full + ([last] if last else [])
    evaluations = optimizer.evaluations_per_step(n_params)
    if optimizer.stepping == "whole_set":  # each step is one pass over the training set; the cap counts them all
        per_epoch = calls(train_eval_batches, False).times(evaluations * optimizer.steps_per_epoch(len(train_batches), n_params))
    else:  # one step per mini-batch
        per_epoch = calls(train_batches, not optimizer.gradient_free()).times(evaluations)
    return {"training": per_epoch.times(epochs), "evaluation": calls(test_batches, False).times(epochs)}


def estimate_usage(
    layer: QuantumLayer, optimizer: Optimizer, n_train: int, n_test: int, batch_size: int, eval_batch_size: int, epochs: int,
    inputs_need_grad: bool, n_params: int,
) -> Usage:
    """Jobs, circuits and shots that ``epochs`` epochs of training plus per-epoch evaluation will need."""
    parts = estimate_parts(layer, optimizer, n_train, n_test, batch_size, eval_batch_size, epochs, inputs_need_grad, n_params)
    return parts["training"] + parts["evaluation"]


def check_preflight(estimate: Usage, used: Usage, max_jobs: int | None, max_shots: int | None, source: str, epochs: int) -> None:
    """Refuse to start a run whose estimated usage crosses a limit (before anything is submitted)."""
    for key, need, have, limit in (("max_jobs", estimate.jobs, used.jobs, max_jobs), ("max_shots", estimate.shots, used.shots, max_shots)):
        if limit is not None and have + need > limit:
            raise BudgetExceededError(
                f"{source}: limits.{key}: the remaining {epochs} epoch(s) need about {need} {key.removeprefix('max_')} "
                f"({have} already used), over limits.{key}={limit}. Nothing was submitted. Raise the limit, train fewer epochs "
                "or use fewer/larger batches, or set limits.preflight: false to run until the limit and stop with a checkpoint."
            )


def check_cost_preflight(cost: Decimal, used: Decimal, max_cost: float | None, source: str, epochs: int, device: str) -> None:
    """Refuse to start a run whose estimated cost (USD) crosses ``limits.max_cost`` (nothing is submitted)."""
    if max_cost is not None and used + cost > (usd(max_cost) or 0):
        raise BudgetExceededError(
            f"{source}: limits.max_cost: the remaining {epochs} epoch(s) on {device} are estimated at {cost:.2f} USD "
            f"({used:.2f} USD already spent), over limits.max_cost={max_cost:g} USD. Nothing was submitted. See the breakdown with "
            "`hqnn estimate PROFILE`; raise limits.max_cost, use fewer shots, epochs or samples, or a cheaper backend."
        )


__all__ = ["BudgetGuard", "Usage", "calibration_usage", "check_cost_preflight", "check_preflight", "estimate_parts", "estimate_usage"]
