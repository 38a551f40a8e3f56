"""Qiskit circuits and OpenQASM 3 text to neutral circuits and back (``hqnn_core.convert``'s Qiskit half).

Reading a ``QuantumCircuit``: it is first unrolled into Qiskit's names for the neutral gate set
(``transpile`` with those basis gates, no optimisation), so library circuits such as
``zz_feature_map`` and ``real_amplitudes`` arrive as plain rotations and CNOTs. Each gate angle is a
``ParameterExpression`` of the caller's input and weight parameters; it becomes one slot when it is
an affine function of one parameter or a constant times a product of such functions (the ZZ feature
map's ``2 (pi - x0)(pi - x1)``); anything else is refused naming the gate and the expression.
The global phase is dropped (a neutral circuit prepares states up to a global phase).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sympy
from qiskit import QuantumCircuit, qasm3, transpile
from qiskit.circuit import Parameter, ParameterExpression, ParameterVector

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable, SlotRef
from hqnn_core.errors import CapabilityError, ConfigError
from hqnn_core.interfaces.converter import Converter

#: Qiskit instruction name -> neutral gate name.
_NEUTRAL = {
    "id": "I", "h": "H", "x": "X", "y": "Y", "z": "Z", "s": "S", "sdg": "Sdg", "t": "T", "tdg": "Tdg", "sx": "SX",
    "rx": "RX", "ry": "RY", "rz": "RZ", "p": "PhaseShift", "cx": "CNOT", "cz": "CZ", "swap": "SWAP",
    "rxx": "RXX", "ryy": "RYY", "rzz": "RZZ", "crx": "CRX", "cry": "CRY", "crz": "CRZ", "cp": "CPhase",
}
_QISKIT = {neutral: name for name, neutral in _NEUTRAL.items()}
_IGNORED = {"barrier", "measure"}  # measurement is declared on the neutral circuit, not written as gates


def _flat(parameters: Iterable[Parameter | ParameterVector] | None) -> list[Parameter]:
    out: list[Parameter] = []
    for p in parameters or ():
        out.extend(p if isinstance(p, ParameterVector) else [p])
    return out


class _Angles:
    """Turns Qiskit angle expressions into slots over the caller's inputs and weights."""

    def __init__(self, inputs: Sequence[Parameter], weights: Sequence[Parameter]) -> None:
        self.symbols: dict[str, tuple[str, int]] = {}
        for source, params in (("input", inputs), ("weight", weights)):
            for i, p in enumerate(params):
                if p.name in self.symbols:
                    raise ConfigError(f"parameter {p.name!r} is listed twice among inputs and weights; list each once.")
                self.symbols[p.name] = (source, i)

    def slot(self, value: Any, gate: str) -> SlotRef | float:
        """``value`` as a constant, or as one slot: ``offset + coeff * prod(affine factors)``."""
        if not isinstance(value, ParameterExpression):
            return float(value)
        unknown = sorted(p.name for p in value.parameters if p.name not in self.symbols)
        if unknown:
            raise ConfigError(f"gate {gate} uses parameters {unknown} that are neither inputs= nor weights=; list every parameter in one of them.")
        if not value.parameters:
            return float(value)
        offset, rest = value.sympify().as_coeff_Add()  # kept unexpanded: a product of affine factors stays one
        coeff, body = rest.as_coeff_Mul()  # any numeric coefficient (as_coeff_mul keeps floats among the factors)
        refs: list[SlotRef] = []
        for factor in sympy.Mul.make_args(body):
            base, power = factor.as_base_exp()
            if not (power.is_Integer and power > 0):
                self._refuse(value, gate)
            refs.extend([self._affine(base, value, gate)] * int(power))
        product = refs[0]
        for ref in refs[1:]:
            product = product.times(ref)
        return product.scaled(float(coeff), float(offset))

    def _affine(self, expr: Any, original: Any, gate: str) -> SlotRef:
        """``a * p + b`` for one parameter ``p`` (a sympy expression from ``ParameterExpression.sympify``)."""
        symbols = list(expr.free_symbols)
        if len(symbols) != 1:
            self._refuse(original, gate)
        (symbol,) = symbols
        slope = expr.diff(symbol)
        if slope.free_symbols:
            self._refuse(original, gate)
        source, index = self.symbols[str(symbol)]
        return SlotRef(source, index, float(slope), float(expr.subs(symbol, 0)))  # type: ignore[arg-type]

    @staticmethod
    def _refuse(original: Any, gate: str) -> SlotRef:
        raise CapabilityError(
            f"gate {gate} has angle {original}, which is not an affine function of one parameter or a product of such "
            "functions; a neutral slot cannot hold it. Rewrite the angle (e.g. precompute the feature in torch before the layer)."
        )


class QiskitConverter(Converter):
    """Qiskit ``QuantumCircuit`` with ``Parameter`` or ``ParameterVector`` objects <-> neutral circuit."""

    name = "qiskit"

    def to_neutral(self, source: Any, inputs: Iterable[Parameter | ParameterVector] | None = None,
                   weights: Iterable[Parameter | ParameterVector] | None = None,
                   observables: Sequence[Observable] | None = None, **kwargs: Any) -> Circuit:
        if kwargs:
            raise ConfigError(f"from_qiskit takes inputs=, weights= and observables=; got {sorted(kwargs)}.")
        if not isinstance(source, QuantumCircuit):
            raise ConfigError(f"from_qiskit takes a qiskit QuantumCircuit, got {type(source).__name__}.")
        angles = _Angles(_flat(inputs), _flat(weights))
        unrolled = transpile(source, basis_gates=[*sorted(_NEUTRAL), "measure"], optimization_level=0)
        builder = CircuitBuilder(unrolled.num_qubits)
        for instruction in unrolled.data:
            op = instruction.operation
            if op.name in _IGNORED:
                continue
            neutral = _NEUTRAL.get(op.name)
            if neutral is None:
                raise CapabilityError(f"gate {op.name!r} has no exact neutral form; decompose it first (qc.decompose()) or remove it.")
            if getattr(op, "condition", None) is not None or op.name == "reset":
                raise CapabilityError(f"{op.name!r} is classically controlled or non-unitary; neutral circuits are unitary.")
            wires = [unrolled.find_bit(q).index for q in instruction.qubits]
            builder.add(neutral, wires, *(angles.slot(p, neutral) for p in op.params))
        return builder.build(observables)

    def from_neutral(self, circuit: Circuit) -> QuantumCircuit:
        """A ``QuantumCircuit`` over ``ParameterVector("x")`` (inputs) and ``ParameterVector("w")`` (weights)."""
        sizes = {"input": 0, "weight": 0}
        for slot in circuit.slots:
            for source, index in ((slot.source, slot.index), *((f.source, f.index) for f in slot.factors)):
                if source in sizes:
                    sizes[source] = max(sizes[source], index + 1)
        x, w = ParameterVector("x", sizes["input"]), ParameterVector("w", sizes["weight"])
        vectors = {"input": x, "weight": w}

        def entry(source: str, index: int) -> Any:
            return vectors[source][index] if source != "const" else 1.0

        qc = QuantumCircuit(circuit.n_qubits)
        for op in circuit.ops:
            params = []
            for s in op.slots:
                slot = circuit.slots[s]
                value: Any = entry(slot.source, slot.index) if slot.source != "const" or slot.factors else 0.0
                for f in slot.factors:
                    value = value * (f.coeff * entry(f.source, f.index) + f.offset)
                params.append(slot.coeff * value + slot.offset)
            if op.name == "Rot":  # RZ(a) RY(b) RZ(c) in time order
                qc.rz(params[0], op.wires[0])
                qc.ry(params[1], op.wires[0])
                qc.rz(params[2], op.wires[0])
            else:
                getattr(qc, _QISKIT[op.name])(*params, *op.wires)
        return qc


class Qasm3Converter(Converter):
    """OpenQASM 3 text (``input float[64] name;`` declarations) <-> neutral circuit, through Qiskit's qasm3 module."""

    name = "qasm3"

    def to_neutral(self, source: Any, weights: Iterable[str] = (), observables: Sequence[Observable] | None = None,
                   **kwargs: Any) -> Circuit:
        """Declared ``input`` parameters named in ``weights`` are trainable; every other one is an input, in declaration order."""
        if kwargs:
            raise ConfigError(f"from_qasm3 takes weights= and observables=; got {sorted(kwargs)}.")
        if not isinstance(source, str):
            raise ConfigError(f"from_qasm3 takes OpenQASM 3 text, got {type(source).__name__}.")
        try:
            qc = qasm3.loads(source)
        except Exception as e:  # noqa: BLE001 - the parser's errors become one ConfigError naming the problem
            raise ConfigError(f"cannot read the OpenQASM 3 text: {e}") from None
        order = _declaration_order(source)
        params = sorted(qc.parameters, key=lambda p: order.get(p.name, len(order)))
        weight_names = list(weights)
        missing = sorted(set(weight_names) - {p.name for p in params})
        if missing:
            raise ConfigError(f"weights {missing} are not parameters of the program; declare them with `input float[64] NAME;`.")
        by_name = {p.name: p for p in params}
        return QiskitConverter().to_neutral(qc, inputs=[p for p in params if p.name not in weight_names],
                                            weights=[by_name[n] for n in weight_names], observables=observables)

    def from_neutral(self, circuit: Circuit) -> str:
        """OpenQASM 3 with ``input float[64] x_i;`` and ``w_j`` declarations for the inputs and weights."""
        qc = QiskitConverter().from_neutral(circuit)
        renamed = qc.assign_parameters({p: Parameter(f"{p.vector.name}_{p.index}") for p in qc.parameters})
        return qasm3.dumps(renamed)


def _declaration_order(text: str) -> dict[str, int]:
    names = []
    for line in text.splitlines():
        words = line.replace(";", " ").split()
        if words[:1] == ["input"] and len(words) >= 3:
            names.append(words[-1])
    return {name: i for i, name in enumerate(names)}
