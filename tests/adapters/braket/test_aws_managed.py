"""``braket.aws:<arn>`` end to end: a loopback Braket control plane and an S3 bucket mocked with moto.

The control plane (GetDevice, CreateQuantumTask, GetQuantumTask, SearchQuantumTasks) is answered on
the braket client's ``before-call`` events; at creation the fake computes the task's result with
Braket's own local simulator and writes ``results.json`` into the moto bucket under the requested
destination, so the SDK's real S3 download and result parsing run. Oracles: closed forms (cos, sin)
for expectations, the number of CreateQuantumTask requests for the no-double-pay properties
(RELIABILITY.md R4, R7), and the error class and message for FAILED, CANCELLED, throttling and an
offline device.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime

import pytest

pytest.importorskip("braket.aws")
moto = pytest.importorskip("moto")

import boto3  # noqa: E402
import torch  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError, ReadTimeoutError  # noqa: E402
from braket.aws import AwsSession  # noqa: E402
from braket.devices import LocalSimulator  # noqa: E402
from braket.schema_common import BraketSchemaBase  # noqa: E402

from hqnn_braket.backend import BraketAwsBackend, BraketLocalBackend  # noqa: E402
from hqnn_braket.journal import TaskJournal  # noqa: E402
from hqnn_core import CircuitBuilder, Observable, PermanentBackendError, TransientBackendError, UnavailableBackendError  # noqa: E402
from hqnn_core.errors import FallbackWarning  # noqa: E402
from hqnn_core.execution.fallback import FallbackBackend  # noqa: E402
from hqnn_core.execution.retry import RetryPolicy  # noqa: E402
from hqnn_core.testing.stats import shot_tolerance  # noqa: E402

pytestmark = [pytest.mark.vendor, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

SV1 = "arn:aws:braket:::device/quantum-simulator/amazon/sv1"
DM1 = "arn:aws:braket:::device/quantum-simulator/amazon/dm1"
TN1 = "arn:aws:braket:::device/quantum-simulator/amazon/tn1"
QPU = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
BUCKET, PREFIX = "amzn-braket-hqnn-results", "hqnn-managed"


class LoopbackBraket:
    """The Braket control plane in memory; results land in (moto) S3 like the service writes them."""

    def __init__(self, client, s3, device_arn: str, device_type: str) -> None:
        self.s3, self.device_arn, self.device_type = s3, device_arn, device_type
        self.tasks: list[dict] = []  # every task that exists (created once, whatever the client saw)
        self.creates = 0  # CreateQuantumTask requests received
        self.gets: list[str] = []
        self.searches = 0
        self.status = "ONLINE"
        self.final = "COMPLETED"
        self.reasons: dict[int, str] = {}
        self.create_faults: list[str] = []  # per request: "throttle" | "lost" (task created, response lost) | "dropped"
        self.get_fault: type[BaseException] | None = None
        self.queue = [{"queue": "QUANTUM_TASKS_QUEUE", "queueSize": "17", "queuePriority": "Normal"},
                      {"queue": "QUANTUM_TASKS_QUEUE", "queueSize": "2", "queuePriority": "Priority"},
                      {"queue": "JOBS_QUEUE", "queueSize": "1"}]
        self._lock = threading.Lock()
        self._params = threading.local()
        events = client.meta.events
        for op in ("CreateQuantumTask", "GetQuantumTask", "SearchQuantumTasks", "GetDevice"):
            events.register(f"provide-client-params.braket.{op}", self._remember)
        events.register_first("before-call.braket.CreateQuantumTask", self._create)
        events.register_first("before-call.braket.GetQuantumTask", self._get)
        events.register_first("before-call.braket.SearchQuantumTasks", self._search)
        events.register_first("before-call.braket.GetDevice", self._device)

    def _remember(self, params, **_):
        self._params.value = dict(params)

    @staticmethod
    def arn(i: int) -> str:
        return f"arn:aws:braket:us-east-1:123456789012:quantum-task/task-{i}"

    def _device(self, **_):
        caps = json.loads(LocalSimulator("braket_sv").properties.json())
        return AWSResponse("https://braket", 200, {}, None), {
            "deviceArn": self.device_arn, "deviceName": self.device_arn.rsplit("/", 1)[1], "providerName": "Amazon Braket",
            "deviceType": self.device_type, "deviceStatus": self.status, "deviceCapabilities": json.dumps(caps), "deviceQueueInfo": self.queue}

    def _create(self, **_):
        params = self._params.value
        with self._lock:
            self.creates += 1
            fault = self.create_faults.pop(0) if self.create_faults else None
            if fault == "throttle":
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                                   "ResponseMetadata": {"HTTPStatusCode": 429}}, "CreateQuantumTask")
            if fault == "dropped":  # the connection broke before the service saw the request
                raise ReadTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com/quantum-task")
            i = len(self.tasks)
            self.tasks.append(params)
        self._write_result(i, params)
        if fault == "lost":  # created, but the response never reached the client
            raise ReadTimeoutError(endpoint_url="https://braket.us-east-1.amazonaws.com/quantum-task")
        return AWSResponse("https://braket", 200, {}, None), {"quantumTaskArn": self.arn(i)}

    def _write_result(self, i: int, params: dict) -> None:
        program = BraketSchemaBase.parse_raw_schema(params["action"])
        result = json.loads(LocalSimulator("braket_sv")._delegate.run(program, shots=params["shots"]).json())
        result = {k: v for k, v in result.items() if v not in (None, [])}
        result["taskMetadata"]["id"] = self.arn(i)
        key = f"{params['outputS3KeyPrefix']}/{i}/results.json"
        self.s3.put_object(Bucket=params["outputS3Bucket"], Key=key, Body=json.dumps(result).encode())

    def _get(self, **_):
        arn = self._params.value["quantumTaskArn"]
        self.gets.append(arn)
        if self.get_fault is not None:
            raise self.get_fault()
        i = int(arn.rsplit("-", 1)[1])
        params = self.tasks[i]
        body = {"quantumTaskArn": arn, "status": self.final, "deviceArn": self.device_arn, "deviceParameters": "{}",
                "shots": params["shots"], "outputS3Bucket": params["outputS3Bucket"],
                "outputS3Directory": f"{params['outputS3KeyPrefix']}/{i}", "createdAt": datetime(2026, 1, 1),
                "actionMetadata": {"actionType": json.loads(params["action"])["braketSchemaHeader"]["name"]}, "tags": params.get("tags", {})}
        if i in self.reasons:
            body["failureReason"] = self.reasons[i]
        return AWSResponse("https://braket", 200, {}, None), body

    def _search(self, **_):
        self.searches += 1
        items = [{"quantumTaskArn": self.arn(i), "status": "QUEUED", "deviceArn": self.device_arn, "shots": p["shots"],
                  "outputS3Bucket": p["outputS3Bucket"], "outputS3Directory": f"{p['outputS3KeyPrefix']}/{i}",
                  "createdAt": datetime(2026, 1, 1), "tags": p.get("tags", {})} for i, p in enumerate(self.tasks)]
        return AWSResponse("https://braket", 200, {}, None), {"quantumTasks": items}


@pytest.fixture
def cloud(monkeypatch):
    """moto S3 with the results bucket, and a Braket client (retries pinned to 1 attempt) in an AwsSession."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        boto = boto3.Session(region_name="us-east-1")
        s3 = boto.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        braket = boto.client("braket", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        session = AwsSession(boto_session=boto, braket_client=braket, default_bucket=BUCKET)
        yield session, s3


def _backend(cloud, arn: str = SV1, device_type: str = "SIMULATOR", **options):
    session, s3 = cloud
    fake = LoopbackBraket(session.braket_client, s3, arn, device_type)
    opts = {"s3_bucket": BUCKET, "s3_prefix": PREFIX, "poll_timeout_s": 5.0, "poll_interval_s": 0.01, "max_parallel": 1, **options}
    return BraketAwsBackend(arn, aws_session=session, **opts), fake


def _ry():
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    return b.build([Observable.parse("Z0"), Observable.parse("X0")])


def _closed(t):
    return torch.cat([torch.cos(t), torch.sin(t)], dim=1)


T = torch.tensor([[0.3], [-1.2]], dtype=torch.float64)


@pytest.mark.parametrize("arn", [SV1, DM1])
def test_exact_results_travel_through_s3_destination(cloud, arn):
    backend, fake = _backend(cloud, arn)
    out = backend.expectations(_ry(), T)
    torch.testing.assert_close(out, _closed(T), atol=1e-12, rtol=0)
    assert fake.creates == 2 == backend.accounting.jobs
    keys = sorted(o["Key"] for o in cloud[1].list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [f"{PREFIX}/0/results.json", f"{PREFIX}/1/results.json"]
    assert all(t["deviceArn"] == arn and t["outputS3Bucket"] == BUCKET and len(t["clientToken"]) == 32 for t in fake.tasks)


@pytest.mark.parametrize(("arn", "device_type"), [(SV1, "SIMULATOR"), (TN1, "SIMULATOR"), (QPU, "QPU")])
def test_shots_in_one_program_set_parsed_from_s3(cloud, arn, device_type):
    backend, fake = _backend(cloud, arn, device_type)
    out = backend.expectations(_ry(), T, shots=3000)
    exact = _closed(T)
    assert bool(((out - exact).abs() <= shot_tolerance(exact, _ry().observables, 3000)).all())
    (task,) = fake.tasks
    assert json.loads(task["action"])["braketSchemaHeader"]["name"] == "braket.ir.openqasm.program_set"
    assert task["shots"] == 3000 * 4 and set(task["tags"]) == {"hqnn-call", "hqnn-unit"}


@pytest.mark.parametrize(("final", "error", "words"), [("FAILED", PermanentBackendError, "FAILED: qubit count over the limit"),
                                                        ("CANCELLED", UnavailableBackendError, "was CANCELLED")])
def test_failed_and_cancelled_tasks_name_arn_and_reason(cloud, tmp_path, final, error, words):
    backend, fake = _backend(cloud, task_journal=str(tmp_path / "pending_tasks.json"))
    fake.final = final
    fake.reasons[0] = "qubit count over the limit"
    with pytest.raises(error, match=words) as info:
        backend.expectations(_ry(), T[:1])
    assert fake.arn(0) in str(info.value) and fake.creates == 1
    assert TaskJournal(tmp_path / "pending_tasks.json").entries() == {}  # terminal: nothing left to re-attach


def test_throttling_is_retried_by_the_retry_layer_not_botocore(cloud):
    backend, fake = _backend(cloud)
    fake.create_faults = ["throttle", "throttle"]
    chain = FallbackBackend([backend], RetryPolicy(max_attempts=4, initial_wait=0.0, jitter=0.0), sleep=lambda s: None)
    out = chain.expectations(_ry(), T[:1])
    torch.testing.assert_close(out, _closed(T[:1]), atol=1e-12, rtol=0)
    assert fake.creates == 3 and len(fake.tasks) == 1  # botocore made 1 attempt per call (pinned); hqnn retried twice


def test_offline_device_submits_nothing_and_falls_back(cloud):
    backend, fake = _backend(cloud, availability_refresh_s=0.0)
    fake.status = "OFFLINE"
    with pytest.raises(UnavailableBackendError, match="OFFLINE.*backend.fallback"):
        backend.expectations(_ry(), T[:1])
    chain = FallbackBackend([backend, BraketLocalBackend("sv")], RetryPolicy(max_attempts=1), sleep=lambda s: None)
    with pytest.warns(FallbackWarning, match="to braket.local:sv"):
        torch.testing.assert_close(chain.expectations(_ry(), T[:1]), _closed(T[:1]), atol=1e-12, rtol=0)
    assert fake.creates == 0 and chain.switches[0].to_backend == "braket.local:sv"


def test_qpu_outside_its_availability_window_is_unavailable(cloud, monkeypatch):
    backend, fake = _backend(cloud, QPU, "QPU")
    monkeypatch.setattr(type(backend.device), "is_available", property(lambda self: False))
    with pytest.raises(UnavailableBackendError, match="availability windows"):
        backend.expectations(_ry(), T[:1], shots=100)
    assert fake.creates == 0


def test_queue_info_reads_device_queue(cloud):
    backend, _ = _backend(cloud, QPU, "QPU")
    info = backend.queue_info()
    assert info["quantum_tasks"] == {"Normal": 17, "Priority": 2} and info["jobs"] == 1 and info["status"] == "ONLINE"


# -- R4: ambiguous submit; R7: killed while pending -------------------------------------------------
def test_r4_lost_create_response_reattaches_by_tag_without_a_second_create(cloud, tmp_path):
    backend, fake = _backend(cloud, task_journal=str(tmp_path / "pending_tasks.json"))
    fake.create_faults = ["lost"]
    out = backend.expectations(_ry(), T[:1])
    torch.testing.assert_close(out, _closed(T[:1]), atol=1e-12, rtol=0)
    assert fake.creates == 1 and len(fake.tasks) == 1 and fake.searches == 1
    assert backend.reattached == [fake.arn(0)] and backend.accounting.jobs == 1


def test_r4_dropped_request_is_confirmed_absent_then_retried_safely(cloud):
    backend, fake = _backend(cloud)
    fake.create_faults = ["dropped"]
    with pytest.raises(TransientBackendError, match="none was created; retrying is safe"):
        backend.expectations(_ry(), T[:1])
    assert fake.tasks == [] and fake.searches == 1
    chain = FallbackBackend([backend], RetryPolicy(max_attempts=2, initial_wait=0.0, jitter=0.0), sleep=lambda s: None)
    fake.create_faults = ["dropped"]
    torch.testing.assert_close(chain.expectations(_ry(), T[:1]), _closed(T[:1]), atol=1e-12, rtol=0)
    assert len(fake.tasks) == 1


def test_r7_killed_while_pending_resumes_by_reattaching(cloud, tmp_path):
    journal = str(tmp_path / "pending_tasks.json")
    first, fake = _backend(cloud, task_journal=journal)
    fake.get_fault = KeyboardInterrupt  # the process dies while waiting (after the ARN was journalled)
    with pytest.raises(KeyboardInterrupt):
        first.expectations(_ry(), T)
    assert fake.creates == 2 and {e["arn"] for e in TaskJournal(journal).entries().values()} == {fake.arn(0), fake.arn(1)}

    fake.get_fault = None
    resumed = BraketAwsBackend(SV1, aws_session=cloud[0], s3_bucket=BUCKET, s3_prefix=PREFIX, poll_interval_s=0.01, task_journal=journal)
    gets_before = len(fake.gets)
    out = resumed.expectations(_ry(), T)
    torch.testing.assert_close(out, _closed(T), atol=1e-12, rtol=0)
    assert fake.creates == 2 and sorted(resumed.reattached) == [fake.arn(0), fake.arn(1)]  # 0 new CreateQuantumTask
    assert set(fake.gets[gets_before:]) == {fake.arn(0), fake.arn(1)}
    assert TaskJournal(journal).entries() == {}


def test_r7_killed_between_create_and_journal_finds_the_task_by_tag(cloud, tmp_path):
    journal = str(tmp_path / "pending_tasks.json")
    first, fake = _backend(cloud, task_journal=journal)
    fake.create_faults = ["lost"]
    fake.get_fault = KeyboardInterrupt
    real_search = first._search
    first._search = lambda unit: (_ for _ in ()).throw(KeyboardInterrupt())  # killed before the lookup could run
    with pytest.raises(KeyboardInterrupt):
        first.expectations(_ry(), T[:1])
    first._search = real_search
    (entry,) = TaskJournal(journal).entries().values()
    assert entry["arn"] is None and fake.creates == 1
    fake.get_fault = None
    resumed = BraketAwsBackend(SV1, aws_session=cloud[0], s3_bucket=BUCKET, s3_prefix=PREFIX, poll_interval_s=0.01, task_journal=journal)
    torch.testing.assert_close(resumed.expectations(_ry(), T[:1]), _closed(T[:1]), atol=1e-12, rtol=0)
    assert fake.creates == 1 and resumed.reattached == [fake.arn(0)]


def test_hqnn_train_gives_each_rank_a_journal_in_the_run_directory(cloud, tmp_path):
    from hqnn_core.training.distributed import DistContext, attach_task_journals

    backend, _ = _backend(cloud)
    attach_task_journals(FallbackBackend([backend], RetryPolicy(max_attempts=1)), tmp_path, None)
    assert backend.journal is not None and backend.journal.path == tmp_path / "pending_tasks.json"
    other, _ = _backend(cloud)
    attach_task_journals(other, tmp_path, DistContext(1, 2, 1, "gloo"))
    assert other.journal.path == tmp_path / "pending_tasks.rank1.json"
