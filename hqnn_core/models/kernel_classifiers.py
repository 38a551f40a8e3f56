"""The kernel models of qml-benchmarks (Bowles, Ahmed, Schuld 2024) by name, on hqnn kernels and scikit-learn's SVC.

Constructor names and defaults are the paper's (``XanaduAI/qml-benchmarks``, ``src/qml_benchmarks/models``);
the device options (``dev_type``, ``use_jax``, ``jit``, ``vmap``, ``max_vmap``, ``qnode_kwargs``) are replaced by
hqnn's ``backend=`` and ``shots=``. As in the paper, features are scaled by a ``MinMaxScaler`` to
``[-π/2, π/2]`` fitted on the training data, times ``scaling``; labels are -1 and +1; the SVC gets the
precomputed Gram matrix and predicts from its decision function. Probabilities come from Platt
scaling over 5 folds (``CalibratedClassifierCV(ensemble=False)``, scikit-learn's replacement for the
``SVC(probability=True)`` the paper used; they do not change predictions).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.preprocessing import MinMaxScaler
from sklearn.svm import SVC
from sklearn.utils.validation import check_array, check_is_fitted, check_X_y

from hqnn_core.components import ComponentSpec
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.kernels import FidelityKernel, ProjectedKernel, QuantumKernelBase
from hqnn_core.models.feature_maps import hamiltonian_feature_map, separable_feature_map


class _PrecomputedKernelClassifier(ClassifierMixin, BaseEstimator):
    """Shared fit/predict: scale, build the kernel for ``n_features``, fit an SVC on the precomputed Gram matrix."""

    C: float
    scaling: float
    svm: SVC | None
    backend: ComponentSpec
    shots: int | None
    random_state: int | None

    def _make_kernel(self, n_features: int, rng: np.random.Generator) -> QuantumKernelBase:
        raise NotImplementedError

    def precompute_kernel(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        """``K[i, j] = k(X1[i], X2[j])`` of already scaled features, as the paper's method of this name.

        ``X2 is X1`` (as in :meth:`fit`) evaluates each pair of the symmetric matrix once.
        """
        return np.asarray(self.kernel_.matrix(X1, X2))

    def _check_labels(self, y: np.ndarray) -> None:
        classes = np.unique(y)
        if classes.tolist() != [-1, 1]:
            raise InputError(f"{type(self).__name__} is a binary classifier on labels -1 and +1 (as in qml-benchmarks), got labels "
                             f"{classes.tolist()}; map them, e.g. y = np.where(y == positive, 1, -1).")

    def fit(self, X: Any, y: Any) -> _PrecomputedKernelClassifier:
        """Fit the scaler on ``X``, compute the training Gram matrix and fit the SVC on it."""
        X, y = check_X_y(X, y, dtype=np.float64)
        self._check_labels(y)
        if isinstance(self.C, bool) or not isinstance(self.C, int | float) or not self.C > 0:
            raise ConfigError(f"C must be a positive number (the SVC's inverse regularisation), got {self.C!r}.")
        rng = np.random.default_rng(self.random_state)
        svm_seed = int(rng.integers(100000))  # drawn first, as the paper does, so the later draws match it
        self.classes_ = np.array([-1, 1])
        self.n_features_in_ = X.shape[1]
        self.kernel_ = self._make_kernel(X.shape[1], rng)
        self.scaler_ = MinMaxScaler(feature_range=(-np.pi / 2, np.pi / 2)).fit(X)
        self.X_train_ = self._transform(X)
        gram = self.precompute_kernel(self.X_train_, self.X_train_)
        base = SVC(kernel="precomputed") if self.svm is None else clone(self.svm)
        base.set_params(kernel="precomputed", C=float(self.C), random_state=svm_seed)
        self.svm_ = clone(base).fit(gram, y)
        folds = min(5, int(min(np.sum(y == -1), np.sum(y == 1))))  # Platt's 5 folds, fewer when a class is that small
        self.calibrated_ = CalibratedClassifierCV(base, ensemble=False, cv=folds).fit(gram, y) if folds >= 2 else None
        return self

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.scaler_.transform(X) * self.scaling, dtype=np.float64)

    def _test_gram(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "svm_")
        X = check_array(X, dtype=np.float64)
        if X.shape[1] != self.n_features_in_:
            raise InputError(f"X has {X.shape[1]} features, but {type(self).__name__} was fitted on {self.n_features_in_}.")
        return self.precompute_kernel(self._transform(X), self.X_train_)

    def decision_function(self, X: Any) -> np.ndarray:
        """The SVC's signed distance to the margin (positive: class +1)."""
        return np.asarray(self.svm_.decision_function(self._test_gram(X)))

    def predict(self, X: Any) -> np.ndarray:
        """Labels -1 or +1 from the SVC's decision function."""
        return np.asarray(self.svm_.predict(self._test_gram(X)))

    def predict_proba(self, X: Any) -> np.ndarray:
        """``[P(-1), P(+1)]`` per sample by Platt scaling (may disagree with :meth:`predict` near the margin)."""
        check_is_fitted(self, "calibrated_")
        if self.calibrated_ is None:
            raise InputError(f"{type(self).__name__} was fitted with fewer than 2 samples of a class, too few to calibrate "
                             "probabilities (Platt scaling cross-validates); fit on more data or use predict/decision_function.")
        return np.asarray(self.calibrated_.predict_proba(self._test_gram(X)))


class IQPKernelClassifier(_PrecomputedKernelClassifier):
    """SVC on the IQP fidelity kernel ``|<0|U†(x')U(x)|0>|²`` (Havlíček et al. 2019), one qubit per feature.

    ``U`` is PennyLane's ``IQPEmbedding`` (hqnn's ``iqp`` encoder): ``repeats`` times H, ``RZ(x_i)`` and
    ``RZZ(x_i x_j)`` on every pair.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.1], [0.2, 0.9], [0.9, 0.8], [1.0, 0.0]]); y = np.array([-1, -1, 1, 1])
        >>> IQPKernelClassifier(C=10.0, repeats=1).fit(X, y).predict(X).tolist()
        [-1, -1, 1, 1]
    """

    def __init__(self, svm: SVC | None = None, repeats: int = 2, C: float = 1.0, random_state: int | None = 42,
                 scaling: float = 1.0, backend: ComponentSpec = "torch", shots: int | None = None) -> None:
        self.svm = svm
        self.repeats = repeats
        self.C = C
        self.random_state = random_state
        self.scaling = scaling
        self.backend = backend
        self.shots = shots

    def _make_kernel(self, n_features: int, rng: np.random.Generator) -> QuantumKernelBase:
        return FidelityKernel(encoder={"name": "iqp", "options": {"repeats": self.repeats}}, n_qubits=n_features,
                              backend=self.backend, shots=self.shots)


class SeparableKernelClassifier(_PrecomputedKernelClassifier):
    """SVC on the fidelity kernel of a product (unentangled) feature map: per layer ``RX(-π/4)`` then ``RY(-x_i)`` per qubit.

    The paper's baseline for "does entanglement help": the kernel is the product of one-qubit fidelities.
    """

    def __init__(self, encoding_layers: int = 1, svm: SVC | None = None, C: float = 1.0, random_state: int | None = 42,
                 scaling: float = 1.0, backend: ComponentSpec = "torch", shots: int | None = None) -> None:
        self.encoding_layers = encoding_layers
        self.svm = svm
        self.C = C
        self.random_state = random_state
        self.scaling = scaling
        self.backend = backend
        self.shots = shots

    def _make_kernel(self, n_features: int, rng: np.random.Generator) -> QuantumKernelBase:
        _positive_int("encoding_layers", self.encoding_layers)
        return FidelityKernel(circuit=separable_feature_map(n_features, self.encoding_layers), backend=self.backend, shots=self.shots)


class ProjectedQuantumKernel(_PrecomputedKernelClassifier):
    """SVC on the projected quantum kernel of Huang et al. 2021: a Gaussian kernel on one-qubit reduced states.

    ``k(x, x') = exp(-γ Σ_q Σ_P (<P_q>(x) - <P_q>(x'))²)`` with ``γ = gamma_factor / (Var · n_features)``,
    where ``Var`` is the variance of all Pauli expectations of the kernel's first argument, as the
    paper's code computes it (so a test matrix ``K(X_test, X_train)`` takes its ``γ`` from ``X_test``).
    ``embedding="Hamiltonian"`` (``n_features + 1`` qubits): a random ``Rot`` per qubit, seeded by
    ``random_state``, then ``trotter_steps`` Trotter steps of a Heisenberg chain for time ``t``;
    ``embedding="IQP"``: PennyLane's ``IQPEmbedding`` with 2 repeats.
    """

    def __init__(self, svm: SVC | None = None, gamma_factor: float = 1.0, C: float = 1.0, embedding: str = "Hamiltonian",
                 t: float = 1.0 / 3, trotter_steps: int = 5, scaling: float = 1.0, random_state: int | None = 42,
                 backend: ComponentSpec = "torch", shots: int | None = None) -> None:
        self.svm = svm
        self.gamma_factor = gamma_factor
        self.C = C
        self.embedding = embedding
        self.t = t
        self.trotter_steps = trotter_steps
        self.scaling = scaling
        self.random_state = random_state
        self.backend = backend
        self.shots = shots

    def _make_kernel(self, n_features: int, rng: np.random.Generator) -> QuantumKernelBase:
        if isinstance(self.gamma_factor, bool) or not isinstance(self.gamma_factor, int | float) or not self.gamma_factor > 0:
            raise ConfigError(f"gamma_factor must be a positive number, got {self.gamma_factor!r}.")
        if self.embedding == "IQP":
            return ProjectedKernel(encoder={"name": "iqp", "options": {"repeats": 2}}, n_qubits=n_features, backend=self.backend,
                                   shots=self.shots)
        if self.embedding != "Hamiltonian":
            raise ConfigError(f"embedding must be 'Hamiltonian' or 'IQP' (the paper's two), got {self.embedding!r}.")
        _positive_int("trotter_steps", self.trotter_steps)
        if isinstance(self.t, bool) or not isinstance(self.t, int | float) or not math.isfinite(self.t):
            raise ConfigError(f"t (the evolution time) must be a finite number, got {self.t!r}.")
        self.rotation_angles_ = rng.uniform(size=(n_features + 1, 3)) * 2 * np.pi
        circuit = hamiltonian_feature_map(n_features, float(self.t), self.trotter_steps, self.rotation_angles_)
        return ProjectedKernel(circuit=circuit, backend=self.backend, shots=self.shots)

    def precompute_kernel(self, X1: np.ndarray, X2: np.ndarray) -> np.ndarray:
        kernel = self.kernel_
        assert isinstance(kernel, ProjectedKernel)
        values = kernel.reduced_bloch_vectors(X1).detach().cpu().numpy()
        default_gamma = 1.0 / float(np.var(values)) / X1.shape[1]
        kernel.gamma = 2 * default_gamma * self.gamma_factor  # ProjectedKernel's exponent carries a factor ½
        return np.asarray(kernel.matrix(X1, X2))


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}.")
