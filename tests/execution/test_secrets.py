"""R9: with canary credentials in the environment and in vendor files, and DEBUG logging (botocore included),
``hqnn train`` writes no canary anywhere: run directory, checkpoints, log file, stdout, stderr. A deliberate leak is caught."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from hqnn_core.redaction import find_secrets

REPO = Path(__file__).resolve().parents[2]
CANARIES = {
    "AWS_ACCESS_KEY_ID": "AKIACANARY7Q2W3E4R5T",
    "AWS_SECRET_ACCESS_KEY": "canaryAwsSecret/9f8e7d6c5b4a+ZYXWVU",
    "AWS_SESSION_TOKEN": "canaryAwsSessionTokenFwoGZXIvYXdzEJr",
    "QISKIT_IBM_TOKEN": "canaryQiskitIbmToken5a4b3c2d1e0f",
    "IBM_CLOUD_API_KEY": "canaryIbmCloudApiKey0p9o8i7u6y",
}
FILE_CANARIES = {
    "aws_file_key_id": "AKIACANARYFILE0Z9X8C",
    "aws_file_secret": "canaryAwsFileSecret+abcdef012345",
    "ibm_saved_token": "canaryIbmSavedAccountToken77QQ",
}
ALL = [*CANARIES.values(), *FILE_CANARIES.values()]

# Runs in the subprocess: a loopback AWS endpoint so botocore really signs and logs a request, DEBUG logging through
# hqnn's handler (HTTP loggers uncapped, the strongest case), a plugin whose backend fails with a credential in the
# vendor's message, and an optional deliberate leak that bypasses hqnn (the scanner's negative control).
DRIVER = textwrap.dedent('''
    import base64, http.server, logging, os, sys, threading
    import boto3, botocore.exceptions
    import hqnn_core
    from hqnn_core.cli import main
    from hqnn_core.errors import PermanentBackendError
    from hqnn_core.hookspecs import hookimpl
    from hqnn_core.redaction import configure_logging
    from hqnn_plugins.torch_backend import TorchBackend

    configure_logging(logging.DEBUG, logging.FileHandler(os.environ["LOG_FILE"]))
    logging.getLogger("hqnn.test").debug("environment token is %s", os.environ["QISKIT_IBM_TOKEN"])

    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(403); self.send_header("Content-Type", "text/xml"); self.end_headers()
            self.wfile.write(b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code><Message>bad token</Message></Error></ErrorResponse>")
        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.handle_request, daemon=True).start()
    client = boto3.client("sts", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{server.server_port}")
    try:
        client.get_caller_identity()
    except botocore.exceptions.ClientError as e:
        logging.getLogger("hqnn.test").exception("AWS said %s", e)

    class Leaky(TorchBackend):
        """Fails like a vendor error that echoes the credential."""
        name = "leaky"
        def _run(self, tasks, shots, seed):
            raise PermanentBackendError(f"AccessDenied: token {os.environ['QISKIT_IBM_TOKEN']} is not valid for key {os.environ['AWS_ACCESS_KEY_ID']}")

    class Plugin:
        @hookimpl
        def hqnn_register_backends(self, registry):
            registry.add_family("leaky", Leaky)
        @hookimpl
        def hqnn_run_started(self, run):
            logging.getLogger("hqnn.test").info("run started with token=%s", os.environ["AWS_SESSION_TOKEN"])
        @hookimpl
        def hqnn_run_finished(self, run, error):
            if os.environ.get("LEAK_TO"):  # the negative control: written past hqnn, must be found by the scan
                with open(os.environ["LEAK_TO"], "w") as f:
                    f.write(base64.b64encode(os.environ["AWS_SECRET_ACCESS_KEY"].encode()).decode())

    with hqnn_core.temporary_plugin(Plugin(), name="secrets-test"):
        sys.argv = ["hqnn", *sys.argv[1:]]
        main()
''')


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = {FILE_CANARIES['aws_file_key_id']}\naws_secret_access_key = {FILE_CANARIES['aws_file_secret']}\n")
    (home / ".qiskit").mkdir()
    (home / ".qiskit" / "qiskit-ibm.json").write_text(json.dumps(
        {"default-ibm-quantum-platform": {"channel": "ibm_quantum_platform", "token": FILE_CANARIES["ibm_saved_token"], "url": "https://example"}}))
    return home


def _train(tmp_path: Path, home: Path, name: str, backend: str, leak_to: Path | None = None) -> tuple[subprocess.CompletedProcess, Path]:
    profile = tmp_path / f"{name}.yaml"
    profile.write_text(yaml.safe_dump({
        "data": {"source": "digits", "classes": [0, 1], "pca": 4, "max_train": 16, "max_test": 8, "angle_range": [0.0, 3.0]},
        "model": {"quantum": {"n_qubits": 4}}, "backend": {"name": backend, "shots": 50},
        "train": {"epochs": 1, "batch_size": 8}, "output": {"plots": False},
    }))
    out = tmp_path / name
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "QISKIT_", "IBM"))}
    env.update(CANARIES, HOME=str(home), HQNN_DISABLE_PLUGIN_AUTOLOAD="1", HQNN_UNSAFE_DEBUG_HTTP="1", AWS_EC2_METADATA_DISABLED="true",
               LOG_FILE=str(tmp_path / f"{name}.log"), MPLBACKEND="Agg", COLUMNS="200")
    if leak_to is not None:
        env["LEAK_TO"] = str(leak_to)
    proc = subprocess.run([sys.executable, "-c", DRIVER, "train", str(profile), "--out", str(out)], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=240)
    return proc, out


def _scan(tmp_path: Path, proc: subprocess.CompletedProcess, name: str) -> list[tuple[str, str]]:
    (tmp_path / f"{name}.stdout").write_text(proc.stdout)
    (tmp_path / f"{name}.stderr").write_text(proc.stderr)
    artifacts = [tmp_path / name, tmp_path / f"{name}.log", tmp_path / f"{name}.stdout", tmp_path / f"{name}.stderr"]
    return find_secrets([a for a in artifacts if a.exists()], ALL)


@pytest.mark.vendor  # the driver signs a real botocore request
def test_no_canary_in_any_artifact_of_a_successful_and_a_failing_run(tmp_path, home):
    ok, ok_dir = _train(tmp_path, home, "ok", "torch")
    assert ok.returncode == 0, ok.stderr[-3000:]
    failed, failed_dir = _train(tmp_path, home, "failed", "leaky:dev")
    assert failed.returncode == 2 and "AccessDenied: token ***" in failed.stderr, failed.stderr[-3000:]
    # the artifacts exist and hold what a leak would ride on: signed requests at DEBUG, checkpoints, the error record
    log = (tmp_path / "ok.log").read_text()
    assert "Sending http request" in log and "X-Amz-Security-Token" in log and "Credential=***" in log
    assert list((ok_dir / "checkpoints" / "hybrid").glob("*.pt")) and (ok_dir / "model.pt").exists()
    assert json.loads((failed_dir / "run.json").read_text())["error"]["message"].startswith("AccessDenied: token ***")
    assert _scan(tmp_path, ok, "ok") == [] and _scan(tmp_path, failed, "failed") == []


@pytest.mark.vendor
def test_a_deliberate_leak_is_caught_by_the_same_scan(tmp_path, home):
    proc, run_dir = _train(tmp_path, home, "leak", "torch", leak_to=tmp_path / "leak" / "notes.txt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    hits = _scan(tmp_path, proc, "leak")
    assert hits == [(str(run_dir / "notes.txt"), CANARIES["AWS_SECRET_ACCESS_KEY"])]
    assert base64.b64encode(CANARIES["AWS_SECRET_ACCESS_KEY"].encode()).decode() in (run_dir / "notes.txt").read_text()


def test_profiles_with_secret_looking_keys_are_refused(tmp_path):
    from hqnn_core.config import load_profile
    from hqnn_core.errors import ConfigError

    for section in ({"backend": {"name": "torch", "options": {"token": "x"}}}, {"backend": {"name": "torch", "aws_secret_access_key": "x"}},
                    {"train": {"api-key": "x"}}):
        profile = tmp_path / "p.yaml"
        profile.write_text(yaml.safe_dump({"data": {"source": "digits"}, "model": {"quantum": {"n_qubits": 2}}, **section}))
        with pytest.raises(ConfigError, match="looks like a credential; do not put credentials in a profile"):
            load_profile(profile)
    profile.write_text(yaml.safe_dump({"data": {"source": "digits"}, "model": {"quantum": {"n_qubits": 2}}}))
    with pytest.raises(ConfigError, match=r"--set backend.options.password=x: password: looks like a credential"):
        load_profile(profile, overrides=["backend.options.password=x"])
