"""Quanvolutional network (Henderson et al. 2019, arXiv:1904.04767), as Bowles, Ahmed & Schuld 2024 benchmark it.

Pixels are min-max scaled to [-pi/2, pi/2], times ``scaling``, and binarised (1 above ``threshold``).
Every ``qkernel_shape`` x ``qkernel_shape`` window (stride 1) is loaded as RY(pi * bit) on one qubit
per pixel, a fixed random circuit (PennyLane's ``RandomLayers``: ``rand_depth`` layers of
``rand_rot`` random RX/RY/RZ with angles uniform in [0, 2 pi) and CNOTs on random pairs, its
structure drawn from seed 42) follows, and the window's value is the number of ones of the most
probable outcome; ``n_qchannels`` such circuits give the channels. The feature maps go into the
classical :class:`ConvNet` of :mod:`~hqnn_core.models.convolutional_neural_network` (here with
"same" pooling), trained on the sigmoid cross-entropy. As in the paper's code, a feature map is laid
out with the window's column as its first index.

Windows hold bits, so each circuit is evaluated once on every bit pattern (2^(qkernel_shape^2)
rows, on ``backend``) and the feature map is a table lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.preprocessing import MinMaxScaler

from hqnn_core.circuit import Circuit, CircuitBuilder
from hqnn_core.components import ComponentSpec
from hqnn_core.models.base import circuit_layer
from hqnn_core.models.convolutional_neural_network import ConvolutionalNeuralNetwork, square_side

ROTATIONS = ("RX", "RY", "RZ")
#: PennyLane's RandomLayers defaults, which the paper's code keeps
RATIO_IMPRIM = 0.3
STRUCTURE_SEED = 42


def random_layers(weights: np.ndarray, n_wires: int, seed: int = STRUCTURE_SEED,
                  ratio_imprim: float = RATIO_IMPRIM) -> list[tuple[str, tuple[int, ...], float | None]]:
    """The gates of PennyLane's ``RandomLayers(weights, wires=range(n_wires), seed=seed)``: (name, wires, angle)."""
    rng = np.random.default_rng(seed)
    gates: list[tuple[str, tuple[int, ...], float | None]] = []
    for layer in weights:
        i = 0
        while i < len(layer):
            if rng.random() > ratio_imprim:
                name = ROTATIONS[int(rng.choice(len(ROTATIONS)))]
                wire = int(rng.choice(n_wires, size=1, replace=False)[0])
                gates.append((name, (wire,), float(layer[i])))
                i += 1
            elif n_wires > 1:
                gates.append(("CNOT", tuple(int(w) for w in rng.choice(n_wires, size=2, replace=False)), None))
    return gates


def quanv_circuit(weights: np.ndarray, n_wires: int) -> Circuit:
    """RY(pi * x_i) on wire i (inputs: the window's bits), then :func:`random_layers`; all outcome probabilities."""
    builder = CircuitBuilder(n_wires)
    for q in range(n_wires):
        builder.add("RY", [q], builder.input(q, coeff=np.pi))
    for name, wires, angle in random_layers(weights, n_wires):
        builder.add(name, wires, *(() if angle is None else (builder.const(angle),)))
    return builder.build()


def bit_patterns(n: int) -> np.ndarray:
    """Every n-bit pattern ``[2**n, n]``, row r holding r's bits with the first column the most significant."""
    return (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1


class QuanvolutionalNeuralNetwork(ConvolutionalNeuralNetwork):
    """Fixed random quantum filters on binarised images, then the paper's CNN (qml-benchmarks' defaults).

    Args:
        qkernel_shape: side of the quantum filter's window (``qkernel_shape ** 2`` qubits).
        n_qchannels: quantum filters (channels of the feature map).
        rand_depth, rand_rot: layers and rotations per layer of each random circuit.
        threshold: a scaled pixel above it is a 1.
        kernel_shape, output_channels: the CNN's kernels and channels.
        max_vmap: accepted for the paper's grids; every filter is one backend call.
        learning_rate, max_steps, convergence_interval, batch_size: the shared training loop.
        random_state: seeds the filters' angles, the CNN's weights and the batches.
        scaling: factor applied to the scaled pixels before binarising.
        backend: where the filter circuits run (any hqnn backend that gives probabilities; ``torch`` by default).
    """

    def __init__(self, qkernel_shape: int = 2, n_qchannels: int = 1, rand_depth: int = 10, rand_rot: int = 20,
                 threshold: float = 0.0, kernel_shape: int = 3, output_channels: Sequence[int] = (32, 64),
                 max_vmap: int | None = None, learning_rate: float = 0.001, max_steps: int = 10000,
                 convergence_interval: int = 200, batch_size: int = 32, random_state: int = 42, scaling: float = 1.0,
                 backend: ComponentSpec = "torch") -> None:
        super().__init__(kernel_shape=kernel_shape, output_channels=output_channels, learning_rate=learning_rate,
                         convergence_interval=convergence_interval, max_steps=max_steps, batch_size=batch_size,
                         max_vmap=max_vmap, random_state=random_state, scaling=scaling)
        self.qkernel_shape = qkernel_shape
        self.n_qchannels = n_qchannels
        self.rand_depth = rand_depth
        self.rand_rot = rand_rot
        self.threshold = threshold
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            self.side_ = square_side(X.shape[1], type(self).__name__)
            self.scaler_ = MinMaxScaler(feature_range=(-np.pi / 2, np.pi / 2)).fit(X)
        return (self.scaler_.transform(X) * self.scaling > self.threshold).astype(float)

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        n_wires = self.qkernel_shape**2
        patterns = torch.from_numpy(bit_patterns(n_wires).astype(float))
        tables = []
        for _ in range(self.n_qchannels):
            weights = 2 * np.pi * rng.uniform(size=(self.rand_depth, self.rand_rot))
            layer = circuit_layer(quanv_circuit(weights, n_wires), self.backend, measure="probs")
            with torch.no_grad():
                most_probable = torch.argmax(layer(patterns), dim=1)
            tables.append(patterns[most_probable].sum(dim=1))  # ones in the most probable outcome, per input pattern
        self.filter_tables_ = torch.stack(tables)  # [channel, pattern]
        self.out_side_ = self.side_ - self.qkernel_shape + 1
        self._network(self.n_qchannels, self.out_side_, rng, same_pooling=True)

    def window_codes(self, bits: torch.Tensor) -> torch.Tensor:
        """``[N, out_side, out_side]`` pattern numbers of the windows, indexed [column, row] of the window's corner."""
        images = bits.reshape(len(bits), self.side_, self.side_).long()
        q, out = self.qkernel_shape, self.out_side_
        codes = torch.zeros(len(bits), out, out, dtype=torch.long)
        for i in range(q):
            for j in range(q):  # pixel (i, j) of the window is wire i * q + j, the first wire the most significant bit
                pixel = images[:, i : i + out, j : j + out].transpose(1, 2)
                codes = codes * 2 + pixel
        return codes

    def feature_maps(self, bits: torch.Tensor) -> torch.Tensor:
        """``[N, n_qchannels, out_side, out_side]``: the quanvolutional layer on binarised images."""
        return self.filter_tables_[:, self.window_codes(bits)].transpose(0, 1)

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        return self.network_(self.feature_maps(X))
