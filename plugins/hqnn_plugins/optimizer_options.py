"""The built-in optimisers' options, importable without torch (``hqnn validate`` checks profiles with them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AdamOptions(_Strict):
    """Adam's options; the learning rate is ``train.lr``."""

    betas: list[float] = Field(default_factory=lambda: [0.9, 0.999], min_length=2, max_length=2)
    weight_decay: float = Field(0.0, ge=0)
    eps: float = Field(1e-8, gt=0)


class SGDOptions(_Strict):
    """SGD's options; the learning rate is ``train.lr``."""

    momentum: float = Field(0.0, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    nesterov: bool = False


class SPSAOptions(_Strict):
    """SPSA's schedules; the step-size numerator a is ``train.lr``."""

    c: float = Field(0.1, gt=0, description="perturbation size")
    alpha: float = Field(0.602, gt=0)
    gamma: float = Field(0.101, gt=0)
    A: float = Field(10.0, ge=0, description="stability constant of the step-size schedule")


class COBYLAOptions(_Strict):
    """COBYLA's evaluation budget and trust region."""

    maxiter: int = Field(100, ge=1, description="loss evaluations per epoch")
    rhobeg: float = Field(0.5, gt=0, description="initial trust-region radius")
    decay: float = Field(0.7, gt=0, le=1, description="rhobeg is multiplied by this after every epoch")


def cobyla_evaluations(n_params: int, maxiter: int) -> int:
    """The most objective evaluations one COBYLA epoch makes: scipy's COBYLA needs at least ``n + 2``.

    An epoch asks scipy for this many (so scipy never raises a too-small ``maxiter`` itself, with a
    warning), and the estimate counts it plus the one evaluation at the best point that scipy may not
    have recorded; an early convergence can only make an epoch cheaper.
    """
    return max(int(maxiter), int(n_params) + 2)
