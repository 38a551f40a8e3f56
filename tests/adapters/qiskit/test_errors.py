"""The vendor-error table: real Qiskit / Aer / qiskit-ibm-runtime exceptions, built offline, and their hqnn class."""

import pytest

pytest.importorskip("qiskit_aer")

import importlib  # noqa: E402

import torch  # noqa: E402

from hqnn_core import CircuitBuilder, PermanentBackendError, TransientBackendError, get_backend  # noqa: E402
from hqnn_core.errors import UnavailableBackendError  # noqa: E402
from hqnn_qiskit import errors  # noqa: E402

pytestmark = pytest.mark.vendor


def _cls(path: str) -> type:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("rule", errors.ERROR_TABLE, ids=[r.exception.rsplit(".", 1)[1] for r in errors.ERROR_TABLE])
def test_every_row_names_a_real_exception_class(rule):
    if rule.exception.startswith("qiskit_ibm_runtime"):
        pytest.importorskip("qiskit_ibm_runtime")
    if rule.exception.startswith("requests."):
        pytest.importorskip("requests")
    cls = _cls(rule.exception)
    assert isinstance(cls, type) and issubclass(cls, BaseException)
    assert f"{cls.__module__}.{cls.__qualname__}" == rule.exception  # a rename upstream must fail here, not silently


EXAMPLES = errors.error_examples()


@pytest.mark.parametrize(("exc", "expected"), EXAMPLES, ids=[f"{type(e).__name__}-{c.__name__}" for e, c in EXAMPLES])
def test_table_maps_each_example(exc, expected):
    mapped = errors.map_error(exc, "qiskit.ibm:ibm_test")
    assert type(mapped) is expected
    assert "qiskit.ibm:ibm_test" in str(mapped) and type(exc).__name__ in str(mapped)
    assert mapped.kind in errors.CLASSES


def test_examples_cover_every_category():
    pytest.importorskip("qiskit_ibm_runtime")
    categories = {errors.map_error(e).kind for e, _ in EXAMPLES}
    assert categories == {"transient", "unavailable", "still_running", "permanent"}


def test_ibm_error_codes_decide_the_class():
    pytest.importorskip("qiskit_ibm_runtime")
    from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError

    def mapped(code: int) -> type:
        return type(errors.map_error(RuntimeJobFailureError(f"Unable to retrieve job result. Error code {code}; reason")))

    assert {c: mapped(c) for c in (1000, 1006, 1008, 1010, 1011, 1202)} == dict.fromkeys((1000, 1006, 1008, 1010, 1011, 1202),
                                                                                         TransientBackendError)
    assert {c: mapped(c) for c in (1004, 1009, 1012)} == dict.fromkeys((1004, 1009, 1012), UnavailableBackendError)
    assert {c: mapped(c) for c in (1002, 1003, 1005, 1007, 1101)} == dict.fromkeys((1002, 1003, 1005, 1007, 1101), PermanentBackendError)


def test_still_running_is_not_retried_and_says_how_to_fetch_the_job():
    pytest.importorskip("qiskit_ibm_runtime")
    from qiskit_ibm_runtime.exceptions import RuntimeJobTimeoutError

    mapped = errors.map_error(RuntimeJobTimeoutError("Timed out waiting for job to complete after 60 secs."))
    assert isinstance(mapped, PermanentBackendError) and mapped.kind == "still_running"
    assert "job(job_id)" in str(mapped) and "twice" in str(mapped)


def test_hqnn_errors_pass_through_and_unknown_errors_are_permanent():
    own = TransientBackendError("already mapped")
    assert errors.map_error(own) is own
    assert isinstance(errors.map_error(KeyError("x")), PermanentBackendError)


def test_token_is_redacted_from_messages(monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", "s3cr3t-token-value")
    mapped = errors.map_error(ConnectionError("POST failed with token s3cr3t-token-value"))
    assert "s3cr3t" not in str(mapped) and "***" in str(mapped)


def test_failures_inside_the_vendor_job_arrive_mapped_and_chained(monkeypatch):
    from qiskit_aer.aererror import AerError

    backend = get_backend("qiskit.aer")

    def broken(self, pubs):
        raise AerError("simulation terminated without returning valid output.")

    monkeypatch.setattr(type(backend._estimator()), "_run", broken)
    b = CircuitBuilder(1)
    b.add("RX", [0], b.weight(0))
    with pytest.raises(PermanentBackendError, match="AerError") as info:
        backend.expectations(b.build(), torch.zeros(2, 1))
    assert isinstance(info.value.__cause__, AerError)
    assert backend.accounting.jobs == 1  # it was submitted: the job counts even though it failed


def test_backend_exposes_the_conformance_error_protocol():
    backend = get_backend("qiskit.aer")
    examples = backend.error_examples()
    assert examples and all(issubclass(c, (TransientBackendError, PermanentBackendError)) for _, c in examples)
    assert all(isinstance(backend.map_error(e), c) for e, c in examples)
