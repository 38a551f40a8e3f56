"""Qiskit backends: Aer (exact or sampled), noisy IBM device snapshots, and IBM Quantum QPUs.

Every call is ONE primitive job: all tasks of a :meth:`Backend.run_batch` call (every sample,
every parameter shift, every mitigation circuit) become the PUBs of a single EstimatorV2 or
SamplerV2 ``run``, each PUB carrying the whole ``[N, n_slots]`` parameter-value array of its circuit.
Circuits are translated once and transpiled once per (circuit, measurement basis, device).

Exact mode (``shots=None``, Aer only): Aer's EstimatorV2 with precision 0 on the statevector,
which is exact up to floating point.

Shot mode (``shots=S``) samples real measurement outcomes with SamplerV2, with the same semantics
as the embedded ``torch`` backend: each binding is measured S times per measurement basis. All
terms diagonal in Z share one measured circuit; each distinct X/Y pattern gets its own circuit
with basis rotations (X: H; Y: S† then H) before the measurements. A term's estimate is the mean
of its ±1 eigenvalue (the parity of its wires' bits) over its S shots, so its standard error is
``sqrt((1 - <P>^2) / S)``. No Gaussian noise is added anywhere (EstimatorV2's ``precision`` is
not used for shots). On Aer a given seed reproduces the samples exactly (``seed_simulator``).
Noise-free Aer draws the shots itself from one job's exact outcome probabilities (the same
distribution, much faster than SamplerV2's per-shot strings; :meth:`AerBackend._sampled_terms`).
"""

from __future__ import annotations

import difflib
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error
from qiskit_aer.primitives import EstimatorV2 as AerEstimator
from qiskit_aer.primitives import SamplerV2 as AerSampler

from hqnn_core.caching import TranslationCache
from hqnn_core.circuit import Circuit
from hqnn_core.errors import BackendError, CapabilityError, ConfigError, HQNNError, PermanentBackendError, TransientBackendError
from hqnn_core.interfaces import Backend, BackendCapabilities, Task
from hqnn_core.measurement import Basis, plan_measurements, sampled_frequencies
from hqnn_core.pricing import Price
from hqnn_core.redaction import guard_vendor_logging
from hqnn_qiskit import errors, hqnn_environment_info
from hqnn_qiskit.errors import map_error
from hqnn_qiskit.pricing import IBM_QPU
from hqnn_qiskit.translate import (
    MAX_CACHED_CIRCUITS,
    SUPPORTED_GATES,
    ParameterMap,
    measured_circuit,
    parameter_map,
    term_means_from_bits,
    term_paulis,
    to_quantum_circuit,
)

#: Bytes of exact outcome probabilities one sampled call may hold (past it, Aer's SamplerV2 samples).
_PROBABILITY_BUDGET = 2**28

#: Largest statevector Aer will allocate on this machine (Aer derives it from the memory).
AER_MAX_QUBITS: int = AerSimulator().configuration().n_qubits

THREADS_HELP = (
    "OpenMP threads Aer may use (0: all cores, Aer's default). hqnn defaults to 1: its jobs are many small "
    "circuits, and Aer's threads spin for seconds when cores are shared (measured: 2.5 s versus 18 s per step)"
)

_ONE_QUBIT_GATES = ["id", "h", "x", "y", "z", "s", "sdg", "t", "tdg", "sx", "rx", "ry", "rz", "p"]
_TWO_QUBIT_GATES = ["cx", "cz", "swap", "rxx", "ryy", "rzz", "crx", "cry", "crz", "cp"]


def _as_numpy(values: torch.Tensor) -> np.ndarray:
    return values.detach().to("cpu", torch.float64).numpy()


class _QiskitBackend(Backend):
    """Shared plumbing: PUB building, one primitive job per call, vectorised result conversion."""

    vendor = "qiskit"

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        # (circuit, basis) -> compiled circuit and its parameter map; key ``(circuit, ("probabilities", basis))`` for Aer's probabilities
        self._prepared: TranslationCache[tuple[Circuit, Any], tuple[QuantumCircuit, ParameterMap]] = TranslationCache(MAX_CACHED_CIRCUITS)

    #: Write controlled rotations with CNOTs before running (works around Aer's parameter binding bugs).
    expand_controlled: ClassVar[bool] = False

    # -- hooks for subclasses ------------------------------------------------------------------
    def _prepare(self, qc: QuantumCircuit) -> QuantumCircuit:
        """Compile a translated circuit for the device (identity for Aer, which runs every gate)."""
        return qc

    def _sampler(self, seed: int | None) -> Any:
        raise NotImplementedError

    def _estimator(self) -> Any:
        raise NotImplementedError

    def _wait(self, job: Any) -> Any:
        return job.result()

    # -- circuits ------------------------------------------------------------------------------
    def prepared(self, circuit: Circuit, basis: Basis | None) -> tuple[QuantumCircuit, ParameterMap]:
        """The compiled circuit for ``basis`` (``None``: unmeasured, for the estimator) and its parameter map."""
        return self._prepared.get((circuit, basis), lambda: self._compile(circuit, basis))

    def _compile(self, circuit: Circuit, basis: Basis | None) -> tuple[QuantumCircuit, ParameterMap]:
        expand = self.expand_controlled
        qc = to_quantum_circuit(circuit, expand) if basis is None else measured_circuit(circuit, basis, expand)
        try:
            compiled = self._prepare(qc)
        except HQNNError:
            raise
        except Exception as e:  # noqa: BLE001 - vendor errors become hqnn errors here
            raise map_error(e, self.full_name) from e
        return compiled, parameter_map(compiled)

    # -- execution -----------------------------------------------------------------------------
    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        arrays = [_as_numpy(values) for _, values in tasks]
        if shots is None:
            term_values = self._exact_terms([c for c, _ in tasks], arrays)
        else:
            term_values = self._sampled_terms([c for c, _ in tasks], arrays, shots, seed)
        return [torch.from_numpy(plan_measurements(c).combine(t)) for (c, _), t in zip(tasks, term_values)]

    def _submit(self, primitive: Any, pubs: list[Any], **kwargs: Any) -> Any:
        """Run all PUBs as one job, count it, and map vendor failures to hqnn errors."""
        try:
            job = primitive.run(pubs, **kwargs)
        except HQNNError:
            raise
        except Exception as e:  # noqa: BLE001
            raise map_error(e, self.full_name) from e
        self._count_job()
        try:
            return self._wait(job)
        except HQNNError:
            raise
        except Exception as e:  # noqa: BLE001
            raise map_error(e, self.full_name) from e

    def _exact_terms(self, circuits: list[Circuit], arrays: list[np.ndarray]) -> list[np.ndarray]:
        """``[N, T]`` exact Pauli-term expectations per task from one EstimatorV2 job."""
        pubs, where = [], []
        out = [np.zeros((a.shape[0], len(plan_measurements(c).terms))) for c, a in zip(circuits, arrays)]
        for i, (circuit, values) in enumerate(zip(circuits, arrays)):
            plan = plan_measurements(circuit)
            if not plan.terms or values.shape[0] == 0:
                continue
            qc, params = self.prepared(circuit, None)
            # Aer returns one row for a parameter-free circuit whatever the bindings: evaluate once, broadcast.
            bound = params.bind(values[:1] if qc.num_parameters == 0 else values)
            pubs.append((qc, [term_paulis(plan)], bound[:, None, :]))
            where.append(i)
        if pubs:
            result = self._submit(self._estimator(), pubs)
            for i, pub_result in zip(where, result):
                evs = np.asarray(pub_result.data.evs, dtype=np.float64)
                out[i] = np.broadcast_to(evs, out[i].shape).copy()
        return out

    def _sampled_terms(self, circuits: list[Circuit], arrays: list[np.ndarray], shots: int, seed: int | None) -> list[np.ndarray]:
        """``[N, T]`` sampled Pauli-term means per task from one SamplerV2 job (one PUB per basis)."""
        pubs, where = [], []
        out = [np.zeros((a.shape[0], len(plan_measurements(c).terms))) for c, a in zip(circuits, arrays)]
        for i, (circuit, values) in enumerate(zip(circuits, arrays)):
            if values.shape[0] == 0:
                continue
            for setting in plan_measurements(circuit).settings:
                qc, params = self.prepared(circuit, setting.basis)
                if qc.num_parameters == 0:
                    # Aer samples only the first binding of a parameter-free circuit: take N*S shots, split them.
                    pubs.append((qc, params.bind(values[:1]), shots * values.shape[0]))
                else:
                    pubs.append((qc, params.bind(values), shots))
                where.append((i, setting, values.shape[0]))
        if pubs:
            result = self._submit(self._sampler(seed), pubs)
            for (i, setting, rows), pub_result in zip(where, result):
                bits = pub_result.data.meas
                packed = bits.array.reshape(rows, shots, -1)
                out[i][:, list(setting.terms)] = term_means_from_bits(packed, bits.num_bits, setting.term_wires)
        return out

    # -- errors (the conformance suite's protocol) ------------------------------------------------
    def map_error(self, exc: BaseException) -> BackendError:
        """The hqnn error for a vendor exception raised by this backend (see :mod:`hqnn_qiskit.errors`)."""
        return errors.map_error(exc, self.full_name)

    def error_examples(self) -> list[tuple[BaseException, type[BackendError]]]:
        """Offline vendor exceptions and the class each maps to (conformance accepts Transient/Permanent only)."""
        return [(e, cls) for e, cls in errors.error_examples() if issubclass(cls, (TransientBackendError, PermanentBackendError))]

    # -- provenance ----------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["versions"] = hqnn_environment_info()
        info["device"] = self._device_info()
        return info

    def _device_info(self) -> dict[str, Any]:
        return {}


class _AerOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    method: Literal["automatic", "statevector", "density_matrix", "matrix_product_state"] = Field(
        "automatic", description="Aer simulation method"
    )
    seed: int | None = Field(None, description="base seed for shot sampling (seed_simulator)")
    depolarizing_1q: float = Field(0.0, ge=0, le=1, description="depolarizing parameter after every 1-qubit gate (noise; shots only)")
    depolarizing_2q: float = Field(0.0, ge=0, le=1, description="depolarizing parameter after every 2-qubit gate (noise; shots only)")
    readout_error: float = Field(0.0, ge=0, le=0.5, description="probability that a measured bit flips (noise; shots only)")
    max_parallel_threads: int = Field(1, ge=0, description=THREADS_HELP)


def _noisy(options: _AerOptions) -> bool:
    return bool(options.depolarizing_1q or options.depolarizing_2q or options.readout_error)


class AerBackend(_QiskitBackend):
    """Qiskit Aer simulator: exact expectations (EstimatorV2) or sampled counts (SamplerV2), optional noise."""

    name = "qiskit.aer"
    expand_controlled = True
    capabilities = BackendCapabilities(
        max_qubits=AER_MAX_QUBITS, analytic=True, shots=True, noise=False, native_gates=SUPPORTED_GATES, backprop=False,
        remote=False, deterministic_shots=True,
    )
    Options = _AerOptions
    options: _AerOptions

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        opts = self.options
        self.noise_model = self._noise_model()
        self.capabilities = self.capabilities_for(target, opts)
        # Not runtime_parameter_bind_enable: in Aer 0.18 it mis-binds rz angles (hqnn's tests caught it).
        backend_options: dict[str, Any] = {"method": opts.method, "max_parallel_threads": opts.max_parallel_threads}
        if self.noise_model is not None:
            backend_options["noise_model"] = self.noise_model
        self._simulator = AerSimulator(**backend_options)
        self._estimator_instance: AerEstimator | None = None

    @classmethod
    def capabilities_for(cls, target: str | None, options: BaseModel) -> BackendCapabilities:
        assert isinstance(options, _AerOptions)
        caps = cls.capabilities
        if options.method == "density_matrix":
            caps = replace(caps, max_qubits=AER_MAX_QUBITS // 2)
        if _noisy(options):
            # Noise stands in for hardware, which only samples; an "exact" noisy value would silently drop readout error.
            caps = replace(caps, noise=True, analytic=False)
        return caps

    def _noise_model(self) -> NoiseModel | None:
        o = self.options
        if not _noisy(o):
            return None
        model = NoiseModel()
        if o.depolarizing_1q:
            model.add_all_qubit_quantum_error(depolarizing_error(o.depolarizing_1q, 1), _ONE_QUBIT_GATES)
        if o.depolarizing_2q:
            model.add_all_qubit_quantum_error(depolarizing_error(o.depolarizing_2q, 2), _TWO_QUBIT_GATES)
        if o.readout_error:
            p = o.readout_error
            model.add_all_qubit_readout_error(ReadoutError([[1 - p, p], [p, 1 - p]]))
        return model

    def _estimator(self) -> AerEstimator:
        if self._estimator_instance is None:
            self._estimator_instance = AerEstimator.from_backend(self._simulator, options={"default_precision": 0.0})
        return self._estimator_instance

    def _sampler(self, seed: int | None) -> AerSampler:
        return AerSampler.from_backend(self._simulator, seed=seed)

    def _sampled_terms(self, circuits: list[Circuit], arrays: list[np.ndarray], shots: int, seed: int | None) -> list[np.ndarray]:
        """Noise-free: one Aer job computes each binding's outcome probabilities per basis; the shots are drawn from them.

        Aer samples a noise-free circuit measured at the end from these same probabilities, but its
        SamplerV2 returns every shot as a string (about 8 ms per binding of W1 at 1000 shots); drawing
        the counts with numpy (seeded by ``seed``) gives the same distribution per binding and basis.
        Noisy simulation (trajectories, readout errors) and outputs past ``_PROBABILITY_BUDGET``
        keep Aer's own sampler.
        """
        size = sum(a.shape[0] * len(plan_measurements(c).settings) * 2**c.n_qubits for c, a in zip(circuits, arrays))
        if self.noise_model is not None or 8 * size > _PROBABILITY_BUDGET:
            return super()._sampled_terms(circuits, arrays, shots, seed)
        qcs, binds, where = [], [], []
        out = [np.zeros((a.shape[0], len(plan_measurements(c).terms))) for c, a in zip(circuits, arrays)]
        for i, (circuit, values) in enumerate(zip(circuits, arrays)):
            if values.shape[0] == 0:
                continue
            for setting in plan_measurements(circuit).settings:
                qc, params = self._probabilities_circuit(circuit, setting.basis)
                bound = params.bind(values)
                qcs.append(qc)
                binds.append({p: bound[:, k] for k, p in enumerate(qc.parameters)})
                where.append((i, setting, values.shape[0], qc.num_parameters == 0))
        if not qcs:
            return out
        result = self._submit(self._simulator, qcs, parameter_binds=binds, shots=1)
        rng = np.random.default_rng(seed)
        experiments = iter(result.results)
        for i, setting, rows, constant in where:
            n = circuits[i].n_qubits
            lsb_first = np.array([next(experiments).data.probabilities for _ in range(1 if constant else rows)], dtype=np.float64)
            # Aer indexes outcomes with qubit 0 as the lowest bit; the core plan's signs put wire 0 first.
            probs = lsb_first.reshape((-1,) + (2,) * n).transpose(0, *range(n, 0, -1)).reshape(-1, 2**n)
            freqs = sampled_frequencies(np.broadcast_to(probs, (rows, 2**n)), shots, rng)
            cols = list(setting.terms)
            out[i][:, cols] = freqs @ plan_measurements(circuits[i]).signs()[:, cols]
        return out

    def _probabilities_circuit(self, circuit: Circuit, basis: Basis) -> tuple[QuantumCircuit, ParameterMap]:
        """The measured circuit without its measurements, saving the outcome probabilities (cached)."""
        def build() -> tuple[QuantumCircuit, ParameterMap]:
            measured, params = self.prepared(circuit, basis)
            qc = measured.remove_final_measurements(inplace=False)
            qc.save_probabilities()
            return qc, params  # same parameters, same order

        return self._prepared.get((circuit, ("probabilities", basis)), build)

    def _device_info(self) -> dict[str, Any]:
        o = self.options
        return {
            "name": "aer_simulator",
            "method": o.method,
            "max_parallel_threads": o.max_parallel_threads,
            "noise": None if self.noise_model is None else {
                "depolarizing_1q": o.depolarizing_1q, "depolarizing_2q": o.depolarizing_2q, "readout_error": o.readout_error,
            },
        }


# -- devices (fake snapshots and real QPUs) -----------------------------------------------------


class _DeviceOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    optimization_level: int = Field(1, ge=0, le=3, description="Qiskit preset pass manager level used to transpile once per circuit")
    seed_transpiler: int = Field(0, description="seed for layout and routing, so a circuit always lands on the same qubits")


class _DeviceBackend(_QiskitBackend):
    """A backend that transpiles to a device's target (layout, routing, basis) once per circuit."""

    device: Any = None
    options: _DeviceOptions

    def _prepare(self, qc: QuantumCircuit) -> QuantumCircuit:
        if qc.num_qubits > self.device.num_qubits:
            raise CapabilityError(
                f"circuit needs {qc.num_qubits} qubits; device {self.device.name!r} has {self.device.num_qubits}. "
                "Use fewer qubits or a larger device."
            )
        manager = generate_preset_pass_manager(
            optimization_level=self.options.optimization_level, backend=self.device, seed_transpiler=self.options.seed_transpiler
        )
        return manager.run(qc)

    def _calibration(self) -> dict[str, Any]:
        """The calibration snapshot the device's noise comes from (``last_update_date``)."""
        try:
            props = self.device.properties()
        except Exception:  # noqa: BLE001 - some targets carry no properties; provenance then says so
            props = None
        stamp = getattr(props, "last_update_date", None)
        text = stamp.isoformat() if isinstance(stamp, datetime) else (str(stamp) if stamp else None)
        return {
            "last_update_date": text,
            "backend_version": getattr(self.device, "backend_version", None),
        }

    def _physical_qubits(self, n_qubits: int) -> list[int]:
        """Where wires ``0..n-1`` landed in the first compiled circuit (the trivial layout before any circuit was compiled)."""
        for compiled, _ in self._prepared.values():
            if compiled.layout is not None:
                return list(compiled.layout.initial_index_layout(filter_ancillas=True))[:n_qubits]
        return list(range(n_qubits))

    def calibration(self, n_qubits: int) -> dict[str, Any] | None:
        """T1, T2, readout and gate errors of the device qubits the circuit's wires were laid out on (from ``device.target``)."""
        if self.device is None:
            return None
        target = self.device.target
        qubits = []
        for wire, q in enumerate(self._physical_qubits(n_qubits)):
            entry: dict[str, Any] = {"wire": wire, "physical": q}
            props = target.qubit_properties[q] if target.qubit_properties else None
            entry["T1"], entry["T2"] = getattr(props, "t1", None), getattr(props, "t2", None)
            ones, twos = [], []
            for name in target.operation_names:
                if name not in target or target[name] is None:
                    continue
                for qargs, inst in target[name].items():
                    if qargs is None or q not in qargs or inst is None or inst.error is None:
                        continue
                    if name == "measure":
                        entry["readout_error"] = inst.error
                    elif len(qargs) == 1 and name in ("sx", "x"):
                        ones.append(inst.error)
                    elif len(qargs) == 2:
                        twos.append(inst.error)
            entry["gate_error_1q"] = float(np.mean(ones)) if ones else None
            entry["gate_error_2q"] = float(np.mean(twos)) if twos else None
            qubits.append(entry)
        return {"source": f"{self.device.name} target", "taken_at": self._calibration()["last_update_date"], "qubits": qubits}

    def _device_info(self) -> dict[str, Any]:
        if self.device is None:
            return {"name": self.target}
        return {
            "name": self.device.name,
            "num_qubits": self.device.num_qubits,
            "basis_gates": sorted(self.device.operation_names),
            "calibration": self._calibration(),
            "optimization_level": self.options.optimization_level,
        }


def fake_device_classes() -> dict[str, type]:
    """Short name (``manila``) -> fake backend class, without instantiating any."""
    from qiskit_ibm_runtime import fake_provider
    from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

    out: dict[str, type] = {}
    for attr in dir(fake_provider):
        cls = getattr(fake_provider, attr)
        if isinstance(cls, type) and issubclass(cls, FakeBackendV2) and cls is not FakeBackendV2:
            short = str(getattr(cls, "backend_name", attr)).lower().removeprefix("fake_")
            out.setdefault(short, cls)
    return out


def _short_fake_name(name: str) -> str:
    key = name.strip().lower().removeprefix("fake_").removeprefix("fake")
    return key.removesuffix("v2") if key.endswith("v2") else key


class FakeDeviceBackend(_DeviceBackend):
    """A noisy Aer emulation of an IBM device snapshot (qiskit-ibm-runtime fake backends): its noise model,
    coupling map and basis gates apply; like the hardware it samples only."""

    name = "qiskit.fake"
    capabilities = BackendCapabilities(
        max_qubits=156, analytic=False, shots=True, noise=True, native_gates=SUPPORTED_GATES, backprop=False, remote=False,
        deterministic_shots=True,
    )

    #: Scale factors of the snapshot's noise, varied one at a time by ``hqnn compare --sensitivity``.
    noise_options = ("t1_scale", "t2_scale", "gate_error_scale", "readout_error_scale")

    class Options(_DeviceOptions):
        seed: int | None = Field(None, description="base seed for shot sampling (seed_simulator)")
        max_parallel_threads: int = Field(1, ge=0, description=THREADS_HELP)
        t1_scale: float = Field(1.0, gt=0, description="multiplies every qubit's T1 in the noise model (1: the snapshot as it is)")
        t2_scale: float = Field(1.0, gt=0, description="multiplies every qubit's T2 (kept at most 2 T1, as physics requires)")
        gate_error_scale: float = Field(1.0, ge=0, description="multiplies every gate error (capped at 1)")
        readout_error_scale: float = Field(1.0, ge=0, description="multiplies every readout error probability (capped at 1)")

    options: Options

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        classes = fake_device_classes()
        key = _short_fake_name(target or "")
        if key not in classes:
            close = difflib.get_close_matches(key, list(classes), n=3)
            hint = f" Did you mean {' or '.join(repr(f'qiskit.fake:{c}') for c in close)}?" if close else ""
            raise ConfigError(
                f"Unknown IBM fake device {target!r} for backend 'qiskit.fake:<device>'.{hint} "
                f"Available devices: {', '.join(sorted(classes))}."
            )
        self.device = classes[key]()
        self.capabilities = replace(type(self).capabilities, max_qubits=self.device.num_qubits)
        scaled = bool(self.options.model_fields_set & set(self.noise_options))  # given, even as 1: one noise-model path for a sweep
        noise = {"noise_model": self._scaled_noise_model()} if scaled else {}
        self._simulator = AerSimulator.from_backend(self.device, max_parallel_threads=self.options.max_parallel_threads, **noise)

    def _scales(self) -> tuple[float, float, float, float]:
        o = self.options
        return o.t1_scale, o.t2_scale, o.gate_error_scale, o.readout_error_scale

    def _scaled_noise_model(self) -> NoiseModel:
        """Aer's device noise model built from the snapshot's properties with T1, T2, gate and readout errors scaled."""
        t1s, t2s, gates, readout = self._scales()
        props = self.device.properties()
        data = props.to_dict()
        for qubit in data["qubits"]:
            values = {p["name"]: p for p in qubit}
            if "T1" in values:
                values["T1"]["value"] *= t1s
            if "T2" in values:
                values["T2"]["value"] *= t2s
                if "T1" in values:
                    values["T2"]["value"] = min(values["T2"]["value"], 2 * values["T1"]["value"])
            for name in ("readout_error", "prob_meas0_prep1", "prob_meas1_prep0"):
                if name in values:
                    values[name]["value"] = min(1.0, values[name]["value"] * readout)
        for gate in data["gates"]:
            for param in gate["parameters"]:
                if param["name"] == "gate_error":
                    param["value"] = min(1.0, param["value"] * gates)
        return NoiseModel.from_backend_properties(type(props).from_dict(data))

    def calibration(self, n_qubits: int) -> dict[str, Any] | None:
        """The snapshot's values with this backend's scale factors applied (what the noise model runs with)."""
        snapshot = super().calibration(n_qubits)
        t1s, t2s, gates, readout = self._scales()
        for q in snapshot["qubits"] if snapshot else []:
            for key, factor in (("T1", t1s), ("T2", t2s), ("readout_error", readout), ("gate_error_1q", gates), ("gate_error_2q", gates)):
                if q.get(key) is not None:
                    q[key] = min(1.0, q[key] * factor) if key not in ("T1", "T2") else q[key] * factor
            if q.get("T1") is not None and q.get("T2") is not None:
                q["T2"] = min(q["T2"], 2 * q["T1"])
        return snapshot

    def _sampler(self, seed: int | None) -> AerSampler:
        return AerSampler.from_backend(self._simulator, seed=seed)


class IBMBackend(_DeviceBackend):
    """A real IBM Quantum QPU through qiskit-ibm-runtime's SamplerV2 (remote: queues and costs apply)."""

    name = "qiskit.ibm"
    capabilities = BackendCapabilities(
        max_qubits=156, analytic=False, shots=True, noise=True, native_gates=SUPPORTED_GATES, backprop=False, remote=True,
        deterministic_shots=False,
    )
    price_class = IBM_QPU.device_class

    class Options(_DeviceOptions):
        channel: Literal["ibm_quantum_platform", "ibm_cloud"] | None = Field(None, description="account channel (default: the saved one)")
        instance: str | None = Field(None, description="IBM Cloud instance (CRN or name); default: the account's")
        account_name: str | None = Field(None, description="name of an account saved with QiskitRuntimeService.save_account")
        result_timeout: float = Field(3600.0, gt=0, description="seconds to wait for a job's result before giving up (the job keeps running)")
        max_execution_time: int | None = Field(None, ge=1, description="quantum seconds after which IBM cancels the job (cost cap)")
        mode: Literal["job", "batch", "session"] = Field(
            "job", description="job: each call its own job; batch: calls share a runtime Batch (parallel, queued once); "
            "session: calls share a Session (exclusive device access between jobs, for iterative training)")

    options: Options

    #: Builds the runtime service; tests replace it to run offline (e.g. with a fake device in local mode).
    service_factory: ClassVar[Callable[..., Any] | None] = None

    def __init__(self, target: str | None = None, **options: Any) -> None:
        super().__init__(target, **options)
        if not target:
            raise ConfigError("backend 'qiskit.ibm' needs a device name: write e.g. 'qiskit.ibm:ibm_brisbane'.")
        self._service: Any = None
        self._context: Any = None  # the runtime Batch or Session of mode batch/session, opened on first use
        self._local = False
        if type(self).service_factory is None:
            self._check_account()

    def _check_account(self) -> None:
        """Fail before any job when no account is configured (read offline from the vendor's own store)."""
        from qiskit_ibm_runtime.accounts import AccountManager

        try:
            AccountManager.get(name=self.options.account_name, channel=self.options.channel)
        except Exception as e:  # noqa: BLE001
            raise map_error(e, self.full_name) from e

    def _connect(self) -> None:
        if self.device is not None:
            return
        o = self.options
        kwargs = {k: v for k, v in {"channel": o.channel, "instance": o.instance, "name": o.account_name}.items() if v is not None}
        guard_vendor_logging()  # the runtime client logs requests at DEBUG, whatever logging the user set up
        try:
            factory = type(self).service_factory
            if factory is not None:
                self._service = factory(**kwargs)
            else:
                from qiskit_ibm_runtime import QiskitRuntimeService

                self._service = QiskitRuntimeService(**kwargs)
            self.device = self._service.backend(self.target)
        except Exception as e:  # noqa: BLE001
            raise map_error(e, self.full_name) from e
        from qiskit_ibm_runtime.fake_provider.fake_backend import FakeBackendV2

        self._local = isinstance(self.device, FakeBackendV2)  # qiskit-ibm-runtime's local testing mode
        self.capabilities = replace(type(self).capabilities, max_qubits=self.device.num_qubits)

    def price(self) -> Price:
        return IBM_QPU

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        self._connect()
        for circuit, _ in tasks:
            self.validate(circuit, shots)  # against the real device's size, now that it is known
        return super()._run(tasks, shots, seed)

    def _sampler(self, seed: int | None) -> Any:
        try:  # qiskit-ibm-runtime >= 0.50: the client-side Sampler; the server-side SamplerV2 is deprecated there
            from qiskit_ibm_runtime.executor_sampler import Sampler
        except ImportError:  # pragma: no cover - older qiskit-ibm-runtime
            from qiskit_ibm_runtime import SamplerV2 as Sampler

        sampler = Sampler(mode=self._execution_mode())
        if self.options.max_execution_time is not None:
            sampler.options.max_execution_time = self.options.max_execution_time
        sampler.options.environment.job_tags = ["hqnn", f"hqnn-call-{uuid.uuid4().hex[:12]}"]
        if seed is not None and self._local:
            sampler.options.simulator.seed_simulator = seed  # local testing mode only; hardware has no seed
        return sampler

    def _execution_mode(self) -> Any:
        """The device (``mode: job``) or the Batch/Session this backend opened on first use and keeps open."""
        if self.options.mode == "job":
            return self.device
        if self._context is None:
            from qiskit_ibm_runtime import Batch, Session

            try:
                self._context = (Batch if self.options.mode == "batch" else Session)(backend=self.device)
            except Exception as e:  # noqa: BLE001
                raise map_error(e, self.full_name) from e
        return self._context

    def close(self) -> None:
        """Close the runtime Batch/Session (queued jobs still finish); the next call opens a new one."""
        context, self._context = self._context, None
        if context is not None:
            context.close()

    def _wait(self, job: Any) -> Any:
        from qiskit_ibm_runtime import RuntimeJobV2

        if isinstance(job, RuntimeJobV2):
            return job.result(timeout=self.options.result_timeout)
        # local testing mode (a fake device): a plain PrimitiveJob, given the same explicit deadline
        deadline = time.monotonic() + self.options.result_timeout
        while not job.done():
            if time.monotonic() >= deadline:
                from qiskit.providers.exceptions import JobTimeoutError

                raise JobTimeoutError(f"job {job.job_id()} had no result after result_timeout={self.options.result_timeout} s")
            time.sleep(0.01)
        return job.result()

    def queue_info(self) -> dict[str, Any] | None:
        """Queue expectations for ``hqnn estimate``: the device's ``status().pending_jobs``."""
        self._connect()
        try:
            status = self.device.status()
        except Exception as e:  # noqa: BLE001
            raise map_error(e, self.full_name) from e
        return {"device": self.device.name, "pending_jobs": int(status.pending_jobs), "operational": bool(status.operational),
                "status_msg": status.status_msg, "local": self._local, "source": "backend.status().pending_jobs"}

    def _device_info(self) -> dict[str, Any]:
        info = super()._device_info()
        info.update({"channel": self.options.channel, "instance": self.options.instance, "account_name": self.options.account_name,
                     "mode": self.options.mode})
        return info
