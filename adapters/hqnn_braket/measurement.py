"""From final states or measured bits to the ``[N, K]`` expectations hqnn asks for, vectorised.

Terms, settings, basis rotations and shot semantics come from the core plan
(:mod:`hqnn_core.measurement`), as on every backend; this module only turns the local simulator's
final states (state vectors or density matrices) into each setting's outcome probabilities.
"""

from __future__ import annotations

import numpy as np

from hqnn_core.measurement import Basis, MeasurementPlan, rotation_matrix, sampled_frequencies


def _apply_one(tensor: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """Apply a 2×2 ``matrix`` to one qubit axis of a ``[N, 2, 2, ...]`` tensor."""
    moved = np.moveaxis(tensor, axis, -1)
    return np.moveaxis(moved @ matrix.T, -1, axis)


def probabilities(states: np.ndarray, basis: Basis, n_qubits: int) -> np.ndarray:
    """Outcome probabilities ``[N, 2**n]`` of measuring ``basis`` on state vectors ``[N, 2**n]``
    or density matrices ``[N, 2**n, 2**n]`` (wires outside the basis are read in Z)."""
    rows = states.shape[0]
    if states.ndim == 2:
        psi = states.reshape((rows,) + (2,) * n_qubits)
        for w, p in basis:
            psi = _apply_one(psi, rotation_matrix(p), 1 + w)
        flat = psi.reshape(rows, -1)
        return flat.real**2 + flat.imag**2
    rho = states.reshape((rows,) + (2,) * (2 * n_qubits))
    for w, p in basis:  # U rho U^dagger: U on the row index, conj(U) on the column index
        rho = _apply_one(rho, rotation_matrix(p), 1 + w)
        rho = _apply_one(rho, rotation_matrix(p).conj(), 1 + n_qubits + w)
    diagonal = np.einsum("nii->ni", rho.reshape(rows, 2**n_qubits, 2**n_qubits))
    return np.clip(diagonal.real, 0.0, None)


def expectations_from_states(states: np.ndarray, plan: MeasurementPlan, shots: int | None, rng: np.random.Generator | None) -> np.ndarray:
    """``[N, K]`` expectations from final states: exact, or from ``shots`` samples per setting."""
    per_setting = []
    for setting in plan.settings:
        probs = probabilities(states, setting.basis, plan.n_qubits)
        if shots is not None:
            assert rng is not None
            probs = sampled_frequencies(probs, shots, rng)
        per_setting.append(probs)
    if not per_setting:
        return plan.combine(np.zeros((states.shape[0], 0)))
    return plan.combine(plan.term_values_from_probabilities(per_setting))


def expectations_from_bits(bits_per_setting: list[np.ndarray], plan: MeasurementPlan, rows: int) -> np.ndarray:
    """``[N, K]`` expectations from measured bits ``[N, S, n]`` (columns in wire order) of each setting."""
    if not plan.settings:
        return plan.combine(np.zeros((rows, 0)))
    return plan.combine(plan.term_values_from_bits(bits_per_setting))
