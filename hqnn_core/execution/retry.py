"""Retry policy for backend calls, built on tenacity with the pitfalls of RELIABILITY.md §2 avoided.

- Allow-list: only :class:`TransientBackendError` is retried, so Ctrl-C, ``SystemExit`` and
  permanent errors are attempted once and propagate unchanged.
- Bounded by attempts *and* by a deadline; the deadline check includes the next sleep.
- Exponential backoff with jitter drawn from a private ``random.Random``, never the global stream,
  so a run with faults draws the same random numbers as a run without them.
- One warning per retry; the original exception (not ``RetryError``) is raised at the end.
- ``sleep`` and ``clock`` are injectable so tests never really sleep.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import tenacity

from hqnn_core.errors import ConfigError, TransientBackendError

logger = logging.getLogger("hqnn.retry")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one backend before giving up on it."""

    max_attempts: int = 5
    deadline: float = 600.0
    initial_wait: float = 1.0
    max_wait: float = 60.0
    jitter: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"retry.max_attempts must be at least 1, got {self.max_attempts}.")
        if self.deadline <= 0 or self.initial_wait < 0 or self.max_wait < 0 or self.jitter < 0:
            raise ConfigError("retry.deadline must be positive and the waits and jitter non-negative.")


@dataclass
class RetryStats:
    """What retrying cost, for run records: attempts made, retries, and the backoff requested."""

    attempts: int = 0
    retries: int = 0
    waited: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for name in self.errors:  # counts per error class: a long chaos run retries thousands of times
            counts[name] = counts.get(name, 0) + 1
        return {"attempts": self.attempts, "retries": self.retries, "waited": self.waited, "errors": counts}


class Retrier:
    """Calls a function under a :class:`RetryPolicy`; one instance per backend keeps its own RNG."""

    def __init__(self, policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, name: str = "backend") -> None:
        self.policy = policy
        self.sleep = sleep
        self.clock = clock
        self.name = name
        self.rng = random.Random(policy.seed)
        self.stats = RetryStats()

    def _wait(self, state: tenacity.RetryCallState) -> float:
        p = self.policy
        backoff = min(p.max_wait, p.initial_wait * 2 ** (state.attempt_number - 1))
        return min(p.max_wait, backoff + self.rng.uniform(0, p.jitter))

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` until it succeeds, raises a non-transient error, or the policy is exhausted."""
        start = self.clock()
        policy = self.policy

        def stop(state: tenacity.RetryCallState) -> bool:
            # tenacity computes the wait first, so the deadline check can include the coming sleep.
            out_of_attempts = state.attempt_number >= policy.max_attempts
            return out_of_attempts or self.clock() - start + state.upcoming_sleep >= policy.deadline

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            assert isinstance(exc, TransientBackendError)  # the only class `retry=` below retries
            self.stats.retries += 1
            self.stats.waited += state.upcoming_sleep
            self.stats.errors.append(exc.vendor_error or type(exc).__name__)
            logger.warning(
                "%s: attempt %d/%d failed with %s; retrying in %.2fs",
                self.name, state.attempt_number, policy.max_attempts, type(exc).__name__, state.upcoming_sleep,
            )

        def attempt() -> T:
            self.stats.attempts += 1
            return fn()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TransientBackendError),
            stop=stop,
            wait=self._wait,
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(attempt)
