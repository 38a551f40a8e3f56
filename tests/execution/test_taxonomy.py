"""R3/R15: every vendor error, built offline from the real SDK classes, takes exactly its documented action.

Each row goes through its adapter's mapping (``adapters/*/errors.py``) and then through the real retry
and fallback machinery, with a backend that raises it in front of a healthy ``torch`` fallback. The
attempt counts are asserted: transient -> retried ``ATTEMPTS`` times then the chain moves on;
unavailable -> 1 attempt, then the fallback; permanent, still running, ambiguous submit -> 1 attempt,
no fallback, the hqnn error raised with the vendor exception as its cause; Ctrl-C and SystemExit ->
1 attempt, propagated unchanged. The table in docs/reliability.md is rendered from these rows
(``HQNN_UPDATE_DOCS=1 pytest tests/execution/test_taxonomy.py`` rewrites it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from hqnn_core import QuantumLayer, get_backend
from hqnn_core.errors import (
    BackendError,
    BudgetExceededError,
    PermanentBackendError,
    TransientBackendError,
    UnavailableBackendError,
)
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.retry import RetryPolicy
from hqnn_core.interfaces import Backend

pytestmark = [pytest.mark.vendor, pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")]
botocore = pytest.importorskip("botocore.exceptions")
ibm = pytest.importorskip("qiskit_ibm_runtime.exceptions")
ibm_api = pytest.importorskip("qiskit_ibm_runtime.api.exceptions")
plx = pytest.importorskip("pennylane.exceptions")
hqnn_qiskit_errors = pytest.importorskip("hqnn_qiskit.errors")
hqnn_pennylane_errors = pytest.importorskip("hqnn_pennylane.errors")
hqnn_braket_errors = pytest.importorskip("hqnn_braket.errors")

ATTEMPTS = 4
DOCS = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
ACTIONS = {
    "transient": f"retry the same backend (here {ATTEMPTS} attempts), then fall back",
    "unavailable": "1 attempt, fall back at once (breaker opens)",
    "permanent": "1 attempt, fail, no fallback",
    "still_running": "1 attempt after the adapter's own bounded wait; no resubmit, no fallback",
    "ambiguous_submit": "1 attempt, no blind resubmit, no fallback (re-attach by tag)",
    "interrupt": "1 attempt, propagates unchanged",
}
KIND_CLASS = {"transient": TransientBackendError, "unavailable": UnavailableBackendError}
ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/0000"


def client_error(code: str, status: int, operation: str = "CreateQuantumTask") -> BaseException:
    return botocore.ClientError({"Error": {"Code": code, "Message": f"{code} (test)"}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def qiskit(e: BaseException) -> BaseException:
    return hqnn_qiskit_errors.map_error(e, "qiskit.ibm:ibm_test")


def pennylane(e: BaseException) -> BaseException:
    return hqnn_pennylane_errors.map_error(e, "pennylane:braket.aws.qubit") or e  # None: not a vendor failure, propagates as is


def braket_submit(e: BaseException) -> BaseException:
    return hqnn_braket_errors.map_exception(e, "braket.aws:sv1", "submitting tasks", submitting=True)


def braket_poll(e: BaseException) -> BaseException:
    return hqnn_braket_errors.map_exception(e, "braket.aws:sv1", "polling task status")


def as_is(e: BaseException) -> BaseException:
    return e


class FakeTask:
    """A Braket task as the SDK returns it after a failure: ``result()`` is ``None``, the state says why."""

    def __init__(self, state: str, reason: str | None = None) -> None:
        self.id, self._state, self._reason = ARN, state, reason

    def result(self) -> None:
        return None

    def state(self) -> str:
        return self._state

    def metadata(self) -> dict[str, Any]:
        return {"status": self._state, "failureReason": self._reason}


def braket_none_result(task: FakeTask) -> BaseException:
    """What the adapter does with a ``None`` result: ask the task why (hqnn_braket.backend)."""
    assert task.result() is None
    meta = task.metadata()
    return hqnn_braket_errors.task_failure("braket.aws:sv1", task.id, meta["status"], meta["failureReason"], poll_timeout_s=5.0)


@dataclass
class Row:
    adapter: str
    vendor_error: str
    make: Callable[[], Any]
    mapping: Callable[[Any], BaseException]
    kind: str


ROWS = [
    # -- Amazon Braket / botocore -----------------------------------------------------------------
    Row("braket", "ClientError ThrottlingException (429)", lambda: client_error("ThrottlingException", 429), braket_submit, "transient"),
    Row("braket", "ClientError InternalServiceException (500)", lambda: client_error("InternalServiceException", 500), braket_submit, "transient"),
    Row("braket", "ClientError ServiceQuotaExceededException (402)", lambda: client_error("ServiceQuotaExceededException", 402), braket_submit,
        "unavailable"),
    Row("braket", "ClientError DeviceOfflineException (424)", lambda: client_error("DeviceOfflineException", 424), braket_submit, "unavailable"),
    Row("braket", "ClientError DeviceRetiredException (410)", lambda: client_error("DeviceRetiredException", 410), braket_submit, "unavailable"),
    Row("braket", "ClientError ValidationException (400; also spending limits)", lambda: client_error("ValidationException", 400), braket_submit,
        "permanent"),
    Row("braket", "ClientError AccessDeniedException (403)", lambda: client_error("AccessDeniedException", 403), braket_submit, "permanent"),
    Row("braket", "ClientError AccessDenied (403, S3 results)", lambda: client_error("AccessDenied", 403, "GetObject"), braket_poll, "permanent"),
    Row("braket", "ReadTimeoutError while polling", lambda: botocore.ReadTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com"),
        braket_poll, "transient"),
    Row("braket", "ReadTimeoutError on CreateQuantumTask", lambda: botocore.ReadTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com"),
        braket_submit, "ambiguous_submit"),
    Row("braket", "EndpointConnectionError", lambda: botocore.EndpointConnectionError(endpoint_url="https://braket.us-east-1.amazonaws.com"),
        braket_submit, "transient"),
    Row("braket", "NoCredentialsError", lambda: botocore.NoCredentialsError(), braket_submit, "permanent"),
    Row("braket", "task result None, state FAILED", lambda: FakeTask("FAILED", "Circuit too deep"), braket_none_result, "permanent"),
    Row("braket", "task result None, state CANCELLED (not by hqnn)", lambda: FakeTask("CANCELLED"), braket_none_result, "unavailable"),
    Row("braket", "task result None, still QUEUED at the poll timeout", lambda: FakeTask("QUEUED"), braket_none_result, "still_running"),
    # -- IBM Quantum / qiskit-ibm-runtime -----------------------------------------------------------
    Row("qiskit", "RequestsApiError 429", lambda: ibm_api.RequestsApiError("429 Client Error: Too Many Requests", status_code=429), qiskit,
        "transient"),
    Row("qiskit", "RequestsApiError maintenance (no status)",
        lambda: ibm_api.RequestsApiError("Unexpected response received from server. Please check if the service is in maintenance mode"),
        qiskit, "transient"),
    Row("qiskit", "RequestsApiError 400", lambda: ibm_api.RequestsApiError("400 Client Error: Bad Request", status_code=400), qiskit, "permanent"),
    Row("qiskit", "IBMRuntimeError 'too many 500 error responses'",
        lambda: ibm.IBMRuntimeError("Failed to run program: Max retries exceeded with url (Caused by ResponseError('too many 500 error responses'))"),
        qiskit, "transient"),
    Row("qiskit", "IBMRuntimeError 1002 (validation)", lambda: ibm.IBMRuntimeError("Failed to run program: 400 Client Error. Error code: 1002."),
        qiskit, "permanent"),
    Row("qiskit", "RuntimeJobFailureError 1010", lambda: ibm.RuntimeJobFailureError("Unable to retrieve job result. Error code 1010; retry."),
        qiskit, "transient"),
    Row("qiskit", "RuntimeJobFailureError 1004 (backend not available)",
        lambda: ibm.RuntimeJobFailureError("Unable to retrieve job result. Error code 1004; Backend not available."), qiskit, "unavailable"),
    Row("qiskit", "RuntimeJobFailureError 1012 (max concurrent jobs)",
        lambda: ibm.RuntimeJobFailureError("Unable to retrieve job result. Error code 1012; Too many concurrent jobs."), qiskit, "unavailable"),
    Row("qiskit", "RuntimeJobFailureError 1003 (transpilation)",
        lambda: ibm.RuntimeJobFailureError("Unable to retrieve job result. Error code 1003; Transpilation failed."), qiskit, "permanent"),
    Row("qiskit", "RuntimeJobMaxTimeoutError 1305", lambda: ibm.RuntimeJobMaxTimeoutError("Error code 1305; Job exceeded max execution time"),
        qiskit, "permanent"),
    Row("qiskit", "RuntimeInvalidStateError (cancelled outside hqnn)", lambda: ibm.RuntimeInvalidStateError("Job was cancelled."), qiskit,
        "unavailable"),
    Row("qiskit", "IBMNotAuthorizedError 401", lambda: ibm.IBMNotAuthorizedError("401 Client Error: Unauthorized"), qiskit, "permanent"),
    Row("qiskit", "RuntimeJobTimeoutError (client wait ran out)",
        lambda: ibm.RuntimeJobTimeoutError("Timed out waiting for job to complete after 600 secs."), qiskit, "still_running"),
    # -- PennyLane (incl. braket.aws.qubit, which surfaces plain botocore errors) ------------------
    Row("pennylane", "DeviceError", lambda: plx.DeviceError("Operation Foo not supported on device"), pennylane, "permanent"),
    Row("pennylane", "QuantumFunctionError", lambda: plx.QuantumFunctionError("bad tape"), pennylane, "permanent"),
    Row("pennylane", "WireError", lambda: plx.WireError("Cannot run circuit(s) on device: wires [7]"), pennylane, "permanent"),
    Row("pennylane", "ClientError ThrottlingException", lambda: client_error("ThrottlingException", 429), pennylane, "transient"),
    Row("pennylane", "ClientError DeviceOfflineException", lambda: client_error("DeviceOfflineException", 424), pennylane, "unavailable"),
    Row("pennylane", "ClientError ValidationException", lambda: client_error("ValidationException", 400), pennylane, "permanent"),
    Row("pennylane", "ConnectionError", lambda: ConnectionResetError("connection reset by peer"), pennylane, "transient"),
    # -- hqnn and the interpreter ----------------------------------------------------------------------
    Row("hqnn", "BudgetExceededError (a limit, or a vendor spending limit)", lambda: BudgetExceededError("max_cost reached"), as_is, "permanent"),
    Row("any", "KeyboardInterrupt (Ctrl-C)", KeyboardInterrupt, as_is, "interrupt"),
    Row("any", "SystemExit", lambda: SystemExit(3), as_is, "interrupt"),
]


class Raiser(Backend):
    """Raises the mapped error on every call, as an adapter's ``_run`` does (``raise mapped from vendor``)."""

    name = "raiser"
    vendor = "test"

    def __init__(self, vendor_error: BaseException, mapped: BaseException) -> None:
        super().__init__()
        self.capabilities = get_backend("torch").capabilities
        self.vendor_error, self.mapped, self.attempts = vendor_error, mapped, 0

    def _run(self, tasks: Any, shots: Any, seed: Any) -> Any:
        self.attempts += 1
        if self.mapped is self.vendor_error:
            raise self.mapped
        raise self.mapped from self.vendor_error


class FakeClock:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.now += s


def kind_of(error: BaseException) -> str:
    """The kind an adapter gave the error (``BackendError.kind``, which defaults to its class's); else interrupt or permanent."""
    if not isinstance(error, BaseException) or isinstance(error, (KeyboardInterrupt, SystemExit)):
        return "interrupt"
    return error.kind if isinstance(error, BackendError) else "permanent"


@pytest.fixture(scope="module")
def batch():
    layer = QuantumLayer(2, seed=0).double()
    return layer.circuit, layer.slot_values(torch.rand(3, 2, dtype=torch.float64)).detach()


@pytest.mark.parametrize("row", ROWS, ids=[f"{r.adapter}:{r.vendor_error}" for r in ROWS])
def test_each_error_takes_its_documented_action(row, batch):
    vendor = row.make()
    mapped = row.mapping(vendor)
    assert kind_of(mapped) == row.kind
    if isinstance(mapped, BackendError):
        assert type(mapped) is KIND_CLASS.get(row.kind, PermanentBackendError)

    vendor_exc = vendor if isinstance(vendor, BaseException) else mapped
    raiser, fallback, clock = Raiser(vendor_exc, mapped), get_backend("torch"), FakeClock()
    chain = FallbackBackend([raiser, fallback], RetryPolicy(max_attempts=ATTEMPTS, initial_wait=0.5, jitter=0.1),
                            sleep=clock.sleep, clock=clock)
    circuit, values = batch
    raised: BaseException | None = None
    try:
        out = chain.expectations(circuit, values)
    except BaseException as e:  # noqa: BLE001 - KeyboardInterrupt and SystemExit are what some rows test
        raised = e

    if row.kind == "transient":
        assert raiser.attempts == ATTEMPTS and len(clock.slept) == ATTEMPTS - 1
    else:
        assert raiser.attempts == 1 and clock.slept == []
    if row.kind in ("transient", "unavailable"):
        assert raised is None and fallback.accounting.calls == 1 and chain.switches[0].to_backend == "torch"
        torch.testing.assert_close(out, get_backend("torch").expectations(circuit, values))
    else:
        assert raised is mapped and fallback.accounting.calls == 0 and not chain.switches
        if raised is not vendor_exc:
            assert raised.__cause__ is vendor_exc  # the vendor's exception stays visible


def taxonomy_markdown() -> str:
    lines = ["| adapter | vendor error | kind | hqnn error | action |", "|---|---|---|---|---|"]
    for row in ROWS:
        mapped = row.mapping(row.make())
        lines.append(f"| {row.adapter} | {row.vendor_error} | `{row.kind}` | `{type(mapped).__name__}` | {ACTIONS[row.kind]} |")
    return "\n".join(lines)


def test_the_documented_table_is_the_tested_one():
    text = DOCS.read_text()
    block = re.compile(r"(<!-- taxonomy:start -->\n)(.*?)\n?(<!-- taxonomy:end -->)", re.S)
    want = taxonomy_markdown()
    if os.environ.get("HQNN_UPDATE_DOCS") == "1":
        DOCS.write_text(block.sub(lambda m: m.group(1) + want + "\n" + m.group(3), text))
        text = DOCS.read_text()
    found = block.search(text)
    assert found, "docs/reliability.md lacks the <!-- taxonomy:start --> ... <!-- taxonomy:end --> block"
    assert found.group(2) == want, "docs/reliability.md's error table is stale: run HQNN_UPDATE_DOCS=1 pytest tests/execution/test_taxonomy.py"
