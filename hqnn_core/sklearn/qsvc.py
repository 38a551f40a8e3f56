"""``QuantumKernel`` (a kernel for ``SVC(kernel=...)``) and ``QSVC`` (an SVC with a quantum kernel), scikit-learn style.

Both hold only their constructor parameters, so ``clone``, ``GridSearchCV`` and ``Pipeline`` can
swap the backend, shots or feature map like any hyperparameter; the hqnn kernel they describe is
built on first use (one qubit per feature unless ``n_qubits`` says otherwise) and rebuilt when a
parameter changes. Predictions evaluate the kernel against the support vectors only, so a test set
costs ``n_test x n_support`` circuits, all in one backend call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.svm import SVC
from sklearn.utils import check_array
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from hqnn_core.components import ComponentSpec
from hqnn_core.errors import ConfigError
from hqnn_core.kernels import FidelityKernel, ProjectedKernel, QuantumKernelBase

KernelKind = Literal["fidelity", "projected"]


def _build_kernel(params: Mapping[str, Any], n_features: int) -> QuantumKernelBase:
    """The hqnn kernel a ``QuantumKernel``'s (or ``QSVC``'s) parameters describe, for data with ``n_features`` columns."""
    common = {"encoder": params["encoder"], "circuit": params["circuit"], "backend": params["backend"], "shots": params["shots"],
              "backend_options": params["backend_options"], "psd": params["psd"]}
    n_qubits = params["n_qubits"]
    if n_qubits is None and params["circuit"] is None:
        n_qubits = n_features  # one qubit per feature
    if params["kind"] == "fidelity":
        return FidelityKernel(n_qubits=n_qubits, method=params["method"], **common)
    if params["kind"] == "projected":
        return ProjectedKernel(n_qubits=n_qubits, gamma=params["gamma"], **common)
    raise ConfigError(f"kind={params['kind']!r} is not a quantum kernel; use 'fidelity' or 'projected'.")


def _cache_key(params: Mapping[str, Any], n_features: int) -> tuple:
    """Plain values compare by value, objects (circuits, component instances) by identity."""
    return n_features, tuple((k, v if isinstance(v, str | int | float | bool | type(None)) else id(v)) for k, v in sorted(params.items()))


def _dense(data: Any) -> np.ndarray:
    """Checked float64 features (scikit-learn's own messages for 1-d, empty, NaN and object data); sparse data densified."""
    return np.asarray(check_array(data.toarray() if issparse(data) else data, dtype=np.float64))


class QuantumKernel(BaseEstimator):
    """A quantum kernel as a scikit-learn hyperparameter: ``SVC(kernel=QuantumKernel(backend="qiskit.aer"))``.

    Args:
        kind: ``"fidelity"`` (:class:`~hqnn_core.kernels.FidelityKernel`) or ``"projected"`` (:class:`~hqnn_core.kernels.ProjectedKernel`).
        encoder: a registered encoder (default ``angle``); or ``circuit``: your own feature map (hqnn, Qiskit, PennyLane, QASM).
        n_qubits: qubits of an encoder's feature map; ``None``: one per feature of the data.
        backend, shots, backend_options: where and how circuits run.
        gamma: the projected kernel's inverse width.
        method: the fidelity method (``auto``, ``state``, ``compute_uncompute``).
        psd: project estimated training matrices onto the nearest positive semidefinite one.
    """

    def __init__(self, kind: KernelKind = "fidelity", encoder: ComponentSpec | None = None, circuit: Any = None, n_qubits: int | None = None,
                 backend: ComponentSpec = "torch", shots: int | None = None, gamma: float = 1.0, method: str = "auto", psd: bool = False,
                 backend_options: Mapping[str, Any] | None = None) -> None:
        self.kind = kind
        self.encoder = encoder
        self.circuit = circuit
        self.n_qubits = n_qubits
        self.backend = backend
        self.shots = shots
        self.gamma = gamma
        self.method = method
        self.psd = psd
        self.backend_options = backend_options

    def kernel_for(self, n_features: int) -> QuantumKernelBase:
        """The hqnn kernel for data with ``n_features`` columns (built once per parameter setting)."""
        params = self.get_params(deep=False)
        key = _cache_key(params, n_features)
        if getattr(self, "_built", (None, None))[0] != key:
            self._built = (key, _build_kernel(params, n_features))
        return self._built[1]

    def __call__(self, X: Any, Y: Any = None) -> np.ndarray:
        """``K[i, j] = k(X[i], Y[j])``; ``Y=None`` (or ``Y is X``) is the symmetric training matrix."""
        same = Y is None or Y is X
        X = _dense(X)
        Y = X if same else _dense(Y)
        return self.kernel_for(X.shape[1])(X, Y)

    def __getstate__(self) -> dict[str, Any]:
        """Parameters only: the kernel (backend, layers) is rebuilt from them after unpickling."""
        return {k: v for k, v in self.__dict__.items() if k != "_built"}


class QSVC(ClassifierMixin, BaseEstimator):
    """A support vector classifier with a quantum kernel (Havlíček et al. 2019), the hqnn counterpart of Qiskit ML's ``QSVC``.

    Args:
        kernel: ``"fidelity"`` or ``"projected"`` (see :class:`QuantumKernel`).
        encoder, circuit, n_qubits, backend, shots, gamma, method, psd, backend_options: the quantum kernel's parameters.
        C: the SVC's regularisation.
        class_weight: as for ``sklearn.svm.SVC``.
        probability: fit Platt scaling (``CalibratedClassifierCV``, 5-fold, ``ensemble=False``) so that ``predict_proba`` is available.

    Example:
        >>> import numpy as np
        >>> X = np.array([[0.0, 0.1], [0.2, 0.0], [2.5, 2.8], [2.9, 2.4]])
        >>> QSVC().fit(X, [0, 0, 1, 1]).predict([[0.1, 0.1], [2.7, 2.6]]).tolist()
        [0, 1]
    """

    def __init__(self, kernel: KernelKind = "fidelity", encoder: ComponentSpec | None = None, circuit: Any = None,
                 n_qubits: int | None = None, backend: ComponentSpec = "torch", shots: int | None = None, gamma: float = 1.0,
                 method: str = "auto", psd: bool = False, backend_options: Mapping[str, Any] | None = None, C: float = 1.0,
                 class_weight: Any = None, probability: bool = False) -> None:
        self.kernel = kernel
        self.encoder = encoder
        self.circuit = circuit
        self.n_qubits = n_qubits
        self.backend = backend
        self.shots = shots
        self.gamma = gamma
        self.method = method
        self.psd = psd
        self.backend_options = backend_options
        self.C = C
        self.class_weight = class_weight
        self.probability = probability

    def _quantum_kernel(self) -> QuantumKernel:
        p = self.get_params(deep=False)
        return QuantumKernel(kind=p["kernel"], encoder=p["encoder"], circuit=p["circuit"], n_qubits=p["n_qubits"], backend=p["backend"],
                             shots=p["shots"], gamma=p["gamma"], method=p["method"], psd=p["psd"], backend_options=p["backend_options"])

    def fit(self, X: Any, y: Any) -> QSVC:
        """Evaluate the training Gram matrix (each pair once, one backend call) and fit the SVC on it."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.quantum_kernel_ = self._quantum_kernel()
        self.quantum_kernel_.kernel_for(X.shape[1])  # bad parameters fail here, before any circuit runs
        gram = self.quantum_kernel_(X)
        self.svc_ = SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight).fit(gram, y)
        if self.probability:  # Platt scaling on 5-fold decision values, as SVC(probability=True) did before scikit-learn 1.9
            self.calibrated_ = CalibratedClassifierCV(SVC(kernel="precomputed", C=self.C, class_weight=self.class_weight),
                                                      ensemble=False).fit(gram, y)
        self.classes_ = self.svc_.classes_
        self.support_ = self.svc_.support_
        self.support_vectors_ = X[self.support_]
        self.n_train_ = X.shape[0]
        return self

    def _test_kernel(self, X: Any) -> np.ndarray:
        """``K(X, train)`` with only the support vectors' columns evaluated: the others do not enter the decision."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        full = np.zeros((X.shape[0], self.n_train_))
        full[:, self.support_] = self.quantum_kernel_(X, self.support_vectors_)
        return full

    def decision_function(self, X: Any) -> np.ndarray:
        gram = self._test_kernel(X)
        return np.asarray(self.svc_.decision_function(gram))

    def predict(self, X: Any) -> np.ndarray:
        gram = self._test_kernel(X)
        return np.asarray(self.svc_.predict(gram))

    @available_if(lambda self: bool(self.probability))
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities by Platt scaling; available with ``probability=True`` (as for ``SVC``)."""
        gram = self._test_kernel(X)
        return np.asarray(self.calibrated_.predict_proba(gram))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.shots is not None and not (self.backend_options or {}).get("seed")
        return tags
