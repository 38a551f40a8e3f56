"""Unitary folding of neutral circuits, the noise scaling behind zero-noise extrapolation.

Folding ``G -> G (G^dagger G)^k`` leaves the ideal circuit unchanged and multiplies its noise by
about ``2k + 1`` (Giurdanella et al.; Mitiq's ``fold_global`` / ``fold_gates``). The inverse of a
parametrised gate negates its angles, and each angle of a :class:`~hqnn_core.circuit.Circuit`
has a slot of its own, so a folded circuit has more slots than the original: its
:class:`~hqnn_core.interfaces.mitigator.SlotMap` tells the executor which original slot (and
sign) each new slot reads.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import replace

from hqnn_core.circuit import GATES, Circuit, Op
from hqnn_core.errors import ConfigError
from hqnn_core.interfaces.mitigator import SlotMap

#: A gate application whose angles read (original slot, sign) pairs.
Instance = tuple[str, tuple[int, ...], tuple[tuple[int, float], ...]]

_SELF_INVERSE = {"I", "H", "X", "Y", "Z", "CNOT", "CZ", "SWAP"}
_SWAPPED = {"S": "Sdg", "Sdg": "S", "T": "Tdg", "Tdg": "T"}


def inverse(inst: Instance) -> list[Instance]:
    """The gates of ``inst``'s inverse, in the GATES conventions (angles negated, Rot reversed).

    ``Rot(a, b, c) = RZ(c) RY(b) RZ(a)``, so its inverse is ``Rot(-c, -b, -a)``; ``SX`` has no
    inverse in the neutral set and uses ``SX^3``.
    """
    name, wires, angles = inst
    if name in _SELF_INVERSE:
        return [inst]
    if name in _SWAPPED:
        return [(_SWAPPED[name], wires, ())]
    if name == "SX":
        return [inst, inst, inst]
    if GATES[name].n_params:
        return [(name, wires, tuple((s, -sign) for s, sign in reversed(angles)))]
    raise ConfigError(f"no inverse known for gate {name!r}; add it to hqnn_plugins.folding.inverse.")  # pragma: no cover


def _instances(circuit: Circuit) -> list[Instance]:
    return [(op.name, op.wires, tuple((s, 1.0) for s in op.slots)) for op in circuit.ops]


def _inverse_of(seq: Sequence[Instance]) -> list[Instance]:
    return [g for inst in reversed(seq) for g in inverse(inst)]


def _split(scale: float, n: int) -> tuple[int, int]:
    """(whole folds k, extra single folds s) so that ``1 + 2k + 2s/n`` is closest to ``scale``."""
    if not math.isfinite(scale) or scale < 1:
        raise ConfigError(f"scale factor {scale} is below 1; noise can only be amplified. Use e.g. scale_factors: [1, 3, 5].")
    k = int((scale - 1) // 2)
    return k, round((scale - 1 - 2 * k) / 2 * n)


def fold_global(circuit: Circuit, scale: float) -> tuple[Circuit, SlotMap | None]:
    """``U (U^dagger U)^k`` then ``L^dagger L`` for the last ``s`` gates ``L`` (fractional scales)."""
    base = _instances(circuit)
    k, s = _split(scale, len(base))
    seq = base + (_inverse_of(base) + base) * k
    if s:
        tail = base[len(base) - s :]
        seq += _inverse_of(tail) + tail
    return _build(circuit, seq)


def fold_gates(circuit: Circuit, scale: float, gates: Collection[str] | None = None) -> tuple[Circuit, SlotMap | None]:
    """Local folding: each chosen gate ``G -> G (G^dagger G)^k``, the first ``s`` of them once more.

    ``gates`` names the gates to fold (all when ``None``); the scale applies to their noise only.
    """
    base = _instances(circuit)
    chosen = [i for i, (name, _, _) in enumerate(base) if gates is None or name in gates]
    k, s = _split(scale, len(chosen))
    extra = set(chosen[:s])
    seq: list[Instance] = []
    chosen_set = set(chosen)
    for i, inst in enumerate(base):
        seq.append(inst)
        if i in chosen_set:
            folds = k + (1 if i in extra else 0)
            seq += (inverse(inst) + [inst]) * folds
    return _build(circuit, seq)


def _build(circuit: Circuit, seq: list[Instance]) -> tuple[Circuit, SlotMap | None]:
    """Number each angle's slot afresh; ``None`` as map when the slots are the original ones."""
    ops, slots, index, sign = [], [], [], []
    for name, wires, angles in seq:
        refs = []
        for s, sg in angles:
            old = circuit.slots[s]
            slots.append(replace(old, coeff=old.coeff * sg, offset=old.offset * sg))  # factors and sources kept
            index.append(s)
            sign.append(sg)
            refs.append(len(slots) - 1)
        ops.append(Op(name, wires, tuple(refs)))
    folded = Circuit(circuit.n_qubits, tuple(ops), tuple(slots), circuit.observables)
    if index == list(range(circuit.n_slots)) and all(x == 1.0 for x in sign):
        return folded, None
    return folded, SlotMap(tuple(index), tuple(sign))
