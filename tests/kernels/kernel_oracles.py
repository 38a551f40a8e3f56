"""Independent numpy oracles for kernel tests (feature-map states written from their formulas, not from hqnn circuits), and the shared hqnn feature maps."""

from __future__ import annotations

import itertools
import math

import numpy as np

from hqnn_core.circuit import Circuit, CircuitBuilder


def _bits(n: int) -> np.ndarray:
    """``[2**n, n]`` bits of each basis state, wire 0 the most significant."""
    return (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1


def iqp_state(x: np.ndarray, repeats: int = 1) -> np.ndarray:
    """``(U_Z(x) H^n)^r |0>``, ``U_Z = exp(-i/2 (Σ x_i Z_i + Σ_{i<j} x_i x_j Z_i Z_j))`` (qml.IQPEmbedding's state)."""
    n = len(x)
    z = 1 - 2 * _bits(n)
    phase = z @ x + sum(x[i] * x[j] * z[:, i] * z[:, j] for i, j in itertools.combinations(range(n), 2))
    diagonal = np.exp(-0.5j * phase)
    hadamards = np.ones((1, 1))
    for _ in range(n):
        hadamards = np.kron(hadamards, np.array([[1, 1], [1, -1]]) / np.sqrt(2))
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    for _ in range(repeats):
        psi = diagonal * (hadamards @ psi)
    return psi


def zz_feature_map_state(x: np.ndarray, reps: int = 2) -> np.ndarray:
    """Qiskit's two-qubit ``zz_feature_map``: (phases ``2 x_i b_i + 2 (π - x0)(π - x1)(b0 ⊕ b1)`` after ``H⊗H``)^reps."""
    b = _bits(2)
    phase = 2 * x[0] * b[:, 0] + 2 * x[1] * b[:, 1] + 2 * (np.pi - x[0]) * (np.pi - x[1]) * (b[:, 0] ^ b[:, 1])
    h = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    psi = np.array([1, 0, 0, 0], dtype=complex)
    for _ in range(reps):
        psi = np.exp(1j * phase) * (np.kron(h, h) @ psi)
    return psi


def fidelity_matrix(states_x: np.ndarray, states_y: np.ndarray) -> np.ndarray:
    """``K[i, j] = |<φ(y_j)|φ(x_i)>|²``."""
    return np.abs(states_x @ states_y.conj().T) ** 2


def bloch_vectors(psi: np.ndarray) -> np.ndarray:
    """``[n, 3]``: each qubit's ``(<X>, <Y>, <Z>)`` from its reduced density matrix (partial trace)."""
    n = int(np.log2(psi.size))
    paulis = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1, -1])]
    tensor = psi.reshape((2,) * n)
    out = np.zeros((n, 3))
    for q in range(n):
        moved = np.moveaxis(tensor, q, 0).reshape(2, -1)
        rho = moved @ moved.conj().T
        out[q] = [np.real(np.trace(rho @ p)) for p in paulis]
    return out


def projected_matrix(bx: np.ndarray, by: np.ndarray, gamma: float) -> np.ndarray:
    """``exp(-γ Σ_q ||ρ_q - ρ_q'||_F²)`` with the reduced states built as 2x2 matrices from the Bloch vectors."""
    paulis = [np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.diag([1, -1])]

    def rho(r: np.ndarray) -> np.ndarray:
        return (np.eye(2) + sum(c * p for c, p in zip(r, paulis, strict=True))) / 2

    out = np.zeros((len(bx), len(by)))
    for i, a in enumerate(bx):
        for j, b in enumerate(by):
            out[i, j] = np.exp(-gamma * sum(np.linalg.norm(rho(ra) - rho(rb)) ** 2 for ra, rb in zip(a, b, strict=True)))
    return out


def zz_feature_map_circuit() -> Circuit:
    """Qiskit's ``zz_feature_map(2, reps=2)`` written with the circuit API (P(2x) is PhaseShift, the pair angle a product)."""
    b = CircuitBuilder(2)
    x = b.inputs(2)
    for _ in range(2):
        for q in range(2):
            b.add("H", [q])
            b.add("PhaseShift", [q], 2 * x[q])
        b.add("CNOT", [0, 1])
        b.add("PhaseShift", [1], 2 * (math.pi - x[0]) * (math.pi - x[1]))
        b.add("CNOT", [0, 1])
    return b.build()
