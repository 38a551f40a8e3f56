"""benchmarks/paper_init.py: the paper's initial weights have the paper's shapes and land where the paper's circuit reads them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

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


def test_the_two_jax_modes_draw_differently():
    assert PAPER_INIT["WeiNet"][0]["s"][0] == pytest.approx(-0.8580704513894785)
    assert PARTITIONABLE_INIT["WeiNet"][0]["s"][0] == pytest.approx(1.6760101840021415)


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
