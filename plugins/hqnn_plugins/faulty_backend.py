"""``faulty:<backend>``: wraps a real backend and injects failures on a deterministic schedule.

For chaos runs and tests of retry, fallback and resume: ``faulty:torch?rate=0.3&seed=1`` fails 30%
of calls, drawn from its own seeded RNG (never the global streams), so the same schedule repeats
run after run. Faults raise the hqnn error class each vendor failure is classified as:

- ``throttle``, ``timeout``, ``lost`` (the job ran but its response was lost) -> transient;
- ``unavailable`` (device offline) -> unavailable, so a fallback chain moves on;
- ``permanent`` (invalid request) -> permanent;
- ``hang``: the call blocks (up to ``hang_seconds``, or until :meth:`FaultyBackend.release`), for
  testing per-call deadlines.

Every fault but ``lost`` is raised before delegating (no work done); ``lost`` runs the call first.
Options in the name's query string win over ``backend_options`` (the name is the most specific
place: a profile's derived seed does not replace ``?seed=1``). ``faults_injected`` counts what was
injected, for the run record. Under ``HQNN_TEST_KILL_AT=call:N`` the process is killed inside its
N-th call (a crash test hook, see :func:`hqnn_core.kill_points.kill_point`); under
``HQNN_TEST_SUBMISSIONS=FILE`` each call appends its job count to FILE first (the crash tests'
count of jobs submitted, independent of the run's ledger).
"""

from __future__ import annotations

import os
import random
import threading
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hqnn_core.circuit import Circuit
from hqnn_core.components import backend_capabilities, get_backend
from hqnn_core.errors import ConfigError, PermanentBackendError, TransientBackendError, UnavailableBackendError
from hqnn_core.interfaces import Backend, BackendCapabilities, Task
from hqnn_core.interfaces.component import describe_validation_error
from hqnn_core.kill_points import kill_point
from hqnn_core.option_text import split_query
from hqnn_core.pricing import Price

FaultKind = Literal["throttle", "timeout", "lost", "unavailable", "permanent", "hang"]

_MESSAGES = {
    "throttle": (TransientBackendError, "injected fault: throttled (HTTP 429 ThrottlingException)"),
    "timeout": (TransientBackendError, "injected fault: read timeout while waiting for the result"),
    "lost": (TransientBackendError, "injected fault: the job ran but its response was lost"),
    "unavailable": (UnavailableBackendError, "injected fault: device offline (DeviceOfflineException)"),
    "permanent": (PermanentBackendError, "injected fault: invalid request (ValidationException)"),
}


SUBMISSIONS_VAR = "HQNN_TEST_SUBMISSIONS"


def _note_submission(path: str, jobs: int) -> None:
    """Append (fsynced) one line per call that reached this backend: a count kept apart from hqnn's own ledger."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{jobs}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class FaultyBackend(Backend):
    """Injects throttling, timeouts, lost responses, outages and permanent failures into a real backend."""

    name = "faulty"
    vendor = "hqnn"
    capabilities = BackendCapabilities(max_qubits=0)  # replaced by the wrapped backend's in __init__

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        rate: float = Field(0.3, ge=0, le=1, description="probability that a call fails")
        seed: int = Field(0, description="seed of the fault schedule")
        kinds: tuple[FaultKind, ...] = ("throttle", "timeout", "lost")
        max_consecutive: int = Field(4, ge=1, description="at most this many failures in a row")
        hang_seconds: float = Field(60.0, gt=0, description="how long a 'hang' fault blocks at most")
        backend_options: dict[str, Any] = Field(default_factory=dict, description="options of the wrapped backend")

    def __init__(self, target: str | None = None, **options: Any) -> None:
        if not target:
            raise ConfigError("the faulty backend wraps another one: write e.g. 'faulty:torch?rate=0.3&seed=1'.")
        inner_name, from_query = split_query(target, f"backend 'faulty:{target}'")  # raw strings: Options converts them
        kinds: dict[str, Any] = {"kinds": from_query["kinds"].split(",")} if "kinds" in from_query else {}
        try:
            merged = self.Options.model_validate({**options, **from_query, **kinds})
        except ValidationError as e:
            raise ConfigError(f"Invalid options for backend 'faulty': {describe_validation_error('faulty', e)}.") from None
        super().__init__(target=target, **merged.model_dump())
        self.inner = get_backend(inner_name, **self.options.backend_options)
        self.capabilities = self.inner.capabilities
        self._rng = random.Random(self.options.seed)
        self._consecutive = 0
        self.injected: dict[str, int] = {}
        self.calls = 0
        self._released = threading.Event()

    @classmethod
    def capabilities_for(cls, target: str | None, options: BaseModel) -> BackendCapabilities:
        """The wrapped backend's (the query part of the target sets only fault options)."""
        if not target:
            return cls.capabilities  # the constructor refuses it
        assert isinstance(options, cls.Options)
        return backend_capabilities(target.partition("?")[0], options.backend_options)

    def release(self) -> None:
        """End every current and future 'hang' at once (tests call this when they are done)."""
        self._released.set()

    def validate(self, circuit: Circuit, shots: int | None) -> None:
        self.inner.validate(circuit, shots)

    def _next_fault(self) -> str | None:
        fail = self._rng.random() < self.options.rate and self._consecutive < self.options.max_consecutive
        kind = self._rng.choice(self.options.kinds) if self.options.kinds else None
        if not fail or kind is None:
            self._consecutive = 0
            return None
        self._consecutive += 1
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[Any]:
        self.calls += 1
        if os.environ.get(SUBMISSIONS_VAR):  # crash tests' independent count of what reached the "vendor"
            _note_submission(os.environ[SUBMISSIONS_VAR], self.inner.jobs_for(sum(int(v.shape[0]) for _, v in tasks)))
        kill_point("call", self.calls)  # crash tests: HQNN_TEST_KILL_AT=call:N dies inside the N-th call
        fault = self._next_fault()
        if fault == "hang":
            self._released.wait(self.options.hang_seconds)
            raise TransientBackendError("injected fault: the call hung and was given up")
        if fault is not None and fault != "lost":
            cls, message = _MESSAGES[fault]
            raise cls(message)
        jobs = self.inner.accounting.jobs
        results = self.inner.run_batch(tasks, shots=shots, seed=seed)
        self._count_job(self.inner.accounting.jobs - jobs)
        if fault == "lost":
            raise TransientBackendError(_MESSAGES["lost"][1])
        return results

    @property
    def faults_injected(self) -> int:
        return sum(self.injected.values())

    def device_class(self) -> str | None:
        return self.inner.device_class()  # priced as what it wraps

    def price(self) -> Price | None:
        return self.inner.price()

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["wraps"] = self.inner.describe()
        info["faults_injected"] = dict(self.injected)
        return info
