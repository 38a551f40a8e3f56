"""Shared machinery of the conformance checks: failures that name the fix, skips, settings, budgets.

A check is a plain function ``check_<property>(component, settings)`` registered with :func:`check`.
It raises :class:`Violation` (through :func:`expect`) when the property does not hold; the
:class:`Check` wrapper turns that into a :class:`ConformanceError` naming the component, the check
and the usual fix. Checks that do not apply raise :class:`CheckSkipped`, a ``unittest.SkipTest``
that pytest reports as a skip, so no pytest import is needed here.
"""

from __future__ import annotations

import contextlib
import os
import unittest
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from hqnn_core.circuit import Observable
from hqnn_core.errors import BudgetExceededError
from hqnn_core.interfaces import Ansatz, Backend, Component, Encoder, GradientEstimator, Mitigator, Optimizer
from hqnn_core.option_text import parse_pairs
from hqnn_core.testing.stats import shot_tolerance

KINDS: tuple[tuple[type, str], ...] = (
    (Backend, "backend"),
    (Encoder, "encoder"),
    (Ansatz, "ansatz"),
    (GradientEstimator, "gradient"),
    (Mitigator, "mitigator"),
    (Optimizer, "optimizer"),
)

#: Analytic tolerances (STYLE.md §3.7): float64 results must match to 1e-6, float32 to 1e-4.
ATOL_FLOAT64 = 1e-6
ATOL_FLOAT32 = 1e-4


class Violation(Exception):
    """Raised inside a check: what is wrong and the usual fix (the wrapper adds who and which check)."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


class ConformanceError(AssertionError):
    """A component broke a property the conformance suite checks; the message names the fix."""

    def __init__(self, component: object, check: str, problem: str, fix: str) -> None:
        self.component, self.check, self.problem, self.fix = component_id(component), check, problem, fix
        super().__init__(f"{self.component} fails {check}: {problem} Fix: {fix}")


class CheckSkipped(unittest.SkipTest):
    """The check does not apply to this component here (pytest reports it as skipped)."""


def expect(condition: object, problem: str, fix: str) -> None:
    """Raise :class:`Violation` unless ``condition`` holds."""
    if not condition:
        raise Violation(problem, fix)


def kind_of(component: object) -> str:
    """``encoder``, ``ansatz``, ``gradient``, ``mitigator``, ``optimizer`` or ``backend`` for a class or an instance."""
    cls = component if isinstance(component, type) else type(component)
    for base, kind in KINDS:
        if isinstance(cls, type) and issubclass(cls, base):
            return kind
    raise TypeError(
        f"{component!r} is not an hqnn component; the conformance suite checks subclasses of Encoder, Ansatz, "
        "GradientEstimator, Mitigator, Optimizer and Backend."
    )


def instantiate(component: Any) -> Component:
    """The instance a check works on: instances pass through, classes are built with default options."""
    if not isinstance(component, type):
        return component
    try:
        return component()
    except Exception as e:  # noqa: BLE001 - any failure to build is reported the same way
        raise TypeError(
            f"cannot build {component.__name__} with default options ({type(e).__name__}: {e}); "
            "pass configured instances to the conformance suite instead of the class."
        ) from e


def component_id(component: object) -> str:
    """``repr`` for instances (with the backend target), the class name for classes."""
    if isinstance(component, type):
        return component.__name__
    text = repr(component)
    target = component.target if isinstance(component, Backend) else None
    if target:
        name = type(component).__name__
        text = f"{name}[{target}]{text[len(name):]}" if text.startswith(name) else f"{text}[{target}]"
    return text


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConformanceSettings:
    """How the suite runs: shots for sampling checks, seeds, and the budget for remote backends.

    Attributes:
        shots: shots per circuit in the shot-based checks (the bound of ``stats.py`` scales with it).
        seed: the fixed seed of every sampling check (there are no reruns).
        allow_remote: run job-submitting checks on backends that declare ``remote=True``.
        remote_shots: the most shots per circuit a check may ask a remote backend for.
        max_remote_jobs: the most vendor jobs the whole run may submit to one remote backend.
        max_remote_shots: the most shots (summed over circuits) the whole run may spend on one remote backend.
        n_qubits: width of the random layers (capped by the backend's ``max_qubits``).
    """

    shots: int = 10_000
    seed: int = 1234
    allow_remote: bool = False
    remote_shots: int = 1_000
    max_remote_jobs: int = 25
    max_remote_shots: int = 100_000
    n_qubits: int = 3

    @classmethod
    def from_env(cls) -> ConformanceSettings:
        """Defaults, overridden by ``HQNN_CONFORMANCE_SHOTS`` and ``HQNN_CONFORMANCE_ALLOW_REMOTE``."""
        s = cls()
        if os.environ.get("HQNN_CONFORMANCE_SHOTS"):
            s = replace(s, shots=int(os.environ["HQNN_CONFORMANCE_SHOTS"]))
        if os.environ.get("HQNN_CONFORMANCE_ALLOW_REMOTE", "").lower() in {"1", "true", "yes", "on"}:
            s = replace(s, allow_remote=True)
        return s

    def shots_for(self, backend: Backend) -> int:
        """Shots a check should ask ``backend`` for: the setting, capped for remote and by ``max_shots``."""
        shots = self.shots
        if backend.capabilities.remote:
            shots = min(shots, self.remote_shots)
        if backend.capabilities.max_shots is not None:
            shots = min(shots, backend.capabilities.max_shots)
        return shots


_ACTIVE: list[ConformanceSettings] = []


def parse_backend_options(pairs: list[str] | tuple[str, ...], where: str = "--hqnn-backend-option") -> dict[str, Any]:
    """``["method=statevector", "seed=5"]`` -> ``{"method": "statevector", "seed": 5}`` (read by :func:`hqnn_core.option_text.parse_pairs`)."""
    return parse_pairs(pairs, where)


def active_settings() -> ConformanceSettings:
    """The settings in force (set by the pytest plugin or :func:`use_settings`), else the defaults."""
    return _ACTIVE[-1] if _ACTIVE else ConformanceSettings.from_env()


@contextlib.contextmanager
def use_settings(settings: ConformanceSettings) -> Iterator[ConformanceSettings]:
    """Make ``settings`` the active ones for the block (the pytest plugin keeps them for the session)."""
    _ACTIVE.append(settings)
    try:
        yield settings
    finally:
        _ACTIVE.remove(settings)


# -- remote safety ----------------------------------------------------------------------------


@dataclass
class _Budget:
    jobs: int = 0
    shots: int = 0


@contextlib.contextmanager
def submission_guard(backend: Backend, settings: ConformanceSettings) -> Iterator[None]:
    """Skip job-submitting checks on remote backends unless allowed, then hold them to a budget.

    The budget is checked before each submission by wrapping the instance's ``_run``, so a check can
    never spend more than ``max_remote_jobs`` jobs and ``max_remote_shots`` shots per backend.
    """
    caps = backend.capabilities
    if not caps.remote:
        yield
        return
    if not settings.allow_remote:
        raise CheckSkipped(
            f"{component_id(backend)} is remote (jobs cost money and queue time); this check submits jobs. "
            "Pass --hqnn-allow-remote (or allow_remote=True in ConformanceSettings) to run it within the budget of "
            f"{settings.max_remote_jobs} jobs and {settings.max_remote_shots} shots."
        )
    budget: _Budget = backend.__dict__.setdefault("_hqnn_conformance_budget", _Budget())
    original = backend._run

    def guarded(tasks: list[Any], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        rows = sum(int(v.shape[0]) for _, v in tasks)
        jobs, spent = backend.jobs_for(rows), rows * (shots or 0)
        if budget.jobs + jobs > settings.max_remote_jobs or budget.shots + spent > settings.max_remote_shots:
            raise BudgetExceededError(
                f"the conformance budget for remote backend {backend.full_name!r} would be crossed "
                f"({budget.jobs}+{jobs} jobs of {settings.max_remote_jobs}, {budget.shots}+{spent} shots of "
                f"{settings.max_remote_shots}); raise max_remote_jobs/max_remote_shots in ConformanceSettings to spend more."
            )
        budget.jobs += jobs
        budget.shots += spent
        return original(tasks, shots, seed)

    backend._run = guarded  # type: ignore[method-assign]
    try:
        yield
    except BudgetExceededError as e:
        raise CheckSkipped(str(e)) from None
    finally:
        del backend._run


# -- registry of checks -----------------------------------------------------------------------

CheckFunction = Callable[[Any, ConformanceSettings], None]


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: its function, the kind it applies to, and when (declared capabilities)."""

    func: CheckFunction
    kind: str
    submits: bool = False
    applies: Callable[[Any], bool] | None = None

    @property
    def name(self) -> str:
        return self.func.__name__


REGISTRY: dict[str, CheckSpec] = {}


def check(kind: str, *, submits: bool = False, applies: Callable[[Any], bool] | None = None) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check for ``kind`` (``all`` for every kind).

    Args:
        kind: the component kind the check applies to.
        submits: it sends jobs to the backend (skipped on remote backends unless allowed).
        applies: a predicate on the instance, read from declared capabilities, that selects the check.
    """

    def register(func: CheckFunction) -> CheckFunction:
        if func.__name__ in REGISTRY:
            raise ValueError(f"conformance check {func.__name__!r} is defined twice")
        REGISTRY[func.__name__] = CheckSpec(func, kind, submits, applies)
        return func

    return register


@dataclass(frozen=True)
class Check:
    """One check bound to (optional) settings; call it with the component: ``check(component)``."""

    spec: CheckSpec
    settings: ConformanceSettings | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def __name__(self) -> str:  # pytest and tracebacks read it
        return self.spec.name

    def __repr__(self) -> str:
        return self.spec.name

    def __call__(self, component: Any) -> None:
        settings = self.settings or active_settings()
        instance = instantiate(component)
        try:
            if self.spec.submits and isinstance(instance, Backend):
                with submission_guard(instance, settings):
                    self.spec.func(instance, settings)
            else:
                self.spec.func(instance, settings)
        except Violation as v:
            raise ConformanceError(component, self.name, v.problem, v.fix) from None


# -- small numeric helpers shared by several checks -------------------------------------------


def analytic_atol(values: torch.Tensor) -> float:
    """1e-6 for float64 results, 1e-4 for anything less precise."""
    return ATOL_FLOAT64 if values.dtype == torch.float64 else ATOL_FLOAT32


def max_error(actual: torch.Tensor, expected: torch.Tensor) -> tuple[float, tuple[int, ...]]:
    """Largest absolute difference and where it is (compared in float64)."""
    diff = (actual.detach().to(torch.float64) - expected.detach().to(torch.float64)).abs()
    if diff.numel() == 0:
        return 0.0, ()
    flat = int(torch.argmax(diff.nan_to_num(nan=float("inf"))))
    index = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), diff.shape))
    return float(diff.reshape(-1)[flat]), index


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@dataclass(frozen=True)
class Tolerance:
    """How close a result must be: ``atol`` 1e-6 (float64) or 1e-4 (float32) exact, the k=5 shot bound otherwise.

    The pytest plugin's ``tol`` fixture is one of these, with ``shots`` from ``--hqnn-shots``.

    Example:
        >>> tol = Tolerance(shots=None)
        >>> tol.assert_close(torch.tensor([[1.0]], dtype=torch.float64), torch.tensor([[1.0 + 1e-9]], dtype=torch.float64), ["Z0"])
    """

    shots: int | None = None

    def bound(self, actual: torch.Tensor, exact: torch.Tensor, observables: Any) -> torch.Tensor:
        """Allowed ``|actual - exact|`` per entry of an ``[N, K]`` array."""
        exact = torch.as_tensor(exact, dtype=torch.float64)
        if self.shots is None:
            return torch.full_like(exact, analytic_atol(actual))
        obs = [o if isinstance(o, Observable) else Observable.parse(o) for o in observables]
        return shot_tolerance(exact, obs, self.shots)

    def assert_close(self, actual: torch.Tensor, exact: torch.Tensor, observables: Any, what: str = "expectations") -> None:
        """Raise ``AssertionError`` naming the worst entry when ``actual`` is outside the bound."""
        exact = torch.as_tensor(exact, dtype=torch.float64)
        if tuple(actual.shape) != tuple(exact.shape):
            raise AssertionError(f"{what}: shape {tuple(actual.shape)}, expected {tuple(exact.shape)}")
        excess = (actual.detach().to(torch.float64) - exact).abs() - self.bound(actual, exact, observables)
        if bool((excess > 0).any()):
            where = tuple(int(i) for i in torch.unravel_index(torch.argmax(excess), excess.shape))
            mode = "exact" if self.shots is None else f"{self.shots} shots, k=5 standard errors"
            raise AssertionError(f"{what}: {float(actual[where]):.7f} at {where}, expected {float(exact[where]):.7f} ({mode})")
