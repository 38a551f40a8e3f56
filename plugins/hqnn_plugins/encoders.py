"""Built-in data encoders: angle, amplitude, basis, IQP and data re-uploading."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.circuit import CircuitBuilder
from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces import Encoder
from hqnn_core.registry import ComponentRegistry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AngleEncoder(Encoder):
    """One feature per qubit as a rotation angle: R_axis(scale * x_i) on wire i."""

    name = "angle"

    class Options(_Strict):
        rotation: Literal["X", "Y", "Z"] = "Y"
        scale: float = 1.0

    def n_features(self, n_qubits: int) -> int:
        return n_qubits

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        for i, w in enumerate(wires):
            builder.add(f"R{self.options.rotation}", [w], builder.input(i, self.options.scale))


class ReuploadingEncoder(AngleEncoder):
    """Angle encoding repeated before every ansatz layer (data re-uploading, Pérez-Salinas et al. 2020)."""

    name = "reuploading"
    reupload: ClassVar[bool] = True


class BasisEncoder(Encoder):
    """Bits as computational basis states: feature i in {0, 1} flips wire i (as RX(pi * x_i))."""

    name = "basis"

    def n_features(self, n_qubits: int) -> int:
        return n_qubits

    def check_inputs(self, x: torch.Tensor, n_qubits: int) -> None:
        bad = ~((x == 0) | (x == 1))
        if bool(bad.any()):
            idx = tuple(int(i) for i in bad.nonzero()[0])
            self._require(False, f"basis encoding takes 0/1 features; found {x[idx].item()!r} at {list(idx)}. Binarise the data first.")

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        for i, w in enumerate(wires):
            builder.add("RX", [w], builder.input(i, math.pi))


class IQPEncoder(Encoder):
    """IQP (ZZ) feature map: H, RZ(x_i), then RZZ(x_i x_j) on every pair, repeated (Havlíček et al. 2019)."""

    name = "iqp"

    class Options(_Strict):
        repeats: int = Field(1, ge=1)

    def n_features(self, n_qubits: int) -> int:
        return n_qubits

    def n_encoded(self, n_qubits: int) -> int:
        return n_qubits + n_qubits * (n_qubits - 1) // 2

    def transform(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        i, j = torch.triu_indices(n_qubits, n_qubits, offset=1, device=x.device)
        return torch.cat([x, x[:, i] * x[:, j]], dim=1)

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        n = len(wires)
        pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
        for _ in range(self.options.repeats):
            for w in wires:
                builder.add("H", [w])
            for i, w in enumerate(wires):
                builder.add("RZ", [w], builder.input(i))
            for p, (a, b) in enumerate(pairs):
                builder.add("RZZ", [wires[a], wires[b]], builder.input(n + p))


def _gray(i: int) -> int:
    return i ^ (i >> 1)


def _ucry_matrix(k: int) -> torch.Tensor:
    """M with alpha = M theta for a uniformly controlled RY over k controls (Möttönen et al. 2004)."""
    size = 1 << k
    return torch.tensor([[(-1) ** bin(p & _gray(i)).count("1") for i in range(size)] for p in range(size)], dtype=torch.float64)


def _safe_sqrt(s: torch.Tensor) -> torch.Tensor:
    positive = s > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, s, torch.ones_like(s))), torch.zeros_like(s))


def _safe_atan2(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    zero = (y == 0) & (x == 0)
    return torch.atan2(torch.where(zero, torch.zeros_like(y), y), torch.where(zero, torch.ones_like(x), x))


class AmplitudeEncoder(Encoder):
    """Features as the amplitudes of a 2^n state, compiled to an RY rotation tree (real data).

    The rotation angles are computed from the features in torch, so gradients reach the inputs and
    every vendor runs the same RY/CNOT circuit with parameter-shift rules.
    """

    name = "amplitude"

    class Options(_Strict):
        n_features: int | None = Field(None, ge=1, description="features per sample; default 2**n_qubits")
        pad_with: float = 0.0
        normalize: bool = True

    def n_features(self, n_qubits: int) -> int:
        size = 1 << n_qubits
        n = self.options.n_features or size
        if n > size:
            from hqnn_core.errors import ConfigError

            raise ConfigError(f"amplitude encoding of {n} features needs at least {math.ceil(math.log2(n))} qubits, got {n_qubits}.")
        return n

    def n_encoded(self, n_qubits: int) -> int:
        return (1 << n_qubits) - 1

    def _amplitudes(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        size = 1 << n_qubits
        if x.shape[1] < size:
            x = torch.cat([x, x.new_full((x.shape[0], size - x.shape[1]), self.options.pad_with)], dim=1)
        norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
        return x / norm if self.options.normalize else x

    def check_inputs(self, x: torch.Tensor, n_qubits: int) -> None:
        expected = self.n_features(n_qubits)
        self._require(x.shape[1] == expected, f"amplitude encoding expects {expected} features per sample, got {x.shape[1]}; set options.n_features.")
        padding = ((1 << n_qubits) - x.shape[1]) * self.options.pad_with**2
        norms = torch.sqrt(torch.linalg.vector_norm(x, dim=1) ** 2 + padding)
        if self.options.normalize:
            self._require(
                bool((norms > 0).all()),
                "amplitude encoding got an all-zero feature vector, which is not a state; set pad_with to a non-zero value or drop the row.",
            )
        else:
            self._require(
                bool(torch.allclose(norms, torch.ones_like(norms), atol=1e-5)),
                "amplitude encoding with normalize=false needs unit-norm (padded) feature vectors; normalise them or set normalize: true.",
            )

    def transform(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        amps = self._amplitudes(x, n_qubits)
        batch = amps.shape[0]
        thetas = []
        for k in range(n_qubits):  # wire k is rotated, controlled by the prefix on wires 0..k-1
            if k == n_qubits - 1:  # leaves: signed amplitudes carry the signs
                pairs = amps.reshape(batch, -1, 2)
                alpha = 2 * _safe_atan2(pairs[..., 1], pairs[..., 0])
            else:
                prefix_sq = (amps**2).reshape(batch, 1 << (k + 1), -1).sum(dim=2)
                pairs = _safe_sqrt(prefix_sq).reshape(batch, -1, 2)
                alpha = 2 * _safe_atan2(pairs[..., 1], pairs[..., 0])
            thetas.append(alpha @ _ucry_matrix(k).to(alpha) / (1 << k))  # theta = M^T alpha / 2^k
        return torch.cat(thetas, dim=1)

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        slot = 0
        for k, target in enumerate(wires):
            size = 1 << k
            for i in range(size):
                builder.add("RY", [target], builder.input(slot))
                slot += 1
                if k:
                    flipped = _gray(i) ^ _gray((i + 1) % size)
                    control = k - 1 - (flipped.bit_length() - 1)  # bit b of a mask is control wire k-1-b
                    builder.add("CNOT", [wires[control], target])


@hookimpl
def hqnn_register_encoders(registry: ComponentRegistry[Encoder]) -> None:
    for cls in (AngleEncoder, AmplitudeEncoder, BasisEncoder, IQPEncoder, ReuploadingEncoder):
        registry.add(cls)
