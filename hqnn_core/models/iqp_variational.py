"""IQP variational classifier (after Havlíček et al. 2019, arXiv:1804.11326), as Bowles, Ahmed & Schuld 2024 benchmark it.

Features min-max scaled to [-pi/2, pi/2] enter an IQP embedding (H, RZ(x_i), RZZ(x_i x_j) on every
pair, ``repeats`` times; PennyLane's ``IQPEmbedding``), then ``n_layers`` strongly entangling layers
with CZ entanglers; the model is <Z0 Z1>, trained on the probability of a wrong label, (1 - y f) / 2.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.preprocessing import MinMaxScaler

from hqnn_core.components import ComponentSpec
from hqnn_core.errors import InputError
from hqnn_core.layer import QuantumLayer
from hqnn_core.models.base import QuantumClassifier


class IQPVariationalClassifier(QuantumClassifier):
    """IQP embedding, strongly entangling layers (CZ), <Z0 Z1> (qml-benchmarks' defaults). Needs two or more features.

    Args:
        repeats: repetitions of the IQP embedding.
        n_layers: strongly entangling layers.
        learning_rate, batch_size, max_steps, convergence_interval: the shared training loop.
        max_vmap: accepted for the paper's grids; a batch is one backend call, which gives the paper's chunked mean exactly.
        random_state: seeds the initial parameters and the batches.
        scaling: factor applied to the scaled features.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, repeats: int = 1, n_layers: int = 10, learning_rate: float = 0.001, batch_size: int = 32,
                 max_vmap: int | None = None, max_steps: int = 10000, convergence_interval: int = 200, random_state: int = 42,
                 scaling: float = 1.0, backend: ComponentSpec = "torch") -> None:
        self.repeats = repeats
        self.n_layers = n_layers
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.random_state = random_state
        self.scaling = scaling
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            if X.shape[1] < 2:
                raise InputError(f"IQPVariationalClassifier measures Z0 Z1, so it needs at least 2 features, got {X.shape[1]}.")
            self.scaler_ = MinMaxScaler(feature_range=(-np.pi / 2, np.pi / 2)).fit(X)
        return self.scaler_.transform(X) * self.scaling

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        self.n_qubits_ = n_features
        self.layer_ = QuantumLayer(n_qubits=n_features, encoder={"name": "iqp", "options": {"repeats": self.repeats}},
                                   ansatz={"name": "strongly_entangling", "options": {"entangler": "CZ"}}, layers=self.n_layers,
                                   observables=["Z0 Z1"], backend=self.backend, seed=0).double()
        weights = 2 * np.pi * rng.uniform(size=(self.n_layers, n_features, 3))
        self.layer_.weights.data = torch.from_numpy(weights.reshape(self.n_layers, -1))
        self.params_ = {"weights": self.layer_.weights}

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer_(X)[:, 0]

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return ((1 - self._outputs(X) * y) / 2).mean()

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        f = outputs.numpy()
        return np.c_[(1 - f) / 2, (1 + f) / 2]
