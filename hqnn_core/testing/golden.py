"""Circuits whose expectations and gradients have closed forms: the oracle no backend is judged without.

The torch backend is checked against these first; only then is it the reference that vendor
adapters are compared with.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable

ANGLES = torch.tensor([0.0, 0.3, 1.1, -2.0, math.pi / 2], dtype=torch.float64)


@dataclass(frozen=True)
class GoldenCase:
    """A circuit, slot values ``[N, S]``, and the exact values ``[N, K]`` and Jacobian ``[N, K, S]``."""

    name: str
    circuit: Circuit
    slot_values: torch.Tensor
    values: torch.Tensor
    jacobian: torch.Tensor


def _one_angle(name: str, prep: Callable[[CircuitBuilder], None], gate: str, wires: list[int], n: int, observables: list[str],
               f: Callable[[torch.Tensor], list[torch.Tensor]], df: Callable[[torch.Tensor], list[torch.Tensor]]) -> GoldenCase:
    b = CircuitBuilder(n)
    prep(b)
    b.add(gate, wires, b.weight(0))
    circuit = b.build([Observable.parse(o) for o in observables])
    t = ANGLES
    values = torch.stack(f(t), dim=1)
    jac = torch.stack(df(t), dim=1).unsqueeze(-1)
    return GoldenCase(name, circuit, t.unsqueeze(1), values, jac)


def _nothing(b: CircuitBuilder) -> None:
    pass


def _plus(*wires: int) -> Callable[[CircuitBuilder], None]:
    def prep(b: CircuitBuilder) -> None:
        for w in wires:
            b.add("H", [w])

    return prep


def golden_cases() -> list[GoldenCase]:
    """Every golden case, in float64."""
    cos, sin = torch.cos, torch.sin
    cases = [
        _one_angle("rx_z", _nothing, "RX", [0], 1, ["Z0", "Y0"], lambda t: [cos(t), -sin(t)], lambda t: [-sin(t), -cos(t)]),
        _one_angle("ry_zx", _nothing, "RY", [0], 1, ["Z0", "X0"], lambda t: [cos(t), sin(t)], lambda t: [-sin(t), cos(t)]),
        _one_angle("phase_xy", _plus(0), "PhaseShift", [0], 1, ["X0", "Y0"], lambda t: [cos(t), sin(t)], lambda t: [-sin(t), cos(t)]),
        _one_angle("rz_xy", _plus(0), "RZ", [0], 1, ["X0", "Y0"], lambda t: [cos(t), sin(t)], lambda t: [-sin(t), cos(t)]),
        _one_angle("rzz_x", _plus(0, 1), "RZZ", [0, 1], 2, ["X0", "X0X1"], lambda t: [cos(t), torch.ones_like(t)],
                   lambda t: [-sin(t), torch.zeros_like(t)]),
        _one_angle("crx_four_term", _plus(0), "CRX", [0, 1], 2, ["Z1", "Z0"], lambda t: [(1 + cos(t)) / 2, torch.zeros_like(t)],
                   lambda t: [-sin(t) / 2, torch.zeros_like(t)]),
        _one_angle("cry_four_term", _plus(0), "CRY", [0, 1], 2, ["Z1"], lambda t: [(1 + cos(t)) / 2], lambda t: [-sin(t) / 2]),
        _one_angle("crz_four_term", _plus(0, 1), "CRZ", [0, 1], 2, ["X1"], lambda t: [(1 + cos(t)) / 2], lambda t: [-sin(t) / 2]),
        _one_angle("cphase_x", _plus(0, 1), "CPhase", [0, 1], 2, ["X1"], lambda t: [(1 + cos(t)) / 2], lambda t: [-sin(t) / 2]),
        _one_angle("weighted_sum", _nothing, "RY", [0], 1, ["0.5*Z0 + 2*X0"], lambda t: [0.5 * cos(t) + 2 * sin(t)],
                   lambda t: [-0.5 * sin(t) + 2 * cos(t)]),
    ]
    # Bell pair: <ZZ> = 1, <ZI> = 0, <XX> = 1, <YY> = -1 (no slots).
    b = CircuitBuilder(2)
    b.add("H", [0])
    b.add("CNOT", [0, 1])
    bell = b.build([Observable.parse(o) for o in ("Z0Z1", "Z0", "X0X1", "Y0Y1")])
    cases.append(GoldenCase("bell", bell, torch.zeros(2, 0, dtype=torch.float64),
                            torch.tensor([[1.0, 0.0, 1.0, -1.0]] * 2, dtype=torch.float64), torch.zeros(2, 4, 0, dtype=torch.float64)))
    # RY(a) then RZ(b): <X> = sin a cos b, <Y> = sin a sin b, <Z> = cos a.
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    b.add("RZ", [0], b.weight(1))
    chain = b.build([Observable.parse(o) for o in ("X0", "Y0", "Z0")])
    a, c = ANGLES, ANGLES.flip(0) + 0.4
    vals = torch.stack([sin(a) * cos(c), sin(a) * sin(c), cos(a)], dim=1)
    jac = torch.stack([
        torch.stack([cos(a) * cos(c), -sin(a) * sin(c)], dim=1),
        torch.stack([cos(a) * sin(c), sin(a) * cos(c)], dim=1),
        torch.stack([-sin(a), torch.zeros_like(a)], dim=1),
    ], dim=1)
    cases.append(GoldenCase("ry_rz_chain", chain, torch.stack([a, c], dim=1), vals, jac))
    # Rot(a, b, c) = RZ(c) RY(b) RZ(a): <X> = sin b cos c, <Y> = sin b sin c, <Z> = cos b.
    bld = CircuitBuilder(1)
    bld.add("Rot", [0], bld.weight(0), bld.weight(1), bld.weight(2))
    rot = bld.build([Observable.parse(o) for o in ("X0", "Y0", "Z0")])
    p, q, r = ANGLES + 0.2, ANGLES, ANGLES.flip(0)
    vals = torch.stack([sin(q) * cos(r), sin(q) * sin(r), cos(q)], dim=1)
    z = torch.zeros_like(p)
    jac = torch.stack([
        torch.stack([z, cos(q) * cos(r), -sin(q) * sin(r)], dim=1),
        torch.stack([z, cos(q) * sin(r), sin(q) * cos(r)], dim=1),
        torch.stack([z, -sin(q), z], dim=1),
    ], dim=1)
    cases.append(GoldenCase("rot", rot, torch.stack([p, q, r], dim=1), vals, jac))
    return cases
