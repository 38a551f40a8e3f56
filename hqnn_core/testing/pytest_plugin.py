"""Opt-in pytest plugin for backend tests: ``pytest_plugins = ["hqnn_core.testing.pytest_plugin"]``.

It is not auto-loaded (no ``pytest11`` entry point), so torch is not imported into unrelated test
sessions. It provides:

- options ``--hqnn-backend NAME``, ``--hqnn-shots N``, ``--hqnn-backend-option KEY=VALUE`` (repeatable)
  and ``--hqnn-allow-remote``;
- fixtures ``backend`` (the selected backend, built once per session), ``reference_backend`` (the
  embedded torch backend, verified against ``golden.py``) and ``tol`` (a :class:`Tolerance`);
- the marker ``requires_capability("noise")``, which skips a test whose backend does not declare it.

A backend that cannot be built (a missing extra, an unknown name) stops the run with the message
naming the fix, as PennyLane's device tests do.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from hqnn_core.components import get_backend
from hqnn_core.errors import HQNNError
from hqnn_core.interfaces import Backend
from hqnn_core.testing.checks.common import _ACTIVE, ConformanceSettings, Tolerance, parse_backend_options
from hqnn_core.testing.checks.reference import reference_backend as build_reference_backend

_BACKEND_KEY = pytest.StashKey[Backend]()
_SETTINGS_KEY = pytest.StashKey[ConformanceSettings]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hqnn", "hqnn conformance")
    group.addoption("--hqnn-backend", default="torch", metavar="NAME", help="backend to test, e.g. qiskit.aer (default: torch)")
    group.addoption("--hqnn-shots", type=int, default=None, metavar="N",
                    help="shots for shot-based checks and the `tol` fixture (default: exact for `tol`, 10000 for checks)")
    group.addoption("--hqnn-backend-option", action="append", default=[], metavar="KEY=VALUE",
                    help="backend option, repeatable; values are read as YAML (5, true, statevector)")
    group.addoption("--hqnn-allow-remote", action="store_true", default=False,
                    help="let checks submit (budgeted) jobs to remote backends; they cost money")


def _backend_options(config: pytest.Config) -> dict[str, Any]:
    try:
        return parse_backend_options(config.getoption("--hqnn-backend-option"))
    except ValueError as e:
        raise pytest.UsageError(str(e)) from None


def settings_from_config(config: pytest.Config) -> ConformanceSettings:
    settings = ConformanceSettings.from_env()
    shots = config.getoption("--hqnn-shots")
    if shots is not None:
        if shots < 1:
            raise pytest.UsageError(f"--hqnn-shots must be a positive integer, got {shots}")
        settings = replace(settings, shots=shots)
    if config.getoption("--hqnn-allow-remote"):
        settings = replace(settings, allow_remote=True)
    return settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires_capability(name): skip unless the backend under test declares capability `name`")
    settings = settings_from_config(config)
    config.stash[_SETTINGS_KEY] = settings
    _ACTIVE.append(settings)


def pytest_unconfigure(config: pytest.Config) -> None:
    settings = config.stash.get(_SETTINGS_KEY, None)
    if settings is not None and settings in _ACTIVE:
        _ACTIVE.remove(settings)


def selected_backend(config: pytest.Config) -> Backend:
    """The backend named by ``--hqnn-backend`` (built once; the run stops if it cannot be built)."""
    if _BACKEND_KEY not in config.stash:
        name = config.getoption("--hqnn-backend")
        options = _backend_options(config)
        try:
            config.stash[_BACKEND_KEY] = get_backend(name, **options)
        except HQNNError as e:
            pytest.exit(f"hqnn: cannot build backend {name!r}: {e}", returncode=pytest.ExitCode.USAGE_ERROR)
    return config.stash[_BACKEND_KEY]


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> Backend:
    """The backend under test (``--hqnn-backend``, ``--hqnn-backend-option``)."""
    return selected_backend(pytestconfig)


@pytest.fixture(scope="session")
def reference_backend() -> Backend:
    """The embedded torch backend (complex128), checked against the golden circuits first."""
    return build_reference_backend()


@pytest.fixture
def tol(pytestconfig: pytest.Config) -> Tolerance:
    """Tolerances for comparisons: 1e-6/1e-4 exact, or the k=5 shot bound with ``--hqnn-shots``."""
    return Tolerance(shots=pytestconfig.getoption("--hqnn-shots"))


@pytest.fixture(autouse=True)
def _hqnn_requires_capability(request: pytest.FixtureRequest) -> None:
    markers = list(request.node.iter_markers("requires_capability"))
    if not markers:
        return
    used = request.getfixturevalue("backend")
    for marker in markers:
        for capability in marker.args:
            if not hasattr(used.capabilities, capability):
                raise pytest.UsageError(f"requires_capability({capability!r}): no such capability; see BackendCapabilities")
            if not getattr(used.capabilities, capability):
                pytest.skip(f"backend {used.full_name!r} does not declare capability {capability!r}")
