"""Initialisation strategies for ansatz weights, the first remedy for barren plateaus.

* ``uniform``: the ansatz's own initialiser (uniform angles in ``[0, 2pi)`` for the built-ins). A
  deep circuit then approaches a 2-design and its gradients vanish exponentially in the qubit count
  (McClean et al. 2018).
* ``normal``: small angles drawn from ``N(0, std^2)``, which keeps the circuit near a shallow
  Clifford circuit at the start (Zhang et al. 2022).
* ``zeros``: every angle 0.
* ``identity_blocks``: Grant et al. (2019). Layers come in pairs: an ansatz layer followed by its
  adjoint (gates reversed, angles negated). The first layer of each pair is drawn uniformly and the
  second starts with the same angles, so each pair, and the whole ansatz, starts as the identity.
  Both halves are trained freely afterwards. Needs an even number of layers and an encoder that
  does not re-upload between layers.

:func:`add_ansatz_layer` builds layer ``k`` (mirrored when asked) and :func:`initial_weights` draws
the ``(layers, weights_per_layer)`` tensor for a strategy.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch

from hqnn_core.circuit import CircuitBuilder, SlotRef
from hqnn_core.errors import CapabilityError, ConfigError
from hqnn_core.interfaces.ansatz import Ansatz

Init = Literal["uniform", "normal", "zeros", "identity_blocks"]
INITS: tuple[str, ...] = get_args(Init)
#: Standard deviation of the ``normal`` strategy's angles unless one is given.
DEFAULT_STD = 0.1

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


def add_adjoint_layer(builder: CircuitBuilder, ansatz: Ansatz, wires: list[int], layer: int) -> None:
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


def add_ansatz_layer(builder: CircuitBuilder, ansatz: Ansatz, wires: list[int], layer: int, mirrored: bool = False) -> None:
    """Layer ``layer`` of the ansatz; with ``mirrored``, odd layers are the adjoint of the layer before them."""
    if mirrored and layer % 2:
        add_adjoint_layer(builder, ansatz, wires, layer - 1)
    else:
        ansatz.add_layer(builder, wires, layer)


def initial_weights(init: str, ansatz: Ansatz, shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype = torch.float32,
                    std: float = DEFAULT_STD) -> torch.Tensor:
    """The ``(layers, weights_per_layer)`` starting angles of strategy ``init``, drawn from ``generator``."""
    check_init(init, shape[0])
    if init == "normal":
        return torch.randn(shape, generator=generator, dtype=dtype) * std
    if init == "zeros":
        return torch.zeros(shape, dtype=dtype)
    weights = ansatz.init_weights(shape, generator, dtype)
    if init == "identity_blocks":
        weights[1::2] = weights[0::2]  # each adjoint layer undoes the layer before it
    return weights


__all__ = ["DEFAULT_STD", "INITS", "Init", "add_adjoint_layer", "add_ansatz_layer", "check_init", "initial_weights"]
