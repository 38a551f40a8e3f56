"""PennyLane QNodes and tapes to neutral circuits and back (``hqnn_core.convert``'s PennyLane half).

A QNode is traced the way ``qml.qnn.TorchLayer`` calls it, ``qnode(inputs, **weights)``, with torch
tensors that require gradients; its tape is decomposed into the neutral gate set (templates such as
``AngleEmbedding``, ``StronglyEntanglingLayers`` and ``IQPEmbedding`` unroll to rotations, CNOTs and
``MultiRZ``'s CNOT ladder). Each gate angle is then read off autograd: a parameter that depends on
one entry of the inputs or weights is affine in it when its second derivative vanishes, and one
that depends on two entries is ``k (s1 + u)(s2 + v) + o`` when it is bilinear in them; anything
else is refused naming the gate. A tape (no inputs or weights) keeps its angles as constants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pennylane as qml
import torch

from hqnn_core.circuit import Circuit, CircuitBuilder, Factor, Measurement, Observable, PauliTerm, SlotRef
from hqnn_core.errors import CapabilityError, ConfigError
from hqnn_core.interfaces.converter import Converter

from .translate import FIXED, PARAMETRIC, observable

#: PennyLane operator name -> neutral gate name (the inverse of the adapter's own translation).
_NEUTRAL = {cls.__name__: name for name, cls in PARAMETRIC.items()} | {
    "Identity": "I", "Hadamard": "H", "PauliX": "X", "PauliY": "Y", "PauliZ": "Z", "S": "S", "T": "T", "SX": "SX",
    "CNOT": "CNOT", "CZ": "CZ", "SWAP": "SWAP",
}
_ADJOINT = {"S": "Sdg", "T": "Tdg"}


def _stop_at(op: Any) -> bool:
    if op.name in _NEUTRAL:
        return True
    return op.name.startswith("Adjoint(") and op.base.name in _ADJOINT


class _Probe:
    """Reads slot definitions off autograd: which input or weight entries an angle depends on, and how."""

    def __init__(self, inputs: torch.Tensor, weights: list[torch.Tensor]) -> None:
        self.leaves = [inputs, *weights]
        sizes = [t.numel() for t in weights]
        self.weight_start = [sum(sizes[:i]) for i in range(len(sizes))]

    def _entry(self, leaf: int, flat: int) -> tuple[str, int]:
        return ("input", flat) if leaf == 0 else ("weight", self.weight_start[leaf - 1] + flat)

    def slot(self, value: Any, gate: str) -> SlotRef | float:
        if not isinstance(value, torch.Tensor) or not value.requires_grad:
            return float(value.detach()) if isinstance(value, torch.Tensor) else float(value)
        grads = torch.autograd.grad(value, self.leaves, create_graph=True, allow_unused=True)
        used = [(leaf, int(i), g.reshape(-1)[i]) for leaf, g in enumerate(grads) if g is not None
                for i in torch.nonzero(g.reshape(-1).detach()).reshape(-1)]
        if not used:
            return float(value.detach())
        if len(used) > 2:
            raise self._refusal(gate, f"depends on {len(used)} entries of the inputs and weights")
        second = [[self._second(g, leaf, i) for leaf, i, _ in used] for _, _, g in used]
        entries = [(self._entry(leaf, i), float(self.leaves[leaf].detach().reshape(-1)[i])) for leaf, i, _ in used]
        if len(used) == 1:
            if second[0][0] != 0.0:
                raise self._refusal(gate, "is not affine in the entry it reads")
            (source, index), s = entries[0]
            slope = float(used[0][2].detach())
            return SlotRef(source, index, slope, float(value.detach()) - slope * s)  # type: ignore[arg-type]
        if second[0][0] != 0.0 or second[1][1] != 0.0 or second[0][1] == 0.0:
            raise self._refusal(gate, "is not a product of one affine function of each entry it reads")
        k = second[0][1]
        ((src1, i1), s1), ((src2, i2), s2) = entries
        u, v = float(used[1][2].detach()) / k - s1, float(used[0][2].detach()) / k - s2  # dp/ds2 = k (s1 + u), dp/ds1 = k (s2 + v)
        offset = float(value.detach()) - k * (s1 + u) * (s2 + v)
        return SlotRef("const", 0, k, offset, (Factor(src1, i1, 1.0, u), Factor(src2, i2, 1.0, v)))  # type: ignore[arg-type]

    def _second(self, grad: torch.Tensor, leaf: int, index: int) -> float:
        if not grad.requires_grad:
            return 0.0
        (second,) = torch.autograd.grad(grad, self.leaves[leaf], retain_graph=True, allow_unused=True)
        return 0.0 if second is None else float(second.detach().reshape(-1)[index])

    @staticmethod
    def _refusal(gate: str, why: str) -> CapabilityError:
        return CapabilityError(
            f"the angle of {gate} {why}; a neutral slot holds an affine function of one entry or a product of two. "
            "Compute such features in torch before the layer, or build the circuit with hqnn_core.CircuitBuilder."
        )


def _observable(measurement: Any) -> Observable:
    """A Pauli word or a real sum of words (PennyLane's Pauli sentence) as a neutral observable."""
    try:
        sentence = qml.pauli.pauli_sentence(measurement.obs)
    except (ValueError, TypeError, AttributeError):
        raise CapabilityError(f"observable {measurement.obs} is not a sum of Pauli words; use expval of Pauli words.") from None
    terms = []
    for word, coeff in sentence.items():
        if abs(complex(coeff).imag) > 1e-12:
            raise CapabilityError(f"observable {measurement.obs} has a complex coefficient; observables are Hermitian.")
        terms.append(PauliTerm(float(complex(coeff).real), tuple((int(w), p) for w, p in word.items())))
    return Observable(tuple(terms))


def _measurements(tape: Any, n_wires: int) -> tuple[list[Observable] | None, Measurement]:
    kinds = {type(m).__name__ for m in tape.measurements}
    if kinds <= {"ExpectationMP"} and kinds:
        return [_observable(m) for m in tape.measurements], Measurement()
    if kinds == {"ProbabilityMP"} and len(tape.measurements) == 1:
        wires = tuple(int(w) for w in tape.measurements[0].wires)
        return None, Measurement("probs", wires if wires != tuple(range(n_wires)) else None)
    raise CapabilityError(f"measurements {sorted(kinds)}: a QNode converts when it returns expvals of Pauli words or one qml.probs.")


class PennyLaneConverter(Converter):
    """PennyLane QNode (called as ``qnode(inputs, **weights)``, TorchLayer's convention) or tape <-> neutral circuit."""

    name = "pennylane"

    def to_neutral(self, source: Any, inputs: int | None = None, weight_shapes: Mapping[str, int | Sequence[int]] | None = None,
                   **kwargs: Any) -> Circuit:
        if kwargs:
            raise ConfigError(f"from_pennylane takes inputs= (the number of features) and weight_shapes=; got {sorted(kwargs)}.")
        weight_shapes = dict(weight_shapes or {})
        if isinstance(source, qml.tape.QuantumScript):
            if inputs or weight_shapes:
                raise ConfigError("a tape has numbers for angles; pass a QNode to mark inputs and weights.")
            tape, probe = source, _Probe(torch.zeros(0, requires_grad=True), [])
        elif isinstance(source, qml.QNode):
            if inputs is None:
                raise ConfigError("from_pennylane(qnode) needs inputs=<number of features>, the length of the QNode's `inputs`.")
            generator = torch.Generator().manual_seed(1234)  # a generic point: no accidental zero derivatives
            x = (torch.rand(inputs, generator=generator, dtype=torch.float64) + 0.5).requires_grad_(True)
            weights = {name: (torch.rand(*((s,) if isinstance(s, int) else s), generator=generator, dtype=torch.float64) + 0.5)
                       .requires_grad_(True) for name, s in weight_shapes.items()}
            tape = qml.workflow.construct_tape(source)(x, **weights)
            probe = _Probe(x, list(weights.values()))
        else:
            raise ConfigError(f"from_pennylane takes a QNode or a QuantumScript (tape), got {type(source).__name__}.")
        (flat,), _ = qml.transforms.decompose(tape, stopping_condition=_stop_at)
        wires = sorted(int(w) for w in flat.wires)
        if wires != list(range(len(wires))):
            raise CapabilityError(f"the circuit uses wires {wires}; label them 0..n-1 (integers), as hqnn does.")
        observables, measurement = _measurements(flat, len(wires))
        builder = CircuitBuilder(len(wires))
        for op in flat.operations:
            name = _ADJOINT[op.base.name] if op.name.startswith("Adjoint(") else _NEUTRAL[op.name]
            builder.add(name, [int(w) for w in op.wires], *(probe.slot(p, name) for p in op.parameters))
        return builder.build(observables).with_measurement(measurement)

    def from_neutral(self, circuit: Circuit) -> qml.QNode:
        """A QNode on ``default.qubit`` called as ``qnode(inputs, weights)`` (TorchLayer's convention).

        Each angle is the slot's own formula of ``inputs`` and the flat ``weights``, in whatever array
        type they come as, so torch inputs keep their gradients.
        """
        gates: dict[str, Any] = {**PARAMETRIC, **{name: (lambda factory: lambda *a, wires: factory(wires))(f) for name, f in FIXED.items()}}

        def entry(inputs: Any, weights: Any, source: str, index: int) -> Any:
            return inputs[index] if source == "input" else weights[index]

        def angle(inputs: Any, weights: Any, s: int) -> Any:
            slot = circuit.slots[s]
            value = 1.0 if slot.source == "const" and slot.factors else 0.0 if slot.source == "const" else entry(inputs, weights, slot.source, slot.index)
            for f in slot.factors:
                value = value * (f.coeff * entry(inputs, weights, f.source, f.index) + f.offset)
            return slot.coeff * value + slot.offset

        def qfunc(inputs: Any, weights: Any) -> Any:
            for op in circuit.ops:
                gates[op.name](*(angle(inputs, weights, s) for s in op.slots), wires=list(op.wires))
            if circuit.measurement.kind == "probs":
                return qml.probs(wires=list(circuit.measurement.measured_wires(circuit.n_qubits)))
            return [qml.expval(observable(o)) for o in circuit.observables]

        return qml.QNode(qfunc, qml.device("default.qubit", wires=circuit.n_qubits), interface="torch")
