"""One table from Qiskit / Aer / qiskit-ibm-runtime exceptions to hqnn's retry classes.

The retry policy and the fallback chain read only the class of the error this module returns: a
:class:`~hqnn_core.errors.TransientBackendError` is retried on the same backend, an
:class:`~hqnn_core.errors.UnavailableBackendError` moves to the next backend of the fallback chain,
a :class:`~hqnn_core.errors.PermanentBackendError` fails at once. The category of the reliability
study (RELIABILITY.md §1.2 and §1.4) is the error's ``kind`` (:class:`~hqnn_core.errors.BackendError`):

=================  ============  =====================================================================
kind               hqnn class    meaning
=================  ============  =====================================================================
``transient``      Transient     network, 5xx, rate limit, IBM codes 1000/1006/1008/1010/1011/1202
``unavailable``    Unavailable   device not available (1004/1009), concurrency limit (1012), job
                                 cancelled by someone else: fall back or try later
``still_running``  Permanent     our client-side wait ran out; the job still runs and may cost:
                                 never resubmit blindly, fetch it by id
``permanent``      Permanent     bad circuit or input, authentication, missing account, transpiler
                                 failure, max execution time (1305), simulator error, anything unknown
=================  ============  =====================================================================

Exception classes are matched by their qualified names along the MRO, so that building the table
never imports qiskit-ibm-runtime (absent when only ``qiskit.aer`` is installed, and slow to import).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from hqnn_core.errors import BackendError, PermanentBackendError, TransientBackendError, UnavailableBackendError

TRANSIENT_CODES = frozenset({1000, 1006, 1008, 1010, 1011, 1202})
UNAVAILABLE_CODES = frozenset({1004, 1009, 1012})
_CODE = re.compile(r"Error code:? *(\d{4})")
_HTTP_RETRYABLE = re.compile(r"too many 500|\b(429|5\d\d)\b")

ACCOUNT_HINT = (
    "Configure IBM Quantum credentials with the vendor's own mechanisms: once, "
    "QiskitRuntimeService.save_account(channel='ibm_quantum_platform', token=..., instance=..., set_as_default=True), "
    "or the environment variables QISKIT_IBM_TOKEN (and QISKIT_IBM_INSTANCE). hqnn never takes a token in its options."
)


def error_code(exc: BaseException) -> int | None:
    """The IBM Quantum error code (e.g. 1002) quoted in an exception's message, if any."""
    match = _CODE.search(str(exc))
    return int(match.group(1)) if match else None


def _status(exc: BaseException) -> int:
    return int(getattr(exc, "status_code", -1) or -1)


def _code_category(exc: BaseException) -> str:
    code = error_code(exc)
    if code in TRANSIENT_CODES:
        return "transient"
    if code in UNAVAILABLE_CODES:
        return "unavailable"
    return "permanent"


def _http_category(exc: BaseException) -> str:
    status = _status(exc)
    return "transient" if status in (-1, 408, 429) or status >= 500 else "permanent"


def _submit_category(exc: BaseException) -> str:
    text = str(exc)
    if _HTTP_RETRYABLE.search(text) or error_code(exc) == 1202:
        return "transient"
    return _code_category(exc)


@dataclass(frozen=True)
class Rule:
    """``exception`` (qualified class name, matched along the MRO) -> a category and a fix."""

    exception: str
    category: str | Callable[[BaseException], str]
    hint: str = ""

    def category_of(self, exc: BaseException) -> str:
        return self.category(exc) if callable(self.category) else self.category


_RT = "qiskit_ibm_runtime.exceptions."

#: First matching rule wins, so specific classes come before their bases.
ERROR_TABLE: tuple[Rule, ...] = (
    Rule(_RT + "RuntimeJobTimeoutError", "still_running",
         "The job is still queued or running and was not cancelled; raise result_timeout, or fetch it later with "
         "QiskitRuntimeService().job(job_id). Resubmitting would run (and bill) it twice."),
    Rule("qiskit.providers.exceptions.JobTimeoutError", "still_running", "The job did not finish in time; raise result_timeout."),
    Rule(_RT + "RuntimeJobMaxTimeoutError", "permanent",
         "The job exceeded its maximum execution time (code 1305); use fewer shots or bindings per step."),
    Rule(_RT + "RuntimeJobFailureError", _code_category,
         "See https://quantum.cloud.ibm.com/docs/errors for the error code."),
    Rule(_RT + "RuntimeInvalidStateError", "unavailable", "The job was cancelled outside hqnn; resubmit when the device is free."),
    Rule(_RT + "RuntimeProgramNotFound", "permanent", "The primitive is not available on this instance."),
    Rule(_RT + "RuntimeJobNotFound", "permanent", "The job id is unknown to this account."),
    Rule("qiskit_ibm_runtime.accounts.exceptions.AccountNotFoundError", "permanent", ACCOUNT_HINT),
    Rule("qiskit_ibm_runtime.accounts.exceptions.InvalidAccountError", "permanent", ACCOUNT_HINT),
    Rule(_RT + "IBMNotAuthorizedError", "permanent", "The IBM Quantum credentials were rejected. " + ACCOUNT_HINT),
    Rule("qiskit_ibm_runtime.api.exceptions.RequestsApiError", _http_category,
         "The IBM Quantum API did not answer normally (network, maintenance or rate limit)."),
    Rule(_RT + "IBMInputValueError", "permanent", "Fix the request (circuit, options or backend name)."),
    Rule(_RT + "IBMBackendValueError", "permanent", "Check the backend name with QiskitRuntimeService().backends()."),
    Rule(_RT + "IBMRuntimeError", _submit_category, "Submitting the job failed."),
    Rule("qiskit.providers.exceptions.QiskitBackendNotFoundError", "permanent",
         "Check the backend name with QiskitRuntimeService().backends()."),
    Rule("requests.exceptions.ConnectionError", "transient", "The network connection failed."),
    Rule("requests.exceptions.Timeout", "transient", "The network request timed out."),
    Rule("builtins.ConnectionError", "transient", "The network connection failed."),
    Rule("builtins.TimeoutError", "transient", "The network request timed out."),
    Rule("qiskit_aer.aererror.AerError", "permanent",
         "Aer could not simulate the circuit (e.g. not enough memory); use fewer qubits or bindings."),
    Rule("qiskit.transpiler.exceptions.TranspilerError", "permanent",
         "The circuit cannot be mapped onto the device; use fewer qubits or another device."),
    Rule("qiskit.circuit.exceptions.CircuitError", "permanent", "The translated circuit is invalid; please report this as an hqnn bug."),
    Rule("qiskit.exceptions.QiskitError", "permanent", ""),
    Rule("builtins.MemoryError", "permanent", "Not enough memory; use fewer qubits or bindings per step."),
)


CLASSES: dict[str, type[BackendError]] = {
    "transient": TransientBackendError,
    "unavailable": UnavailableBackendError,
    "still_running": PermanentBackendError,
    "permanent": PermanentBackendError,
}


def _qualified_names(exc: BaseException) -> list[str]:
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in type(exc).__mro__]


def find_rule(exc: BaseException) -> Rule | None:
    """The first table rule whose class is in ``exc``'s MRO (``None``: not a known vendor error)."""
    names = _qualified_names(exc)
    for rule in ERROR_TABLE:
        if rule.exception in names:
            return rule
    return None


def _redact(text: str) -> str:
    token = os.environ.get("QISKIT_IBM_TOKEN")
    return text.replace(token, "***") if token and len(token) > 3 else text


def map_error(exc: BaseException, backend: str = "qiskit") -> BackendError:
    """The hqnn error for a vendor exception (chain it: ``raise map_error(e) from e``).

    Unknown exceptions are permanent: failing fast is cheaper than retrying a paid job blindly.
    """
    if isinstance(exc, BackendError):
        return exc
    rule = find_rule(exc)
    category = rule.category_of(exc) if rule else "permanent"
    hint = rule.hint if rule else ""
    cls = CLASSES[category]
    what = {"transient": "may succeed if retried", "unavailable": "try another backend or later"}.get(category, "will not succeed if retried")
    message = f"backend {backend!r} failed ({category}; {what}): {type(exc).__name__}: {_redact(str(exc))}"
    if hint:
        message += f". {hint}"
    code = error_code(exc)
    return cls(message, kind=category, vendor_error=type(exc).__name__, code=None if code is None else str(code))


def error_examples() -> list[tuple[BaseException, type[BackendError]]]:
    """Real vendor exceptions, built offline, with the hqnn class each must map to (for tests and conformance)."""
    from qiskit.exceptions import QiskitError
    from qiskit.transpiler.exceptions import CircuitTooWideForTarget
    from qiskit_aer.aererror import AerError

    examples: list[tuple[BaseException, type[BackendError]]] = [
        (AerError("Insufficient memory to run circuit"), PermanentBackendError),
        (CircuitTooWideForTarget("Number of qubits (7) in circuit is greater than maximum (5) in the coupling_map"), PermanentBackendError),
        (QiskitError("something unexpected"), PermanentBackendError),
        (ConnectionError("connection reset by peer"), TransientBackendError),
        (TimeoutError("read timed out"), TransientBackendError),
        (ValueError("an unknown failure"), PermanentBackendError),
    ]
    try:
        from qiskit_ibm_runtime.accounts.exceptions import AccountNotFoundError
        from qiskit_ibm_runtime.api.exceptions import RequestsApiError
        from qiskit_ibm_runtime.exceptions import (
            IBMInputValueError,
            IBMNotAuthorizedError,
            IBMRuntimeError,
            RuntimeJobFailureError,
            RuntimeJobMaxTimeoutError,
            RuntimeJobNotFound,
            RuntimeJobTimeoutError,
        )
    except ImportError:  # qiskit.aer only: the IBM rows are tested where the runtime is installed
        return examples
    return examples + [
        (RequestsApiError("429 Client Error: Too Many Requests", status_code=429), TransientBackendError),
        (RequestsApiError("502 Server Error: Bad Gateway", status_code=502), TransientBackendError),
        (RequestsApiError("Unexpected response received from server. Please check if the service is in maintenance mode"),
         TransientBackendError),
        (RequestsApiError("400 Client Error: Bad Request", status_code=400), PermanentBackendError),
        (IBMNotAuthorizedError("401 Client Error: Unauthorized"), PermanentBackendError),
        (AccountNotFoundError("Unable to find account."), PermanentBackendError),
        (IBMInputValueError("invalid shots"), PermanentBackendError),
        (IBMRuntimeError("Failed to run program: 503 Server Error: Service Unavailable"), TransientBackendError),
        (IBMRuntimeError("Failed to run program: 400 Client Error. Invalid input, Error code: 1002."), PermanentBackendError),
        (RuntimeJobNotFound("Job not found"), PermanentBackendError),
        (RuntimeJobFailureError("Unable to retrieve job result. Error code 1000; An internal error occurred."), TransientBackendError),
        (RuntimeJobFailureError("Unable to retrieve job result. Error code 1003; Transpilation failed."), PermanentBackendError),
        (RuntimeJobFailureError("Unable to retrieve job result. Error code 1004; Backend not available."), UnavailableBackendError),
        (RuntimeJobMaxTimeoutError("Error code 1305; Job exceeded max execution time"), PermanentBackendError),
        (RuntimeJobTimeoutError("Timed out waiting for job to complete after 3600 secs."), PermanentBackendError),
    ]
