"""``measure="probs"``: outcome probabilities on every backend, their gradients, shots and ``interpret``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from dense_reference import layer_state

from hqnn_core import QuantumLayer
from hqnn_core.errors import ConfigError, UnsupportedError
from hqnn_core.measurement import counts

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"


def _layer(**kw):
    kw.setdefault("seed", 1)
    return QuantumLayer(3, encoder="angle", ansatz="strongly_entangling", layers=2, **kw)


def _exact_state_probs(layer, x):
    """|amplitude|^2 of an independent dense simulation, row by row."""
    return torch.tensor(np.stack([np.abs(layer_state(layer, row[None])) ** 2 for row in x]))


X = torch.tensor([[0.3, -1.2, 2.2], [1.5, 0.1, -0.4]], dtype=torch.float64)


def test_probabilities_are_normalised_and_equal_the_z_string_transform():
    layer = _layer(measure="probs")
    probs = layer(X)
    assert probs.shape == (2, 8) and layer.n_outputs == 8
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-12, rtol=0)
    assert bool((probs > -1e-12).all())
    torch.testing.assert_close(probs, _exact_state_probs(layer, X), atol=1e-12, rtol=0)


@pytest.mark.parametrize("wires", [[0], [2, 0], [1, 2]])
def test_marginals_over_wires_match_the_full_distribution(wires):
    full = _layer(measure="probs")(X).reshape(2, 2, 2, 2)  # batch, wire 0, wire 1, wire 2
    part = _layer(measure="probs", wires=wires)(X)
    others = tuple(1 + w for w in range(3) if w not in wires)
    expected = full.sum(dim=others) if others else full
    kept = sorted(wires)
    if kept != wires:  # the first listed wire is the most significant bit
        expected = expected.permute(0, *[1 + kept.index(w) for w in wires])
    torch.testing.assert_close(part, expected.reshape(2, -1), atol=1e-12, rtol=0)


@pytest.mark.parametrize("gradient", ["backprop", "adjoint", "parameter_shift", "finite_diff"])
def test_gradients_of_probabilities_match_finite_differences(gradient):
    layer = _layer(measure="probs", wires=[0, 2], gradient=gradient).double()
    x = X.clone().requires_grad_(True)
    cotangent = torch.tensor([[0.3, -1.0, 0.5, 2.0], [1.0, 0.2, -0.7, 0.1]], dtype=torch.float64)
    (layer(x) * cotangent).sum().backward()
    reference = _layer(measure="probs", wires=[0, 2], gradient="backprop").double()
    with torch.no_grad():
        eps = 1e-6
        fd_w = torch.zeros_like(reference.weights)
        for idx in np.ndindex(*reference.weights.shape):
            for sign in (1, -1):
                reference.weights[idx] += sign * eps
                fd_w[idx] += sign * float((reference(X) * cotangent).sum()) / (2 * eps)
                reference.weights[idx] -= sign * eps
        fd_x = torch.zeros_like(X)
        for idx in np.ndindex(*X.shape):
            shifted = X.clone()
            shifted[idx] += eps
            up = float((reference(shifted) * cotangent).sum())
            shifted[idx] -= 2 * eps
            fd_x[idx] = (up - float((reference(shifted) * cotangent).sum())) / (2 * eps)
    tol = 1e-4 if gradient == "finite_diff" else 1e-7
    torch.testing.assert_close(layer.weights.grad, fd_w, atol=tol, rtol=0)
    torch.testing.assert_close(x.grad, fd_x, atol=tol, rtol=0)


def test_sampled_probabilities_are_frequencies_within_five_standard_errors():
    shots = 4000
    exact = _layer(measure="probs")(X)
    sampled = _layer(measure="probs", shots=shots, backend_options={"seed": 7})(X)
    counts = sampled * shots
    assert torch.allclose(counts, counts.round(), atol=1e-6)  # frequencies of one set of samples
    torch.testing.assert_close(sampled.sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-12, rtol=0)
    stderr = torch.sqrt(exact * (1 - exact) / shots)
    assert bool(((sampled - exact).abs() <= 5 * stderr + 1e-9).all())


def test_interpret_sums_outcomes_into_classes_like_sampler_qnn():
    probs = _layer(measure="probs")(X)
    parity = _layer(measure="probs", interpret=lambda b: bin(b).count("1") % 2, output_shape=2)
    out = parity(X)
    assert parity.n_outputs == 2
    odd = [b for b in range(8) if bin(b).count("1") % 2]
    torch.testing.assert_close(out[:, 1], probs[:, odd].sum(dim=1), atol=1e-12, rtol=0)
    torch.testing.assert_close(out.sum(dim=1), torch.ones(2, dtype=torch.float64), atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measure": "probs", "observables": ["Z0"]}, "observables apply to measure='expval'"),
        ({"wires": [0]}, "wires= applies to measure='probs'"),
        ({"measure": "probs", "wires": [0, 0]}, "distinct wires"),
        ({"measure": "probs", "wires": [3]}, "distinct wires in 0..2"),
        ({"measure": "probs", "interpret": lambda b: b}, "needs output_shape"),
        ({"measure": "probs", "interpret": lambda b: b, "output_shape": 2}, "must return an int in 0..1"),
        ({"measure": "density"}, "not supported"),
        ({"output_shape": 3}, "applies with interpret="),
    ],
)
def test_bad_measurement_requests_name_the_fix(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        _layer(**kwargs)


def test_too_many_probability_wires_is_refused():
    with pytest.raises(ConfigError, match="at most 10"):
        QuantumLayer(11, layers=1, measure="probs")


@pytest.mark.slow
def test_parity_classifier_trains_on_bars_and_stripes():
    """A linear front end, 4 qubits, probabilities read as parity: SamplerQNN's classifier, on shared data."""
    data = np.load(DATASETS / "qml_benchmarks" / "bars_and_stripes" / "bars_and_stripes_4_x_4_0.5noise.npz")
    x_train, x_test = (torch.tensor(data[k]).reshape(-1, 16).float() for k in ("X_train", "X_test"))
    y_train, y_test = (torch.tensor((data[k] > 0).astype(np.int64)) for k in ("y_train", "y_test"))
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(16, 4),
        QuantumLayer(4, encoder="angle", ansatz="strongly_entangling", layers=2, seed=0, measure="probs",
                     interpret=lambda b: bin(b).count("1") % 2, output_shape=2),
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    order = torch.Generator().manual_seed(0)
    for _ in range(6):
        for idx in torch.randperm(len(y_train), generator=order).split(32):
            optimizer.zero_grad()
            torch.nn.functional.nll_loss(torch.log(model(x_train[idx]) + 1e-9), y_train[idx]).backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(dim=1) == y_test).float().mean())
    assert accuracy >= 0.85  # 0.90 when written; the classes are balanced (majority 0.51)


def test_samples_are_bits_whose_frequencies_match_the_probabilities():
    shots = 3000
    layer = _layer(measure="samples", wires=[2, 0], shots=shots, backend_options={"seed": 11})
    samples = layer(X)
    assert samples.shape == (2, shots, 2) and layer.n_outputs == 2
    assert set(torch.unique(samples).tolist()) <= {0.0, 1.0}
    exact = _layer(measure="probs", wires=[2, 0])(X)
    outcome = (samples[..., 0] * 2 + samples[..., 1]).long()  # wire 2 is the most significant bit, as listed
    frequencies = torch.stack([(outcome == b).double().mean(dim=1) for b in range(4)], dim=1)
    stderr = torch.sqrt(exact * (1 - exact) / shots)
    assert bool(((frequencies - exact).abs() <= 5 * stderr + 1e-9).all())
    tallies = counts(samples)
    assert sum(tallies[0].values()) == shots and tallies[0]["10"] == int((outcome[0] == 2).sum())


def test_asking_for_the_gradient_of_samples_is_a_clear_error():
    samples = _layer(measure="samples", shots=10)(X.clone().requires_grad_(True))
    with pytest.raises(UnsupportedError, match="samples are not differentiable"):
        samples.sum().backward()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({}, "needs shots"), ({"shots": 10, "mitigation": ["zne"]}, "mitigators correct expectations"),
     ({"shots": 10, "interpret": lambda b: 0, "output_shape": 1}, "interpret= applies to measure='probs'")],
)
def test_bad_sample_requests_are_refused_when_the_layer_is_built(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        _layer(measure="samples", **kwargs)


def test_state_is_the_statevector_of_an_independent_simulation_and_differentiable():
    layer = _layer(measure="state").double()
    x = X.clone().requires_grad_(True)
    states = layer(x)
    assert states.shape == (2, 8) and states.is_complex() and layer.n_outputs == 8
    for row in range(2):
        expected = torch.from_numpy(layer_state(layer, X[row : row + 1]))
        torch.testing.assert_close(states[row].detach(), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close((states.abs() ** 2).detach(), _layer(measure="probs").double()(X), atol=1e-12, rtol=0)
    functional = (states[:, 3].real * 2 + states[:, 5].imag).sum()
    functional.backward()
    eps = 1e-6
    with torch.no_grad():
        for i, j in [(0, 0), (1, 2)]:
            up, down = X.clone(), X.clone()
            up[i, j] += eps
            down[i, j] -= eps
            f_up, f_down = (layer(t)[:, 3].real * 2 + layer(t)[:, 5].imag for t in (up, down))
            assert float((f_up - f_down).sum()) / (2 * eps) == pytest.approx(float(x.grad[i, j]), abs=1e-7)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"backend": "torch.noisy"}, "needs a backend that returns statevectors"), ({"shots": 100}, "exact and unmitigated"),
     ({"gradient": "parameter_shift"}, "differentiates by backprop"), ({"wires": [0]}, "wires= applies to measure='probs'")],
)
def test_state_requests_a_backend_cannot_honour_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        _layer(measure="state", **kwargs)
