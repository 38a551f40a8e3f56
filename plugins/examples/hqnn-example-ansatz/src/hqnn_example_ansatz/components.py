"""An encoder and an ansatz written only against hqnn's public interfaces."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hqnn_core import Ansatz, Encoder


class DenseAngleEncoder(Encoder):
    """Two features per qubit: RY(x_2i) then RZ(x_2i+1) (dense angle encoding, LaRose & Coyle 2020)."""

    name = "example.dense_angle"

    def n_features(self, n_qubits: int) -> int:
        return 2 * n_qubits

    def add_ops(self, builder, wires):
        for i, w in enumerate(wires):
            builder.add("RY", [w], builder.input(2 * i))
            builder.add("RZ", [w], builder.input(2 * i + 1))


class LadderAnsatz(Ansatz):
    """RY on every wire, then CZ between neighbours (an open ladder, no wrap-around)."""

    name = "example.ladder"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        rotation: str = Field("RY", pattern="^R[XYZ]$")

    def weights_per_layer(self, n_qubits: int) -> int:
        return n_qubits

    def add_layer(self, builder, wires, layer):
        for j, w in enumerate(wires):
            builder.add(self.options.rotation, [w], builder.weight(j))
        for a, b in zip(wires, wires[1:]):
            builder.add("CZ", [a, b])
