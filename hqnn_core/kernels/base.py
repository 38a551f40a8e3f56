"""What every quantum kernel shares: the feature map as a layer, input checks, Gram-matrix assembly, PSD projection.

The feature map is a :class:`~hqnn_core.layer.QuantumLayer` (an encoder with optional trainable
ansatz layers, or the user's own circuit), so encoders, Qiskit/PennyLane/QASM imports, weights,
gradients and mitigation all work as they do for layers. The layer is used for its slot values and,
where a kernel needs them, its outputs; every backend call goes to one backend instance, whose
``accounting`` counts the jobs a Gram matrix took.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from hqnn_core.circuit import MeasureKind, Observable
from hqnn_core.components import ComponentSpec, get_backend
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.interfaces import Ansatz, Backend
from hqnn_core.interfaces.backend import check_shots
from hqnn_core.layer import QuantumLayer


class _NoAnsatz(Ansatz):
    """No trainable gates: the feature map is the encoder alone."""

    name = "none"

    def weights_per_layer(self, n_qubits: int) -> int:
        return 0

    def add_layer(self, builder: Any, wires: list[int], layer: int) -> None:
        """Nothing to add."""


def nearest_psd(matrix: np.ndarray) -> np.ndarray:
    """The nearest positive semidefinite matrix in Frobenius norm: symmetrise, then clip negative eigenvalues to 0.

    Shot noise can make an estimated Gram matrix indefinite, which SVC solvers do not expect
    (Higham 1988; Hubregtsen et al. 2022 call this "clipping").
    """
    sym = (matrix + matrix.T) / 2
    values, vectors = np.linalg.eigh(sym)
    return np.asarray((vectors * np.clip(values, 0.0, None)) @ vectors.T)


class QuantumKernelBase:
    """A kernel ``k(x, x')`` computed by a quantum feature map on a backend.

    Args:
        encoder: a registered encoder (name, ``{"name": ..., "options": ...}`` or instance); default ``angle``.
        circuit: instead of ``encoder``, your own feature map: an hqnn :class:`~hqnn_core.circuit.Circuit`
            reading ``x[i]`` (and ``w[j]`` if trainable), a Qiskit ``QuantumCircuit`` (its parameters are the
            inputs unless ``inputs=``/``weights=`` say otherwise), a PennyLane QNode or OpenQASM 3 text.
        n_qubits: qubits of an encoder's feature map (taken from ``circuit`` otherwise).
        backend: where circuits run (``torch``, ``qiskit.aer``, ``pennylane:default.qubit``, ``braket.local:sv``...).
        shots: ``None`` for exact kernels, or samples per circuit (estimates with standard errors).
        ansatz: trainable layers after the encoder (a trainable feature map), ``None`` for none.
        layers: ansatz layers.
        inputs, weights, weight_shapes: describe a Qiskit circuit's or QNode's parameters (as for ``QuantumLayer``).
        backend_options: options of the backend, when ``backend`` is a name.
        gradient: how gradients of trainable feature maps are estimated (``best``: backprop on torch, else parameter-shift).
        mitigation: error mitigators applied around every backend call.
        seed: seeds the feature map's initial weights.
        init: the weights' initialisation strategy (as for ``QuantumLayer``).
        psd: project symmetric estimated matrices onto the nearest positive semidefinite one (eigenvalue clipping).
    """

    def __init__(
        self,
        encoder: ComponentSpec | None = None,
        circuit: Any = None,
        n_qubits: int | None = None,
        backend: ComponentSpec = "torch",
        shots: int | None = None,
        *,
        ansatz: ComponentSpec | None = None,
        layers: int = 1,
        inputs: Any = None,
        weights: Any = None,
        weight_shapes: Any = None,
        backend_options: Mapping[str, Any] | None = None,
        gradient: ComponentSpec = "best",
        mitigation: Sequence[ComponentSpec] = (),
        seed: int | None = None,
        init: str = "uniform",
        psd: bool = False,
    ) -> None:
        if encoder is not None and circuit is not None:
            raise ConfigError("pass the feature map once: encoder= (a registered encoder) or circuit= (your own circuit), not both.")
        if circuit is not None and ansatz is not None:
            raise ConfigError("ansatz= adds trainable layers after an encoder; a circuit given as circuit= holds its own weights w[j].")
        if circuit is not None and type(circuit).__module__.startswith("qiskit") and inputs is None and weights is None:
            inputs = list(circuit.parameters)  # a feature map: every parameter is a feature, in Qiskit's sorted order
        if circuit is not None and type(circuit).__module__.startswith("pennylane") and weight_shapes is None:
            weight_shapes = {}  # a fixed feature map QNode: inputs= features and no weights
        if not isinstance(psd, bool):
            raise ConfigError(f"psd must be True or False, got {psd!r}.")
        self.shots = check_shots(shots)
        self.psd = psd
        self.gradient = gradient
        self.mitigation = list(mitigation)
        self.backend: Backend = get_backend(backend, **dict(backend_options or {}))  # one instance: one job counter
        self._layer_args: dict[str, Any] = {
            "n_qubits": n_qubits, "encoder": "angle" if encoder is None else encoder, "ansatz": _NoAnsatz() if ansatz is None else ansatz,
            "layers": layers, "circuit": circuit, "inputs": inputs, "weights": weights, "weight_shapes": weight_shapes,
            "seed": seed, "init": init,
        }
        #: the feature map, whose weights (if any) :func:`~hqnn_core.kernels.fit_alignment` trains
        self.feature_map = self._feature_map_layer()
        self.n_qubits = self.feature_map.n_qubits
        self.n_features = self.feature_map.n_features
        self.last_std_: np.ndarray | None = None

    def _layer(self, measure: MeasureKind = "expval", observables: Sequence[Observable | str] | None = None,
               circuit: Any = None) -> QuantumLayer:
        """A layer of the feature map (or, given ``circuit``, of that circuit) on the kernel's backend."""
        args = dict(self._layer_args)
        if circuit is not None:
            args.update(circuit=circuit, encoder="angle", ansatz="hardware_efficient", inputs=None, weights=None, weight_shapes=None,
                        n_qubits=None, layers=1, init="uniform")
        elif args["circuit"] is not None:
            args.update(encoder="angle", ansatz="hardware_efficient")
        return QuantumLayer(**args, backend=self.backend, gradient=self.gradient, shots=self.shots,
                            mitigation=self.mitigation, measure=measure, observables=observables)

    def _exact_states(self) -> bool:
        """Whether the feature map's statevectors are available: a backend that declares them, exact, unmitigated, backprop."""
        return bool(self.backend.capabilities.state and self.shots is None and not self.mitigation
                    and self.gradient in ("best", "backprop", "adjoint"))

    def _feature_map_layer(self) -> QuantumLayer:
        """The feature map's layer (a kernel that needs states or observables of it builds it with them)."""
        return self._layer()

    def parameters(self) -> Iterator[nn.Parameter]:
        """The feature map's trainable weights (none for a fixed encoder)."""
        return (p for p in self.feature_map.parameters() if p.numel())

    # -- inputs ------------------------------------------------------------------------------
    def _rows(self, data: Any, name: str) -> torch.Tensor:
        """``data`` as a float64 ``(n_samples, n_features)`` tensor, checked by the feature map."""
        if isinstance(data, torch.Tensor):
            rows = data if data.dtype == torch.float64 else data.double()
        else:
            try:
                rows = torch.tensor(np.asarray(data, dtype=np.float64))  # a copy: read-only arrays (memmaps) stay untouched
            except (TypeError, ValueError):
                raise InputError(f"{name} must be a numeric array of shape (n_samples, {self.n_features}), "
                                 f"got {type(data).__name__} that cannot be read as numbers.") from None
        if rows.ndim != 2:
            raise InputError(f"{name} must have shape (n_samples, {self.n_features}), got shape {tuple(rows.shape)}; "
                             "reshape one sample with x.reshape(1, -1).")
        return self.feature_map._check_input(rows)

    @staticmethod
    def _same(x: Any, y: Any) -> bool:
        """Whether ``y`` is ``x`` (as when scikit-learn's SVC fits: ``kernel(X, X)``), so the matrix is symmetric."""
        if y is None or y is x:
            return True
        if isinstance(x, torch.Tensor) or isinstance(y, torch.Tensor):
            return False
        a, b = np.asarray(x), np.asarray(y)
        return a.shape == b.shape and a.dtype.kind in "fiu" and b.dtype.kind in "fiu" and bool(np.array_equal(a, b))

    # -- evaluation --------------------------------------------------------------------------
    @abstractmethod
    def _evaluate(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(K [N, M], standard errors [N, M] or None)``; ``y is None`` means the symmetric ``K(x, x)``."""

    def _pairs(self, X: Any, Y: Any) -> tuple[torch.Tensor, torch.Tensor | None, bool]:
        symmetric = self._same(X, Y)
        x = self._rows(X, "X")
        y = None if symmetric else self._rows(Y, "Y")
        if not x.shape[0] or (y is not None and not y.shape[0]):
            raise InputError(f"the kernel needs at least one sample in X and Y, got shapes {tuple(x.shape)} and "
                             f"{tuple((x if y is None else y).shape)}.")
        K, std = self._evaluate(x, y)
        return K, std, symmetric

    @abstractmethod
    def _rows_for(self, n_x: int, n_y: int | None) -> tuple[QuantumLayer, int]:
        """The layer a matrix of ``n_x`` by ``n_y`` points (``None``: symmetric) runs, and how many rows it sends."""

    def cost(self, n_x: int, n_y: int | None = None) -> dict[str, int]:
        """What one matrix of ``n_x`` by ``n_y`` points costs (``n_y=None``: the symmetric training matrix), before running it.

        ``circuits`` counts every circuit of the single backend call (mitigation circuits included) as
        ``backend.accounting`` will; ``jobs`` is how many vendor jobs the backend splits them into.
        """
        layer, rows = self._rows_for(n_x, n_y)
        circuits = rows if layer.circuit.measurement.kind == "state" else layer.executor.circuits_per_call(layer.circuit, rows)
        return {"rows": rows, "circuits": circuits, "shots": circuits * (self.shots or 0), "jobs": self.backend.jobs_for(circuits)}

    def gram(self, X: Any, Y: Any = None) -> torch.Tensor:
        """The kernel matrix ``[len(X), len(Y)]`` as a float64 tensor, differentiable in the feature map's weights."""
        return self._pairs(X, Y)[0]

    def matrix(self, X: Any, Y: Any = None, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The kernel matrix ``K[i, j] = k(X[i], Y[j])`` (``Y=None``: ``X`` against itself) as a numpy array.

        With shots it is an estimate; ``return_std=True`` also returns each entry's standard error
        (zeros when exact), which is kept as :attr:`last_std_` either way.
        """
        with torch.no_grad():
            K, std, symmetric = self._pairs(X, Y)
        out = K.detach().cpu().numpy().astype(np.float64)
        errors = np.zeros_like(out) if std is None else std.detach().cpu().numpy().astype(np.float64)
        if self.psd and symmetric:
            out = nearest_psd(out)
        self.last_std_ = errors
        return (out, errors) if return_std else out

    def __call__(self, X: Any, Y: Any = None) -> np.ndarray:
        """``kernel(X, Y)``: the matrix, so ``sklearn.svm.SVC(kernel=kernel)`` works."""
        return self.matrix(X, Y)  # type: ignore[return-value]

    def __repr__(self) -> str:
        fm = self._layer_args["circuit"] is not None and "circuit" or getattr(self.feature_map.encoder, "name", "?")
        return f"{type(self).__name__}(feature_map={fm!r}, n_qubits={self.n_qubits}, backend={self.backend.full_name!r}, shots={self.shots})"
