"""``hqnn conformance``: run the conformance suite against a named backend (PennyLane's ``pl-device-test``) or optimiser.

:mod:`hqnn_core.cli` loads :data:`conformance` when the command is named or listed; this module
imports only click, so ``hqnn --help`` stays fast. The suite runs under pytest (the ``testing``
extra): without it the command stops with one line naming the extra. It builds the backend first,
so a missing vendor extra aborts with the ``MissingExtraError`` message before pytest starts, then
runs pytest on :mod:`hqnn_core.testing.conformance_suite` with the opt-in plugin. Extra pytest arguments
follow ``--``, e.g. ``hqnn conformance --backend qiskit.aer -- -k golden -x``. ``--optimizer NAME``
checks a registered optimiser (default options) instead, e.g. a plugin's ``example.rotosolve``.

Exit codes: 0 every check passed (or was skipped), 1 a check failed, 3 the backend (or optimiser)
could not be built, other values as pytest defines them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from hqnn_core._optional import install_hint, missing_modules
from hqnn_core.errors import MissingExtraError

BUILD_FAILED = 3
SUITE = Path(__file__).with_name("testing") / "conformance_suite.py"


class _BackendUnavailable(click.ClickException):
    exit_code = BUILD_FAILED


@click.command("conformance", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--backend", "backend_name", default=None, metavar="NAME", help="Backend to check, e.g. torch, qiskit.aer, pennylane:default.qubit.")
@click.option("--optimizer", "optimizer_name", default=None, metavar="NAME", help="Optimiser to check instead, e.g. adam, example.rotosolve.")
@click.option("--shots", type=click.IntRange(min=1), default=None, help="Shots per circuit in the shot-based checks (default 10000).")
@click.option("--backend-option", "backend_options", multiple=True, metavar="KEY=VALUE",
              help="Backend option, repeatable; values are read as YAML (method=statevector, seed=5).")
@click.option("--allow-remote", is_flag=True, help="Let checks submit jobs to a remote backend, within a small budget (costs money).")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def conformance(backend_name: str | None, optimizer_name: str | None, shots: int | None, backend_options: tuple[str, ...], allow_remote: bool,
                pytest_args: tuple[str, ...]) -> None:
    """Run every conformance check that applies to a backend or an optimiser (needs pytest); arguments after -- go to pytest."""
    if (backend_name is None) == (optimizer_name is None):
        raise click.UsageError("name what to check: --backend NAME or --optimizer NAME (one of them).")
    if missing_modules(["pytest"]):
        raise MissingExtraError(f"hqnn conformance runs its checks with pytest, which is not installed; install it with: {install_hint('testing')}")
    import pytest

    from hqnn_core.testing import pytest_plugin

    args = _optimizer_args(optimizer_name) if optimizer_name is not None else _backend_args(backend_name or "", backend_options, allow_remote)
    if shots is not None:
        args += ["--hqnn-shots", str(shots)]
    with tempfile.TemporaryDirectory() as tmp:  # an empty ini: the caller's pytest settings must not change the suite
        ini = Path(tmp) / "pytest.ini"
        ini.write_text("[pytest]\n")
        args += ["-c", str(ini), "--rootdir", str(SUITE.parent)]
        code = pytest.main([*args, *pytest_args], plugins=[pytest_plugin])  # the module object: no re-import
    # SystemExit, not ctx.exit: `hqnn` runs click with standalone_mode=False, which would swallow the code.
    raise SystemExit(int(code))


def _optimizer_args(name: str) -> list[str]:
    """Build the optimiser first (an unknown name stops here with exit code 3), then the suite's arguments."""
    from hqnn_core.components import get_optimizer
    from hqnn_core.errors import HQNNError

    try:
        optimizer = get_optimizer(name)
    except HQNNError as e:
        raise _BackendUnavailable(str(e)) from None
    click.echo(f"hqnn conformance: optimizer {optimizer.name} ({type(optimizer).__module__}.{type(optimizer).__qualname__}); "
               f"stepping={optimizer.stepping}")
    return [str(SUITE), "-p", "no:cacheprovider", "--hqnn-optimizer", name, "-rfEsxX"]


def _backend_args(backend_name: str, backend_options: tuple[str, ...], allow_remote: bool) -> list[str]:
    """Build the backend first (a missing extra stops here with exit code 3), then the suite's arguments."""
    from hqnn_core.components import get_backend
    from hqnn_core.errors import HQNNError
    from hqnn_core.testing.checks.common import parse_backend_options

    try:
        options = parse_backend_options(backend_options, "--backend-option")
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--backend-option") from None
    try:
        backend = get_backend(backend_name, **options)
    except HQNNError as e:
        raise _BackendUnavailable(str(e)) from None
    caps = backend.capabilities
    click.echo(f"hqnn conformance: {backend.full_name} ({type(backend).__module__}.{type(backend).__qualname__}); "
               f"analytic={caps.analytic} shots={caps.shots} backprop={caps.backprop} noise={caps.noise} remote={caps.remote}")
    if caps.remote and not allow_remote:
        click.echo("remote backend: checks that submit jobs will be skipped (pass --allow-remote to run them within the budget).")

    args = [str(SUITE), "-p", "no:cacheprovider",
            "--hqnn-backend", backend_name, "-rfEsxX"]
    for pair in backend_options:
        args += ["--hqnn-backend-option", pair]
    if allow_remote:
        args.append("--hqnn-allow-remote")
    return args
