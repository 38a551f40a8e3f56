"""Error mitigators wrap the backend call: they expand one circuit into several, then combine."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from hqnn_core.interfaces.layout import MitigatorLayout

if TYPE_CHECKING:
    from hqnn_core.circuit import Circuit
    from hqnn_core.interfaces.backend import Backend


@dataclass(frozen=True)
class SlotMap:
    """How an expanded circuit reads the original slot values: column ``i`` is ``sign[i] * rows[:, index[i]]``.

    Folding a parametrised gate needs its inverse, whose angle is the negated original angle in
    a slot of its own (every slot feeds one gate), so folded circuits have more slots than rows.
    """

    index: tuple[int, ...]
    sign: tuple[float, ...]


@dataclass
class MitigationBatch:
    """Circuits to run on the same slot-value rows, and what ``combine`` needs to merge them.

    ``slot_maps`` (one per circuit, ``None`` for "same slots as the input circuit") lets a
    circuit read the rows through a :class:`SlotMap`.
    """

    circuits: list[Circuit]
    context: dict[str, Any] = field(default_factory=dict)
    slot_maps: list[SlotMap | None] | None = None


class Mitigator(MitigatorLayout):
    """Maps noisy expectations to mitigated ones, in torch so that gradients pass through.

    ``expand`` returns the circuits to run (each on all rows), ``combine`` gets one ``[N, K]`` result
    per circuit, in order, and returns the mitigated ``[N, K]``. ``calibrate`` runs once per backend
    before the first use (readout calibration, for example).
    """

    def calibrate(self, backend: Backend, circuit: Circuit, shots: int | None) -> None:
        """Run calibration circuits on ``backend`` if this mitigator needs them (default: nothing)."""

    def calibration_batches(self, circuit: Circuit, shots: int | None) -> list[int]:
        """Rows of each ``run_batch`` call :meth:`calibrate` makes, so estimates and budgets count them (default: none)."""
        return []

    def calibration_shots(self, shots: int | None) -> int | None:
        """Shots per row of the calibration calls, given the run's (default: the run's)."""
        return shots

    @abstractmethod
    def expand(self, circuit: Circuit) -> MitigationBatch:
        """The circuits whose results ``combine`` needs."""

    @abstractmethod
    def combine(self, batch: MitigationBatch, results: list[torch.Tensor]) -> torch.Tensor:
        """Mitigated ``[N, K]`` expectations from one ``[N, K]`` result per expanded circuit."""

    def circuits_per_circuit(self) -> int:
        """Circuits run per input circuit, for estimates and accounting."""
        return 1

    def describe(self) -> dict[str, Any]:
        """Provenance for run records (calibration timestamps, scale factors...)."""
        return self.config()
