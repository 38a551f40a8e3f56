"""Credentials never reach logs or records (RELIABILITY.md R9), and the scanner catches a leak."""

from __future__ import annotations

import io
import json
import logging
import urllib.parse

import pytest
import torch

from hqnn_core.redaction import RedactingFilter, configure_logging, find_secrets, redact, redact_text, register_secret

CANARY_KEY_ID = "AKIACANARY0123456789"
CANARY_SECRET = "canarySecret/abcdEFGH1234+ijklMNOP5678"
CANARY_SESSION = "canarySessionTokenZZZ999"
CANARY_IBM = "canaryIbmToken0123456789abcdef"
CANARY_FILE_IBM = "canarySavedAccountTokenQQQ777"
CANARY_PROGRAMMATIC = "canaryProgrammaticXYZ12345"


@pytest.fixture
def canaries(monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CANARY_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", CANARY_SESSION)
    monkeypatch.setenv("QISKIT_IBM_TOKEN", CANARY_IBM)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    qiskit_dir = tmp_path / "home" / ".qiskit"
    qiskit_dir.mkdir(parents=True)
    (qiskit_dir / "qiskit-ibm.json").write_text(json.dumps({"default": {"token": CANARY_FILE_IBM, "channel": "ibm_quantum"}}))
    register_secret(CANARY_PROGRAMMATIC)
    return [CANARY_KEY_ID, CANARY_SECRET, CANARY_SESSION, CANARY_IBM, CANARY_FILE_IBM, CANARY_PROGRAMMATIC]


def test_redact_text_masks_known_values_and_credential_shapes(canaries):
    text = (f"headers={{'X-Amz-Security-Token': '{CANARY_SESSION}', 'Authorization': 'AWS4-HMAC-SHA256 Credential={CANARY_KEY_ID}/x'}} "
            f"token={CANARY_IBM} saved={CANARY_FILE_IBM} prog={CANARY_PROGRAMMATIC} other=AKIAABCDEFGHIJKLMNOP")
    out = redact_text(text)
    assert not find_in(out, canaries) and "AKIAABCDEFGHIJKLMNOP" not in out and out.count("***") >= 5


def test_redact_walks_records(canaries):
    record = {"backend": {"options": {"note": f"key {CANARY_SECRET}"}}, "errors": [f"denied for {CANARY_KEY_ID}"], "shots": 100}
    clean = redact(record)
    assert clean["shots"] == 100 and not find_in(json.dumps(clean), canaries)


def test_debug_logging_of_http_libraries_leaks_nothing(canaries, monkeypatch):
    stream = io.StringIO()
    handler = configure_logging(logging.DEBUG, logging.StreamHandler(stream))
    try:
        botocore = logging.getLogger("botocore.endpoint")
        botocore.debug("Sending http request: headers=%s", {"X-Amz-Security-Token": CANARY_SESSION})  # capped: dropped
        logging.getLogger("hqnn.test").debug("token %s and key %s", CANARY_IBM, CANARY_KEY_ID)
        try:
            raise RuntimeError(f"AccessDenied for {CANARY_SECRET}")
        except RuntimeError:
            logging.getLogger("hqnn.test").exception("submission failed")
        logging.getLogger("hqnn.test").info("program token %s", CANARY_PROGRAMMATIC)
    finally:
        logging.getLogger().removeHandler(handler)
        for name in ("botocore", "boto3", "urllib3", "requests", "qiskit_ibm_runtime", "s3transfer"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    output = stream.getvalue()
    assert "submission failed" in output and "AccessDenied for ***" in output
    assert not find_in(output, canaries)
    assert "Sending http request" not in output  # HTTP loggers are capped at INFO


def test_scanner_finds_raw_base64_url_encoded_and_zipped_leaks(canaries, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "clean.json").write_text(json.dumps(redact({"token": CANARY_IBM})))
    assert find_secrets([run], canaries) == []
    # A deliberate leak in each encoding, and one inside a torch checkpoint (a zip archive), is caught.
    (run / "raw.log").write_text(f"oops {CANARY_SECRET}")
    (run / "url.txt").write_text(urllib.parse.quote(CANARY_SECRET, safe=""))
    torch.save({"note": CANARY_SESSION}, run / "leak.pt")
    hits = {(name.split("/")[-1].split(":")[0], secret) for name, secret in find_secrets([run], canaries)}
    assert ("raw.log", CANARY_SECRET) in hits and ("url.txt", CANARY_SECRET) in hits and ("leak.pt", CANARY_SESSION) in hits


def test_filter_survives_records_without_args():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "plain message", None, None)
    assert RedactingFilter().filter(record) and record.getMessage() == "plain message"


def find_in(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s in text]
