"""The test module ``hqnn conformance`` hands to pytest: every applicable check against ``--hqnn-backend``.

Run it directly with ``pytest -p hqnn_core.testing.pytest_plugin --pyargs hqnn_core.testing.conformance_suite
--hqnn-backend NAME``; the test ids are the check names, so ``-k golden`` selects checks.
"""

from __future__ import annotations

from typing import Any

from hqnn_core.testing.checks import checks_for
from hqnn_core.testing.pytest_plugin import selected_backend


def pytest_generate_tests(metafunc: Any) -> None:
    if "conformance_check" in metafunc.fixturenames:
        checks = [c for _, c in checks_for(selected_backend(metafunc.config))]
        metafunc.parametrize("conformance_check", checks, ids=[c.name for c in checks])


def test_conformance(backend: Any, conformance_check: Any) -> None:
    conformance_check(backend)
