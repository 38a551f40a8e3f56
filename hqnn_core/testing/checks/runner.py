"""Selecting and running checks: ``checks_for``, ``check_component`` and ``parametrize_with_checks``.

Modelled on scikit-learn's ``check_estimator``/``parametrize_with_checks``: checks are chosen by
kind and declared capabilities, expected failures are explicit (and strict), and pytest is only
imported when the decorator is used.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hqnn_core.errors import HQNNWarning
from hqnn_core.testing.checks.common import (
    REGISTRY,
    Check,
    CheckSkipped,
    ConformanceError,
    ConformanceSettings,
    component_id,
    instantiate,
    kind_of,
)

ExpectedFailures = Mapping[str, str] | Callable[[Any], Mapping[str, str] | None] | None


class ConformanceWarning(HQNNWarning):
    """A conformance check failed and ``on_fail="warn"`` was asked for."""


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``passed``, ``failed``, ``skipped``, ``xfailed`` or ``xpassed`` (a strict failure)."""

    component: str
    check: str
    status: str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped", "xfailed")


def checks_for(component: Any, *, settings: ConformanceSettings | None = None) -> Iterator[tuple[Any, Check]]:
    """Yield ``(component, check)`` for every check that applies, chosen by kind and declared capabilities.

    Components may be classes (built with default options) or instances; backends should be
    instances, configured as they will be used.
    """
    kind = kind_of(component)
    instance = instantiate(component)
    ordered = [s for s in REGISTRY.values() if s.kind == "all"] + [s for s in REGISTRY.values() if s.kind == kind]
    for spec in ordered:
        if spec.applies is not None and not spec.applies(instance):
            continue
        yield component, Check(spec, settings)


def _expected(component: Any, expected_failed_checks: ExpectedFailures) -> dict[str, str]:
    if expected_failed_checks is None:
        return {}
    table = expected_failed_checks(component) if callable(expected_failed_checks) else expected_failed_checks
    table = dict(table or {})
    unknown = sorted(set(table) - set(REGISTRY))
    if unknown:
        raise ValueError(f"expected_failed_checks names unknown checks {unknown}; known checks: {sorted(REGISTRY)}.")
    return table


def check_component(component: Any, *, expected_failed_checks: ExpectedFailures = None,
                    on_fail: Literal["raise", "warn"] | None = "raise", settings: ConformanceSettings | None = None) -> list[CheckResult]:
    """Run every check that applies to ``component`` and report each outcome.

    Args:
        component: an encoder, ansatz, gradient, mitigator or backend (class or instance).
        expected_failed_checks: ``{check_name: reason}`` (or a callable returning it) of checks known
            to fail; they are reported ``xfailed``, and a pass is a strict ``xpassed`` failure.
        on_fail: ``"raise"`` raises one :class:`ConformanceError` listing every failure after all
            checks ran; ``"warn"`` emits a :class:`ConformanceWarning` per failure; ``None`` only returns.
        settings: shots, seeds and the remote budget (default: the active settings).

    Returns:
        One :class:`CheckResult` per check, in order.
    """
    if on_fail not in ("raise", "warn", None):
        raise ValueError(f"on_fail must be 'raise', 'warn' or None, got {on_fail!r}.")
    expected = _expected(component, expected_failed_checks)
    who = component_id(component)
    results = []
    for _, check in checks_for(component, settings=settings):
        reason = expected.get(check.name)
        try:
            check(component)
        except CheckSkipped as e:
            results.append(CheckResult(who, check.name, "skipped", str(e)))
        except Exception as e:  # noqa: BLE001 - every failure is reported, including crashes inside the component
            message = str(e) if isinstance(e, ConformanceError) else f"{who} fails {check.name}: {type(e).__name__}: {e}"
            results.append(CheckResult(who, check.name, "xfailed" if reason else "failed", message))
        else:
            status = "xpassed" if reason else "passed"
            message = f"{who} passes {check.name}, which is listed as an expected failure ({reason}); remove it from the list." if reason else ""
            results.append(CheckResult(who, check.name, status, message))
    failures = [r for r in results if not r.ok]
    if failures and on_fail == "raise":
        raise ConformanceError(component, ", ".join(r.check for r in failures),
                               f"{len(failures)} of {len(results)} checks failed:\n" + "\n".join(f"- {r.message}" for r in failures),
                               "see each message above.")
    if on_fail == "warn":
        for r in failures:
            warnings.warn(r.message, ConformanceWarning, stacklevel=2)
    return results


def parametrize_with_checks(components: Iterable[Any], *, expected_failed_checks: ExpectedFailures = None,
                            settings: ConformanceSettings | None = None) -> Any:
    """A pytest decorator: one test per (component, check), with ids ``repr(component)-check_name``.

    The decorated test takes ``component`` and ``check`` and calls ``check(component)``. Checks in
    ``expected_failed_checks`` (a dict, or a callable of the component returning one) are marked
    ``xfail(strict=True)`` with the reason given.

    Example:
        >>> @parametrize_with_checks([AerBackend()], expected_failed_checks={"check_backend_seed_reproducible": "why"})
        ... def test_conformance(component, check):
        ...     check(component)
    """
    import pytest

    params = []
    for component in components:
        expected = _expected(component, expected_failed_checks)
        for comp, check in checks_for(component, settings=settings):
            marks = [pytest.mark.xfail(strict=True, reason=expected[check.name])] if check.name in expected else []
            params.append(pytest.param(comp, check, id=f"{component_id(comp)}-{check.name}", marks=marks))
    return pytest.mark.parametrize("component, check", params)
