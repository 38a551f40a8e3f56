"""The feature-map circuits of the qml-benchmarks kernel models (Bowles, Ahmed, Schuld 2024), as hqnn circuits.

Each reads the (already scaled) features as ``x[i]``; gates follow PennyLane's conventions, which
hqnn's neutral gates share: ``RXX(t) = exp(-i t X⊗X / 2)`` (PennyLane's ``IsingXX``) and
``Rot(a, b, c) = RZ(c) RY(b) RZ(a)``.
"""

from __future__ import annotations

import math

import numpy as np

from hqnn_core.circuit import Circuit, CircuitBuilder


def separable_feature_map(n_features: int, encoding_layers: int) -> Circuit:
    """One qubit per feature: ``encoding_layers`` times ``RX(-π/4)`` then ``RY(-x_i)``.

    The paper's single-qubit overlap circuit applies these gates for ``x`` and then their inverse
    for ``x'``, so its kernel is the fidelity of this product state (the product of one-qubit fidelities).
    """
    builder = CircuitBuilder(n_features)
    for _ in range(encoding_layers):
        for i in range(n_features):
            builder.add("RX", [i], -math.pi / 4)
            builder.add("RY", [i], builder.input(i, -1.0))
    return builder.build()


def hamiltonian_feature_map(n_features: int, t: float, trotter_steps: int, rotation_angles: np.ndarray) -> Circuit:
    """``n_features + 1`` qubits: a fixed random ``Rot`` per qubit, then a Trotterised Heisenberg evolution.

    Each of ``trotter_steps`` steps applies ``RXX, RYY, RZZ(x_j t (n_qubits - 1) / trotter_steps)`` on
    the chain ``(j, j + 1)``, as the paper's ``embedding="Hamiltonian"`` (Huang et al. 2021).
    """
    n_qubits = n_features + 1
    if rotation_angles.shape != (n_qubits, 3):
        raise ValueError(f"rotation_angles must have shape ({n_qubits}, 3), got {rotation_angles.shape}")
    step_time = t / trotter_steps * (n_qubits - 1)
    builder = CircuitBuilder(n_qubits)
    for q in range(n_qubits):
        builder.add("Rot", [q], *(float(a) for a in rotation_angles[q]))
    for _ in range(trotter_steps):
        for j in range(n_features):
            for gate in ("RXX", "RYY", "RZZ"):
                builder.add(gate, [j, j + 1], builder.input(j, step_time))
    return builder.build()
