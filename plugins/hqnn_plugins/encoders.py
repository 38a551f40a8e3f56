"""Built-in data encoders: angle, amplitude, basis, IQP and data re-uploading.

Each one that names a published template builds exactly that template's state for every qubit count
(tests/adapters/pennylane/test_templates.py compares final states with PennyLane's).
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hqnn_core.circuit import Angle, CircuitBuilder
from hqnn_core.errors import ConfigError
from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces import Encoder
from hqnn_core.registry import ComponentRegistry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AngleEncoder(Encoder):
    """Features as rotation angles: PennyLane's AngleEmbedding, or three per qubit as one Rot.

    ``rotation`` R_axis(scale * x_i) on wire i is ``AngleEmbedding``; ``hadamard: true`` puts H on every
    wire first (the dressed quantum circuit of Mari et al. 2020); ``features_per_qubit: 3`` loads
    ``Rot(x_3i, x_3i+1, x_3i+2)`` on wire i (Pérez-Salinas et al. 2020), so d features need ceil(d/3)
    qubits; ``n_features`` below the qubits' capacity leaves the remaining angles at zero (wires
    without a feature get no rotation). ``trainable_scaling: true`` multiplies every angle by its own
    trainable weight (per feature, and per upload when re-uploading), initialised to one.
    """

    name = "angle"

    class Options(_Strict):
        rotation: Literal["X", "Y", "Z"] = "Y"
        scale: float = 1.0
        hadamard: bool = Field(False, description="a Hadamard on every encoded wire before the rotations (Mari et al. 2020)")
        features_per_qubit: Literal[1, 3] = Field(1, description="3: one general rotation Rot(x_3i, x_3i+1, x_3i+2) per wire")
        n_features: int | None = Field(None, ge=1, description="features per sample; default features_per_qubit * n_qubits")
        trainable_scaling: bool = Field(False, description="multiply every angle by a trainable weight (per feature and upload)")

        @model_validator(mode="after")
        def _rot_has_no_axis(self) -> AngleEncoder.Options:
            if self.features_per_qubit == 3 and self.rotation != "Y":  # "Y" is the default, so config() round-trips
                raise ValueError("rotation does not apply with features_per_qubit 3 (each qubit gets one general Rot); remove it")
            return self

    def n_features(self, n_qubits: int) -> int:
        capacity = self.options.features_per_qubit * n_qubits
        n = self.options.n_features or capacity
        if n > capacity:
            per = self.options.features_per_qubit
            raise ConfigError(f"{self.name} encoding of {n} features at {per} per qubit needs at least {math.ceil(n / per)} qubits, "
                              f"got {n_qubits}; raise n_qubits or lower options.n_features.")
        return n

    def weights_per_upload(self, n_qubits: int) -> int:
        return self.n_features(n_qubits) if self.options.trainable_scaling else 0

    def _angle(self, builder: CircuitBuilder, i: int, n_features: int) -> Angle:
        if i >= n_features:
            return 0.0
        angle = builder.input(i, self.options.scale)
        return angle.times(builder.weight(i)) if self.options.trainable_scaling else angle

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        n = self.n_features(len(wires))
        per = self.options.features_per_qubit
        used = wires if per == 3 else wires[:n]
        if self.options.hadamard:
            for w in used:
                builder.add("H", [w])
        for q, w in enumerate(used):
            if per == 3:
                builder.add("Rot", [w], *(self._angle(builder, 3 * q + k, n) for k in range(3)))
            else:
                builder.add(f"R{self.options.rotation}", [w], self._angle(builder, q, n))


class ReuploadingEncoder(AngleEncoder):
    """Angle encoding repeated before every ansatz layer (data re-uploading, Pérez-Salinas et al. 2020).

    Takes the options of ``angle``; with ``trainable_scaling: true`` each upload has its own weight
    per feature, the paper's trainable input scaling (``Rot(w * x)``).
    """

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
    """Features as the amplitudes of a 2^n state (PennyLane's AmplitudeEmbedding), as an RY rotation tree.

    The rotation angles are computed from the features in torch, so gradients reach the inputs and
    every vendor runs the same RY/CNOT circuit with parameter-shift rules. ``copies: c`` prepares
    the tensor product of c copies of the state on c blocks of n/c qubits (the circuit-centric
    classifier of Schuld et al. 2020 embeds ``x ⊗ x``), each block its own rotation tree.
    """

    name = "amplitude"

    class Options(_Strict):
        n_features: int | None = Field(None, ge=1, description="features per sample; default 2**(n_qubits / copies)")
        pad_with: float = 0.0
        normalize: bool = True
        copies: int = Field(1, ge=1, description="tensor-product copies of the state, each on n_qubits / copies qubits")

    def min_qubits(self) -> int:
        return self.options.copies

    def _block(self, n_qubits: int) -> int:
        """Qubits of one copy."""
        copies = self.options.copies
        if n_qubits % copies:
            raise ConfigError(f"amplitude encoding with {copies} copies needs a multiple of {copies} qubits, got {n_qubits}.")
        return n_qubits // copies

    def n_features(self, n_qubits: int) -> int:
        k = self._block(n_qubits)
        size = 1 << k
        n = self.options.n_features or size
        if n > size:
            raise ConfigError(f"amplitude encoding of {n} features needs at least {math.ceil(math.log2(n))} qubits per copy, "
                              f"got {n_qubits} qubits for {self.options.copies} copies.")
        return n

    def n_encoded(self, n_qubits: int) -> int:
        return self.options.copies * ((1 << self._block(n_qubits)) - 1)

    def _amplitudes(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        size = 1 << n_qubits
        if x.shape[1] < size:
            x = torch.cat([x, x.new_full((x.shape[0], size - x.shape[1]), self.options.pad_with)], dim=1)
        norm = torch.linalg.vector_norm(x, dim=1, keepdim=True)
        return x / norm if self.options.normalize else x

    def check_inputs(self, x: torch.Tensor, n_qubits: int) -> None:
        expected = self.n_features(n_qubits)
        self._require(x.shape[1] == expected, f"amplitude encoding expects {expected} features per sample, got {x.shape[1]}; set options.n_features.")
        padding = ((1 << self._block(n_qubits)) - x.shape[1]) * self.options.pad_with**2
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
        k = self._block(n_qubits)
        amps = self._amplitudes(x, k)
        batch = amps.shape[0]
        thetas = []
        for t in range(k):  # wire t is rotated, controlled by the prefix on wires 0..t-1
            if t == k - 1:  # leaves: signed amplitudes carry the signs
                pairs = amps.reshape(batch, -1, 2)
            else:
                prefix_sq = (amps**2).reshape(batch, 1 << (t + 1), -1).sum(dim=2)
                pairs = _safe_sqrt(prefix_sq).reshape(batch, -1, 2)
            alpha = 2 * _safe_atan2(pairs[..., 1], pairs[..., 0])
            thetas.append(alpha @ _ucry_matrix(t).to(alpha) / (1 << t))  # theta = M^T alpha / 2^t
        return torch.cat(thetas * self.options.copies, dim=1)

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        k = self._block(len(wires))
        slot = 0
        for c in range(self.options.copies):
            block = wires[c * k : (c + 1) * k]
            for t, target in enumerate(block):
                size = 1 << t
                for i in range(size):
                    builder.add("RY", [target], builder.input(slot))
                    slot += 1
                    if t:
                        flipped = _gray(i) ^ _gray((i + 1) % size)
                        control = t - 1 - (flipped.bit_length() - 1)  # bit b of a mask is control wire t-1-b
                        builder.add("CNOT", [block[control], target])


@hookimpl
def hqnn_register_encoders(registry: ComponentRegistry[Encoder]) -> None:
    for cls in (AngleEncoder, AmplitudeEncoder, BasisEncoder, IQPEncoder, ReuploadingEncoder):
        registry.add(cls)
