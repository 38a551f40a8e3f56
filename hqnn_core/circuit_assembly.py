"""Assemble a layer's circuit from an encoder and an ansatz, and the circuit side of the init strategies.

Imports no torch: ``hqnn validate`` builds the same circuit a :class:`~hqnn_core.layer.QuantumLayer`
builds from the components' torch-free layouts (:mod:`hqnn_core.interfaces.layout`). The weight
side of the strategies (drawing the angles) is :mod:`hqnn_core.initialisation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from hqnn_core.circuit import Circuit, CircuitBuilder, Observable, SlotRef
from hqnn_core.errors import CapabilityError, ConfigError
from hqnn_core.interfaces.layout import AnsatzLayout, EncoderLayout

Init = Literal["uniform", "normal", "zeros", "identity_blocks"]
INITS: tuple[str, ...] = get_args(Init)

_SELF_INVERSE = {"I", "H", "X", "Y", "Z", "CNOT", "CZ", "SWAP"}
_INVERSE_NAME = {"S": "Sdg", "Sdg": "S", "T": "Tdg", "Tdg": "T"}


def check_init(init: str, layers: int, reupload: bool = False) -> None:
    """Raise :class:`ConfigError` when ``init`` is unknown or cannot build ``layers`` layers."""
    if init not in INITS:
        raise ConfigError(f"init {init!r} is not a strategy; choose one of {', '.join(INITS)}.")
    if init == "identity_blocks" and layers % 2:
        raise ConfigError(f"init identity_blocks pairs each layer with its adjoint, so it needs an even number of layers, got {layers}; "
                          f"use layers: {layers + 1}.")
    if init == "identity_blocks" and reupload:
        raise ConfigError("init identity_blocks needs an encoder that does not re-upload between layers (it would break each pair's identity); "
                          "use another init or encoder.")


def add_adjoint_layer(builder: CircuitBuilder, ansatz: AnsatzLayout, wires: list[int], layer: int) -> None:
    """Append the adjoint of ansatz layer ``layer`` (gates reversed, angles negated), reading weights at ``builder.weight_offset``."""
    scratch = CircuitBuilder(builder.n_qubits)
    scratch.weight_offset = builder.weight_offset
    ansatz.add_layer(scratch, wires, layer)
    recorded = scratch.build()
    for op in reversed(recorded.ops):
        refs = [SlotRef(s.source, s.index, -s.coeff, -s.offset) for s in (recorded.slots[i] for i in op.slots)]
        if op.name in _SELF_INVERSE or op.name in _INVERSE_NAME:
            builder.add(_INVERSE_NAME.get(op.name, op.name), op.wires)
        elif op.spec.n_params:
            builder.add(op.name, op.wires, *(reversed(refs) if op.name == "Rot" else refs))  # Rot(a,b,c)^-1 = Rot(-c,-b,-a)
        else:
            raise CapabilityError(f"init identity_blocks: ansatz {ansatz.name!r} uses gate {op.name}, whose inverse is not a neutral gate; "
                                  "use another init.")


def add_ansatz_layer(builder: CircuitBuilder, ansatz: AnsatzLayout, wires: list[int], layer: int, mirrored: bool = False) -> None:
    """Layer ``layer`` of the ansatz; with ``mirrored``, odd layers are the adjoint of the layer before them."""
    if mirrored and layer % 2:
        add_adjoint_layer(builder, ansatz, wires, layer - 1)
    else:
        ansatz.add_layer(builder, wires, layer)


def build_circuit(n_qubits: int, encoder: EncoderLayout, ansatz: AnsatzLayout, layers: int, observables: Sequence[Observable] | None = None,
                  mirrored: bool = False) -> Circuit:
    """Encoder then ``layers`` ansatz layers (re-uploading encoders repeat before every layer; ``mirrored``: odd layers are adjoints).

    Weight slots number the ansatz's ``layers x weights_per_layer`` weights first, then the
    encoder's own weights (:meth:`Encoder.weights_per_upload` per upload), upload by upload.
    """
    wires = list(range(n_qubits))
    builder = CircuitBuilder(n_qubits)
    builder.n_layers = layers
    per_layer = ansatz.weights_per_layer(n_qubits)
    per_upload = encoder.weights_per_upload(n_qubits)
    upload = 0
    for layer in range(layers):
        if layer == 0 or encoder.reupload:
            builder.weight_offset = layers * per_layer + upload * per_upload
            encoder.add_ops(builder, wires)
            upload += 1
        builder.weight_offset = layer * per_layer
        add_ansatz_layer(builder, ansatz, wires, layer, mirrored)
    return builder.build(observables)


def build_ansatz_circuit(n_qubits: int, ansatz: AnsatzLayout, layers: int, mirrored: bool = False) -> Circuit:
    """``layers`` ansatz layers with no encoder (a Born machine's circuit), weights numbered as in :func:`build_circuit`."""
    builder = CircuitBuilder(n_qubits)
    builder.n_layers = layers
    for layer in range(layers):
        builder.weight_offset = layer * ansatz.weights_per_layer(n_qubits)
        add_ansatz_layer(builder, ansatz, list(range(n_qubits)), layer, mirrored)
    return builder.build(None)


def parse_observables(spec: Sequence[Observable | str] | None, n_qubits: int) -> list[Observable] | None:
    """The observables a layer measures, parsed from strings (``None``: the default, Z on every qubit)."""
    if spec is None:
        return None
    if isinstance(spec, (str, Observable)):
        spec = [spec]
    out = [o if isinstance(o, Observable) else Observable.parse(o) for o in spec]
    if not out:
        raise ConfigError("observables is empty; give at least one, e.g. ['Z0'], or leave it unset for Z on every qubit.")
    return out


__all__ = ["INITS", "Init", "add_adjoint_layer", "add_ansatz_layer", "build_circuit", "check_init", "parse_observables"]
