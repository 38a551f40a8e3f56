"""The Braket error table: every vendor failure maps to a hqnn Transient, Unavailable or PermanentBackendError.

Exception objects are built offline (no AWS call). Classification follows RELIABILITY.md §1.4;
``kind`` carries the finer decision (retry, fall back, never resubmit).
"""

from __future__ import annotations

import pytest

pytest.importorskip("braket.devices")

from botocore import exceptions as bx  # noqa: E402

from hqnn_braket import errors  # noqa: E402
from hqnn_core import BackendError, PermanentBackendError, TransientBackendError, UnavailableBackendError, get_backend  # noqa: E402

pytestmark = pytest.mark.vendor


def _client_error(code: str, status: int = 400, operation: str = "CreateQuantumTask") -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": "detail from AWS"}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


TABLE = [
    (_client_error("ThrottlingException", 429), TransientBackendError, "transient", "backoff"),
    (_client_error("InternalServiceException", 500), TransientBackendError, "transient", "retry later"),
    (_client_error("ServiceQuotaExceededException", 402), UnavailableBackendError, "unavailable", "quota"),
    (_client_error("DeviceOfflineException", 424), UnavailableBackendError, "unavailable", "availability window"),
    (_client_error("DeviceRetiredException", 410), UnavailableBackendError, "unavailable", "search-devices"),
    (_client_error("ValidationException", 400), PermanentBackendError, "permanent", "spending limit"),
    (_client_error("AccessDeniedException", 403), PermanentBackendError, "permanent", "AmazonBraketFullAccess"),
    (_client_error("ResourceNotFoundException", 404, "GetQuantumTask"), PermanentBackendError, "permanent", "ARN"),
    (_client_error("ExpiredTokenException", 400), PermanentBackendError, "permanent", "refresh your credentials"),
    (_client_error("SomeFutureError", 503), TransientBackendError, "transient", "HTTP 503"),
    (_client_error("SomeFutureError", 409), PermanentBackendError, "permanent", "SomeFutureError"),
    (bx.EndpointConnectionError(endpoint_url="https://braket.us-east-1.amazonaws.com"), TransientBackendError, "transient", "connectivity"),
    (bx.ConnectTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com"), TransientBackendError, "transient", "connectivity"),
    (bx.ConnectionClosedError(endpoint_url="https://braket.us-east-1.amazonaws.com"), TransientBackendError, "transient", "connectivity"),
    (bx.ReadTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com"), TransientBackendError, "transient", "connectivity"),
    (bx.NoCredentialsError(), PermanentBackendError, "permanent", "default chain"),
    (bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), PermanentBackendError, "permanent", "default chain"),
    (bx.CredentialRetrievalError(provider="sso", error_msg="expired"), PermanentBackendError, "permanent", "default chain"),
    (bx.ParamValidationError(report="shots: wrong type"), PermanentBackendError, "permanent", "adapter bug"),
    (ValueError("'arn:aws:braket:::device/qpu/x/y' not found"), PermanentBackendError, "permanent", "search-devices"),
]


@pytest.mark.parametrize(("exc", "cls", "kind", "fix"), TABLE, ids=[f"{type(e).__name__}-{k}-{i}" for i, (e, _, k, _) in enumerate(TABLE)])
def test_mapping_table(exc, cls, kind, fix):
    err = errors.map_exception(exc, "braket.aws:arn", "submitting")
    assert type(err) is cls and err.kind == kind
    message = str(err)
    assert message.startswith("braket.aws:arn: submitting failed with") and fix in message and "Fix:" in message


@pytest.mark.parametrize("exc", [bx.ReadTimeoutError(endpoint_url="https://x"), bx.ConnectionClosedError(endpoint_url="https://x")])
def test_a_dropped_connection_while_creating_a_task_is_ambiguous_and_not_transient(exc):
    err = errors.map_exception(exc, "braket.aws:arn", "submitting", submitting=True)
    assert isinstance(err, PermanentBackendError) and err.kind == "ambiguous_submit" and "hqnn-call" in str(err)


@pytest.mark.parametrize(("status", "kind", "words"), [
    ("FAILED", "permanent", ["FAILED", "out of memory", "does not resubmit"]),
    ("CANCELLED", "unavailable", ["CANCELLED", "without hqnn cancelling it"]),
    ("QUEUED", "still_running", ["poll timeout of 30.0 s", "NOT cancelled", "AwsQuantumTask('arn:task')"]),
    (None, "still_running", ["state unknown"]),
])
def test_none_results_become_clear_errors(status, kind, words):
    err = errors.task_failure("braket.aws:sv1", "arn:task", status, "out of memory" if status == "FAILED" else None, 30.0)
    expected = UnavailableBackendError if kind == "unavailable" else PermanentBackendError
    assert isinstance(err, expected) and err.kind == kind and err.task_id == "arn:task"
    assert all(w in str(err) for w in words) and "arn:task" in str(err)


def test_examples_cover_every_row_and_the_backend_uses_the_table():
    examples = errors.error_examples()
    codes = {e.response["Error"]["Code"] for e, _ in examples if isinstance(e, bx.ClientError)}
    assert set(errors.CLIENT_ERROR_CODES) <= codes
    backend = get_backend("braket.local:sv")
    for exc, expected in examples:
        mapped = backend.map_error(exc)
        assert isinstance(mapped, BackendError) and isinstance(mapped, expected) and str(mapped)
