"""Braket's local simulators (``braket.local:sv|dm``) with two engines: ``direct`` and ``sdk``.

``direct`` evolves the default simulator's own state per binding (:mod:`hqnn_braket.engine`) and
samples shots with a seeded generator; ``sdk`` runs ``LocalSimulator`` programs (``run_batch`` for
exact results, program sets for shots, :mod:`hqnn_braket.packing`) as SDK users do.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import torch
from braket.device_schema import DeviceActionType
from braket.devices import LocalSimulator
from pydantic import BaseModel, ConfigDict, Field

from hqnn_braket import engine, measurement
from hqnn_braket.base import BraketBackendBase
from hqnn_braket.packing import Translation, Unit, chunks, empty_bits, pack_program_set, plan_units, program_set_bits
from hqnn_core.errors import ConfigError
from hqnn_core.interfaces import BackendCapabilities, Task

_LOCAL_DEVICES = {"sv": "braket_sv", "dm": "braket_dm"}
_STATE_BUDGET = 256 * 2**20  # bytes of final states the direct engine holds at once


def _program_set_limits(props: Any) -> tuple[int, int | None]:
    """``maximumExecutables`` and ``maximumTotalShots`` the simulator states for a program set (it enforces neither)."""
    ps_action = props.action.get(DeviceActionType.OPENQASM_PROGRAM_SET)
    return int(getattr(ps_action, "maximumExecutables", None) or 100), getattr(ps_action, "maximumTotalShots", None)


def _capabilities(declared: BackendCapabilities, props: Any, opts: Any) -> BackendCapabilities:
    """Per simulator (its qubit count and stated limits) and options (noise, engine, emulated limits)."""
    max_executables, max_total_shots = _program_set_limits(props)
    sdk = opts.engine == "sdk"
    return replace(
        declared,
        max_qubits=int(props.paradigm.qubitCount),
        noise=bool(opts.depolarizing or opts.readout_error),
        max_circuits_per_job=max_executables if opts.emulate_limits else None,
        max_shots=max_total_shots if sdk and opts.emulate_limits else None,
        deterministic_shots=not sdk,
    )


class BraketLocalBackend(BraketBackendBase):
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
        self._max_executables, self._max_total_shots = _program_set_limits(self.device.properties)
        self.capabilities = _capabilities(type(self).capabilities, self.device.properties, opts)

    @classmethod
    def capabilities_for(cls, target: str | None, options: BaseModel) -> BackendCapabilities:
        if target not in _LOCAL_DEVICES:
            return cls.capabilities  # the constructor refuses the target
        return _capabilities(cls.capabilities, LocalSimulator(_LOCAL_DEVICES[target]).properties, options)

    def _noise(self) -> dict[str, float]:
        return {"depolarizing": self.options.depolarizing, "readout_error": self.options.readout_error}

    def executables_per_job(self, shots: int | None) -> int | None:
        if not self.options.emulate_limits:
            return None
        return int(self._max_executables or 100) if shots is None else self._program_set_limit(shots)

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        translations = [self.translation(c) for c, _ in tasks]
        rows = self._rows(tasks)
        units = plan_units(translations, rows, shots)
        limit = self.executables_per_job(shots) or max(1, len(units))
        if self.options.engine == "direct":
            self._count_job(math.ceil(len(units) / limit) if units else 0)
            return self._as_tensors(self._run_direct(translations, rows, shots, seed))
        with warnings.catch_warnings():  # the dm simulator warns about noise-free circuits; forked workers inherit this
            warnings.filterwarnings("ignore", message="You are running a noise-free circuit")
            if shots is None:
                return self._as_tensors(self._run_sdk_exact(translations, rows, units, limit))
            return self._as_tensors(self._run_sdk_shots(translations, rows, units, limit, shots))

    def _run_direct(self, translations: list[Translation], rows: list[np.ndarray], shots: int | None, seed: int | None) -> list[np.ndarray]:
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

    def _run_sdk_exact(self, translations: list[Translation], rows: list[np.ndarray], units: list[Unit],
                       limit: int) -> list[np.ndarray]:
        term_values = [np.zeros((r.shape[0], len(tr.plan.terms))) for tr, r in zip(translations, rows)]
        runnable = [u for u in units if translations[u[0]].plan.terms]  # observables that are all constants need no task
        for chunk in chunks(len(runnable), limit):
            part = [runnable[k] for k in chunk]
            programs = [translations[t].exact_program for t, _, _ in part]
            inputs = [translations[t].inputs(rows[t][i : i + 1])[0] for t, _, i in part]
            batch = self.device.run_batch(programs, shots=0, inputs=inputs, max_parallel=self.options.max_parallel)
            self._count_job()
            for (t, _, i), result in zip(part, batch.results()):
                term_values[t][i] = result.values
        return [tr.plan.combine(v) for tr, v in zip(translations, term_values)]

    def _run_sdk_shots(self, translations: list[Translation], rows: list[np.ndarray], units: list[Unit],
                       limit: int, shots: int) -> list[np.ndarray]:
        bits = empty_bits(translations, rows, shots)
        for chunk in chunks(len(units), limit):
            program_set, runs = pack_program_set([units[k] for k in chunk], translations, rows, shots)
            result = self.device.run(program_set, shots=shots * program_set.total_executables).result()
            self._count_job()
            program_set_bits(result, runs, translations, bits)
        return [measurement.expectations_from_bits(b, tr.plan, r.shape[0]) for tr, b, r in zip(translations, bits, rows)]

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["device"] = {"simulator": _LOCAL_DEVICES[str(self.target)], "class": type(self.device._delegate).__name__,
                          "engine": self.options.engine, "program_set_limits": {
                              "maximumExecutables": self._max_executables, "maximumTotalShots": self._max_total_shots}}
        return info

