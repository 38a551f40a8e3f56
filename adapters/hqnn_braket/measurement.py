"""From final states or measured bits to the ``[N, K]`` expectations hqnn asks for, vectorised.

Shot semantics (the same as the embedded torch backend): with ``shots=S`` every binding is
measured S times per measurement basis. All Pauli terms that are diagonal in Z share one
setting; each distinct set of non-Z factors (e.g. ``X1``, or ``X0 Y2``) is its own setting, in
which the remaining wires are read in Z. A term's estimate is the mean of its ±1 eigenvalue over
that setting's S samples, so its standard error is ``sqrt((1 - <P>^2) / S)``. Observables are
real linear combinations of terms; identity terms add their coefficient exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hqnn_core.circuit import Circuit

Basis = tuple[tuple[int, str], ...]

_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_SDG = np.array([[1, 0], [0, -1j]], dtype=complex)
#: Single-qubit rotation that maps each Pauli's eigenbasis onto Z's.
ROTATIONS = {"X": _H, "Y": _H @ _SDG}


@dataclass(frozen=True)
class MeasurementPlan:
    """Unique Pauli terms of a circuit's observables, their settings, and how they combine.

    ``values = term_values @ coeffs + constants`` with ``term_values`` of shape ``[N, T]``.
    """

    n_qubits: int
    terms: tuple[Basis, ...]
    coeffs: np.ndarray  # [T, K]
    constants: np.ndarray  # [K]
    settings: tuple[Basis, ...]  # the non-Z factors of each measurement setting
    term_setting: tuple[int, ...]  # setting index of each term

    @property
    def n_outputs(self) -> int:
        return int(self.constants.shape[0])

    def combine(self, term_values: np.ndarray) -> np.ndarray:
        """``[N, T]`` term expectations to ``[N, K]`` observable expectations (float64)."""
        return term_values.astype(np.float64) @ self.coeffs + self.constants

    def signs(self) -> np.ndarray:
        """``[2**n, T]`` ±1 eigenvalue of each term's Z-string on each basis state (wire 0 = MSB)."""
        index = np.arange(2**self.n_qubits)
        out = np.empty((index.size, len(self.terms)))
        for t, paulis in enumerate(self.terms):
            parity = np.zeros_like(index)
            for w, _ in paulis:
                parity ^= (index >> (self.n_qubits - 1 - w)) & 1
            out[:, t] = 1 - 2 * parity
        return out


def plan_measurements(circuit: Circuit) -> MeasurementPlan:
    """Group the circuit's observables into unique terms and measurement settings."""
    terms: dict[Basis, int] = {}
    settings: dict[Basis, int] = {}
    term_setting: list[int] = []
    entries: list[tuple[int, int, float]] = []
    constants = np.zeros(len(circuit.observables))
    for k, obs in enumerate(circuit.observables):
        for term in obs.terms:
            if not term.paulis:
                constants[k] += term.coeff
                continue
            if term.paulis not in terms:
                terms[term.paulis] = len(terms)
                setting = tuple((w, p) for w, p in term.paulis if p != "Z")
                term_setting.append(settings.setdefault(setting, len(settings)))
            entries.append((terms[term.paulis], k, term.coeff))
    coeffs = np.zeros((len(terms), len(circuit.observables)))
    for t, k, c in entries:
        coeffs[t, k] += c
    return MeasurementPlan(circuit.n_qubits, tuple(terms), coeffs, constants, tuple(settings), tuple(term_setting))


def _apply_one(tensor: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """Apply a 2×2 ``matrix`` to one qubit axis of a ``[N, 2, 2, ...]`` tensor."""
    moved = np.moveaxis(tensor, axis, -1)
    return np.moveaxis(moved @ matrix.T, -1, axis)


def probabilities(states: np.ndarray, setting: Basis, n_qubits: int) -> np.ndarray:
    """Outcome probabilities ``[N, 2**n]`` of measuring ``setting`` on state vectors ``[N, 2**n]``
    or density matrices ``[N, 2**n, 2**n]`` (non-setting wires are read in Z)."""
    rows = states.shape[0]
    if states.ndim == 2:
        psi = states.reshape((rows,) + (2,) * n_qubits)
        for w, p in setting:
            psi = _apply_one(psi, ROTATIONS[p], 1 + w)
        flat = psi.reshape(rows, -1)
        return flat.real**2 + flat.imag**2
    rho = states.reshape((rows,) + (2,) * (2 * n_qubits))
    for w, p in setting:  # U rho U^dagger: U on the row index, conj(U) on the column index
        rho = _apply_one(rho, ROTATIONS[p], 1 + w)
        rho = _apply_one(rho, ROTATIONS[p].conj(), 1 + n_qubits + w)
    diagonal = np.einsum("nii->ni", rho.reshape(rows, 2**n_qubits, 2**n_qubits))
    return np.clip(diagonal.real, 0.0, None)


def expectations_from_states(states: np.ndarray, plan: MeasurementPlan, shots: int | None, rng: np.random.Generator | None) -> np.ndarray:
    """``[N, K]`` expectations from final states: exact, or from ``shots`` samples per setting."""
    signs = plan.signs()
    term_values = np.zeros((states.shape[0], len(plan.terms)))
    for s, setting in enumerate(plan.settings):
        cols = [t for t, ts in enumerate(plan.term_setting) if ts == s]
        probs = probabilities(states, setting, plan.n_qubits)
        if shots is not None:
            assert rng is not None
            probs = probs / probs.sum(axis=1, keepdims=True)
            probs = rng.multinomial(shots, probs) / shots
        term_values[:, cols] = probs @ signs[:, cols]
    return plan.combine(term_values)


def expectations_from_bits(bits_per_setting: list[np.ndarray], plan: MeasurementPlan, rows: int) -> np.ndarray:
    """``[N, K]`` expectations from measured bits ``[N, S, n]`` (columns in wire order) of each setting."""
    term_values = np.zeros((rows, len(plan.terms)))
    for t, paulis in enumerate(plan.terms):
        bits = bits_per_setting[plan.term_setting[t]]
        parity = bits[:, :, [w for w, _ in paulis]].sum(axis=2) % 2
        term_values[:, t] = (1 - 2 * parity).mean(axis=1)
    return plan.combine(term_values)
