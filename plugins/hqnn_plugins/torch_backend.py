"""The embedded ``torch`` backend: a batched statevector simulator, differentiable by autograd or adjoint.

It needs no vendor SDK, runs on whatever torch device the slot values live on, and is the
reference every vendor adapter is compared with (itself checked against closed-form circuits).

Shot semantics: with ``shots=S`` each binding is measured S times per measurement basis. All
terms that are diagonal in Z share one set of S samples (as one hardware measurement would);
each distinct non-Z basis among the terms gets its own S samples. A term's estimate is the mean
of its ±1 eigenvalue over its samples, so its standard error is ``sqrt((1 - <P>^2) / S)``.

Why it is fast. Each circuit is compiled once (cached by the hashable :class:`Circuit`) into a short
plan, so the hot path is a loop over a handful of fused steps, not over gates:

* single-qubit gates that open a wire (before its first multi-qubit gate) are multiplied into one
  2x2 per wire and the initial state is their Kronecker product, built directly;
* later runs of single-qubit gates become one 2x2 per wire and sample; a layer of them is applied in
  ``ceil(wires / 4)`` batched matrix products of Kronecker blocks (up to 16x16). Each product reads
  the state with its top wires as the contracted axis and writes them at the bottom, so a whole layer
  cycles the wire order back to where it started and no transpose copy is ever made;
* CNOT, SWAP and CZ accumulate into one signed permutation of basis states (a linear map over GF(2)),
  applied as a single gather when the state is next touched, or folded into the measurement;
* RZZ, CPhase and CRZ become one elementwise phase per run;
* Z-string observables are one matrix product of the probabilities with a ±1 table;
* blocks whose angles are equal in every row (trained weights) are built once, not per sample, with
  each row's gradient still exact (see :class:`_SharedSpec`).

Gradients (option ``diff_method``, exact in every mode): ``backprop`` is a hand-written reverse sweep
over the stored input state of every step (memory grows with the number of steps); ``adjoint`` keeps
only the final state and recovers earlier ones by undoing each step (Jones & Gacon 2020), so memory
stays at a few states whatever the depth; ``autograd`` records the steps in torch's autograd (slower,
but the only mode with higher-order derivatives); ``auto`` (default) takes backprop while its stored
states fit in 1 GiB and a quarter of free memory, else adjoint, and adjoint when the ``adjoint``
gradient estimator asks for it (:meth:`TorchBackend.configure_gradient`).

Limits: memory is about ``batch * 2**n * itemsize * k`` bytes, with k = 3 for a forward pass, 6 for
adjoint training and steps + 4 for backprop (itemsize 8 for complex64, 16 for complex128), plus a
pair of int32 permutation tables of ``2**n`` entries (:func:`memory_needed`). It is checked before
anything is compiled or allocated: with 24 GiB free the largest complex64 run is 29 qubits for one
forward binding and 28 qubits for one adjoint training binding, one fewer with complex128
(:func:`largest_qubits`). Time per step grows like ``batch * 2**n * gates``.
"""

from __future__ import annotations

import math
import os
import string
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch.autograd.function import once_differentiable

from hqnn_core.circuit import Circuit, Op
from hqnn_core.errors import CapabilityError
from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces import Backend, BackendCapabilities, Task
from hqnn_core.registry import BackendRegistry

_LETTERS = string.ascii_letters  # einsum subscripts: one for the batch, one per qubit, k for gate outputs
MAX_QUBITS = 30  # int32 basis-state indices; the memory check sets the practical limit below this
GROUP_MAX = 4  # wires per Kronecker block: 16x16 blocks keep the batched products compute-efficient
_MONOMIAL = frozenset({"CNOT", "SWAP", "CZ"})  # signed permutations of basis states
_DIAG_TABLES = {  # phase coefficient of the angle on |b0 b1> of the gate's two wires
    "RZZ": ((-0.5, 0.5), (0.5, -0.5)),
    "CPhase": ((0.0, 0.0), (0.0, 1.0)),
    "CRZ": ((0.0, 0.0), (-0.5, 0.5)),
}
_TABLE_LIMIT = 1 << 24  # largest ±1 / phase-coefficient table kept per circuit (elements)
_GENERATORS = {  # R_P(t) = cos(t/2) I + sin(t/2) (-i P)
    "RX": np.array([[0, -1j], [-1j, 0]]),
    "RY": np.array([[0, -1], [1, 0]], dtype=complex),
    "RZ": np.array([[-1j, 0], [0, 1j]]),
}


# ---------------------------------------------------------------------------------------------
# Gate matrices


def _angle_gate(name: str, theta: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Matrices ``[..., d, d]`` of the one-angle gates for angles ``theta`` ``[...]``."""
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
        rows = [[one, zero, zero, zero], [zero, one, zero, zero],
                [zero, zero, inner[..., 0, 0], inner[..., 0, 1]], [zero, zero, inner[..., 1, 0], inner[..., 1, 1]]]
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


def _available_memory() -> int | None:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _live_states(method: str, steps: int) -> int:
    """Batch statevectors alive at a run's peak: a forward pass holds its input, its output and the
    measurement; adjoint adds the stacked (state, cotangent) pair and its undo; backprop keeps every
    step's input; autograd keeps those and its own temporaries."""
    return {"forward": 3, "adjoint": 6, "backprop": steps + 4, "autograd": 2 * steps + 4}[method]


def memory_needed(n_qubits: int, batch: int, dtype: torch.dtype = torch.complex64, method: str = "forward", steps: int = 0) -> int:
    """Peak bytes of one run: live states plus a pair of int32 permutation tables (``8 * 2**n``)."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    return _live_states(method, steps) * batch * (2**n_qubits) * itemsize + 8 * 2**n_qubits


def largest_qubits(memory: int, batch: int = 1, dtype: torch.dtype = torch.complex64, method: str = "forward", steps: int = 0) -> int:
    """The most qubits whose run fits in ``memory`` bytes (0 if none); e.g. 24 GiB: 29 forward, 28 adjoint (complex64)."""
    n = 0
    while n < MAX_QUBITS and memory_needed(n + 1, batch, dtype, method, steps) <= memory:
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# Bit algebra: basis-state permutations of CNOT/SWAP networks are linear maps over GF(2)
# (wire 0 is the most significant bit; a "layout" lists which wire each physical axis holds).


def _gf2_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a.astype(np.int64) @ b.astype(np.int64) % 2).astype(np.uint8)


def _gf2_inv(a: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    m = np.concatenate([a % 2, np.eye(n, dtype=np.uint8)], axis=1).astype(np.uint8)
    for col in range(n):
        pivot = col + int(np.nonzero(m[col:, col])[0][0])
        m[[col, pivot]] = m[[pivot, col]]
        for r in np.nonzero(m[:, col])[0]:
            if r != col:
                m[r] ^= m[col]
    return m[:, n:]


def _layout_matrix(layout: Sequence[int]) -> np.ndarray:
    """P with ``physical_bits = P @ wire_bits``."""
    p = np.zeros((len(layout), len(layout)), dtype=np.uint8)
    p[np.arange(len(layout)), list(layout)] = 1
    return p


def _mask(bits: np.ndarray) -> int:
    n = len(bits)
    return sum(1 << (n - 1 - int(p)) for p in np.nonzero(bits)[0])


def _linear_table(mat: np.ndarray) -> np.ndarray:
    """``table[i]`` = the integer of ``mat @ bits(i)``, built by doubling (one pass over 2**n entries)."""
    n = mat.shape[0]
    dtype = np.int32 if n < 31 else np.int64
    table = np.zeros(1, dtype=dtype)
    for p in reversed(range(n)):  # least significant bit first
        table = np.concatenate([table, np.bitwise_xor(table, dtype(_mask(mat[:, p])))])
    return table


def _parity_signs(n: int, masks: Sequence[int]) -> np.ndarray:
    """``[len(masks), 2**n]`` float: (-1)^popcount(i & mask)."""
    index = np.arange(1 << n, dtype=np.int64)
    return np.stack([1.0 - 2.0 * (np.bitwise_count(index & m) & 1) for m in masks]) if masks else np.zeros((0, 1 << n))


# ---------------------------------------------------------------------------------------------
# Compiled plans: device-independent descriptions plus per-(device, dtype) tensor caches


class _Cached:
    """Converts numpy constants to tensors once per (device, dtype)."""

    def __init__(self) -> None:
        self._tensors: dict[tuple[Any, ...], torch.Tensor] = {}

    def tensor(self, key: str, array: np.ndarray, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        k = (key, str(device), dtype)
        if k not in self._tensors:
            self._tensors[k] = torch.as_tensor(array).to(device=device, dtype=dtype)
        return self._tensors[k]


class _Perm(_Cached):
    """``out[i] = sign[i] * in[src[i]]``: a signed permutation (CNOT/SWAP/CZ runs, relayouts)."""

    def __init__(self, src_map: np.ndarray | None, sign: np.ndarray | None) -> None:
        """``src_map``: GF(2) matrix from output to input physical bits (None: no permutation); ``sign``: int8 ±1."""
        super().__init__()
        self.sign = sign
        self.src = None if src_map is None else _linear_table(src_map)
        self.inv = None if src_map is None else _linear_table(_gf2_inv(src_map))

    def _index(self, x: torch.Tensor, inverse: bool) -> torch.Tensor:
        arr = self.inv if inverse else self.src
        assert arr is not None  # only called when there is a permutation
        return self.tensor("inv" if inverse else "src", arr, x.device, torch.int32 if arr.dtype == np.int32 else torch.int64)

    def _sign(self, x: torch.Tensor) -> torch.Tensor:
        assert self.sign is not None  # only called when there are signs
        return self.tensor("sign", self.sign, x.device, x.real.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.src is not None:
            x = _Gather.apply(x, self._index(x, False), self._index(x, True)) if x.requires_grad else x.index_select(-1, self._index(x, False))
        return x * self._sign(x) if self.sign is not None else x

    def adjoint(self, x: torch.Tensor) -> torch.Tensor:
        if self.sign is not None:
            x = x * self._sign(x)
        return x.index_select(-1, self._index(x, True)) if self.src is not None else x


class _Gather(torch.autograd.Function):
    """Index permutation whose backward is the inverse gather (autograd's default is a slower scatter-add)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, index: torch.Tensor, inverse: torch.Tensor) -> torch.Tensor:
        ctx.index, ctx.inverse = index, inverse
        return x.index_select(-1, index)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return _Gather.apply(grad, ctx.inverse, ctx.index), None, None


@dataclass
class _Dense:
    """A per-sample ``2**g x 2**g`` matrix on the top ``g`` physical wires, which then move to the bottom.

    Reading the state ``[N, K, R]`` transposed and writing ``[N, R, K]`` lets one batched product do the
    work with no copy; applying every group of a layer in turn brings the wire order back.
    """

    g: int
    stack: int  # which matrix stack (Kronecker blocks by size, then one per multi-qubit gate)
    index: int  # and which entry in it

    def forward(self, x: torch.Tensor, mats: Sequence[Sequence[torch.Tensor]]) -> torch.Tensor:
        n_rows, k = x.shape[0], 1 << self.g
        return torch.matmul(x.view(n_rows, k, -1).mT, mats[self.stack][self.index].mT).reshape(n_rows, -1)


class _Diag(_Cached):
    """One phase ``exp(i * sum_j theta_j c_j(basis state))`` for a run of RZZ/CPhase/CRZ gates."""

    def __init__(self, n: int, columns: list[int], gates: list[tuple[str, int, int]]) -> None:
        super().__init__()
        self.n, self.columns, self.gates = n, columns, gates  # gates: (name, physical position a, b)
        self.coeffs: np.ndarray | None = None
        if len(gates) << n <= _TABLE_LIMIT:
            index = np.arange(1 << n, dtype=np.int64)
            rows = []
            for name, a, b in gates:
                table = np.asarray(_DIAG_TABLES[name])
                rows.append(table[(index >> (n - 1 - a)) & 1, (index >> (n - 1 - b)) & 1])
            self.coeffs = np.stack(rows)

    def _broadcast(self, name: str, a: int, b: int, like: torch.Tensor) -> torch.Tensor:
        """The coefficient table of one gate shaped to broadcast against ``[N, 2, ..., 2]``."""
        table = torch.tensor(_DIAG_TABLES[name], dtype=like.dtype, device=like.device)
        shape = [1] * (self.n + 1)
        shape[a + 1] = shape[b + 1] = 2
        return (table if a < b else table.T).reshape(shape)

    def angles(self, theta: torch.Tensor) -> torch.Tensor:
        """``[N, 2**n]`` phase angles for this run's angles ``theta`` ``[N, m]``."""
        if self.coeffs is not None:
            return theta @ self.tensor("coeffs", self.coeffs, theta.device, theta.dtype)
        out = theta.new_zeros((theta.shape[0],) + (2,) * self.n)
        for j, (name, a, b) in enumerate(self.gates):
            out = out + theta[:, j].reshape((-1,) + (1,) * self.n) * self._broadcast(name, a, b, theta)
        return out.reshape(theta.shape[0], -1)

    def angle_grad(self, grad_phase: torch.Tensor) -> torch.Tensor:
        """``d L / d theta`` from ``d L / d phase-angle`` ``[N, 2**n]``."""
        if self.coeffs is not None:
            return grad_phase @ self.tensor("coeffs", self.coeffs, grad_phase.device, grad_phase.dtype).T
        g = grad_phase.reshape((grad_phase.shape[0],) + (2,) * self.n)
        dims = tuple(range(1, self.n + 1))
        return torch.stack([(g * self._broadcast(name, a, b, g)).sum(dim=dims) for name, a, b in self.gates], dim=1)

    def forward(self, x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        phase = self.angles(theta[:, self.columns])
        return x * torch.polar(torch.ones_like(phase), phase)


class _ZMeasure(_Cached):
    """Observables made of Z strings, read from the final state in its physical layout.

    A term's ±1 sign on basis state ``i`` is the parity of ``i & mask``. Splitting ``i`` into a high part
    (which 2**m-state chunk) and a low part, the sign is ``high_sign[chunk] * low_sign[i % 2**m]``: so
    every term's average is one matrix product of the probabilities, viewed ``[N, chunks, 2**m]``, with
    a ``[2**m, terms]`` table (``m <= 16``), whatever the qubit count. The gradient is the same product
    transposed.
    """

    LOW_BITS = 16

    def __init__(self, n: int, masks: list[int], weights: np.ndarray, const: np.ndarray) -> None:
        super().__init__()
        self.n, self.masks, self.weights, self.const = n, masks, weights, const  # weights [terms, K]
        self.m = min(n, self.LOW_BITS)
        low = (1 << self.m) - 1
        self.low = _parity_signs(self.m, [mk & low for mk in masks]).T  # [2**m, terms]
        self.high = _parity_signs(n - self.m, [mk >> self.m for mk in masks]).T  # [chunks, terms]

    def signs(self, term: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """``[2**n]`` ±1 of Z string ``term`` on each basis state."""
        low = self.tensor("low", self.low, device, dtype)[:, term]
        high = self.tensor("high", self.high, device, dtype)[:, term]
        return (high[:, None] * low[None, :]).reshape(-1)

    def expectations(self, state: torch.Tensor) -> torch.Tensor:
        """``[N, K]`` from the final state ``[N, 2**n]``; |a|^2 is read as re^2 + im^2 of the real view."""
        real, n_rows, device = state.real.dtype, state.shape[0], state.device
        low2 = self.tensor("low2", np.repeat(self.low, 2, axis=0), device, real)  # rows repeated for (re, im) pairs
        squares = torch.view_as_real(state).reshape(n_rows, self.high.shape[0], -1).square()
        per_term = (squares @ low2 * self.tensor("high", self.high, device, real)).sum(dim=1)  # [N, terms]
        out = per_term @ self.tensor("weights", self.weights, device, real)
        return out + self.tensor("const", self.const, device, real) if self.const.any() else out

    def weights_grad(self, grad_out: torch.Tensor) -> torch.Tensor:
        """``d L / d |a_i|^2`` ``[N, 2**n]`` from ``d L / d expectations`` ``[N, K]``."""
        device, dtype = grad_out.device, grad_out.dtype
        per_term = grad_out @ self.tensor("weights", self.weights, device, dtype).T  # [N, terms]
        chunks = per_term.unsqueeze(1) * self.tensor("high", self.high, device, dtype)  # [N, chunks, terms]
        return (chunks @ self.tensor("low", self.low, device, dtype).T).reshape(grad_out.shape[0], -1)


class _SharedSpec(_Cached):
    """One Kronecker stack built from a single row of slot values, with its derivative per slot.

    Each slot is read by exactly one gate, and ``U = C + cos(f t) A + sin(f t) B`` has derivative
    ``0 + cos(f t) (f B) + sin(f t) (-f A)``; so "virtual row" 1 + j of a group is the group's matrix
    with slot j's gate replaced by that derivative, i.e. ``dM / d slot_j``. One batched build gives
    the matrices and all derivatives; a row's gradient is then ``Re <E_row, dM>`` for its own E.
    """

    def __init__(self, groups: np.ndarray, cols: np.ndarray, freq: np.ndarray, coefs: np.ndarray) -> None:
        super().__init__()
        n_groups, g = groups.shape
        length = cols.shape[0]
        slots = [[(pos, a) for a in range(g) for pos in range(length) if freq[pos, groups[i, a]]] for i in range(n_groups)]
        rows = 1 + max([len(x) for x in slots] + [0])
        self.cols = cols[:, groups].transpose(1, 0, 2)[:, None]  # [G, 1, L, g]
        self.freq = freq[:, groups].transpose(1, 0, 2)[:, None]
        base = coefs[:, groups].transpose(1, 0, 2, 3, 4, 5)  # [G, L, g, 3, 2, 2]
        virtual = np.repeat(base[:, None], rows, axis=1)  # [G, R, L, g, 3, 2, 2]
        slot_of = np.full((n_groups, rows - 1), -1, dtype=np.int64)
        for i, group_slots in enumerate(slots):
            for j, (pos, a) in enumerate(group_slots):
                f, (_, a_mat, b_mat) = freq[pos, groups[i, a]], base[i, pos, a]
                virtual[i, 1 + j, pos, a] = (np.zeros((2, 2)), f * b_mat, -f * a_mat)
                slot_of[i, j] = cols[pos, groups[i, a]]
        planes = virtual.reshape(n_groups, rows, length, g, 3, 4).transpose(4, 5, 0, 1, 2, 3)  # [3, 4, G, R, L, g]
        self.coefs = np.stack([planes.real, planes.imag], axis=1)  # [3, 2, 4, G, R, L, g]
        flat = slot_of.reshape(-1)
        self.positions, self.slot_cols = np.nonzero(flat >= 0)[0], flat[flat >= 0]

    def build(self, row: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``[G, R, K, K]``: each group's matrix (virtual row 0) and its derivatives, from slot values ``row``."""
        device, real = row.device, row.dtype
        theta = row[self.tensor("cols", self.cols, device, torch.int64)] * self.tensor("freq", self.freq, device, real)
        k = self.tensor("coefs", self.coefs, device, real)
        planes = torch.addcmul(torch.addcmul(k[0], k[1], torch.cos(theta)), k[2], torch.sin(theta))  # [2, 4, G, R, L, g]
        u = torch.complex(planes[0], planes[1]).to(dtype)
        u = u.view(2, 2, *u.shape[1:])
        blocks = u[..., 0, :]
        for pos in range(1, u.shape[-2]):
            x = u[..., pos, :]
            blocks = x[:, :1] * blocks[:1] + x[:, 1:] * blocks[1:]
        return _kron_entries(blocks).permute(2, 3, 0, 1)


class _SharedStack(torch.autograd.Function):
    """A Kronecker stack ``[N, G, K, K]`` built once from row 0 (all rows read equal slot values there)."""

    @staticmethod
    def forward(ctx: Any, values: torch.Tensor, spec: _SharedSpec, dtype: torch.dtype) -> torch.Tensor:
        real = torch.empty((), dtype=dtype).real.dtype
        built = spec.build(values[0].to(real), dtype)  # [G, R, K, K]
        ctx.spec, ctx.values_shape, ctx.values_dtype = spec, values.shape, values.dtype
        ctx.save_for_backward(built[:, 1:])
        return built[:, 0].unsqueeze(0).expand(values.shape[0], -1, -1, -1)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        (derivs,) = ctx.saved_tensors  # [G, S, K, K]
        spec: _SharedSpec = ctx.spec
        n_rows, n_groups = grad.shape[:2]
        out = grad.real.new_zeros(ctx.values_shape)
        if not derivs.shape[1]:  # fixed gates only
            return out.to(ctx.values_dtype), None, None
        e = grad.reshape(n_rows, n_groups, -1).transpose(0, 1)  # [G, N, K*K]
        d = derivs.reshape(n_groups, derivs.shape[1], -1)  # [G, S, K*K]
        per_slot = torch.matmul(e, d.conj().mT).real.permute(1, 0, 2).reshape(n_rows, -1)  # Re <E, dM>: [N, G*S]
        positions = spec.tensor("positions", spec.positions, grad.device, torch.int64)
        out.index_add_(1, spec.tensor("slot_cols", spec.slot_cols, grad.device, torch.int64), per_slot[:, positions])
        return out.to(ctx.values_dtype), None, None


class _Params(_Cached):
    """How slot values become the plan's matrices, with every one-qubit gate of the circuit built at once.

    A *block* is the product of one wire's consecutive one-qubit gates: position p of block b holds
    ``U = C + cos(f * angle) A + sin(f * angle) B`` (rotations: f = 1/2, C = 0, A = I, B = -iP; phase
    shifts: f = 1; fixed gates and padding: A = B = 0). Matrices are laid out entries-first
    (``[2, 2, N, ...]``) so that every elementwise product runs over long contiguous rows. Blocks
    give the opening product state and, by Kronecker products, each dense step's matrix.
    """

    def __init__(self) -> None:
        super().__init__()
        self.cols = np.zeros((1, 0), dtype=np.int64)  # [L, B] slot read by position p of block b (0 if none)
        self.freq = np.zeros((1, 0))  # [L, B] f above
        self.coefs = np.zeros((3, 2, 4, 1, 0))  # (C, A, B) x (re, im) x entries x 1 x L*B
        self.prefix = np.zeros(0, dtype=np.int64)  # [n] block giving each wire's opening state
        self.krons: dict[int, Any] = {}  # lists while compiling, arrays after  # wires per Kronecker block -> [G, g] block ids, top wire first
        self.kron_slots: dict[int, list[int]] = {}  # slots those blocks read (all rows equal there: build once)
        self.shared: dict[int, _SharedSpec] = {}  # how to build them once, with their derivatives
        self.gates: list[tuple[str, list[int]]] = []  # multi-qubit dense gates: (name, slot columns)
        self.diag_columns: list[int] = []  # slot of every diagonal-run angle


@dataclass
class _Plan:
    n: int
    params: _Params
    steps: list[Any]
    measure: _ZMeasure | None  # None: the plan ends with the state in logical order


class _Compiler:
    """Turns a circuit into a plan (see the module docstring); runs once per circuit."""

    def __init__(self, circuit: Circuit, z_only: bool) -> None:
        self.c, self.n, self.z_only = circuit, circuit.n_qubits, z_only
        self.layout = list(range(self.n))
        self.pending: tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]] | None = None  # (A, CZ mask pairs)
        self.steps: list[Any] = []
        self.p = _Params()
        self.one_qubit: list[tuple[str, int | None]] = []  # (gate, slot) instances of the one-qubit table
        self.block_ops: list[list[int]] = []  # per block: one-qubit instance ids in program order
        self._perm_cache: dict[bytes, _Perm] = {}

    # -- one-qubit fusion --------------------------------------------------------------------
    def _block(self, ops: list[Op]) -> int:
        """A fused one-qubit block: the table instances of ``ops`` in program order."""
        ids = []
        for op in ops:
            parts = [("RZ", op.slots[0]), ("RY", op.slots[1]), ("RZ", op.slots[2])] if op.name == "Rot" else [(op.name, op.slots[0] if op.slots else None)]
            for name, slot in parts:
                self.one_qubit.append((name, slot))
                ids.append(len(self.one_qubit) - 1)
        self.block_ops.append(ids)
        return len(self.block_ops) - 1

    def _finish_params(self) -> None:
        p = self.p
        length = max([len(b) for b in self.block_ops] + [1])
        n_blocks = len(self.block_ops)
        cols = np.zeros((length, n_blocks), dtype=np.int64)
        freq = np.zeros((length, n_blocks))
        coefs = np.zeros((length, n_blocks, 3, 2, 2), dtype=complex)
        coefs[:, :, 0] = np.eye(2)  # padding: the identity
        for b, ids in enumerate(self.block_ops):
            for pos, i in enumerate(ids):
                name, slot = self.one_qubit[i]
                cols[pos, b] = slot or 0
                if name in _GENERATORS:
                    freq[pos, b], coefs[pos, b] = 0.5, (np.zeros((2, 2)), np.eye(2), _GENERATORS[name])
                elif name == "PhaseShift":
                    freq[pos, b], coefs[pos, b] = 1.0, (np.diag([1, 0]), np.diag([0, 1]), np.diag([0, 1j]))
                else:
                    coefs[pos, b] = (_fixed_gate(name, torch.complex128, torch.device("cpu")).numpy(), np.zeros((2, 2)), np.zeros((2, 2)))
        p.cols, p.freq = cols, freq
        planes = coefs.reshape(length, n_blocks, 3, 4).transpose(2, 3, 0, 1)  # (C, A, B), entries, L, B
        p.coefs = np.stack([planes.real, planes.imag], axis=1)[:, :, :, None]  # [3, 2, 4, 1, L, B]
        for g, groups in p.krons.items():
            p.kron_slots[g] = sorted({int(cols[pos, b]) for grp in groups for b in grp for pos in range(length) if freq[pos, b]})
            p.shared[g] = _SharedSpec(np.asarray(groups, dtype=np.int64), cols, freq, coefs)
        p.krons = {g: np.asarray(groups, dtype=np.int64) for g, groups in p.krons.items()}

    # -- signed permutations -----------------------------------------------------------------
    def _monomial(self, op: Op) -> None:
        a, cz = self.pending if self.pending is not None else (np.eye(self.n, dtype=np.uint8), [])
        a = a.copy()
        c, t = op.wires
        if op.name == "CNOT":
            a[t] ^= a[c]
        elif op.name == "SWAP":
            a[[c, t]] = a[[t, c]]
        else:  # CZ: a phase (-1)^(bit_c * bit_t) of the current bits, i.e. of rows c and t of A
            cz = [*cz, (a[c].copy(), a[t].copy())]
        self.pending = (a, cz)

    def _materialize(self, new_layout: list[int]) -> None:
        """Apply the pending signed permutation, moving to ``new_layout``, as one step (if not a no-op)."""
        a, cz = self.pending if self.pending is not None else (np.eye(self.n, dtype=np.uint8), [])
        self.pending = None
        a_inv = _gf2_inv(a)
        p_new_t = _layout_matrix(new_layout).T
        src = _gf2_mul(_gf2_mul(_layout_matrix(self.layout), a_inv), p_new_t)
        self.layout = list(new_layout)
        to_input = _gf2_mul(a_inv, p_new_t)  # new physical bits -> the pending op's input wire bits
        masks = [(_mask(_gf2_mul(to_input.T, m1[:, None])[:, 0]), _mask(_gf2_mul(to_input.T, m2[:, None])[:, 0])) for m1, m2 in cz]
        identity = bool((src == np.eye(self.n, dtype=np.uint8)).all())
        if identity and not masks:
            return
        key = src.tobytes() + repr(masks).encode()
        if key not in self._perm_cache:
            sign = None
            if masks:
                index = np.arange(1 << self.n, dtype=np.int32 if self.n < 31 else np.int64)
                odd = np.zeros(1 << self.n, dtype=np.int8)
                for m1, m2 in masks:
                    odd ^= ((np.bitwise_count(np.bitwise_and(index, m1)) & 1) & (np.bitwise_count(np.bitwise_and(index, m2)) & 1)).astype(np.int8)
                sign = (1 - 2 * odd).astype(np.int8)
            self._perm_cache[key] = _Perm(None if identity else src, sign)
        self.steps.append(self._perm_cache[key])

    # -- segments ----------------------------------------------------------------------------
    def _local(self, wires_ops: dict[int, list[Op]]) -> None:
        wires = [w for w in self.layout if w in wires_ops]  # current physical order
        new_layout = wires + [w for w in self.layout if w not in wires_ops]
        if self.pending is not None or new_layout != self.layout:
            self._materialize(new_layout)
        n_groups = math.ceil(len(wires) / GROUP_MAX)
        sizes = [len(wires) // n_groups + (i < len(wires) % n_groups) for i in range(n_groups)]
        start = 0
        for g in sizes:
            group = tuple(self._block(wires_ops[w]) for w in wires[start : start + g])
            start += g
            self.p.krons.setdefault(g, []).append(group)
            self.steps.append(("kron", g, len(self.p.krons[g]) - 1))
            self.layout = self.layout[g:] + self.layout[:g]

    def _dense_gate(self, op: Op) -> None:
        rest = [w for w in self.layout if w not in op.wires]
        new_layout = list(op.wires) + rest
        if self.pending is not None or new_layout != self.layout:
            self._materialize(new_layout)
        self.p.gates.append((op.name, list(op.slots)))
        self.steps.append(("gate", len(op.wires), len(self.p.gates) - 1))
        self.layout = rest + list(op.wires)

    def _diag(self, ops: list[Op]) -> None:
        if self.pending is not None:
            self._materialize(self.layout)
        pos = {w: p for p, w in enumerate(self.layout)}
        columns = list(range(len(self.p.diag_columns), len(self.p.diag_columns) + len(ops)))
        self.p.diag_columns.extend(op.slots[0] for op in ops)
        self.steps.append(_Diag(self.n, columns, [(op.name, pos[op.wires[0]], pos[op.wires[1]]) for op in ops]))

    def compile(self) -> _Plan:
        n = self.n
        opened = [False] * n
        prefix_ops: list[list[Op]] = [[] for _ in range(n)]
        rest: list[Op] = []
        for op in self.c.ops:
            if len(op.wires) == 1 and not opened[op.wires[0]]:
                prefix_ops[op.wires[0]].append(op)
                continue
            for w in op.wires:
                opened[w] = True
            rest.append(op)
        self.p.prefix = np.array([self._block(ops) for ops in prefix_ops], dtype=np.int64)

        # Segments in program order: local one-qubit runs, monomial runs, diagonal runs, other gates.
        local: dict[int, list[Op]] = {}
        diag: list[Op] = []

        def flush() -> None:
            if local:
                self._local(dict(local))
                local.clear()
            if diag:
                self._diag(list(diag))
                diag.clear()

        for op in rest:
            if len(op.wires) == 1:
                if diag:
                    flush()
                local.setdefault(op.wires[0], []).append(op)
            elif op.name in _MONOMIAL:
                flush()
                self._monomial(op)
            elif op.name in _DIAG_TABLES:
                if local:
                    flush()
                if self.pending is not None:
                    self._materialize(self.layout)
                diag.append(op)
            else:
                flush()
                self._dense_gate(op)
        flush()
        self._finish_params()
        measure = self._measure() if self.z_only else None
        if measure is None and (self.pending is not None or self.layout != list(range(n))):
            self._materialize(list(range(n)))
        sizes = sorted(self.p.krons)
        steps = [self._dense(s, sizes) if isinstance(s, tuple) else s for s in self.steps]
        return _Plan(n, self.p, steps, measure)

    @staticmethod
    def _dense(step: tuple[str, int, int], sizes: list[int]) -> _Dense:
        """Matrix stacks are the Kronecker blocks by size, then one stack per multi-qubit dense gate."""
        kind, g, i = step
        return _Dense(g, sizes.index(g), i) if kind == "kron" else _Dense(g, len(sizes) + i, 0)

    def _measure(self) -> _ZMeasure:
        """Fold the pending permutation and the layout into the ±1 tables of the Z-string terms."""
        a = self.pending[0] if self.pending is not None else np.eye(self.n, dtype=np.uint8)
        to_final = _gf2_mul(a, _layout_matrix(self.layout).T)  # physical bits -> final logical wire bits
        masks: list[int] = []
        index: dict[int, int] = {}
        entries: list[tuple[int, int, float]] = []
        const = np.zeros(len(self.c.observables))
        for k, obs in enumerate(self.c.observables):
            for term in obs.terms:
                if not term.paulis:
                    const[k] += term.coeff
                    continue
                ind = np.zeros(self.n, dtype=np.uint8)
                ind[[w for w, _ in term.paulis]] = 1
                m = _mask(_gf2_mul(to_final.T, ind[:, None])[:, 0])
                if m not in index:
                    index[m] = len(masks)
                    masks.append(m)
                entries.append((index[m], k, term.coeff))
        weights = np.zeros((len(masks), len(self.c.observables)))
        for t, k, coeff in entries:
            weights[t, k] += coeff
        return _ZMeasure(self.n, masks, weights, const)


# Plans are pure functions of the circuit; keep the most recent ones.
_PLANS: OrderedDict[tuple[Circuit, bool], _Plan] = OrderedDict()
_PLAN_CACHE_SIZE = 64


def _plan(circuit: Circuit, z_only: bool) -> _Plan:
    key = (circuit, z_only)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = _Compiler(circuit, z_only).compile()
        while len(_PLANS) > _PLAN_CACHE_SIZE:
            _PLANS.popitem(last=False)
    else:
        _PLANS.move_to_end(key)
    return plan


def _is_z_only(circuit: Circuit) -> bool:
    return all(p == "Z" for obs in circuit.observables for term in obs.terms for _, p in term.paulis)


# ---------------------------------------------------------------------------------------------
# Running a plan


def _kron_entries(factors: torch.Tensor) -> torch.Tensor:
    """Kronecker product of ``factors`` ``[2, 2, ..., g]`` (entries first, factor 0 most significant) -> ``[K, K, ...]``."""
    m = factors[..., 0]
    for a in range(1, factors.shape[-1]):
        f = factors[..., a]
        m = (m[:, None, :, None] * f[None, :, None, :]).reshape(m.shape[0] * 2, m.shape[1] * 2, *m.shape[2:])
    return m


class _Kron(torch.autograd.Function):
    """Per-row Kronecker products ``[N, G, K, K]`` of 2x2 factors ``[2, 2, N, G, g]``.

    When ``shared`` (every row reads the same angles, as trained weights do) the product is built
    once and expanded; the backward still returns each row's own gradient, so it stays exact.
    """

    @staticmethod
    def forward(ctx: Any, factors: torch.Tensor, shared: bool) -> torch.Tensor:
        src = factors[:, :, :1] if shared else factors
        ctx.save_for_backward(src)
        out = _kron_entries(src).permute(2, 3, 0, 1).contiguous()  # [S, G, K, K]
        return out.expand(factors.shape[2], -1, -1, -1) if shared else out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (src,) = ctx.saved_tensors
        g, (n_rows, n_groups) = src.shape[-1], grad.shape[:2]
        if g == 1:
            return grad.permute(2, 3, 0, 1).unsqueeze(-1), None
        grads = []
        for a in range(g):  # d/dU_a = sum over the other factors' indices of grad * conj(their product)
            others = _kron_entries(torch.cat([src[..., :a], src[..., a + 1 :]], dim=-1)).conj()  # [(x y), (X Y), S, G]
            hi, lo = 1 << a, 1 << (g - 1 - a)
            e = grad.reshape(n_rows, n_groups, hi, 2, lo, hi, 2, lo)
            if src.shape[2] == 1:  # shared: one product per group, [G, (i j N), (x y X Y)] @ [G, (x y X Y), 1]
                e = e.permute(1, 3, 6, 0, 2, 4, 5, 7).reshape(n_groups, 4 * n_rows, -1)
                o = others[:, :, 0].permute(2, 0, 1).reshape(n_groups, -1, 1)
                grads.append(torch.bmm(e, o).view(n_groups, 2, 2, n_rows).permute(1, 2, 3, 0))
            else:  # per row: [N G, (i j), (x y X Y)] @ [N G, (x y X Y), 1]
                e = e.permute(0, 1, 3, 6, 2, 4, 5, 7).reshape(n_rows * n_groups, 4, -1)
                o = others.permute(2, 3, 0, 1).reshape(n_rows * n_groups, -1, 1)
                grads.append(torch.bmm(e, o).view(n_rows, n_groups, 2, 2).permute(2, 3, 0, 1))
        return torch.stack(grads, dim=-1), None


def _product_state(vectors: torch.Tensor) -> torch.Tensor:
    """Row-wise Kronecker product ``[N, 2**n]`` of per-wire states ``[2, N, n]`` (wire 0 most significant)."""
    n = vectors.shape[2]

    def kron(wires: range) -> torch.Tensor:  # [2**len, N], basis index first
        out = vectors[:, :, wires[0]]
        for w in wires[1:]:
            out = (out[:, None] * vectors[None, :, :, w]).reshape(-1, out.shape[1])
        return out

    if n == 1:
        return vectors[:, :, 0].T.contiguous()
    half = n // 2
    return _Outer.apply(kron(range(half)).T, kron(range(half, n)).T)


class _Outer(torch.autograd.Function):
    """Row-wise outer product ``[N, A*B]`` of ``[N, A]`` and ``[N, B]`` (long contiguous rows both ways)."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, b)
        return (a.unsqueeze(2) * b.unsqueeze(1)).reshape(a.shape[0], -1)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        a, b = ctx.saved_tensors
        g = grad.reshape(a.shape[0], a.shape[1], b.shape[1])
        grad_a = (g * b.conj().unsqueeze(1)).sum(2) if ctx.needs_input_grad[0] else None
        grad_b = (g * a.conj().unsqueeze(2)).sum(1) if ctx.needs_input_grad[1] else None
        return grad_a, grad_b


def _rows_equal(values: torch.Tensor, cols: list[int]) -> bool:
    """Whether every row holds the same values in ``cols`` (a contiguous run is compared as a view)."""
    if values.shape[0] == 1 or not cols:
        return True
    part = values[:, cols[0] : cols[-1] + 1] if cols[-1] - cols[0] + 1 == len(cols) else values[:, cols]
    return torch.equal(part, part[:1].expand_as(part))


def _build(plan: _Plan, values: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
    """From slot values: the opening product state ``[N, 2**n]``, the step matrix stacks, and the diagonal-run angles.

    Blocks are built per row with autograd; a Kronecker stack whose slots hold equal values in every
    row (trained weights) is built once by :class:`_SharedStack` instead.
    """
    p, n_rows, device = plan.params, values.shape[0], values.device
    real = torch.empty((), dtype=dtype).real.dtype
    angles = values.to(real) if values.shape[1] else values.new_zeros(n_rows, 1, dtype=real)
    shared = {g: _rows_equal(values, p.kron_slots[g]) for g in p.krons}
    n_blocks = len(p.prefix) if all(shared.values()) else p.cols.shape[1]  # prefix blocks come first
    length = p.cols.shape[0]
    cols = p.tensor(f"cols{n_blocks}", p.cols[:, :n_blocks].reshape(-1), device, torch.int64)
    theta = angles[:, cols] * p.tensor(f"freq{n_blocks}", p.freq[:, :n_blocks].reshape(-1), device, real)
    k = p.tensor(f"coefs{n_blocks}", p.coefs[..., :n_blocks].reshape(3, 2, 4, 1, -1), device, real)  # [3, 2, 4, 1, L*B]
    planes = torch.addcmul(torch.addcmul(k[0], k[1], torch.cos(theta)), k[2], torch.sin(theta))  # [2, 4, N, L*B]
    u = torch.complex(planes[0], planes[1]).view(2, 2, n_rows, length, n_blocks)
    blocks = u[:, :, :, 0]
    for pos in range(1, length):  # 2x2 products, entries first: (XY)[a, b] = X[a, 0] Y[0, b] + X[a, 1] Y[1, b]
        x = u[:, :, :, pos]
        blocks = x[:, :1] * blocks[:1] + x[:, 1:] * blocks[1:]
    state = _product_state(blocks[:, 0][:, :, p.tensor("prefix", p.prefix, device, torch.int64)])  # U|0> per wire
    mats: list[torch.Tensor] = []
    for g in sorted(p.krons):
        if shared[g]:
            mats.append(_SharedStack.apply(angles, p.shared[g], dtype))  # angles: never zero columns
        else:
            factors = blocks[:, :, :, p.tensor(f"kron{g}", p.krons[g], device, torch.int64)]  # [2, 2, N, G, g]
            mats.append(_Kron.apply(factors, False))
    for name, gate_cols in p.gates:
        mats.append(_angle_gate(name, angles[:, gate_cols[0]], dtype).unsqueeze(1))
    theta = angles[:, p.diag_columns] if p.diag_columns else angles.new_zeros(n_rows, 0)
    return state, mats, theta


def _forward(plan: _Plan, state: torch.Tensor, mats: Sequence[torch.Tensor], theta: torch.Tensor) -> torch.Tensor:
    views = [m.unbind(1) for m in mats]  # one autograd node per stack, not one per step
    for step in plan.steps:
        if isinstance(step, _Dense):
            state = step.forward(state, views)
        elif isinstance(step, _Diag):
            state = step.forward(state, theta)
        else:
            state = step.forward(state)
    return state


def _probabilities_of(state: torch.Tensor) -> torch.Tensor:
    return state.real.square() + state.imag.square()


def _conj_copy(x: torch.Tensor) -> torch.Tensor:
    """A materialised complex conjugate (a lazy ``conj()`` would push slow paths into the ops that read it)."""
    out = x.clone(memory_format=torch.contiguous_format)
    torch.view_as_real(out)[..., 1].neg_()
    return out


class _Sweep(torch.autograd.Function):
    """The plan as one autograd node with a hand-written reverse sweep (first-order gradients).

    ``store=True`` (backprop) keeps every step's input state; ``store=False`` (adjoint) keeps only the
    final state and recovers earlier ones by undoing each step, carrying state and cotangent together
    as one ``[2N, 2**n]`` tensor so that every undo is one operation on both. Gradients follow torch's
    complex convention (``dL/dRe + i dL/dIm``); a dense step ``out = M in`` gives ``dM = G_out in^H``.
    """

    @staticmethod
    def forward(ctx: Any, plan: _Plan, store: bool, state: torch.Tensor, theta: torch.Tensor, *mats: torch.Tensor) -> torch.Tensor:
        views = [m.unbind(1) for m in mats]
        inputs = []
        for step in plan.steps:
            if store:
                inputs.append(state)
            state = step.forward(state, views) if isinstance(step, _Dense) else step.forward(state, theta) if isinstance(step, _Diag) else step.forward(state)
        ctx.plan, ctx.store, ctx.n_inputs = plan, store, len(inputs)
        ctx.save_for_backward(state, theta, *inputs, *mats)
        return plan.measure.expectations(state) if plan.measure is not None else state

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[Any, ...]:
        plan: _Plan = ctx.plan
        final, theta, *rest = ctx.saved_tensors
        inputs, mats = rest[: ctx.n_inputs], rest[ctx.n_inputs :]
        n_rows = final.shape[0]
        # The sweep carries h = conj(cotangent): then every product has its one conjugated factor on a
        # small matrix or on the result, and torch never materialises a conjugated copy of a state.
        if plan.measure is not None:  # conj(2 w psi): real arithmetic on the real view (mixed complex/real ops are slow)
            w = 2 * plan.measure.weights_grad(grad_out)
            parts = torch.view_as_real(final)
            h_real = torch.empty_like(parts)
            torch.mul(parts[..., 0], w, out=h_real[..., 0])
            torch.mul(parts[..., 1], w.neg_(), out=h_real[..., 1])
            h = torch.view_as_complex(h_real)
        else:
            h = _conj_copy(grad_out.to(final.dtype))
        grad_mats = [torch.zeros_like(m) for m in mats]
        grad_theta = torch.zeros_like(theta)
        # store: x is h [N, 2**n]; adjoint: x is (state, h) stacked as [2N, 2**n] so each undo is one operation.
        x = h if ctx.store else torch.stack([final, h]).view(2 * n_rows, -1)
        out_state = final
        for i in reversed(range(len(plan.steps))):
            step = plan.steps[i]
            h_out = x if ctx.store else x[n_rows:]
            if isinstance(step, _Dense):
                m = mats[step.stack][:, step.index]
                k = 1 << step.g
                undo = m.mT if ctx.store else torch.stack([m.mH, m.mT])  # state: M^H, h: conj(M^H) = M^T
                x = torch.matmul(undo, x.view(-1, n_rows, x.shape[1] // k, k).mT).reshape(x.shape)
                in_state = inputs[i] if ctx.store else x[:n_rows]
                # dM[j, l] = sum_r G_out[r, j] conj(in[l, r]) = conj(sum_r h_out[r, j] in[l, r])
                grad_mats[step.stack][:, step.index] += torch.matmul(h_out.view(n_rows, -1, k).mT, in_state.view(n_rows, k, -1).mT).conj()
            elif isinstance(step, _Diag):
                grad_phase = -(h_out * out_state).imag  # -Im(conj(G) psi_out)
                grad_theta[:, step.columns] += step.angle_grad(grad_phase)
                phase = step.angles(theta[:, step.columns])
                undo_phase = torch.polar(torch.ones_like(phase), phase)  # h_in = D h_out
                if not ctx.store:
                    undo_phase = torch.stack([undo_phase.conj(), undo_phase])  # psi_in = conj(D) psi_out
                x = (x.view(-1, n_rows, x.shape[1]) * undo_phase).view(x.shape)
                in_state = inputs[i] if ctx.store else x[:n_rows]
            else:
                x = step.adjoint(x)
                in_state = inputs[i] if ctx.store else x[:n_rows]
            out_state = in_state
        grad_state = _conj_copy(x if ctx.store else x[n_rows:])
        return (None, None, grad_state, grad_theta, *grad_mats)


# ---------------------------------------------------------------------------------------------
# The backend


class TorchBackend(Backend):
    """Embedded batched statevector simulator in torch: exact or sampled, differentiable by backprop or adjoint."""

    name = "torch"
    vendor = "hqnn"
    capabilities = BackendCapabilities(max_qubits=MAX_QUBITS, analytic=True, shots=True, backprop=True, adjoint=True)

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        precision: Literal["auto", "complex64", "complex128"] = Field(
            "auto", description="auto: complex128 for float64 inputs, complex64 otherwise"
        )
        seed: int | None = Field(None, description="base seed for shot sampling")
        diff_method: Literal["auto", "backprop", "adjoint", "autograd"] = Field(
            "auto",
            description="how gradients flow when slot values require grad: a reverse sweep over stored step states "
            "(backprop), one that keeps only the final state and undoes steps (adjoint: least memory), torch autograd "
            "through every step (autograd: slower, but supports higher-order derivatives), or backprop while it fits "
            "in memory, else adjoint (auto)",
        )

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

    def configure_gradient(self, name: str) -> None:
        """Told which through-backend estimator drives it: ``adjoint`` makes ``diff_method: auto`` sweep adjoint."""
        self._requested = "adjoint" if name == "adjoint" else None

    # -- memory ------------------------------------------------------------------------------
    def _method(self, plan: _Plan, values: torch.Tensor, shots: int | None) -> str:
        """``forward`` (no gradient needed), ``backprop``, ``adjoint`` or ``autograd``."""
        if shots is not None or not (values.requires_grad and torch.is_grad_enabled()):
            return "forward"
        if self.options.diff_method != "auto":
            return self.options.diff_method
        requested: str | None = getattr(self, "_requested", None)
        if requested:
            return requested
        available = _available_memory()
        budget = min(2**30, available // 4) if available is not None else 2**30
        needed = memory_needed(plan.n, values.shape[0], self._complex_dtype(values), "backprop", len(plan.steps))
        return "backprop" if needed <= budget else "adjoint"

    def _check_memory(self, circuit: Circuit, n_rows: int, dtype: torch.dtype, method: str = "forward", steps: int = 0) -> None:
        needed = memory_needed(circuit.n_qubits, n_rows, dtype, method, steps)
        available = _available_memory()
        if available is not None and needed > available:
            fits = largest_qubits(available, n_rows, dtype, method, steps)
            raise CapabilityError(
                f"simulating {n_rows} bindings of {circuit.n_qubits} qubits ({method}) needs about {needed / 2**30:.3g} GiB; "
                f"{available / 2**30:.3g} GiB is free. Lower the batch size or the qubit count (at this batch size at most "
                f"{fits} qubits fit), train with backend_options={{'diff_method': 'adjoint'}}, or use a managed simulator."
            )

    # -- simulation --------------------------------------------------------------------------
    def _prepare(self, circuit: Circuit, values: torch.Tensor, z_only: bool, shots: int | None) -> tuple[_Plan, str, torch.dtype]:
        dtype = self._complex_dtype(values)
        self._check_memory(circuit, values.shape[0], dtype)  # before compiling: the plan's tables are 2**n long
        plan = _plan(circuit, z_only)
        method = self._method(plan, values, shots)
        if method != "forward":
            self._check_memory(circuit, values.shape[0], dtype, method, len(plan.steps))
        return plan, method, dtype

    @staticmethod
    def _final(plan: _Plan, values: torch.Tensor, dtype: torch.dtype, method: str) -> torch.Tensor:
        """The plan's output: expectations ``[N, K]`` for adjoint Z plans, otherwise the final state."""
        with torch.set_grad_enabled(method != "forward" and torch.is_grad_enabled()):
            state, mats, theta = _build(plan, values, dtype)
            if method in ("backprop", "adjoint"):
                return _Sweep.apply(plan, method == "backprop", state, theta, *mats)
            return _forward(plan, state, mats, theta)

    def simulate(self, circuit: Circuit, values: torch.Tensor) -> torch.Tensor:
        """Final states ``[N, 2**n]`` for slot values ``[N, n_slots]`` (differentiable)."""
        if not values.shape[0]:
            return torch.zeros(0, 2**circuit.n_qubits, dtype=self._complex_dtype(values), device=values.device)
        plan, method, dtype = self._prepare(circuit, values, False, None)
        return self._final(plan, values, dtype, method)

    def _evaluate(self, circuit: Circuit, values: torch.Tensor, shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
        if not values.shape[0]:
            real = torch.float64 if shots is not None else self._complex_dtype(values).to_real()
            return torch.zeros(0, len(circuit.observables), dtype=real, device=values.device)
        if not _is_z_only(circuit):
            return self._measure_state(circuit, self.simulate(circuit, values), shots, generator)
        plan, method, dtype = self._prepare(circuit, values, True, shots)
        out = self._final(plan, values, dtype, method)
        measure = plan.measure
        assert measure is not None
        if method in ("backprop", "adjoint"):
            return out
        if shots is None:
            return measure.expectations(out)
        samples = _sample(_probabilities_of(out), shots, generator)  # one set of samples serves every Z string
        term_means = torch.stack([measure.signs(t, out.device, torch.float64)[samples].mean(dim=1) for t in range(len(measure.masks))], dim=1) \
            if measure.masks else samples.new_zeros(samples.shape[0], 0, dtype=torch.float64)
        weights = torch.as_tensor(measure.weights, dtype=torch.float64, device=out.device)
        return term_means @ weights + torch.as_tensor(measure.const, dtype=torch.float64, device=out.device)

    def _measure_state(self, circuit: Circuit, state: torch.Tensor, shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
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
        return _probabilities_of(state)

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
