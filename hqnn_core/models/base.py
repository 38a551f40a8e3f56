"""What every published variational model shares: labels in {-1, +1}, a circuit on hqnn, the paper's training loop.

A subclass says how it preprocesses features, builds its circuit and parameters, maps a batch of
features to outputs, scores a batch (the loss) and turns outputs into class probabilities; this
class runs :func:`~hqnn_core.models.training.train` and the scikit-learn API around them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from hqnn_core.circuit import Circuit
from hqnn_core.components import ComponentSpec
from hqnn_core.errors import InputError
from hqnn_core.layer import QuantumLayer
from hqnn_core.models.training import train

#: the labels every model of the paper takes, as its code asserts
CLASSES = np.array([-1, 1])
#: rows evaluated in one backend call when predicting (``max_vmap`` is accepted for the paper's grids and not needed:
#: a training batch is one call, which gives the paper's chunked mean exactly)
PREDICT_CHUNK = 1024


def check_labels(y: np.ndarray, model: str) -> np.ndarray:
    """The labels as float ±1, or one error saying how to map them."""
    found = set(np.unique(y).tolist())
    if found != {-1, 1}:
        raise InputError(f"{model} takes binary labels -1 and +1 (as the paper's models do), got {sorted(found)[:6]}; "
                         "map them first, e.g. y = np.where(y == positive_class, 1, -1).")
    return np.asarray(y, dtype=float)


def circuit_layer(circuit: Circuit, backend: ComponentSpec, **kwargs: Any) -> QuantumLayer:
    """The model's circuit as a float64 layer on ``backend`` (complex128 amplitudes on the torch backend)."""
    return QuantumLayer(circuit=circuit, backend=backend, seed=0, **kwargs).double()


class QuantumClassifier(ClassifierMixin, BaseEstimator):
    """fit / predict / predict_proba / score for a model trained by gradient descent on a circuit.

    Subclasses define ``__init__`` with the paper's hyperparameters (plus ``backend``) and:
    ``_preprocess(X, fit)``, ``_build(n_features, rng)`` (sets ``layer_`` and ``params_``),
    ``_outputs(X)``, ``_loss(X, y)`` and ``_probabilities(outputs)``.
    """

    learning_rate: float
    batch_size: int
    max_steps: int
    convergence_interval: int | None
    max_vmap: int | None
    random_state: int | None
    params_: dict[str, torch.Tensor]

    # --- what a model defines

    def _preprocess(self, X: np.ndarray, fit: bool) -> np.ndarray:
        raise NotImplementedError

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        raise NotImplementedError

    def _outputs(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _loss(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _probabilities(self, outputs: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    # --- the scikit-learn API

    def fit(self, X: Any, y: Any) -> QuantumClassifier:
        """Preprocess, build the circuit and parameters from ``random_state``, and train until converged or ``max_steps``."""
        X, y = validate_data(self, X, y)
        y = check_labels(y, type(self).__name__)
        self.classes_ = CLASSES
        rng = np.random.default_rng(self.random_state)
        features = self._preprocess(X, fit=True)
        self._build(features.shape[1], rng)
        result = train(
            self._loss, list(self.params_.values()), (torch.from_numpy(features), torch.from_numpy(y)),
            learning_rate=self.learning_rate, batch_size=self.batch_size, max_steps=self.max_steps,
            convergence_interval=self.convergence_interval, rng=rng, name=type(self).__name__,
        )
        self.loss_history_ = np.asarray(result.loss_history)
        self.n_steps_ = result.steps
        self.converged_ = result.converged
        return self

    def _evaluate(self, X: Any) -> torch.Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        features = torch.from_numpy(self._preprocess(X, fit=False))
        with torch.no_grad():
            return torch.cat([self._outputs(part) for part in torch.split(features, PREDICT_CHUNK)])

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``[n, 2]`` for the classes -1 and +1, as the paper's model defines them."""
        return self._probabilities(self._evaluate(X))

    def predict(self, X: Any) -> np.ndarray:
        """The more probable class, -1 or +1, per row."""
        return np.take(self.classes_, np.argmax(self.predict_proba(X), axis=1))


def parameter(values: np.ndarray | torch.Tensor) -> torch.Tensor:
    """A trainable float64 leaf tensor."""
    return torch.as_tensor(np.asarray(values), dtype=torch.float64).clone().requires_grad_(True)
