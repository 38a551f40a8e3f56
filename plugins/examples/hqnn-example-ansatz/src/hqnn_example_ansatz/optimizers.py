"""Rotosolve, an optimiser written only against hqnn's public ``Optimizer`` interface.

Rotosolve (Ostaszewski, Grant & Benedetti, Quantum 5, 391 (2021)) uses that an expectation value is
a sinusoid ``A cos(theta_d - B) + C`` in each rotation angle ``theta_d`` when the others are held:
three loss values (at ``theta_d`` and ``theta_d +- pi/2``) fix the sinusoid, and the parameter jumps
straight to its minimum. It needs no gradient and no learning rate.
"""

from __future__ import annotations

import math

import torch
from pydantic import BaseModel, ConfigDict, Field

from hqnn_core import Optimizer
from hqnn_core.interfaces.optimizer import LossFunction, LossResult, assign_parameters, flat_parameters


def rotosolve_minimum(theta: float, f0: float, f_plus: float, f_minus: float) -> tuple[float, float]:
    """The minimiser within pi of ``theta`` of the sinusoid through ``f(theta)``, ``f(theta + pi/2)``, ``f(theta - pi/2)``, and its minimum.

    With ``phi = theta - B``: ``f0 - C = A cos(phi)``, ``(f_minus - f_plus) / 2 = A sin(phi)`` and
    ``C = (f_plus + f_minus) / 2``; the minimum ``C - |A|`` lies where ``theta - B = pi``.
    """
    offset = (f_plus + f_minus) / 2
    cos_part, sin_part = f0 - offset, (f_minus - f_plus) / 2
    phi = math.atan2(sin_part, cos_part)
    return theta + math.remainder(math.pi - phi, 2 * math.pi), offset - math.hypot(cos_part, sin_part)


class Rotosolve(Optimizer):
    """Rotosolve: each parameter in turn jumps to the minimum of the sinusoid through three loss values (no gradient)."""

    name = "example.rotosolve"
    stepping = "loss"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)

        sweeps: int = Field(1, ge=1, description="passes over every parameter in one step")
        keep_if_lower: bool = Field(
            True,
            description="evaluate each jump and keep it only if the loss went down (one more evaluation per parameter); "
            "a classifier's loss is not exactly sinusoidal in each weight, nor are classical weights angles",
        )

    def build(self, params, lr, seed):
        return RotosolveSteps(params, self.options)  # deterministic: needs neither a learning rate nor a seed

    def evaluations_per_step(self, n_params: int) -> int:
        per_parameter = 3 if self.options.keep_if_lower else 2
        return 1 + n_params * self.options.sweeps * per_parameter


class RotosolveSteps:
    """The stepping object of one training phase; it keeps no state between steps."""

    def __init__(self, params, options: Rotosolve.Options) -> None:
        self.params, self.options = list(params), options

    def step(self, loss_fn: LossFunction) -> list[LossResult]:
        """One step on one mini-batch; returns the loss at the weights it started from (as a torch step reports)."""
        theta = flat_parameters(self.params).to(torch.float64)
        first = current = loss_fn()

        def loss_with(index: int, value: float) -> LossResult:
            trial = theta.clone()
            trial[index] = value
            assign_parameters(self.params, trial)
            return loss_fn()

        for _ in range(self.options.sweeps):
            for d in range(theta.numel()):
                start = float(theta[d])
                f_plus, f_minus = loss_with(d, start + math.pi / 2), loss_with(d, start - math.pi / 2)
                best, predicted = rotosolve_minimum(start, float(current[0]), float(f_plus[0]), float(f_minus[0]))
                if self.options.keep_if_lower:
                    candidate = loss_with(d, best)
                    if candidate[0] < current[0]:
                        theta[d], current = best, candidate
                else:
                    theta[d], current = best, (predicted, current[1])
                assign_parameters(self.params, theta)
        return [first]

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Nothing to restore: a step depends only on the weights and the batch."""
