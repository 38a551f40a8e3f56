"""One measurement plan for every backend: Pauli terms, measurement settings, basis rotations, shots.

A circuit's observables are real linear combinations of Pauli strings. Every backend evaluates
them the same way, so the rules live here once:

* **Terms.** The distinct non-identity Pauli strings of all observables, each estimated once per
  binding; ``values[N, K] = term_values[N, T] @ coeffs[T, K] + constants[K]`` (identity terms
  add their coefficient exactly).
* **Settings.** Terms diagonal in Z share one measured circuit; each distinct set of non-Z factors
  (``X1``, or ``X0 Y2``) is its own setting, in which the remaining wires are read in Z.
* **Basis rotations.** Before a Z readout, X is rotated by ``H`` and Y by ``S†`` then ``H``
  (neutral gate names in :data:`BASIS_ROTATIONS`; matrices in :func:`rotation_matrix`).
* **Shot semantics.** With ``shots=S`` every binding is measured S times per setting; a term's
  estimate is the mean of its ±1 eigenvalue over that setting's S samples, so its standard error
  is ``sqrt((1 - <P>^2) / S)``.
* **Wire order.** Wire 0 is the most significant bit of a basis-state index; measured bits are
  handed over in wire order (column ``w`` is wire ``w``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from hqnn_core.circuit import Circuit, Observable, PauliTerm

#: A Pauli string as ``((wire, "X"|"Y"|"Z"), ...)``, sorted by wire.
Paulis = tuple[tuple[int, str], ...]
#: The non-Z factors of a setting: which wires are rotated, and into which basis.
Basis = tuple[tuple[int, str], ...]

#: Neutral gates applied, in order, so that a Z readout measures the named Pauli.
BASIS_ROTATIONS: dict[str, tuple[str, ...]] = {"X": ("H",), "Y": ("Sdg", "H")}

_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_SDG = np.array([[1, 0], [0, -1j]], dtype=complex)
_ROTATION_MATRICES = {"X": _H, "Y": _H @ _SDG}


def rotation_matrix(pauli: str) -> np.ndarray:
    """The 2×2 unitary of :data:`BASIS_ROTATIONS` for ``pauli`` (maps its eigenbasis onto Z's)."""
    return _ROTATION_MATRICES[pauli]


def basis_of(paulis: Paulis) -> Basis:
    """The setting a term is read in: its X and Y factors (its Z factors are read in the Z basis)."""
    return tuple((w, p) for w, p in paulis if p != "Z")


@dataclass(frozen=True)
class Setting:
    """One measured circuit: its basis, the terms it yields and each term's wires."""

    basis: Basis
    terms: tuple[int, ...]
    term_wires: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class MeasurementPlan:
    """Distinct Pauli terms of a circuit's observables, their settings, and how they combine."""

    n_qubits: int
    terms: tuple[Paulis, ...]
    coeffs: np.ndarray  # [T, K]
    constants: np.ndarray  # [K]
    settings: tuple[Setting, ...]

    @property
    def n_outputs(self) -> int:
        return int(self.constants.shape[0])

    @property
    def term_setting(self) -> tuple[int, ...]:
        """The setting index of each term."""
        out = [0] * len(self.terms)
        for s, setting in enumerate(self.settings):
            for t in setting.terms:
                out[t] = s
        return tuple(out)

    def combine(self, term_values: np.ndarray) -> np.ndarray:
        """``[N, T]`` term expectations to ``[N, K]`` observable expectations (float64)."""
        return np.asarray(term_values, dtype=np.float64) @ self.coeffs + self.constants

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

    def term_values_from_probabilities(self, probabilities: list[np.ndarray]) -> np.ndarray:
        """``[N, T]`` term expectations from each setting's outcome probabilities ``[N, 2**n]``."""
        rows = probabilities[0].shape[0] if probabilities else 0
        out = np.zeros((rows, len(self.terms)))
        signs = self.signs()
        for setting, probs in zip(self.settings, probabilities, strict=True):
            cols = list(setting.terms)
            out[:, cols] = probs @ signs[:, cols]
        return out

    def term_values_from_bits(self, bits: list[np.ndarray]) -> np.ndarray:
        """``[N, T]`` term means from each setting's measured bits ``[N, S, n]`` (column ``w`` is wire ``w``)."""
        rows = bits[0].shape[0] if bits else 0
        out = np.zeros((rows, len(self.terms)))
        for setting, setting_bits in zip(self.settings, bits, strict=True):
            for t, wires in zip(setting.terms, setting.term_wires, strict=True):
                parity = setting_bits[:, :, list(wires)].sum(axis=2) % 2
                out[:, t] = (1 - 2 * parity).mean(axis=1)
        return out


def sampled_frequencies(probabilities: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Outcome frequencies ``[N, 2**n]`` of ``shots`` independent measurements per row of exact ``probabilities``.

    Multinomial counts over shots: the same distribution as drawing each shot and counting, so term
    means computed from them have exactly the shot semantics of sampled bits.
    """
    probs = np.clip(probabilities, 0.0, None)
    probs = probs / probs.sum(axis=1, keepdims=True)
    return rng.multinomial(shots, probs) / shots


@lru_cache(maxsize=256)
def plan_measurements(circuit: Circuit) -> MeasurementPlan:
    """Group the circuit's observables into distinct terms and measurement settings (cached per circuit)."""
    terms: dict[Paulis, int] = {}
    by_basis: dict[Basis, list[int]] = {}
    entries: list[tuple[int, int, float]] = []
    constants = np.zeros(len(circuit.observables))
    for k, obs in enumerate(circuit.observables):
        for term in obs.terms:
            if not term.paulis:
                constants[k] += term.coeff
                continue
            if term.paulis not in terms:
                terms[term.paulis] = len(terms)
                by_basis.setdefault(basis_of(term.paulis), []).append(terms[term.paulis])
            entries.append((terms[term.paulis], k, term.coeff))
    coeffs = np.zeros((len(terms), len(circuit.observables)))
    for t, k, c in entries:
        coeffs[t, k] += c
    ordered = tuple(terms)
    settings = tuple(Setting(basis, tuple(rows), tuple(tuple(w for w, _ in ordered[t]) for t in rows)) for basis, rows in by_basis.items())
    return MeasurementPlan(circuit.n_qubits, ordered, coeffs, constants, settings)


# -- probabilities as expectations ------------------------------------------------------------------
#
# The joint outcome distribution of k measured wires is an invertible linear function of the
# expectations of the 2**k Z strings over those wires: <Z_m> = sum_b p(b) (-1)^popcount(b & m), so
# p(b) = 2**-k sum_m (-1)^popcount(b & m) <Z_m>. Every backend computes Z-string expectations, so
# every backend supports ``probs`` through this transform; with shots all Z strings share the Z
# setting's samples, which makes the transformed values exactly the sampled outcome frequencies.
# Gradient estimators and mitigators act on the Z strings, and the map is applied in torch after.


def _z_string(wires: tuple[int, ...], mask: int) -> Observable:
    k = len(wires)
    paulis = tuple((wires[j], "Z") for j in range(k) if (mask >> (k - 1 - j)) & 1)
    return Observable((PauliTerm(1.0, paulis),))


@lru_cache(maxsize=64)
def walsh_matrix(k: int) -> np.ndarray:
    """``[2**k, 2**k]`` map from Z-string expectations (column ``m``) to outcome probabilities (column ``b``)."""
    index = np.arange(2**k)
    parity = np.vectorize(lambda v: bin(v).count("1") & 1)(index[:, None] & index[None, :])
    return (1 - 2 * parity).astype(np.float64) / 2**k


@lru_cache(maxsize=256)
def probabilities_as_expectations(circuit: Circuit) -> Circuit:
    """The ``expval`` circuit whose observables are the Z strings behind ``circuit``'s probabilities."""
    wires = circuit.measurement.measured_wires(circuit.n_qubits)
    observables = tuple(_z_string(wires, mask) for mask in range(2 ** len(wires)))
    return Circuit(circuit.n_qubits, circuit.ops, circuit.slots, observables)


def probabilities_from_z_strings(values: torch.Tensor) -> torch.Tensor:
    """Outcome probabilities ``[..., 2**k]`` from Z-string expectations ``[..., 2**k]`` (differentiable)."""
    k = int(values.shape[-1]).bit_length() - 1
    return values @ torch.as_tensor(walsh_matrix(k), dtype=values.dtype, device=values.device)


def counts(samples: torch.Tensor) -> list[dict[str, int]]:
    """Per binding, how often each bitstring (first measured wire first) occurs in ``samples`` ``[N, shots, k]``."""
    out = []
    for row in samples.to(torch.uint8).cpu().numpy():
        keys, times = np.unique(row, axis=0, return_counts=True)
        out.append({"".join(str(int(b)) for b in key): int(t) for key, t in zip(keys, times, strict=True)})
    return out
