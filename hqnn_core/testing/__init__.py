"""The conformance suite: prove that a backend or component behaves like a citizen of hqnn.

Three ways to run it (STYLE.md §3.7):

1. ``@parametrize_with_checks([MyBackend()])`` on a test ``def test_conformance(component, check): check(component)``;
2. ``hqnn conformance --backend NAME [--shots N] [--backend-option k=v] [-- pytest args]``;
3. ``check_component(MyBackend())`` in a notebook.

The oracle is ``golden.py`` (closed forms), the shot bound is ``stats.py``; the embedded torch
backend is checked against the golden cases before it serves as the cross-backend reference.
Importing this package does not import pytest.
"""

from hqnn_core.plugin_manager import temporary_plugin
from hqnn_core.testing.checks import (
    REGISTRY,
    Check,
    CheckResult,
    CheckSkipped,
    ConformanceError,
    ConformanceSettings,
    ConformanceWarning,
    active_settings,
    check_component,
    checks_for,
    parametrize_with_checks,
    use_settings,
)
from hqnn_core.testing.checks.common import Tolerance

__all__ = [
    "REGISTRY",
    "Check",
    "CheckResult",
    "CheckSkipped",
    "ConformanceError",
    "ConformanceSettings",
    "ConformanceWarning",
    "Tolerance",
    "active_settings",
    "check_component",
    "checks_for",
    "parametrize_with_checks",
    "temporary_plugin",
    "use_settings",
]
