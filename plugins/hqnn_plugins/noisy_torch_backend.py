"""The embedded ``torch.noisy`` backend: a batched density-matrix simulator with noise channels.

It lets mitigation be measured without any vendor SDK. Like ``torch`` it is differentiable by
autograd (backprop) and runs exact or sampled; unlike ``torch`` it evolves ``rho`` (``4**n``
entries per binding), so it is meant for the small circuits mitigation is tested on.

Noise model (the same placement as the ``braket.local:dm`` and ``pennylane:default.mixed``
adapters, so that the three agree with the same options):

* after every gate, on each wire it touches: a single-qubit depolarizing channel with
  probability ``depolarizing`` (``rho -> (1 - p) rho + p/3 (X rho X + Y rho Y + Z rho Z)``), then
  amplitude damping with probability ``amplitude_damping`` (Kraus ``diag(1, sqrt(1-g))``,
  ``sqrt(g)|0><1|``);
* after every two-qubit gate, before those: a two-qubit depolarizing channel with probability
  ``two_qubit_depolarizing`` (``p/15`` on each of the 15 non-identity Pauli pairs, Braket's
  ``TwoQubitDepolarizing``);
* at measurement, in whichever basis a term is measured: every measured bit flips with
  ``p01 = P(read 1 | 0)`` and ``p10 = P(read 0 | 1)`` (``readout_error``: one number for a
  symmetric flip on every qubit, a pair ``[p01, p10]`` for every qubit, or one pair per qubit).

Shot semantics are those of ``torch``: Z-diagonal terms share one set of samples per binding,
each other basis gets its own; the estimate of a term is the mean of its ±1 outcomes.
"""

from __future__ import annotations

import contextlib
import math
import string
from collections.abc import Iterator
from typing import Any

import torch

from hqnn_core.circuit import Circuit, Op
from hqnn_core.errors import CapabilityError, ConfigError
from hqnn_core.interfaces import Backend, Task
from hqnn_plugins.layouts.backends import NOISY_MAX_QUBITS, NoisyTorchLayout
from hqnn_plugins.statevector_plan import _angle_gate, _fixed_gate
from hqnn_plugins.torch_backend_measure import pauli_expectations

SMALL_QUBITS = 6  # up to here a density matrix is too small to gain from intra-op threads
MAX_QUBITS = NOISY_MAX_QUBITS
_LETTERS = string.ascii_letters

def gate_matrix(op: Op, values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``[d, d]`` for fixed gates, ``[N, d, d]`` for parametrised ones (the statevector plan's matrices)."""
    if not op.slots:
        return _fixed_gate(op.name, dtype, values.device)
    if op.name == "Rot":
        a, b, c = (values[:, s] for s in op.slots)
        return _angle_gate("RZ", c, dtype) @ _angle_gate("RY", b, dtype) @ _angle_gate("RZ", a, dtype)
    return _angle_gate(op.name, values[:, op.slots[0]], dtype)


def _on_axes(rho: torch.Tensor, matrix: torch.Tensor, axes: tuple[int, ...]) -> torch.Tensor:
    """Apply ``matrix`` (``[d, d]`` or ``[N, d, d]``) to the given axes of ``rho`` ``[N, 2, ..., 2]``.

    Moves the axes last and multiplies (one matmul), which is far cheaper than a many-index einsum.
    """
    k = len(axes)
    src = [1 + a for a in axes]
    dst = list(range(rho.ndim - k, rho.ndim))
    moved = rho.movedim(src, dst)
    flat = moved.reshape(rho.shape[0], -1, 2**k)
    out = flat @ matrix.transpose(-1, -2)
    return out.reshape(moved.shape).movedim(dst, src)


def conjugate(rho: torch.Tensor, matrix: torch.Tensor, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """``K rho K^dagger`` for ``K`` on ``wires`` of an ``n``-qubit density tensor ``[N, 2]*2n``."""
    rho = _on_axes(rho, matrix, wires)
    return _on_axes(rho, matrix.conj(), tuple(n + w for w in wires))


def depolarize(rho: torch.Tensor, p: float, wires: tuple[int, ...], n: int) -> torch.Tensor:
    """Depolarizing with ``p / (4**k - 1)`` per non-identity Pauli string on ``k`` wires.

    The full Pauli twirl is ``Tr_wires(rho) ⊗ I / 2**k``, so the channel equals
    ``(1 - p d / (d - 1)) rho + p d / (d - 1) Tr_wires(rho) ⊗ I / 2**k`` with ``d = 4**k``.
    """
    d = 4 ** len(wires)
    lam = p * d / (d - 1)
    n_axes = 2 * n
    idx = list(_LETTERS[1 : n_axes + 1])
    out = list(idx)
    fresh = iter(_LETTERS[n_axes + 1 :])
    eye_spec = ""
    for w in wires:  # trace row axis w against column axis n + w, then put an identity there
        idx[n + w] = idx[w]
        r, c = next(fresh), next(fresh)
        out[w], out[n + w] = r, c
        eye_spec += r + c
    eye = torch.eye(2, dtype=rho.dtype, device=rho.device) / 2
    spec = f"a{''.join(idx)},{','.join(eye_spec[i:i + 2] for i in range(0, len(eye_spec), 2))}->a{''.join(out)}"
    twirled = torch.einsum(spec, rho, *([eye] * len(wires)))
    return (1 - lam) * rho + lam * twirled


def amplitude_damp(rho: torch.Tensor, gamma: float, wire: int, n: int) -> torch.Tensor:
    k0 = torch.tensor([[1, 0], [0, math.sqrt(1 - gamma)]], dtype=rho.dtype, device=rho.device)
    k1 = torch.tensor([[0, math.sqrt(gamma)], [0, 0]], dtype=rho.dtype, device=rho.device)
    return conjugate(rho, k0, (wire,), n) + conjugate(rho, k1, (wire,), n)


@contextlib.contextmanager
def _single_thread(enabled: bool) -> Iterator[None]:
    """Small density matrices run thousands of tiny matmuls; intra-op threads only add overhead (100x on a busy CPU)."""
    before = torch.get_num_threads()
    if enabled and before > 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


class NoisyTorchBackend(Backend):
    """Embedded density-matrix simulator with readout, depolarizing and amplitude-damping noise; backprop."""

    name = "torch.noisy"
    vendor = "hqnn"
    capabilities = NoisyTorchLayout.capabilities  # declared torch-free beside its options, for config-time checks

    noise_options = ("depolarizing", "two_qubit_depolarizing", "amplitude_damping", "readout_error")

    Options = NoisyTorchLayout.Options

    def readout_pairs(self, n: int) -> list[tuple[float, float]]:
        """``(p01, p10)`` for each of ``n`` qubits."""
        value = self.options.readout_error
        if isinstance(value, (int, float)):
            return [(float(value), float(value))] * n
        if isinstance(value[0], (int, float)):
            return [(float(value[0]), float(value[1]))] * n
        return [(float(a), float(b)) for a, b in value[:n]]

    def calibration(self, n_qubits: int) -> dict[str, Any]:
        """The noise options as a per-wire snapshot (every wire is its own physical qubit)."""
        o = self.options
        qubits = [{"wire": w, "physical": w, "readout_error": (p01 + p10) / 2, "prob_meas1_prep0": p01, "prob_meas0_prep1": p10,
                   "depolarizing": o.depolarizing, "amplitude_damping": o.amplitude_damping, "two_qubit_depolarizing": o.two_qubit_depolarizing}
                  for w, (p01, p10) in enumerate(self.readout_pairs(n_qubits))]
        return {"source": "torch.noisy options", "taken_at": None, "qubits": qubits}

    def validate(self, circuit: Circuit, shots: int | None) -> None:
        super().validate(circuit, shots)
        value = self.options.readout_error
        if isinstance(value, list) and value and isinstance(value[0], list) and len(value) < circuit.n_qubits:
            raise ConfigError(
                f"torch.noisy has readout_error pairs for {len(value)} qubits but the circuit has {circuit.n_qubits}; "
                "give one [p01, p10] per qubit, or one pair for all."
            )

    def _complex_dtype(self, values: torch.Tensor) -> torch.dtype:
        if self.options.precision != "auto":
            return getattr(torch, self.options.precision)
        return torch.complex128 if values.dtype == torch.float64 else torch.complex64

    def _run(self, tasks: list[Task], shots: int | None, seed: int | None) -> list[torch.Tensor]:
        self._count_job()
        generator = None
        if shots is not None:
            generator = torch.Generator(device=tasks[0][1].device if tasks else "cpu")
            generator.manual_seed(int(seed if seed is not None else 0))
        with _single_thread(max((c.n_qubits for c, _ in tasks), default=0) <= SMALL_QUBITS):
            return [self._evaluate(circuit, values, shots, generator) for circuit, values in tasks]

    def simulate(self, circuit: Circuit, values: torch.Tensor) -> torch.Tensor:
        """Final density matrices ``[N, 2**n, 2**n]`` for slot values ``[N, n_slots]`` (differentiable)."""
        dtype = self._complex_dtype(values)
        n, rows = circuit.n_qubits, values.shape[0]
        needed = 4 * rows * 4**n * torch.empty((), dtype=dtype).element_size()
        if needed > 8 * 2**30:
            raise CapabilityError(
                f"torch.noisy needs about {needed / 2**30:.1f} GiB for {rows} density matrices of {n} qubits; "
                "evaluate fewer rows at a time or use fewer qubits."
            )
        rho = torch.zeros((rows,) + (2,) * (2 * n), dtype=dtype, device=values.device)
        rho.view(rows, -1)[:, 0] = 1
        o = self.options
        for op in circuit.ops:
            rho = conjugate(rho, gate_matrix(op, values, dtype), op.wires, n)
            if o.two_qubit_depolarizing and len(op.wires) == 2:
                rho = depolarize(rho, o.two_qubit_depolarizing, op.wires, n)
            for w in op.wires:
                if o.depolarizing:
                    rho = depolarize(rho, o.depolarizing, (w,), n)
                if o.amplitude_damping:
                    rho = amplitude_damp(rho, o.amplitude_damping, w, n)
        return rho.reshape(rows, 2**n, 2**n)

    def _probabilities(self, rho: torch.Tensor, basis: tuple[tuple[int, str], ...], n: int) -> torch.Tensor:
        """Measured-outcome probabilities ``[N, 2**n]`` in ``basis``, including readout flips."""
        rows = rho.shape[0]
        if basis:  # rotate X -> Z with H, Y -> Z with H·S† (noiselessly, as the vendors' measurement)
            r = rho.reshape((rows,) + (2,) * (2 * n))
            for w, p in basis:
                if p == "Y":
                    r = conjugate(r, _fixed_gate("Sdg", rho.dtype, rho.device), (w,), n)
                r = conjugate(r, _fixed_gate("H", rho.dtype, rho.device), (w,), n)
            rho = r.reshape(rows, 2**n, 2**n)
        probs = rho.diagonal(dim1=1, dim2=2).real
        pairs = self.readout_pairs(n)
        if any(a or b for a, b in pairs):
            probs = probs.reshape((rows,) + (2,) * n)
            for w, (p01, p10) in enumerate(pairs):
                confusion = torch.tensor([[1 - p01, p10], [p01, 1 - p10]], dtype=probs.dtype, device=probs.device)
                probs = _on_axes(probs, confusion, (w,))
            probs = probs.reshape(rows, 2**n)
        return probs

    def _evaluate(self, circuit: Circuit, values: torch.Tensor, shots: int | None, generator: torch.Generator | None) -> torch.Tensor:
        rho = self.simulate(circuit, values)
        return pauli_expectations(circuit, lambda basis: self._probabilities(rho, basis, circuit.n_qubits), rho, shots, generator)

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["versions"] = {"torch": torch.__version__}
        return info
