"""Measuring torch statevectors and density matrices: Pauli expectations from basis probabilities, exact or sampled.

Shared by ``torch`` and ``torch.noisy``. Shot semantics are the core plan's
(:func:`hqnn_core.measurement.plan_measurements`): each binding is measured ``shots`` times per
measurement setting and the terms of one setting share its samples.
"""

from __future__ import annotations

import string
from collections.abc import Callable

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.measurement import BASIS_ROTATIONS, plan_measurements
from hqnn_plugins.statevector_plan import _fixed_gate

_LETTERS = string.ascii_letters  # einsum subscripts: one for the batch, one per qubit, k for gate outputs


def _apply(state: torch.Tensor, gate: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """Apply a gate (``[d, d]`` shared or ``[N, d, d]`` per binding) to ``state`` ``[N, 2, ..., 2]`` (generic, slow path)."""
    k = len(wires)
    batch, qubits, outs = _LETTERS[0], _LETTERS[1 : n + 1], _LETTERS[n + 1 : n + 1 + k]
    ins = "".join(qubits[w] for w in wires)
    result = list(qubits)
    for w, o in zip(wires, outs, strict=True):
        result[w] = o
    shape = (2,) * (2 * k)
    if gate.ndim == 3:
        gate = gate.reshape(gate.shape[0], *shape)
        spec = f"{batch}{outs}{ins},{batch}{qubits}->{batch}{''.join(result)}"
    else:
        gate = gate.reshape(shape)
        spec = f"{outs}{ins},{batch}{qubits}->{batch}{''.join(result)}"
    return torch.einsum(spec, gate, state)



def probabilities_of(state: torch.Tensor) -> torch.Tensor:
    """``|amplitude|**2`` per basis state, in real arithmetic."""
    return state.real.square() + state.imag.square()


def basis_probabilities(state: torch.Tensor, basis: tuple[tuple[int, str], ...], n: int) -> torch.Tensor:
    """Outcome probabilities ``[N, 2**n]`` of statevectors after the core plan's basis rotations (X: H; Y: S† then H)."""
    if basis:
        psi = state.reshape((state.shape[0],) + (2,) * n)
        for w, p in basis:
            for gate in BASIS_ROTATIONS[p]:
                psi = _apply(psi, _fixed_gate(gate, state.dtype, state.device), (w,), n)
        state = psi.reshape(state.shape[0], -1)
    return probabilities_of(state)


def pauli_expectations(circuit: Circuit, probabilities: Callable[[tuple[tuple[int, str], ...]], torch.Tensor], state: torch.Tensor,
                       shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
    """``[N, K]`` expectations of the circuit's observables from measurement-basis probabilities.

    The terms, settings and shot semantics are the core plan's (:func:`hqnn_core.measurement.plan_measurements`):
    ``probabilities(basis)`` gives ``[N, 2**n]`` after rotating the setting's non-Z wires to Z
    (shared by this backend and ``torch.noisy``), and the terms of one setting share its samples.
    """
    plan = plan_measurements(circuit)
    n, rows = circuit.n_qubits, state.shape[0]
    columns: list[torch.Tensor] = [state.new_zeros(0)] * len(plan.terms)
    for setting in plan.settings:
        probs = probabilities(setting.basis)
        samples = sample(probs, shots, generator) if shots is not None else None
        for t, wires in zip(setting.terms, setting.term_wires, strict=True):
            signs = _z_signs(list(wires), n, state.device)
            columns[t] = probs @ signs.to(probs.dtype) if samples is None else signs.to(torch.float64)[samples].mean(dim=1)
    real = state.real.dtype if shots is None else torch.float64
    term_values = torch.stack(columns, dim=1).to(real) if columns else torch.zeros(rows, 0, dtype=real, device=state.device)
    out = term_values @ torch.as_tensor(plan.coeffs, dtype=real, device=state.device) + torch.as_tensor(plan.constants, dtype=real, device=state.device)
    return out.detach() if shots is not None else out


def _z_signs(wires: list[int], n: int, device: torch.device) -> torch.Tensor:
    """±1 per basis state: the eigenvalue of Z on ``wires`` (wire 0 is the most significant bit)."""
    index = torch.arange(2**n, device=device)
    parity = torch.zeros_like(index)
    for w in wires:
        parity ^= (index >> (n - 1 - w)) & 1
    return 1 - 2 * parity


def sample(probs: torch.Tensor, shots: int, generator: torch.Generator | None) -> torch.Tensor:
    """``shots`` basis-state indices per row, drawn with ``generator`` (chunked to bound memory)."""
    probs = probs.detach().to(torch.float64).clamp_min(0)
    chunk = max(1, 2**24 // shots)
    parts = [torch.multinomial(p, shots, replacement=True, generator=generator) for p in probs.split(chunk)]
    return torch.cat(parts)

