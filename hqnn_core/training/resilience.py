"""A run's resilience: the profile's fallback chain, what it did (run record, progress bar) and ``run.log``.

``backend.fallback``, ``backend.retry`` and ``backend.call_timeout_s`` turn the layer's backend
into a :class:`~hqnn_core.execution.fallback.FallbackBackend` before the run record and the budget
guard are set up, so the record describes the chain and the guard checks every submission of it
(a budget error is raised before the chain is entered, so it can never fall back). While training,
:class:`RunResilience` tells the chain where the run is (phase, epoch, step), so every switch event
in ``run.json`` says when it happened, and keeps the counts across resumed sessions.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hqnn_core.errors import CapabilityError, ConfigError
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.retry import RetryPolicy
from hqnn_core.redaction import HTTP_LOGGERS, RedactingFilter, redact
from hqnn_core.training.paths import confined

if TYPE_CHECKING:
    from hqnn_core.config import BackendConfig, LoadedProfile, RetryConfig
    from hqnn_core.interfaces import Backend
    from hqnn_core.training.prepare import PreparedModel

RUN_LOG = "run.log"
_TOTALS = ("retries", "attempts", "faults_injected")


def wants_chain(b: BackendConfig) -> bool:
    """Whether the profile asks for a fallback chain, a retry policy or a per-call deadline."""
    return bool(b.fallback) or "retry" in b.model_fields_set or b.call_timeout_s is not None


def retry_policy(retry: RetryConfig, seed: int = 0) -> RetryPolicy:
    """The :class:`RetryPolicy` for a profile's ``backend.retry``."""
    return RetryPolicy(max_attempts=retry.attempts, deadline=retry.deadline_s, initial_wait=retry.backoff_s,
                       max_wait=retry.max_backoff_s, jitter=retry.jitter_s, seed=seed)


def build_chain(loaded: LoadedProfile, primary: Backend, seeds: dict[str, int], injected: dict[str, int]) -> FallbackBackend:
    """``primary`` and the profile's ``backend.fallback`` in one chain with its retry policy (nothing runs here).

    Fallback backends with a ``seed`` option get the run's derived shot seed unless the profile
    sets one; each injected seed is recorded in ``injected`` under its profile key.
    """
    from hqnn_core.components import get_backend
    from hqnn_core.plugin_manager import get_plugins
    from hqnn_core.training.prepare import derive_seed

    b = loaded.profile.backend
    if isinstance(primary, FallbackBackend):  # remote backends come wrapped in a default chain of one
        primary = primary.links[0].backend
    backends = [primary]
    for i, ref in enumerate(b.fallback):
        spec = ref.spec()
        if "seed" in get_plugins().backends.get(ref.name).Options.model_fields and spec["options"].get("seed") is None:
            spec["options"]["seed"] = seeds["shots"]
            injected[f"backend.fallback[{i}].options.seed"] = seeds["shots"]
        backends.append(get_backend(spec))
    return FallbackBackend(
        backends, retry_policy(b.retry, derive_seed(loaded.profile.train.seed, "retry") % 2**31),
        breaker_reset_after=b.breaker_reset_s, call_timeout=b.call_timeout_s, allow_cost_escalation=b.allow_cost_escalation,
    )


def install_chain(prepared: PreparedModel) -> None:
    """Wrap the prepared layer's backend in the profile's fallback chain (:func:`build_chain`; nothing runs here).

    Gradient ``best`` is chosen again for the chain, and a named gradient must support every backend of it.
    """
    loaded = prepared.loaded
    b, src = loaded.profile.backend, loaded.source
    if not wants_chain(b):
        return
    layer = prepared.layer
    try:
        chain = build_chain(loaded, layer.backend, prepared.seeds, prepared.injected_seeds)
        chain.validate(layer.circuit, layer.shots)
    except (ConfigError, CapabilityError) as e:
        raise ConfigError(f"{src}: backend.fallback: {e}") from None
    layer.backend = chain
    gradient = loaded.profile.model.quantum.gradient
    if gradient.name == "best":
        layer.gradient = layer._choose_gradient("best")
    elif not layer.gradient.supports(chain, layer.circuit, layer.shots):
        raise ConfigError(
            f"{src}: model.quantum.gradient: {layer.gradient.unsupported_reason(chain, layer.circuit, layer.shots)} "
            "(a call may run on any backend of backend.fallback); use gradient 'best' or 'parameter_shift'."
        )
    layer.executor.backend, layer.executor.gradient = chain, layer.gradient
    chain.configure_gradient(layer.gradient.name)


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
            self.chain.position = {"phase": phase, "epoch": epoch, "step": step}
        if self.display is not None:
            self.display.backend = self.active

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
