"""The core measurement plan that every backend uses: terms, settings, rotations, shot estimates."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from dense_reference import layer_state

from hqnn_core.circuit import CircuitBuilder, Observable
from hqnn_core.measurement import BASIS_ROTATIONS, plan_measurements, rotation_matrix


def _plan(n, *observables):
    return plan_measurements(CircuitBuilder(n).build([Observable.parse(o) for o in observables]))


def test_terms_coeffs_and_constants():
    plan = _plan(2, "Z0", "0.5*Z0 + 2*X0X1", "-X0X1 + 0.25*I0", "Z1")
    assert plan.terms == (((0, "Z"),), ((0, "X"), (1, "X")), ((1, "Z"),))
    np.testing.assert_allclose(plan.coeffs, [[1, 0.5, 0, 0], [0, 2, -1, 0], [0, 0, 0, 1]])
    np.testing.assert_allclose(plan.constants, [0, 0, 0.25, 0])
    np.testing.assert_allclose(plan.combine(np.array([[0.1, 0.2, 0.3]])), [[0.1, 0.45, 0.05, 0.3]])


def test_settings_group_terms_by_their_non_z_factors():
    plan = _plan(3, "Z0", "Z1Z2", "X0", "X0Z1", "X0X1", "Y2")
    assert [s.basis for s in plan.settings] == [(), ((0, "X"),), ((0, "X"), (1, "X")), ((2, "Y"),)]
    assert [s.terms for s in plan.settings] == [(0, 1), (2, 3), (4,), (5,)]
    assert plan.settings[1].term_wires == ((0,), (0, 1))
    assert plan.term_setting == (0, 0, 1, 1, 2, 3)


def test_rotations_map_each_pauli_eigenbasis_onto_z():
    gates = {"H": np.array([[1, 1], [1, -1]]) / np.sqrt(2), "Sdg": np.diag([1, -1j])}
    paulis = {"X": np.array([[0, 1], [1, 0]]), "Y": np.array([[0, -1j], [1j, 0]])}
    for pauli, names in BASIS_ROTATIONS.items():
        u = np.eye(2)
        for name in names:  # applied in order: the later gate multiplies from the left
            u = gates[name] @ u
        np.testing.assert_allclose(u, rotation_matrix(pauli), atol=1e-15)
        np.testing.assert_allclose(u @ paulis[pauli] @ u.conj().T, np.diag([1, -1]), atol=1e-15)


def test_exact_and_sampled_term_values_agree_with_the_statevector():
    """Probabilities per setting → exact values; bits drawn from them → means within 5 standard errors."""
    from hqnn_core import QuantumLayer

    layer = QuantumLayer(3, encoder="angle", ansatz="strongly_entangling", layers=2, seed=3,
                         observables=["Z0", "X1", "0.5*Y0Z2 + X0X1", "Z0Z1Z2"])
    x = torch.tensor([[0.3, -1.1, 2.0]], dtype=torch.float64)
    exact = layer(x).detach().numpy()
    state = layer_state(layer, x)
    plan = plan_measurements(layer.circuit)
    probs = [_rotated_probabilities(state, s.basis, 3) for s in plan.settings]
    np.testing.assert_allclose(plan.combine(plan.term_values_from_probabilities(probs)), exact, atol=1e-12)

    rng = np.random.default_rng(0)
    shots = 20_000
    bits = []
    for p in probs:
        outcomes = rng.choice(8, size=(1, shots), p=p[0] / p[0].sum())
        bits.append(((outcomes[..., None] >> np.array([2, 1, 0])) & 1).astype(np.int8))  # column w = wire w (wire 0 = MSB)
    sampled = plan.term_values_from_bits(bits)
    exact_terms = plan.term_values_from_probabilities(probs)
    stderr = np.sqrt((1 - exact_terms**2) / shots)
    assert np.all(np.abs(sampled - exact_terms) <= 5 * stderr + 1e-12)


def _rotated_probabilities(state, basis, n):
    psi = state.reshape((2,) * n)
    for w, p in basis:
        psi = np.moveaxis(np.tensordot(rotation_matrix(p), psi, axes=([1], [w])), 0, w)
    flat = psi.reshape(1, -1)
    return np.abs(flat) ** 2


@pytest.mark.parametrize("n", [1, 4])
def test_signs_follow_wire_zero_as_most_significant_bit(n):
    plan = _plan(n, *(f"Z{w}" for w in range(n)))
    signs = plan.signs()
    for index in range(2**n):
        for w in range(n):
            assert signs[index, w] == (-1 if (index >> (n - 1 - w)) & 1 else 1)
