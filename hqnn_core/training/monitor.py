"""Per-epoch training diagnostics for the run record: gradient norms, shot noise and state fidelity.

Gradient norms (L2, averaged over the epoch's optimiser steps) are kept separately for the quantum
layer's weights and for every classical parameter: a quantum norm far below the classical one is
the first sign of a barren plateau (see ``hqnn diagnose``). Shot noise is the mean standard error
of the quantum layer's outputs in the epoch's training forward passes (0 for exact backends); see
:mod:`hqnn_core.training.shots` for the formula. State fidelity compares, on a simulator that
returns density matrices (``torch.noisy``), the noisy final state ``rho`` of the first training inputs
with the exact state ``psi`` of the same circuit: ``F = <psi|rho|psi>``, averaged (None elsewhere).

Effective sample size is Kish's ``(sum w)^2 / sum w^2`` over the epoch's training samples, where
``w_i = ||softmax(z_i) - onehot(y_i)||`` is the size of sample ``i``'s gradient at its logits ``z_i``
(the factor its cross-entropy contributes to every parameter's gradient). It is ``N`` when every
sample pulls equally and falls towards 1 when a few samples carry the training signal
(see docs/trainability.md); None for gradient-free optimisers and distributed steps.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hqnn_core.components import get_backend
from hqnn_core.layer import QuantumLayer
from hqnn_core.training.shots import layer_standard_error

METRICS = ("grad_norm_quantum", "grad_norm_classical", "shot_noise", "state_fidelity", "effective_sample_size")
#: Training inputs whose states the fidelity averages over.
FIDELITY_SAMPLES = 16


def gradient_weights(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``||softmax(z_i) - onehot(y_i)||_2`` per sample: the cross-entropy gradient at each sample's logits (up to 1/batch)."""
    probs = torch.softmax(logits.detach().double(), dim=1)
    return (probs - nn.functional.one_hot(targets, probs.shape[1]).double()).norm(dim=1)


def kish_ess(weights: torch.Tensor) -> float | None:
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of non-negative weights (None when all are 0)."""
    total, squares = float(weights.sum()), float(weights.pow(2).sum())
    return total * total / squares if squares > 0 else None


@torch.no_grad()
def state_fidelity(layer: QuantumLayer | None, front: nn.Module, x: torch.Tensor, samples: int = FIDELITY_SAMPLES) -> float | None:
    """Mean ``<psi|rho|psi>`` of the noisy and exact final states for the first ``samples`` inputs; None off density-matrix simulators."""
    if layer is None:
        return None
    backend = layer.backend.members()[0]
    if not backend.capabilities.noise:
        return None
    values = layer.slot_values(front(x[:samples])).detach().to(torch.float64)
    rho = backend.simulate(layer.circuit, values)  # None: no final state to read (remote devices, vendor simulators)
    if rho is None or rho.dim() != 3:
        return None
    psi = get_backend("torch").simulate(layer.circuit, values)
    assert psi is not None  # the embedded simulator always holds its state
    psi = psi.to(rho.dtype)
    return float(torch.einsum("ni,nij,nj->n", psi.conj(), rho, psi).real.mean())


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
        self._weights: list[torch.Tensor] = []

    def _on_forward(self, module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        if module.training:  # evaluation passes (eval mode) are not part of the training signal
            se = layer_standard_error(module, output)  # type: ignore[arg-type]
            self._noise_sum += float(se.sum())
            self._noise_count += se.numel()

    def after_backward(self, logits: torch.Tensor | None = None, targets: torch.Tensor | None = None) -> None:
        """Record the L2 norms of the quantum and classical gradients of the step just computed (and its samples' gradient weights)."""
        if logits is not None and targets is not None:
            self._weights.append(gradient_weights(logits, targets))
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
            "effective_sample_size": kish_ess(torch.cat(self._weights)) if self._weights else None,
        }

    def close(self) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None


__all__ = ["METRICS", "EpochMonitor", "gradient_weights", "kish_ess"]
