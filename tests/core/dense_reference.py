"""An independent dense simulator (numpy, gate by gate) for the gates the tests' layers use."""

from __future__ import annotations

import numpy as np


def _ry(t: float) -> np.ndarray:
    return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]])


def _rz(t: float) -> np.ndarray:
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


_ONE_QUBIT = {"RY": lambda a: _ry(a[0]), "RZ": lambda a: _rz(a[0]), "Rot": lambda a: _rz(a[2]) @ _ry(a[1]) @ _rz(a[0])}


def layer_state(layer, x) -> np.ndarray:
    """The state ``[2**n]`` of a layer's circuit at one input row ``x`` ``[1, features]`` (wire 0 = MSB)."""
    values = layer.slot_values(x)[0].detach().double().numpy()
    n = layer.n_qubits
    psi = np.zeros((2,) * n, dtype=complex)
    psi[(0,) * n] = 1
    for op in layer.circuit.ops:
        if op.name == "CNOT":
            control, target = op.wires
            psi = psi.copy()
            index: list = [slice(None)] * n
            index[control] = 1
            psi[tuple(index)] = np.flip(psi[tuple(index)], axis=target - (target > control))
            continue
        u = _ONE_QUBIT[op.name]([values[s] for s in op.slots])
        (w,) = op.wires
        psi = np.moveaxis(np.tensordot(u, psi, axes=([1], [w])), 0, w)
    return psi.reshape(-1)
