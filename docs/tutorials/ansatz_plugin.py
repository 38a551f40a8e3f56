"""Tutorial 4: write an ansatz, register it as a plugin, prove it with the conformance suite, train it.

Run it with ``python docs/tutorials/ansatz_plugin.py``. A packaged plugin registers the same hook
through an ``hqnn`` entry point (see ``plugins/examples/hqnn-example-ansatz``); here the plugin is
registered for the duration of a ``with`` block, which is how you develop one before packaging.
"""

from __future__ import annotations

import torch
from digits_classifier import ToAngles, accuracy, fit, load_data
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from hqnn_core import Ansatz, CircuitBuilder, QuantumLayer, hookimpl, temporary_plugin
from hqnn_core.testing import check_component

SEED = 0


class RingAnsatz(Ansatz):
    """RY and RZ on every wire, then CNOTs around a ring: a light, fully connected entangler."""

    name = "tutorial.ring"  # third-party names are namespaced: <plugin>.<component>

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)  # a typo in a profile is an error, not a silent default
        closed: bool = Field(True, description="add the CNOT from the last wire back to the first")

    def weights_per_layer(self, n_qubits: int) -> int:
        return 2 * n_qubits

    def add_layer(self, builder: CircuitBuilder, wires: list[int], layer: int) -> None:
        for j, w in enumerate(wires):
            builder.add("RY", [w], builder.weight(2 * j))
            builder.add("RZ", [w], builder.weight(2 * j + 1))
        pairs = list(zip(wires, wires[1:]))
        if self.options.closed and len(wires) > 2:
            pairs.append((wires[-1], wires[0]))
        for a, b in pairs:
            builder.add("CNOT", [a, b])


class BrokenRingAnsatz(RingAnsatz):
    """A ring that declares more weights than it reads: the conformance suite must catch it."""

    name = "tutorial.broken_ring"

    def weights_per_layer(self, n_qubits: int) -> int:
        return 2 * n_qubits + 1


class TutorialPlugin:
    """The plugin: hook implementations only. Registration may run more than once, so it only registers."""

    @hookimpl
    def hqnn_register_ansatze(self, registry):
        registry.add(RingAnsatz)


def main() -> None:
    # 1. The conformance suite checks the contracts every ansatz keeps (weight count, seeding,
    #    options round-trip, neutral gates, gradients against finite differences).
    results = check_component(RingAnsatz(), on_fail=None) + check_component(RingAnsatz(closed=False), on_fail=None)
    failed = [r for r in results if not r.ok]
    print(f"conformance checks passed: {sum(r.status == 'passed' for r in results)} of {len(results)}")
    assert results and not failed, "\n".join(r.message for r in failed)
    broken = [r.check for r in check_component(BrokenRingAnsatz(), on_fail=None) if not r.ok]
    print(f"checks the broken ansatz fails: {', '.join(broken)}")
    assert broken, "the conformance suite should reject an ansatz whose weight count does not match its slots"

    # 2. Registered, the ansatz is a name like any built-in: in QuantumLayer, in profiles, in `hqnn components`.
    x_train, y_train, x_test, y_test = load_data(classes=2)
    with temporary_plugin(TutorialPlugin(), name="tutorial"):
        torch.manual_seed(SEED)
        model = nn.Sequential(
            nn.Linear(64, 4),
            ToAngles(),
            QuantumLayer(4, ansatz={"name": "tutorial.ring", "options": {"closed": True}}, layers=2, seed=SEED),
            nn.Linear(4, 2),
        )
        fit(model, x_train, y_train, epochs=5, lr=0.02)
        acc = accuracy(model, x_test, y_test)
    print(f"test accuracy with tutorial.ring: {acc:.4f}")
    assert acc >= 0.95, f"digits 0 vs 1 with the ring ansatz should reach 95% test accuracy, got {acc:.4f}"


if __name__ == "__main__":
    main()
