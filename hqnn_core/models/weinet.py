"""WeiNet, the quantum convolutional network of Wei et al. 2021 (arXiv:2104.06918, Fig. 2), as Bowles, Ahmed & Schuld 2024 benchmark it.

An image (``scaling`` times the pixels, zero-padded to 2^k x 2^k) is amplitude-encoded on 2k qubits,
the first k holding the row index and the last k the column index. Nine filter circuits Q_i act on
it and are mixed with the probabilities ``softmax(s)`` (the ancilla register of the paper is traced
out, so it only mixes them). Qubits k - 1 and 2k - 1 are dropped (the pooling), and a linear model
``weights`` on <Z_i>, <Z_i Z_j> of the others and the identity gives the logit of class +1, trained
on the sigmoid cross-entropy.

Each Q_i of the paper's code is a cyclic shift of the row and column indices (it divides every
filter entry out of its matrix), and every one of the nine circuits reads the loop variables of the
loop that built them after it has ended, so all nine apply the shift ``x[r, c] -> x[r + 1, c + 1]``
whatever ``filter_name`` says. That is the model the paper's numbers come from, and the model here.
A basis-state permutation of amplitude-encoded data is the encoding of the permuted pixels, so the
shift is applied to the pixels and the circuit is the amplitude encoding, measured.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable, PauliTerm
from hqnn_core.components import ComponentSpec, get_encoder
from hqnn_core.errors import ConfigError
from hqnn_core.interfaces import Encoder
from hqnn_core.models.base import QuantumClassifier, circuit_layer, parameter
from hqnn_core.models.convolutional_neural_network import square_side

FILTERS = ("edge_detect", "smooth", "sharpen")
#: the (row, column) shift each of the nine filter circuits applies in the paper's code (see the module docstring)
PAPER_SHIFTS = ((1, 1),) * 9


def weinet_observables(n_qubits: int) -> list[Observable]:
    """<Z_i> and <Z_i Z_j> (i < j) over the qubits the pooling keeps, in the paper's order; the identity is added by the model."""
    kept = [q for q in range(n_qubits - 1) if q != n_qubits // 2 - 1]
    observables = []
    for a, i in enumerate(kept):
        observables.append(Observable.z(i))
        observables += [Observable((PauliTerm(1.0, ((i, "Z"), (j, "Z"))),)) for j in kept[a + 1 :]]
    return observables


def weinet_circuit(encoder: Encoder, n_qubits: int) -> Circuit:
    """The amplitude encoding (inputs: the encoder's rotation angles) measured on :func:`weinet_observables`."""
    builder = CircuitBuilder(n_qubits)
    encoder.add_ops(builder, list(range(n_qubits)))
    return builder.build(weinet_observables(n_qubits))


class WeiNet(QuantumClassifier):
    """Quantum convolutional network on amplitude-encoded images (qml-benchmarks' defaults).

    Args:
        filter_name: ``edge_detect``, ``smooth`` or ``sharpen``; accepted and checked as in the paper, and without
            effect there (each filter matrix is divided by its own entries), so without effect here.
        learning_rate, max_steps, convergence_interval, batch_size: the shared training loop.
        random_state: seeds the initial parameters and the batches.
        max_vmap: accepted for the paper's grids; a batch is one backend call.
        scaling: factor applied to the pixels (the amplitude encoding normalises them).
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, filter_name: str = "edge_detect", learning_rate: float = 0.1, max_steps: int = 10000,
                 convergence_interval: int = 200, random_state: int = 42, max_vmap: int | None = None, scaling: float = 1.0,
                 batch_size: int = 32, backend: ComponentSpec = "torch") -> None:
        self.filter_name = filter_name
        self.learning_rate = learning_rate
        self.max_steps = max_steps
        self.convergence_interval = convergence_interval
        self.random_state = random_state
        self.max_vmap = max_vmap
        self.scaling = scaling
        self.batch_size = batch_size
        self.backend = backend

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            if self.filter_name not in FILTERS:
                raise ConfigError(f"filter_name={self.filter_name!r}; choose one of {', '.join(FILTERS)}.")
            side = square_side(X.shape[1], type(self).__name__)
            self.n_qubits_ = 2 * math.ceil(math.log2(side))
            self.side_ = 2 ** (self.n_qubits_ // 2)
        images = X.reshape(len(X), int(math.isqrt(X.shape[1])), -1) * self.scaling
        padded = np.zeros((len(X), self.side_, self.side_))
        padded[:, : images.shape[1], : images.shape[2]] = images
        shifted = [np.roll(padded, (-rows, -cols), axis=(1, 2)) for rows, cols in PAPER_SHIFTS]
        return np.stack(shifted, axis=1).reshape(len(X), -1)  # [N, 9 * side^2]: the pixels each Q_i encodes

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        self.encoder_ = get_encoder({"name": "amplitude", "options": {"n_features": self.side_**2}})
        self.layer_ = circuit_layer(weinet_circuit(self.encoder_, self.n_qubits_), self.backend)
        n_expvals = self.layer_.circuit.n_outputs + 1  # and the identity
        self.params_ = {"s": parameter(rng.normal(size=len(PAPER_SHIFTS))),
                        "weights": parameter(rng.normal(size=n_expvals) / n_expvals)}

    def expectations(self, X: torch.Tensor) -> torch.Tensor:
        """``[N, 9, n_expvals]``: the correlators (and 1) of each filter circuit."""
        images = X.reshape(-1, self.side_**2)
        expvals = self.layer_(self.encoder_.transform(images, self.n_qubits_))
        expvals = torch.cat([expvals, torch.ones_like(expvals[:, :1])], dim=1)
        return expvals.reshape(len(X), len(PAPER_SHIFTS), -1)

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        mixed = torch.einsum("i,nie->ne", torch.softmax(self.params_["s"], dim=0), self.expectations(X))
        return mixed @ self.params_["weights"]

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(self._outputs(X), torch.relu(y))

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        p1 = torch.sigmoid(outputs).numpy()
        return np.c_[1 - p1, p1]

