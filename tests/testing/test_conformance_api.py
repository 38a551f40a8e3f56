"""The public API of the conformance suite: selection by capabilities, expected failures, remote safety,
the opt-in pytest plugin and the ``hqnn conformance`` command."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

import hqnn_core
from hqnn_core import BackendCapabilities, MitigationBatch, Mitigator, hookimpl
from hqnn_core.circuit import Circuit
from hqnn_core.errors import PermanentBackendError, TransientBackendError
from hqnn_core.testing import (
    CheckSkipped,
    ConformanceError,
    ConformanceSettings,
    ConformanceWarning,
    Tolerance,
    check_component,
    checks_for,
    parametrize_with_checks,
)
from hqnn_plugins.encoders import AngleEncoder
from hqnn_plugins.torch_backend import TorchBackend

pytest_plugins = ["pytester"]

SETTINGS = ConformanceSettings(shots=2000)


class Simulator(TorchBackend):
    """The torch simulator behind a vendor-like contract: float64 results without autograd."""

    name = "fake.sim"
    capabilities = BackendCapabilities(max_qubits=8, backprop=False)

    def _run(self, tasks, shots, seed):
        return [r.detach().to(torch.float64) for r in super()._run(tasks, shots, seed)]


def _backend(**caps) -> Simulator:
    cls = type("Declared", (Simulator,), {"__doc__": "A simulator with other declared capabilities.",
                                          "capabilities": BackendCapabilities(**{"max_qubits": 8, "backprop": False, **caps})})
    return cls()


def _names(component) -> set[str]:
    return {check.name for _, check in checks_for(component)}


# -- selection ---------------------------------------------------------------------------------


def test_importing_the_suite_does_not_import_pytest():
    code = "import sys, hqnn_core.testing; assert 'pytest' not in sys.modules, 'pytest imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_checks_follow_the_declared_capabilities():
    value_checks = {"check_backend_golden_analytic", "check_backend_matches_reference", "check_backend_state_dict_portability"}
    analytic_only = _names(_backend(shots=False))
    assert value_checks <= analytic_only
    assert not {"check_backend_golden_shots", "check_backend_seed_reproducible"} & analytic_only
    shots_only = _names(_backend(analytic=False))
    assert {"check_backend_golden_shots", "check_backend_seed_reproducible"} <= shots_only
    assert not {"check_backend_golden_analytic", "check_backend_backprop_claim_truthful"} & shots_only
    noisy = _names(_backend(noise=True))
    assert not value_checks & noisy and "check_backend_golden_shots" not in noisy
    assert "check_backend_seed_reproducible" not in _names(_backend(deterministic_shots=False))
    assert "check_backend_error_mapping" not in _names(Simulator())  # only for backends that expose a mapping table
    assert {n for n in _names(AngleEncoder()) if not n.startswith("check_encoder")} == {
        "check_has_name_and_docstring", "check_options_model_roundtrip", "check_registered_name_matches"}


def test_classes_are_checked_with_default_options():
    pairs = list(checks_for(AngleEncoder))
    assert all(component is AngleEncoder for component, _ in pairs)
    results = check_component(AngleEncoder, settings=SETTINGS)
    assert {r.status for r in results} == {"passed"} and results[0].component == "AngleEncoder"


def test_a_shots_only_backend_passes_with_its_sampling_checks():
    results = check_component(_backend(analytic=False), on_fail=None, settings=SETTINGS)
    statuses = {r.check: r.status for r in results}
    assert statuses["check_backend_golden_shots"] == "passed"
    assert statuses["check_backend_in_quantum_layer"] == "passed"
    assert [r.message for r in results if r.status == "failed"] == []


# -- expected failures, reporting --------------------------------------------------------------


class Squeezes(Simulator):
    """Squeezes a batch of one."""

    def _run(self, tasks, shots, seed):
        return [r.squeeze(0) for r in super()._run(tasks, shots, seed)]


def test_expected_failures_are_strict():
    known = {"check_backend_expectations_shape": "squeezes N=1 (tracked upstream)"}
    results = {r.check: r for r in check_component(Squeezes(), expected_failed_checks=known, settings=SETTINGS)}
    assert results["check_backend_expectations_shape"].status == "xfailed"
    passing = {"check_backend_describe_provenance": "wrongly listed"}
    with pytest.raises(ConformanceError, match="passes check_backend_describe_provenance, which is listed as an expected failure"):
        check_component(Simulator(), expected_failed_checks=passing, settings=SETTINGS)
    with pytest.raises(ValueError, match="unknown checks \\['check_backend_batch_shape'\\]"):
        check_component(Simulator(), expected_failed_checks={"check_backend_batch_shape": "typo"})


def test_on_fail_raise_lists_every_failure_and_warn_warns():
    with pytest.raises(ConformanceError) as info:
        check_component(Squeezes(), settings=SETTINGS)
    text = str(info.value)
    assert re.search(r"1 of \d+ checks failed", text) and "fails check_backend_expectations_shape: " in text and "squeezed" in text
    with pytest.warns(ConformanceWarning, match="batch of 1 was squeezed"):
        results = check_component(Squeezes(), on_fail="warn", settings=SETTINGS)
    assert [r.check for r in results if r.status == "failed"] == ["check_backend_expectations_shape"]


def test_parametrize_with_checks_ids_and_strict_xfail_marks():
    component = Squeezes()
    decorator = parametrize_with_checks([component], expected_failed_checks={"check_backend_expectations_shape": "known"})
    argnames, params = decorator.mark.args
    assert argnames == "component, check"
    ids = [p.id for p in params]
    assert f"{component!r}-check_backend_expectations_shape" in ids
    assert len(ids) == len(set(ids)) == len(list(checks_for(component)))
    marked = {p.id.split("-")[-1]: p.marks for p in params if p.marks}
    assert list(marked) == ["check_backend_expectations_shape"]
    (mark,) = marked["check_backend_expectations_shape"]
    assert mark.name == "xfail" and mark.kwargs == {"strict": True, "reason": "known"}


# -- remote safety -----------------------------------------------------------------------------


def test_remote_backends_skip_job_checks_unless_allowed_then_stay_in_budget():
    remote = _backend(remote=True)
    results = check_component(remote, on_fail=None, settings=SETTINGS)
    skipped = {r.check for r in results if r.status == "skipped"}
    assert {"check_backend_golden_analytic", "check_backend_one_job_per_call", "check_backend_in_quantum_layer"} <= skipped
    assert {"check_backend_rejects_unsupported_before_submit", "check_backend_describe_provenance"}.isdisjoint(skipped)
    assert remote.accounting.jobs == 0
    assert "--hqnn-allow-remote" in next(r.message for r in results if r.check == "check_backend_golden_analytic")

    budget = ConformanceSettings(shots=5000, allow_remote=True, remote_shots=500, max_remote_jobs=3, max_remote_shots=10_000)
    results = check_component(remote, on_fail=None, settings=budget)
    assert remote.accounting.jobs <= 3 and remote.accounting.shots <= 10_000
    assert any(r.status == "passed" for r in results if r.check == "check_backend_expectations_shape")
    over = [r for r in results if r.status == "skipped" and "budget" in r.message]
    assert over and "max_remote_jobs" in over[0].message
    assert not [r for r in results if r.status == "failed"]


def test_tolerance_uses_the_stated_bounds():
    exact = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    Tolerance().assert_close(exact + 5e-7, exact, ["Z0", "Z1"])
    with pytest.raises(AssertionError, match="exact"):
        Tolerance().assert_close(exact + 2e-6, exact, ["Z0", "Z1"])
    Tolerance().assert_close((exact + 5e-5).float(), exact, ["Z0", "Z1"])  # float32: 1e-4
    shots = Tolerance(shots=10_000)
    shots.assert_close(exact + torch.tensor([[0.049, 0.0]], dtype=torch.float64), exact, ["Z0", "Z1"])  # 5 * sqrt(1/1e4) = 0.05
    with pytest.raises(AssertionError, match="10000 shots"):
        shots.assert_close(exact + torch.tensor([[0.051, 0.0]], dtype=torch.float64), exact, ["Z0", "Z1"])


# -- mitigators and error mapping --------------------------------------------------------------


class DampedSimulator(Simulator):
    """Every gate damps the expectations by 2% (a global depolarising model)."""

    capabilities = BackendCapabilities(max_qubits=8, backprop=False, noise=True)

    def _run(self, tasks, shots, seed):
        return [r * 0.98 ** len(c.ops) for (c, _), r in zip(tasks, super()._run(tasks, shots, seed))]


class IdentityFolding(Mitigator):
    """Zero-noise extrapolation by inserting X·X pairs: noise scales 1 and 3, extrapolated linearly to 0."""

    name = "fake.fold"

    def expand(self, circuit):
        ops = []
        for op in circuit.ops:
            ops.append(op)
            ops.extend(type(op)("X", (op.wires[0],)) for _ in range(2))
        return MitigationBatch([circuit, Circuit(circuit.n_qubits, tuple(ops), circuit.slots, circuit.observables)])

    def combine(self, batch, results):
        return 1.5 * results[0] - 0.5 * results[1]  # Richardson: the line through noise scales 1 and 3, at 0

    def conformance_noisy_reference(self):
        return DampedSimulator()


def test_a_working_mitigator_passes_including_error_reduction():
    results = {r.check: r.status for r in check_component(IdentityFolding(), on_fail=None, settings=SETTINGS)}
    assert results.pop("check_registered_name_matches") == "skipped"
    assert results == dict.fromkeys(["check_has_name_and_docstring", "check_options_model_roundtrip",
                                     "check_mitigator_identity_when_noiseless", "check_mitigator_preserves_shapes",
                                     "check_mitigator_composes_with_gradient", "check_mitigator_reduces_error_on_noisy_reference"],
                                    "passed")


class VendorTimeout(Exception):
    pass


class VendorAuth(Exception):
    pass


class MapsErrors(Simulator):
    """Maps two vendor exceptions (the adapters' errors.py protocol)."""

    swapped = False

    def error_examples(self):
        return [(VendorTimeout("read timed out"), TransientBackendError), (VendorAuth("401"), PermanentBackendError)]

    def map_error(self, exc):
        transient = isinstance(exc, VendorTimeout) != self.swapped
        cls = TransientBackendError if transient else PermanentBackendError
        return cls(f"vendor said {exc}; {'retrying may help' if transient else 'fix the request'}")


def test_error_mapping_protocol():
    assert "check_backend_error_mapping" in _names(MapsErrors())
    check_component(MapsErrors(), settings=SETTINGS)
    wrong = MapsErrors()
    wrong.swapped = True
    results = {r.check: r for r in check_component(wrong, on_fail=None, settings=SETTINGS)}
    assert results["check_backend_error_mapping"].status == "failed"
    assert "map_error(VendorTimeout: read timed out) gave PermanentBackendError, expected TransientBackendError" in (
        results["check_backend_error_mapping"].message)


# -- the pytest plugin -------------------------------------------------------------------------

PLUGIN_TESTS = """
import pytest, torch
from hqnn_core.testing.golden import golden_cases

def test_fixtures(backend, reference_backend, tol):
    assert backend.full_name == "torch" and backend.options.seed == 5
    assert reference_backend.options.precision == "complex128"
    case = golden_cases()[0]
    tol.assert_close(backend.expectations(case.circuit, case.slot_values, shots=tol.shots, seed=1), case.values, case.circuit.observables)
    assert tol.shots == 3000

@pytest.mark.requires_capability("noise")
def test_needs_noise(backend):
    raise AssertionError("must be skipped")

@pytest.mark.requires_capability("backprop")
def test_needs_backprop(backend):
    pass
"""


def _run_pytest(pytester, *args):
    from hqnn_core.testing import pytest_plugin

    return pytester.runpytest(*args, "-p", "no:cacheprovider", plugins=[pytest_plugin])


def test_pytest_plugin_options_fixtures_and_marker(pytester):
    pytester.makepyfile(test_backend=PLUGIN_TESTS)
    result = _run_pytest(pytester, "--hqnn-backend", "torch", "--hqnn-backend-option", "seed=5", "--hqnn-shots", "3000", "-rs")
    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(["*backend 'torch' does not declare capability 'noise'*"])


def test_pytest_plugin_stops_when_the_backend_cannot_be_built(pytester):
    pytester.makepyfile(test_backend="def test_uses(backend):\n    pass\n")
    result = _run_pytest(pytester, "--hqnn-backend", "qiskit.nothing")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    out = result.stdout.str()
    assert "hqnn: cannot build backend 'qiskit.nothing'" in out and 'pip install "hqnn[qiskit]"' in out


# -- the command ---------------------------------------------------------------------------------


def _cli(*args):
    from hqnn_core.cli_conformance import conformance

    return CliRunner().invoke(conformance, list(args))


def test_conformance_command_passes_on_torch_with_pytest_args():
    result = _cli("--backend", "torch", "--shots", "2000", "--backend-option", "seed=3", "--", "-k", "golden or describe", "-q")
    assert result.exit_code == 0, result.output
    assert "torch (hqnn_plugins.torch_backend.TorchBackend)" in result.output
    assert "3 passed" in result.output


class _FakeVendor:
    """A plugin registering a failing backend and one whose SDK is missing."""

    @hookimpl
    def hqnn_register_backends(self, registry):
        registry.add("fake.squeezes", Squeezes)
        registry.add("fake.cloud", "fake_cloud_sdk_for_hqnn_tests.backend:Cloud", extra="fakecloud",
                     requires=("fake_cloud_sdk_for_hqnn_tests",))


def test_conformance_command_fails_on_a_broken_backend_and_names_a_missing_extra():
    with hqnn_core.temporary_plugin(_FakeVendor(), name="fake"):
        failed = _cli("--backend", "fake.squeezes", "--", "-k", "shape or describe", "-q")
        missing = _cli("--backend", "fake.cloud")
    assert failed.exit_code == 1, failed.output
    assert "fails check_backend_expectations_shape" in failed.output and "1 failed, 1 passed" in failed.output
    assert missing.exit_code == 3
    assert "needs fake_cloud_sdk_for_hqnn_tests" in missing.output and 'pip install "hqnn[fakecloud]"' in missing.output


def test_conformance_command_checks_a_registered_optimizer():
    result = _cli("--optimizer", "spsa", "--", "-q")
    assert result.exit_code == 0, result.output
    assert "optimizer spsa (hqnn_plugins.optimizers.SPSAOptimizer); stepping=loss" in result.output
    assert "9 passed" in result.output  # 3 checks of every component + 6 optimizer checks
    unknown = _cli("--optimizer", "adma")
    assert unknown.exit_code == 3 and "Unknown optimizer 'adma'. Did you mean 'adam'?" in unknown.output
    for args in ((), ("--backend", "torch", "--optimizer", "adam")):
        both = _cli(*args)
        assert both.exit_code == 2 and "--backend NAME or --optimizer NAME (one of them)" in both.output


def test_check_skipped_is_a_unittest_skip():
    import unittest

    assert issubclass(CheckSkipped, unittest.SkipTest)


class RecordsAccount(Simulator):
    """Copies the account it will use into its provenance."""

    def describe(self):
        import os

        return {**super().describe(), "account": os.environ.get("QISKIT_IBM_TOKEN", "")}


def test_describe_must_not_hold_a_credential_hqnn_can_see(monkeypatch):
    from hqnn_core.testing.checks.backend import check_backend_describe_provenance
    from hqnn_core.testing.checks.common import Violation

    check_backend_describe_provenance(RecordsAccount(), SETTINGS)  # no token set: nothing to leak
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "f00dfeed" * 4)
    with pytest.raises(Violation, match="entry 'account' holds a credential"):
        check_backend_describe_provenance(RecordsAccount(), SETTINGS)
