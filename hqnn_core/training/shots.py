"""Shot-aware training: the shot noise of each output, and a per-step shot budget.

Shot noise. One shot of a Pauli term ``c P`` returns ``+-c``, so its variance is ``c^2 - <cP>^2`` and
the mean of ``S`` shots has standard error ``sqrt(c^2 - <cP>^2) / sqrt(S)`` (estimated by plugging in
the measured value). For an observable with several terms the single-shot value lies in
``[-sum|c|, sum|c|]`` however the terms are grouped, so ``sum|c| / sqrt(S)`` bounds its standard
error. Exact backends (``shots`` None) have none. Mitigated outputs are noisier than this raw figure.

Shot budget. ``train.shots_per_step`` caps the shots one optimiser step may spend. A step runs a
known number of circuits (batch x gradient evaluations x mitigation circuits, or two forward passes
for SPSA, or one full-training-set pass per COBYLA evaluation), so the shots per circuit become
``min(backend.shots, shots_per_step // circuits_per_step)``; evaluation uses the same count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch

from hqnn_core.circuit import Observable
from hqnn_core.components import get_optimizer
from hqnn_core.errors import ConfigError

if TYPE_CHECKING:
    from hqnn_core.interfaces import Optimizer
    from hqnn_core.layer import QuantumLayer
    from hqnn_core.training.prepare import PreparedModel


def standard_error(values: torch.Tensor, observables: Sequence[Observable], shots: int | None) -> torch.Tensor:
    """Standard error ``[N, K]`` of each sampled output ``values [N, K]`` from ``shots`` per circuit (zeros if exact)."""
    values = values.detach().to(torch.float64)
    if shots is None:
        return torch.zeros_like(values)
    out = torch.empty_like(values)
    for k, obs in enumerate(observables):
        terms = [t for t in obs.terms if t.paulis]  # identity terms are constants: no noise
        if len(terms) == 1 and len(obs.terms) == 1:
            c2 = terms[0].coeff ** 2
            out[:, k] = torch.sqrt(torch.clamp(c2 - values[:, k] ** 2, min=0.0) / shots)
        else:
            out[:, k] = sum(abs(t.coeff) for t in terms) / math.sqrt(shots)
    return out


def layer_standard_error(layer: QuantumLayer, outputs: torch.Tensor) -> torch.Tensor:
    """The shot noise of ``layer``'s ``outputs`` (``[N, K]``) at the layer's shots per circuit."""
    return standard_error(outputs, layer.circuit.observables, layer.shots)


def circuits_per_step(layer: QuantumLayer, optimizer: Optimizer, batch_size: int, n_train: int, inputs_need_grad: bool, n_params: int) -> int:
    """Circuits one optimiser step runs (what the shot budget is divided by), counted by the executor that sends them.

    A step makes ``optimizer.evaluations_per_step(n_params)`` loss evaluations, each on one mini-batch
    (on the whole training set for a ``whole_set`` optimiser), with gradient rows unless it is gradient-free.
    """
    rows = n_train if optimizer.stepping == "whole_set" else min(batch_size, n_train)
    trainable = None if optimizer.gradient_free() else layer.trainable_slots(inputs_need_grad, True).cpu()
    return optimizer.evaluations_per_step(n_params) * layer.executor.circuits_per_call(layer.circuit, rows, trainable)


def set_layer_shots(layer: QuantumLayer, shots: int | None) -> None:
    """Change the shots per circuit of a built layer: checked against its backend, then set on its executor (which owns them)."""
    layer.backend.validate(layer.circuit, shots)
    layer.executor.set_shots(shots)


def apply_shot_budget(prepared: PreparedModel) -> dict[str, Any] | None:
    """Cap the layer's shots per circuit so a step spends at most ``train.shots_per_step``; returns what was set.

    Raises ConfigError (before anything runs) when the budget cannot give every circuit one shot.
    """
    profile, source = prepared.loaded.profile, prepared.loaded.source
    budget = prepared.spec.shots_per_step
    if budget is None or prepared.model.quantum is None:
        return None
    layer = prepared.layer
    inputs_need_grad = any(p.requires_grad for p in prepared.model.front.parameters())
    t = profile.train
    n_params = sum(p.numel() for p in prepared.model.parameters() if p.requires_grad)
    circuits = circuits_per_step(layer, get_optimizer(t.optimizer.spec()), t.batch_size, prepared.data.n_train, inputs_need_grad, n_params)
    per_circuit = budget // circuits
    if per_circuit < 1:
        raise ConfigError(
            f"{source}: train.shots_per_step: {budget} shots cannot cover one step, which runs {circuits} circuits "
            f"(batch, gradient and mitigation circuits); set train.shots_per_step to at least {circuits}, or lower train.batch_size."
        )
    requested = layer.shots
    shots = per_circuit if requested is None else min(requested, per_circuit)
    set_layer_shots(layer, shots)
    return {"shots_per_step": budget, "circuits_per_step": circuits, "shots_per_circuit": shots, "backend_shots": requested,
            "step_shots": shots * circuits}


__all__ = ["apply_shot_budget", "circuits_per_step", "layer_standard_error", "set_layer_shots", "standard_error"]
