"""The neutral circuit: immutable, hashable, validated, and observables parse as written."""

import dataclasses

import pytest

from hqnn_core.circuit import GATES, Circuit, CircuitBuilder, Observable, Op, PauliTerm, Slot, SlotRef
from hqnn_core.errors import CapabilityError, ConfigError


def _small() -> Circuit:
    b = CircuitBuilder(2)
    b.add("RY", [0], b.input(0, coeff=2.0, offset=0.5))
    b.add("CNOT", [0, 1])
    b.add("Rot", [1], b.weight(0), b.weight(1), 0.25)
    return b.build()


def test_builder_numbers_slots_in_order_with_affine_maps():
    c = _small()
    assert c.n_slots == 4
    assert c.slots[0] == Slot("input", 0, 2.0, 0.5)
    assert c.slots[3] == Slot("const", 0, 0.0, 0.25)
    assert c.ops[2] == Op("Rot", (1,), (1, 2, 3))
    assert [str(o) for o in c.observables] == ["Z0", "Z1"]


def test_circuits_are_immutable_and_hash_by_value():
    a, b = _small(), _small()
    assert a == b and hash(a) == hash(b)
    assert len({a: 1, b: 2}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.n_qubits = 3  # type: ignore[misc]
    other = a.with_observables([Observable.parse("X0X1")])
    assert other != a and hash(other) != hash(a)


@pytest.mark.parametrize(
    "ops, message",
    [
        ((Op("FOO", (0,)),), "unknown gate 'FOO'"),
        ((Op("CNOT", (0, 0)),), "needs 2 distinct wires"),
        ((Op("H", (5,)),), "outside 0..1"),
        ((Op("RX", (0,)),), "needs 1 angle slots"),
        ((Op("RX", (0,), (0,)), Op("RY", (1,), (0,))), "used twice"),
    ],
)
def test_invalid_circuits_name_the_op(ops, message):
    with pytest.raises(CapabilityError, match=message):
        Circuit(2, ops, (Slot("weight", 0),), (Observable.z(0),))


def test_builder_rejects_unknown_gates_and_wrong_angle_count():
    b = CircuitBuilder(1)
    with pytest.raises(CapabilityError, match="Unknown gate"):
        b.add("U3", [0], 0.1)
    with pytest.raises(CapabilityError, match="takes 1 angles, got 0"):
        b.add("RX", [0])


@pytest.mark.parametrize(
    "text, terms",
    [
        ("Z0", [(1.0, ((0, "Z"),))]),
        ("X0Y1", [(1.0, ((0, "X"), (1, "Y")))]),
        ("0.5*Z0Z1 + X2", [(0.5, ((0, "Z"), (1, "Z"))), (1.0, ((2, "X"),))]),
        ("-Z1", [(-1.0, ((1, "Z"),))]),
        ("2*Z0 - 0.25*X1", [(2.0, ((0, "Z"),)), (-0.25, ((1, "X"),))]),
        ("1e-1*Y3", [(0.1, ((3, "Y"),))]),
        ("Z1Z0", [(1.0, ((0, "Z"), (1, "Z")))]),
    ],
)
def test_observable_parse(text, terms):
    obs = Observable.parse(text)
    assert [(t.coeff, t.paulis) for t in obs.terms] == terms


@pytest.mark.parametrize("text", ["", "Q0", "Z", "abc*Z0", "Z0Z0"])
def test_observable_parse_errors_say_how_to_write_it(text):
    with pytest.raises(ConfigError, match="Z0|once|wire"):
        Observable.parse(text)


def test_pauli_term_rejects_bad_letters():
    with pytest.raises(ConfigError, match="expected one of X, Y, Z"):
        PauliTerm(1.0, ((0, "W"),))


def test_every_gate_has_a_spec_with_a_shift_rule_when_parametrised():
    for name, spec in GATES.items():
        assert (spec.shift_rule is None) == (spec.n_params == 0), name


def test_depth_counts_parallel_layers():
    b = CircuitBuilder(3)
    for w in range(3):
        b.add("H", [w])
    b.add("CNOT", [0, 1])
    b.add("CNOT", [1, 2])
    assert b.build().depth() == 3


# -- slots that multiply factors (trainable input scaling) --------------------------------------------------------


def _product() -> Circuit:
    b = CircuitBuilder(1)
    b.add("RX", [0], b.input(2, coeff=0.5).times(b.weight(3)))
    b.add("RY", [0], b.weight(1))
    return b.build()


def test_product_slots_carry_their_factors_and_old_slots_are_unchanged():
    from hqnn_core.circuit import Factor

    c = _product()
    assert c.slots[0] == Slot("input", 2, 0.5, 0.0, (Factor("weight", 3),))
    assert c.slots[0].sources == {"input", "weight"} and c.slots[1].sources == {"weight"}
    assert c.slot_indices("weight") == [0, 1] and c.slot_indices("input") == [0]
    assert c.reads("weight") == {1, 3} and c.reads("input") == {2}
    assert Slot("input", 0, 2.0, 0.5) == Slot("input", 0, 2.0, 0.5, ()) and hash(Slot("input", 0)) == hash(Slot("input", 0, 1.0, 0.0, ()))
    assert Slot("input", 0) != c.slots[0] and hash(_product()) == hash(c) and _product() == c


@pytest.mark.parametrize("make", [lambda b: b.input(0).times(b.const(2.0)), lambda b: b.const(2.0).times(b.weight(0))])
def test_products_refuse_bare_constants(make):
    with pytest.raises(CapabilityError, match="scale the other angle"):
        make(CircuitBuilder(1))


def test_products_of_affine_factors_are_exact_angles():
    """Qiskit's ZZ feature map angle 2 (pi - x0)(pi - x1), and an offset product, evaluate exactly with their gradients."""
    import math

    import torch

    from hqnn_core import QuantumLayer
    from hqnn_core.circuit import Factor

    b = CircuitBuilder(2)
    zz = b.input(0, -1.0, math.pi).times(b.input(1, -2.0, 2 * math.pi))
    assert zz == SlotRef("const", 0, 1.0, 0.0, (Factor("input", 0, -1.0, math.pi), Factor("input", 1, -2.0, 2 * math.pi)))
    b.add("RZ", [1], zz)
    b.add("RY", [0], b.input(0).times(b.weight(0)).scaled(1.0, 0.25))
    with pytest.raises(CapabilityError, match="product plus an offset"):
        b.input(0).times(b.weight(0)).scaled(1.0, 0.25).times(b.input(1))
    circuit = b.build()
    layer = QuantumLayer(2, encoder="angle", layers=1).double()
    layer.circuit = circuit
    layer._register_slot_maps()
    x = torch.tensor([[0.3, 1.1]], dtype=torch.float64, requires_grad=True)
    values = layer.slot_values(x)
    w0 = float(layer.weights.detach().reshape(-1)[0])
    expected = [2 * (math.pi - 0.3) * (math.pi - 1.1), 0.3 * w0 + 0.25]
    torch.testing.assert_close(values[0].detach(), torch.tensor(expected, dtype=torch.float64), atol=1e-12, rtol=0)
    (grad,) = torch.autograd.grad(values[0, 0], x)
    torch.testing.assert_close(grad, torch.tensor([[-2 * (math.pi - 1.1), -2 * (math.pi - 0.3)]], dtype=torch.float64), atol=1e-12, rtol=0)


def test_folding_keeps_each_slots_factors():
    from hqnn_plugins.folding import fold_global

    folded, slot_map = fold_global(_product(), 3)
    assert slot_map is not None
    for slot, origin, sign in zip(folded.slots, slot_map.index, slot_map.sign, strict=True):
        old = _product().slots[origin]
        assert slot.factors == old.factors and slot.source == old.source and slot.coeff == old.coeff * sign
