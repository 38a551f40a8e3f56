"""Amazon Braket backends: the local simulators (``braket.local:sv|dm``) and AWS devices (``braket.aws:<arn>``).

Every call translates each neutral circuit once (cached) into one parametric Braket circuit and
packs all bindings of the call into as few tasks as the device allows:

* shots > 0 with program-set support: ``ProgramSet``s of ``CircuitBinding``s, each at most the
  device's ``maximumExecutables`` and ``maximumTotalShots`` (one executable per binding and
  measurement setting);
* exact results (``shots=None``): Braket has no exact program sets, so one OpenQASM program and one
  input set per binding (``run_batch`` locally; one created task per binding on AWS).

On AWS every task is journalled before hqnn waits for it and created with a client token and an
``hqnn-unit`` tag, so a lost create response or a killed run re-attaches instead of paying twice
(:mod:`hqnn_braket.journal`, docs/adapters/braket.md "Managed execution").

A *job* in :attr:`accounting` is one program set (or, on AWS, one billed task). Shot semantics
are in :mod:`hqnn_braket.measurement` and match the embedded torch backend's.
"""

from __future__ import annotations

import math
import time
import uuid
import warnings
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal

import numpy as np
import torch
from braket.circuits import Circuit as BraketCircuit
from braket.circuits.serialization import IRType
from braket.device_schema import DeviceActionType
from braket.devices import LocalSimulator
from braket.program_sets import CircuitBinding, ProgramSet
from pydantic import BaseModel, ConfigDict, Field

from hqnn_braket import engine, measurement
from hqnn_braket import errors as braket_errors
from hqnn_braket import hqnn_environment_info as sdk_versions
from hqnn_braket.errors import make_error, map_exception, task_failure
from hqnn_braket.journal import TaskJournal, fingerprint
from hqnn_braket.translate import param_name, supported_gates, to_braket, with_basis_rotation, with_expectations
from hqnn_core.circuit import Circuit
from hqnn_core.errors import ConfigError
from hqnn_core.interfaces import Backend, BackendCapabilities, Task
from hqnn_core.measurement import MeasurementPlan, plan_measurements
from hqnn_core.redaction import guard_vendor_logging

_LOCAL_DEVICES = {"sv": "braket_sv", "dm": "braket_dm"}
_CACHE_SIZE = 32
_TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
_STATE_BUDGET = 256 * 2**20  # bytes of final states the direct engine holds at once


@dataclass
class _Translation:
    """Everything derived once from a neutral circuit (and the backend's noise settings)."""

    circuit: Circuit
    body: BraketCircuit  # parametric, no result types
    plan: MeasurementPlan
    names: list[str] = field(default_factory=list)

    @cached_property
    def exact_circuit(self) -> BraketCircuit:
        return with_expectations(self.body, self.plan.terms)

    @cached_property
    def exact_program(self) -> Any:
        return self.exact_circuit.to_ir(ir_type=IRType.OPENQASM)

    @cached_property
    def setting_circuits(self) -> list[BraketCircuit]:
        return [with_basis_rotation(self.body, s.basis) for s in self.plan.settings]

    @cached_property
    def engine_plan(self) -> engine.EnginePlan:
        return engine.compile_circuit(self.body, self.circuit.n_qubits, {n: i for i, n in enumerate(self.names)})

    def inputs(self, rows: np.ndarray) -> list[dict[str, float]]:
        return [dict(zip(self.names, map(float, r))) for r in rows]

    def input_sets(self, rows: np.ndarray) -> dict[str, list[float]] | None:
        return {n: rows[:, i].tolist() for i, n in enumerate(self.names)} if self.names else None


def _chunks(n_units: int, limit: int) -> list[range]:
    return [range(start, min(start + limit, n_units)) for start in range(0, n_units, limit)]


def _wire_order(bits: np.ndarray, measured_qubits: list[int], n_qubits: int) -> np.ndarray:
    """Measured bits ``[S, m]`` with columns in ``measured_qubits`` order to ``[S, n]`` in wire order."""
    out = np.zeros((bits.shape[0], n_qubits), dtype=np.int8)
    out[:, list(measured_qubits)] = bits
    return out


class _BraketBackend(Backend):
    """Shared translation cache, unit planning and result assembly of the Braket backends."""

    vendor = "Amazon Braket"
    #: per program set, from the device's ``braket.ir.openqasm.program_set`` action (None: unsupported)
    _max_executables: int | None = None
    _max_total_shots: int | None = None

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        self._translations: OrderedDict[Circuit, _Translation] = OrderedDict()

    # -- translation ---------------------------------------------------------------------------
    def _noise(self) -> dict[str, float]:
        return {}

    def translation(self, circuit: Circuit) -> _Translation:
        """The cached translation of ``circuit`` (built on first use, least recently used dropped)."""
        found = self._translations.get(circuit)
        if found is not None:
            self._translations.move_to_end(circuit)
            return found
        body = to_braket(circuit, **self._noise())
        t = _Translation(circuit, body, plan_measurements(circuit), [param_name(i) for i in range(circuit.n_slots)])
        self._translations[circuit] = t
        if len(self._translations) > _CACHE_SIZE:
            self._translations.popitem(last=False)
        return t

    # -- job planning --------------------------------------------------------------------------
    def executables_per_job(self, shots: int | None) -> int | None:
        """Executables one job carries: a program set's limits for shots, else the exact-mode unit (None: no limit)."""
        raise NotImplementedError

    def jobs_for(self, n_circuits: int, shots: int | None = None, settings: int = 1) -> int:
        """Jobs for ``n_circuits`` bindings; with shots each binding needs one executable per setting."""
        units = n_circuits * (settings if shots is not None else 1)
        limit = self.executables_per_job(shots)
        return 1 if limit is None else max(1, math.ceil(units / limit))

    def _program_set_limit(self, shots: int) -> int:
        assert self._max_executables is not None
        limit = self._max_executables
        if self._max_total_shots:
            limit = min(limit, self._max_total_shots // shots)
        return max(1, limit)

    @staticmethod
    def _units(translations: list[_Translation], rows: list[np.ndarray], shots: int | None) -> list[tuple[int, int, int]]:
        """``(task, setting, row)`` executables, task-major, then setting, then row (setting -1: exact)."""
        units: list[tuple[int, int, int]] = []
        for t, (tr, r) in enumerate(zip(translations, rows)):
            settings = range(len(tr.plan.settings)) if shots is not None else [-1]
            units.extend((t, s, i) for s in settings for i in range(r.shape[0]))
        return units

    @staticmethod
    def _runs(units: list[tuple[int, int, int]]) -> list[tuple[int, int, list[int]]]:
        """Consecutive units of the same task and setting: ``(task, setting, rows)``."""
        runs: list[tuple[int, int, list[int]]] = []
        for t, s, i in units:
            if runs and runs[-1][0] == t and runs[-1][1] == s:
                runs[-1][2].append(i)
            else:
                runs.append((t, s, [i]))
        return runs

    def _program_set(self, chunk: list[tuple[int, int, int]], translations: list[_Translation], rows: list[np.ndarray],
                     shots: int) -> tuple[ProgramSet, list[tuple[int, int, list[int]]]]:
        """One program set for a chunk of shot executables, and where its entries belong."""
        programs: list[Any] = []
        runs = self._runs(chunk)
        for t, s, idx in runs:
            tr = translations[t]
            circuit = tr.setting_circuits[s]
            if tr.names:
                programs.append(CircuitBinding(circuit, input_sets=tr.input_sets(rows[t][idx])))
            else:  # no parameters: CircuitBinding needs inputs, so list the circuit once per binding
                programs.extend([circuit] * len(idx))
        return ProgramSet(programs, shots_per_executable=shots), runs

    @staticmethod
    def _program_set_bits(result: Any, runs: list[tuple[int, int, list[int]]], translations: list[_Translation],
                          bits: list[list[np.ndarray]]) -> None:
        """Copy each executable's measured bits from a program-set result into ``bits[task][setting]``."""
        measured = [e for composite in result.entries for e in composite.entries]
        k = 0
        for t, s, idx in runs:
            n = translations[t].circuit.n_qubits
            for i in idx:
                entry = measured[k]
                bits[t][s][i] = _wire_order(np.asarray(entry.measurements), entry.measured_qubits, n)
                k += 1

    @staticmethod
    def _empty_bits(translations: list[_Translation], rows: list[np.ndarray], shots: int) -> list[list[np.ndarray]]:
        return [[np.zeros((r.shape[0], shots, tr.circuit.n_qubits), dtype=np.int8) for _ in tr.plan.settings]
                for tr, r in zip(translations, rows)]

    @staticmethod
    def _as_tensors(outputs: list[np.ndarray]) -> list[torch.Tensor]:
        return [torch.from_numpy(np.ascontiguousarray(o, dtype=np.float64)) for o in outputs]

    @staticmethod
    def _rows(tasks: list[Task]) -> list[np.ndarray]:
        return [v.detach().to(device="cpu", dtype=torch.float64).numpy() for _, v in tasks]

    def map_error(self, exc: BaseException) -> Exception:
        """The hqnn error for a Braket/botocore exception (the table in :mod:`hqnn_braket.errors`)."""
        return map_exception(exc, self.full_name, "calling Amazon Braket")

    @staticmethod
    def error_examples() -> list[tuple[BaseException, type]]:
        return braket_errors.error_examples()

    def queue_info(self) -> dict[str, Any] | None:
        """Queue expectations for ``hqnn estimate``; None: a local simulator has no queue."""
        return None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["versions"] = sdk_versions()
        return info


# ---------------------------------------------------------------------------------------------
# Local simulators
# ---------------------------------------------------------------------------------------------


class BraketLocalBackend(_BraketBackend):
    """Amazon Braket's local simulators: ``braket.local:sv`` (state vector) and ``braket.local:dm`` (density matrix, noise).

    Engines: ``direct`` (default) compiles the translated circuit once into the default
    simulator's own operations and evolves its ``StateVectorSimulation`` /
    ``DensityMatrixSimulation`` per binding; shots are then drawn from the exact outcome
    probabilities with a seeded numpy generator (reproducible). ``sdk`` goes through
    ``LocalSimulator`` exactly as SDK users do: ``run_batch`` of one OpenQASM program for exact
    results, program sets for shots; the simulator samples with an unseeded generator, so its
    shots are not reproducible. The local simulators state the managed devices' program-set
    limits (100 executables, 200000 shots) but enforce neither, so a call is one job; with
    ``emulate_limits`` both engines chunk and count as a managed device would
    (``ceil(executables / limit)``), to rehearse a run bound for AWS.
    """

    name = "braket.local"
    capabilities = BackendCapabilities(max_qubits=26, max_circuits_per_job=None, max_shots=None)

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        engine: Literal["direct", "sdk"] = Field("direct", description="direct: the simulator engine driven per binding (fast); sdk: LocalSimulator programs")
        seed: int | None = Field(None, description="base seed for shot sampling (direct engine)")
        depolarizing: float = Field(0.0, ge=0.0, le=0.75, description="dm only: single-qubit depolarizing probability after every gate, per qubit")
        readout_error: float = Field(0.0, ge=0.0, le=0.5, description="dm only: bit-flip probability on every qubit before measurement")
        max_parallel: int | None = Field(None, ge=1, description="sdk engine, exact mode: processes run_batch uses (default: CPU count)")
        emulate_limits: bool = Field(False, description="chunk jobs to the program-set limits the device states (as AWS devices "
                                     "enforce them); the local simulators do not enforce them, so by default one call is one job")

    options: Options

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        if target not in _LOCAL_DEVICES:
            raise ConfigError(
                f"unknown Braket local simulator {target!r}; write 'braket.local:sv' (state vector) or 'braket.local:dm' (density matrix, noise)."
            )
        opts = self.options
        if target == "sv" and (opts.depolarizing or opts.readout_error):
            raise ConfigError(
                "braket.local:sv cannot simulate noise (depolarizing/readout_error were set); use 'braket.local:dm' for noisy simulation."
            )
        self.device = LocalSimulator(_LOCAL_DEVICES[target])
        props = self.device.properties
        ps_action = props.action.get(DeviceActionType.OPENQASM_PROGRAM_SET)
        self._max_executables = int(getattr(ps_action, "maximumExecutables", None) or 100)
        self._max_total_shots = getattr(ps_action, "maximumTotalShots", None)
        sdk = opts.engine == "sdk"
        self.capabilities = replace(  # type: ignore[misc]  # per instance: limits depend on the device and options
            type(self).capabilities,
            max_qubits=int(props.paradigm.qubitCount),
            noise=bool(opts.depolarizing or opts.readout_error),
            max_circuits_per_job=self._max_executables if opts.emulate_limits else None,
            max_shots=self._max_total_shots if sdk and opts.emulate_limits else None,
            deterministic_shots=not sdk,
        )

    def _noise(self) -> dict[str, float]:
        return {"depolarizing": self.options.depolarizing, "readout_error": self.options.readout_error}

    def executables_per_job(self, shots: int | None) -> int | None:
        if not self.options.emulate_limits:
            return None
        return int(self._max_executables or 100) if shots is None else self._program_set_limit(shots)

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        translations = [self.translation(c) for c, _ in tasks]
        rows = self._rows(tasks)
        units = self._units(translations, rows, shots)
        limit = self.executables_per_job(shots) or max(1, len(units))
        if self.options.engine == "direct":
            self._count_job(math.ceil(len(units) / limit) if units else 0)
            return self._as_tensors(self._run_direct(translations, rows, shots, seed))
        with warnings.catch_warnings():  # the dm simulator warns about noise-free circuits; forked workers inherit this
            warnings.filterwarnings("ignore", message="You are running a noise-free circuit")
            if shots is None:
                return self._as_tensors(self._run_sdk_exact(translations, rows, units, limit))
            return self._as_tensors(self._run_sdk_shots(translations, rows, units, limit, shots))

    def _run_direct(self, translations: list[_Translation], rows: list[np.ndarray], shots: int | None, seed: int | None) -> list[np.ndarray]:
        rng = np.random.default_rng(seed) if shots is not None else None
        density = self.target == "dm"
        outputs = []
        for tr, r in zip(translations, rows):
            dim = 2**tr.circuit.n_qubits
            per_row = 16 * dim * (dim if density else 1)  # complex128 bytes of one final state
            step = max(1, _STATE_BUDGET // per_row)  # bound the memory of the states held at once
            parts = [measurement.expectations_from_states(engine.final_states(tr.engine_plan, r[i : i + step], density), tr.plan, shots, rng)
                     for i in range(0, r.shape[0], step)]
            outputs.append(np.concatenate(parts) if parts else np.zeros((0, tr.plan.n_outputs)))
        return outputs

    def _run_sdk_exact(self, translations: list[_Translation], rows: list[np.ndarray], units: list[tuple[int, int, int]],
                       limit: int) -> list[np.ndarray]:
        term_values = [np.zeros((r.shape[0], len(tr.plan.terms))) for tr, r in zip(translations, rows)]
        runnable = [u for u in units if translations[u[0]].plan.terms]  # observables that are all constants need no task
        for chunk in _chunks(len(runnable), limit):
            part = [runnable[k] for k in chunk]
            programs = [translations[t].exact_program for t, _, _ in part]
            inputs = [translations[t].inputs(rows[t][i : i + 1])[0] for t, _, i in part]
            batch = self.device.run_batch(programs, shots=0, inputs=inputs, max_parallel=self.options.max_parallel)
            self._count_job()
            for (t, _, i), result in zip(part, batch.results()):
                term_values[t][i] = result.values
        return [tr.plan.combine(v) for tr, v in zip(translations, term_values)]

    def _run_sdk_shots(self, translations: list[_Translation], rows: list[np.ndarray], units: list[tuple[int, int, int]],
                       limit: int, shots: int) -> list[np.ndarray]:
        bits = self._empty_bits(translations, rows, shots)
        for chunk in _chunks(len(units), limit):
            program_set, runs = self._program_set([units[k] for k in chunk], translations, rows, shots)
            result = self.device.run(program_set, shots=shots * program_set.total_executables).result()
            self._count_job()
            self._program_set_bits(result, runs, translations, bits)
        return [measurement.expectations_from_bits(b, tr.plan, r.shape[0]) for tr, b, r in zip(translations, bits, rows)]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["device"] = {"simulator": _LOCAL_DEVICES[str(self.target)], "class": type(self.device._delegate).__name__,
                          "engine": self.options.engine, "program_set_limits": {
                              "maximumExecutables": self._max_executables, "maximumTotalShots": self._max_total_shots}}
        return info


# ---------------------------------------------------------------------------------------------
# AWS devices (managed simulators and QPUs)
# ---------------------------------------------------------------------------------------------


def utc_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _source(spec: Any) -> str:
    return str(spec.to_ir(ir_type=IRType.OPENQASM).source)


def _run_source(translations: list[_Translation], rows: list[np.ndarray], t: int, s: int, idx: list[int]) -> tuple[str, Any]:
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


class BraketAwsBackend(_BraketBackend):
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
        self.capabilities = replace(  # type: ignore[misc]  # per instance: read from the device
            type(self).capabilities,
            max_qubits=int(props.paradigm.qubitCount),
            analytic=self._is_simulator,
            noise=not self._is_simulator,
            native_gates=supported_gates(qasm.supportedOperations) if qasm is not None else frozenset(),
            max_shots=int(shots_range[1]) if shots_range else None,
            max_circuits_per_job=self._max_executables or 1,
        )

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
        units = self._units(translations, rows, shots)
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
            if getattr(err, "kind", None) != "ambiguous_submit":
                self._forget([key])
                raise err from e
            found = self._search(unit)  # the request was sent; the response was lost: look the task up by its tag
            if found is None:
                self._forget([key])
                raise make_error("transient", f"{err} No task tagged hqnn-unit={unit} exists on {self.target}, so none was created; "
                                 "retrying is safe.", code=getattr(err, "code", ""), vendor_error=type(e).__name__) from e
            self._journal(key, arn=found)
            return self._reattach(found)
        self._journal(key, arn=arn)
        self._count_job()
        return self._attach(arn)

    def attach_journal(self, path: Any) -> None:
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
            if getattr(e, "kind", None) in ("permanent", "unavailable"):  # FAILED/CANCELLED: terminal, nothing to re-attach
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
                             "ONLINE, or list another backend under backend.fallback.", status=status)
        if not self._is_simulator and not self.device.is_available:
            windows = [f"{w.executionDay.value} {w.windowStartHour}-{w.windowEndHour} UTC" for w in self.device.properties.service.executionWindows]
            raise make_error("unavailable", f"{self.full_name}: device {self.target} is outside its availability windows ({'; '.join(windows)}); "
                             "nothing was submitted. Fix: run inside a window, or list another backend under backend.fallback.", status=status)

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

    def _run_exact(self, translations: list[_Translation], rows: list[np.ndarray], units: list[tuple[int, int, int]],
                   call_id: str) -> list[np.ndarray]:
        term_values = [np.zeros((r.shape[0], len(tr.plan.terms))) for tr, r in zip(translations, rows)]
        runnable = [u for u in units if translations[u[0]].plan.terms]
        specs = [translations[t].exact_circuit for t, _, _ in runnable]
        inputs = [translations[t].inputs(rows[t][i : i + 1])[0] for t, _, i in runnable]
        for (t, _, i), result in zip(runnable, self._batch(specs, inputs, 0, call_id)):
            term_values[t][i] = result.values
        return [tr.plan.combine(v) for tr, v in zip(translations, term_values)]

    def _run_shot_batch(self, translations: list[_Translation], rows: list[np.ndarray], units: list[tuple[int, int, int]],
                        shots: int, call_id: str) -> list[np.ndarray]:
        bits = self._empty_bits(translations, rows, shots)
        specs = [translations[t].setting_circuits[s] for t, s, _ in units]
        inputs = [translations[t].inputs(rows[t][i : i + 1])[0] for t, _, i in units]
        for (t, s, i), result in zip(units, self._batch(specs, inputs, shots, call_id)):
            bits[t][s][i] = _wire_order(np.asarray(result.measurements), result.measured_qubits, translations[t].circuit.n_qubits)
        return [measurement.expectations_from_bits(b, tr.plan, r.shape[0]) for tr, b, r in zip(translations, bits, rows)]

    def _run_program_sets(self, translations: list[_Translation], rows: list[np.ndarray], units: list[tuple[int, int, int]],
                          shots: int, call_id: str) -> list[np.ndarray]:
        bits = self._empty_bits(translations, rows, shots)
        sets = [self._program_set([units[k] for k in chunk], translations, rows, shots) for chunk in _chunks(len(units), self._program_set_limit(shots))]
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
            self._program_set_bits(result, runs, translations, bits)
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
