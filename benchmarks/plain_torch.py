"""A hand-written batched statevector simulator in plain torch (autograd), gate by gate.

Two uses: the no-framework peer a user could write in an afternoon, and, in complex128, the
independent reference every tool (hqnn included) is checked against before timing. It shares no
code with hqnn: gates are 2x2 matrices applied with ``einsum`` along one axis of a ``[B, 2, ..., 2]``
state, a CNOT flips the target axis where the control axis is 1. Weights shared by the batch are
applied as one unbatched matrix, which is what a careful hand-written simulator would do.
"""

from __future__ import annotations

import torch

from benchmarks.workloads import Workload


def _ry(theta: torch.Tensor, cdtype: torch.dtype) -> torch.Tensor:
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2).to(cdtype)


def _rz(theta: torch.Tensor, cdtype: torch.dtype) -> torch.Tensor:
    phase = torch.exp(-0.5j * theta.to(cdtype))
    zero = torch.zeros_like(phase)
    return torch.stack([torch.stack([phase, zero], -1), torch.stack([zero, phase.conj()], -1)], -2)


def _apply(state: torch.Tensor, wire: int, matrix: torch.Tensor) -> torch.Tensor:
    """``matrix`` ``[2, 2]`` (shared) or ``[B, 2, 2]`` (per sample) on axis ``wire + 1`` of ``[B, 2, ..., 2]``."""
    moved = state.movedim(wire + 1, -1)
    out = torch.einsum("b...j,bij->b...i", moved, matrix) if matrix.dim() == 3 else moved @ matrix.transpose(0, 1)
    return out.movedim(-1, wire + 1)


def _cnot(state: torch.Tensor, control: int, target: int, n: int) -> torch.Tensor:
    mask = torch.arange(2, device=state.device).reshape([1] + [2 if i == control else 1 for i in range(n)])
    return torch.where(mask == 1, state.flip(target + 1), state)


def final_state(w: Workload, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """The workload circuit's statevectors ``[B, 2, ..., 2]`` (complex128 for float64 inputs, else complex64)."""
    n, b = w.n_qubits, x.shape[0]
    cdtype = torch.complex128 if x.dtype == torch.float64 else torch.complex64
    state = torch.zeros((b,) + (2,) * n, dtype=cdtype)
    state[(slice(None),) + (0,) * n] = 1
    for i in range(n):
        state = _apply(state, i, _ry(x[:, i], cdtype))
    for layer in range(w.layers):
        for i in range(n):
            state = _apply(state, i, _rz(weights[layer, 2 * i + 1], cdtype) @ _ry(weights[layer, 2 * i], cdtype))
        for a, c in w.ring:
            state = _cnot(state, a, c, n)
    return state


def z_expectations(state: torch.Tensor) -> torch.Tensor:
    """``<Z_i>`` for every wire, ``[B, n]``: P(bit i = 0) - P(bit i = 1)."""
    n = state.dim() - 1
    probs = state.real**2 + state.imag**2
    out = []
    for i in range(n):
        p = probs.movedim(i + 1, 1).reshape(probs.shape[0], 2, -1).sum(-1)
        out.append(p[:, 0] - p[:, 1])
    return torch.stack(out, -1)


def probabilities(state: torch.Tensor) -> torch.Tensor:
    """All ``2**n`` outcome probabilities, wire 0 the most significant bit, ``[B, 2**n]``."""
    return (state.real**2 + state.imag**2).reshape(state.shape[0], -1)
