"""The image models of the paper (WeiNet, the quanvolutional network, the classical CNN) against numpy oracles.

* WeiNet's output is computed here from the paper's own filter matrices (``kron(V, V)`` on the
  normalised pixels) and its correlators, not from the model's shift of the pixels;
* the quanvolutional layer is a dense simulation of the filter's gates, read window by window
  from the image as the paper's index arithmetic lays them out;
* the CNN is a loop-by-loop numpy convolution, max pool and dense layers;
* short training runs on the shared bars & stripes images reach stated accuracies.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from hqnn_core.errors import ConfigError, InputError
from hqnn_core.models import ConvolutionalNeuralNetwork, QuanvolutionalNeuralNetwork, WeiNet
from hqnn_core.models.convolutional_neural_network import TRUNCATED_STD, ConvNet
from hqnn_core.models.quanvolutional_neural_network import random_layers

DATA = (Path(__file__).resolve().parents[3] / "shared" / "datasets" / "qml_benchmarks" / "bars_and_stripes"
        / "bars_and_stripes_4_x_4_0.5noise.npz")
RNG = np.random.default_rng(5)


def z_signs(n: int, wires: list[int]) -> np.ndarray:
    """The eigenvalues of Z_w1 Z_w2 ... on the basis states (wire 0 the most significant bit)."""
    signs = np.ones(2**n)
    for w in wires:
        signs = signs * (1 - 2 * ((np.arange(2**n) >> (n - 1 - w)) & 1))
    return signs


def gate(name: str, angle: float | None = None) -> np.ndarray:
    c, s = (math.cos(angle / 2), math.sin(angle / 2)) if angle is not None else (1.0, 0.0)
    return {"RX": np.array([[c, -1j * s], [-1j * s, c]]), "RY": np.array([[c, -s], [s, c]]),
            "RZ": np.diag([np.exp(-0.5j * angle), np.exp(0.5j * angle)]) if angle is not None else None,
            "CNOT": np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])}[name]


def apply(psi: np.ndarray, u: np.ndarray, wires: tuple[int, ...], n: int) -> np.ndarray:
    k = len(wires)
    t = np.moveaxis(psi.reshape((2,) * n), wires, range(k)).reshape(2**k, -1)
    return np.moveaxis((u @ t).reshape((2,) * n), range(k), wires).reshape(-1)


@pytest.fixture(scope="module")
def bars_and_stripes():
    with np.load(DATA) as data:
        return (data["X_train"].reshape(500, -1), data["y_train"], data["X_test"].reshape(200, -1), data["y_test"])


# --- WeiNet


def test_weinet_output_is_the_linear_model_on_correlators_of_the_papers_shifted_amplitudes():
    model = WeiNet()
    X = RNG.normal(size=(4, 16))
    features = model._preprocess(X, fit=True)
    model._build(features.shape[1], np.random.default_rng(0))
    s, w = RNG.normal(size=9), RNG.normal(size=4)
    with torch.no_grad():
        model.params_["s"].copy_(torch.from_numpy(s))
        model.params_["weights"].copy_(torch.from_numpy(w))
    outputs = model._outputs(torch.from_numpy(features)).detach().numpy()
    V = np.zeros((4, 4))  # the paper's construct_unitaries for nu = 2 (k = +1), divided by the filter entry
    V[np.arange(4), (np.arange(4) + 1) % 4] = 1
    for x, out in zip(X, outputs, strict=True):
        psi = np.kron(V, V) @ (x / np.linalg.norm(x))
        expvals = [psi**2 @ z_signs(4, [0]), psi**2 @ z_signs(4, [0, 2]), psi**2 @ z_signs(4, [2]), 1.0]
        assert out == pytest.approx(float(np.dot(w, expvals)), abs=1e-10)  # softmax(s) mixes nine equal circuits
    assert model.layer_.circuit.n_outputs == 3 and len(model.params_["weights"]) == 4  # the paper's n_expvals


def test_weinet_refuses_an_unknown_filter_and_non_square_images():
    with pytest.raises(ConfigError, match="filter_name='blur'"):
        WeiNet(filter_name="blur", max_steps=1).fit(RNG.normal(size=(4, 16)), [-1, 1] * 2)
    with pytest.raises(InputError, match="12 features are not a square"):
        WeiNet(max_steps=1).fit(RNG.normal(size=(4, 12)), [-1, 1] * 2)


# --- the quanvolutional layer


def test_quanvolutional_features_are_the_ones_of_the_most_probable_outcome_per_window():
    model = QuanvolutionalNeuralNetwork(n_qchannels=2, rand_depth=3, rand_rot=5, output_channels=(2, 2), random_state=3)
    X = RNG.normal(size=(3, 16))
    bits = model._preprocess(X, fit=True)
    scaled = model.scaler_.transform(X)
    np.testing.assert_array_equal(bits, (scaled > 0).astype(float))
    model._build(16, np.random.default_rng(3))
    maps = model.feature_maps(torch.from_numpy(bits)).numpy()
    assert maps.shape == (3, 2, 3, 3)
    angle_rng = np.random.default_rng(3)  # the filters' angles are the first draws of the fit's generator
    for channel in range(2):
        gates = random_layers(2 * np.pi * angle_rng.uniform(size=(3, 5)), 4)
        assert len([g for g in gates if g[2] is not None]) == 15
        for n, image in enumerate(bits.reshape(3, 4, 4)):
            for row in range(3):
                for col in range(3):
                    window = image[row : row + 2, col : col + 2].reshape(-1)  # wires 0..3: the window row-major
                    psi = np.zeros(16, dtype=complex)
                    psi[0] = 1
                    for wire, bit in enumerate(window):
                        psi = apply(psi, gate("RY", np.pi * bit), (wire,), 4)
                    for name, wires, angle in gates:
                        psi = apply(psi, gate(name, angle), wires, 4)
                    ones = bin(int(np.argmax(np.abs(psi) ** 2))).count("1")
                    assert maps[n, channel, col, row] == ones  # the paper lays a map out [column, row]


# --- the classical CNN


def numpy_cnn(x: np.ndarray, net: ConvNet) -> float:
    """conv (same) -> max pool 2 -> conv (same) -> max pool 2 -> dense + relu -> dense, for one [C, H, W] image."""
    p = {k: v.detach().numpy() for k, v in net.state_dict().items()}

    def conv(a, w, b):
        k = w.shape[-1]
        lo = (k - 1) // 2
        padded = np.pad(a, ((0, 0), (lo, k - 1 - lo), (lo, k - 1 - lo)))
        out = np.zeros((w.shape[0], a.shape[1], a.shape[2]))
        for o in range(w.shape[0]):
            for i in range(a.shape[1]):
                for j in range(a.shape[2]):
                    out[o, i, j] = np.sum(w[o] * padded[:, i : i + k, j : j + k]) + b[o]
        return out

    def pool(a):
        return a.reshape(a.shape[0], a.shape[1] // 2, 2, a.shape[2] // 2, 2).max(axis=(2, 4))

    a = pool(conv(pool(conv(x, p["conv1.weight"], p["conv1.bias"])), p["conv2.weight"], p["conv2.bias"]))
    hidden = np.maximum(p["hidden.weight"] @ a.reshape(-1) + p["hidden.bias"], 0)
    return float((p["out.weight"] @ hidden + p["out.bias"])[0])


def test_the_cnn_is_conv_pool_conv_pool_dense_relu_dense():
    net = ConvNet(1, 4, (3, 5), kernel_shape=3).double()
    with torch.no_grad():
        for param in net.parameters():
            param.copy_(torch.from_numpy(RNG.normal(size=tuple(param.shape))))
    x = RNG.normal(size=(2, 1, 4, 4))
    got = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(got, [numpy_cnn(image, net) for image in x], atol=1e-10)


def test_cnn_weights_start_as_flax_lecun_normal_and_biases_at_zero():
    net = ConvNet(1, 4, (32, 64), kernel_shape=3).double()
    net.reset_like_flax(np.random.default_rng(0))
    weight = net.conv2.weight.detach().numpy()  # fan_in 3 * 3 * 32
    std = math.sqrt(1 / 288)
    assert weight.std() == pytest.approx(std, rel=0.03)
    assert np.abs(weight).max() <= 2 * std / TRUNCATED_STD
    assert all(float(m.bias.detach().abs().max()) == 0 for m in (net.conv1, net.conv2, net.hidden, net.out))


# --- training


SHORT_RUNS = [  # learning rates raised, networks narrowed and steps capped so that each run takes seconds
    (ConvolutionalNeuralNetwork(output_channels=(8, 16), learning_rate=0.01, max_steps=80, random_state=0), 0.85),
    (QuanvolutionalNeuralNetwork(n_qchannels=2, kernel_shape=3, output_channels=(8, 16), learning_rate=0.01, max_steps=80,
                                 random_state=0), 0.8),
]


@pytest.mark.parametrize(("model", "accuracy"), SHORT_RUNS, ids=[type(m).__name__ for m, _ in SHORT_RUNS])
def test_a_short_training_run_on_bars_and_stripes_reaches_the_stated_accuracy(model, accuracy, bars_and_stripes):
    X_train, y_train, X_test, y_test = bars_and_stripes
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = clone(model).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= accuracy
    np.testing.assert_allclose(model.predict_proba(X_test).sum(axis=1), 1.0, atol=1e-12)


def test_weinet_lowers_its_loss_and_stays_near_chance(bars_and_stripes):
    """Published at 0.545: squared amplitudes lose the pixels' signs, which is what tells bars from stripes."""
    X_train, y_train, X_test, y_test = bars_and_stripes
    model = WeiNet(learning_rate=0.05, max_steps=100, convergence_interval=None, random_state=0).fit(X_train, y_train)
    assert model.loss_history_[-20:].mean() < model.loss_history_[:20].mean()
    assert 0.35 <= model.score(X_test, y_test) <= 0.65


def test_hyperparameters_are_the_papers_names_and_defaults():
    assert WeiNet().get_params() == {
        "filter_name": "edge_detect", "learning_rate": 0.1, "max_steps": 10000, "convergence_interval": 200, "random_state": 42,
        "max_vmap": None, "scaling": 1.0, "batch_size": 32, "backend": "torch"}
    assert ConvolutionalNeuralNetwork().get_params() == {
        "kernel_shape": 3, "output_channels": (32, 64), "learning_rate": 0.001, "convergence_interval": 200, "max_steps": 10000,
        "batch_size": 32, "max_vmap": None, "random_state": 42, "scaling": 1.0}
    quanv = QuanvolutionalNeuralNetwork().get_params()
    assert {k: quanv[k] for k in ("qkernel_shape", "n_qchannels", "rand_depth", "rand_rot", "threshold", "kernel_shape")} == {
        "qkernel_shape": 2, "n_qchannels": 1, "rand_depth": 10, "rand_rot": 20, "threshold": 0.0, "kernel_shape": 3}
