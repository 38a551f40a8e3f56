"""Amazon Braket devices on AWS (``braket.aws:<device arn>``): managed, journalled task submission.

Exact results are one created task per binding; shots go into program sets where the device
supports them (:mod:`hqnn_braket.packing`), else one task per executable. Every task is journalled
before hqnn waits for it and created with a client token and an ``hqnn-unit`` tag, so a lost create
response or a killed run re-attaches instead of paying twice (:mod:`hqnn_braket.journal`,
docs/adapters/braket.md "Managed execution").
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from braket.circuits.serialization import IRType
from braket.device_schema import DeviceActionType
from pydantic import BaseModel, ConfigDict, Field

from hqnn_braket import measurement, pricing
from hqnn_braket.base import BraketBackendBase
from hqnn_braket.errors import make_error, map_exception, task_failure
from hqnn_braket.journal import TaskJournal, fingerprint
from hqnn_braket.packing import Translation, Unit, chunks, empty_bits, pack_program_set, plan_units, program_set_bits, wire_order
from hqnn_braket.translate import supported_gates
from hqnn_core.errors import BackendError, ConfigError
from hqnn_core.interfaces import BackendCapabilities, Task
from hqnn_core.pricing import Price
from hqnn_core.redaction import guard_vendor_logging

_TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def utc_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _source(spec: Any) -> str:
    return str(spec.to_ir(ir_type=IRType.OPENQASM).source)


def _run_source(translations: list[Translation], rows: list[np.ndarray], t: int, s: int, idx: list[int]) -> tuple[str, Any]:
    tr = translations[t]
    return _source(tr.setting_circuits[s]), (tr.input_sets(rows[t][idx]) if tr.names else len(idx))


class _TokenSession:
    """The AwsSession, with one client token on CreateQuantumTask (AWS deduplicates a repeated token)."""

    def __init__(self, session: Any, token: str) -> None:
        self._session, self._token = session, token

    def create_quantum_task(self, **kwargs: Any) -> str:
        return self._session.create_quantum_task(clientToken=self._token, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


class BraketAwsBackend(BraketBackendBase):
    """Amazon Braket devices on AWS (managed simulators and QPUs): ``braket.aws:<device arn>``; costs money.

    Credentials come only from the AWS default chain (environment, profile via ``AWS_PROFILE``,
    SSO, instance or container role). Every task waits at most ``poll_timeout_s`` (never the
    SDK's 5-day default); a ``None`` result (FAILED, CANCELLED, timed out) raises a hqnn
    :class:`~hqnn_core.errors.BackendError` naming the task ARN and Braket's failureReason.
    Batches never resubmit failed tasks (``max_retries=0``). Tasks carry the tag ``hqnn-call``.
    """

    name = "braket.aws"
    capabilities = BackendCapabilities(max_qubits=0, remote=True, deterministic_shots=False, max_circuits_per_job=1)

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        s3_bucket: str | None = Field(None, description="result bucket (default: the SDK's amazon-braket-<region>-<account>)")
        s3_prefix: str = Field("hqnn", description="key prefix for task results")
        poll_timeout_s: float = Field(3600.0, gt=0, le=7 * 86400, description="longest wait for one task's result")
        poll_interval_s: float = Field(1.0, gt=0, description="seconds between status polls")
        max_parallel: int = Field(10, ge=1, description="tasks run_batch creates and polls concurrently")
        use_program_sets: bool = Field(True, description="pack shot executables into program sets where the device supports them")
        max_attempts: int = Field(3, ge=1, le=10, description="botocore attempts per API call (pinned, mode below)")
        retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
        connect_timeout_s: float = Field(10.0, gt=0)
        read_timeout_s: float = Field(60.0, gt=0)
        task_journal: str | None = Field(None, description="file recording created tasks before waiting, so a killed run re-attaches (hqnn train sets it in the run directory)")
        availability_refresh_s: float = Field(300.0, ge=0, description="re-read the device status and availability windows at most this often")
        search_pages: int = Field(5, ge=1, le=100, description="SearchQuantumTasks pages read to find a task whose create response was lost")

    options: Options

    def __init__(self, target: str | None = None, *, aws_session: Any = None, **options: Any) -> None:
        super().__init__(target, **options)
        self.journal: TaskJournal | None = TaskJournal(self.options.task_journal) if self.options.task_journal else None
        self.reattached: list[str] = []  # task ARNs found again instead of created (journal or lost response)
        self._checked_at = time.monotonic()
        if not target or not target.startswith("arn:aws:braket:"):
            raise ConfigError(
                f"braket.aws needs a device ARN, got {target!r}; write e.g. 'braket.aws:arn:aws:braket:::device/quantum-simulator/amazon/sv1'."
            )
        from braket.aws import AwsDevice  # imported here: boto3 is only needed for remote devices

        guard_vendor_logging()  # botocore logs signed headers at DEBUG, whatever logging the user set up
        self._session = aws_session if aws_session is not None else self._new_session()
        try:
            self.device = AwsDevice(target, aws_session=self._session)
            props = self.device.properties
        except Exception as e:  # noqa: BLE001 - every vendor failure is mapped to a hqnn error
            raise map_exception(e, self.full_name, "looking up the device") from e
        self._is_simulator = str(getattr(self.device.type, "value", self.device.type)) == "SIMULATOR"
        ps_action = props.action.get(DeviceActionType.OPENQASM_PROGRAM_SET) if self.options.use_program_sets else None
        self._max_executables = int(ps_action.maximumExecutables) if ps_action is not None else None
        self._max_total_shots = getattr(ps_action, "maximumTotalShots", None) if ps_action is not None else None
        qasm = props.action.get(DeviceActionType.OPENQASM)
        shots_range = getattr(getattr(props, "service", None), "shotsRange", None)
        self.capabilities = replace(  # refined by what the device tells (its type agrees with its ARN's)
            self.capabilities_for(target, self.options),
            analytic=self._is_simulator,
            noise=not self._is_simulator,
            max_qubits=int(props.paradigm.qubitCount),
            native_gates=supported_gates(qasm.supportedOperations) if qasm is not None else frozenset(),
            max_shots=int(shots_range[1]) if shots_range else None,
            max_circuits_per_job=self._max_executables or 1,
        )

    @classmethod
    def capabilities_for(cls, target: str | None, options: BaseModel) -> BackendCapabilities:
        """Exact results and no noise on managed simulators, samples with hardware noise on QPUs (read from the ARN);
        the qubit count, native gates, shot range and program-set limits come from the device once it is opened."""
        simulator = pricing.is_simulator(target or "")
        return replace(cls.capabilities, analytic=simulator, noise=not simulator)

    def device_class(self) -> str | None:
        """``braket:qpu:<provider>:<family>`` or ``braket:simulator:<name>``, from the device ARN."""
        return pricing.device_class(str(self.target))

    def price(self) -> Price | None:
        """Braket's list price of :meth:`device_class` (:mod:`hqnn_braket.pricing`); None for a device it does not list."""
        cls = self.device_class()
        return pricing.PRICES.get(cls) if cls is not None else None

    def _new_session(self) -> Any:
        import boto3
        from botocore.config import Config
        from braket.aws import AwsSession

        region = str(self.target).split(":")[3] or None
        config = Config(
            retries={"mode": self.options.retry_mode, "max_attempts": self.options.max_attempts},
            connect_timeout=self.options.connect_timeout_s,
            read_timeout=self.options.read_timeout_s,
        )
        try:
            return AwsSession(boto_session=boto3.Session(region_name=region) if region else boto3.Session(), config=config)
        except Exception as e:  # noqa: BLE001
            raise map_exception(e, self.full_name, "creating the AWS session") from e

    def executables_per_job(self, shots: int | None) -> int:
        if shots is None or self._max_executables is None:
            return 1  # exact results and devices without program sets: one billed task per executable
        return self._program_set_limit(shots)

    def _destination(self) -> tuple[str, str] | None:
        return (self.options.s3_bucket, self.options.s3_prefix) if self.options.s3_bucket else None

    def _task_kwargs(self, call_id: str) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "poll_timeout_seconds": self.options.poll_timeout_s,
            "poll_interval_seconds": self.options.poll_interval_s,
            "tags": {"hqnn-call": call_id},
        }
        if self._destination():
            kwargs["s3_destination_folder"] = self._destination()
        return kwargs

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        self._check_available()
        translations = [self.translation(c) for c, _ in tasks]
        rows = self._rows(tasks)
        units = plan_units(translations, rows, shots)
        call_id = uuid.uuid4().hex
        if shots is None:
            return self._as_tensors(self._run_exact(translations, rows, units, call_id))
        if self._max_executables is not None:
            return self._as_tensors(self._run_program_sets(translations, rows, units, shots, call_id))
        return self._as_tensors(self._run_shot_batch(translations, rows, units, shots, call_id))

    def _batch(self, specs: list[Any], inputs: list[dict[str, float]], shots: int, call_id: str) -> list[Any]:
        """Create one task per spec (or re-attach to a journalled one) and return their results."""
        if not specs:
            return []
        keys = [fingerprint(str(self.target), shots, [(_source(s), i)]) for s, i in zip(specs, inputs)]
        return self._collect(self._submit_all(list(zip(specs, inputs, keys)), shots, call_id), keys)

    # -- submission: journalled, idempotent, never blindly resubmitted (RELIABILITY.md R4/R7) --------
    def _submit_all(self, requests: list[tuple[Any, dict[str, float] | None, str]], shots: int, call_id: str) -> list[Any]:
        workers = max(1, min(len(requests), self.options.max_parallel))
        if workers == 1:
            return [self._submit(spec, inputs, key, shots, call_id, i) for i, (spec, inputs, key) in enumerate(requests)]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(lambda a: self._submit(a[1][0], a[1][1], a[1][2], shots, call_id, a[0]), enumerate(requests)))

    def _submit(self, spec: Any, inputs: dict[str, float] | None, key: str, shots: int, call_id: str, index: int) -> Any:
        """One task for ``spec``: re-attached if the journal (or a tag search) knows it, else created once."""
        from braket.aws import AwsQuantumTask

        entry = self.journal.get(key) if self.journal is not None else None
        if entry and entry.get("arn"):
            return self._reattach(entry["arn"])
        unit = entry["unit"] if entry else f"{call_id}-{index}"
        token = entry["token"] if entry else uuid.uuid4().hex
        if entry:  # killed between sending CreateQuantumTask and journalling its ARN: the task may exist
            found = self._search(unit)
            if found is not None:
                self._journal(key, arn=found)
                return self._reattach(found)
        self._journal(key, token=token, unit=unit, arn=None, device=self.target, created=utc_iso())
        destination = self._destination() or (self._session.default_bucket(), "tasks")
        kwargs = self._task_kwargs(call_id)
        kwargs.pop("s3_destination_folder", None)
        kwargs["tags"] = {**kwargs["tags"], "hqnn-unit": unit}
        try:
            task = AwsQuantumTask.create(_TokenSession(self._session, token), str(self.target), spec, destination, shots,
                                         inputs=inputs or {}, **kwargs)
            arn = task.id
        except Exception as e:  # noqa: BLE001 - every vendor failure is mapped to a hqnn error
            err = map_exception(e, self.full_name, f"submitting a task (hqnn-call {call_id}, hqnn-unit {unit})", submitting=True)
            if err.kind != "ambiguous_submit":
                self._forget([key])
                raise err from e
            found = self._search(unit)  # the request was sent; the response was lost: look the task up by its tag
            if found is None:
                self._forget([key])
                raise make_error("transient", f"{err} No task tagged hqnn-unit={unit} exists on {self.target}, so none was created; "
                                 "retrying is safe.", code=err.code, vendor_error=type(e).__name__) from e
            self._journal(key, arn=found)
            return self._reattach(found)
        self._journal(key, arn=arn)
        self._count_job()
        return self._attach(arn)

    def attach_journal(self, path: Path) -> None:
        """Journal this backend's tasks in ``path`` (hqnn train passes the run directory's pending_tasks.json)."""
        if self.journal is None:
            self.journal = TaskJournal(path)

    def _attach(self, arn: str) -> Any:
        from braket.aws import AwsQuantumTask

        return AwsQuantumTask(arn, aws_session=self._session, poll_timeout_seconds=self.options.poll_timeout_s,
                              poll_interval_seconds=self.options.poll_interval_s)

    def _reattach(self, arn: str) -> Any:
        self.reattached.append(arn)
        self._count_job()  # the task is this call's job; it was paid once, by whichever process created it
        return self._attach(arn)

    def _search(self, unit: str) -> str | None:
        """The ARN of the task tagged ``hqnn-unit=unit`` on this device (SearchQuantumTasks), or None."""
        client = self._session.braket_client
        token: str | None = None
        for _ in range(self.options.search_pages):
            kwargs: dict[str, Any] = {"filters": [{"name": "deviceArn", "operator": "EQUAL", "values": [str(self.target)]}], "maxResults": 100}
            if token:
                kwargs["nextToken"] = token
            try:
                page = client.search_quantum_tasks(**kwargs)
            except Exception as e:  # noqa: BLE001
                raise map_exception(e, self.full_name, f"searching for the task tagged hqnn-unit={unit}") from e
            for item in page.get("quantumTasks", []):
                if (item.get("tags") or {}).get("hqnn-unit") == unit:
                    return str(item["quantumTaskArn"])
            token = page.get("nextToken")
            if not token:
                return None
        return None

    def _journal(self, key: str, **fields: Any) -> None:
        if self.journal is not None:
            self.journal.put(key, **fields)

    def _forget(self, keys: list[str]) -> None:
        if self.journal is not None:
            self.journal.remove(keys)

    def _collect(self, tasks: list[Any], keys: list[str]) -> list[Any]:
        """Results of ``tasks``; terminal tasks leave the journal, still-running ones stay for re-attaching."""
        try:
            results = self._await(tasks)
        except BaseException as e:
            if isinstance(e, BackendError) and e.kind in ("permanent", "unavailable"):  # FAILED/CANCELLED: terminal, nothing to re-attach
                self._forget(keys)
            raise
        self._forget(keys)
        return results

    # -- device status, availability windows, queue --------------------------------------------------
    def _check_available(self) -> None:
        """Raise UnavailableBackendError (fallback may take over) when the device is offline or outside its window."""
        if time.monotonic() - self._checked_at >= self.options.availability_refresh_s:
            try:
                self.device.refresh_metadata()
            except Exception as e:  # noqa: BLE001
                raise map_exception(e, self.full_name, "reading the device status") from e
            self._checked_at = time.monotonic()
        status = self.device.status
        if status != "ONLINE":
            raise make_error("unavailable", f"{self.full_name}: device {self.target} is {status}; nothing was submitted. Fix: wait until it is "
                             "ONLINE, or list another backend under backend.fallback.")
        if not self._is_simulator and not self.device.is_available:
            windows = [f"{w.executionDay.value} {w.windowStartHour}-{w.windowEndHour} UTC" for w in self.device.properties.service.executionWindows]
            raise make_error("unavailable", f"{self.full_name}: device {self.target} is outside its availability windows ({'; '.join(windows)}); "
                             "nothing was submitted. Fix: run inside a window, or list another backend under backend.fallback.")

    def queue_info(self) -> dict[str, Any] | None:
        """Queue expectations before submitting (GetDevice ``deviceQueueInfo``), for ``hqnn estimate``."""
        try:
            depth = self.device.queue_depth()
        except Exception as e:  # noqa: BLE001
            raise map_exception(e, self.full_name, "reading the device queue") from e
        tasks = {str(getattr(k, "value", k)): _int(v) for k, v in (depth.quantum_tasks or {}).items()}
        return {"device": self.target, "status": self.device.status, "available": bool(self.device.is_available),
                "quantum_tasks": tasks, "jobs": _int(depth.jobs), "source": "GetDevice deviceQueueInfo"}

    def _await(self, tasks: list[Any]) -> list[Any]:
        """Poll ``tasks`` until all are terminal or ``poll_timeout_s`` passes, then download the results.

        hqnn polls itself instead of ``AwsQuantumTaskBatch.results()``: one deadline for the whole
        call, no hidden resubmission (the batch's retries never run; ``max_retries=0`` in effect),
        and no event loops left open by the SDK's asyncio polling. FAILED (program sets included,
        which may carry partial results), CANCELLED and still-running tasks raise, naming the ARN.
        """
        deadline = time.monotonic() + self.options.poll_timeout_s
        pending = list(tasks)
        while pending:
            try:
                pending = [t for t in pending if t.state() not in _TERMINAL]
            except Exception as e:  # noqa: BLE001
                raise map_exception(e, self.full_name, "polling task status") from e
            if pending and time.monotonic() >= deadline:
                raise self._failure(pending[0], still_waiting=len(pending))
            if pending:
                time.sleep(self.options.poll_interval_s)
        for task in tasks:
            if task.state(use_cached_value=True) != "COMPLETED":
                raise self._failure(task)
        try:
            with ThreadPoolExecutor(max_workers=max(1, min(len(tasks), self.options.max_parallel))) as pool:
                results = list(pool.map(lambda t: t.result(), tasks))
        except Exception as e:  # noqa: BLE001
            raise map_exception(e, self.full_name, "downloading task results") from e
        for task, result in zip(tasks, results):
            if result is None:
                raise self._failure(task)
        return results

    def _failure(self, task: Any, still_waiting: int = 1) -> Exception:
        try:
            meta = task.metadata(use_cached_value=True)
        except Exception:  # noqa: BLE001 - the failure itself is what we report
            meta = {}
        err = task_failure(self.full_name, task.id, meta.get("status"), meta.get("failureReason"), self.options.poll_timeout_s)
        if still_waiting > 1:
            err.args = (f"{err.args[0]} {still_waiting - 1} more tasks of this call were still running too.",)
        return err

    def _run_exact(self, translations: list[Translation], rows: list[np.ndarray], units: list[Unit],
                   call_id: str) -> list[np.ndarray]:
        term_values = [np.zeros((r.shape[0], len(tr.plan.terms))) for tr, r in zip(translations, rows)]
        runnable = [u for u in units if translations[u[0]].plan.terms]
        specs = [translations[t].exact_circuit for t, _, _ in runnable]
        inputs = [translations[t].inputs(rows[t][i : i + 1])[0] for t, _, i in runnable]
        for (t, _, i), result in zip(runnable, self._batch(specs, inputs, 0, call_id)):
            term_values[t][i] = result.values
        return [tr.plan.combine(v) for tr, v in zip(translations, term_values)]

    def _run_shot_batch(self, translations: list[Translation], rows: list[np.ndarray], units: list[Unit],
                        shots: int, call_id: str) -> list[np.ndarray]:
        bits = empty_bits(translations, rows, shots)
        specs = [translations[t].setting_circuits[s] for t, s, _ in units]
        inputs = [translations[t].inputs(rows[t][i : i + 1])[0] for t, _, i in units]
        for (t, s, i), result in zip(units, self._batch(specs, inputs, shots, call_id)):
            bits[t][s][i] = wire_order(np.asarray(result.measurements), result.measured_qubits, translations[t].circuit.n_qubits)
        return [measurement.expectations_from_bits(b, tr.plan, r.shape[0]) for tr, b, r in zip(translations, bits, rows)]

    def _run_program_sets(self, translations: list[Translation], rows: list[np.ndarray], units: list[Unit],
                          shots: int, call_id: str) -> list[np.ndarray]:
        bits = empty_bits(translations, rows, shots)
        sets = [pack_program_set([units[k] for k in chunk], translations, rows, shots) for chunk in chunks(len(units), self._program_set_limit(shots))]
        requests: list[tuple[Any, dict[str, float] | None, str]] = []
        keys: list[str] = []
        for program_set, runs in sets:
            key = fingerprint(str(self.target), shots, [[_run_source(translations, rows, t, s, idx) for t, s, idx in runs]])
            requests.append((program_set, None, key))
            keys.append(key)
        total = [shots * ps.total_executables for ps, _ in sets]
        tasks = [self._submit(spec, None, key, n, call_id, i) for i, ((spec, _, key), n) in enumerate(zip(requests, total))]
        results = self._collect(tasks, keys)
        for (_, runs), result in zip(sets, results):
            program_set_bits(result, runs, translations, bits)
        return [measurement.expectations_from_bits(b, tr.plan, r.shape[0]) for tr, b, r in zip(translations, bits, rows)]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["device"] = {
            "arn": self.target,
            "name": getattr(self.device, "name", None),
            "type": "SIMULATOR" if self._is_simulator else "QPU",
            "provider": getattr(self.device, "provider_name", None),
            "region": getattr(self._session, "region", None),
            "program_set_limits": {"maximumExecutables": self._max_executables, "maximumTotalShots": self._max_total_shots},
        }
        info["botocore"] = {"retry_mode": self.options.retry_mode, "max_attempts": self.options.max_attempts}
        info["task_journal"] = str(self.journal.path) if self.journal is not None else None
        return info
