"""Tree tensor network classifier (Grant et al. 2018, arXiv:1803.00745; Fig. 1 of arXiv:2011.06258), as Bowles, Ahmed & Schuld 2024 benchmark it.

Features (unscaled) are padded with ``1 / 2**n`` to ``2**n`` amplitudes and normalised, where the
qubit count n is the power of two at or above ceil(log2 d); a tree of RY rotations and CNOTs halves
the active qubits each level down to qubit 0, whose <Z> plus a trainable bias is trained on the square loss.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable
from hqnn_core.components import ComponentSpec, get_encoder
from hqnn_core.interfaces import Encoder
from hqnn_core.models.base import QuantumClassifier, circuit_layer, parameter


def tree_qubits(n_features: int) -> int:
    """2**ceil(log2(ceil(log2 d))) qubits (1 for one feature), as the paper's code chooses them."""
    if n_features == 1:
        return 1
    return 2 ** math.ceil(math.log2(max(1, math.ceil(math.log2(n_features)))))


def tree_circuit(encoder: Encoder, n_qubits: int) -> Circuit:
    """Amplitude encoding (inputs: the encoder's rotation angles), then the tree: weights ``w[0 .. 2n - 2]``, <Z0>."""
    builder = CircuitBuilder(n_qubits)
    encoder.add_ops(builder, list(range(n_qubits)))
    count = 0
    for level in range(int(math.log2(n_qubits))):
        for q in range(0, n_qubits, 2**level):
            builder.add("RY", [q], builder.weight(count))
            count += 1
        for i in range(0, n_qubits, 2 ** (level + 1)):
            builder.add("CNOT", [i + 2**level, i])
    builder.add("RY", [0], builder.weight(count))
    return builder.build([Observable.z(0)])


class TreeTensorClassifier(QuantumClassifier):
    """Amplitude encoding and a tree of RY + CNOT, <Z0> + b (qml-benchmarks' defaults).

    Args:
        learning_rate, batch_size, max_steps, convergence_interval: the shared training loop.
        random_state: seeds the initial parameters and the batches.
        max_vmap: accepted for the paper's grids; a batch is one backend call, which gives the paper's chunked mean exactly.
        scaling: factor applied to the features before padding.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, learning_rate: float = 0.01, batch_size: int = 32, max_steps: int = 10000, convergence_interval: int = 200,
                 random_state: int = 42, max_vmap: int | None = None, scaling: float = 1.0, backend: ComponentSpec = "torch") -> None:
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.random_state = random_state
        self.max_vmap = max_vmap
        self.scaling = scaling
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        return X * self.scaling  # padding and normalisation are the encoder's

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        n = self.n_qubits_ = tree_qubits(n_features)
        self.encoder_ = get_encoder({"name": "amplitude", "options": {"n_features": n_features, "pad_with": 1 / 2**n}})
        self.layer_ = circuit_layer(tree_circuit(self.encoder_, n), self.backend)
        self.layer_.weights.data = torch.from_numpy(2 * np.pi * rng.uniform(size=(1, 2 * n - 1)))
        self.params_ = {"weights": self.layer_.weights, "bias": parameter(0.1 * rng.normal(size=(1,)))}

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        angles = self.encoder_.transform(X, self.n_qubits_)
        return self.layer_(angles)[:, 0] + self.params_["bias"]

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((self._outputs(X) - y) ** 2).mean()

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        f = outputs.numpy()
        return np.c_[(1 - f) / 2, (1 + f) / 2]
