"""Built-in ansätze: hardware-efficient, strongly entangling, basic entangler and separable layers.

Each one that names a published template builds exactly that template's gates for every qubit and
layer count (tests/adapters/pennylane/test_templates.py compares final states with PennyLane's).
Their options and gates are in :mod:`hqnn_plugins.layouts.ansatze` (torch-free); these classes add
the torch interface (initial weights).
"""

from __future__ import annotations

from hqnn_core.interfaces.ansatz import Ansatz
from hqnn_plugins.layouts.ansatze import (
    BasicEntanglerLayout,
    HardwareEfficientLayout,
    Pattern,
    SeparableLayout,
    StronglyEntanglingLayout,
    entangler_pairs,
)


class HardwareEfficientAnsatz(HardwareEfficientLayout, Ansatz):
    """Layers of single-qubit rotations on every wire followed by entanglers (Kandala et al. 2017)."""


class StronglyEntanglingAnsatz(StronglyEntanglingLayout, Ansatz):
    """General rotations then entanglers at a range that grows with depth: PennyLane's StronglyEntanglingLayers."""


class BasicEntanglerAnsatz(BasicEntanglerLayout, Ansatz):
    """PennyLane's ``BasicEntanglerLayers``: one rotation per wire then a CNOT ring (one CNOT on two wires)."""


class SeparableAnsatz(SeparableLayout, Ansatz):
    """A general rotation on every wire and no entangler: the separable baselines of Bowles et al. 2024."""


__all__ = ["BasicEntanglerAnsatz", "HardwareEfficientAnsatz", "Pattern", "SeparableAnsatz", "StronglyEntanglingAnsatz", "entangler_pairs"]
