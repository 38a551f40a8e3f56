"""Optimisers a profile can name: torch's Adam and SGD, and gradient-free SPSA and COBYLA for shot-based hardware.

Gradient-free optimisers treat every trainable parameter (classical ones too) as one flat vector
and only ever run forward passes, so on hardware a step costs two jobs (SPSA) or one per function
evaluation (COBYLA) instead of a parameter-shift batch.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from torch import nn

from hqnn_core.config import options_error
from hqnn_core.errors import ConfigError

if TYPE_CHECKING:
    from hqnn_core.config import ComponentRef, LoadedProfile


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AdamOptions(_Strict):
    """torch.optim.Adam (lr from train.lr)."""

    betas: list[float] = Field(default_factory=lambda: [0.9, 0.999], min_length=2, max_length=2)
    weight_decay: float = Field(0.0, ge=0)
    eps: float = Field(1e-8, gt=0)


class SGDOptions(_Strict):
    """torch.optim.SGD (lr from train.lr)."""

    momentum: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    nesterov: bool = False


class SPSAOptions(_Strict):
    """Spall's SPSA: a_k = lr / (k + 1 + A)^alpha, c_k = c / (k + 1)^gamma; two loss evaluations per step."""

    c: float = Field(0.1, gt=0, description="perturbation size")
    alpha: float = Field(0.602, gt=0)
    gamma: float = Field(0.101, gt=0)
    A: float = Field(10.0, ge=0, description="stability constant of the step-size schedule")


class COBYLAOptions(_Strict):
    """scipy.optimize.minimize(method='COBYLA') on the whole training set, restarted each epoch."""

    maxiter: int = Field(100, ge=1, description="loss evaluations per epoch")
    rhobeg: float = Field(0.5, gt=0, description="initial trust-region radius")
    decay: float = Field(0.7, gt=0, le=1, description="rhobeg is multiplied by this after every epoch")


OPTIONS: dict[str, type[_Strict]] = {"adam": AdamOptions, "sgd": SGDOptions, "spsa": SPSAOptions, "cobyla": COBYLAOptions}
GRADIENT_FREE = frozenset({"spsa", "cobyla"})


def check_optimizer(ref: ComponentRef, loaded: LoadedProfile) -> BaseModel:
    """Validate ``train.optimizer`` (name and options) with a did-you-mean; returns the options model."""
    if ref.name not in OPTIONS:
        close = difflib.get_close_matches(ref.name, list(OPTIONS), n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{loaded.source}: train.optimizer.name: unknown optimizer {ref.name!r}.{hint} Choose one of {', '.join(OPTIONS)}.")
    cls = OPTIONS[ref.name]
    try:
        return cls(**ref.options)
    except ValidationError as e:
        raise options_error(f"optimizer {ref.name!r}", "train.optimizer", cls, e, loaded) from None


def make_torch_optimizer(ref: ComponentRef, params: Sequence[nn.Parameter], lr: float) -> torch.optim.Optimizer:
    options = OPTIONS[ref.name](**ref.options)
    if ref.name == "adam":
        assert isinstance(options, AdamOptions)
        return torch.optim.Adam(params, lr=lr, betas=tuple(options.betas), weight_decay=options.weight_decay, eps=options.eps)  # type: ignore[arg-type]
    assert isinstance(options, SGDOptions)
    return torch.optim.SGD(params, lr=lr, momentum=options.momentum, weight_decay=options.weight_decay, nesterov=options.nesterov)


def _flat(params: Sequence[nn.Parameter]) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in params])


def _assign(params: Sequence[nn.Parameter], vector: torch.Tensor) -> None:
    start = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vector[start : start + n].reshape(p.shape).to(p.dtype))
            start += n


class SPSAOptimizer:
    """SPSA over all parameters; its perturbations come from its own seeded numpy Generator.

    ``step(loss_fn)`` calls ``loss_fn()`` twice (at theta +- c_k delta) and returns both results.
    """

    def __init__(self, params: Sequence[nn.Parameter], lr: float, options: SPSAOptions, seed: int) -> None:
        self.params, self.lr, self.options = list(params), lr, options
        self.k = 0
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def step(self, loss_fn: Callable[[], tuple[float, Any]]) -> list[tuple[float, Any]]:
        o = self.options
        a_k = self.lr / (self.k + 1 + o.A) ** o.alpha
        c_k = o.c / (self.k + 1) ** o.gamma
        theta = _flat(self.params)
        delta = torch.from_numpy(self.rng.choice([-1.0, 1.0], size=theta.numel())).to(theta.dtype)
        results = []
        for sign in (1.0, -1.0):
            _assign(self.params, theta + sign * c_k * delta)
            results.append(loss_fn())
        gradient = (results[0][0] - results[1][0]) / (2 * c_k) * delta
        _assign(self.params, theta - a_k * gradient)
        self.k += 1
        return results

    def state_dict(self) -> dict[str, Any]:
        return {"k": self.k, "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.k = int(state["k"])
        self.rng.bit_generator.state = state["rng"]


def cobyla_evaluations(n_params: int, maxiter: int) -> int:
    """The most objective evaluations one COBYLA epoch makes: scipy's COBYLA needs at least ``n + 2``.

    An epoch asks scipy for this many (so scipy never raises a too-small ``maxiter`` itself, with a
    warning), and the estimate counts it plus the one evaluation at the best point that scipy may not
    have recorded; an early convergence can only make an epoch cheaper.
    """
    return max(int(maxiter), int(n_params) + 2)


class COBYLAOptimizer:
    """COBYLA through scipy on the full training loss; each epoch restarts it from the current weights."""

    def __init__(self, params: Sequence[nn.Parameter], options: COBYLAOptions) -> None:
        self.params, self.options = list(params), options
        self.epochs_done = 0

    def run_epoch(self, loss_fn: Callable[[], tuple[float, Any]]) -> tuple[float, Any]:
        """Minimise for ``maxiter`` evaluations; leaves the best point in the parameters and returns its result."""
        from scipy.optimize import minimize

        seen: dict[bytes, tuple[float, Any]] = {}

        def objective(x: np.ndarray) -> float:
            _assign(self.params, torch.from_numpy(np.asarray(x, dtype=np.float64)))
            result = loss_fn()
            seen[np.asarray(x, dtype=np.float64).tobytes()] = result
            return float(result[0])

        x0 = _flat(self.params).to(torch.float64).numpy()
        rhobeg = self.options.rhobeg * self.options.decay**self.epochs_done
        maxiter = cobyla_evaluations(x0.size, self.options.maxiter)
        res = minimize(objective, x0, method="COBYLA", options={"maxiter": maxiter, "rhobeg": rhobeg})
        best = np.asarray(res.x, dtype=np.float64)
        _assign(self.params, torch.from_numpy(best))
        self.epochs_done += 1
        result = seen.get(best.tobytes())
        return result if result is not None else loss_fn()

    def state_dict(self) -> dict[str, Any]:
        return {"epochs_done": self.epochs_done}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epochs_done = int(state["epochs_done"])
