"""Born machines and their pieces against independent oracles: counted patterns, numpy distances, a dense MMD and simulator."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from dense_reference import layer_state
from scipy.stats import chisquare, entropy

from hqnn_core import CircuitBuilder, QuantumLayer
from hqnn_core.errors import CapabilityError, ConfigError, InputError, UnsupportedError
from hqnn_core.generative import (
    MMD,
    BornMachine,
    ProductBernoulli,
    as_indices,
    bars_and_stripes,
    bits_of,
    empirical_distribution,
    kl_divergence,
    total_variation,
)


def _is_bar_or_stripe(image: np.ndarray) -> bool:
    return bool((image == image[:, :1]).all() or (image == image[:1, :]).all())


@pytest.mark.parametrize(("rows", "cols"), [(2, 2), (3, 3), (2, 3), (3, 4)])
def test_bars_and_stripes_lists_every_pattern_once(rows, cols):
    patterns = bars_and_stripes(rows, cols)
    assert patterns.shape == (2**rows + 2**cols - 2, rows * cols)  # blank and full are both a bar and a stripe
    assert len({tuple(p) for p in patterns}) == len(patterns)
    every = [np.array(b).reshape(rows, cols) for b in itertools.product((0, 1), repeat=rows * cols)]
    expected = {tuple(im.ravel()) for im in every if _is_bar_or_stripe(im)}  # brute force over all 2**(rows*cols) images
    assert {tuple(p) for p in patterns} == expected


def test_indices_put_bit_zero_first():
    X = np.array([[1, 0, 0], [0, 0, 1], [1, 1, 0]])
    indices, n = as_indices(X)
    assert n == 3 and indices.tolist() == [4, 1, 6]
    assert (bits_of(indices, 3) == X).all()
    assert empirical_distribution(np.array([0, 3, 3, 1]), n_bits=2).tolist() == [0.25, 0.25, 0.0, 0.5]


def test_bad_data_is_refused_with_the_fix():
    with pytest.raises(InputError, match="only 0 and 1"):
        as_indices(np.array([[0.0, 2.0]]))
    with pytest.raises(InputError, match="need n_bits"):
        as_indices(np.array([1, 2]))
    with pytest.raises(InputError, match="0..3"):
        as_indices(np.array([4]), n_bits=2)


def test_tvd_and_kl_match_their_definitions():
    data = np.array([0.5, 0.5, 0.0, 0.0])
    model = np.array([0.25, 0.25, 0.25, 0.25])
    assert total_variation(data, model) == pytest.approx(0.5)
    assert kl_divergence(data, model) == pytest.approx(math.log(2))
    rng = np.random.default_rng(0)
    p, q = rng.dirichlet(np.ones(16)), rng.dirichlet(np.ones(16))
    assert total_variation(p, q) == pytest.approx(max(p[p > q].sum() - q[p > q].sum(), 0.0))  # the largest event gap
    assert kl_divergence(p, q) == pytest.approx(entropy(p, q), rel=1e-12)  # scipy's KL
    assert kl_divergence(np.array([1.0, 0.0]), np.array([0.0, 1.0])) == pytest.approx(-math.log(1e-12))  # floored, finite


def _dense_kernel(n_bits: int, bandwidths) -> np.ndarray:
    strings = np.array(list(itertools.product((0, 1), repeat=n_bits)))
    sq = ((strings[:, None, :] - strings[None, :, :]) ** 2).sum(-1)
    return np.mean([np.exp(-sq / (2 * s**2)) for s in bandwidths], axis=0)


@pytest.mark.parametrize("bandwidths", [(0.25, 0.5, 1.0), (2.0,)])
def test_mmd_equals_the_dense_kernel_quadratic_form(bandwidths):
    rng = np.random.default_rng(1)
    p, q = rng.dirichlet(np.ones(32)), rng.dirichlet(np.ones(32))
    K = _dense_kernel(5, bandwidths)
    expected = (p - q) @ K @ (p - q)
    got = MMD(5, bandwidths)(torch.as_tensor(p), torch.as_tensor(q))
    assert float(got) == pytest.approx(expected, rel=1e-12)
    v = torch.as_tensor(p, dtype=torch.float64)
    assert np.allclose(MMD(5, bandwidths).apply(v).numpy(), K @ p, atol=1e-14)


def test_sampled_mmd_is_the_unbiased_estimator():
    rng = np.random.default_rng(2)
    n_bits, shots = 4, 50
    target = rng.dirichlet(np.ones(16))
    samples = rng.integers(0, 16, size=shots)
    K = _dense_kernel(n_bits, (0.25, 0.5, 1.0))
    pairs = K[np.ix_(samples, samples)]
    direct = (pairs.sum() - np.trace(pairs)) / (shots * (shots - 1)) - 2 * (K[samples] @ target).sum() / shots + target @ K @ target
    frequencies = torch.as_tensor(np.bincount(samples, minlength=16) / shots)
    assert float(MMD(n_bits)(frequencies, torch.as_tensor(target), shots=shots)) == pytest.approx(direct, rel=1e-10)


def test_bandwidths_must_be_positive():
    with pytest.raises(ConfigError, match="positive"):
        MMD(3, (0.5, -1.0))


def test_probabilities_equal_a_dense_simulation_of_the_circuit():
    bm = BornMachine(n_bits=4, layers=2, seed=3)
    layer = bm.training_layer
    with torch.no_grad():
        layer.weights.copy_(torch.linspace(-2.0, 2.5, layer.weights.numel(), dtype=torch.float64).reshape(layer.weights.shape))
    expected = np.abs(layer_state(layer, torch.zeros(1, 0, dtype=torch.float64))) ** 2
    assert np.allclose(bm.probabilities(), expected.reshape(-1), atol=1e-12)
    probs_route = BornMachine(n_bits=4, layers=2, seed=3, gradient="parameter_shift")  # reads probabilities, not the state
    assert probs_route.training_layer.circuit.measurement.kind == "probs"
    with torch.no_grad():
        probs_route.training_layer.weights.copy_(layer.weights)
    assert np.allclose(probs_route.probabilities(), expected.reshape(-1), atol=1e-12)


def test_samples_follow_the_exact_probabilities():
    bm = BornMachine(n_bits=3, layers=2, seed=4)
    probs = bm.probabilities()
    n = 20_000
    counts = np.bincount(as_indices(bm.sample(n, seed=5))[0], minlength=8)
    assert chisquare(counts, probs * n).pvalue > 1e-4
    sigma = np.sqrt(n * probs * (1 - probs))
    assert (np.abs(counts - n * probs) <= 5 * sigma + 1).all()


def test_training_on_shots_samples_through_the_backend():
    bm = BornMachine(n_bits=2, layers=1, seed=6, shots=4000)
    assert bm.training_layer.gradient.name == "parameter_shift"
    probs = bm.probabilities()  # the exact twin shares the weights
    counts = np.bincount(as_indices(bm.sample(4000))[0], minlength=4)
    sigma = np.sqrt(4000 * probs * (1 - probs))
    assert (np.abs(counts - 4000 * probs) <= 5 * sigma + 1).all()
    bm.set_data(np.array([[0, 0], [1, 1]]))
    exact = bm.mmd()
    row = bm.step()  # the sampled, unbiased MMD of the same weights
    assert abs(row["mmd"] - exact) < 0.01 and bm.history == [row]


def test_backend_capabilities_are_checked_before_training():
    with pytest.raises(CapabilityError, match="exact probabilities only"):
        BornMachine(n_bits=2, backend=_exact_only_backend(), shots=100)
    with pytest.raises(CapabilityError, match="only samples"):
        BornMachine(n_bits=2, backend=_sampling_only_backend())
    sampled = BornMachine(n_bits=2, backend=_sampling_only_backend(), shots=100)
    with pytest.raises(UnsupportedError, match="exact probabilities are unknown"):
        sampled.probabilities()
    assert sampled.sample(10).shape == (10, 2)
    with pytest.raises(ConfigError, match="limited to 12 bits"):
        BornMachine(n_bits=13, shots=100)
    with pytest.raises(ConfigError, match="call fit"):
        BornMachine().probabilities()


def _sampling_only_backend():
    from dataclasses import replace

    from hqnn_core.components import get_backend

    backend = get_backend("torch")
    backend.capabilities = replace(backend.capabilities, analytic=False, state=False, backprop=False)  # type: ignore[misc]
    return backend


def _exact_only_backend():
    from dataclasses import replace

    from hqnn_core.components import get_backend

    backend = get_backend("torch")
    backend.capabilities = replace(backend.capabilities, shots=False)  # type: ignore[misc]
    return backend


def test_product_bernoulli_is_the_product_of_the_marginals():
    X = np.array([[1, 0, 1], [1, 1, 0], [0, 0, 1], [1, 0, 1]])
    model = ProductBernoulli().fit(X)
    q = X.mean(axis=0)
    expected = [np.prod([q[i] if b[i] else 1 - q[i] for i in range(3)]) for b in itertools.product((0, 1), repeat=3)]
    assert np.allclose(model.probabilities(), expected)
    samples = model.sample(20_000, seed=0)
    assert np.allclose(samples.mean(axis=0), q, atol=5 * np.sqrt(0.25 / 20_000))
    # bars and stripes: every pixel is on in half the patterns, so the product is uniform over all 2**9 images
    score = ProductBernoulli().fit(bars_and_stripes(3, 3)).score()
    assert score["tvd"] == pytest.approx(1 - 14 / 512) and score["kl"] == pytest.approx(math.log(512 / 14))


def test_a_layer_without_inputs_takes_zero_features():
    builder = CircuitBuilder(2)
    builder.add("RY", [0], builder.weight(0))
    builder.add("CNOT", [0, 1])
    layer = QuantumLayer(circuit=builder.build(), measure="probs", seed=0)
    with torch.no_grad():
        layer.weights.fill_(math.pi / 2)
    out = layer(torch.zeros(3, 0))
    assert out.shape == (3, 4)
    assert np.allclose(out.detach().numpy(), [[0.5, 0, 0, 0.5]] * 3, atol=1e-6)  # a Bell pair


def test_born_machine_learns_2x2_bars_and_stripes():
    X = bars_and_stripes(2, 2)
    bm = BornMachine(layers=3, steps=100, seed=1).fit(X)
    score = bm.score()
    assert score["tvd"] < 0.1
    assert score["tvd"] == pytest.approx(total_variation(empirical_distribution(X), bm.probabilities()))
    assert bm.history[-1]["mmd"] < 0.1 * bm.history[0]["mmd"]


@pytest.mark.slow
def test_born_machine_learns_3x3_bars_and_stripes():
    X = bars_and_stripes(3, 3)
    bm = BornMachine(layers=6, steps=130, seed=1).fit(X)
    assert bm.score()["tvd"] < 0.1
    assert bm.score()["tvd"] < ProductBernoulli().fit(X).score()["tvd"] - 0.8
