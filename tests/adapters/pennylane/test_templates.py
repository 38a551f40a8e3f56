"""Every built-in that names a published template prepares that template's state (to 1e-12, up to a global phase).

hqnn's final state comes from the embedded torch simulator (complex128) for the layer's own circuit
and slot values; PennyLane's from ``qml.state()`` on ``default.qubit`` running the template (or, for
published models without a template, the qml-benchmarks circuit written op by op) at the same
inputs and weights. 1-8 qubits, 1-3 layers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

qml = pytest.importorskip("pennylane")

import torch  # noqa: E402

from hqnn_core import QuantumLayer  # noqa: E402
from hqnn_plugins.ansatze import entangler_pairs  # noqa: E402

pytestmark = pytest.mark.vendor

QUBITS = range(1, 9)
LAYERS = (1, 2, 3)
BACKEND = {"name": "torch", "options": {"precision": "complex128"}}


def _hqnn_state(layer: QuantumLayer, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        values = layer.slot_values(torch.tensor(x, dtype=torch.float64).reshape(1, -1))
        return layer.backend.simulate(layer.circuit, values)[0].numpy()


def _pennylane_state(n: int, ops) -> np.ndarray:
    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit():
        ops()
        return qml.state()

    return np.asarray(circuit())


def _assert_same_state(ours: np.ndarray, theirs: np.ndarray) -> None:
    k = int(np.argmax(np.abs(theirs)))
    phase = theirs[k] / ours[k]
    assert abs(abs(phase) - 1) < 1e-12, f"norms differ: |phase| = {abs(phase)}"
    err = float(np.max(np.abs(ours * phase - theirs)))
    assert err < 1e-12, f"states differ by {err:.3g} (up to a global phase)"


def _layer(n, layers, encoder, ansatz, seed) -> tuple[QuantumLayer, np.random.Generator]:
    layer = QuantumLayer(n, encoder=encoder, ansatz=ansatz, layers=layers, backend=BACKEND, seed=seed)
    rng = np.random.default_rng(seed)
    if layer.encoder_weights is not None:  # trainable scalings away from their initial ones
        layer.encoder_weights.data = torch.tensor(rng.uniform(0.3, 1.7, tuple(layer.encoder_weights.shape)))
    return layer, rng


@pytest.fixture(autouse=True)
def _float64(float64):
    yield


@pytest.mark.parametrize("n", QUBITS)
@pytest.mark.parametrize("rotation", ["X", "Y", "Z"])
@pytest.mark.parametrize("entangler", ["CNOT", "CZ"])
def test_angle_then_strongly_entangling_equal_angle_embedding_and_strongly_entangling_layers(n, rotation, entangler):
    for layers in LAYERS:
        layer, rng = _layer(n, layers, {"name": "angle", "options": {"rotation": rotation}},
                            {"name": "strongly_entangling", "options": {"entangler": entangler}}, seed=10 * n + layers)
        x = rng.uniform(-math.pi, math.pi, n)
        w = layer.weights.detach().numpy().reshape(layers, n, 3)

        def ops(x=x, w=w):
            qml.AngleEmbedding(x, wires=range(n), rotation=rotation)
            qml.StronglyEntanglingLayers(w, wires=range(n), imprimitive=getattr(qml, entangler))

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
@pytest.mark.parametrize("rotation", ["RX", "RY", "RZ"])
def test_hadamard_angle_then_basic_entangler_equal_the_dressed_quantum_circuit(n, rotation):
    """``angle`` with ``hadamard: true`` and ``basic_entangler``: H, RY(x), then BasicEntanglerLayers (Mari et al. 2020)."""
    for layers in LAYERS:
        layer, rng = _layer(n, layers, {"name": "angle", "options": {"hadamard": True}},
                            {"name": "basic_entangler", "options": {"rotation": rotation}}, seed=10 * n + layers)
        x = rng.uniform(-math.pi, math.pi, n)
        w = layer.weights.detach().numpy()

        def ops(x=x, w=w):
            for i in range(n):
                qml.Hadamard(wires=i)
            qml.AngleEmbedding(x, wires=range(n), rotation="Y")
            qml.BasicEntanglerLayers(w, wires=range(n), rotation=getattr(qml, rotation))

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
def test_angle_with_fewer_features_than_wires_equals_angle_embedding(n):
    for d in range(1, n + 1):
        layer, rng = _layer(n, 1, {"name": "angle", "options": {"rotation": "X", "n_features": d}}, "basic_entangler", seed=n + d)
        x = rng.uniform(-math.pi, math.pi, d)
        w = layer.weights.detach().numpy()

        def ops(x=x, w=w):
            qml.AngleEmbedding(x, wires=range(n), rotation="X")
            qml.BasicEntanglerLayers(w, wires=range(n))

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
def test_iqp_equals_iqp_embedding(n):
    for repeats in LAYERS:
        layer, rng = _layer(n, 1, {"name": "iqp", "options": {"repeats": repeats}}, "basic_entangler", seed=10 * n + repeats)
        x = rng.uniform(-math.pi, math.pi, n)
        w = layer.weights.detach().numpy()

        def ops(x=x, w=w, repeats=repeats):
            qml.IQPEmbedding(x, wires=range(n), n_repeats=repeats)
            qml.BasicEntanglerLayers(w, wires=range(n))

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
def test_basis_equals_basis_embedding(n):
    for layers in LAYERS:
        layer, rng = _layer(n, layers, "basis", "basic_entangler", seed=10 * n + layers)
        bits = rng.integers(0, 2, n).astype(float)
        w = layer.weights.detach().numpy()

        def ops(bits=bits, w=w):
            qml.BasisEmbedding(bits.astype(int), wires=range(n))
            qml.BasicEntanglerLayers(w, wires=range(n))

        _assert_same_state(_hqnn_state(layer, bits), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
def test_amplitude_equals_amplitude_embedding_and_mottonen(n):
    size = 2**n
    for layers, d in zip(LAYERS, (size, max(1, size - 1), max(1, size // 2 + 1)), strict=True):
        pad = 0.0 if d == size else 0.3
        layer, rng = _layer(n, layers, {"name": "amplitude", "options": {"n_features": d, "pad_with": pad}}, "strongly_entangling",
                            seed=10 * n + layers)
        x = rng.normal(size=d)
        w = layer.weights.detach().numpy().reshape(layers, n, 3)

        def ops(x=x, w=w, pad=pad):
            qml.AmplitudeEmbedding(x, wires=range(n), pad_with=pad if pad else None, normalize=True)
            qml.StronglyEntanglingLayers(w, wires=range(n))

        def mottonen(x=x, w=w, pad=pad):
            full = np.concatenate([x, np.full(size - len(x), pad)])
            qml.MottonenStatePreparation(full / np.linalg.norm(full), wires=range(n))
            qml.StronglyEntanglingLayers(w, wires=range(n))

        ours = _hqnn_state(layer, x)
        _assert_same_state(ours, _pennylane_state(n, ops))
        _assert_same_state(ours, _pennylane_state(n, mottonen))


@pytest.mark.parametrize(("n", "copies"), [(2, 2), (4, 2), (6, 2), (8, 2), (3, 3), (6, 3), (8, 4)])
def test_amplitude_copies_equal_amplitude_embedding_of_the_tensor_power(n, copies):
    """The circuit-centric classifier embeds x ⊗ x (qml-benchmarks' CircuitCentricClassifier)."""
    k = n // copies
    d = max(1, 2**k - 1)
    layer, rng = _layer(n, 2, {"name": "amplitude", "options": {"copies": copies, "n_features": d, "pad_with": 1 / 2**k}},
                        "strongly_entangling", seed=n)
    x = rng.normal(size=d)
    w = layer.weights.detach().numpy().reshape(2, n, 3)
    single = np.concatenate([x, np.full(2**k - d, 1 / 2**k)])
    single /= np.linalg.norm(single)
    tensor = single
    for _ in range(copies - 1):
        tensor = np.kron(tensor, single)

    def ops():
        qml.AmplitudeEmbedding(tensor, wires=range(n))
        qml.StronglyEntanglingLayers(w, wires=range(n))

    _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
def test_reuploading_equals_angle_embedding_before_every_template_layer(n):
    for layers in LAYERS:
        layer, rng = _layer(n, layers, "reuploading", "strongly_entangling", seed=10 * n + layers)
        x = rng.uniform(-math.pi, math.pi, n)
        w = layer.weights.detach().numpy().reshape(layers, n, 3)
        ranges = qml.StronglyEntanglingLayers(w, wires=range(n)).hyperparameters["ranges"]  # PennyLane's own per-layer ranges

        def ops(x=x, w=w, layers=layers, ranges=ranges):
            for lay in range(layers):
                qml.AngleEmbedding(x, wires=range(n), rotation="Y")
                qml.StronglyEntanglingLayers(w[lay : lay + 1], wires=range(n), ranges=ranges[lay : lay + 1] if n > 1 else None)

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
def test_data_reuploading_classifier_with_trainable_scaling_equals_qml_benchmarks_circuit(n):
    """Rot(x * omega) then Rot(theta) per qubit, CZs in the double/double_odd brick, no CZ in the last layer.

    As DataReuploadingClassifier in XanaduAI/qml-benchmarks builds it (three features per qubit, the
    last qubit's unused angles zero), with hqnn's ``layers`` counting its uploads.
    """
    d = 3 * n - 1
    encoder = {"name": "reuploading", "options": {"features_per_qubit": 3, "n_features": d, "trainable_scaling": True}}
    ansatz = {"name": "hardware_efficient", "options": {"rotations": ["Rot"], "entangler": "CZ", "pattern": "brick", "final_entangler": False}}
    for layers in LAYERS:
        layer, rng = _layer(n, layers, encoder, ansatz, seed=10 * n + layers)
        x = rng.uniform(-math.pi / 2, math.pi / 2, d)
        theta = layer.weights.detach().numpy().reshape(layers, n, 3)
        omega = layer.encoder_weights.detach().numpy()
        assert omega.shape == (layers, d)
        xp, op = np.concatenate([x, [0.0]]), np.concatenate([omega, np.ones((layers, 1))], axis=1)

        def ops(xp=xp, op=op, theta=theta, layers=layers):
            for lay in range(layers):
                for i in range(n):
                    qml.Rot(*(xp[3 * i : 3 * i + 3] * op[lay, 3 * i : 3 * i + 3]), wires=i)
                    qml.Rot(*theta[lay, i], wires=i)
                if lay < layers - 1:
                    start = 0 if lay % 2 == 0 else 1  # qml.broadcast's "double" / "double_odd"
                    for a in range(start, n - 1, 2):
                        qml.CZ(wires=[a, a + 1])

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
def test_separable_with_reuploading_equals_the_separable_classifier_circuit(n):
    """RY(x_i) then Rot(w) per wire and layer, no entangler (qml-benchmarks' SeparableVariationalClassifier layers)."""
    for layers in LAYERS:
        layer, rng = _layer(n, layers, "reuploading", "separable", seed=10 * n + layers)
        x = rng.uniform(-math.pi, math.pi, n)
        w = layer.weights.detach().numpy().reshape(layers, n, 3)

        def ops(x=x, w=w, layers=layers):
            for lay in range(layers):
                for i in range(n):
                    qml.RY(x[i], wires=i)
                    qml.Rot(*w[lay, i], wires=i)

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


@pytest.mark.parametrize("n", QUBITS)
@pytest.mark.parametrize("pattern", ["ring", "double", "double_odd", "brick", "none"])
def test_hardware_efficient_patterns_equal_qml_broadcast_patterns(n, pattern):
    """Entangler placement as qml.broadcast's ``ring``, ``double`` and ``double_odd`` define it (written out here)."""
    def expected(lay: int) -> list[tuple[int, int]]:
        kind = ("double" if lay % 2 == 0 else "double_odd") if pattern == "brick" else pattern
        if kind == "ring":
            return [(0, 1)] if n == 2 else [(i, (i + 1) % n) for i in range(n)] if n > 2 else []
        if kind == "none":
            return []
        return [(a, a + 1) for a in range(0 if kind == "double" else 1, n - 1, 2)]

    for layers in LAYERS:
        assert [entangler_pairs(n, pattern, lay) for lay in range(layers)] == [expected(lay) for lay in range(layers)]
        layer, rng = _layer(n, layers, "angle", {"name": "hardware_efficient", "options": {"entangler": "CZ", "pattern": pattern}},
                            seed=10 * n + layers)
        x = rng.uniform(-math.pi, math.pi, n)
        w = layer.weights.detach().numpy().reshape(layers, n, 2)

        def ops(x=x, w=w, layers=layers):
            qml.AngleEmbedding(x, wires=range(n), rotation="Y")
            for lay in range(layers):
                for i in range(n):
                    qml.RY(w[lay, i, 0], wires=i)
                    qml.RZ(w[lay, i, 1], wires=i)
                for a, b in expected(lay):
                    qml.CZ(wires=[a, b])

        _assert_same_state(_hqnn_state(layer, x), _pennylane_state(n, ops))


def test_strongly_entangling_on_two_wires_applies_both_cnots():
    """The 2-wire case the old shared ring helper got wrong (one CNOT instead of CNOT(0,1), CNOT(1,0))."""
    layer = QuantumLayer(2, ansatz="strongly_entangling", layers=1, backend=BACKEND, seed=0)
    assert [(op.name, op.wires) for op in layer.circuit.ops if op.name == "CNOT"] == [("CNOT", (0, 1)), ("CNOT", (1, 0))]


@pytest.mark.parametrize(("device", "gradient"), [("default.qubit", "parameter_shift"), ("default.qubit", "best"), ("lightning.qubit", "best")])
def test_trainable_scaling_on_pennylane_devices_matches_torch_backprop(device, gradient):
    """Product slots reach vendor devices as plain angles; their gradients (inputs, weights, scalings) agree with torch."""
    encoder = {"name": "reuploading", "options": {"features_per_qubit": 3, "n_features": 5, "trainable_scaling": True}}
    x0 = torch.tensor([[0.3, -0.7, 1.1, 0.2, -0.4], [-0.9, 0.5, 0.1, 0.8, 0.6]])
    results = []
    for backend, grad in (("torch", "backprop"), (f"pennylane:{device}", gradient)):
        layer = QuantumLayer(2, encoder=encoder, ansatz="strongly_entangling", layers=2, backend=backend, gradient=grad, seed=3)
        with torch.no_grad():
            layer.encoder_weights.copy_(torch.linspace(0.5, 1.5, 10).reshape(2, 5))
        x = x0.clone().requires_grad_(True)
        out = layer(x)
        (out * torch.tensor([1.0, -0.5])).sum().backward()
        results.append((out.detach(), x.grad, layer.weights.grad, layer.encoder_weights.grad))
    for ours, theirs in zip(*results, strict=True):
        torch.testing.assert_close(theirs, ours, atol=1e-10, rtol=0)
