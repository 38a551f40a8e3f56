"""Drive the Braket default simulator's own state-vector / density-matrix engine with many bindings.

``LocalSimulator`` serialises every binding to OpenQASM text and the default simulator parses it
again with ANTLR: about 25 ms per 4-qubit circuit here, of which the simulation is a few percent.
This module compiles the translated Braket circuit ONCE into the simulator's own gate and noise
operations (``braket.default_simulator.operation_helpers.from_braket_instruction``, the mapping
the simulator itself uses for JAQCD programs) and records, for each parametrised instruction,
the slot and the linear map its ``FreeParameterExpression`` applies. Each binding then only
builds its angle-dependent operations and calls ``StateVectorSimulation.evolve`` (or
``DensityMatrixSimulation.evolve``): the engine code ``LocalSimulator`` ends up running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from braket.circuits import Circuit as BraketCircuit
from braket.circuits import Instruction
from braket.circuits.gates import I as IdentityGate
from braket.circuits.serialization import IRType
from braket.default_simulator.density_matrix_simulation import DensityMatrixSimulation
from braket.default_simulator.operation_helpers import from_braket_instruction
from braket.default_simulator.state_vector_simulation import StateVectorSimulation
from braket.parametric import FreeParameterExpression

from hqnn_core.errors import CapabilityError


@dataclass(frozen=True)
class _Angled:
    """An operation whose angle is ``scale * slot_value + offset``."""

    cls: type
    targets: tuple[int, ...]
    slot: int
    scale: float
    offset: float


@dataclass(frozen=True)
class EnginePlan:
    """A compiled circuit: fixed engine operations and angle templates, in program order."""

    n_qubits: int
    steps: tuple[Any, ...]  # engine operation objects, or _Angled templates
    angled: tuple[int, ...]  # positions of the _Angled steps

    def operations(self, angles: list[float]) -> list[Any]:
        """Engine operations for one binding (``angles`` holds one value per angled step)."""
        ops = list(self.steps)
        for pos, angle in zip(self.angled, angles):
            t = ops[pos]
            ops[pos] = t.cls(t.targets, angle)
        return ops


def _linear_map(expr: FreeParameterExpression, slot_of: dict[str, int]) -> tuple[str, int, float, float]:
    """``(name, slot, scale, offset)`` of an angle expression that is linear in one FreeParameter."""
    sym_expr = expr.expression
    symbols = list(sym_expr.free_symbols)
    if len(symbols) != 1 or sym_expr.diff(symbols[0], 2) != 0:
        raise CapabilityError(f"angle {expr} is not linear in a single slot; the Braket engine cannot bind it.")
    sym = symbols[0]
    return str(sym), slot_of[str(sym)], float(sym_expr.diff(sym)), float(sym_expr.subs(sym, 0))


def compile_circuit(bc: BraketCircuit, n_qubits: int, slot_of: dict[str, int]) -> EnginePlan:
    """Compile a (parametric) Braket circuit without result types into an :class:`EnginePlan`."""
    steps: list[Any] = []
    angled: list[int] = []
    for ins in bc.instructions:
        op = ins.operator
        if isinstance(op, IdentityGate):
            continue
        params = [p for p in getattr(op, "parameters", []) if isinstance(p, FreeParameterExpression)]
        if not params:
            steps.append(from_braket_instruction(ins.to_ir(IRType.JAQCD)))
            continue
        if len(params) != 1:
            raise CapabilityError(f"{type(op).__name__} has {len(params)} free angles; the Braket engine binds one per gate.")
        name, slot, scale, offset = _linear_map(params[0], slot_of)
        bound = op.bind_values(**{name: 0.0})
        template = from_braket_instruction(Instruction(bound, ins.target).to_ir(IRType.JAQCD))
        angled.append(len(steps))
        steps.append(_Angled(type(template), tuple(template.targets), slot, scale, offset))
    return EnginePlan(n_qubits, tuple(steps), tuple(angled))


def final_states(plan: EnginePlan, slot_values: np.ndarray, density_matrix: bool) -> np.ndarray:
    """Final state vectors ``[N, 2**n]`` (or density matrices ``[N, 2**n, 2**n]``) per binding row."""
    templates = [plan.steps[p] for p in plan.angled]
    if templates:
        slots = np.array([t.slot for t in templates])
        scales = np.array([t.scale for t in templates])
        offsets = np.array([t.offset for t in templates])
        angles = (slot_values[:, slots] * scales + offsets).tolist()
    else:
        angles = [[] for _ in range(slot_values.shape[0])]
    dim = 2**plan.n_qubits
    out = np.empty((slot_values.shape[0], dim, dim) if density_matrix else (slot_values.shape[0], dim), dtype=complex)
    for r, row in enumerate(angles):  # the engine simulates one binding at a time
        if density_matrix:
            dm = DensityMatrixSimulation(plan.n_qubits, 0)
            dm.evolve(plan.operations(row))
            out[r] = dm.density_matrix
        else:
            sv = StateVectorSimulation(plan.n_qubits, 0, 1)
            sv.evolve(plan.operations(row))
            out[r] = sv.state_vector
    return out
