"""Tutorial 6: bring your own circuit. A Qiskit circuit and a PennyLane QNode become hqnn layers.

Run it with ``python docs/tutorials/bring_your_circuit.py`` (needs ``pip install "hqnn[all]"``). The
Qiskit model is ``zz_feature_map`` followed by ``real_amplitudes`` (Qiskit ML's usual classifier
circuit); the PennyLane model is ``AngleEmbedding`` followed by ``StronglyEntanglingLayers`` (a
TorchLayer's usual QNode). Each is trained as the middle of a small torch model (Linear, circuit,
Linear) on the embedded
torch backend and on Qiskit Aer, PennyLane's default.qubit and Braket's local simulator, from the
same initial weights; the four must agree.
"""

from __future__ import annotations

import pennylane as qml
import torch
from qiskit.circuit.library import real_amplitudes, zz_feature_map
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from torch import nn

from hqnn_core import QuantumLayer

BACKENDS = ["torch", "qiskit.aer", "pennylane:default.qubit", "braket.local:sv"]
N_QUBITS = 2
SEED = 0

# -- the two circuits, as their own libraries write them ---------------------------------------------
feature_map, ansatz = zz_feature_map(N_QUBITS, reps=1), real_amplitudes(N_QUBITS, reps=2)
qiskit_circuit = feature_map.compose(ansatz)


@qml.qnode(qml.device("default.qubit", wires=N_QUBITS), interface="torch")
def qnode(inputs, weights):
    qml.AngleEmbedding(inputs, wires=range(N_QUBITS))
    qml.StronglyEntanglingLayers(weights, wires=range(N_QUBITS))
    return [qml.expval(qml.PauliZ(w)) for w in range(N_QUBITS)]


def quantum_layer(kind: str, backend: str) -> QuantumLayer:
    """The same circuit as an hqnn layer on ``backend``: the only line that differs between vendors."""
    if kind == "qiskit":
        return QuantumLayer(circuit=qiskit_circuit, inputs=feature_map.parameters, weights=ansatz.parameters, backend=backend, seed=SEED)
    return QuantumLayer(circuit=qnode, inputs=N_QUBITS, weight_shapes={"weights": (2, N_QUBITS, 3)}, backend=backend, seed=SEED)


def load_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Digits 0 and 1 reduced to two principal components scaled into [0, pi]; 40 training and 40 test images."""
    digits = load_digits(n_class=2)
    x = PCA(N_QUBITS, random_state=SEED).fit_transform(digits.data / 16.0)
    x = (x - x.min(0)) / (x.max(0) - x.min(0)) * torch.pi
    x, y = torch.tensor(x, dtype=torch.float32), torch.tensor(digits.target)
    return x[:40], y[:40], x[100:140], y[100:140]


def train(kind: str, backend: str, data: tuple[torch.Tensor, ...]) -> tuple[float, torch.Tensor]:
    x_train, y_train, x_test, y_test = data
    torch.manual_seed(SEED)  # the head's initial weights
    model = nn.Sequential(nn.Linear(N_QUBITS, N_QUBITS), quantum_layer(kind, backend), nn.Linear(N_QUBITS, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    order = torch.Generator().manual_seed(SEED)
    for _ in range(4):
        for idx in torch.randperm(len(y_train), generator=order).split(10):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
    with torch.no_grad():
        scores = model(x_test)
    return float((scores.argmax(1) == y_test).float().mean()), scores.double()


def main() -> None:
    data = load_data()
    for kind in ("qiskit", "pennylane"):
        scores = {}
        for backend in BACKENDS:
            accuracy, scores[backend] = train(kind, backend, data)
            print(f"{kind} circuit on {backend}: test accuracy {accuracy:.3f}")
            assert accuracy >= 0.85, f"{kind} on {backend}: {accuracy:.3f}"
        worst = max(float((s - scores["torch"]).abs().max()) for s in scores.values())
        print(f"{kind} circuit, largest difference from the torch backend: {worst:.1e}")
        assert worst < 1e-4, f"the backends disagree on the {kind} circuit by {worst:.2e}"


if __name__ == "__main__":
    main()
