"""The training loop the published models share, as qml-benchmarks' ``model_utils.train`` runs it.

Adam at the model's learning rate on batches of ``batch_size`` rows drawn with replacement, one
step per batch, until the loss history is flat (:func:`has_converged`) or ``max_steps`` is reached.
The loss recorded for a step is the batch loss before that step's update, as in the paper's code,
so the convergence criterion sees the same history.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning


def has_converged(history: Sequence[float], interval: int | None) -> bool:
    """The paper's criterion: the means of the last two ``interval``-long windows differ by at most
    half the standard error of the last window (``std / sqrt(interval) / 2``), checked once more
    than ``2 * interval + 1`` losses have been recorded (its ``step > 2 * interval``)."""
    if interval is None or len(history) <= 2 * interval + 1:
        return False
    last = np.asarray(history[-interval:], dtype=float)
    previous = np.asarray(history[-2 * interval : -interval], dtype=float)
    return bool(abs(previous.mean() - last.mean()) <= last.std() / math.sqrt(interval) / 2)


@dataclass
class TrainingResult:
    """The recorded batch losses, whether the criterion stopped training, and the steps taken."""

    loss_history: list[float] = field(default_factory=list)
    converged: bool = False

    @property
    def steps(self) -> int:
        return len(self.loss_history)


def train(
    loss_fn: Callable[..., torch.Tensor],
    params: Sequence[torch.Tensor],
    data: Sequence[torch.Tensor],
    *,
    learning_rate: float,
    batch_size: int,
    max_steps: int,
    convergence_interval: int | None,
    rng: np.random.Generator,
    name: str = "model",
) -> TrainingResult:
    """Minimise ``loss_fn(*batch)`` over ``params`` with Adam; ``batch`` holds the same random rows of each ``data`` tensor.

    Rows are drawn from ``range(len(data[0]))`` and clamped to each tensor's length (JAX's gather
    clamps too, which the metric learner relies on). Warns with scikit-learn's
    :class:`~sklearn.exceptions.ConvergenceWarning` when ``max_steps`` pass without convergence
    (the paper's code raises it) and stops early on a NaN loss, as the paper's code does.
    """
    optimiser = torch.optim.Adam(list(params), lr=learning_rate)
    result = TrainingResult()
    n = len(data[0])
    for _ in range(max_steps):
        rows = torch.from_numpy(rng.integers(0, n, size=batch_size))
        batch = [tensor[rows.clamp(max=len(tensor) - 1)] for tensor in data]
        optimiser.zero_grad()
        loss = loss_fn(*batch)
        loss.backward()
        optimiser.step()
        value = float(loss.detach())
        result.loss_history.append(value)
        if math.isnan(value):
            return result
        if has_converged(result.loss_history, convergence_interval):
            result.converged = True
            return result
    if convergence_interval is not None:
        warnings.warn(f"{name} has not converged after the maximum number of {max_steps} steps; raise max_steps.",
                      ConvergenceWarning, stacklevel=3)
    return result
