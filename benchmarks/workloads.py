"""The benchmark workloads: one forward+backward of a batch through the same hardware-efficient layer.

Circuit (identical in every tool): angle encoding ``RY(x_i)`` on wire i; ``layers`` times ``RY(w)`` and
``RZ(w)`` on every wire then a CNOT ring ``CNOT(i, i+1 mod n)`` (one CNOT for two wires); ``<Z_i>`` on
every wire; exact expectations. Weights are ``[layers, 2 n]`` with ``w[l, 2 i]`` the RY and
``w[l, 2 i + 1]`` the RZ angle of wire i (hqnn's ``hardware_efficient`` layout); every tool gets the same
numbers mapped into its own parameter layout. The loss is ``sum(outputs * cotangent)`` with a fixed
cotangent, so the weight gradients are comparable across tools.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Workload:
    name: str
    n_qubits: int
    layers: int
    batch: int

    @property
    def n_weights(self) -> int:
        return 2 * self.n_qubits * self.layers

    @property
    def ring(self) -> list[tuple[int, int]]:
        n = self.n_qubits
        if n == 1:
            return []
        if n == 2:
            return [(0, 1)]
        return [(i, (i + 1) % n) for i in range(n)]

    @property
    def gates(self) -> int:
        """Gates of one circuit: encoding, rotations, CNOTs."""
        return self.n_qubits + self.layers * (2 * self.n_qubits + len(self.ring))

    def state_bytes(self, itemsize: int = 8) -> int:
        """Bytes of the batch's statevectors (complex64 by default)."""
        return self.batch * (2**self.n_qubits) * itemsize

    def gate_by_gate_bytes(self, itemsize: int = 8) -> int:
        """Memory traffic of one forward pass that applies every gate to the whole state (read + write)."""
        return self.gates * 2 * self.state_bytes(itemsize)

    def data(self, dtype: torch.dtype = torch.float64, variant: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Inputs ``[B, n]`` in [0, pi), weights ``[L, 2n]``, cotangent ``[B, n]``: fixed by the shape and ``variant`` (a round)."""
        g = torch.Generator().manual_seed(1000 * self.n_qubits + 10 * self.layers + self.batch + 7919 * variant)
        x = torch.rand(self.batch, self.n_qubits, generator=g, dtype=torch.float64) * math.pi
        w = (torch.rand(self.layers, 2 * self.n_qubits, generator=g, dtype=torch.float64) * 2 - 1) * math.pi
        cot = torch.randn(self.batch, self.n_qubits, generator=g, dtype=torch.float64)
        return x.to(dtype), w.to(dtype), cot.to(dtype)

    def label(self) -> str:
        return f"{self.name}: {self.n_qubits} qubits, {self.layers} layers, batch {self.batch}"


WORKLOADS = {
    "W1": Workload("W1", 4, 2, 32),
    "W2": Workload("W2", 8, 4, 64),
    "W3": Workload("W3", 12, 6, 128),
}

QUICK_WORKLOADS = {
    "Q1": Workload("Q1", 2, 1, 3),
    "Q2": Workload("Q2", 3, 2, 4),
}
