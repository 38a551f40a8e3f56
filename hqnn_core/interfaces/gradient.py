"""Gradient estimators turn one evaluation request into one batch of circuits, then combine results.

The expand/combine split lets the executor send everything a training step needs (all samples and
all shifted copies) to the backend as one batch, which becomes one vendor job.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from hqnn_core.interfaces.layout import GradientLayout

if TYPE_CHECKING:
    from hqnn_core.circuit import Circuit
    from hqnn_core.interfaces.backend import Backend


@dataclass
class GradientBatch:
    """The rows to evaluate (``[M, n_slots]``) and whatever ``combine`` needs to read the results."""

    slot_values: torch.Tensor
    context: dict[str, Any] = field(default_factory=dict)


class GradientEstimator(GradientLayout):
    """Estimates ``d expectations / d slot values`` from extra circuit evaluations.

    ``combine`` returns ``(values [N, K], jacobian [N, K, n_slots])``; jacobian columns of slots not in
    ``trainable`` are zero. Estimators that differentiate through the backend itself (``backprop``)
    set ``through_backend = True`` and are never asked to expand. ``higher_order = True`` declares that
    the rule, applied to its own rows, still estimates their derivative (so ``create_graph=True`` can give
    second derivatives); estimators that leave it ``False`` raise there instead of returning a wrong number.
    """

    def supports(self, backend: Backend, circuit: Circuit, shots: int | None) -> bool:
        """Whether this estimator gives correct gradients for this backend and circuit (default: :meth:`supported_by` its capabilities)."""
        return self.supported_by(backend.capabilities, shots)

    def unsupported_reason(self, backend: Backend, circuit: Circuit, shots: int | None) -> str:
        return f"gradient {self.name!r} does not support backend {backend.name!r}"

    def use_shots(self, shots: int | None) -> None:
        """Told the shots per circuit it will see, so a step size can follow them (default: ignore)."""

    @abstractmethod
    def expand(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> GradientBatch:
        """Rows to evaluate for ``slot_values`` ``[N, n_slots]``; ``trainable`` is a bool mask ``[n_slots]``."""

    @abstractmethod
    def combine(self, batch: GradientBatch, results: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(values [N, K], jacobian [N, K, n_slots])`` from the results ``[M, K]`` of :meth:`expand`'s rows."""
