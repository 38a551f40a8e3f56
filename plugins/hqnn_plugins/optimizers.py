"""Built-in optimisers: torch's Adam and SGD, and gradient-free SPSA and COBYLA for shot-based hardware.

Their options live in :mod:`hqnn_plugins.optimizer_options` and how they step in
:mod:`hqnn_plugins.layouts.optimizers` (which registers them by import string), both torch-free,
so that checking a profile does not need this module.

Gradient-free optimisers treat every trainable parameter (classical ones too) as one flat vector
and only ever run forward passes, so on hardware a step costs two jobs (SPSA) or one per function
evaluation (COBYLA) instead of a parameter-shift batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from hqnn_core.interfaces.optimizer import LossFunction, LossResult, Optimizer, assign_parameters, flat_parameters
from hqnn_plugins.layouts.optimizers import AdamLayout, COBYLALayout, SGDLayout, SPSALayout
from hqnn_plugins.optimizer_options import COBYLAOptions, SPSAOptions, cobyla_evaluations


class AdamOptimizer(AdamLayout, Optimizer):
    """torch.optim.Adam (lr from train.lr)."""

    def build(self, params: Sequence[nn.Parameter], lr: float, seed: int) -> torch.optim.Optimizer:
        o = self.options
        return torch.optim.Adam(params, lr=lr, betas=tuple(o.betas), weight_decay=o.weight_decay, eps=o.eps)


class SGDOptimizer(SGDLayout, Optimizer):
    """torch.optim.SGD (lr from train.lr)."""

    def build(self, params: Sequence[nn.Parameter], lr: float, seed: int) -> torch.optim.Optimizer:
        o = self.options
        return torch.optim.SGD(params, lr=lr, momentum=o.momentum, weight_decay=o.weight_decay, nesterov=o.nesterov)


class SPSAOptimizer(SPSALayout, Optimizer):
    """Spall's SPSA: a_k = lr / (k + 1 + A)^alpha, c_k = c / (k + 1)^gamma; two loss evaluations per step."""

    def build(self, params: Sequence[nn.Parameter], lr: float, seed: int) -> SPSASteps:
        return SPSASteps(params, lr, self.options, seed)


class SPSASteps:
    """SPSA over all parameters; its perturbations come from its own seeded numpy Generator.

    ``step(loss_fn)`` calls ``loss_fn()`` twice (at theta +- c_k delta) and returns both results.
    """

    def __init__(self, params: Sequence[nn.Parameter], lr: float, options: SPSAOptions, seed: int) -> None:
        self.params, self.lr, self.options = list(params), lr, options
        self.k = 0
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def step(self, loss_fn: LossFunction) -> list[LossResult]:
        o = self.options
        a_k = self.lr / (self.k + 1 + o.A) ** o.alpha
        c_k = o.c / (self.k + 1) ** o.gamma
        theta = flat_parameters(self.params)
        delta = torch.from_numpy(self.rng.choice([-1.0, 1.0], size=theta.numel())).to(theta.dtype)
        results = []
        for sign in (1.0, -1.0):
            assign_parameters(self.params, theta + sign * c_k * delta)
            results.append(loss_fn())
        gradient = (results[0][0] - results[1][0]) / (2 * c_k) * delta
        assign_parameters(self.params, theta - a_k * gradient)
        self.k += 1
        return results

    def state_dict(self) -> dict[str, Any]:
        return {"k": self.k, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.k = int(state["k"])
        self.rng.bit_generator.state = state["rng"]



class COBYLAOptimizer(COBYLALayout, Optimizer):
    """scipy.optimize.minimize(method='COBYLA') on the whole training set, restarted each epoch."""

    def build(self, params: Sequence[nn.Parameter], lr: float, seed: int) -> COBYLAEpochs:
        return COBYLAEpochs(params, self.options)


class COBYLAEpochs:
    """COBYLA through scipy on the full training loss; each epoch restarts it from the current weights."""

    def __init__(self, params: Sequence[nn.Parameter], options: COBYLAOptions) -> None:
        self.params, self.options = list(params), options
        self.epochs_done = 0

    def run_epoch(self, loss_fn: LossFunction) -> LossResult:
        """Minimise for ``maxiter`` evaluations; leaves the best point in the parameters and returns its result."""
        from scipy.optimize import minimize  # scipy is imported when a COBYLA run starts, not when the plugin loads

        seen: dict[bytes, LossResult] = {}

        def objective(x: np.ndarray) -> float:
            assign_parameters(self.params, torch.from_numpy(np.asarray(x, dtype=np.float64)))
            result = loss_fn()
            seen[np.asarray(x, dtype=np.float64).tobytes()] = result
            return float(result[0])

        x0 = flat_parameters(self.params).to(torch.float64).numpy()
        rhobeg = self.options.rhobeg * self.options.decay**self.epochs_done
        maxiter = cobyla_evaluations(x0.size, self.options.maxiter)
        res = minimize(objective, x0, method="COBYLA", options={"maxiter": maxiter, "rhobeg": rhobeg})
        best = np.asarray(res.x, dtype=np.float64)
        assign_parameters(self.params, torch.from_numpy(best))
        self.epochs_done += 1
        result = seen.get(best.tobytes())
        return result if result is not None else loss_fn()

    def state_dict(self) -> dict[str, Any]:
        return {"epochs_done": self.epochs_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs_done = int(state["epochs_done"])
