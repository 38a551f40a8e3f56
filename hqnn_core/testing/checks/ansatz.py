"""Ansatz checks: declared weights are the weights read, seeded initialisation, determinism, qubit range, gradients."""

from __future__ import annotations

import torch

from hqnn_core.circuit import Circuit, CircuitBuilder
from hqnn_core.errors import CapabilityError
from hqnn_core.interfaces import Ansatz
from hqnn_core.layer import QuantumLayer
from hqnn_core.testing.checks.common import ConformanceSettings, Violation, check, expect, generator, max_error
from hqnn_core.testing.checks.reference import fd_jacobian, reference_backend

QUBITS = (1, 2, 3, 4)
LAYERS = (1, 2)


def _build(ansatz: Ansatz, n: int, layers: int, wires: list[int] | None = None, width: int | None = None) -> Circuit:
    """The ansatz alone, as ``build_circuit`` lays it out: weights of layer l start at l * weights_per_layer."""
    wires = list(range(n)) if wires is None else wires
    builder = CircuitBuilder(width or n)
    builder.n_layers = layers
    per_layer = ansatz.weights_per_layer(n)
    try:
        for layer in range(layers):
            builder.weight_offset = layer * per_layer
            ansatz.add_layer(builder, wires, layer)
    except CapabilityError as e:
        raise Violation(f"add_layer on {n} qubits emits a gate outside the neutral set: {e}",
                        "emit only gates from hqnn_core.circuit.GATES; decompose others into them.") from None
    return builder.build()


def _supported(ansatz: Ansatz) -> list[int]:
    return [n for n in QUBITS if n >= ansatz.min_qubits()]


@check("ansatz")
def check_ansatz_weight_count_matches_slots(ansatz: Ansatz, settings: ConformanceSettings) -> None:
    """Every weight index ``0 .. layers * weights_per_layer - 1`` is read, and no other."""
    for n in _supported(ansatz):
        per_layer = ansatz.weights_per_layer(n)
        expect(isinstance(per_layer, int) and not isinstance(per_layer, bool) and per_layer >= 0,
               f"weights_per_layer({n}) returned {per_layer!r}, not a non-negative int.", "return the angle count as an int.")
        for layers in LAYERS:
            circuit = _build(ansatz, n, layers)
            read = circuit.reads("weight")
            declared = set(range(layers * per_layer))
            expect(not (read - declared), f"on {n} qubits x {layers} layers it reads weights {sorted(read - declared)}, "
                   f"beyond the {layers} x {per_layer} declared.", "read builder.weight(j) only for j < weights_per_layer(n_qubits).")
            expect(not (declared - read), f"on {n} qubits x {layers} layers weights {sorted(declared - read)} are declared but "
                   "never read, so they never train.", "read every weight in add_layer, or lower weights_per_layer.")
            inputs = circuit.slot_indices("input")
            expect(not inputs, f"add_layer reads input slots {inputs}; an ansatz only has weights.",
                   "move data-dependent gates into an Encoder (or set Encoder.reupload).")


@check("ansatz")
def check_ansatz_init_weights_seeded(ansatz: Ansatz, settings: ConformanceSettings) -> None:
    """The same generator seed gives the same finite weights, with the shape and dtype asked for."""
    shape = (2, max(ansatz.weights_per_layer(_supported(ansatz)[0]), 1))
    for dtype in (torch.float32, torch.float64):
        a = ansatz.init_weights(shape, generator(settings.seed), dtype)
        b = ansatz.init_weights(shape, generator(settings.seed), dtype)
        c = ansatz.init_weights(shape, generator(settings.seed + 1), dtype)
        expect(isinstance(a, torch.Tensor) and tuple(a.shape) == shape and a.dtype == dtype,
               f"init_weights({shape}, generator, {dtype}) returned {type(a).__name__} "
               f"{tuple(getattr(a, 'shape', ()))} {getattr(a, 'dtype', None)}.", "return a tensor of exactly the shape and dtype asked for.")
        expect(torch.equal(a, b), "two generators with the same seed gave different initial weights.",
               "draw only from the generator passed in (torch.rand(..., generator=generator)), never from global state.")
        expect(not torch.equal(a, c), "different seeds gave identical initial weights; the generator is ignored.",
               "draw the weights from the generator passed in.")
        expect(bool(torch.isfinite(a).all()), "initial weights contain NaN or inf.", "draw finite angles, e.g. uniform in [0, 2*pi).")


@check("ansatz")
def check_ansatz_deterministic_build(ansatz: Ansatz, settings: ConformanceSettings) -> None:
    """Building twice (and from a rebuilt instance) gives the identical circuit, so translations can be cached."""
    twin = type(ansatz)(**ansatz.options.model_dump())
    for n in _supported(ansatz)[:3]:
        first, second, third = _build(ansatz, n, 2), _build(ansatz, n, 2), _build(twin, n, 2)
        expect(first == second and first == third, f"building {n} qubits x 2 layers twice gives different circuits.",
               "make add_layer a pure function of (options, wires, layer); no random choices or hidden state.")


@check("ansatz")
def check_ansatz_qubit_range_enforced(ansatz: Ansatz, settings: ConformanceSettings) -> None:
    """Below ``min_qubits`` the layer refuses with a ``ValueError``; from it up, layers build on exactly the given wires."""
    lowest = ansatz.min_qubits()
    for n in QUBITS:
        if n < lowest:
            try:
                QuantumLayer(n, ansatz=ansatz, backend=reference_backend())
            except ValueError as e:
                expect(str(lowest) in str(e), f"{n} qubits was refused without naming the minimum {lowest}: {e}",
                       "say the minimum number of qubits in the message.")
            else:
                raise Violation(f"a layer of {n} qubits was built although min_qubits() = {lowest}.", "keep min_qubits truthful.")
            continue
        try:
            _build(ansatz, n, 2)
        except Violation:
            raise
        except ValueError:
            continue  # an ansatz may refuse some widths (e.g. powers of two only) with a clear ValueError
        except Exception as e:  # noqa: BLE001 - anything else is a crash, not a refusal
            raise Violation(f"building {n} qubits (>= min_qubits() = {lowest}) crashed with {type(e).__name__}: {e}",
                            "support the width, raise ValueError saying which widths work, or raise min_qubits().") from None
        shifted = _build(ansatz, n, 2, wires=[w + 1 for w in range(n)], width=n + 1)
        touched = {w for op in shifted.ops for w in op.wires}
        expect(0 not in touched, f"given wires 1..{n} of a {n + 1}-qubit circuit it acted on wire 0.",
               "address qubits only through the `wires` list passed to add_layer (not range(n)).")


@check("ansatz")
def check_ansatz_ops_in_neutral_gate_set(ansatz: Ansatz, settings: ConformanceSettings) -> None:
    """Every gate is in the neutral set (each vendor adapter translates exactly that set)."""
    for n in _supported(ansatz):
        _build(ansatz, n, 1)


@check("ansatz")
def check_ansatz_gradients_match_finite_difference(ansatz: Ansatz, settings: ConformanceSettings) -> None:
    """Parameter-shift weight gradients through a ``QuantumLayer`` equal finite differences (torch backend, float64)."""
    n = max(3, ansatz.min_qubits())
    reference = reference_backend()
    layer = QuantumLayer(n, encoder={"name": "angle", "options": {}}, ansatz=ansatz, layers=2, backend=reference,
                         gradient="parameter_shift", seed=settings.seed).double()
    x = torch.rand(2, n, generator=generator(settings.seed), dtype=torch.float64)
    k = layer.n_outputs
    loss_weights = torch.linspace(-1.0, 1.5, k, dtype=torch.float64)
    layer.zero_grad()
    (layer(x) * loss_weights).sum().backward()
    assert layer.weights.grad is not None  # the weights require grad and reach the loss
    grad = layer.weights.grad.reshape(-1)

    base = layer.weights.detach().clone()

    def f(flat: torch.Tensor) -> torch.Tensor:  # [R, W] weight rows -> [R, 1] loss
        rows = []
        with torch.no_grad():
            for w in flat:
                layer.weights.copy_(w.reshape(base.shape))
                rows.append(layer.slot_values(x))
            layer.weights.copy_(base)
        out = reference.expectations(layer.circuit, torch.cat(rows)).reshape(flat.shape[0], x.shape[0], k)
        return (out * loss_weights).sum(dim=(1, 2)).unsqueeze(1)

    fd = fd_jacobian(f, base.reshape(1, -1))[0, 0]
    err, where = max_error(grad, fd)
    expect(err <= 1e-6, f"parameter-shift weight gradients differ from finite differences by {err:.3g} at weight {where}.",
           "use only neutral gates with shift rules and read each weight through builder.weight(j).")
