"""Built-in ansätze: hardware-efficient, strongly entangling and basic entangler layers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.circuit import CircuitBuilder
from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces import Ansatz
from hqnn_core.registry import ComponentRegistry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def _ring(builder: CircuitBuilder, wires: list[int], gate: str, distance: int = 1) -> None:
    """Entangle wire i with wire i+distance (mod n); two wires get one gate, one wire none."""
    n = len(wires)
    if n == 2:
        builder.add(gate, [wires[0], wires[1]])
    elif n > 2:
        for i in range(n):
            builder.add(gate, [wires[i], wires[(i + distance) % n]])


class HardwareEfficientAnsatz(Ansatz):
    """Layers of single-qubit rotations on every wire followed by a ring of entanglers (Kandala et al. 2017)."""

    name = "hardware_efficient"

    class Options(_Strict):
        rotations: tuple[Literal["RX", "RY", "RZ"], ...] = Field(("RY", "RZ"), strict=False)  # YAML and config() give lists
        entangler: Literal["CNOT", "CZ"] = "CNOT"

    def weights_per_layer(self, n_qubits: int) -> int:
        return len(self.options.rotations) * n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        j = 0
        for w in wires:
            for gate in self.options.rotations:
                builder.add(gate, [w], builder.weight(j))
                j += 1
        _ring(builder, wires, self.options.entangler)


class StronglyEntanglingAnsatz(Ansatz):
    """General rotations on every wire then entanglers at a range that grows with depth (Schuld et al. 2020)."""

    name = "strongly_entangling"

    class Options(_Strict):
        entangler: Literal["CNOT", "CZ"] = "CNOT"

    def weights_per_layer(self, n_qubits: int) -> int:
        return 3 * n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        n = len(wires)
        for i, w in enumerate(wires):
            builder.add("Rot", [w], builder.weight(3 * i), builder.weight(3 * i + 1), builder.weight(3 * i + 2))
        if n > 1:
            _ring(builder, wires, self.options.entangler, distance=(layer % (n - 1)) + 1)


class BasicEntanglerAnsatz(Ansatz):
    """One rotation per wire then a CNOT ring: the smallest trainable entangling layer."""

    name = "basic_entangler"

    class Options(_Strict):
        rotation: Literal["RX", "RY", "RZ"] = "RX"

    def weights_per_layer(self, n_qubits: int) -> int:
        return n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        for j, w in enumerate(wires):
            builder.add(self.options.rotation, [w], builder.weight(j))
        _ring(builder, wires, "CNOT")


@hookimpl
def hqnn_register_ansatze(registry: ComponentRegistry[Ansatz]) -> None:
    for cls in (HardwareEfficientAnsatz, StronglyEntanglingAnsatz, BasicEntanglerAnsatz):
        registry.add(cls)
