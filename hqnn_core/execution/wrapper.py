"""A backend that wraps another: the base of the run's backend stack (see docs/architecture.md).

Like an httpx transport that wraps a transport, or a PennyLane device that wraps a device, a
:class:`BackendWrapper` *is* a :class:`~hqnn_core.interfaces.Backend`: the layer, the executor and
a fallback chain hold it exactly as they would hold the vendor backend. Everything it does not
change is the inner backend's: name, options, capabilities, accounting, shot seeds, validation and
job splitting. A wrapper overrides :meth:`run_batch` (the one place a submission happens) and adds
its own behaviour around the inner call; it never patches the inner object.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.interfaces import Accounting, Backend
from hqnn_core.interfaces.backend import Task


class BackendWrapper(Backend):
    """A :class:`Backend` that forwards to ``inner``; subclasses add behaviour around :meth:`run_batch`.

    Optional vendor methods that the ABC does not declare (``attach_journal``, ``queue_info``,
    ``price_class``, ``faults_injected``) are the inner backend's too, so the wrapper is invisible
    to whatever reads them.
    """

    def __init__(self, inner: Backend) -> None:  # no super().__init__: options and accounting are the inner's
        self.inner = inner
        self.options = inner.options
        self.target = inner.target
        self.capabilities = inner.capabilities  # type: ignore[misc]

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (copying, unpickling): never recurse
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def accounting(self) -> Accounting:
        return self.inner.accounting

    @accounting.setter
    def accounting(self, value: Accounting) -> None:  # a checkpoint restores the inner backend's counts
        self.inner.accounting = value

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.inner.name

    @property
    def full_name(self) -> str:
        return self.inner.full_name

    @property
    def vendor(self) -> str:  # type: ignore[override]
        return self.inner.vendor

    @property
    def noise_options(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.inner.noise_options

    def validate(self, circuit: Circuit, shots: int | None) -> None:
        self.inner.validate(circuit, shots)

    def run_batch(self, tasks: Sequence[Task], shots: int | None = None, seed: int | None = None) -> list[torch.Tensor]:
        return self.inner.run_batch(tasks, shots=shots, seed=seed)

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        return self.inner.run_batch(tasks, shots=shots, seed=seed)

    def states(self, circuit: Circuit, slot_values: torch.Tensor) -> torch.Tensor:
        return self.inner.states(circuit, slot_values)

    def seed_for_call(self, call: int) -> int:
        return self.inner.seed_for_call(call)

    def members(self) -> list[Backend]:
        return self.inner.members()

    def configure_gradient(self, name: str) -> None:
        self.inner.configure_gradient(name)

    def jobs_for(self, n_circuits: int) -> int:
        return self.inner.jobs_for(n_circuits)

    def calibration(self, n_qubits: int) -> dict[str, Any] | None:
        return self.inner.calibration(n_qubits)

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


__all__ = ["BackendWrapper"]
