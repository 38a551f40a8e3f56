"""Kernel-target alignment: its value on known matrices, its gradient against finite differences, and training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hqnn_core.errors import ConfigError, InputError
from hqnn_core.kernels import FidelityKernel, ProjectedKernel, fit_alignment, kernel_target_alignment

RNG = np.random.default_rng(3)


def test_alignment_of_known_matrices():
    y = np.array([0, 0, 1, 1])
    ideal = torch.tensor(np.where(y[:, None] == y[None, :], 1.0, -1.0))
    assert float(kernel_target_alignment(ideal, y)) == pytest.approx(1.0)
    assert float(kernel_target_alignment(-ideal, y)) == pytest.approx(-1.0)
    # identity: <I, T> = 4, ||I|| = 2, ||T|| = 4
    assert float(kernel_target_alignment(torch.eye(4), y)) == pytest.approx(0.5)
    three = np.array([0, 1, 2])  # off-diagonal targets -1/2: <ones, T> = 3 - 6/2 = 0
    assert float(kernel_target_alignment(torch.ones(3, 3), three)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(InputError, match="two classes"):
        kernel_target_alignment(torch.eye(2), [1, 1])


@pytest.mark.parametrize("kind", ["fidelity_state", "fidelity_uncompute", "fidelity_shift", "projected", "projected_shift"])
def test_alignment_gradient_matches_finite_differences(kind):
    make = {
        "fidelity_state": lambda: FidelityKernel(encoder="reuploading", n_qubits=2, ansatz="hardware_efficient", layers=2, seed=1),
        "fidelity_uncompute": lambda: FidelityKernel(encoder="reuploading", n_qubits=2, ansatz="hardware_efficient", layers=2,
                                                     seed=1, method="compute_uncompute"),
        "fidelity_shift": lambda: FidelityKernel(encoder="reuploading", n_qubits=2, ansatz="hardware_efficient", layers=2,
                                                 seed=1, gradient="parameter_shift"),  # any backend's route: shifts of the pair circuits
        "projected": lambda: ProjectedKernel(encoder="angle", n_qubits=2, ansatz="hardware_efficient", seed=1, gamma=0.7),
        "projected_shift": lambda: ProjectedKernel(encoder="angle", n_qubits=2, ansatz="hardware_efficient", seed=1, gamma=0.7,
                                                   gradient="parameter_shift"),
    }[kind]
    kernel = make()
    kernel.feature_map.double()
    data, labels = RNG.uniform(-1, 1, size=(6, 2)), np.array([0, 1, 0, 1, 1, 0])
    (weights,) = kernel.parameters()
    alignment = kernel_target_alignment(kernel.gram(data), labels)
    (grad,) = torch.autograd.grad(alignment, weights)
    numeric = torch.zeros_like(weights)
    h = 1e-6
    with torch.no_grad():
        for index in np.ndindex(*weights.shape):
            weights[index] += h
            up = kernel_target_alignment(kernel.gram(data), labels)
            weights[index] -= 2 * h
            down = kernel_target_alignment(kernel.gram(data), labels)
            weights[index] += h
            numeric[index] = (up - down) / (2 * h)
    assert grad.abs().max() > 1e-3
    torch.testing.assert_close(grad, numeric, atol=1e-7, rtol=1e-5)


def test_fit_alignment_raises_the_alignment():
    data = RNG.uniform(-1, 1, size=(16, 2))
    labels = (data[:, 0] * data[:, 1] > 0).astype(int)
    kernel = FidelityKernel(encoder="reuploading", n_qubits=2, ansatz="strongly_entangling", layers=2, seed=0)
    with torch.no_grad():
        before = float(kernel_target_alignment(kernel.gram(data), labels))
    history = fit_alignment(kernel, data, labels, epochs=30, lr=0.1, seed=0)
    with torch.no_grad():
        after = float(kernel_target_alignment(kernel.gram(data), labels))
    assert len(history) == 30 and history[0] == pytest.approx(before)
    assert after > before + 0.05


def test_an_ansatz_after_a_single_encoding_is_refused_for_fidelity():
    with pytest.raises(ConfigError, match="cancels in a fidelity"):
        FidelityKernel(encoder="angle", n_qubits=2, ansatz="hardware_efficient")


def test_fit_alignment_needs_weights():
    with pytest.raises(ConfigError, match="no trainable weights"):
        fit_alignment(FidelityKernel(encoder="iqp", n_qubits=2), np.zeros((4, 2)), [0, 1, 0, 1])
