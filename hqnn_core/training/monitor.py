"""Per-epoch training diagnostics for the run record: gradient norms and shot noise.

Gradient norms (L2, averaged over the epoch's optimiser steps) are kept separately for the quantum
layer's weights and for every classical parameter: a quantum norm far below the classical one is
the first sign of a barren plateau (see ``hqnn diagnose``). Shot noise is the mean standard error
of the quantum layer's outputs in the epoch's training forward passes (0 for exact backends); see
:mod:`hqnn_core.training.shots` for the formula.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hqnn_core.training.shots import layer_standard_error

METRICS = ("grad_norm_quantum", "grad_norm_classical", "shot_noise")


class EpochMonitor:
    """Collects gradient norms after each backward pass and the shot noise of each training forward pass."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.quantum = getattr(model, "quantum", None)
        self._handle = self.quantum.register_forward_hook(self._on_forward) if self.quantum is not None else None
        self.start()

    def start(self) -> None:
        """Forget the previous epoch."""
        self._q: list[float] = []
        self._c: list[float] = []
        self._noise_sum, self._noise_count = 0.0, 0

    def _on_forward(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        if module.training:  # evaluation passes (eval mode) are not part of the training signal
            se = layer_standard_error(module, output)  # type: ignore[arg-type]
            self._noise_sum += float(se.sum())
            self._noise_count += se.numel()

    def after_backward(self) -> None:
        """Record the L2 norms of the quantum and classical gradients of the step just computed."""
        quantum_ids = {id(p) for p in self.quantum.parameters()} if self.quantum is not None else set()
        q, c = 0.0, 0.0
        for p in self.model.parameters():
            if p.grad is None:
                continue
            sq = float(p.grad.detach().double().pow(2).sum())
            if id(p) in quantum_ids:
                q += sq
            else:
                c += sq
        if self.quantum is not None:
            self._q.append(q**0.5)
        self._c.append(c**0.5)

    def metrics(self) -> dict[str, float | None]:
        """The epoch's means; None where there was nothing to measure (gradient-free optimisers, no quantum layer)."""
        return {
            "grad_norm_quantum": sum(self._q) / len(self._q) if self._q else None,
            "grad_norm_classical": sum(self._c) / len(self._c) if self._c else None,
            "shot_noise": self._noise_sum / self._noise_count if self._noise_count else None,
        }

    def close(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


__all__ = ["METRICS", "EpochMonitor"]
