"""The backend-neutral circuit: gates over wires whose angles are functions of data and weights.

Every quantum layer is compiled once into a :class:`Circuit`. Each parametrised gate angle is its
own *slot*; a slot's value is ``coeff * source[index] + offset`` where ``source`` is the encoded
input features, the trainable weights, or nothing (a constant), optionally multiplied by further
:class:`Factor` entries (``coeff * x[i] * w[j] + offset`` for trainable input scaling). Backends
only ever evaluate a circuit for a batch of slot-value rows (the angles), which maps onto every
vendor's batched API and keeps them blind to how a slot is formed. Circuits are
immutable and hashable so that adapters can cache their translations.

Wire 0 is the most significant qubit of a basis state (PennyLane's convention).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from hqnn_core import drawing
from hqnn_core.errors import CapabilityError, ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SlotSource = Literal["input", "weight", "const"]
FactorSource = Literal["input", "weight"]
ShiftRule = Literal["two_term", "four_term"]


@dataclass(frozen=True)
class GateSpec:
    """What the core knows about a gate: its arity, parameter count and parameter-shift rule."""

    n_wires: int
    n_params: int = 0
    shift_rule: ShiftRule | None = None


#: The neutral gate set. Conventions follow PennyLane: ``RX(t) = exp(-i t X / 2)``,
#: ``Rot(a, b, c) = RZ(c) RY(b) RZ(a)``, ``RZZ(t) = exp(-i t Z⊗Z / 2)``, ``CPhase(t) = diag(1, 1, 1, e^{it})``.
GATES: dict[str, GateSpec] = {
    "I": GateSpec(1),
    "H": GateSpec(1),
    "X": GateSpec(1),
    "Y": GateSpec(1),
    "Z": GateSpec(1),
    "S": GateSpec(1),
    "Sdg": GateSpec(1),
    "T": GateSpec(1),
    "Tdg": GateSpec(1),
    "SX": GateSpec(1),
    "RX": GateSpec(1, 1, "two_term"),
    "RY": GateSpec(1, 1, "two_term"),
    "RZ": GateSpec(1, 1, "two_term"),
    "PhaseShift": GateSpec(1, 1, "two_term"),
    "Rot": GateSpec(1, 3, "two_term"),
    "CNOT": GateSpec(2),
    "CZ": GateSpec(2),
    "SWAP": GateSpec(2),
    "RXX": GateSpec(2, 1, "two_term"),
    "RYY": GateSpec(2, 1, "two_term"),
    "RZZ": GateSpec(2, 1, "two_term"),
    "CRX": GateSpec(2, 1, "four_term"),
    "CRY": GateSpec(2, 1, "four_term"),
    "CRZ": GateSpec(2, 1, "four_term"),
    "CPhase": GateSpec(2, 1, "two_term"),
}


@dataclass(frozen=True)
class Factor:
    """A further factor of a slot's angle: ``coeff * source[index] + offset`` of the inputs or the weights.

    The affine form lets imported feature maps keep their angles exact: Qiskit's ZZ feature map
    rotates by ``2 (pi - x0)(pi - x1)``, a constant times two such factors.
    """

    source: FactorSource
    index: int
    coeff: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class Slot:
    """One gate angle: ``coeff * source[index] * prod(factors) + offset`` (``index`` is ignored for ``const``).

    A ``const`` source with factors reads 1: ``coeff * prod(factors) + offset``.

    Slots without factors are the affine maps of one source that every circuit used before factors
    existed; they compare and hash as they did.
    """

    source: SlotSource
    index: int = 0
    coeff: float = 1.0
    offset: float = 0.0
    factors: tuple[Factor, ...] = ()

    @property
    def sources(self) -> frozenset[SlotSource]:
        """Every source the angle depends on (a product of an input and a weight depends on both)."""
        return frozenset((self.source, *(f.source for f in self.factors)))

    def reads(self, source: SlotSource) -> list[int]:
        """The indices of ``source`` this angle reads, its own first and then its factors'."""
        own = [self.index] if self.source == source and source != "const" else []
        return own + [f.index for f in self.factors if f.source == source]


@dataclass(frozen=True)
class Op:
    """One gate application: a name from :data:`GATES`, its wires, and the slots of its angles."""

    name: str
    wires: tuple[int, ...]
    slots: tuple[int, ...] = ()

    @property
    def spec(self) -> GateSpec:
        return GATES[self.name]


PAULIS = ("X", "Y", "Z")


@dataclass(frozen=True)
class PauliTerm:
    """``coeff`` times a tensor product of Paulis, e.g. ``((0, "Z"), (1, "Z"))``; identity when empty."""

    coeff: float
    paulis: tuple[tuple[int, str], ...]

    def __post_init__(self) -> None:
        wires = [w for w, _ in self.paulis]
        if len(set(wires)) != len(wires):
            raise ConfigError(f"Pauli term {self.paulis} acts twice on one wire; write each wire once.")
        for _, p in self.paulis:
            if p not in PAULIS:
                raise ConfigError(f"Unknown Pauli {p!r}; expected one of X, Y, Z.")
        object.__setattr__(self, "paulis", tuple(sorted(self.paulis)))

    def __str__(self) -> str:
        body = "".join(f"{p}{w}" for w, p in self.paulis) or "I"
        return body if self.coeff == 1.0 else f"{self.coeff:g}*{body}"


@dataclass(frozen=True)
class Observable:
    """A Hermitian observable written as a real linear combination of Pauli strings."""

    terms: tuple[PauliTerm, ...]

    @classmethod
    def z(cls, wire: int) -> Observable:
        return cls((PauliTerm(1.0, ((wire, "Z"),)),))

    @classmethod
    def parse(cls, text: str) -> Observable:
        """Read ``"Z0"``, ``"Z0 Z1"``, ``"0.5*X0Y1 + Z2"`` or ``"-Z1"`` (letters then wire numbers)."""
        terms = []
        for raw in re.split(r"(?<!\*)\+|(?=(?<![*e])-)", text.replace(" ", "")):
            if not raw:
                continue
            coeff, _, body = raw.rpartition("*")
            sign = 1.0
            if not coeff and body.startswith("-"):
                sign, body = -1.0, body[1:]
            try:
                value = sign * (float(coeff) if coeff else 1.0)
            except ValueError:
                raise ConfigError(f"Cannot read coefficient {coeff!r} in observable {text!r}; write e.g. '0.5*Z0Z1'.") from None
            pairs = re.findall(r"([XYZI])(\d+)", body)
            if "".join(f"{p}{w}" for p, w in pairs) != body:
                raise ConfigError(
                    f"Cannot read observable {text!r}; write Pauli letters followed by wire numbers, e.g. 'Z0', 'X0Y1', '0.5*Z0Z1 + X2'."
                )
            terms.append(PauliTerm(value, tuple((int(w), p) for p, w in pairs if p != "I")))
        if not terms:
            raise ConfigError(f"Observable {text!r} is empty; write e.g. 'Z0'.")
        return cls(tuple(terms))

    @property
    def wires(self) -> set[int]:
        return {w for t in self.terms for w, _ in t.paulis}

    def __str__(self) -> str:
        return " + ".join(str(t) for t in self.terms)


MeasureKind = Literal["expval", "probs", "samples", "state"]
#: Largest number of wires whose joint outcome probabilities a circuit may ask for (2**k outputs).
MAX_PROBS_WIRES = 10


@dataclass(frozen=True)
class Measurement:
    """What a circuit's outputs are: expectations of its observables, outcome probabilities, or samples.

    ``probs`` gives ``2**k`` probabilities of the basis states of ``wires`` (all wires when
    ``None``), the first listed wire being the most significant bit of the outcome index;
    ``samples`` gives the measured bits of ``wires``, one row per shot.
    """

    kind: MeasureKind = "expval"
    wires: tuple[int, ...] | None = None

    def measured_wires(self, n_qubits: int) -> tuple[int, ...]:
        return tuple(range(n_qubits)) if self.wires is None else self.wires


EXPVAL = Measurement()


@dataclass(frozen=True)
class Circuit:
    """An immutable, hashable gate sequence with parameter slots, observables and a measurement.

    Backends evaluate ``observables`` for each row of a ``[N, n_slots]`` slot-value array; a
    ``probs`` measurement is turned into expectations of Z strings by the executor
    (:func:`hqnn_core.measurement.probabilities_as_expectations`), so every backend supports it.
    """

    n_qubits: int
    ops: tuple[Op, ...]
    slots: tuple[Slot, ...]
    observables: tuple[Observable, ...]
    measurement: Measurement = EXPVAL
    _hash: int = field(default=0, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.n_qubits, self.ops, self.slots, self.observables, self.measurement)))
        self.validate()

    @property
    def n_outputs(self) -> int:
        """Outputs per binding: one per observable, ``2**k`` probabilities, or ``k`` bits per shot."""
        k = len(self.measurement.measured_wires(self.n_qubits))
        return {"probs": 2**k, "samples": k, "state": 2**self.n_qubits}.get(self.measurement.kind, len(self.observables))

    def __hash__(self) -> int:
        return self._hash

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    @property
    def gate_names(self) -> set[str]:
        return {op.name for op in self.ops}

    def slot_indices(self, source: SlotSource) -> list[int]:
        """Slots whose angle depends on ``source`` (as their own source or as a factor)."""
        return [i for i, s in enumerate(self.slots) if source in s.sources]

    def reads(self, source: SlotSource) -> set[int]:
        """Every index of ``source`` (``"input"`` or ``"weight"``) some slot reads."""
        return {i for s in self.slots for i in s.reads(source)}

    def validate(self) -> None:
        """Check wires, gate names and slot references; raise :class:`CapabilityError` naming the op."""
        used: set[int] = set()
        for k, op in enumerate(self.ops):
            spec = GATES.get(op.name)
            if spec is None:
                raise CapabilityError(f"op {k} uses unknown gate {op.name!r}; the neutral gates are {sorted(GATES)}.")
            if len(op.wires) != spec.n_wires or len(set(op.wires)) != len(op.wires):
                raise CapabilityError(f"op {k} ({op.name}) needs {spec.n_wires} distinct wires, got {op.wires}.")
            if any(not 0 <= w < self.n_qubits for w in op.wires):
                raise CapabilityError(f"op {k} ({op.name}) acts on wires {op.wires} outside 0..{self.n_qubits - 1}.")
            if len(op.slots) != spec.n_params:
                raise CapabilityError(f"op {k} ({op.name}) needs {spec.n_params} angle slots, got {len(op.slots)}.")
            for s in op.slots:
                if not 0 <= s < self.n_slots or s in used:
                    raise CapabilityError(f"op {k} ({op.name}) refers to slot {s}, which is missing or used twice; each angle has its own slot.")
                used.add(s)
        for i, slot in enumerate(self.slots):
            for f in slot.factors:
                if not (math.isfinite(f.coeff) and math.isfinite(f.offset)):
                    raise CapabilityError(f"slot {i} has a non-finite factor {f}.")
        for obs in self.observables:
            if any(not 0 <= w < self.n_qubits for w in obs.wires):
                raise CapabilityError(f"observable {obs} acts outside wires 0..{self.n_qubits - 1}.")
        self._validate_measurement()

    def _validate_measurement(self) -> None:
        m = self.measurement
        if m.kind not in ("expval", "probs", "samples", "state"):
            raise ConfigError(f"measure={m.kind!r} is not supported; use 'expval', 'probs', 'samples' or 'state'.")
        if m.kind in ("expval", "state"):
            if m.wires is not None:
                raise ConfigError(f"wires= applies to measure='probs' and 'samples'; measure={m.kind!r} takes "
                                  f"{'observables' if m.kind == 'expval' else 'the whole statevector'} instead.")
            return
        wires = m.measured_wires(self.n_qubits)
        if len(set(wires)) != len(wires) or any(not 0 <= w < self.n_qubits for w in wires) or not wires:
            raise ConfigError(f"{m.kind} wires {list(wires)} must be distinct wires in 0..{self.n_qubits - 1}.")
        if len(wires) > MAX_PROBS_WIRES:
            raise ConfigError(
                f"{m.kind} over {len(wires)} wires needs 2**{len(wires)} outcome probabilities per sample; at most {MAX_PROBS_WIRES} "
                f"wires are supported. Pass wires=[...] with the wires you need."
            )

    def with_observables(self, observables: Sequence[Observable]) -> Circuit:
        return Circuit(self.n_qubits, self.ops, self.slots, tuple(observables), self.measurement)

    def with_measurement(self, measurement: Measurement) -> Circuit:
        return Circuit(self.n_qubits, self.ops, self.slots, self.observables, measurement)

    def depth(self) -> int:
        """Layers of gates that could run at the same time (a cost indicator for estimates and docs)."""
        level = [0] * self.n_qubits
        for op in self.ops:
            d = 1 + max(level[w] for w in op.wires)
            for w in op.wires:
                level[w] = d
        return max(level, default=0)

    def draw(self, max_width: int | None = None) -> str:
        """A text diagram, one line per wire, wrapped to ``max_width`` columns (default: the terminal's)."""
        return drawing.draw_text(self, max_width)

    def draw_figure(self) -> Figure:
        """The diagram as a matplotlib figure (for notebooks and run directories)."""
        return drawing.draw_figure(self)

    def specs(self) -> dict[str, Any]:
        """Qubits, depth, gate counts by name, slots by source and trainable parameters."""
        return drawing.specs(self)


@dataclass(frozen=True)
class SlotRef:
    """A not-yet-numbered slot handed out by :class:`CircuitBuilder` to be used by one gate."""

    source: SlotSource
    index: int = 0
    coeff: float = 1.0
    offset: float = 0.0
    factors: tuple[Factor, ...] = ()

    def scaled(self, coeff: float, offset: float = 0.0) -> SlotRef:
        """The same source entry with the affine map ``coeff * value + offset`` composed on top."""
        return SlotRef(self.source, self.index, self.coeff * coeff, self.offset * coeff + offset, self.factors)

    # Arithmetic, so that angles read as formulas: ``2 * (pi - x[0]) * (pi - x[1])``, ``x[i] * w[l, i]``.
    def __mul__(self, other: object) -> SlotRef:
        if isinstance(other, SlotRef):
            return self.times(other)
        if isinstance(other, int | float) and not isinstance(other, bool):
            return self.scaled(float(other))
        return NotImplemented

    __rmul__ = __mul__

    def __add__(self, other: object) -> SlotRef:
        if isinstance(other, SlotRef):
            raise CapabilityError(f"{self} + {other}: a sum of two entries is not one gate angle; apply two gates, or "
                                  "compute the sum as one feature in torch before the layer.")
        if isinstance(other, int | float) and not isinstance(other, bool):
            return self.scaled(1.0, float(other))
        return NotImplemented

    __radd__ = __add__

    def __neg__(self) -> SlotRef:
        return self.scaled(-1.0)

    def __sub__(self, other: object) -> SlotRef:
        if isinstance(other, SlotRef | int | float) and not isinstance(other, bool):
            return self + (-other)
        return NotImplemented

    def __rsub__(self, other: object) -> SlotRef:
        return (-self) + other

    def __truediv__(self, other: object) -> SlotRef:
        if isinstance(other, int | float) and not isinstance(other, bool):
            return self.scaled(1.0 / float(other))
        return NotImplemented

    def times(self, other: SlotRef) -> SlotRef:
        """The product of two angles, e.g. ``builder.input(i).times(builder.weight(j))`` for a trainable input scale.

        Affine entries multiply too: ``input(0, -1, pi).times(input(1, -2, 2 * pi))`` is
        ``2 (pi - x0)(pi - x1)``. A constant factor belongs in ``coeff`` (:meth:`scaled`), and a
        product plus an offset cannot be multiplied again.
        """
        for ref in (self, other):
            if ref.source == "const" and not ref.factors:
                raise CapabilityError(f"cannot multiply by the constant {ref}; scale the other angle with .scaled(coeff) instead.")
        if not self.offset and not other.offset and self.source != "const" and other.source != "const":
            source: FactorSource = "input" if other.source == "input" else "weight"
            factors = (*self.factors, Factor(source, other.index), *other.factors)
            return SlotRef(self.source, self.index, self.coeff * other.coeff, 0.0, factors)
        return SlotRef("const", 0, 1.0, 0.0, (*self._as_factors(), *other._as_factors()))

    def _as_factors(self) -> tuple[Factor, ...]:
        """This angle as a product of affine factors (with its coefficient folded into the first)."""
        if self.factors and self.offset:
            raise CapabilityError(f"{self} is a product plus an offset; it cannot be multiplied again.")
        if self.source == "const":  # already a product: coeff * prod(factors)
            first, *rest = self.factors
            return (replace(first, coeff=first.coeff * self.coeff, offset=first.offset * self.coeff), *rest)
        source: FactorSource = "input" if self.source == "input" else "weight"
        return (Factor(source, self.index, self.coeff, self.offset), *self.factors)


class Entries:
    """Named, shaped inputs or weights of a circuit being written: ``x[i]``, ``w[l, q, k]`` (row-major)."""

    def __init__(self, source: SlotSource, shape: tuple[int, ...]) -> None:
        if not shape or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in shape):
            raise ConfigError(f"{source} shape {shape} must be positive integers, e.g. (4,) or (2, 4, 3).")
        self.source, self.shape = source, shape

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def __getitem__(self, key: int | tuple[int, ...]) -> SlotRef:
        index = (key,) if isinstance(key, int) else tuple(key)
        if len(index) != len(self.shape) or any(not 0 <= i < n for i, n in zip(index, self.shape, strict=False)):
            raise ConfigError(f"{self.source} index {key} is outside shape {self.shape}.")
        flat = 0
        for i, n in zip(index, self.shape, strict=True):
            flat = flat * n + i
        return SlotRef(self.source, flat)

    def __len__(self) -> int:
        return self.shape[0]


Angle = SlotRef | float


class CircuitBuilder:
    """Appends gates to a circuit under construction; components write through this.

    Example:
        >>> b = CircuitBuilder(2)
        >>> b.add("RY", [0], b.input(0))
        >>> b.add("CNOT", [0, 1])
        >>> c = b.build()
        >>> c.n_slots, len(c.ops), str(c.observables[1])
        (1, 2, 'Z1')
    """

    def __init__(self, n_qubits: int) -> None:
        if n_qubits < 1:
            raise ConfigError(f"n_qubits must be at least 1, got {n_qubits}.")
        self.n_qubits = n_qubits
        self._ops: list[Op] = []
        self._slots: list[Slot] = []
        self.weight_offset = 0
        #: Ansatz layers the circuit will hold, when the caller knows (``build_circuit`` sets it), so
        #: an ansatz can leave its last layer without entanglers; ``None`` means every layer is a middle one.
        self.n_layers: int | None = None

    @staticmethod
    def input(index: int, coeff: float = 1.0, offset: float = 0.0) -> SlotRef:
        return SlotRef("input", index, coeff, offset)

    def weight(self, index: int, coeff: float = 1.0, offset: float = 0.0) -> SlotRef:
        """Weight ``index`` counted from :attr:`weight_offset` (set per ansatz layer by the layer builder)."""
        return SlotRef("weight", self.weight_offset + index, coeff, offset)

    @staticmethod
    def inputs(*shape: int) -> Entries:
        """Input features of this shape, indexed ``x[i]`` or ``x[i, j]`` (the layer's features, flattened row-major)."""
        return Entries("input", shape)

    @staticmethod
    def weights(*shape: int) -> Entries:
        """Trainable weights of this shape, indexed ``w[l, q, k]`` (pass ``weight_shapes=shape`` to the layer)."""
        return Entries("weight", shape)

    @staticmethod
    def const(value: float) -> SlotRef:
        return SlotRef("const", 0, 0.0, float(value))

    def add(self, name: str, wires: Iterable[int], *angles: Angle) -> None:
        wires = tuple(int(w) for w in wires)
        spec = GATES.get(name)
        if spec is None:
            raise CapabilityError(f"Unknown gate {name!r}; the neutral gates are {sorted(GATES)}.")
        if len(angles) != spec.n_params:
            raise CapabilityError(f"{name} takes {spec.n_params} angles, got {len(angles)}.")
        slots = []
        for a in angles:
            ref = a if isinstance(a, SlotRef) else self.const(a)
            if not math.isfinite(ref.coeff) or not math.isfinite(ref.offset):
                raise CapabilityError(f"{name} on wires {wires} has a non-finite angle map {ref}.")
            self._slots.append(Slot(ref.source, ref.index, ref.coeff, ref.offset, ref.factors))
            slots.append(len(self._slots) - 1)
        self._ops.append(Op(name, wires, tuple(slots)))

    def build(self, observables: Sequence[Observable] | None = None) -> Circuit:
        obs = tuple(observables) if observables is not None else tuple(Observable.z(w) for w in range(self.n_qubits))
        return Circuit(self.n_qubits, tuple(self._ops), tuple(self._slots), obs)
