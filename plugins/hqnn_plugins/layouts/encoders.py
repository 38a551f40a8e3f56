"""Options and circuits of the built-in encoders (the torch halves are :mod:`hqnn_plugins.encoders`)."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hqnn_core.circuit import Angle, CircuitBuilder
from hqnn_core.errors import ConfigError
from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces.layout import EncoderLayout
from hqnn_core.registry import ComponentRegistry

_TORCH = "hqnn_plugins.encoders"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class AngleLayout(EncoderLayout):
    """The gates and features of the ``angle`` encoding (:class:`hqnn_plugins.encoders.AngleEncoder`)."""

    name = "angle"

    class Options(_Strict):
        rotation: Literal["X", "Y", "Z"] = "Y"
        scale: float = 1.0
        hadamard: bool = Field(False, description="a Hadamard on every encoded wire before the rotations (Mari et al. 2020)")
        features_per_qubit: Literal[1, 3] = Field(1, description="3: one general rotation Rot(x_3i, x_3i+1, x_3i+2) per wire")
        n_features: int | None = Field(None, ge=1, description="features per sample; default features_per_qubit * n_qubits")
        trainable_scaling: bool = Field(False, description="multiply every angle by a trainable weight (per feature and upload)")

        @model_validator(mode="after")
        def _rot_has_no_axis(self) -> AngleLayout.Options:
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


class ReuploadingLayout(AngleLayout):
    """The ``angle`` gates before every ansatz layer (:class:`hqnn_plugins.encoders.ReuploadingEncoder`)."""

    name = "reuploading"
    reupload: ClassVar[bool] = True


class BasisLayout(EncoderLayout):
    """Feature i flips wire i as RX(pi * x_i) (:class:`hqnn_plugins.encoders.BasisEncoder`)."""

    name = "basis"

    def n_features(self, n_qubits: int) -> int:
        return n_qubits

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        for i, w in enumerate(wires):
            builder.add("RX", [w], builder.input(i, math.pi))


class IQPLayout(EncoderLayout):
    """H, RZ(x_i) and RZZ(x_i x_j) on every pair, repeated (:class:`hqnn_plugins.encoders.IQPEncoder`)."""

    name = "iqp"

    class Options(_Strict):
        repeats: int = Field(1, ge=1)

    def n_features(self, n_qubits: int) -> int:
        return n_qubits

    def n_encoded(self, n_qubits: int) -> int:
        return n_qubits + n_qubits * (n_qubits - 1) // 2

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


def gray(i: int) -> int:
    """The ``i``-th Gray code: consecutive codes differ in one bit (the rotation tree's CNOT controls)."""
    return i ^ (i >> 1)


class AmplitudeLayout(EncoderLayout):
    """The RY/CNOT rotation tree of each copy's amplitudes (:class:`hqnn_plugins.encoders.AmplitudeEncoder`)."""

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
                        flipped = gray(i) ^ gray((i + 1) % size)
                        control = t - 1 - (flipped.bit_length() - 1)  # bit b of a mask is control wire t-1-b
                        builder.add("CNOT", [block[control], target])


LAYOUTS: tuple[type[EncoderLayout], ...] = (AngleLayout, AmplitudeLayout, BasisLayout, IQPLayout, ReuploadingLayout)
#: the torch half of each, in :mod:`hqnn_plugins.encoders`
_CLASSES = {"angle": "AngleEncoder", "amplitude": "AmplitudeEncoder", "basis": "BasisEncoder", "iqp": "IQPEncoder",
            "reuploading": "ReuploadingEncoder"}


@hookimpl
def hqnn_register_encoders(registry: ComponentRegistry[EncoderLayout]) -> None:
    for layout in LAYOUTS:
        registry.add(f"{_TORCH}:{_CLASSES[layout.name]}", name=layout.name, layout=layout)
