"""Data re-uploading classifier (Pérez-Salinas et al. 2020, arXiv:1907.02085), as Bowles, Ahmed & Schuld 2024 benchmark it.

Features are min-max scaled to [-pi/2, pi/2] and padded with zeros to a multiple of three; qubit
i loads features 3i..3i+2 as ``Rot(omega * x)`` followed by a trainable ``Rot(theta)``, with CZs
on pairs (0,1), (2,3)... after even layers and (1,2), (3,4)... after odd ones. The last of the
``n_layers + 1`` uploads is one fused ``Rot(omega * x + theta)`` with no CZs. Each qubit's <Z>
gives fidelities (1 -/+ <Z>) / 2 that the loss (eq. 23 of the paper, with trainable class weights
alpha) fits to the labels on the first ``single`` / ``half`` / ``full`` qubits.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn.preprocessing import MinMaxScaler

from hqnn_core.circuit import Circuit, CircuitBuilder
from hqnn_core.components import ComponentSpec
from hqnn_core.errors import ConfigError
from hqnn_core.models.base import QuantumClassifier, circuit_layer, parameter

OBSERVABLE_TYPES = ("single", "half", "full")


def reuploading_circuit(n_qubits: int, n_layers: int) -> Circuit:
    """The circuit on angle inputs: ``x[l, q, k, 0]`` = omega * x and ``x[l, q, k, 1]`` = theta for l < n_layers,
    ``x[n_layers, q, k, 0]`` the fused last angles (``x[n_layers, q, k, 1]`` is not read)."""
    builder = CircuitBuilder(n_qubits)
    a = builder.inputs(n_layers + 1, n_qubits, 3, 2)
    for layer in range(n_layers):
        for q in range(n_qubits):
            builder.add("Rot", [q], *(a[layer, q, k, 0] for k in range(3)))
            builder.add("Rot", [q], *(a[layer, q, k, 1] for k in range(3)))
        for i in range(layer % 2, n_qubits - 1, 2):
            builder.add("CZ", [i, i + 1])
    for q in range(n_qubits):
        builder.add("Rot", [q], *(a[n_layers, q, k, 0] for k in range(3)))
    return builder.build()


def observable_weight(observable_type: str, n_qubits: int) -> int:
    """How many qubits the loss and the prediction read."""
    if observable_type not in OBSERVABLE_TYPES:
        raise ConfigError(f"observable_type={observable_type!r}; choose one of {', '.join(OBSERVABLE_TYPES)}.")
    return {"single": 1, "half": max(1, n_qubits // 2), "full": n_qubits}[observable_type]


class DataReuploadingClassifier(QuantumClassifier):
    """Multi-qubit data re-uploading classifier with trainable input scaling (qml-benchmarks' defaults).

    Args:
        n_layers: trainable blocks; the data is uploaded ``n_layers + 1`` times.
        observable_type: ``single``, ``half`` or ``full``: the qubits the loss and prediction use.
        convergence_interval, max_steps, learning_rate, batch_size: the shared training loop.
        max_vmap: accepted for the paper's grids; a batch is one backend call, which gives the paper's chunked mean exactly.
        scaling: factor applied to the scaled features.
        random_state: seeds the initial parameters and the batches.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, n_layers: int = 4, observable_type: str = "single", convergence_interval: int = 200,
                 max_steps: int = 10000, learning_rate: float = 0.05, batch_size: int = 32, max_vmap: int | None = None,
                 scaling: float = 1.0, random_state: int = 42, backend: ComponentSpec = "torch") -> None:
        self.n_layers = n_layers
        self.observable_type = observable_type
        self.convergence_interval = convergence_interval
        self.max_steps = max_steps
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            self.scaler_ = MinMaxScaler(feature_range=(-np.pi / 2, np.pi / 2)).fit(X)
        X = self.scaler_.transform(X) * self.scaling
        return np.pad(X, ((0, 0), (0, (3 - X.shape[1]) % 3)))

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        self.n_qubits_ = math.ceil(n_features / 3)
        self.observable_weight_ = observable_weight(self.observable_type, self.n_qubits_)
        self.layer_ = circuit_layer(reuploading_circuit(self.n_qubits_, self.n_layers), self.backend)
        # uniform [0, 1) thetas and omegas and unit class weights, as Pérez-Salinas et al.'s code initialises them
        self.params_ = {
            "thetas": parameter(rng.uniform(size=(self.n_qubits_, self.n_layers + 1, 3))),
            "omegas": parameter(rng.uniform(size=(self.n_layers + 1, 3 * self.n_qubits_))),
            "alphas": parameter(np.ones((2, self.observable_weight_))),
        }

    def angles(self, X: torch.Tensor) -> torch.Tensor:
        """The circuit's inputs ``[N, (n_layers + 1) * n_qubits * 6]`` for padded features ``X``."""
        p, n, layers = self.params_, self.n_qubits_, self.n_layers
        scaled = (X.unsqueeze(1) * p["omegas"]).reshape(len(X), layers + 1, n, 3)  # omega * x
        thetas = p["thetas"].permute(1, 0, 2).unsqueeze(0).expand_as(scaled)  # [N, layer, qubit, 3]
        fused_last = scaled[:, layers] + thetas[:, layers]
        first = torch.stack([scaled[:, :layers], thetas[:, :layers]], dim=-1)
        last = torch.stack([fused_last, torch.zeros_like(fused_last)], dim=-1).unsqueeze(1)
        return torch.cat([first, last], dim=1).reshape(len(X), -1)[:, : self.layer_.n_features]

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        return self.layer_(self.angles(X))[:, : self.observable_weight_]

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        expvals = self._outputs(X)
        alphas = self.params_["alphas"]
        to_one, to_zero = (1 + expvals) / 2, (1 - expvals) / 2  # named as the paper's code: probs1, probs0
        target1, target0 = ((1 + y) / 2).unsqueeze(1), ((1 - y) / 2).unsqueeze(1)
        return 0.5 * ((alphas[0] * to_zero - target0) ** 2 + (alphas[1] * to_one - target1) ** 2).sum() / len(y)

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        mean = outputs.mean(dim=1).numpy()
        return np.c_[(1 - mean) / 2, (1 + mean) / 2]
