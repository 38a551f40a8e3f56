"""Tutorial 2: the digits model of tutorial 1 on three vendors' simulators, changing one name.

Run it with ``python docs/tutorials/three_vendors.py`` (needs ``pip install "hqnn[all]"``). It
trains the same model, from the same initial weights, on Qiskit Aer, PennyLane's default.qubit
and Braket's local state-vector simulator, with exact expectations, and checks that the three
agree with each other and with hqnn's embedded simulator. The sizes are kept small so that it
runs in CI in seconds. ``gradient="best"`` picks each backend's gradient: backprop on torch and
default.qubit, parameter-shift on Aer and Braket (one Aer job and one Braket program per step).
"""

from __future__ import annotations

import sys

import torch
from digits_classifier import accuracy, fit, hybrid_model, load_data

BACKENDS = ["qiskit.aer", "pennylane:default.qubit", "braket.local:sv"]
CLASSES = 2  # digits 0 and 1: a small task that a few steps solve
TRAIN, TEST = 64, 60  # CI-sized subsets of the 270/90 split


def main(backends: list[str]) -> None:
    x_train, y_train, x_test, y_test = load_data(CLASSES)
    x_train, y_train, x_test, y_test = x_train[:TRAIN], y_train[:TRAIN], x_test[:TEST], y_test[:TEST]
    outputs = {}
    for backend in ["torch", *backends]:
        model = hybrid_model(backend=backend, classes=CLASSES)  # <- the one line that changes
        fit(model, x_train, y_train, epochs=4, lr=0.05, batch_size=16)
        with torch.no_grad():
            outputs[backend] = model(x_test).double()
        print(f"{backend:>24}: test accuracy {accuracy(model, x_test, y_test):.4f}")
    reference = outputs["torch"]
    worst = max(float((out - reference).abs().max()) for out in outputs.values())
    print(f"largest difference from the torch backend: {worst:.2e}")
    for backend, out in outputs.items():
        acc = float((out.argmax(dim=1) == y_test).double().mean())
        assert acc >= 0.9, f"{backend}: test accuracy {acc:.4f} < 0.9"
    assert worst < 1e-4, f"the vendors disagree with the torch backend by {worst:.2e}"


if __name__ == "__main__":
    main(sys.argv[1:] or BACKENDS)
