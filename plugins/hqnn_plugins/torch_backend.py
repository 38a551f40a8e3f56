"""The embedded ``torch`` backend: a batched statevector simulator, differentiable by autograd.

It needs no vendor SDK, runs on whatever torch device the slot values live on, and is the
reference every vendor adapter is compared with (itself checked against closed-form circuits).

Shot semantics: with ``shots=S`` each binding is measured S times per measurement basis. All
terms that are diagonal in Z share one set of S samples (as one hardware measurement would);
each distinct non-Z basis among the terms gets its own S samples. A term's estimate is the mean
of its ±1 eigenvalue over its samples, so its standard error is ``sqrt((1 - <P>^2) / S)``.
"""

from __future__ import annotations

import math
import os
import string
from typing import Any, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.circuit import Circuit, Op
from hqnn_core.errors import CapabilityError
from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces import Backend, BackendCapabilities, Task
from hqnn_core.registry import BackendRegistry

_LETTERS = string.ascii_letters  # einsum subscripts: one for the batch, one per qubit, k for gate outputs
MAX_QUBITS = 30


def _angle_gate(name: str, theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Batched matrices ``[N, d, d]`` of the one-angle gates for angles ``theta`` ``[N]``."""
    half = theta.to(dtype) / 2
    c, s = torch.cos(half), torch.sin(half)
    one, zero = torch.ones_like(c), torch.zeros_like(c)
    j = torch.tensor(1j, dtype=dtype, device=theta.device)
    if name == "RX":
        rows = [[c, -j * s], [-j * s, c]]
    elif name == "RY":
        rows = [[c, -s], [s, c]]
    elif name == "RZ":
        rows = [[torch.exp(-j * half), zero], [zero, torch.exp(j * half)]]
    elif name == "PhaseShift":
        rows = [[one, zero], [zero, torch.exp(2 * j * half)]]
    elif name in ("RXX", "RYY"):
        sign = 1 if name == "RXX" else -1  # Y⊗Y has +1 on the anti-diagonal's inner entries, -1 on the outer
        rows = [[c, zero, zero, -j * s * sign], [zero, c, -j * s, zero], [zero, -j * s, c, zero], [-j * s * sign, zero, zero, c]]
    elif name == "RZZ":
        m, p = torch.exp(-j * half), torch.exp(j * half)
        rows = [[m, zero, zero, zero], [zero, p, zero, zero], [zero, zero, p, zero], [zero, zero, zero, m]]
    elif name in ("CRX", "CRY", "CRZ", "CPhase"):
        inner = _angle_gate({"CPhase": "PhaseShift"}.get(name, name[1:]), theta, dtype)
        out = torch.zeros(theta.shape[0], 4, 4, dtype=dtype, device=theta.device)
        out[:, 0, 0] = 1
        out[:, 1, 1] = 1
        out[:, 2:, 2:] = inner
        return out
    else:  # pragma: no cover - GATES and this table are kept in step by tests
        raise CapabilityError(f"the torch backend has no matrix for gate {name!r}")
    return torch.stack([torch.stack(r, dim=-1) for r in rows], dim=-2)


def _fixed_gate(name: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    r = 1 / math.sqrt(2)
    table: dict[str, list[list[complex]]] = {
        "I": [[1, 0], [0, 1]],
        "H": [[r, r], [r, -r]],
        "X": [[0, 1], [1, 0]],
        "Y": [[0, -1j], [1j, 0]],
        "Z": [[1, 0], [0, -1]],
        "S": [[1, 0], [0, 1j]],
        "Sdg": [[1, 0], [0, -1j]],
        "T": [[1, 0], [0, complex(r, r)]],
        "Tdg": [[1, 0], [0, complex(r, -r)]],
        "SX": [[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]],
        "CNOT": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]],
        "CZ": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1]],
        "SWAP": [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]],
    }
    return torch.tensor(table[name], dtype=dtype, device=device)


def _rot(angles: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Rot(a, b, c) = RZ(c) RY(b) RZ(a) for angles ``[N, 3]``."""
    a, b, c = angles.unbind(dim=1)
    return _angle_gate("RZ", c, dtype) @ _angle_gate("RY", b, dtype) @ _angle_gate("RZ", a, dtype)


def _apply(state: torch.Tensor, gate: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """Apply a gate (``[d, d]`` shared or ``[N, d, d]`` per binding) to ``state`` ``[N, 2, ..., 2]``."""
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


def _available_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


class TorchBackend(Backend):
    """Embedded batched statevector simulator in torch: exact or sampled, differentiable by backprop."""

    name = "torch"
    vendor = "hqnn"
    capabilities = BackendCapabilities(max_qubits=MAX_QUBITS, analytic=True, shots=True, backprop=True)

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        precision: Literal["auto", "complex64", "complex128"] = Field(
            "auto", description="auto: complex128 for float64 inputs, complex64 otherwise"
        )
        seed: int | None = Field(None, description="base seed for shot sampling")

    def _complex_dtype(self, values: torch.Tensor) -> torch.dtype:
        if self.options.precision == "complex64":
            return torch.complex64
        if self.options.precision == "complex128":
            return torch.complex128
        return torch.complex128 if values.dtype == torch.float64 else torch.complex64

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        self._count_job()
        generator = None
        results = []
        for circuit, values in tasks:
            if shots is not None and generator is None:
                generator = torch.Generator(device=values.device)
                generator.manual_seed(int(seed if seed is not None else 0))
            results.append(self._evaluate(circuit, values, shots, generator))
        return results

    def _check_memory(self, circuit: Circuit, n_rows: int, dtype: torch.dtype) -> None:
        itemsize = torch.empty((), dtype=dtype).element_size()
        needed = 4 * n_rows * (2**circuit.n_qubits) * itemsize  # state, einsum output, probabilities, autograd copies
        available = _available_memory()
        if available is not None and needed > available:
            raise CapabilityError(
                f"simulating {n_rows} bindings of {circuit.n_qubits} qubits needs about {needed / 2**30:.1f} GiB; "
                f"{available / 2**30:.1f} GiB is free. Lower the batch size or the qubit count, or use a managed simulator."
            )

    def simulate(self, circuit: Circuit, values: torch.Tensor) -> torch.Tensor:
        """Final states ``[N, 2**n]`` for slot values ``[N, n_slots]`` (differentiable)."""
        dtype = self._complex_dtype(values)
        self._check_memory(circuit, values.shape[0], dtype)
        n, rows = circuit.n_qubits, values.shape[0]
        state = torch.zeros((rows,) + (2,) * n, dtype=dtype, device=values.device)
        state.view(rows, -1)[:, 0] = 1
        for op in circuit.ops:
            state = _apply(state, self._matrix(op, values, dtype, values.device), op.wires, n)
        return state.reshape(rows, -1)

    @staticmethod
    def _matrix(op: Op, angles: torch.Tensor, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        if not op.slots:
            return _fixed_gate(op.name, dtype, device)
        if op.name == "Rot":
            return _rot(angles[:, list(op.slots)], dtype)
        return _angle_gate(op.name, angles[:, op.slots[0]], dtype)

    def _evaluate(self, circuit: Circuit, values: torch.Tensor, shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
        state = self.simulate(circuit, values)
        n = circuit.n_qubits
        outputs: list[torch.Tensor] = []
        basis_probs: dict[tuple[tuple[int, str], ...], torch.Tensor] = {}
        basis_samples: dict[tuple[tuple[int, str], ...], torch.Tensor] = {}
        for obs in circuit.observables:
            total: torch.Tensor | float = 0.0
            for term in obs.terms:
                if not term.paulis:
                    total = total + term.coeff
                    continue
                basis = tuple((w, p) for w, p in term.paulis if p != "Z")
                if basis not in basis_probs:
                    basis_probs[basis] = self._probabilities(state, basis, n)
                signs = _z_signs([w for w, _ in term.paulis], n, state.device)
                if shots is None:
                    value = basis_probs[basis] @ signs.to(basis_probs[basis].dtype)
                else:
                    if basis not in basis_samples:
                        basis_samples[basis] = _sample(basis_probs[basis], shots, generator)
                    value = signs.to(torch.float64)[basis_samples[basis]].mean(dim=1)
                total = total + term.coeff * value
            if not torch.is_tensor(total):
                total = torch.full((state.shape[0],), float(total), dtype=state.real.dtype, device=state.device)
            outputs.append(total)
        out = torch.stack(outputs, dim=1)
        return out.detach().to(torch.float64) if shots is not None else out

    @staticmethod
    def _probabilities(state: torch.Tensor, basis: tuple[tuple[int, str], ...], n: int) -> torch.Tensor:
        if basis:  # rotate X -> Z with H, Y -> Z with H·S†, then read Z
            psi = state.reshape((state.shape[0],) + (2,) * n)
            for w, p in basis:
                if p == "Y":
                    psi = _apply(psi, _fixed_gate("Sdg", state.dtype, state.device), (w,), n)
                psi = _apply(psi, _fixed_gate("H", state.dtype, state.device), (w,), n)
            state = psi.reshape(state.shape[0], -1)
        return state.real**2 + state.imag**2

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["versions"] = {"torch": torch.__version__}
        return info


def _z_signs(wires: list[int], n: int, device: torch.device) -> torch.Tensor:
    """±1 per basis state: the eigenvalue of Z on ``wires`` (wire 0 is the most significant bit)."""
    index = torch.arange(2**n, device=device)
    parity = torch.zeros_like(index)
    for w in wires:
        parity ^= (index >> (n - 1 - w)) & 1
    return 1 - 2 * parity


def _sample(probs: torch.Tensor, shots: int, generator: torch.Generator | None) -> torch.Tensor:
    """``shots`` basis-state indices per row, drawn with ``generator`` (chunked to bound memory)."""
    probs = probs.detach().to(torch.float64).clamp_min(0)
    chunk = max(1, 2**24 // shots)
    parts = [torch.multinomial(p, shots, replacement=True, generator=generator) for p in probs.split(chunk)]
    return torch.cat(parts)


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    registry.add("torch", TorchBackend)
