"""The fidelity kernel ``k(x, x') = |<φ(x')|φ(x)>|²`` (Havlíček et al. 2019; Schuld & Killoran 2019)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import torch

from hqnn_core.circuit import MAX_PROBS_WIRES
from hqnn_core.components import ComponentSpec
from hqnn_core.errors import ConfigError
from hqnn_core.kernels.base import QuantumKernelBase
from hqnn_core.kernels.circuits import compute_uncompute_circuit
from hqnn_core.layer import QuantumLayer

Method = Literal["auto", "state", "compute_uncompute"]


class FidelityKernel(QuantumKernelBase):
    """State fidelity of a feature map, by state overlap or by compute-uncompute on any backend.

    ``method="state"`` takes the overlaps of the feature map's statevectors (backends that declare
    ``state``, like ``torch``; one simulation per point). ``method="compute_uncompute"`` runs
    ``U(x')† U(x)`` for every pair and reads the probability of all zeros, which works on every
    backend, with shots and mitigation; all pairs of a Gram matrix go in one backend call, and a
    symmetric ``K(X, X)`` evaluates each pair ``i < j`` once and sets the diagonal to 1 (exact for a
    pure state) unless ``evaluate_diagonal=True`` (to see a noisy device's own diagonal).
    ``method="auto"`` takes ``state`` when the backend declares it and the kernel is exact and
    unmitigated, else compute-uncompute.

    With shots an entry is the frequency of all zeros among ``shots`` samples; its standard error is
    binomial, ``sqrt(p (1 - p) / shots)``, at the smoothed ``p = (count + 1) / (shots + 2)`` so that an
    entry with no (or only) zeros does not claim to be exact.

    Example:
        >>> import numpy as np
        >>> kernel = FidelityKernel(encoder="iqp", n_qubits=2)
        >>> K = kernel(np.array([[0.1, 0.2], [0.3, -0.4]]))
        >>> K.shape, float(K[0, 0])
        ((2, 2), 1.0)
    """

    def __init__(
        self,
        encoder: ComponentSpec | None = None,
        circuit: Any = None,
        n_qubits: int | None = None,
        backend: ComponentSpec = "torch",
        shots: int | None = None,
        *,
        method: Method = "auto",
        evaluate_diagonal: bool = False,
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
        self._requested_method = method
        super().__init__(encoder, circuit, n_qubits, backend, shots, ansatz=ansatz, layers=layers, inputs=inputs, weights=weights,
                         weight_shapes=weight_shapes, backend_options=backend_options, gradient=gradient, mitigation=mitigation,
                         seed=seed, init=init, psd=psd)
        if not isinstance(evaluate_diagonal, bool):
            raise ConfigError(f"evaluate_diagonal must be True or False, got {evaluate_diagonal!r}.")
        self.evaluate_diagonal = evaluate_diagonal
        if ansatz is not None and not self.feature_map.encoder.reupload:
            raise ConfigError(f"an ansatz after a single encoding cancels in a fidelity (U(x')† U(x) = V(x')† W† W V(x)), so its weights "
                              f"would never train; use a re-uploading encoder (encoder='reuploading') or drop ansatz=. Encoder "
                              f"{self.feature_map.encoder.name!r} encodes once.")
        if self.method == "compute_uncompute":
            self._check_width()
            self._overlaps = self._layer(measure="probs", circuit=compute_uncompute_circuit(self.feature_map.circuit))

    def _feature_map_layer(self) -> QuantumLayer:
        self.method = self._choose_method(self._requested_method)
        return self._layer(measure="state") if self.method == "state" else self._layer()

    def _choose_method(self, method: str) -> str:
        can_state = self._exact_states()
        if method == "auto":
            method = "state" if can_state else "compute_uncompute"
        if method == "state" and not can_state:
            raise ConfigError(f"method='state' needs exact statevectors: a backend that declares them (backend {self.backend.full_name!r} "
                              f"{'does' if self.backend.capabilities.state else 'does not'}), no shots, no mitigation and a backprop "
                              "gradient. Use method='compute_uncompute' (any backend) or method='auto'.")
        if method not in ("state", "compute_uncompute"):
            raise ConfigError(f"method={method!r} is not a fidelity method; use 'auto', 'state' or 'compute_uncompute'.")
        return method

    def _check_width(self) -> None:
        if self.n_qubits > MAX_PROBS_WIRES:
            raise ConfigError(f"compute-uncompute reads the all-zeros probability among 2**{self.n_qubits} outcomes; at most "
                              f"{MAX_PROBS_WIRES} qubits are supported. Use backend='torch' with method='state' for wider feature maps.")

    def _rows_for(self, n_x: int, n_y: int | None) -> tuple[QuantumLayer, int]:
        if self.method == "state":
            return self.feature_map, n_x + (n_y or 0)
        if n_y is not None:
            return self._overlaps, n_x * n_y
        return self._overlaps, n_x * (n_x - 1) // 2 + (n_x if self.evaluate_diagonal else 0)

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.method == "state":
            return self._by_states(x, y), None
        return self._by_compute_uncompute(x, y)

    def _by_states(self, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        states = self.feature_map(x if y is None else torch.cat([x, y]))  # one simulation of every point
        sx, sy = (states, states) if y is None else (states[: x.shape[0]], states[x.shape[0]:])
        K = (sx @ sy.conj().T).abs().square().double()
        if y is None:
            eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
            K = K * (1 - eye) + eye
        return K

    def _by_compute_uncompute(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        vx = self.feature_map.slot_values(x)
        n, m = x.shape[0], (x if y is None else y).shape[0]
        if y is None:
            i, j = torch.triu_indices(n, n, offset=0 if self.evaluate_diagonal else 1)
            vy = vx
        else:
            i, j = torch.arange(n).repeat_interleave(m), torch.arange(m).repeat(n)
            vy = self.feature_map.slot_values(y)
        K = torch.zeros(n, m, dtype=torch.float64, device=vx.device)
        std = torch.zeros(n, m, dtype=torch.float64) if self.shots is not None else None
        if i.numel():
            probs = self._overlaps(torch.cat([vx[i], vy[j]], dim=1).double())[:, 0]  # every pair in one backend call
            K = K.index_put((i, j), probs)
            if std is not None and self.shots is not None:
                shots = self.shots
                smoothed = (probs.detach().cpu() * shots + 1) / (shots + 2)
                std = std.index_put((i.cpu(), j.cpu()), (smoothed * (1 - smoothed) / shots).sqrt())
        if y is None:
            off = K.triu(1)
            diag = torch.diagonal(K) if self.evaluate_diagonal else torch.ones(n, dtype=K.dtype, device=K.device)
            K = off + off.T + torch.diag(diag)
            if std is not None:
                std = std.triu(1) + std.triu(1).T + torch.diag(torch.diagonal(std))
        return K, std
