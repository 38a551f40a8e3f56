"""Variational quantum Boltzmann machine (Zoufal et al. 2021, arXiv:2006.06004), as Bowles, Ahmed & Schuld 2024 benchmark it.

Standardised features x (times ``scaling``) set a Hamiltonian on one qubit per feature,
``H = sum_i (theta_2i . x) Z_i + (theta_2i+1 . x) X_i + (theta_2n . x) sum_{i<j} Z_i Z_j``, and the
model is ``f = Tr[O rho]`` of the exact Gibbs state ``rho = exp(-H / temperature) / Z`` for the
mean (``sum``) or product of Z on the visible qubits; ``(1 + f) / 2`` is the probability of class
+1, trained on the binary cross-entropy. As in the paper's code (and its numerics), the Gibbs state
is computed exactly, here as a dense matrix exponential in torch, so there is no circuit to run on a
backend. The paper's code does not advance its parameter counter over the ZZ terms, so every pair
shares the row ``theta_2n``; that is kept. The separable variant has one Gibbs state per visible
qubit, ``H_i = (theta_2i . x) Z + (theta_2i+1 . x) X``.
"""

from __future__ import annotations

import itertools
from functools import reduce

import numpy as np
import torch
from sklearn.preprocessing import StandardScaler

from hqnn_core.errors import ConfigError
from hqnn_core.models.base import QuantumClassifier, parameter

PAULI_Z = torch.tensor([[1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
PAULI_X = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
VISIBLE = ("single", "half", "all")
OBSERVABLES = ("sum", "product")


def on_qubits(ops: dict[int, torch.Tensor], n_qubits: int) -> torch.Tensor:
    """The tensor product with ``ops[q]`` on qubit q and the identity elsewhere (qubit 0 the most significant)."""
    return reduce(torch.kron, [ops.get(q, torch.eye(2, dtype=torch.float64)) for q in range(n_qubits)])


def gibbs_expectation(hamiltonians: torch.Tensor, observable: torch.Tensor, temperature: float) -> torch.Tensor:
    """``Tr[O exp(-H / T)] / Tr[exp(-H / T)]`` for a batch of Hamiltonians ``[..., d, d]``."""
    state = torch.linalg.matrix_exp(-hamiltonians / temperature)
    trace = torch.diagonal(state, dim1=-2, dim2=-1).sum(-1)
    return torch.einsum("...ij,ji->...", state, observable) / trace


class QuantumBoltzmannMachine(QuantumClassifier):
    """Exact Gibbs states of a data-dependent Hamiltonian, read out on visible qubits (qml-benchmarks' defaults).

    Args:
        visible_qubits: ``single``, ``half`` or ``all``: the qubits the observable reads.
        observable_type: ``sum`` (the mean of their Z) or ``product`` (the product of their Z).
        temperature: of the Gibbs state, in units of k_B T.
        learning_rate, batch_size, max_steps: the shared training loop (which stops as the paper's
            ``train`` does by default, over 200-step windows; ``convergence_threshold`` is accepted and unused there too).
        max_vmap: accepted for the paper's grids; a batch is one call.
        random_state: seeds the initial parameters and the batches.
        scaling: factor applied to the standardised features.
    """

    #: the paper's model does not pass a convergence interval, so its train() uses the default
    convergence_interval = 200

    def __init__(self, visible_qubits: str = "single", observable_type: str = "sum", temperature: float = 1,
                 learning_rate: float = 0.001, batch_size: int = 32, max_vmap: int | None = None, max_steps: int = 10000,
                 convergence_threshold: float = 1e-6, random_state: int = 42, scaling: float = 1.0) -> None:
        self.visible_qubits = visible_qubits
        self.observable_type = observable_type
        self.temperature = temperature
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_vmap = max_vmap
        self.max_steps = max_steps
        self.convergence_threshold = convergence_threshold
        self.random_state = random_state
        self.scaling = scaling

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        if fit:
            self.scaler_ = StandardScaler().fit(X)
        return self.scaler_.transform(X) * self.scaling

    def _setup(self, n_features: int) -> None:
        if self.visible_qubits not in VISIBLE:
            raise ConfigError(f"visible_qubits={self.visible_qubits!r}; choose one of {', '.join(VISIBLE)}.")
        if self.observable_type not in OBSERVABLES:
            raise ConfigError(f"observable_type={self.observable_type!r}; choose one of {', '.join(OBSERVABLES)}.")
        self.n_qubits_ = n_features
        self.n_visible_ = {"single": 1, "half": n_features // 2, "all": n_features}[self.visible_qubits]

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        self._setup(n_features)
        n = n_features
        pairs = list(itertools.combinations(range(n), 2))
        self.terms_ = torch.stack(
            [on_qubits({q: pauli}, n) for q in range(n) for pauli in (PAULI_Z, PAULI_X)]
            + [sum((on_qubits({i: PAULI_Z, j: PAULI_Z}, n) for i, j in pairs), torch.zeros(2**n, 2**n, dtype=torch.float64))]
        )  # [2n + 1, 2^n, 2^n]: Z_0, X_0, Z_1, X_1, ..., then every Z_i Z_j (one shared coefficient)
        visible = range(self.n_visible_)
        if self.observable_type == "sum":
            self.observable_ = sum((on_qubits({q: PAULI_Z}, n) for q in visible), torch.zeros(2**n, 2**n, dtype=torch.float64))
            self.observable_ = self.observable_ / self.n_visible_
        else:
            self.observable_ = on_qubits(dict.fromkeys(visible, PAULI_Z), n)
        self.params_ = {"thetas": parameter(rng.normal(size=(2 * n + len(pairs), n)))}

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        coefficients = X @ self.params_["thetas"][: len(self.terms_)].T  # [N, 2n + 1]
        hamiltonians = torch.einsum("nt,tij->nij", coefficients, self.terms_)
        return gibbs_expectation(hamiltonians, self.observable_, self.temperature)

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        probs = (1 + self._outputs(X)) / 2
        target = torch.relu(y)
        return (-target * torch.log(probs) - (1 - target) * torch.log(1 - probs)).mean()

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        f = outputs.numpy()
        return np.c_[(1 - f) / 2, (1 + f) / 2]


class QuantumBoltzmannMachineSeparable(QuantumBoltzmannMachine):
    """One single-qubit Gibbs state per visible qubit, ``H_i = (theta_2i . x) Z + (theta_2i+1 . x) X``; their <Z>s' mean or product."""

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        self._setup(n_features)
        self.params_ = {"thetas": parameter(rng.normal(size=(2 * n_features, n_features)))}

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        coefficients = (X @ self.params_["thetas"][: 2 * self.n_visible_].T).reshape(len(X), self.n_visible_, 2)
        hamiltonians = coefficients[..., 0, None, None] * PAULI_Z + coefficients[..., 1, None, None] * PAULI_X
        expvals = gibbs_expectation(hamiltonians, PAULI_Z, self.temperature)  # [N, n_visible]
        return expvals.mean(dim=1) if self.observable_type == "sum" else expvals.prod(dim=1)
