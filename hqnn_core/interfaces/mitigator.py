"""Error mitigators wrap the backend call: they expand one circuit into several, then combine."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from hqnn_core.interfaces.component import Component

if TYPE_CHECKING:
    from hqnn_core.circuit import Circuit
    from hqnn_core.interfaces.backend import Backend


@dataclass
class MitigationBatch:
    """Circuits to run on the same slot-value rows, and what ``combine`` needs to merge them."""

    circuits: list[Circuit]
    context: dict[str, Any] = field(default_factory=dict)


class Mitigator(Component):
    """Maps noisy expectations to mitigated ones, in torch so that gradients pass through.

    ``expand`` returns the circuits to run (each on all rows), ``combine`` gets one ``[N, K]`` result
    per circuit, in order, and returns the mitigated ``[N, K]``. ``calibrate`` runs once per backend
    before the first use (readout calibration, for example).
    """

    kind: ClassVar[str] = "mitigator"

    def calibrate(self, backend: Backend, circuit: Circuit, shots: int | None) -> None:
        """Run calibration circuits on ``backend`` if this mitigator needs them (default: nothing)."""

    @abstractmethod
    def expand(self, circuit: Circuit) -> MitigationBatch:
        """The circuits whose results ``combine`` needs."""

    @abstractmethod
    def combine(self, batch: MitigationBatch, results: list[torch.Tensor]) -> torch.Tensor:
        """Mitigated ``[N, K]`` expectations from one ``[N, K]`` result per expanded circuit."""

    def describe(self) -> dict[str, Any]:
        """Provenance for run records (calibration timestamps, scale factors...)."""
        return self.config()
