"""Circuit-centric classifier (Schuld et al. 2020, arXiv:1804.00633), as Bowles, Ahmed & Schuld 2024 benchmark it.

Features (unscaled) are padded to the next power of two with ``1 / 2**k``, normalised, and
amplitude-encoded ``n_input_copies`` times as a tensor product; ``n_layers`` strongly entangling
layers (CNOT) follow, and the model is <Z0> plus a trainable bias, trained on the square loss.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from hqnn_core.components import ComponentSpec
from hqnn_core.layer import QuantumLayer
from hqnn_core.models.base import QuantumClassifier, parameter


class CircuitCentricClassifier(QuantumClassifier):
    """Copies of an amplitude-encoded input, strongly entangling layers, <Z0> + b (qml-benchmarks' defaults).

    Args:
        n_input_copies: copies of the amplitude-encoded state (``n_input_copies * ceil(log2 d)`` qubits).
        n_layers: strongly entangling layers.
        convergence_interval, max_steps, learning_rate, batch_size: the shared training loop.
        max_vmap: accepted for the paper's grids; a batch is one backend call, which gives the paper's chunked mean exactly.
        scaling: factor applied to the features before padding.
        random_state: seeds the initial parameters and the batches.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, n_input_copies: int = 2, n_layers: int = 4, convergence_interval: int = 200, max_steps: int = 10000,
                 learning_rate: float = 0.001, batch_size: int = 32, max_vmap: int | None = None, scaling: float = 1.0,
                 random_state: int = 42, backend: ComponentSpec = "torch") -> None:
        self.n_input_copies = n_input_copies
        self.n_layers = n_layers
        self.convergence_interval = convergence_interval
        self.max_steps = max_steps
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        return X * self.scaling  # the padding and normalisation are the amplitude encoder's

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        per_copy = max(1, math.ceil(math.log2(n_features)))
        self.n_qubits_ = self.n_input_copies * per_copy
        encoder = {"name": "amplitude", "options": {"copies": self.n_input_copies, "n_features": n_features,
                                                     "pad_with": 1 / 2**per_copy, "normalize": True}}
        self.layer_ = QuantumLayer(n_qubits=self.n_qubits_, encoder=encoder, ansatz="strongly_entangling", layers=self.n_layers,
                                   observables=["Z0"], backend=self.backend, seed=0).double()
        weights = rng.uniform(0, 2 * np.pi, size=(self.n_layers, self.n_qubits_, 3))
        self.layer_.weights.data = torch.from_numpy(weights.reshape(self.n_layers, -1))
        self.params_ = {"weights": self.layer_.weights, "b": parameter(np.array(0.01))}

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer_(X)[:, 0] + self.params_["b"]

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (0.5 * (self._outputs(X) - y) ** 2).mean()  # optax.l2_loss

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        f = outputs.numpy()
        return np.c_[(1 - f) / 2, (1 + f) / 2]
