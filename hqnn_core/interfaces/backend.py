"""Backends answer one question, for many bindings at once: the expectations of a circuit."""

from __future__ import annotations

import math
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from pydantic import BaseModel

from hqnn_core.circuit import Circuit
from hqnn_core.errors import BackendError, CapabilityError, ConfigError, UnsupportedError
from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.component import Component
from hqnn_core.pricing import Price

#: One unit of work: a circuit and the ``[N, n_slots]`` slot values to evaluate it at.
Task = tuple[Circuit, torch.Tensor]


def _state_size(n_qubits: int) -> str:
    """Size of one complex64 statevector of ``n_qubits`` for messages (``8 GiB`` at 30 qubits)."""
    size, units = float(8 * 2**n_qubits), ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    while size >= 1024 and len(units) > 1:
        size, units = size / 1024, units[1:]
    return f"{size:g} {units[0]}"


@dataclass
class Accounting:
    """What a backend has spent: vendor jobs, circuit executions (bindings), shots, wall time."""

    calls: int = 0
    jobs: int = 0
    circuits: int = 0
    shots: int = 0
    wall_time: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def copy(self) -> Accounting:
        return Accounting(**asdict(self))

    def __sub__(self, other: Accounting) -> Accounting:
        return Accounting(**{k: getattr(self, k) - getattr(other, k) for k in asdict(self)})


def check_shots(shots: object, where: str = "shots") -> int | None:
    """Validate a shot count: ``None`` (exact) or a positive int; bools and floats are rejected."""
    if shots is None:
        return None
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)):
        raise ConfigError(
            f"{where} must be a positive integer or null (exact), got {shots!r} of type {type(shots).__name__}; "
            "write e.g. shots: 1000 (not 1e3 or true)."
        )
    if shots < 1:
        raise ConfigError(f"{where} must be at least 1, got {shots}; use shots: null for exact simulation.")
    return int(shots)


class Backend(Component):
    """Evaluates neutral circuits for batches of slot values.

    Subclasses declare ``capabilities`` and implement :meth:`_run`, which should submit all tasks
    as few vendor jobs as the vendor allows and call :meth:`_count_job` once per job.

    Everything else has a default here, overridden where the backend knows better: per-instance
    capabilities (:meth:`capabilities_for` at config time, ``self.capabilities`` after
    construction), error mapping (:meth:`map_error`, :meth:`error_examples`), vendor facts
    (:meth:`device_class`, :meth:`price`, :meth:`queue_info`, :meth:`calibration`), final states
    for diagnostics (:meth:`simulate`), remote-task
    journals (:meth:`attach_journal`) and fault counts (:meth:`faults_injected`). Callers use these
    methods directly; nothing probes a backend with ``getattr``.

    Contract of :meth:`expectations`: returns a real tensor of shape ``[N, K]`` (N bindings, K
    observables), never squeezing N = 1; float64 unless the backend declares ``backprop``, in which
    case it follows the slot values' precision and carries autograd history. Circuits beyond the
    declared capabilities raise :class:`CapabilityError` from :meth:`validate`, before any job.
    """

    kind: ClassVar[str] = "backend"
    vendor: ClassVar[str] = "hqnn"
    #: Declared on the class: what every instance can do, unless the target or options change it. A class
    #: whose instances differ overrides :meth:`capabilities_for`, assigns ``self.capabilities`` from it in
    #: ``__init__``, and refines only what the device it opened tells (its qubit count, native gates).
    capabilities: BackendCapabilities
    #: The price class (:mod:`hqnn_core.pricing`) every instance bills as; None: :meth:`device_class` decides.
    price_class: ClassVar[str | None] = None

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.target = target
        self.accounting = Accounting()

    @classmethod
    def capabilities_for(cls, target: str | None, options: BaseModel) -> BackendCapabilities:
        """The capabilities an instance built from ``target`` and validated ``options`` will declare.

        Config-time checks (shots against ``analytic``/``shots``/``max_shots``, cost escalation
        against ``remote``) read this without building the backend, so it must not contact a
        device; facts only a device can tell (its qubit count, native gates) may be refined by the
        instance. The default is the class's declared ``capabilities``.
        """
        return cls.capabilities

    @property
    def full_name(self) -> str:
        return f"{self.name}:{self.target}" if self.target else self.name

    def validate(self, circuit: Circuit, shots: int | None) -> None:
        """Reject what this backend cannot run, naming the limit and the fix."""
        caps = self.capabilities
        shots = check_shots(shots)
        if circuit.n_qubits > caps.max_qubits:
            raise CapabilityError(
                f"circuit needs {circuit.n_qubits} qubits; backend {self.full_name!r} supports at most {caps.max_qubits} "
                f"(its declared max_qubits: a device's qubit count, or the widest state a simulator can index and hold; a statevector "
                f"of n qubits takes 2**n amplitudes, {_state_size(circuit.n_qubits)} at {circuit.n_qubits} qubits in complex64, per sample). "
                "Lower n_qubits (model.quantum.n_qubits in a profile) and reduce the features to match, or choose a backend that "
                "declares more (see `hqnn backends`)."
            )
        missing = circuit.gate_names - caps.native_gates
        if missing:
            raise CapabilityError(
                f"backend {self.full_name!r} cannot run gates {sorted(missing)}; it supports {sorted(caps.native_gates)}. "
                "Choose an ansatz/encoder built from supported gates or another backend."
            )
        if shots is None and not caps.analytic:
            raise CapabilityError(f"backend {self.full_name!r} only samples; set shots to a positive integer (e.g. 1000).")
        if shots is not None and not caps.shots:
            raise CapabilityError(f"backend {self.full_name!r} is exact only; set shots: null.")
        if shots is not None and caps.max_shots is not None and shots > caps.max_shots:
            raise CapabilityError(f"shots={shots} exceeds backend {self.full_name!r}'s maximum of {caps.max_shots}; lower shots.")

    def expectations(self, circuit: Circuit, slot_values: torch.Tensor, shots: int | None = None, seed: int | None = None) -> torch.Tensor:
        """Expectations ``[N, K]`` of ``circuit.observables`` at each row of ``slot_values``."""
        return self.run_batch([(circuit, slot_values)], shots=shots, seed=seed)[0]

    def states(self, circuit: Circuit, slot_values: torch.Tensor) -> torch.Tensor:
        """Final statevectors ``[N, 2**n]`` (complex), for backends whose capabilities declare ``state``.

        The default refuses: a device that only measures cannot hand over a state.
        """
        raise UnsupportedError(
            f"backend {self.full_name!r} does not return statevectors; measure='state' needs a backend that declares it "
            "(the embedded 'torch' backend does), or measure='probs' on this one."
        )

    def simulate(self, circuit: Circuit, slot_values: torch.Tensor) -> torch.Tensor | None:
        """Final states for diagnostics: statevectors ``[N, 2**n]`` or density matrices ``[N, 2**n, 2**n]``.

        The default is None: only simulators that hold the state can hand it over (remote devices never do).
        """
        return None

    def run_batch(self, tasks: Sequence[Task], shots: int | None = None, seed: int | None = None) -> list[torch.Tensor]:
        """Evaluate several circuits (each with its own rows) as one submission where possible."""
        for circuit, values in tasks:
            self.validate(circuit, shots)
            if values.ndim != 2 or values.shape[1] != circuit.n_slots:
                raise CapabilityError(f"slot values must have shape [N, {circuit.n_slots}], got {tuple(values.shape)}.")
        if seed is None and shots is not None:
            seed = self._next_seed()
        start = time.perf_counter()
        results = self._run(list(tasks), shots, seed)
        n_rows = sum(int(v.shape[0]) for _, v in tasks)
        acc = self.accounting
        acc.calls += 1
        acc.circuits += n_rows
        acc.shots += n_rows * (shots or 0)
        acc.wall_time += time.perf_counter() - start
        return results

    @abstractmethod
    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        """Execute validated tasks; one result ``[N_i, K_i]`` per task, in order."""

    def _count_job(self, n: int = 1) -> None:
        self.accounting.jobs += n

    def _next_seed(self) -> int | None:
        return self.seed_for_call(self.accounting.calls)

    def seed_for_call(self, call: int) -> int:
        """The shot seed of this backend's ``call``-th call: derived from ``options.seed`` when set, else fresh entropy."""
        base = getattr(self.options, "seed", None)
        entropy = [call] if base is None else [int(base), call]
        if base is None:
            entropy.append(int(torch.randint(0, 2**31 - 1, (1,)).item()))
        return int(np.random.SeedSequence(entropy).generate_state(1)[0])

    # -- errors ----------------------------------------------------------------------------------
    def map_error(self, exc: BaseException) -> BaseException:
        """The hqnn error for a vendor exception ``exc`` (raise it ``from exc``); the default passes ``exc`` through."""
        return exc

    def error_examples(self) -> list[tuple[BaseException, type[BackendError]]]:
        """Offline-built vendor exceptions with the hqnn class :meth:`map_error` must give each (conformance); none by default."""
        return []

    # -- vendor facts ----------------------------------------------------------------------------
    def device_class(self) -> str | None:
        """The price class this backend bills as: ``price_class`` if the class sets one, else ``local`` for a local
        backend, a chain's primary's for a chain, and None (unpriced) for a remote device the adapter does not know."""
        if self.price_class is not None:
            return self.price_class
        members = self.members()
        if members != [self]:
            return members[0].device_class()
        return None if self.capabilities.remote else "local"

    def price(self) -> Price | None:
        """The vendor's list price of :meth:`device_class`, from the adapter that knows it; None: the core's table decides."""
        members = self.members()
        return members[0].price() if members != [self] else None

    def queue_info(self) -> dict[str, Any] | None:
        """Queue expectations before submitting (``hqnn estimate``); None: no queue (local simulators)."""
        return None

    def attach_journal(self, path: Path) -> None:
        """Record remote tasks in ``path`` before waiting for them, so a killed run re-attaches (default: nothing to journal)."""

    @property
    def faults_injected(self) -> int | None:
        """Faults this backend injected on purpose (fault-injecting test backends); None: it injects none."""
        return None

    def members(self) -> list[Backend]:
        """The backends that actually submit jobs: itself, or a chain's members (for budgets and journals)."""
        return [self]

    def configure_gradient(self, name: str) -> None:
        """Told which gradient estimator drives it, so it can pick its own fastest path (default: ignore)."""

    def jobs_for(self, n_circuits: int) -> int:
        """How many vendor jobs ``n_circuits`` bindings take (for estimates and conformance)."""
        limit = self.capabilities.max_circuits_per_job
        return 1 if not limit else max(1, math.ceil(n_circuits / limit))

    #: Backend options that are noise parameters, varied one at a time by ``hqnn compare --sensitivity``.
    noise_options: ClassVar[tuple[str, ...]] = ()

    def calibration(self, n_qubits: int) -> dict[str, Any] | None:
        """Calibration snapshot of the qubits that run wires ``0..n_qubits-1``, or ``None`` when the backend has none.

        Shape: ``{"source": str, "taken_at": str | None, "qubits": [{"wire": i, "physical": q, PARAMETER: value, ...}]}``.
        Parameters use IBM's property names where they mean the same: ``T1`` and ``T2`` (seconds), ``readout_error``,
        ``prob_meas1_prep0``, ``prob_meas0_prep1``, ``gate_error_1q`` and ``gate_error_2q`` (mean over the device's
        gates on that qubit). ``hqnn compare`` subtracts two snapshots wire by wire. Exact simulators have none.
        """
        return None

    def describe(self) -> dict[str, Any]:
        """Provenance for run records: vendor, device, options, versions; never credentials."""
        return {
            "name": self.full_name,
            "vendor": self.vendor,
            "options": self.options.model_dump(mode="json"),
            "capabilities": self.capabilities.as_dict(),
        }

