"""Program-set packing: what one neutral circuit becomes on Braket, and how bindings fill tasks.

A call's bindings become *executables* ``(task, setting, row)`` (setting -1: an exact result).
With shots, consecutive executables of one circuit and measurement setting share one
``CircuitBinding`` of a ``ProgramSet``, each set at most the device's ``maximumExecutables`` and
``maximumTotalShots``; results come back in the same order and are copied to wire order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from braket.circuits import Circuit as BraketCircuit
from braket.circuits.serialization import IRType
from braket.program_sets import CircuitBinding, ProgramSet

from hqnn_braket import engine
from hqnn_braket.translate import with_basis_rotation, with_expectations
from hqnn_core.circuit import Circuit
from hqnn_core.measurement import MeasurementPlan

#: ``(task, setting, row)``: one executable of a call (setting -1: exact mode)
Unit = tuple[int, int, int]
#: ``(task, setting, rows)``: consecutive units of one task and setting
Run = tuple[int, int, list[int]]


@dataclass
class Translation:
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


def chunks(n_units: int, limit: int) -> list[range]:
    return [range(start, min(start + limit, n_units)) for start in range(0, n_units, limit)]


def wire_order(bits: np.ndarray, measured_qubits: list[int], n_qubits: int) -> np.ndarray:
    """Measured bits ``[S, m]`` with columns in ``measured_qubits`` order to ``[S, n]`` in wire order."""
    out = np.zeros((bits.shape[0], n_qubits), dtype=np.int8)
    out[:, list(measured_qubits)] = bits
    return out


def program_set_limit(max_executables: int, max_total_shots: int | None, shots: int) -> int:
    """Executables one program set of ``shots``-shot executables may carry."""
    limit = max_executables
    if max_total_shots:
        limit = min(limit, max_total_shots // shots)
    return max(1, limit)


def plan_units(translations: list[Translation], rows: list[np.ndarray], shots: int | None) -> list[Unit]:
    """``(task, setting, row)`` executables, task-major, then setting, then row (setting -1: exact)."""
    out: list[Unit] = []
    for t, (tr, r) in enumerate(zip(translations, rows)):
        settings = range(len(tr.plan.settings)) if shots is not None else [-1]
        out.extend((t, s, i) for s in settings for i in range(r.shape[0]))
    return out


def group_runs(chunk: list[Unit]) -> list[Run]:
    """Consecutive units of the same task and setting: ``(task, setting, rows)``."""
    out: list[Run] = []
    for t, s, i in chunk:
        if out and out[-1][0] == t and out[-1][1] == s:
            out[-1][2].append(i)
        else:
            out.append((t, s, [i]))
    return out


def pack_program_set(chunk: list[Unit], translations: list[Translation], rows: list[np.ndarray], shots: int) -> tuple[ProgramSet, list[Run]]:
    """One program set for a chunk of shot executables, and where its entries belong."""
    programs: list[Any] = []
    chunk_runs = group_runs(chunk)
    for t, s, idx in chunk_runs:
        tr = translations[t]
        circuit = tr.setting_circuits[s]
        if tr.names:
            programs.append(CircuitBinding(circuit, input_sets=tr.input_sets(rows[t][idx])))
        else:  # no parameters: CircuitBinding needs inputs, so list the circuit once per binding
            programs.extend([circuit] * len(idx))
    return ProgramSet(programs, shots_per_executable=shots), chunk_runs


def program_set_bits(result: Any, set_runs: list[Run], translations: list[Translation], bits: list[list[np.ndarray]]) -> None:
    """Copy each executable's measured bits from a program-set result into ``bits[task][setting]``."""
    measured = [e for composite in result.entries for e in composite.entries]
    k = 0
    for t, s, idx in set_runs:
        n = translations[t].circuit.n_qubits
        for i in idx:
            entry = measured[k]
            bits[t][s][i] = wire_order(np.asarray(entry.measurements), entry.measured_qubits, n)
            k += 1


def empty_bits(translations: list[Translation], rows: list[np.ndarray], shots: int) -> list[list[np.ndarray]]:
    return [[np.zeros((r.shape[0], shots, tr.circuit.n_qubits), dtype=np.int8) for _ in tr.plan.settings]
            for tr, r in zip(translations, rows)]
