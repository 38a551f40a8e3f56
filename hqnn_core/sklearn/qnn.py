"""``QNNClassifier`` and ``QNNRegressor``: a :class:`~hqnn_core.QuantumLayer` network as a scikit-learn estimator.

The network is ``front end -> QuantumLayer -> head``: an optional classical front end (hidden layers,
then a ``Linear`` to the circuit's inputs), the quantum layer, and a ``Linear`` from its ``K``
outputs to the classes (logits) or targets. skorch's ``NeuralNetClassifier``/``NeuralNetRegressor``
train it; these classes add what scikit-learn expects (plain constructor parameters checked in
``fit``, ``classes_`` of any label type, ``n_features_in_``) and what hqnn adds (``backend=``,
``shots=`` and ``mitigation=`` as parameters, so ``GridSearchCV`` can compare vendors).

Determinism: with an integer ``random_state`` = ``s``, ``fit`` runs under ``torch.manual_seed(s)`` in a
forked RNG (the caller's torch RNG is untouched), builds the front end, then ``QuantumLayer(seed=s)``,
then the head, in that order, and shuffles batches with ``torch.Generator().manual_seed(s)``.
The network computes in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from torch import nn

from hqnn_core.components import ComponentSpec
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.layer import QuantumLayer
from hqnn_core.option_text import parse_query

_ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
_OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}
_FRONT_ENDS = ("auto", "linear", "none")
_HEADS = ("linear", "none")


def _backend_spec(backend: Any) -> ComponentSpec:
    """``"torch.noisy?readout_error=0.05&depolarizing=0.01"`` -> ``{"name": "torch.noisy", "options": {...}}``.

    The query form is the one ``hqnn compare`` reads (values are YAML scalars); anything else (a
    name, a ``{"name", "options"}`` mapping, a Backend instance) passes through unchanged.
    """
    if not isinstance(backend, str) or "?" not in backend:
        return backend
    name, options = parse_query(backend, f"backend={backend!r}")
    reserved = set(options) & {"shots", "mitigation", "label"}
    if reserved:
        raise ConfigError(f"backend={backend!r}: {sorted(reserved)} are estimator parameters here; set shots= / mitigation= instead.")
    return {"name": name, "options": options}


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


class _QNNBase(BaseEstimator):
    """What the classifier and regressor share: parameters, the network, the skorch net and fitting."""

    def __init__(
        self,
        n_qubits: int = 4,
        encoder: ComponentSpec = "angle",
        ansatz: ComponentSpec = "hardware_efficient",
        layers: int = 2,
        backend: Any = "torch",
        shots: int | None = None,
        gradient: ComponentSpec = "best",
        mitigation: Sequence[ComponentSpec] = (),
        observables: Sequence[str] | None = None,
        hidden_layer_sizes: Sequence[int] = (),
        activation: str = "tanh",
        front_end: str = "auto",
        head: str = "linear",
        max_epochs: int = 50,
        lr: float = 0.05,
        batch_size: int = 32,
        optimizer: str = "adam",
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.n_qubits = n_qubits
        self.encoder = encoder
        self.ansatz = ansatz
        self.layers = layers
        self.backend = backend
        self.shots = shots
        self.gradient = gradient
        self.mitigation = mitigation
        self.observables = observables
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.front_end = front_end
        self.head = head
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.shuffle = shuffle
        self.random_state = random_state
        self.verbose = verbose

    # what subclasses set
    _net_class: type[NeuralNet]
    _criterion: type[nn.Module]

    def _seed(self) -> int:
        if isinstance(self.random_state, int | np.integer) and not isinstance(self.random_state, bool):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _check_params(self) -> None:
        for name, allowed in (("activation", _ACTIVATIONS), ("front_end", _FRONT_ENDS), ("head", _HEADS), ("optimizer", _OPTIMIZERS)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}={getattr(self, name)!r} is not one of {sorted(allowed)}.")
        _positive_int("max_epochs", self.max_epochs, 0)
        _positive_int("batch_size", self.batch_size)
        _positive_int("verbose", self.verbose, 0)
        if isinstance(self.lr, bool) or not isinstance(self.lr, float | int) or not self.lr > 0:
            raise ConfigError(f"lr must be a positive number, got {self.lr!r}.")
        if isinstance(self.hidden_layer_sizes, str) or not isinstance(self.hidden_layer_sizes, Sequence):
            raise ConfigError(f"hidden_layer_sizes must be a sequence of positive integers, e.g. (8,), got {self.hidden_layer_sizes!r}.")
        for size in self.hidden_layer_sizes:
            _positive_int("hidden_layer_sizes entries", size)

    def build_module(self, n_features: int, n_outputs: int, seed: int) -> nn.Sequential:
        """The untrained network ``front end -> QuantumLayer(seed=seed) -> head``; ``fit`` calls it under ``torch.manual_seed(seed)``."""
        parts: list[nn.Module] = []
        width = n_features
        for size in self.hidden_layer_sizes:
            parts += [nn.Linear(width, int(size)), _ACTIVATIONS[self.activation]()]
            width = int(size)
        layer = QuantumLayer(
            n_qubits=self.n_qubits, encoder=self.encoder, ansatz=self.ansatz, layers=self.layers, backend=_backend_spec(self.backend),
            shots=self.shots, gradient=self.gradient, mitigation=list(self.mitigation), observables=self.observables, seed=seed,
        )
        if self.front_end == "linear" or parts or (self.front_end == "auto" and width != layer.n_features):
            if self.front_end == "none":
                raise ConfigError(f"front_end='none' but hidden_layer_sizes={self.hidden_layer_sizes!r}; drop one of them.")
            parts.append(nn.Linear(width, layer.n_features))
        elif width != layer.n_features:
            raise ConfigError(
                f"front_end='none' feeds the {width} features straight into the circuit, but encoder {layer.encoder.name!r} on "
                f"{self.n_qubits} qubits takes {layer.n_features}; use front_end='auto' or change n_qubits."
            )
        parts.append(layer)
        if self.head == "linear":
            parts.append(nn.Linear(layer.n_outputs, n_outputs))
        elif layer.n_outputs != n_outputs:
            raise ConfigError(f"head='none' uses the layer's {layer.n_outputs} outputs directly, but {n_outputs} are needed; "
                              "set observables to that many, or head='linear'.")
        return nn.Sequential(*parts).double()

    def _fit_net(self, X: np.ndarray, y: np.ndarray, n_outputs: int) -> None:
        self._check_params()
        seed = self._seed()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            module = self.build_module(X.shape[1], n_outputs, seed)
            self.net_ = self._net_class(
                module, criterion=self._criterion, optimizer=_OPTIMIZERS[self.optimizer], lr=self.lr,
                max_epochs=self.max_epochs, batch_size=self.batch_size, train_split=None, verbose=self.verbose,
                iterator_train__shuffle=bool(self.shuffle), iterator_train__generator=torch.Generator().manual_seed(seed),
            )
            self.net_.fit(torch.tensor(X), torch.tensor(y))  # copies: the arrays may be read-only (memmaps), which torch warns about
        self.module_: nn.Sequential = self.net_.module_

    def _outputs(self, X: Any) -> np.ndarray:
        """The network's raw outputs (logits or targets) for ``X``, float64 ``(n_samples, n_outputs)``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        with torch.no_grad():
            self.module_.eval()
            return self.module_(torch.as_tensor(X)).numpy()

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.shots is not None  # finite sampling: each predict draws fresh shots
        return tags

    def _validated(self, X: Any, y: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
        X, y = validate_data(self, X, y, dtype=np.float64, **kwargs)
        if X.shape[0] < 1:
            raise InputError("fit needs at least one sample.")
        return X, y


class QNNClassifier(ClassifierMixin, _QNNBase):
    """A hybrid quantum-classical classifier: ``front end -> QuantumLayer -> Linear`` to one logit per class.

    Trained with cross-entropy by skorch's ``NeuralNetClassifier`` (``net_`` after ``fit``; the torch
    network is ``module_``). ``predict_proba`` is the softmax of ``module_``'s output.

    Args:
        n_qubits, encoder, ansatz, layers, backend, shots, gradient, mitigation, observables: the
            :class:`~hqnn_core.QuantumLayer`'s; ``backend`` also takes ``"torch.noisy?readout_error=0.05"``.
        hidden_layer_sizes: hidden ``Linear`` + ``activation`` layers of the classical front end.
        activation: ``"tanh"``, ``"relu"`` or ``"sigmoid"`` after each hidden layer.
        front_end: ``"auto"`` (a ``Linear`` to the circuit's inputs when there are hidden layers or the
            feature count differs from what the encoder takes), ``"linear"`` (always) or ``"none"``.
        head: ``"linear"`` (``Linear(K, n_classes)``) or ``"none"`` (the ``K`` outputs are the logits).
        max_epochs, lr, batch_size, optimizer, shuffle: training (``optimizer``: ``"adam"`` or ``"sgd"``; ``max_epochs=0``
            keeps the seeded, untrained network).
        random_state: an int makes ``fit`` reproducible (see the module docstring for the exact recipe).
        verbose: ``1`` prints skorch's epoch table.

    Example:
        >>> from sklearn.datasets import make_blobs
        >>> X, y = make_blobs(40, n_features=2, centers=2, random_state=0)
        >>> clf = QNNClassifier(n_qubits=2, layers=1, max_epochs=5, random_state=0).fit(X, y)
        >>> clf.predict_proba(X[:3]).shape
        (3, 2)
    """

    _net_class = NeuralNetClassifier
    _criterion = nn.CrossEntropyLoss

    def fit(self, X: Any, y: Any) -> QNNClassifier:
        """Train on ``X`` ``(n_samples, n_features)`` and labels ``y`` of any type (at least two classes)."""
        X, y = self._validated(X, y)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(f"QNNClassifier needs samples of at least 2 classes; y has only one class, {self.classes_[0]!r}.")
        self._fit_net(X, encoder.transform(y).astype(np.int64), len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)``, columns in the order of ``classes_``."""
        logits = torch.as_tensor(self._outputs(X))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample, as a label from ``classes_``."""
        outputs = self._outputs(X)
        return self.classes_[np.argmax(outputs, axis=1)]


class QNNRegressor(RegressorMixin, _QNNBase):
    """A hybrid quantum-classical regressor: ``front end -> QuantumLayer -> Linear`` to the targets (MSE loss).

    Takes the same parameters as :class:`QNNClassifier`; ``y`` may be ``(n_samples,)`` or
    ``(n_samples, n_targets)``, and ``predict`` returns the same shape.

    Example:
        >>> import numpy as np
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> reg = QNNRegressor(n_qubits=1, layers=1, max_epochs=5, random_state=0).fit(X, np.sin(X).ravel())
        >>> reg.predict(X[:3]).shape
        (3,)
    """

    _net_class = NeuralNetRegressor
    _criterion = nn.MSELoss

    def fit(self, X: Any, y: Any) -> QNNRegressor:
        """Train on ``X`` ``(n_samples, n_features)`` and real targets ``y``."""
        X, y = self._validated(X, y, multi_output=True, y_numeric=True)
        y = y.astype(np.float64)
        self._single_target = y.ndim == 1
        targets = y.reshape(len(y), -1)
        self._fit_net(X, targets, targets.shape[1])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, ``(n_samples,)`` or ``(n_samples, n_targets)`` as ``y`` was in ``fit``."""
        out = self._outputs(X)
        return out.ravel() if self._single_target else out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
