"""Quantum metric learning (Lloyd et al. 2020, arXiv:2001.03622), as Bowles, Ahmed & Schuld 2024 benchmark it.

Features min-max scaled to [-pi/2, pi/2] are embedded by a trainable QAOA embedding (PennyLane's
``QAOAEmbedding``, one more qubit than features); the fidelity of two embedded inputs is the
all-zeros probability of embedding one and un-embedding the other. Training draws the same rows
from the class -1 and class +1 sets and lowers ``1 - d_HS`` with ``d_HS = -ab + (aa + bb) / 2``;
as in the paper's code, ``aa`` and ``bb`` compare each row with itself, so they are 1 and the loss
is the mean cross-class fidelity. Prediction compares an input with ``n_examples_predict`` random
training rows of each class and normalises the two mean fidelities.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from hqnn_core.circuit import Circuit, CircuitBuilder, SlotRef
from hqnn_core.components import ComponentSpec, get_backend
from hqnn_core.errors import HQNNWarning
from hqnn_core.layer import QuantumLayer
from hqnn_core.models.base import CLASSES, check_labels, circuit_layer
from hqnn_core.models.training import train


def qaoa_weights_per_layer(n_qubits: int) -> int:
    return {1: 1, 2: 3}.get(n_qubits, 2 * n_qubits)


def _qaoa_ops(builder: CircuitBuilder, n_features: int, n_layers: int, x: list[SlotRef], w: Any, sign: float) -> list[tuple]:
    """QAOAEmbedding's gates as (name, wires, angle) in order; ``sign`` -1 negates every angle (for the adjoint)."""
    n = builder.n_qubits
    ops: list[tuple] = []

    def features() -> None:
        ops.extend(("RX", [i], sign * x[i]) for i in range(n_features))
        ops.extend(("H", [i], None) for i in range(n_features, n))

    for layer in range(n_layers):
        features()
        if n == 1:
            ops.append(("RY", [0], sign * w[layer, 0]))
        elif n == 2:
            ops += [("RZZ", [0, 1], sign * w[layer, 0]), ("RY", [0], sign * w[layer, 1]), ("RY", [1], sign * w[layer, 2])]
        else:
            ops.extend(("RZZ", [i, (i + 1) % n], sign * w[layer, i]) for i in range(n))
            ops.extend(("RY", [i], sign * w[layer, n + i]) for i in range(n))
    features()
    return ops


def embedding_circuit(n_features: int, n_layers: int) -> Circuit:
    """QAOAEmbedding(x) on ``n_features + 1`` qubits with weights ``w[layer, j]`` (for backends that return states)."""
    builder = CircuitBuilder(n_features + 1)
    x = builder.inputs(n_features)
    w = builder.weights(n_layers, qaoa_weights_per_layer(n_features + 1))
    for name, wires, angle in _qaoa_ops(builder, n_features, n_layers, [x[i] for i in range(n_features)], w, 1.0):
        builder.add(name, wires, *(() if angle is None else (angle,)))
    return builder.build()


def overlap_circuit(n_features: int, n_layers: int) -> Circuit:
    """QAOAEmbedding(x[:d]) then its adjoint at x[d:]; the all-zeros probability is the fidelity (any backend)."""
    n = n_features + 1
    builder = CircuitBuilder(n)
    x = builder.inputs(2 * n_features)
    w = builder.weights(n_layers, qaoa_weights_per_layer(n))
    embed = _qaoa_ops(builder, n_features, n_layers, [x[i] for i in range(n_features)], w, 1.0)
    unembed = _qaoa_ops(builder, n_features, n_layers, [x[n_features + i] for i in range(n_features)], w, -1.0)
    for name, wires, angle in [*embed, *reversed(unembed)]:
        builder.add(name, wires, *(() if angle is None else (angle,)))
    return builder.build()


class QuantumMetricLearner(ClassifierMixin, BaseEstimator):
    """A trained QAOA embedding that separates the classes by fidelity (qml-benchmarks' defaults).

    Args:
        n_layers: layers of the QAOA embedding.
        n_examples_predict: training rows of each class an input is compared with.
        convergence_interval, max_steps, learning_rate, batch_size: the shared training loop.
        max_vmap: accepted for the paper's grids; a batch is one backend call.
        random_state: seeds the initial weights, the batches and the prediction examples.
        scaling: factor applied to the scaled features.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, n_layers: int = 3, n_examples_predict: int = 32, convergence_interval: int = 200, max_steps: int = 50000,
                 learning_rate: float = 0.01, batch_size: int = 32, max_vmap: int | None = 4, random_state: int = 42,
                 scaling: float = 1.0, backend: ComponentSpec = "torch") -> None:
        self.n_layers = n_layers
        self.n_examples_predict = n_examples_predict
        self.convergence_interval = convergence_interval
        self.max_steps = max_steps
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.random_state = random_state
        self.scaling = scaling
        self.backend = backend

    def _transform(self, X: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(self.scaler_.transform(X) * self.scaling)

    def fidelities(self, X1: torch.Tensor, X2: torch.Tensor) -> torch.Tensor:
        """``|<phi(x2)|phi(x1)>|^2`` for each pair of rows: by state overlap where the backend returns states, else by
        compute-uncompute (the all-zeros probability)."""
        if self.layer_.circuit.measurement.kind == "state":
            return (self.layer_(X2).conj() * self.layer_(X1)).sum(dim=1).abs() ** 2
        return self.layer_(torch.cat([X1, X2], dim=1))[:, 0]

    def _layer(self, n_features: int) -> QuantumLayer:
        by_state = get_backend(self.backend).capabilities.state
        circuit = embedding_circuit(n_features, self.n_layers) if by_state else overlap_circuit(n_features, self.n_layers)
        return circuit_layer(circuit, self.backend, measure="state" if by_state else "probs",
                             weight_shapes=(self.n_layers, qaoa_weights_per_layer(n_features + 1)))

    def fit(self, X: Any, y: Any) -> QuantumMetricLearner:
        """Train the embedding on batches of the same rows of each class; keep the training rows for prediction."""
        X, y = validate_data(self, X, y)
        y = check_labels(y, type(self).__name__)
        self.classes_ = CLASSES
        self.rng_ = np.random.default_rng(self.random_state)
        self.layer_ = self._layer(X.shape[1])
        self.layer_.weights.data = torch.from_numpy(0.1 * self.rng_.normal(size=tuple(self.layer_.weights.shape)))
        self.scaler_ = MinMaxScaler(feature_range=(-np.pi / 2, np.pi / 2)).fit(X)
        features = self._transform(X)
        a, b = features[y == -1], features[y == 1]
        batch_size = min(self.batch_size, len(a), len(b))
        if batch_size < self.batch_size:
            warnings.warn(f"batch_size {self.batch_size} exceeds the smaller class ({batch_size} rows); using {batch_size}.",
                          HQNNWarning, stacklevel=2)

        def loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            same = 1.0  # aa and bb: each row against itself
            d_hs = -self.fidelities(a, b).mean() + 0.5 * (same + same)
            return 1 - d_hs

        result = train(loss, [self.layer_.weights], (a, b), learning_rate=self.learning_rate, batch_size=batch_size,
                       max_steps=self.max_steps, convergence_interval=self.convergence_interval, rng=self.rng_,
                       name=type(self).__name__)
        self.loss_history_, self.n_steps_, self.converged_ = np.asarray(result.loss_history), result.steps, result.converged
        self.examples_ = {-1: a, 1: b}
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean fidelities to random class -1 and class +1 training rows, normalised to sum to one."""
        check_is_fitted(self)
        features = self._transform(validate_data(self, X, reset=False))
        k = min(self.n_examples_predict, *(len(e) for e in self.examples_.values()))
        examples = [e[self.rng_.choice(len(e), size=k, replace=False)] for e in (self.examples_[-1], self.examples_[1])]
        with torch.no_grad():
            means = [self.fidelities(e.repeat(len(features), 1), features.repeat_interleave(k, dim=0)).reshape(-1, k).mean(dim=1)
                     for e in examples]  # a state backend simulates each row k times here; prediction is not the hot path
        pa, pb = (m.numpy() for m in means)
        return np.c_[pa / (pa + pb), pb / (pa + pb)]

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class, -1 or +1, per row."""
        return np.take(self.classes_, np.argmax(self.predict_proba(X), axis=1))
