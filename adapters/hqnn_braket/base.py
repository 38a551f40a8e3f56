"""What the Braket backends share: the translation cache, job planning and error mapping.

A *job* in :attr:`~hqnn_core.interfaces.Backend.accounting` is one program set (or, on AWS, one
billed task); :meth:`BraketBackendBase.executables_per_job` says how many executables one carries.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from hqnn_braket import errors as braket_errors
from hqnn_braket import hqnn_environment_info as sdk_versions
from hqnn_braket.errors import map_exception
from hqnn_braket.packing import Translation, program_set_limit
from hqnn_braket.translate import param_name, to_braket
from hqnn_core.caching import TranslationCache
from hqnn_core.circuit import Circuit
from hqnn_core.errors import BackendError
from hqnn_core.interfaces import Backend, Task
from hqnn_core.measurement import plan_measurements

#: Translations kept per backend (a layer uses one circuit; the bound is for odd workloads).
_CACHE_SIZE = 32


class BraketBackendBase(Backend):
    """Shared translation cache, unit planning and result assembly of the Braket backends."""

    vendor = "Amazon Braket"
    #: per program set, from the device's ``braket.ir.openqasm.program_set`` action (None: unsupported)
    _max_executables: int | None = None
    _max_total_shots: int | None = None

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        self._translations: TranslationCache[Circuit, Translation] = TranslationCache(_CACHE_SIZE)

    # -- translation ---------------------------------------------------------------------------
    def _noise(self) -> dict[str, float]:
        return {}

    def translation(self, circuit: Circuit) -> Translation:
        """The cached translation of ``circuit`` (built on first use, least recently used dropped)."""
        return self._translations.get(circuit, lambda: self._translate(circuit))

    def _translate(self, circuit: Circuit) -> Translation:
        body = to_braket(circuit, **self._noise())
        return Translation(circuit, body, plan_measurements(circuit), [param_name(i) for i in range(circuit.n_slots)])

    # -- job planning --------------------------------------------------------------------------
    def executables_per_job(self, shots: int | None) -> int | None:
        """Executables one job carries: a program set's limits for shots, else the exact-mode unit (None: no limit)."""
        raise NotImplementedError

    def jobs_for(self, n_circuits: int, shots: int | None = None, settings: int = 1) -> int:
        """Jobs for ``n_circuits`` bindings; with shots each binding needs one executable per setting."""
        units = n_circuits * (settings if shots is not None else 1)
        limit = self.executables_per_job(shots)
        return 1 if limit is None else max(1, math.ceil(units / limit))

    def _program_set_limit(self, shots: int) -> int:
        assert self._max_executables is not None
        return program_set_limit(self._max_executables, self._max_total_shots, shots)

    @staticmethod
    def _as_tensors(outputs: list[np.ndarray]) -> list[torch.Tensor]:
        return [torch.from_numpy(np.ascontiguousarray(o, dtype=np.float64)) for o in outputs]

    @staticmethod
    def _rows(tasks: list[Task]) -> list[np.ndarray]:
        return [v.detach().to(device="cpu", dtype=torch.float64).numpy() for _, v in tasks]

    def map_error(self, exc: BaseException) -> BackendError:
        """The hqnn error for a Braket/botocore exception (the table in :mod:`hqnn_braket.errors`)."""
        return map_exception(exc, self.full_name, "calling Amazon Braket")

    def error_examples(self) -> list[tuple[BaseException, type[BackendError]]]:
        return braket_errors.error_examples()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["versions"] = sdk_versions()
        return info
