"""Which PennyLane failures are worth retrying: one table, read by the backend and the retry policy.

PennyLane runs locally, so nearly everything it raises is permanent (the program or the options are
wrong for the device and a retry would fail the same way). Only network-like failures of plugin
devices that talk to a service (e.g. ``braket.aws.qubit`` through botocore) are transient; those are
matched by class name so that this module never imports the plugins' SDKs.
"""

from __future__ import annotations

from pennylane import exceptions as plx

from hqnn_core.errors import BackendError, PermanentBackendError, TransientBackendError, UnavailableBackendError

#: (PennyLane exception class, hqnn error class, what it means for the user). First match in MRO order wins.
ERROR_TABLE: tuple[tuple[type[BaseException], type[BackendError], str], ...] = (
    (plx.DeviceError, PermanentBackendError, "the device rejected the program or its options"),
    (plx.WireError, PermanentBackendError, "the circuit uses wires the device does not have"),
    (plx.QuantumFunctionError, PermanentBackendError, "PennyLane rejected the program"),
    (plx.DecompositionError, PermanentBackendError, "a gate could not be decomposed into the device's native gates"),
    (
        plx.OperatorPropertyUndefined,
        PermanentBackendError,
        "an operator lacks a property the device needs (matrix, decomposition...)",
    ),
    (plx.TransformError, PermanentBackendError, "a PennyLane transform failed on the program"),
    (plx.NonDifferentiableError, PermanentBackendError, "the requested derivative is not available"),
    (plx.MeasurementShapeError, PermanentBackendError, "the device returned results of an unexpected shape"),
    (plx.AllocationError, PermanentBackendError, "the device could not allocate the qubits"),
    (MemoryError, PermanentBackendError, "the simulation does not fit in memory; lower the batch size or qubit count"),
    (ConnectionError, TransientBackendError, "the connection to a remote service failed"),
    (TimeoutError, TransientBackendError, "a remote service timed out"),
)

#: Exceptions of plugin SDKs (not imported here) that mean "try again later".
TRANSIENT_NAMES: frozenset[str] = frozenset(
    {"ThrottlingException", "EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ServiceUnavailableException"}
)


#: botocore ``ClientError`` codes (``braket.aws.qubit`` raises plain ``ClientError``; its class name says nothing).
CLIENT_ERROR_CODES: dict[str, tuple[type[BackendError], str]] = {
    **{code: (TransientBackendError, "a remote service is busy or unreachable") for code in (
        "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException", "InternalServiceException",
        "ServiceUnavailableException")},
    **{code: (UnavailableBackendError, "the remote device is offline, retired or out of quota; another backend can take over")
       for code in ("DeviceOfflineException", "DeviceRetiredException", "ServiceQuotaExceededException")},
}


def _client_error(exc: BaseException) -> tuple[type[BackendError], str] | None:
    if "ClientError" not in {cls.__name__ for cls in type(exc).__mro__}:
        return None
    response = getattr(exc, "response", None) or {}
    code = str(response.get("Error", {}).get("Code", ""))
    if code in CLIENT_ERROR_CODES:
        return CLIENT_ERROR_CODES[code]
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if status == 429 or status >= 500:
        return TransientBackendError, f"a remote service answered HTTP {status}"
    return PermanentBackendError, f"the remote service refused the request ({code or 'no error code'})"


def classify(exc: BaseException) -> tuple[type[BackendError], str] | None:
    """The hqnn error class and explanation for ``exc``, or ``None`` when it is not a known vendor failure."""
    found = _client_error(exc)
    if found is not None:
        return found
    for cls in type(exc).__mro__:
        if cls.__name__ in TRANSIENT_NAMES:
            return TransientBackendError, "a remote service is busy or unreachable"
        for vendor_cls, hqnn_cls, meaning in ERROR_TABLE:
            if cls is vendor_cls:
                return hqnn_cls, meaning
    return None


def map_error(exc: BaseException, backend: str) -> BackendError | None:
    """An hqnn error wrapping ``exc`` raised by ``backend``, or ``None`` to let it propagate unchanged.

    Unknown exceptions (``TypeError``, bugs) are not mapped: hiding them as backend failures would
    send a programming error to the retry policy.
    """
    found = classify(exc)
    if found is None:
        return None
    cls, meaning = found
    fix = {
        TransientBackendError: "This is usually temporary: retry later (the retry policy does so).",
        UnavailableBackendError: "Use another backend (backend.fallback) or try later.",
    }.get(cls, "Retrying will not help: change the circuit, the options or the device (see docs/adapters/pennylane.md).")
    return cls(f"PennyLane backend {backend!r} failed: {meaning} ({type(exc).__name__}: {exc}). {fix}", vendor_error=type(exc).__name__)
