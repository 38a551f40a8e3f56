"""Separable variational classifier (Bowles, Ahmed & Schuld 2024, arXiv:2403.07059): the paper's no-entanglement baseline.

Features min-max scaled to [-pi/2, pi/2]; qubit i runs ``encoding_layers`` of a trainable Rot then
RY(x_i), and a final trainable Rot. The model is the mean of the qubits' <Z>, and P(+1) is the
logistic function of six times it (binary cross-entropy on ``6 <O>``).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.preprocessing import MinMaxScaler

from hqnn_core.circuit import Circuit, CircuitBuilder
from hqnn_core.components import ComponentSpec
from hqnn_core.models.base import QuantumClassifier, circuit_layer


def separable_circuit(n_qubits: int, encoding_layers: int) -> Circuit:
    """Per qubit: (Rot(w), RY(x_i)) ``encoding_layers`` times, then Rot(w); <Z> of every qubit.

    Weights ``w[q, l, k]`` (``encoding_layers + 1`` Rots per qubit), inputs ``x[q]``.
    """
    builder = CircuitBuilder(n_qubits)
    w = builder.weights(n_qubits, encoding_layers + 1, 3)
    for q in range(n_qubits):
        for layer in range(encoding_layers):
            builder.add("Rot", [q], *(w[q, layer, k] for k in range(3)))
            builder.add("RY", [q], builder.input(q))
        builder.add("Rot", [q], *(w[q, encoding_layers, k] for k in range(3)))
    return builder.build()


class SeparableVariationalClassifier(QuantumClassifier):
    """Product-state variational classifier (qml-benchmarks' defaults).

    Args:
        encoding_layers: (Rot, RY(x)) blocks per qubit.
        learning_rate, batch_size, max_steps, convergence_interval: the shared training loop.
        max_vmap: accepted for the paper's grids; a batch is one backend call, which gives the paper's chunked mean exactly.
        random_state: seeds the initial parameters and the batches.
        scaling: factor applied to the scaled features.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, encoding_layers: int = 1, learning_rate: float = 0.001, batch_size: int = 32, max_vmap: int | None = None,
                 max_steps: int = 10000, random_state: int = 42, scaling: float = 1.0, convergence_interval: int = 200,
                 backend: ComponentSpec = "torch") -> None:
        self.encoding_layers = encoding_layers
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.max_steps = max_steps
        self.random_state = random_state
        self.scaling = scaling
        self.convergence_interval = convergence_interval
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            self.scaler_ = MinMaxScaler(feature_range=(-np.pi / 2, np.pi / 2)).fit(X)
        return self.scaler_.transform(X) * self.scaling

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        self.n_qubits_ = n_features
        self.layer_ = circuit_layer(separable_circuit(n_features, self.encoding_layers), self.backend,
                                    weight_shapes=(n_features, self.encoding_layers + 1, 3))
        self.layer_.weights.data = torch.from_numpy(2 * np.pi * rng.uniform(size=(n_features, self.encoding_layers + 1, 3)))
        self.params_ = {"weights": self.layer_.weights}

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer_(X).mean(dim=1)

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.binary_cross_entropy_with_logits(6 * self._outputs(X), (y > 0).to(X.dtype))

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        f = outputs.numpy()  # the paper's predict_proba reads <O> as (1 -/+ <O>) / 2, not through the sigmoid
        return np.c_[(1 - f) / 2, (1 + f) / 2]
