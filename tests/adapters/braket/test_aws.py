"""``braket.aws:<arn>`` against a stubbed Braket API (botocore ``Stubber``): no network, no credentials.

moto does not implement Braket (RELIABILITY.md §0.9), so the device lookup, task creation and
status polls are stubbed responses; S3 result downloads are replaced by results the local
simulator computed for the same program. What is checked: what gets submitted (device, shots,
tags, program sets), that ``None`` results (FAILED, CANCELLED, poll timeout) become hqnn errors
naming the task ARN and failureReason, that failed tasks are never resubmitted, and the error mapping.
"""

from __future__ import annotations

import json
import math
import threading
import time
from datetime import datetime

import pytest

pytest.importorskip("braket.aws")

import boto3  # noqa: E402
import torch  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.stub import Stubber  # noqa: E402
from braket.aws import AwsSession  # noqa: E402
from braket.devices import LocalSimulator  # noqa: E402
from braket.schema_common import BraketSchemaBase  # noqa: E402

from hqnn_braket import pricing as braket_pricing  # noqa: E402
from hqnn_braket.backend import BraketAwsBackend  # noqa: E402
from hqnn_core import (  # noqa: E402
    CapabilityError,
    CircuitBuilder,
    ConfigError,
    Observable,
    PermanentBackendError,
    TransientBackendError,
    UnavailableBackendError,
)
from hqnn_core.pricing import PRICES, Price, device_class, price_of, register_price, reset_prices  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = pytest.mark.vendor

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
BUCKET, PREFIX = "amzn-braket-test-results", "hqnn-tests"
CANARY_KEY_ID, CANARY_SECRET = "AKIAZZZZCANARY000000", "canary/secret+value/that/must/never/appear"


def _capabilities(program_sets: bool = True) -> str:
    caps = json.loads(LocalSimulator("braket_sv").properties.json())
    if not program_sets:
        caps["action"].pop("braket.ir.openqasm.program_set")
    return json.dumps(caps)


def _device_response(device_type: str = "SIMULATOR", program_sets: bool = True) -> dict:
    return {"deviceArn": SV1, "deviceName": "SV1", "providerName": "Amazon Braket", "deviceType": device_type,
            "deviceStatus": "ONLINE", "deviceCapabilities": _capabilities(program_sets)}


class FakeBraket:
    """Answers CreateQuantumTask / GetQuantumTask on the client's event hooks and serves results.

    Tasks may be created from several threads (``max_parallel``), so answers are keyed by task ARN
    (a queued Stubber would hand them out in arrival order). A task's result is what the local
    simulator returns for the exact action and shots that were submitted.
    """

    def __init__(self, client) -> None:
        self.created: list[dict] = []
        self.statuses: dict[int, list[str]] = {}  # per task number; the last status repeats
        self.reasons: dict[int, str] = {}
        self.default = ["COMPLETED"]
        self.polls = 0
        self._lock = threading.Lock()
        self._params = threading.local()
        events = client.meta.events
        for op in ("CreateQuantumTask", "GetQuantumTask"):
            events.register(f"provide-client-params.braket.{op}", self._remember)
        events.register_first("before-call.braket.CreateQuantumTask", self._create)
        events.register_first("before-call.braket.GetQuantumTask", self._get)

    @staticmethod
    def arn(i: int) -> str:
        return f"arn:aws:braket:us-east-1:123456789012:quantum-task/task-{i}"

    def _remember(self, params, **_):
        self._params.value = dict(params)

    def _create(self, **_):
        with self._lock:
            self.created.append(self._params.value)
            i = len(self.created) - 1
        return AWSResponse("https://braket", 200, {}, None), {"quantumTaskArn": self.arn(i)}

    def _get(self, **_):
        i = int(self._params.value["quantumTaskArn"].rsplit("-", 1)[1])
        with self._lock:
            self.polls += 1
            queue = self.statuses.setdefault(i, list(self.default))
            status = queue.pop(0) if len(queue) > 1 else queue[0]
        params = self.created[i]
        action = json.loads(params["action"])["braketSchemaHeader"]["name"]
        body = {"quantumTaskArn": self.arn(i), "status": status, "deviceArn": SV1, "deviceParameters": "{}",
                "shots": params["shots"], "outputS3Bucket": BUCKET, "outputS3Directory": f"{PREFIX}/{i}",
                "createdAt": datetime(2026, 1, 1), "actionMetadata": {"actionType": action}}
        if i in self.reasons:
            body["failureReason"] = self.reasons[i]
        return AWSResponse("https://braket", 200, {}, None), body

    def retrieve(self, bucket: str, key: str) -> str:
        assert bucket == BUCKET
        params = self.created[int(key.split("/")[-2])]
        program = BraketSchemaBase.parse_raw_schema(params["action"])
        result = json.loads(LocalSimulator("braket_sv")._delegate.run(program, shots=params["shots"]).json())
        return json.dumps({k: v for k, v in result.items() if v not in (None, [])})  # the service omits empty fields


@pytest.fixture
def aws(monkeypatch):
    """A Braket client (fake credentials in the environment) inside an AwsSession, answered by FakeBraket."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CANARY_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("braket", region_name="us-east-1", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    session = AwsSession(boto_session=boto3.Session(region_name="us-east-1"), braket_client=client, default_bucket=BUCKET)
    monkeypatch.setattr(AwsSession, "copy_session", lambda self, region=None, max_connections=None: self)  # keep the fake client
    fake = FakeBraket(client)
    monkeypatch.setattr(session, "retrieve_s3_object_body", fake.retrieve)
    return client, session, fake


def _backend(aws, device_type: str = "SIMULATOR", program_sets: bool = True, **options) -> BraketAwsBackend:
    client, session, _ = aws
    opts = {"s3_bucket": BUCKET, "s3_prefix": PREFIX, "poll_timeout_s": 5.0, "poll_interval_s": 0.01, **options}
    with Stubber(client) as stubber:
        stubber.add_response("get_device", _device_response(device_type, program_sets), {"deviceArn": SV1})
        backend = BraketAwsBackend(SV1, aws_session=session, **opts)
        stubber.assert_no_pending_responses()
    return backend


def _ry_circuit():
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    return b.build([Observable.parse("Z0"), Observable.parse("X0")])


def _closed_form(t: torch.Tensor) -> torch.Tensor:
    return torch.cat([torch.cos(t), torch.sin(t)], dim=1)


def test_capabilities_come_from_the_device_and_describe_has_no_credentials(aws):
    backend = _backend(aws)
    caps = backend.capabilities
    assert caps.remote and caps.analytic and not caps.deterministic_shots and caps.max_qubits == 26
    assert caps.max_circuits_per_job == 100 and backend.executables_per_job(None) == 1 and backend.executables_per_job(4000) == 50
    info = backend.describe()
    text = json.dumps(info)
    assert info["device"]["arn"] == SV1 and info["vendor"] == "Amazon Braket" and "amazon-braket-sdk" in info["versions"]
    assert info["options"]["poll_timeout_s"] == 5.0 and info["botocore"]["max_attempts"] == 3
    assert CANARY_KEY_ID not in text and CANARY_SECRET not in text


def test_target_must_be_a_device_arn():
    with pytest.raises(ConfigError, match="needs a device ARN"):
        BraketAwsBackend("sv1")


def test_exact_run_submits_one_tagged_task_per_binding_and_reads_results(aws):
    _, _, fake = aws
    backend = _backend(aws)
    t = torch.tensor([[0.3], [2.0], [-1.1]], dtype=torch.float64)

    out = backend.expectations(_ry_circuit(), t)

    torch.testing.assert_close(out, _closed_form(t), atol=1e-12, rtol=0)
    assert backend.accounting.jobs == 3 == backend.jobs_for(3) == len(fake.created)
    call_ids = {c["tags"]["hqnn-call"] for c in fake.created}
    assert len(call_ids) == 1 and len(call_ids.pop()) == 32
    angles = sorted(json.loads(c["action"])["inputs"]["hqnn_s0"] for c in fake.created)
    assert angles == sorted(t[:, 0].tolist())
    for c in fake.created:
        action = json.loads(c["action"])
        assert c["deviceArn"] == SV1 and c["shots"] == 0 and c["outputS3Bucket"] == BUCKET and c["outputS3KeyPrefix"] == PREFIX
        assert "input float hqnn_s0;" in action["source"] and "#pragma braket result expectation z(q[0])" in action["source"]


def test_shots_are_packed_into_one_program_set(aws):
    _, _, fake = aws
    backend = _backend(aws)
    t = torch.linspace(-1, 2, 6, dtype=torch.float64).unsqueeze(1)
    out = backend.expectations(_ry_circuit(), t, shots=2000)
    exact = _closed_form(t)
    assert bool(((out - exact).abs() <= shot_tolerance(exact, _ry_circuit().observables, 2000)).all())
    (request,) = fake.created
    action = json.loads(request["action"])
    assert action["braketSchemaHeader"]["name"] == "braket.ir.openqasm.program_set"
    assert len(action["programs"]) == 2  # one CircuitBinding per measurement setting (Z, X), 6 bindings each
    assert request["shots"] == 2000 * 12 and backend.accounting.jobs == 1 == backend.jobs_for(6, 2000, 2)


def test_program_sets_are_chunked_to_the_device_limit(aws):
    _, _, fake = aws
    backend = _backend(aws)
    t = torch.rand(130, 1, dtype=torch.float64)
    z_only = _ry_circuit().with_observables([Observable.parse("Z0")])
    fake.default = ["CANCELLED"]  # only the submissions matter here; skip simulating 130 executables
    with pytest.raises(UnavailableBackendError, match="CANCELLED"):
        backend.expectations(z_only, t, shots=1000)
    executables = [sum(len(next(iter(p["inputs"].values()))) for p in json.loads(c["action"])["programs"]) for c in fake.created]
    assert executables == [100, 30] and backend.accounting.jobs == 2 == math.ceil(130 / 100)


def test_failed_task_raises_naming_arn_and_reason_without_resubmitting(aws):
    _, _, fake = aws
    backend = _backend(aws)
    fake.default = ["FAILED"]
    fake.reasons[0] = "Program exceeds the simulator's qubit limit"
    with pytest.raises(PermanentBackendError) as info:
        backend.expectations(_ry_circuit(), torch.tensor([[0.1]], dtype=torch.float64))
    message = str(info.value)
    assert fake.arn(0) in message and "FAILED" in message and "qubit limit" in message and "max_retries=0" in message
    assert info.value.kind == "permanent" and info.value.task_id == fake.arn(0)
    assert len(fake.created) == 1  # no batch retry created a second (billed) task


def test_one_failed_task_in_a_batch_fails_the_call(aws):
    _, _, fake = aws
    backend = _backend(aws)
    fake.statuses[1] = ["FAILED"]
    fake.reasons[1] = "internal simulator error"
    with pytest.raises(PermanentBackendError, match="internal simulator error"):
        backend.expectations(_ry_circuit(), torch.tensor([[0.1], [0.2], [0.3]], dtype=torch.float64))
    assert len(fake.created) == 3


def test_cancelled_task_is_reported_as_unavailable(aws):
    _, _, fake = aws
    backend = _backend(aws)
    fake.default = ["CANCELLED"]
    with pytest.raises(UnavailableBackendError, match="CANCELLED") as info:
        backend.expectations(_ry_circuit(), torch.tensor([[0.1]], dtype=torch.float64))
    assert info.value.kind == "unavailable" and fake.arn(0) in str(info.value)


def test_poll_timeout_is_explicit_and_reports_a_still_running_task(aws):
    _, _, fake = aws
    backend = _backend(aws, poll_timeout_s=0.3, poll_interval_s=0.05)
    fake.default = ["QUEUED"]
    start = time.perf_counter()
    with pytest.raises(PermanentBackendError, match="NOT cancelled") as info:
        backend.expectations(_ry_circuit(), torch.tensor([[0.1]], dtype=torch.float64))
    assert time.perf_counter() - start < 5 and fake.polls >= 3
    assert info.value.kind == "still_running" and fake.arn(0) in str(info.value) and "0.3 s" in str(info.value)


def test_a_failed_program_set_is_reported_even_with_partial_results(aws):
    _, _, fake = aws
    backend = _backend(aws)
    fake.default = ["FAILED"]
    fake.reasons[0] = "executable 3 failed"
    with pytest.raises(PermanentBackendError, match="executable 3 failed") as info:
        backend.expectations(_ry_circuit(), torch.linspace(0, 1, 6, dtype=torch.float64).unsqueeze(1), shots=100)
    assert fake.arn(0) in str(info.value) and len(fake.created) == 1


def test_without_program_sets_shots_go_to_one_task_per_executable(aws):
    _, _, fake = aws
    backend = _backend(aws, program_sets=False)
    assert backend.capabilities.max_circuits_per_job == 1
    t = torch.tensor([[0.4], [1.3]], dtype=torch.float64)
    out = backend.expectations(_ry_circuit(), t, shots=4000)
    exact = _closed_form(t)
    assert bool(((out - exact).abs() <= shot_tolerance(exact, _ry_circuit().observables, 4000)).all())
    assert len(fake.created) == 4 == backend.accounting.jobs  # 2 bindings x 2 settings
    assert {c["shots"] for c in fake.created} == {4000}


def test_throttling_on_submit_is_transient(aws):
    client, _, fake = aws
    backend = _backend(aws)
    with Stubber(client) as stubber:
        stubber.add_client_error("create_quantum_task", service_error_code="ThrottlingException", http_status_code=429)
        with pytest.raises(TransientBackendError, match="ThrottlingException") as info:
            backend.expectations(_ry_circuit(), torch.tensor([[0.1]], dtype=torch.float64))
    assert info.value.kind == "transient"


def test_access_denied_at_lookup_is_permanent_and_names_the_fix(aws):
    client, session, _ = aws
    with Stubber(client) as stubber:
        stubber.add_client_error("get_device", service_error_code="AccessDeniedException", http_status_code=403)
        with pytest.raises(PermanentBackendError, match="AmazonBraketFullAccess"):
            BraketAwsBackend(SV1, aws_session=session)


def test_a_qpu_rejects_exact_mode_before_submitting(aws):
    _, _, fake = aws
    backend = _backend(aws, device_type="QPU")
    assert not backend.capabilities.analytic and backend.capabilities.noise
    with pytest.raises(CapabilityError, match="only samples"):
        backend.expectations(_ry_circuit(), torch.tensor([[0.1]], dtype=torch.float64))
    assert backend.accounting.jobs == 0 and not fake.created


def test_the_aws_backend_prices_itself_and_a_registered_price_wins(aws):
    backend = _backend(aws)  # SV1
    assert backend.device_class() == device_class(backend) == "braket:simulator:sv1"
    assert price_of(backend) == braket_pricing.PRICES["braket:simulator:sv1"] and "braket:simulator:sv1" not in PRICES
    try:
        register_price(Price("braket:simulator:sv1", per_second=0.05 / 60, min_seconds_per_task=3.0))  # a negotiated rate
        assert price_of(backend).cost(4, 0) == pytest.approx(0.01)  # 4 tasks x 3 s at 0.05 USD/min
    finally:
        reset_prices()


@pytest.mark.parametrize(("arn", "device_type"), [(SV1, "SIMULATOR"), ("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", "QPU")])
def test_config_time_capabilities_match_the_instance(aws, arn, device_type):
    """What ``hqnn validate`` checks shots against (no AWS call) is what the opened device declares."""
    client, session, _ = aws
    with Stubber(client) as stubber:
        stubber.add_response("get_device", _device_response(device_type, True), {"deviceArn": arn})
        backend = BraketAwsBackend(arn, aws_session=session)
    declared = BraketAwsBackend.capabilities_for(arn, BraketAwsBackend.Options())
    for field in ("analytic", "shots", "noise", "remote", "deterministic_shots"):
        assert getattr(declared, field) == getattr(backend.capabilities, field), field
    assert declared.analytic == (device_type == "SIMULATOR")
