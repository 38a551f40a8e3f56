"""Keeps credentials out of logs, run records, checkpoints and error reports.

Credentials reach hqnn only through the vendors' own mechanisms (environment variables, AWS
profiles, saved IBM accounts), so hqnn knows where they live: the values of the variables in
:data:`CREDENTIAL_ENV_VARS`, the keys of ``~/.aws/credentials`` and ``~/.qiskit/qiskit-ibm.json``,
and anything registered with :func:`register_secret`. Those values, and strings shaped like AWS
access keys or bearer tokens, are replaced by ``***`` wherever hqnn writes text.

At DEBUG level botocore logs request headers with the access key id and session token, so
:func:`configure_logging` also caps the HTTP loggers at INFO unless ``HQNN_UNSAFE_DEBUG_HTTP=1``.
A user may set up logging without hqnn (``logging.basicConfig(level=DEBUG)``), so every adapter
calls :func:`guard_vendor_logging` when it creates a vendor client: from then on the vendors' log
records are redacted as they are created, before any handler sees them.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import urllib.parse
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

CREDENTIAL_ENV_VARS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "QISKIT_IBM_TOKEN",
    "IBM_CLOUD_API_KEY",
    "IBMQ_TOKEN",
)
HTTP_LOGGERS = ("botocore", "boto3", "urllib3", "requests", "qiskit_ibm_runtime", "s3transfer")
MASK = "***"
_MIN_SECRET = 8  # shorter values would mask ordinary words

_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"(?i)(x-amz-security-token|authorization|x-api-key)(['\"]?\s*[:=]\s*['\"]?)([^'\"\s,}]+)"),
    re.compile(r"(?i)\b(token|secret|password|api_key|apikey)(['\"]?\s*[:=]\s*['\"]?)([A-Za-z0-9/+_.=-]{8,})"),
)

_registered: set[str] = set()


def register_secret(value: str) -> None:
    """Mask ``value`` everywhere from now on (for a token handed to hqnn programmatically)."""
    if value and len(value) >= _MIN_SECRET:
        _registered.add(value)


def _file_secrets() -> set[str]:
    home = Path(os.environ.get("HOME", "~")).expanduser()
    found: set[str] = set()
    aws = Path(os.environ.get("AWS_SHARED_CREDENTIALS_FILE", home / ".aws" / "credentials"))
    try:
        for line in aws.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip().lower() in {"aws_access_key_id", "aws_secret_access_key", "aws_session_token"}:
                found.add(value.strip())
    except OSError:
        pass
    try:
        accounts = json.loads((home / ".qiskit" / "qiskit-ibm.json").read_text())
        for account in accounts.values() if isinstance(accounts, dict) else []:
            if isinstance(account, dict) and isinstance(account.get("token"), str):
                found.add(account["token"])
    except (OSError, ValueError):
        pass
    return found


def secret_values() -> set[str]:
    """Every credential value hqnn can see right now (never written anywhere)."""
    values = {os.environ.get(name, "") for name in CREDENTIAL_ENV_VARS} | _file_secrets() | _registered
    return {v for v in values if len(v) >= _MIN_SECRET}


def redact_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every known credential value and credential-shaped string masked."""
    for secret in sorted(secret_values() if secrets is None else secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    for pattern in _PATTERNS[1:]:
        text = pattern.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return text


def redact(obj: Any, secrets: Iterable[str] | None = None) -> Any:
    """A copy of a JSON-like structure with every string redacted (for run records and reports)."""
    secrets = secret_values() if secrets is None else set(secrets)
    if isinstance(obj, str):
        return redact_text(obj, secrets)
    if isinstance(obj, Mapping):
        return {redact_text(str(k), secrets): redact(v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact(v, secrets) for v in obj]
    return obj


class RedactingFilter(logging.Filter):
    """Formats each record's message, masks credentials in it (and in its traceback), then lets it pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        record.msg = redact_text(record.getMessage(), secrets)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info), secrets)
            record.exc_info = None
        return True


_GUARDED_PREFIXES = ("hqnn", *HTTP_LOGGERS)


def guard_vendor_logging() -> None:
    """Redact vendor SDK (and hqnn) log records whatever logging the user set up; idempotent.

    Two layers. A log-record factory masks each record of the HTTP loggers (botocore, urllib3,
    qiskit_ibm_runtime, ...) and of hqnn when it is created, so handlers added later (a
    ``basicConfig`` after the client exists) get redacted text too; a filter on a parent logger
    would miss them, since Python applies logger filters only to records logged there, not to
    records of child loggers such as ``botocore.endpoint``. And the :class:`RedactingFilter` is
    added to the root logger's handlers, for records of every other logger.
    """
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "hqnn_redacting", False):

        def make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = factory(*args, **kwargs)
            if record.name.split(".")[0] in _GUARDED_PREFIXES:
                try:
                    secrets = secret_values()
                    record.msg = redact_text(record.getMessage(), secrets)
                    record.args = None
                    if record.exc_info and record.exc_info[1] is not None:  # formatters use exc_text when it is set
                        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info), secrets)
                except Exception:  # noqa: BLE001, S110 - a record whose arguments do not format is left to logging's own error report
                    pass
            return record

        make_record.hqnn_redacting = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(make_record)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def configure_logging(level: int = logging.INFO, handler: logging.Handler | None = None) -> logging.Handler:
    """Attach a redacting handler to the root logger and cap the HTTP loggers (see module docstring)."""
    handler = handler or logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    if os.environ.get("HQNN_UNSAFE_DEBUG_HTTP") != "1":
        for name in HTTP_LOGGERS:
            logging.getLogger(name).setLevel(max(level, logging.INFO))
    return handler


def encodings(secret: str) -> set[str]:
    """The forms a leaked secret may take in a file: raw, base64 and URL-encoded."""
    raw = secret.encode()
    return {secret, base64.b64encode(raw).decode(), urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}


def find_secrets(paths: Iterable[Path], secrets: Iterable[str]) -> list[tuple[str, str]]:
    """``(file, secret)`` for every secret (in any encoding) found in the files, zip members included."""
    needles = {form: s for s in secrets for form in encodings(s)}
    hits = []

    def scan(name: str, data: bytes) -> None:
        for form, secret in needles.items():
            if form.encode() in data:
                hits.append((name, secret))

    for path in paths:
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            data = file.read_bytes()
            scan(str(file), data)
            if zipfile.is_zipfile(file):  # torch checkpoints are zip archives
                with zipfile.ZipFile(file) as archive:
                    for member in archive.namelist():
                        scan(f"{file}:{member}", archive.read(member))
    return hits
