"""Issue 18 item 3: vendor SDK debug logs carry no credential, whatever logging the user set up.

The driver sets up logging with the standard library only (``logging.basicConfig(level=DEBUG)``,
or a handler on botocore's own logger; not hqnn's ``configure_logging``), then creates a ``braket.aws`` backend: botocore signs a real
GetDevice request to a loopback endpoint and logs its headers at DEBUG. Oracle: the request was
logged (its ``X-Amz-Security-Token`` header is on stderr) and no canary credential is.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CANARIES = {
    "AWS_ACCESS_KEY_ID": "AKIACANARY7Q2W3E4R5T",
    "AWS_SECRET_ACCESS_KEY": "canaryAwsSecret/9f8e7d6c5b4a+ZYXWVU",
    "AWS_SESSION_TOKEN": "canaryAwsSessionTokenFwoGZXIvYXdzEJr",
}

DRIVER = textwrap.dedent('''
    import http.server, logging, os, sys, threading
    if sys.argv[1] == "before":  # the standard library's set-up, before hqnn is imported
        logging.basicConfig(level=logging.DEBUG)

    class Deny(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("x-amzn-ErrorType", "AccessDeniedException")
            self.end_headers()
            self.wfile.write(b'{"message": "denied"}')
        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Deny)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["AWS_ENDPOINT_URL_BRAKET"] = f"http://127.0.0.1:{server.server_port}"
    from hqnn_braket.backend import BraketAwsBackend
    if sys.argv[1] == "vendor-handler":  # a handler on botocore's own logger, which no root filter sees
        logging.getLogger("botocore").addHandler(logging.StreamHandler())
        logging.getLogger("botocore").setLevel(logging.DEBUG)
    try:
        BraketAwsBackend("arn:aws:braket:::device/quantum-simulator/amazon/sv1", max_attempts=1)
    except Exception as e:
        print("raised", type(e).__name__)
''')


@pytest.mark.vendor
@pytest.mark.parametrize("when", ["before", "vendor-handler"])
def test_basicconfig_debug_shows_signed_braket_requests_without_credentials(tmp_path, when):
    pytest.importorskip("braket.aws")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "QISKIT_", "IBM"))}
    env.update(CANARIES, HOME=str(tmp_path), AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               HQNN_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONPATH=os.pathsep.join(str(REPO / p) for p in ("", "plugins", "adapters")))
    proc = subprocess.run([sys.executable, "-c", DRIVER, when], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert "raised PermanentBackendError" in proc.stdout, proc.stderr[-3000:]
    assert "Sending http request" in proc.stderr and "X-Amz-Security-Token" in proc.stderr  # the signed request was logged
    assert "Credential=***" in proc.stderr
    for name, canary in CANARIES.items():
        assert proc.stderr.count(canary) == 0, name  # before the fix: the key id and the session token, raw


def test_cli_log_level_configures_redacted_logging(monkeypatch):
    from hqnn_core.cli import cli
    from hqnn_core.redaction import RedactingFilter

    root = logging.getLogger()
    saved = (root.level, list(root.handlers), logging.getLogger("botocore").level)
    try:
        cli.main(["--log-level", "debug", "backends", "--json"], standalone_mode=False)
        added = [h for h in root.handlers if h not in saved[1]]
        assert root.level == logging.DEBUG and len(added) == 1
        assert any(isinstance(f, RedactingFilter) for f in added[0].filters)
        assert logging.getLogger("botocore").level == logging.INFO  # HTTP loggers capped unless HQNN_UNSAFE_DEBUG_HTTP=1
    finally:
        for h in root.handlers[:]:
            if h not in saved[1]:
                root.removeHandler(h)
        root.setLevel(saved[0])
        logging.getLogger("botocore").setLevel(saved[2])
