"""The compute-uncompute circuit ``U(x')† U(x)`` of a feature map, which any backend can run.

The fidelity ``|<φ(x')|φ(x)>|²`` is the probability of measuring all zeros after ``U(x)`` then
``U(x')†``. The adjoint replays the feature map's gates in reverse order as their inverses: angles
negated, ``Rot(a, b, c)`` as ``Rot(-c, -b, -a)``, ``S`` as ``Sdg``, ``SX`` as ``X · SX``. Its slots
read a row ``u = [v(x), v(x')]`` of the two points' slot values (``v`` computed by the feature map's
layer), so one circuit serves every pair and a whole Gram matrix is one batch of rows.
"""

from __future__ import annotations

from hqnn_core.circuit import Circuit, CircuitBuilder, Measurement

#: Gates whose inverse is another fixed gate (or a product of fixed gates, applied left to right).
_FIXED_INVERSES: dict[str, tuple[str, ...]] = {
    "I": ("I",), "H": ("H",), "X": ("X",), "Y": ("Y",), "Z": ("Z",), "CNOT": ("CNOT",), "CZ": ("CZ",), "SWAP": ("SWAP",),
    "S": ("Sdg",), "Sdg": ("S",), "T": ("Tdg",), "Tdg": ("T",), "SX": ("X", "SX"),  # SX² = X, so SX⁻¹ = SX³ = X·SX
}


def compute_uncompute_circuit(feature_map: Circuit) -> Circuit:
    """``U(x')† U(x)`` measured as the probabilities of all wires; input ``k < S`` is slot ``k`` of ``x``, ``S + k`` of ``x'``.

    ``S`` is the feature map's slot count; the probability of outcome 0 is the fidelity.
    """
    n_slots = feature_map.n_slots
    builder = CircuitBuilder(feature_map.n_qubits)
    for op in feature_map.ops:
        builder.add(op.name, op.wires, *(builder.input(s) for s in op.slots))
    for op in reversed(feature_map.ops):
        if op.name in _FIXED_INVERSES:
            for name in _FIXED_INVERSES[op.name]:
                builder.add(name, op.wires)
            continue
        slots = reversed(op.slots) if op.name == "Rot" else op.slots  # Rot(a,b,c)† = Rot(-c,-b,-a); one-angle gates just negate
        builder.add(op.name, op.wires, *(builder.input(n_slots + s, -1.0) for s in slots))
    return builder.build().with_measurement(Measurement("probs"))
