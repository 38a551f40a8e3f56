"""The projected quantum kernel of Huang et al. 2021 (Nat. Commun. 12, 2631), from one-qubit reduced states.

``k(x, x') = exp(-γ Σ_q ||ρ_q(x) - ρ_q(x')||_F²)``, where ``ρ_q = (I + <X_q> X + <Y_q> Y + <Z_q> Z) / 2``
is qubit ``q``'s reduced state, so ``||ρ_q - ρ_q'||_F² = ½ Σ_P (<P_q> - <P_q>')²``. Only ``3 n``
Pauli expectations per point are needed, measured on any backend (one call for every point), or
read from the statevectors where the backend declares them and the kernel is exact (torch).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from hqnn_core.components import ComponentSpec
from hqnn_core.errors import ConfigError
from hqnn_core.kernels.base import QuantumKernelBase
from hqnn_core.layer import QuantumLayer


class ProjectedKernel(QuantumKernelBase):
    """A Gaussian kernel on the one-qubit reduced states of a feature map (Huang et al. 2021, eq. 9).

    With shots each Pauli expectation has variance ``(1 - <P>²) / shots``; the standard error of an
    entry propagates them to first order (the delta method): ``γ k sqrt(Σ Δ² (var + var'))``. The
    diagonal of ``K(X, X)`` is exactly 1 (the distance of a point to itself is zero).

    qml-benchmarks' ``ProjectedQuantumKernel`` writes ``exp(-γ' Σ_P (Δ<P>)²)`` without the ½ of the
    Frobenius norm, so its ``γ'`` is ``gamma / 2`` here; :meth:`reduced_bloch_vectors` gives the
    expectations its default ``γ' = 1 / (var · n_features)`` is computed from.

    Example:
        >>> import numpy as np
        >>> kernel = ProjectedKernel(encoder="angle", n_qubits=2, gamma=0.5)
        >>> round(float(kernel(np.array([[0.0, 0.0]]), np.array([[np.pi, 0.0]]))[0, 0]), 6)  # Δ<Z0> = 2: exp(-0.5 * ½ * 4)
        0.367879
    """

    def __init__(
        self,
        encoder: ComponentSpec | None = None,
        circuit: Any = None,
        n_qubits: int | None = None,
        backend: ComponentSpec = "torch",
        shots: int | None = None,
        *,
        gamma: float = 1.0,
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
        if isinstance(gamma, bool) or not isinstance(gamma, int | float) or not gamma > 0:
            raise ConfigError(f"gamma must be a positive number (the kernel's inverse width), got {gamma!r}.")
        self.gamma = float(gamma)
        super().__init__(encoder, circuit, n_qubits, backend, shots, ansatz=ansatz, layers=layers, inputs=inputs, weights=weights,
                         weight_shapes=weight_shapes, backend_options=backend_options, gradient=gradient, mitigation=mitigation,
                         seed=seed, init=init, psd=psd)

    def _feature_map_layer(self) -> QuantumLayer:
        if self._exact_states():  # reduced states straight from the statevectors: no per-Pauli measurement settings
            return self._layer(measure="state")
        n = self._layer().n_qubits
        return self._layer(observables=[f"{p}{q}" for q in range(n) for p in "XYZ"])

    def reduced_bloch_vectors(self, X: Any) -> torch.Tensor:
        """``[N, n_qubits, 3]``: each qubit's ``(<X>, <Y>, <Z>)`` after the feature map (its reduced state's Bloch vector)."""
        return self._bloch(self._rows(X, "X")).reshape(-1, self.n_qubits, 3)

    def _bloch(self, rows: torch.Tensor) -> torch.Tensor:
        """``[N, 3 n]`` Pauli expectations, ``X0 Y0 Z0 X1 ...``, in one backend call."""
        out = self.feature_map(rows)
        if not out.is_complex():
            return out.double()
        n = self.n_qubits
        values = []
        for q in range(n):  # rho_q[a, b] = sum over the other wires of psi[.., a, ..] conj(psi[.., b, ..]); wire 0 is the MSB
            psi = out.reshape(out.shape[0], 2**q, 2, 2 ** (n - q - 1))
            rho = torch.einsum("nlar,nlbr->nab", psi, psi.conj())
            values += [2 * rho[:, 0, 1].real, -2 * rho[:, 0, 1].imag, (rho[:, 0, 0] - rho[:, 1, 1]).real]
        return torch.stack(values, dim=1).double()

    def _rows_for(self, n_x: int, n_y: int | None) -> tuple[QuantumLayer, int]:
        return self.feature_map, n_x + (n_y or 0)

    def _evaluate(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        values = self._bloch(x if y is None else torch.cat([x, y]))  # every point in one backend call
        ex, ey = (values, values) if y is None else (values[: x.shape[0]], values[x.shape[0]:])
        delta = ex[:, None, :] - ey[None, :, :]
        K = torch.exp(-self.gamma * 0.5 * delta.square().sum(-1))
        std = None
        if self.shots is not None:
            var = ((1 - values.detach().square()) / self.shots).clamp(min=0)
            vx, vy = (var, var) if y is None else (var[: x.shape[0]], var[x.shape[0]:])
            spread = (delta.detach().square() * (vx[:, None, :] + vy[None, :, :])).sum(-1)
            std = self.gamma * K.detach() * spread.sqrt()
        if y is None:
            eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
            K = K * (1 - eye) + eye
            std = None if std is None else std * (1 - eye)
        return K, std
