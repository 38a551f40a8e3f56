"""Options and circuits of the built-in ansätze (the torch halves, which draw initial weights, are :mod:`hqnn_plugins.ansatze`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.circuit import CircuitBuilder
from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces.layout import AnsatzLayout
from hqnn_core.registry import ComponentRegistry

#: Where two-qubit entanglers go. ``ring``: i with i+1 (mod n), one gate on two wires (PennyLane's
#: ``BasicEntanglerLayers``); ``double``: pairs (0,1), (2,3), ...; ``double_odd``: (1,2), (3,4), ...;
#: ``brick``: ``double`` on even layers and ``double_odd`` on odd ones (the data re-uploading classifier
#: of Pérez-Salinas et al. 2020 as qml-benchmarks builds it); ``none``: no entanglers (separable).
Pattern = Literal["ring", "double", "double_odd", "brick", "none"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


def entangler_pairs(n: int, pattern: Pattern, layer: int = 0) -> list[tuple[int, int]]:
    """The (control, target) positions ``pattern`` entangles on ``n`` wires in layer ``layer``."""
    if pattern == "brick":
        pattern = "double" if layer % 2 == 0 else "double_odd"
    if pattern == "ring":
        return [(0, 1)] if n == 2 else [(i, (i + 1) % n) for i in range(n)] if n > 2 else []
    if pattern == "double":
        return [(i, i + 1) for i in range(0, n - 1, 2)]
    if pattern == "double_odd":
        return [(i, i + 1) for i in range(1, n - 1, 2)]
    return []


def _entangle(builder: CircuitBuilder, wires: list[int], gate: str, pairs: list[tuple[int, int]]) -> None:
    for a, b in pairs:
        builder.add(gate, [wires[a], wires[b]])


def _rotations(builder: CircuitBuilder, wires: list[int], gates: tuple[str, ...]) -> None:
    """Each gate of ``gates`` on every wire in turn, reading the layer's weights in order (``Rot`` reads three)."""
    j = 0
    for w in wires:
        for gate in gates:
            arity = 3 if gate == "Rot" else 1
            builder.add(gate, [w], *(builder.weight(j + k) for k in range(arity)))
            j += arity


class HardwareEfficientLayout(AnsatzLayout):
    """Layers of single-qubit rotations on every wire followed by entanglers (Kandala et al. 2017).

    ``pattern`` places the entanglers; ``final_entangler: false`` leaves the last layer without them
    (the data re-uploading classifier ends on rotations only).
    """

    name = "hardware_efficient"

    class Options(_Strict):
        rotations: tuple[Literal["RX", "RY", "RZ", "Rot"], ...] = Field(("RY", "RZ"), strict=False)  # YAML and config() give lists
        entangler: Literal["CNOT", "CZ"] = "CNOT"
        pattern: Pattern = Field("ring", description="entangler placement: ring, double, double_odd, brick or none")
        final_entangler: bool = Field(True, description="false: the last layer has rotations only")

    def weights_per_layer(self, n_qubits: int) -> int:
        return sum(3 if g == "Rot" else 1 for g in self.options.rotations) * n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        _rotations(builder, wires, self.options.rotations)
        if self.options.final_entangler or builder.n_layers is None or layer < builder.n_layers - 1:
            _entangle(builder, wires, self.options.entangler, entangler_pairs(len(wires), self.options.pattern, layer))


class StronglyEntanglingLayout(AnsatzLayout):
    """General rotations then entanglers at a range that grows with depth: PennyLane's StronglyEntanglingLayers.

    From Schuld et al. 2020: ``Rot`` on every wire, then wire i entangles wire i + r (mod n) for every
    i, with range r = (layer mod (n - 1)) + 1; two wires get both CNOT(0, 1) and CNOT(1, 0), one wire none.
    """

    name = "strongly_entangling"

    class Options(_Strict):
        entangler: Literal["CNOT", "CZ"] = "CNOT"

    def weights_per_layer(self, n_qubits: int) -> int:
        return 3 * n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        n = len(wires)
        _rotations(builder, wires, ("Rot",))
        if n > 1:
            r = (layer % (n - 1)) + 1
            _entangle(builder, wires, self.options.entangler, [(i, (i + r) % n) for i in range(n)])


class BasicEntanglerLayout(AnsatzLayout):
    """PennyLane's ``BasicEntanglerLayers``: one rotation per wire then a CNOT ring (one CNOT on two wires)."""

    name = "basic_entangler"

    class Options(_Strict):
        rotation: Literal["RX", "RY", "RZ"] = "RX"

    def weights_per_layer(self, n_qubits: int) -> int:
        return n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        _rotations(builder, wires, (self.options.rotation,))
        _entangle(builder, wires, "CNOT", entangler_pairs(len(wires), "ring"))


class SeparableLayout(AnsatzLayout):
    """A general rotation on every wire and no entangler: the separable baselines of Bowles et al. 2024.

    Those baselines (qml-benchmarks' separable models) ask whether a model needs entanglement at all.
    """

    name = "separable"

    def weights_per_layer(self, n_qubits: int) -> int:
        return 3 * n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        _rotations(builder, wires, ("Rot",))


LAYOUTS: tuple[type[AnsatzLayout], ...] = (HardwareEfficientLayout, StronglyEntanglingLayout, BasicEntanglerLayout, SeparableLayout)


@hookimpl
def hqnn_register_ansatze(registry: ComponentRegistry[AnsatzLayout]) -> None:
    for layout in LAYOUTS:
        torch_class = layout.__name__.removesuffix("Layout") + "Ansatz"
        registry.add(f"hqnn_plugins.ansatze:{torch_class}", name=layout.name, layout=layout)
