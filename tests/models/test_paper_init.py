"""benchmarks/paper_init.py: the listed initial weights are the paper's JAX draws and the models start from them.

The oracle is JAX's threefry PRNG transcribed to numpy below (checked against JAX 0.4.25, whose defaults
the paper ran), so the values are rechecked without JAX.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import erfinv

from benchmarks.paper_init import MODELS, PAPER_INIT, PAPER_SHAPES, PARTITIONABLE_INIT, from_initial_values

N_FEATURES = {"CircuitCentricClassifier": 4, "WeiNet": 16}  # linearly_separable_4d; 4 x 4 bars & stripes
#: the paper's best hyperparameters that set the parameter shapes (paper_reference_results.csv)
SHAPING = {"CircuitCentricClassifier": {"n_input_copies": 3, "n_layers": 1}, "WeiNet": {}}


@pytest.mark.parametrize("table", [PAPER_INIT, PARTITIONABLE_INIT])
def test_every_seed_lists_each_parameter_with_the_papers_size(table):
    assert set(table) == set(MODELS)
    for model, seeds in table.items():
        assert list(seeds) == [0, 1, 2, 3, 4]
        for values in seeds.values():
            assert {name: len(flat) for name, flat in values.items()} == {
                name: math.prod(shape) for name, shape in PAPER_SHAPES[model].items()}
    for values in table["CircuitCentricClassifier"].values():  # uniform(0, 2pi)
        assert 0 <= min(values["weights"]) and max(values["weights"]) < 2 * np.pi


# --- JAX's threefry2x32 draws (jax_threefry_partitionable=False), transcribed to numpy from jax/_src/prng.py and random.py


def _threefry2x32(key: tuple[int, int], x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32 with 20 rounds (Salmon et al. 2011), as JAX applies it to two halves of a counter."""
    u = np.uint32
    ks = (u(key[0]), u(key[1]), u(key[0]) ^ u(key[1]) ^ u(0x1BD11BDA))
    x = [x0 + ks[0], x1 + ks[1]]
    for i in range(5):
        for r in ((13, 15, 26, 6), (17, 29, 16, 24))[i % 2]:
            x[0] = x[0] + x[1]
            x[1] = ((x[1] << u(r)) | (x[1] >> u(32 - r))) ^ x[0]
        x[0] = x[0] + ks[(i + 1) % 3]
        x[1] = x[1] + ks[(i + 2) % 3] + u(i + 1)
    return x[0], x[1]


def _jax_uniform64(seed: int, size: int, low: float, high: float) -> np.ndarray:
    """``jax.random.uniform(PRNGKey(seed), (size,), float64, low, high)``: 52 random mantissa bits of 64 per value."""
    count = np.arange(2 * size, dtype=np.uint32)
    with np.errstate(over="ignore"):
        high_bits, low_bits = _threefry2x32((0, seed), count[:size], count[size:])  # PRNGKey(seed) is [0, seed]
    bits = (high_bits.astype(np.uint64) << np.uint64(32)) | low_bits.astype(np.uint64)
    floats = ((bits >> np.uint64(12)) | np.float64(1.0).view(np.uint64)).view(np.float64) - 1.0
    return np.maximum(low, floats * (high - low) + low)


def _jax_normal64(seed: int, size: int) -> np.ndarray:
    return np.sqrt(2) * erfinv(_jax_uniform64(seed, size, np.nextafter(-1.0, 0.0), 1.0))


def _papers_keys(random_state: int, n: int) -> list[int]:
    """The seeds of the paper's ``generate_key()`` calls: ``default_rng(random_state).integers(1000000)``, in turn."""
    rng = np.random.default_rng(random_state)
    return [int(rng.integers(1000000)) for _ in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_the_listed_values_are_the_papers_jax_draws(seed):
    (key,) = _papers_keys(seed, 1)
    circuit_centric = _jax_uniform64(key, 18, 0.0, 2 * np.pi)
    assert np.array_equal(PAPER_INIT["CircuitCentricClassifier"][seed]["weights"], circuit_centric)  # bit for bit
    assert not np.allclose(PARTITIONABLE_INIT["CircuitCentricClassifier"][seed]["weights"], circuit_centric)
    s_key, weights_key = _papers_keys(seed, 2)  # WeiNet draws s, then weights; scipy's erfinv may differ from XLA's by an ulp
    np.testing.assert_allclose(PAPER_INIT["WeiNet"][seed]["s"], _jax_normal64(s_key, 9), rtol=0, atol=1e-14)
    np.testing.assert_allclose(PAPER_INIT["WeiNet"][seed]["weights"], _jax_normal64(weights_key, 4) / 4, rtol=0, atol=1e-14)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_model_starts_from_the_listed_values_in_the_papers_layout(model):
    _, cls = MODELS[model]
    estimator = from_initial_values(cls, PAPER_INIT[model])(**SHAPING[model], random_state=3)
    estimator._preprocess(np.ones((2, N_FEATURES[model])), fit=True)  # WeiNet sizes its image here
    estimator._build(N_FEATURES[model], np.random.default_rng(3))
    for name, shape in PAPER_SHAPES[model].items():
        expected = np.reshape(PAPER_INIT[model][3][name], shape)
        # CircuitCentric keeps (n_layers, n_qubits * 3); row-major, that is PennyLane's (n_layers, n_qubits, 3)
        np.testing.assert_array_equal(estimator.params_[name].detach().numpy().reshape(shape), expected)
        assert estimator.params_[name].dtype == torch.float64


def test_circuit_centric_from_the_papers_weights_gives_the_outputs_of_those_weights():
    _, cls = MODELS["CircuitCentricClassifier"]
    started = from_initial_values(cls, PAPER_INIT["CircuitCentricClassifier"])(n_input_copies=3, n_layers=1, random_state=0)
    started._build(4, np.random.default_rng(0))
    plain = cls(n_input_copies=3, n_layers=1, random_state=0)
    plain._build(4, np.random.default_rng(0))
    x = torch.from_numpy(np.random.default_rng(5).uniform(-1, 1, size=(6, 4)))
    before = plain._outputs(x).detach().numpy()
    with torch.no_grad():
        plain.params_["weights"].copy_(torch.tensor(PAPER_INIT["CircuitCentricClassifier"][0]["weights"], dtype=torch.float64).reshape(1, 18))
    np.testing.assert_allclose(started._outputs(x).detach().numpy(), plain._outputs(x).detach().numpy(), atol=1e-12)
    assert not np.allclose(before, plain._outputs(x).detach().numpy())  # numpy's draw is another starting point
