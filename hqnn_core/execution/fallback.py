"""A fallback chain of backends, each behind its own retry policy and circuit breaker.

``FallbackBackend`` is itself a :class:`Backend`, so layers and the executor use it unchanged. A call
goes to the first backend whose breaker is closed; transient errors are retried there, and when
they persist, or the backend is unavailable, the call moves to the next backend (recorded as a
switch). Permanent errors and budget errors propagate at once: they never fall back, so a spending
limit can never push work onto another paid device.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.errors import ConfigError, FallbackWarning, TransientBackendError, UnavailableBackendError
from hqnn_core.execution.retry import Retrier, RetryPolicy
from hqnn_core.interfaces import Backend, BackendCapabilities, Task

logger = logging.getLogger("hqnn.fallback")


def _settle(future: concurrent.futures.Future[Any], fn: Callable[[], Any]) -> None:
    """Run ``fn`` and put its result or exception in ``future`` (the body of a call's daemon thread)."""
    try:
        future.set_result(fn())
    except BaseException as e:  # noqa: BLE001 - handed to the waiting caller, who re-raises it
        future.set_exception(e)

class CircuitBreaker:
    """Stops calls to a failing backend for ``reset_after`` seconds, then lets one call probe it."""

    def __init__(self, failure_threshold: int = 1, reset_after: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after = reset_after
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.reset_after else "open"

    def allow(self) -> bool:
        return self.state != "open"

    def record_success(self) -> None:
        self.failures, self.opened_at = 0, None

    def record_failure(self) -> None:
        self.failures += 1
        if self.failures >= self.failure_threshold or self.state == "half_open":
            self.opened_at = self.clock()


@dataclass
class Switch:
    """One move from one backend of the chain to another, for run records and progress bars.

    ``error`` is the class of the error that made the chain move on (empty when the primary
    recovered); ``at`` is where the caller was (e.g. ``{"phase": "hybrid", "epoch": 3, "step": 9}``,
    see :attr:`FallbackBackend.position`).
    """

    call: int
    from_backend: str
    to_backend: str
    reason: str
    error: str = ""
    at: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in self.__dict__.items() if k != "at"}, **self.at}


@dataclass
class _Link:
    backend: Backend
    retrier: Retrier
    breaker: CircuitBreaker
    served: int = 0
    failures: list[str] = field(default_factory=list)


def _combined_capabilities(backends: Sequence[Backend]) -> BackendCapabilities:
    """What every backend of the chain can do (a call may land on any of them)."""
    caps = [b.capabilities for b in backends]
    limits = [c.max_circuits_per_job for c in caps if c.max_circuits_per_job]
    shot_limits = [c.max_shots for c in caps if c.max_shots]
    native = frozenset.intersection(*(c.native_gates for c in caps))
    return BackendCapabilities(
        max_qubits=min(c.max_qubits for c in caps),
        analytic=all(c.analytic for c in caps),
        shots=all(c.shots for c in caps),
        max_shots=min(shot_limits) if shot_limits else None,
        noise=any(c.noise for c in caps),
        native_gates=native,
        backprop=all(c.backprop for c in caps),
        adjoint=all(c.adjoint for c in caps),
        higher_order=all(c.higher_order for c in caps),
        remote=any(c.remote for c in caps),
        max_circuits_per_job=min(limits) if limits else None,
        deterministic_shots=all(c.deterministic_shots for c in caps),
    )


class FallbackBackend(Backend):
    """Runs each call on the first healthy backend of a chain, retrying transient errors on each."""

    name = "fallback"
    vendor = "hqnn"

    def __init__(
        self,
        backends: Sequence[Backend],
        retry: RetryPolicy | None = None,
        *,
        breaker_reset_after: float = 300.0,
        call_timeout: float | None = None,
        allow_cost_escalation: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        if not backends:
            raise ConfigError("a fallback chain needs at least one backend.")
        primary = backends[0]
        for b in backends[1:]:
            if b.capabilities.remote and not primary.capabilities.remote and not allow_cost_escalation:
                raise ConfigError(
                    f"backend.fallback would move work from the local backend {primary.full_name!r} to the remote (paid) "
                    f"backend {b.full_name!r}; set backend.allow_cost_escalation: true if that is intended."
                )
        if call_timeout is not None and call_timeout <= 0:
            raise ConfigError(f"backend.call_timeout must be positive seconds, got {call_timeout}.")
        self.call_timeout = call_timeout
        policy = retry or RetryPolicy()
        self.links = [
            _Link(b, Retrier(RetryPolicy(**{**policy.__dict__, "seed": policy.seed + i}), sleep=sleep, clock=clock, name=b.full_name),
                  CircuitBreaker(reset_after=breaker_reset_after, clock=clock))
            for i, b in enumerate(backends)
        ]
        self.capabilities = _combined_capabilities(backends)
        self.switches: list[Switch] = []
        self.active = 0
        #: Where the caller is (a trainer sets phase/epoch/step); copied into each switch event.
        self.position: dict[str, Any] = {}

    @property
    def full_name(self) -> str:
        return " -> ".join(link.backend.full_name for link in self.links)

    def validate(self, circuit: Circuit, shots: int | None) -> None:
        """Every backend of the chain must be able to run the circuit: checked before any job."""
        for link in self.links:
            link.backend.validate(circuit, shots)

    def members(self) -> list[Backend]:
        return [m for link in self.links for m in link.backend.members()]

    def configure_gradient(self, name: str) -> None:
        for link in self.links:
            link.backend.configure_gradient(name)

    def _next_seed(self) -> int | None:
        """None: the chain has no seed of its own; the link that serves a call seeds it (see :meth:`_run`)."""
        return None

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[Any]:
        why: list[str] = []
        last_error = ""
        for i, link in enumerate(self.links):
            if not link.breaker.allow():
                why.append(f"{link.backend.full_name}: circuit breaker open")
                continue
            jobs_before = link.backend.accounting.jobs
            # the serving backend's own seed at the chain's call count (which checkpoints restore): a chain
            # with no faults draws exactly the shots its primary alone would, and retries repeat the draw
            link_seed = seed if seed is not None or shots is None else link.backend.seed_for_call(self.accounting.calls)
            try:
                results = link.retrier.call(self._deadline(partial(link.backend.run_batch, tasks, shots=shots, seed=link_seed), link))
            except (TransientBackendError, UnavailableBackendError) as e:
                self._count_job(link.backend.accounting.jobs - jobs_before)
                link.breaker.record_failure()
                link.failures.append(type(e).__name__)
                last_error = e.vendor_error or type(e).__name__
                why.append(f"{link.backend.full_name}: {type(e).__name__}: {e}")
                continue
            self._count_job(link.backend.accounting.jobs - jobs_before)
            link.breaker.record_success()
            link.served += 1
            if i != self.active:
                switch = Switch(self.accounting.calls, self.links[self.active].backend.full_name, link.backend.full_name,
                                why[-1] if why else "recovered", last_error if why else "", dict(self.position))
                self.switches.append(switch)
                logger.warning("switched backend from %s to %s at %s: %s", switch.from_backend, switch.to_backend, switch.at or "-", switch.reason)
                warnings.warn(f"switched backend from {switch.from_backend} to {switch.to_backend}: {switch.reason}", FallbackWarning, stacklevel=2)
                self.active = i
            return results
        raise UnavailableBackendError(
            "every backend of the fallback chain failed for this call: " + "; ".join(why)
            + ". Check the backends' status, or add a local simulator to backend.fallback."
        )

    def _deadline(self, call: Callable[[], Any], link: _Link) -> Callable[[], Any]:
        """Bound one attempt by ``call_timeout``: a hung call is abandoned and counts as transient.

        The abandoned call keeps its thread until the backend returns; for a remote backend the job
        may still run and be billed, which is why budgets count submitted jobs, not answered ones.
        The thread is a daemon, so an abandoned call never holds up the process's exit (a
        ``ThreadPoolExecutor`` worker would: the interpreter joins those at exit).
        """
        if self.call_timeout is None:
            return call

        def bounded() -> Any:
            grad = torch.is_grad_enabled()  # grad mode is per thread: carry the caller's into the worker

            def run() -> Any:
                with torch.set_grad_enabled(grad):
                    return call()

            future: concurrent.futures.Future[Any] = concurrent.futures.Future()
            threading.Thread(target=_settle, args=(future, run), name="hqnn-call", daemon=True).start()
            try:
                return future.result(timeout=self.call_timeout)
            except concurrent.futures.TimeoutError:
                raise TransientBackendError(
                    f"{link.backend.full_name} gave no answer within backend.call_timeout={self.call_timeout}s; the call was abandoned"
                ) from None

        return bounded

    def report(self) -> dict[str, Any]:
        """Retries, faults and switches per backend, for the run record.

        ``faults_injected`` counts what fault-injecting backends (``faulty:``) of the chain injected,
        so a chaos run's record shows both sides: faults injected and retries made.
        """
        backends = []
        for link in self.links:
            entry = {
                "name": link.backend.full_name,
                "served_calls": link.served,
                "breaker": link.breaker.state,
                "failed_calls": list(link.failures),
                "retry": link.retrier.stats.as_dict(),
            }
            injected = link.backend.faults_injected
            if injected is not None:
                entry["faults_injected"] = injected
            backends.append(entry)
        return {
            "active": self.links[self.active].backend.full_name,
            "retries": sum(link.retrier.stats.retries for link in self.links),
            "attempts": sum(link.retrier.stats.attempts for link in self.links),
            "faults_injected": sum(b.get("faults_injected", 0) for b in backends),
            "switches": [s.as_dict() for s in self.switches],
            "backends": backends,
        }

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["options"] = self.links[0].backend.describe()["options"]  # the primary's (seed included); each link's in "chain"
        info["chain"] = [link.backend.describe() for link in self.links]
        info["resilience"] = self.report()
        return info
