"""A run's resilience: the profile's backend stack, what its fallback chain did (run record, progress bar) and ``run.log``.

``backend.fallback``, ``backend.retry`` and ``backend.call_timeout_s`` make the run's backend a
:class:`~hqnn_core.execution.fallback.FallbackBackend`, built once by :func:`build_backend` from the
run spec before the layer, so the layer, the record and the estimate all see the chain, and the
budget guard wraps every member (a budget error is raised before the submission, so it can never
fall back). While training,
:class:`RunResilience` tells the chain where the run is (phase, epoch, step), so every switch event
in ``run.json`` says when it happened, and keeps the counts across resumed sessions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hqnn_core.components import get_backend
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.retry import RetryPolicy
from hqnn_core.interfaces import Backend
from hqnn_core.redaction import HTTP_LOGGERS, RedactingFilter, redact
from hqnn_core.training.budget import BudgetGuard
from hqnn_core.training.paths import confined
from hqnn_core.training.spec import RetrySettings, RunSpec

RUN_LOG = "run.log"
_TOTALS = ("retries", "attempts", "faults_injected")


def retry_policy(retry: RetrySettings) -> RetryPolicy:
    """The :class:`RetryPolicy` of a resolved ``backend.retry``."""
    return RetryPolicy(max_attempts=retry.attempts, deadline=retry.deadline_s, initial_wait=retry.backoff_s,
                       max_wait=retry.max_backoff_s, jitter=retry.jitter_s, seed=retry.seed)


def build_backend(spec: RunSpec, guard: BudgetGuard | None = None) -> Backend:
    """The run's backend stack, built once from ``spec``: fallback over the members, retry per member, budget meter, vendor.

    Each member is built with the options (shot seed included) the spec resolved for it. With a
    ``guard`` every vendor backend is wrapped by it (:meth:`BudgetGuard.wrap`), so each attempt, a
    retry or a fallback member's call, is checked against the limits before it is sent. Without a
    chain in the spec the primary runs alone, except that a remote one gets the default retry chain
    of one (as :class:`~hqnn_core.layer.QuantumLayer` gives it). Nothing runs here.
    """
    members = [get_backend(member.spec()) for member in spec.backends]
    if guard is not None:
        members = [guard.wrap(member) for member in members]
    if spec.chain is None:
        return FallbackBackend(members, RetryPolicy()) if members[0].capabilities.remote else members[0]
    c = spec.chain
    return FallbackBackend(members, retry_policy(c.retry), breaker_reset_after=c.breaker_reset_s, call_timeout=c.call_timeout_s,
                           allow_cost_escalation=c.allow_cost_escalation)


class RunResilience:
    """What the chain did during a run, counted over every session of it (``run.json``'s ``resilience``)."""

    def __init__(self, backend: Backend, previous: Mapping[str, Any] | None = None, display: Any = None) -> None:
        self.backend = backend
        self.chain = backend if isinstance(backend, FallbackBackend) else None
        self.previous = dict(previous or {})
        self.display = display

    @property
    def active(self) -> str:
        """The backend that served the last call (the one shown in the progress bar)."""
        if self.chain is None:
            return self.backend.full_name
        return self.chain.links[self.chain.active].backend.full_name

    def at(self, phase: str, epoch: int, step: int) -> None:
        """Note where the run is, for switch events and the progress bar."""
        if self.chain is not None:
            self.chain.at({"phase": phase, "epoch": epoch, "step": step})
        if self.display is not None:
            self.display.serving(self.active)

    def report(self) -> dict[str, Any]:
        """Retries, faults injected and switches (earlier sessions included) and this session's chain."""
        now = self.chain.report() if self.chain is not None else {}
        out: dict[str, Any] = {
            "chain": [link.backend.full_name for link in self.chain.links] if self.chain is not None else [self.backend.full_name],
            "active": self.active,
        }
        for key in _TOTALS:
            out[key] = int(self.previous.get(key, 0)) + int(now.get(key, 0))
        out["switches"] = list(self.previous.get("switches", [])) + list(now.get("switches", []))
        out["switch_count"] = len(out["switches"])
        out["backends"] = now.get("backends", [])
        return redact(out)  # switch reasons quote vendor error text


class _QuietHttp(logging.Filter):
    """Drops DEBUG records of the HTTP loggers (they carry request headers) unless HQNN_UNSAFE_DEBUG_HTTP=1."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO or os.environ.get("HQNN_UNSAFE_DEBUG_HTTP") == "1":
            return True
        return not any(record.name == n or record.name.startswith(n + ".") for n in HTTP_LOGGERS)


def start_run_log(run_dir: Path, level: int = logging.INFO) -> tuple[logging.Handler, int]:
    """Log hqnn (and anything at ``level`` or above) to ``run_dir/run.log``, through the redaction filter."""
    handler = logging.FileHandler(confined(run_dir, RUN_LOG), encoding="utf-8")  # appends: a run.log symlink must not lead out
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_QuietHttp())
    handler.addFilter(RedactingFilter())
    logging.getLogger().addHandler(handler)
    hqnn = logging.getLogger("hqnn")
    old = hqnn.level
    if hqnn.getEffectiveLevel() > level:
        hqnn.setLevel(level)
    return handler, old


def stop_run_log(started: tuple[logging.Handler, int]) -> None:
    handler, old = started
    logging.getLogger().removeHandler(handler)
    logging.getLogger("hqnn").setLevel(old)
    handler.close()
