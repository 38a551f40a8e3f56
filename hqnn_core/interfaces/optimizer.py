"""Optimisers train a model's parameters; the trainer, budgets and estimates ask them what a step costs.

An optimiser is a component (a registered name and validated options) that builds the stateful
object one training phase steps with. It declares how an epoch runs, so the trainer, the shot
budget, the cost estimate and the data-parallel check read one answer instead of testing names:

``stepping = "gradient"``
    per mini-batch the trainer runs forward and backward and calls ``step()`` (torch optimisers);
    the layer runs its gradient circuits.
``stepping = "loss"``
    per mini-batch ``step(loss_fn)`` evaluates the batch loss itself, as often as it needs, without
    a backward pass (SPSA, Rotosolve); no gradient circuits run.
``stepping = "whole_set"``
    once per epoch ``run_epoch(loss_fn)`` minimises the loss of the whole training set (COBYLA);
    one step is one whole-set evaluation.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import torch
from torch import nn

from hqnn_core.interfaces.layout import OptimizerLayout
from hqnn_core.interfaces.layout import Stepping as Stepping  # re-exported: the interface names it

#: ``(loss, hits)``: a loss evaluation's mean loss and its number (or fraction) of correct predictions
LossResult = tuple[float, Any]
#: evaluates the loss at the parameters' current values; it runs no backward pass
LossFunction = Callable[[], LossResult]


@runtime_checkable
class StatefulSteps(Protocol):
    """What every built optimiser keeps for checkpoints: resuming from ``state_dict`` gives the same numbers."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


@runtime_checkable
class GradientSteps(StatefulSteps, Protocol):
    """Built by ``stepping = "gradient"`` optimisers; ``torch.optim.Optimizer`` is one."""

    def zero_grad(self) -> None:
        """Forget the gradients of the last step (the trainer calls it before each backward pass)."""
        ...

    def step(self) -> Any:
        """Update the parameters from their ``.grad``."""
        ...


@runtime_checkable
class LossSteps(StatefulSteps, Protocol):
    """Built by ``stepping = "loss"`` optimisers."""

    def step(self, loss_fn: LossFunction) -> list[LossResult]:
        """One step on one mini-batch; returns the results whose mean the epoch's training loss reports."""
        ...


@runtime_checkable
class WholeSetEpochs(StatefulSteps, Protocol):
    """Built by ``stepping = "whole_set"`` optimisers."""

    def run_epoch(self, loss_fn: LossFunction) -> LossResult:
        """Minimise for one epoch; leaves the chosen point in the parameters and returns its result."""
        ...


class Optimizer(OptimizerLayout):
    """Trains parameters: declares how an epoch runs and what a step costs, and builds the stepping object.

    Subclasses set ``stepping`` (see the module docstring), implement :meth:`build`, and override
    :meth:`evaluations_per_step` (and, for ``whole_set``, :meth:`steps_per_epoch`) when a step is
    not one loss evaluation; estimates, shot budgets and job limits are computed from them. Those
    declarations are :class:`~hqnn_core.interfaces.layout.OptimizerLayout`'s, which imports no torch.
    """

    @abstractmethod
    def build(self, params: Sequence[nn.Parameter], lr: float, seed: int) -> Any:
        """The stepping object for one training phase.

        ``gradient``: a :class:`GradientSteps` such as a ``torch.optim.Optimizer``; ``loss``: a
        :class:`LossSteps`; ``whole_set``: a :class:`WholeSetEpochs`. ``lr`` is ``train.lr``; ``seed`` is the phase's optimiser seed, the only
        randomness it may use, so that a rerun and a resumed run give the same numbers.
        """


def flat_parameters(params: Sequence[nn.Parameter]) -> torch.Tensor:
    """All ``params`` as one detached vector, in order (what gradient-free optimisers search over)."""
    return torch.cat([p.detach().reshape(-1) for p in params])


def assign_parameters(params: Sequence[nn.Parameter], vector: torch.Tensor) -> None:
    """Write ``vector`` back into ``params`` in place (the inverse of :func:`flat_parameters`)."""
    start = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vector[start : start + n].reshape(p.shape).to(p.dtype))
            start += n
