"""Compiling a neutral :class:`Circuit` into a cached plan of fused statevector steps.

The torch backend (:mod:`hqnn_plugins.torch_backend`) runs plans; this module decides what the steps
are and how the state is laid out between them, so that the hot path is a loop over a handful of fused
steps, not over gates. Each circuit is compiled once (cached by the hashable :class:`Circuit`):

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

Steps keep their own ``forward``/``adjoint`` next to the compile-time tables they read (a step is one
unit); the sweeps that drive them live in :mod:`hqnn_plugins.torch_backend_autograd`, the backend in :mod:`hqnn_plugins.torch_backend`.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hqnn_core.circuit import Circuit, Op
from hqnn_core.errors import CapabilityError
from hqnn_core.measurement import plan_measurements
from hqnn_plugins.torch_backend_memory import GATHER_MAX_QUBITS

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
# Gate matrices and their Kronecker products


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


def _kron_entries(factors: torch.Tensor) -> torch.Tensor:
    """Kronecker product of ``factors`` ``[2, 2, ..., g]`` (entries first, factor 0 most significant) -> ``[K, K, ...]``."""
    m = factors[..., 0]
    for a in range(1, factors.shape[-1]):
        f = factors[..., a]
        m = (m[:, None, :, None] * f[None, :, None, :]).reshape(m.shape[0] * 2, m.shape[1] * 2, *m.shape[2:])
    return m


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
        return self.derived_tensor(key, lambda: array, device, dtype)

    def derived_tensor(self, key: str, make: Callable[[], np.ndarray], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """As :meth:`tensor`, computing the array only the first time (for tables derived from others)."""
        k = (key, str(device), dtype)
        if k not in self._tensors:
            self._tensors[k] = torch.as_tensor(make()).to(device=device, dtype=dtype)
        return self._tensors[k]


class _Perm(_Cached):
    """``out[i] = sign[i] * in[src[i]]``: a signed permutation (CNOT/SWAP/CZ runs, relayouts).

    Up to :data:`GATHER_MAX_QUBITS` the permutation is one ``torch.gather`` on a real view of the state
    (a complex64 amplitude read as one float64, a complex128 one as its two float64 halves): three times
    the speed of ``index_select`` on complex rows, and split across threads. Past it, ``index_select`` with
    int32 tables keeps the tables at half the size.
    """

    def __init__(self, src_map: np.ndarray | None, sign: np.ndarray | None) -> None:
        """``src_map``: GF(2) matrix from output to input physical bits (None: no permutation); ``sign``: int8 ±1."""
        super().__init__()
        self.sign = sign
        self.src = None if src_map is None else _linear_table(src_map)
        self.inv = None if src_map is None else _linear_table(_gf2_inv(src_map))

    def take(self, x: torch.Tensor, inverse: bool) -> torch.Tensor:
        """``x[..., table]`` with the forward (``src``) or inverse table."""
        table, key = (self.inv, "inv") if inverse else (self.src, "src")
        assert table is not None  # only called when there is a permutation
        n_cols = x.shape[-1]
        if n_cols > 1 << GATHER_MAX_QUBITS:
            return x.index_select(-1, self.tensor(key, table, x.device, torch.int32 if table.dtype == np.int32 else torch.int64))
        rows = x.reshape(-1, n_cols)
        if x.element_size() == 8:  # complex64: one float64 per amplitude (same size, so any strides view)
            index = self.tensor(key, table, x.device, torch.int64)
            return torch.gather(rows.view(torch.float64), 1, index.expand(rows.shape[0], -1)).view(x.dtype).view(x.shape)
        pairs = self.derived_tensor(key + "_pairs", lambda: np.stack([2 * table, 2 * table + 1], axis=-1).reshape(-1), x.device, torch.int64)
        halves = torch.view_as_real(rows).reshape(rows.shape[0], -1)
        return torch.view_as_complex(torch.gather(halves, 1, pairs.expand(rows.shape[0], -1)).view(rows.shape[0], n_cols, 2)).view(x.shape)

    def _sign(self, x: torch.Tensor) -> torch.Tensor:
        assert self.sign is not None  # only called when there are signs
        return self.tensor("sign", self.sign, x.device, x.real.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.src is not None:
            x = _Gather.apply(x, self, False) if x.requires_grad else self.take(x, False)
        return x * self._sign(x) if self.sign is not None else x

    def adjoint(self, x: torch.Tensor) -> torch.Tensor:
        if self.sign is not None:
            x = x * self._sign(x)
        return self.take(x, True) if self.src is not None else x


class _Gather(torch.autograd.Function):
    """Index permutation whose backward is the inverse gather (autograd's default is a slower scatter-add).

    It lives here, not with the other autograd Functions in the backend, because :class:`_Perm` is its only user.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, perm: _Perm, inverse: bool) -> torch.Tensor:
        ctx.perm, ctx.inverse = perm, inverse
        return perm.take(x, inverse)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return _Gather.apply(grad, ctx.perm, not ctx.inverse), None, None


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
        return torch.matmul(x.view(n_rows, k, -1).mT, shared_matrix(mats[self.stack][self.index]).mT).reshape(n_rows, -1)


def shared_matrix(mat: torch.Tensor) -> torch.Tensor:
    """``mat`` ``[N, K, K]``, or its one matrix ``[K, K]`` when every row shares it (an expanded stack).

    A batch that repeats one matrix by a zero stride is split across threads worse than the matrix
    itself broadcast (1.7x against 2.0x on two threads for a 16-qubit state), at the same speed on one.
    Not while autograd records: selecting row 0 there would send every row's gradient to row 0.
    """
    recorded = mat.requires_grad and torch.is_grad_enabled()
    return mat[0] if mat.shape[0] > 1 and mat.stride(0) == 0 and not recorded else mat


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
    a ``[2**m, terms]`` table (``m <= 10``), whatever the qubit count. The gradient is the same product
    transposed.
    """

    LOW_BITS = 10  # 2**10-state chunks: one matrix product with many short rows, which BLAS splits across threads

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
        parts = torch.view_as_real(state).reshape(n_rows, self.high.shape[0], -1)
        squares = parts * parts  # a product, not square(): pow is several times slower on float64
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
        theta = row[self.tensor("cols", self.cols, row.device, torch.int64)] * self.tensor("freq", self.freq, row.device, row.dtype)
        return self._products(theta, self.tensor("coefs", self.coefs, row.device, row.dtype), dtype).permute(2, 3, 0, 1)

    def build_rows(self, values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """``[N, G, K, K]``: each row's own matrices, no derivatives, in plain autograd ops (for double backward)."""
        device, real = values.device, values.dtype
        theta = values[:, self.tensor("cols", self.cols, device, torch.int64)] * self.tensor("freq", self.freq, device, real)  # [N, G, 1, L, g]
        coefs = self.tensor("coefs", self.coefs, device, real)[:, :, :, None, :, :1]  # virtual row 0: [3, 2, 4, 1, G, 1, L, g]
        return self._products(theta, coefs, dtype)[..., 0].permute(2, 3, 0, 1)

    @staticmethod
    def _products(theta: torch.Tensor, k: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """Kronecker products ``[K, K, ...]`` of the fused blocks, ``U = C + cos(theta) A + sin(theta) B`` per position."""
        planes = torch.addcmul(torch.addcmul(k[0], k[1], torch.cos(theta)), k[2], torch.sin(theta))  # [2, 4, ..., L, g]
        u = torch.complex(planes[0], planes[1]).to(dtype)
        u = u.view(2, 2, *u.shape[1:])
        blocks = u[..., 0, :]
        for pos in range(1, u.shape[-2]):
            x = u[..., pos, :]
            blocks = x[:, :1] * blocks[:1] + x[:, 1:] * blocks[1:]
        return _kron_entries(blocks)


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
        """Fold the pending permutation and the layout into the ±1 tables of the core plan's Z-string terms."""
        a = self.pending[0] if self.pending is not None else np.eye(self.n, dtype=np.uint8)
        to_final = _gf2_mul(a, _layout_matrix(self.layout).T)  # physical bits -> final logical wire bits
        plan = plan_measurements(self.c)
        masks = []
        for paulis in plan.terms:
            ind = np.zeros(self.n, dtype=np.uint8)
            ind[[w for w, _ in paulis]] = 1
            masks.append(_mask(_gf2_mul(to_final.T, ind[:, None])[:, 0]))
        return _ZMeasure(self.n, masks, plan.coeffs, plan.constants)


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
    """Every term of the core plan is read in the Z setting (no basis rotation)."""
    return all(not setting.basis for setting in plan_measurements(circuit).settings)
