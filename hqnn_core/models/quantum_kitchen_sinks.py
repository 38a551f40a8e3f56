"""Quantum kitchen sinks (Wilson et al. 2018, arXiv:1806.08321), as Bowles, Ahmed & Schuld 2024 benchmark it.

Features min-max scaled to [-1, 1] go through ``n_episodes`` random affine maps ``omega x + beta``
(omega normal with variance ``var``, beta uniform in [0, 2 pi)) to ``n_qubits`` angles each; a
circuit of RX(angle_i) on qubit i, CNOTs on (0,1), (2,3)... and then on (i, i+2), is measured once
per episode, and the concatenated bits feed a logistic regression.

The paper's code takes each single shot from PennyLane's JAX device with a fixed PRNG key inside
one vectorised call, so every circuit's shot reads the same uniform number u: the outcome is the
basis state where the cumulative outcome probability first reaches ``1 - u``. That makes the
feature map a fixed (if discontinuous) function of the input, the same for training and test data.
This model does the same with one u per fit, from exact outcome probabilities on any backend.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.extmath import softmax
from sklearn.utils.validation import check_is_fitted, validate_data

from hqnn_core.circuit import Circuit, CircuitBuilder
from hqnn_core.components import ComponentSpec
from hqnn_core.errors import ConfigError
from hqnn_core.models.base import CLASSES, check_labels, circuit_layer

#: circuits evaluated together when ``max_vmap`` does not say (an 8-qubit chunk holds about 50 MB of amplitudes)
DEFAULT_CHUNK = 8192


def kitchen_sink_circuit(n_qubits: int) -> Circuit:
    """RX(x_i) on qubit i, CNOTs on (0,1), (2,3), ..., then on (i, i+2); all outcome probabilities."""
    builder = CircuitBuilder(n_qubits)
    for q in range(n_qubits):
        builder.add("RX", [q], builder.input(q))
    for i in range(0, n_qubits - 1, 2):
        builder.add("CNOT", [i, i + 1])
    for i in range(n_qubits - 2):
        builder.add("CNOT", [i, i + 2])
    return builder.build()


def shared_shot(probabilities: torch.Tensor, u: float) -> torch.Tensor:
    """The bits ``[N, n]`` of the outcome each row's one shot gives when every shot reads the uniform number ``u``
    (inverse-CDF sampling as ``jax.random.choice``; the first wire is the most significant bit)."""
    cumulative = torch.cumsum(probabilities, dim=1)
    threshold = cumulative[:, -1:] * (1 - u)
    index = torch.searchsorted(cumulative.contiguous(), threshold.contiguous()).clamp(max=probabilities.shape[1] - 1)
    n = int(probabilities.shape[1]).bit_length() - 1
    shifts = torch.arange(n - 1, -1, -1, device=index.device)
    return ((index >> shifts) & 1).to(torch.float64)


class QuantumKitchenSinks(ClassifierMixin, BaseEstimator):
    """Random affine maps into a fixed circuit, one shot each, and a logistic regression (qml-benchmarks' defaults).

    Args:
        linear_model: the classifier fitted on the bits; ``None`` is the paper's
            ``LogisticRegression(penalty=None, solver="lbfgs", tol=1e-3)``
            (written ``C=np.inf``, the same unpenalised fit, since scikit-learn 1.8 deprecates ``penalty``).
        n_episodes: random maps (circuits per input); the linear model sees ``n_episodes * n_qubits`` bits.
        n_qfeatures: qubits: ``"full"`` (one per feature), ``"half"`` (ceil(d / 2)) or an integer.
        var: variance of the normal entries of omega.
        max_vmap: circuits evaluated together.
        scaling: factor applied to the scaled features.
        random_state: seeds omega, beta, u and the linear model.
        backend: where the circuit runs (any hqnn backend; ``torch`` by default).
    """

    def __init__(self, linear_model: Any = None, n_episodes: int = 100, n_qfeatures: int | str = "full", var: float = 1.0,
                 max_vmap: int | None = None, scaling: float = 1.0, random_state: int = 42, backend: ComponentSpec = "torch") -> None:
        self.linear_model = linear_model
        self.n_episodes = n_episodes
        self.n_qfeatures = n_qfeatures
        self.var = var
        self.max_vmap = max_vmap
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend

    def _n_qubits(self, n_features: int) -> int:
        if self.n_qfeatures == "full":
            return n_features
        if self.n_qfeatures == "half":
            return int(np.ceil(n_features / 2))
        if isinstance(self.n_qfeatures, int) and not isinstance(self.n_qfeatures, bool) and self.n_qfeatures >= 1:
            return self.n_qfeatures
        raise ConfigError(f"n_qfeatures={self.n_qfeatures!r}; use 'full', 'half' or a positive number of qubits.")

    def fit(self, X: Any, y: Any) -> QuantumKitchenSinks:
        """Draw omega, beta and u from ``random_state``, map the training rows to bits and fit the linear model."""
        X, y = validate_data(self, X, y)
        y = check_labels(y, type(self).__name__).astype(int)
        self.classes_ = CLASSES
        rng = np.random.default_rng(self.random_state)
        model = LogisticRegression(C=np.inf, solver="lbfgs", tol=10e-4) if self.linear_model is None else self.linear_model
        self.linear_model_ = clone(model).set_params(random_state=int(rng.integers(100000)))
        self.n_qubits_ = self._n_qubits(X.shape[1])
        self.omegas_ = rng.normal(size=(self.n_episodes, self.n_qubits_, X.shape[1])) * np.sqrt(self.var)
        self.betas_ = 2 * np.pi * rng.uniform(size=(self.n_episodes, self.n_qubits_))
        self.u_ = float(rng.uniform())
        self.layer_ = circuit_layer(kitchen_sink_circuit(self.n_qubits_), self.backend, measure="probs")
        self.scaler_ = MinMaxScaler(feature_range=(-1, 1)).fit(X)
        self.linear_model_.fit(self.transform(X), y)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The bits ``[n, n_episodes * n_qubits]`` (episode-major) the linear model sees."""
        check_is_fitted(self, "layer_")
        X = self.scaler_.transform(validate_data(self, X, reset=False)) * self.scaling
        angles = np.einsum("eqd,nd->neq", self.omegas_, X) + self.betas_  # [n, episode, qubit]
        rows = torch.from_numpy(angles.reshape(-1, self.n_qubits_))
        with torch.no_grad():
            bits = [shared_shot(self.layer_(part), self.u_) for part in torch.split(rows, self.max_vmap or DEFAULT_CHUNK)]
        return torch.cat(bits).reshape(len(X), -1).numpy()

    def predict_proba(self, X: Any) -> np.ndarray:
        """The linear model's probabilities passed through a softmax, as the paper's code does (the argmax is unchanged)."""
        return softmax(self.linear_model_.predict_proba(self.transform(X)), copy=False)

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class, -1 or +1, per row."""
        return np.take(self.classes_, np.argmax(self.predict_proba(X), axis=1))
