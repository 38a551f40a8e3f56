"""The conformance checks, one module per component kind; importing this package registers them all."""

from hqnn_core.testing.checks import ansatz, backend, encoder, general, gradient, mitigator, optimizer  # noqa: F401  (registration)
from hqnn_core.testing.checks.common import (
    REGISTRY,
    Check,
    CheckSkipped,
    ConformanceError,
    ConformanceSettings,
    active_settings,
    use_settings,
)
from hqnn_core.testing.checks.runner import CheckResult, ConformanceWarning, check_component, checks_for, parametrize_with_checks

__all__ = [
    "REGISTRY",
    "Check",
    "CheckResult",
    "CheckSkipped",
    "ConformanceError",
    "ConformanceSettings",
    "ConformanceWarning",
    "active_settings",
    "check_component",
    "checks_for",
    "parametrize_with_checks",
    "use_settings",
]
