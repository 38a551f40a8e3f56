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

:func:`~hqnn_core.circuit_assembly.add_ansatz_layer` builds layer ``k`` (mirrored when asked; torch-free, in
:mod:`hqnn_core.circuit_assembly`) and :func:`initial_weights` draws the ``(layers, weights_per_layer)`` tensor for a strategy.
"""

from __future__ import annotations

import torch

from hqnn_core.circuit_assembly import INITS, Init, add_adjoint_layer, add_ansatz_layer, check_init
from hqnn_core.interfaces.ansatz import Ansatz

#: Standard deviation of the ``normal`` strategy's angles unless one is given.
DEFAULT_STD = 0.1


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
