"""QNNClassifier / QNNRegressor against oracles: published data, softmax of the torch module, a hand-written
torch loop, smooth targets, and the shot-noise bound (hqnn_core.testing.stats)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from hqnn_core.errors import ConfigError
from hqnn_core.layer import QuantumLayer
from hqnn_core.sklearn import QNNClassifier, QNNRegressor
from hqnn_core.testing.stats import term_std

DATASETS = Path(os.environ.get("HQNN_DATASETS", Path(__file__).resolve().parents[2].parent / "shared" / "datasets"))
LINEARLY_SEPARABLE_4D = DATASETS / "qml_benchmarks" / "linearly_separable" / "linearly_separable_4d.npz"


@pytest.fixture(scope="module")
def separable():
    if not LINEARLY_SEPARABLE_4D.exists():
        pytest.skip(f"{LINEARLY_SEPARABLE_4D} is missing (set HQNN_DATASETS to the shared datasets folder)")
    data = np.load(LINEARLY_SEPARABLE_4D)
    return data["X_train"], data["y_train"], data["X_test"], data["y_test"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classifier_reaches_90_percent_on_linearly_separable_4d(separable, seed):
    X_train, y_train, X_test, y_test = separable
    model = make_pipeline(StandardScaler(), QNNClassifier(n_qubits=2, layers=1, max_epochs=10, random_state=seed))
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) >= 0.9
    assert list(model[-1].classes_) == [-1, 1]


def test_predict_proba_is_the_softmax_of_the_torch_module(separable):
    X_train, y_train, X_test, _ = separable
    clf = QNNClassifier(n_qubits=2, layers=1, max_epochs=2, random_state=0).fit(X_train[:60], y_train[:60])
    proba = clf.predict_proba(X_test)
    with torch.no_grad():
        logits = clf.module_(torch.as_tensor(X_test))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(proba, torch.softmax(logits, dim=1).numpy(), atol=1e-12)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])
    assert isinstance(clf.module_[-2], QuantumLayer) and clf.module_[-1].out_features == 2


def test_labels_of_any_type_give_the_same_model(separable):
    X_train, y_train, X_test, _ = separable
    X, y = X_train[:60], y_train[:60]
    numeric = QNNClassifier(n_qubits=2, layers=1, max_epochs=2, random_state=0).fit(X, y)
    named = clone(numeric).fit(X, np.where(y > 0, "pos", "neg").astype(object))
    assert list(named.classes_) == ["neg", "pos"]  # sorted, as -1 < 1
    np.testing.assert_array_equal(named.predict_proba(X_test), numeric.predict_proba(X_test))
    np.testing.assert_array_equal(named.predict(X_test), np.where(numeric.predict(X_test) > 0, "pos", "neg"))


def _hand_written_fit(X, y, seed, criterion, n_outputs, epochs, batch_size, lr):
    """The documented recipe, written with plain torch: seed, build front end, layer, head, then Adam over shuffled batches."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        front = [nn.Linear(X.shape[1], 3), nn.Tanh(), nn.Linear(3, 2)]
        layer = QuantumLayer(n_qubits=2, layers=1, seed=seed)
        module = nn.Sequential(*front, layer, nn.Linear(2, n_outputs)).double()
        optimiser = torch.optim.Adam(module.parameters(), lr=lr)
        loader = DataLoader(TensorDataset(torch.tensor(X), torch.tensor(y)), batch_size=batch_size, shuffle=True,
                            generator=torch.Generator().manual_seed(seed))
        for _ in range(epochs):
            for xb, yb in loader:
                optimiser.zero_grad()
                criterion(module(xb), yb).backward()
                optimiser.step()
    return module


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_fit_equals_a_hand_written_torch_loop(separable, kind):
    X_train, y_train, _, _ = separable
    X = X_train[:40]
    target = np.c_[np.sin(X[:, 0]), X[:, 1] * X[:, 2]]
    settings = dict(n_qubits=2, layers=1, hidden_layer_sizes=(3,), max_epochs=3, batch_size=8, lr=0.1, random_state=5)
    if kind == "classifier":
        estimator = QNNClassifier(**settings).fit(X, y_train[:40])
        expected = _hand_written_fit(X, (y_train[:40] > 0).astype(np.int64), 5, nn.CrossEntropyLoss(), 2, 3, 8, 0.1)
    else:
        estimator = QNNRegressor(**settings).fit(X, target)
        expected = _hand_written_fit(X, target, 5, nn.MSELoss(), 2, 3, 8, 0.1)
    got, want = estimator.module_.state_dict(), expected.state_dict()
    assert list(got) == list(want)
    initial = _hand_written_fit(X, target if kind == "regressor" else y_train[:40], 5, None, 2, 0, 8, 0.1).state_dict()
    for name in want:
        np.testing.assert_allclose(got[name].numpy(), want[name].numpy(), atol=1e-6, rtol=0, err_msg=name)
        assert float((want[name] - initial[name]).abs().max()) > 1e-3, name  # every parameter trained


def test_random_state_makes_fit_reproducible_and_leaves_the_global_rng_alone(separable):
    X_train, y_train, _, _ = separable
    X, y = X_train[:40], y_train[:40]
    before = torch.random.get_rng_state()
    first = QNNClassifier(n_qubits=2, layers=1, max_epochs=2, random_state=3).fit(X, y).module_.state_dict()
    again = QNNClassifier(n_qubits=2, layers=1, max_epochs=2, random_state=3).fit(X, y).module_.state_dict()
    other = QNNClassifier(n_qubits=2, layers=1, max_epochs=2, random_state=4).fit(X, y).module_.state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not any(torch.equal(first[name], other[name]) for name in first)


def test_regressor_fits_a_smooth_1d_target():
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (80, 1))
    grid = np.linspace(-1, 1, 50)[:, None]
    reg = QNNRegressor(n_qubits=2, layers=1, max_epochs=40, random_state=0).fit(x, np.sin(2 * x[:, 0]))
    assert reg.predict(grid).shape == (50,)
    assert reg.score(grid, np.sin(2 * grid[:, 0])) >= 0.95  # measured 0.995


def test_regressor_fits_two_smooth_2d_targets_at_once():
    rng = np.random.RandomState(0)
    X, X_test = rng.uniform(-1, 1, (100, 2)), rng.uniform(-1, 1, (60, 2))

    def target(X):
        return np.c_[np.sin(X[:, 0]) * np.cos(X[:, 1]), X[:, 0] * X[:, 1]]

    reg = QNNRegressor(n_qubits=2, layers=1, max_epochs=40, random_state=0).fit(X, target(X))
    assert reg.predict(X_test).shape == (60, 2)
    assert min(r2_score(target(X_test), reg.predict(X_test), multioutput="raw_values")) >= 0.9  # measured 0.971 and 0.995


def test_shots_estimate_the_exact_outputs_within_five_standard_errors(separable):
    X_train, y_train, X_test, _ = separable
    exact = QNNClassifier(n_qubits=2, layers=1, max_epochs=3, random_state=0).fit(X_train[:60], y_train[:60])
    shots = 2000
    sampled = QNNClassifier(n_qubits=2, layers=1, max_epochs=0, shots=shots, backend={"name": "torch", "options": {"seed": 11}},
                            random_state=0).fit(X_train[:60], y_train[:60])
    sampled.module_.load_state_dict(exact.module_.state_dict())  # the trained weights, evaluated with shots
    x = torch.as_tensor(X_test)
    with torch.no_grad():
        z_exact, z_shots = exact.module_[:-1](x), sampled.module_[:-1](x)
    bound = 5 * term_std(z_exact, shots)
    assert bool(((z_shots - z_exact).abs() <= bound).all())
    assert float((z_shots - z_exact).abs().max()) > 0  # they are estimates, not the exact values
    # two classes: p1 = sigmoid(l1 - l0) moves at most a quarter of the logit gap's change
    head = exact.module_[-1].weight.detach()
    gap_bound = ((head[1] - head[0]).abs() * bound).sum(dim=1).numpy() / 4
    assert np.all(np.abs(sampled.predict_proba(X_test)[:, 1] - exact.predict_proba(X_test)[:, 1]) <= gap_bound + 1e-12)


@pytest.mark.parametrize(("params", "message"), [
    ({"front_end": "none", "n_qubits": 2}, "front_end='none' feeds the 4 features"),
    ({"head": "none", "n_qubits": 4}, "head='none' uses the layer's 4 outputs"),
    ({"backend": "torch.noisy?shots=100"}, "set shots= / mitigation= instead"),
    ({"activation": "softsign"}, "activation='softsign' is not one of"),
    ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes entries must be an integer >= 1"),
    ({"n_qubits": 0}, "n_qubits must be a positive integer"),
])
def test_bad_parameters_fail_in_fit_with_one_clear_error(separable, params, message):
    X_train, y_train, _, _ = separable
    estimator = QNNClassifier(**{"n_qubits": 2, "max_epochs": 1, **params})  # constructing never fails (scikit-learn's rule)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        estimator.fit(X_train[:10], y_train[:10])
