"""Built-in data encoders: angle, amplitude, basis, IQP and data re-uploading.

Each one that names a published template builds exactly that template's state for every qubit count
(tests/adapters/pennylane/test_templates.py compares final states with PennyLane's). Their options
and gates are in :mod:`hqnn_plugins.layouts.encoders` (torch-free); this module adds the torch parts.
"""

from __future__ import annotations

import torch

from hqnn_core.interfaces.encoder import Encoder
from hqnn_plugins.layouts.encoders import AmplitudeLayout, AngleLayout, BasisLayout, IQPLayout, ReuploadingLayout, gray


class AngleEncoder(AngleLayout, Encoder):
    """Features as rotation angles: PennyLane's AngleEmbedding, or three per qubit as one Rot.

    ``rotation`` R_axis(scale * x_i) on wire i is ``AngleEmbedding``; ``hadamard: true`` puts H on every
    wire first (the dressed quantum circuit of Mari et al. 2020); ``features_per_qubit: 3`` loads
    ``Rot(x_3i, x_3i+1, x_3i+2)`` on wire i (Pérez-Salinas et al. 2020), so d features need ceil(d/3)
    qubits; ``n_features`` below the qubits' capacity leaves the remaining angles at zero (wires
    without a feature get no rotation). ``trainable_scaling: true`` multiplies every angle by its own
    trainable weight (per feature, and per upload when re-uploading), initialised to one.
    """


class ReuploadingEncoder(ReuploadingLayout, AngleEncoder):
    """Angle encoding repeated before every ansatz layer (data re-uploading, Pérez-Salinas et al. 2020).

    Takes the options of ``angle``; with ``trainable_scaling: true`` each upload has its own weight
    per feature, the paper's trainable input scaling (``Rot(w * x)``).
    """


class BasisEncoder(BasisLayout, Encoder):
    """Bits as computational basis states: feature i in {0, 1} flips wire i (as RX(pi * x_i))."""

    def check_inputs(self, x: torch.Tensor, n_qubits: int) -> None:
        bad = ~((x == 0) | (x == 1))
        if bool(bad.any()):
            idx = tuple(int(i) for i in bad.nonzero()[0])
            self._require(False, f"basis encoding takes 0/1 features; found {x[idx].item()!r} at {list(idx)}. Binarise the data first.")


class IQPEncoder(IQPLayout, Encoder):
    """IQP (ZZ) feature map: H, RZ(x_i), then RZZ(x_i x_j) on every pair, repeated (Havlíček et al. 2019)."""

    def transform(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        i, j = torch.triu_indices(n_qubits, n_qubits, offset=1, device=x.device)
        return torch.cat([x, x[:, i] * x[:, j]], dim=1)


def _ucry_matrix(k: int) -> torch.Tensor:
    """M with alpha = M theta for a uniformly controlled RY over k controls (Möttönen et al. 2004)."""
    size = 1 << k
    return torch.tensor([[(-1) ** bin(p & gray(i)).count("1") for i in range(size)] for p in range(size)], dtype=torch.float64)


def _safe_sqrt(s: torch.Tensor) -> torch.Tensor:
    positive = s > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, s, torch.ones_like(s))), torch.zeros_like(s))


def _safe_atan2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    zero = (y == 0) & (x == 0)
    return torch.atan2(torch.where(zero, torch.zeros_like(y), y), torch.where(zero, torch.ones_like(x), x))


class AmplitudeEncoder(AmplitudeLayout, Encoder):
    """Features as the amplitudes of a 2^n state (PennyLane's AmplitudeEmbedding), as an RY rotation tree.

    The rotation angles are computed from the features in torch, so gradients reach the inputs and
    every vendor runs the same RY/CNOT circuit with parameter-shift rules. ``copies: c`` prepares
    the tensor product of c copies of the state on c blocks of n/c qubits (the circuit-centric
    classifier of Schuld et al. 2020 embeds ``x ⊗ x``), each block its own rotation tree.
    """

    def _amplitudes(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        size = 1 << n_qubits
        if x.shape[1] < size:
            x = torch.cat([x, x.new_full((x.shape[0], size - x.shape[1]), self.options.pad_with)], dim=1)
        norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
        return x / norm if self.options.normalize else x

    def check_inputs(self, x: torch.Tensor, n_qubits: int) -> None:
        expected = self.n_features(n_qubits)
        self._require(x.shape[1] == expected, f"amplitude encoding expects {expected} features per sample, got {x.shape[1]}; set options.n_features.")
        padding = ((1 << self._block(n_qubits)) - x.shape[1]) * self.options.pad_with**2
        norms = torch.sqrt(torch.linalg.vector_norm(x, dim=1) ** 2 + padding)
        if self.options.normalize:
            self._require(
                bool((norms > 0).all()),
                "amplitude encoding got an all-zero feature vector, which is not a state; set pad_with to a non-zero value or drop the row.",
            )
        else:
            self._require(
                bool(torch.allclose(norms, torch.ones_like(norms), atol=1e-5)),
                "amplitude encoding with normalize=false needs unit-norm (padded) feature vectors; normalise them or set normalize: true.",
            )

    def transform(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        k = self._block(n_qubits)
        amps = self._amplitudes(x, k)
        batch = amps.shape[0]
        thetas = []
        for t in range(k):  # wire t is rotated, controlled by the prefix on wires 0..t-1
            if t == k - 1:  # leaves: signed amplitudes carry the signs
                pairs = amps.reshape(batch, -1, 2)
            else:
                prefix_sq = (amps**2).reshape(batch, 1 << (t + 1), -1).sum(dim=2)
                pairs = _safe_sqrt(prefix_sq).reshape(batch, -1, 2)
            alpha = 2 * _safe_atan2(pairs[..., 1], pairs[..., 0])
            thetas.append(alpha @ _ucry_matrix(t).to(alpha) / (1 << t))  # theta = M^T alpha / 2^t
        return torch.cat(thetas * self.options.copies, dim=1)
