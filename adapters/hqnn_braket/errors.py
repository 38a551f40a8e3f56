"""One table from Amazon Braket / botocore failures to hqnn's transient and permanent errors.

The classification follows RELIABILITY.md §1.4. hqnn's error classes say whether retrying the
same backend can help (:class:`TransientBackendError`), whether another backend should take over
(:class:`UnavailableBackendError`), or neither (:class:`PermanentBackendError`);
each error also carries ``kind`` (one of :data:`KINDS`) for the finer decision a retry or
fallback layer makes: ``unavailable`` may fall back to another backend, ``permanent`` must not
(a spending-limit rejection arrives as ValidationException), ``ambiguous_submit`` means the task
may exist although the call failed (look it up by its ``hqnn-call`` tag before resubmitting), and
``still_running`` means the poll timed out while the task keeps running (never resubmit it).
"""

from __future__ import annotations

from typing import Any

from hqnn_core.errors import BackendError, PermanentBackendError, TransientBackendError, UnavailableBackendError

KINDS = ("transient", "unavailable", "permanent", "ambiguous_submit", "still_running")

#: ``ClientError`` code -> (kind, what to do). Codes are the botocore Braket model's error shapes.
CLIENT_ERROR_CODES: dict[str, tuple[str, str]] = {
    "ThrottlingException": ("transient", "the request rate is over Braket's quota; retry with backoff"),
    "Throttling": ("transient", "the request rate is over the AWS quota; retry with backoff"),
    "RequestLimitExceeded": ("transient", "the request rate is over the AWS quota; retry with backoff"),
    "TooManyRequestsException": ("transient", "the request rate is over the AWS quota; retry with backoff"),
    "InternalServiceException": ("transient", "Braket had an internal error; retry later"),
    "ServiceUnavailableException": ("transient", "Braket is unavailable; retry later"),
    "ServiceQuotaExceededException": ("unavailable", "a Braket quota (e.g. concurrent tasks) is exhausted; wait, raise the quota, or use another backend"),
    "DeviceOfflineException": ("unavailable", "the device is offline; check its availability window or use another backend"),
    "DeviceRetiredException": ("unavailable", "the device is retired; choose a current device ARN (`aws braket search-devices`)"),
    "ValidationException": ("permanent", "Braket rejected the request (bad input, or a spending limit); fix the circuit/options or the spending limit"),
    "AccessDeniedException": ("permanent", "the AWS identity may not use Braket; grant it the AmazonBraketFullAccess policy or equivalent"),
    "ResourceNotFoundException": ("permanent", "the device or task ARN does not exist in this region; check the ARN and AWS region"),
    "ConflictException": ("permanent", "the task is in a state that does not allow this operation"),
    "ExpiredToken": ("permanent", "the AWS session token expired; refresh your credentials (e.g. `aws sso login`)"),
    "ExpiredTokenException": ("permanent", "the AWS session token expired; refresh your credentials (e.g. `aws sso login`)"),
    "UnrecognizedClientException": ("permanent", "AWS does not recognise the credentials; fix the default credential chain"),
    "InvalidSignatureException": ("permanent", "the request signature is invalid (wrong secret key or clock skew); fix the credentials"),
}

_TRANSPORT = ("EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError", "ConnectionClosedError", "ReadTimeoutError")
_AMBIGUOUS_ON_SUBMIT = ("ReadTimeoutError", "ConnectionClosedError")
_CREDENTIALS = ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError", "NoRegionError")
_CREDENTIALS_FIX = (
    "configure AWS credentials and region through the AWS default chain (environment variables, "
    "~/.aws/config profile via AWS_PROFILE, SSO, or an instance/container role); hqnn never takes keys as options"
)


def _error_class(kind: str) -> type[BackendError]:
    # ambiguous submits and still-running tasks must never be blindly resubmitted, so they are not transient
    return {"transient": TransientBackendError, "unavailable": UnavailableBackendError}.get(kind, PermanentBackendError)


def make_error(kind: str, message: str, *, code: str | None = None, vendor_error: str | None = None, task_id: str | None = None) -> BackendError:
    """A hqnn backend error of ``kind`` with its typed fields (a task ARN is its ``task_id``)."""
    return _error_class(kind)(message, kind=kind, code=code or None, vendor_error=vendor_error, task_id=task_id)


def _names(exc: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(exc).__mro__}


def classify(exc: BaseException, submitting: bool = False) -> tuple[str, str]:
    """``(kind, fix)`` for a vendor exception; ``submitting`` marks a CreateQuantumTask call."""
    names = _names(exc)
    if "ClientError" in names:
        response: dict[str, Any] = getattr(exc, "response", {}) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        if code in CLIENT_ERROR_CODES:
            return CLIENT_ERROR_CODES[code]
        status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if status == 429 or status >= 500:
            return "transient", f"Braket answered HTTP {status}; retry later"
        return "permanent", f"Braket refused the request with code {code or 'unknown'}; see the message"
    if names & set(_CREDENTIALS):
        return "permanent", _CREDENTIALS_FIX
    if submitting and names & set(_AMBIGUOUS_ON_SUBMIT):
        return "ambiguous_submit", (
            "the connection failed after the task request was sent, so the task may exist; search tasks tagged "
            "with this call's hqnn-call id before resubmitting"
        )
    if names & set(_TRANSPORT):
        return "transient", "the network connection to AWS failed; check connectivity and retry"
    if "ParamValidationError" in names:
        return "permanent", "botocore rejected the request parameters; this is an adapter bug, please report it"
    if isinstance(exc, ValueError) and "not found" in str(exc):
        return "permanent", "the device ARN does not exist in this region; check the ARN (`aws braket search-devices`)"
    if isinstance(exc, (ValueError, TypeError)):
        return "permanent", "the Braket SDK rejected the program or its options"
    return "permanent", "unexpected failure in the Braket SDK"


def map_exception(exc: BaseException, backend: str, action: str, submitting: bool = False) -> BackendError:
    """The hqnn error for ``exc`` raised while ``action`` ran on ``backend`` (raise it ``from exc``)."""
    kind, fix = classify(exc, submitting)
    code = ""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", ""))
    what = f"{type(exc).__name__}" + (f" ({code})" if code else "")
    return make_error(kind, f"{backend}: {action} failed with {what}: {exc}. Fix: {fix}.", code=code, vendor_error=type(exc).__name__)


def task_failure(backend: str, task_arn: str, status: str | None, reason: str | None, poll_timeout_s: float | None = None) -> BackendError:
    """The error for a task whose result is ``None``: FAILED, CANCELLED, or still running at the timeout."""
    if status == "FAILED":
        return make_error(
            "permanent",
            f"{backend}: Braket task {task_arn} FAILED: {reason or 'no failureReason given'}. Fix the circuit or options the "
            "reason names; hqnn does not resubmit failed tasks (batch retries are pinned to max_retries=0).",
            task_id=task_arn,
        )
    if status in ("CANCELLED", "CANCELLING"):
        return make_error(
            "unavailable",
            f"{backend}: Braket task {task_arn} was {status} ({reason or 'no reason given'}) without hqnn cancelling it; "
            "check the device's availability or quotas, or use another backend.",
            task_id=task_arn,
        )
    return make_error(
        "still_running",
        f"{backend}: Braket task {task_arn} had no result after the poll timeout of {poll_timeout_s} s (state {status or 'unknown'}). "
        "It was NOT cancelled and may still run and be billed: raise poll_timeout_s, re-attach with "
        f"braket.aws.AwsQuantumTask('{task_arn}').result(), or cancel it.",
        task_id=task_arn,
    )


def error_examples() -> list[tuple[BaseException, type[BackendError]]]:
    """One offline-built vendor exception per row of the table, with the hqnn class it maps to."""
    from botocore import exceptions as bx

    def client_error(code: str, status: int = 400, operation: str = "CreateQuantumTask") -> BaseException:
        return bx.ClientError({"Error": {"Code": code, "Message": f"{code} (test)"}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)

    examples: list[tuple[BaseException, type[BackendError]]] = [
        (client_error(code), _error_class(kind)) for code, (kind, _) in CLIENT_ERROR_CODES.items()
    ]
    examples += [
        (client_error("SomethingNew", 503), TransientBackendError),
        (client_error("SomethingNew", 403), PermanentBackendError),
        (bx.EndpointConnectionError(endpoint_url="https://braket.us-east-1.amazonaws.com"), TransientBackendError),
        (bx.ConnectTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com"), TransientBackendError),
        (bx.ReadTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com"), TransientBackendError),
        (bx.NoCredentialsError(), PermanentBackendError),
        (bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), PermanentBackendError),
        (bx.ParamValidationError(report="shots must be an integer"), PermanentBackendError),
        (ValueError("'arn:aws:braket:::device/quantum-simulator/amazon/nope' not found"), PermanentBackendError),
    ]
    return examples
