"""Dressed quantum circuit classifier (Mari et al. 2020, arXiv:1912.08278), as Bowles, Ahmed & Schuld 2024 benchmark it.

Standardised features pass a square linear layer with ``tanh * pi/2``, enter the circuit as H then
RY(x_i) on qubit i, go through ``n_layers`` of RY(w) on every qubit and a CNOT ring, and every
qubit's <Z> feeds a linear layer to two logits (softmax cross-entropy). One qubit per feature.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from hqnn_core.components import ComponentSpec
from hqnn_core.layer import QuantumLayer
from hqnn_core.models.base import QuantumClassifier, parameter


class DressedQuantumCircuitClassifier(QuantumClassifier):
    """Linear + tanh, the quantum circuit, linear to two logits (qml-benchmarks' defaults).

    Args:
        n_layers: RY + CNOT-ring layers of the circuit.
        learning_rate, batch_size, max_steps, convergence_interval: the shared training loop.
        max_vmap: accepted for the paper's grids; a batch is one backend call, which gives the paper's chunked mean exactly.
        scaling: factor applied to the standardised features.
        random_state: seeds the initial parameters and the batches.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, n_layers: int = 3, learning_rate: float = 0.001, batch_size: int = 32, max_vmap: int | None = None,
                 max_steps: int = 100000, convergence_interval: int = 200, scaling: float = 1.0, random_state: int = 42,
                 backend: ComponentSpec = "torch") -> None:
        self.n_layers = n_layers
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            self.scaler_ = StandardScaler().fit(X)
        return self.scaler_.transform(X) * self.scaling

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        n = self.n_qubits_ = n_features
        self.layer_ = QuantumLayer(n_qubits=n, encoder={"name": "angle", "options": {"hadamard": True}},
                                   ansatz={"name": "basic_entangler", "options": {"rotation": "RY"}}, layers=self.n_layers,
                                   backend=self.backend, seed=0).double()
        self.layer_.weights.data = torch.from_numpy(2 * np.pi * rng.uniform(size=(self.n_layers, n)))
        self.params_ = {
            "circuit_weights": self.layer_.weights,
            "input_weights": parameter(rng.normal(size=(n, n)) / n),
            "output_weights": parameter(rng.normal(size=(2, n)) / n),
        }

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        """Two logits per row."""
        angles = torch.tanh(X @ self.params_["input_weights"].T) * np.pi / 2
        return self.layer_(angles) @ self.params_["output_weights"].T

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(self._outputs(X), (y > 0).long())

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        return torch.softmax(outputs, dim=1).numpy()
