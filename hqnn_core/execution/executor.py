"""Composes mitigator ∘ gradient ∘ backend so that everything one step needs is one backend batch."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.interfaces import Backend, GradientEstimator, Mitigator


class Executor:
    """Evaluates a circuit's expectations (and, when asked, their Jacobian) on one backend.

    All rows a call needs (every sample, every gradient shift, every mitigation circuit) go to
    ``backend.run_batch`` once, which adapters turn into one vendor job (or as few as allowed).
    """

    def __init__(self, backend: Backend, gradient: GradientEstimator, mitigators: Sequence[Mitigator] = (), shots: int | None = None) -> None:
        self.backend = backend
        self.gradient = gradient
        self.mitigators = list(mitigators)
        self.shots = shots
        self._calibrated: set[int] = set()

    def run_rows(self, circuit: Circuit, rows: torch.Tensor) -> torch.Tensor:
        """Mitigated expectations ``[M, K]`` for slot-value rows ``[M, n_slots]``, in one backend batch."""
        if not self.mitigators:
            return self.backend.expectations(circuit, rows, shots=self.shots)
        for m in self.mitigators:
            if id(m) not in self._calibrated:
                m.calibrate(self.backend, circuit, self.shots)
                self._calibrated.add(id(m))
        # Expand outermost-first: the first mitigator listed sees the final, combined results.
        circuits = [circuit]
        plans = []
        for m in self.mitigators:
            batches = [m.expand(c) for c in circuits]
            plans.append((m, batches))
            circuits = [c for b in batches for c in b.circuits]
        results = self.backend.run_batch([(c, rows) for c in circuits], shots=self.shots)
        for m, batches in reversed(plans):
            merged, start = [], 0
            for b in batches:
                merged.append(m.combine(b, results[start : start + len(b.circuits)]))
                start += len(b.circuits)
            results = merged
        return results[0]

    def values(self, circuit: Circuit, slot_values: torch.Tensor) -> torch.Tensor:
        """Expectations ``[N, K]``; differentiable when the gradient is ``through_backend``."""
        return self.run_rows(circuit, slot_values if self.gradient.through_backend else slot_values.detach())

    def values_and_jacobian(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(values [N, K], d values / d slots [N, K, n_slots])`` from one expanded batch."""
        batch = self.gradient.expand(circuit, slot_values.detach(), trainable)
        results = self.run_rows(circuit, batch.slot_values)
        return self.gradient.combine(batch, results)
