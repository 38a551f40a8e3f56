"""The published models (hqnn_core.models) against independent oracles, and their scikit-learn behaviour.

* circuits: each model's forward pass equals the paper's circuit simulated here gate by gate with
  dense numpy matrices (written from XanaduAI/qml-benchmarks' model code, not from hqnn's builders);
* the convergence criterion stops at the step where the paper's loop (transcribed below) stops;
* one short training run per model on linearly_separable_4d reaches a stated test accuracy.
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
from hqnn_core.models import (
    CircuitCentricClassifier,
    DataReuploadingClassifier,
    DressedQuantumCircuitClassifier,
    IQPVariationalClassifier,
    QuantumKitchenSinks,
    QuantumMetricLearner,
    SeparableVariationalClassifier,
    TreeTensorClassifier,
)
from hqnn_core.models.quantum_kitchen_sinks import shared_shot
from hqnn_core.models.training import has_converged, train

DATA = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "qml_benchmarks" / "linearly_separable" / "linearly_separable_4d.npz"
RNG = np.random.default_rng(11)

# --- a dense statevector simulator, independent of hqnn (wire 0 is the most significant bit)

I2 = np.eye(2)
H = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
Z = np.diag([1.0, -1.0])


def rx(t):
    return np.array([[np.cos(t / 2), -1j * np.sin(t / 2)], [-1j * np.sin(t / 2), np.cos(t / 2)]])


def ry(t):
    return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]])


def rz(t):
    return np.diag([np.exp(-0.5j * t), np.exp(0.5j * t)])


def rot(a, b, c):
    return rz(c) @ ry(b) @ rz(a)


def apply(psi, u, wires, n):
    """Apply a ``2**k x 2**k`` matrix to ``wires`` of an n-qubit state."""
    k = len(wires)
    t = np.moveaxis(psi.reshape((2,) * n), wires, range(k)).reshape(2**k, -1)
    return np.moveaxis((u @ t).reshape((2,) * n), range(k), wires).reshape(-1)


CNOT = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]])
CZ = np.diag([1, 1, 1, -1])


def rzz(t):
    return np.diag(np.exp(-0.5j * t * np.array([1, -1, -1, 1])))


def zero(n):
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    return psi


def expval_z(psi, wires, n):
    """<Z_w1 Z_w2 ...>."""
    signs = np.ones(2**n)
    for w in wires:
        signs = signs * np.array([1 - 2 * ((i >> (n - 1 - w)) & 1) for i in range(2**n)])
    return float(np.sum(np.abs(psi) ** 2 * signs))


def _prepared(model, n_features, n_rows=3):
    X = RNG.uniform(-1, 1, size=(20, n_features))
    features = model._preprocess(X, fit=True)
    model._build(features.shape[1], np.random.default_rng(0))
    with torch.no_grad():
        for p in model.params_.values():
            p.copy_(torch.from_numpy(RNG.uniform(-np.pi, np.pi, size=tuple(p.shape))))
    params = {k: v.detach().numpy() for k, v in model.params_.items()}
    return features[:n_rows], params


def _output(model, x):
    """The model's output(s) for one preprocessed row."""
    out = model._outputs(torch.from_numpy(x[None]))[0].detach().numpy()
    return out if out.ndim else float(out)


def test_data_reuploading_equals_a_dense_simulation_of_the_paper_circuit():
    model = DataReuploadingClassifier(n_layers=3, observable_type="full")
    rows, p = _prepared(model, 7)  # 3 qubits, features padded to 9
    n, layers = 3, 3
    for x in rows:
        psi = zero(n)
        for layer in range(layers):
            for i in range(n):
                psi = apply(psi, rot(*(x[3 * i : 3 * i + 3] * p["omegas"][layer, 3 * i : 3 * i + 3])), [i], n)
                psi = apply(psi, rot(*p["thetas"][i, layer]), [i], n)
            for a in range(layer % 2, n - 1, 2):
                psi = apply(psi, CZ, [a, a + 1], n)
        for i in range(n):
            psi = apply(psi, rot(*(x[3 * i : 3 * i + 3] * p["omegas"][layers, 3 * i : 3 * i + 3] + p["thetas"][i, layers])), [i], n)
        expected = [expval_z(psi, [i], n) for i in range(n)]
        got = _output(model, x)
        np.testing.assert_allclose(got, expected, atol=1e-10)


def test_iqp_variational_equals_a_dense_simulation_of_the_paper_circuit():
    n, layers = 3, 2
    model = IQPVariationalClassifier(n_layers=layers, repeats=2)
    rows, p = _prepared(model, n)
    w = p["weights"].reshape(layers, n, 3)
    for x in rows:
        psi = zero(n)
        for _ in range(2):  # IQPEmbedding: H, RZ(x_i), then MultiRZ(x_i x_j) on every pair
            for i in range(n):
                psi = apply(psi, H, [i], n)
                psi = apply(psi, rz(x[i]), [i], n)
            for i in range(n):
                for j in range(i + 1, n):
                    psi = apply(psi, rzz(x[i] * x[j]), [i, j], n)
        for layer in range(layers):  # StronglyEntanglingLayers(imprimitive=CZ)
            for i in range(n):
                psi = apply(psi, rot(*w[layer, i]), [i], n)
            r = layer % (n - 1) + 1
            for i in range(n):
                psi = apply(psi, CZ, [i, (i + r) % n], n)
        got = _output(model, x)
        assert got == pytest.approx(expval_z(psi, [0, 1], n), abs=1e-10)


def test_dressed_circuit_equals_a_dense_simulation_of_the_paper_model():
    n, layers = 3, 2
    model = DressedQuantumCircuitClassifier(n_layers=layers)
    rows, p = _prepared(model, n)
    for x in rows:
        angles = np.tanh(p["input_weights"] @ x) * np.pi / 2
        psi = zero(n)
        for i in range(n):
            psi = apply(psi, ry(angles[i]) @ H, [i], n)
        for layer in range(layers):
            for i in range(n):
                psi = apply(psi, ry(p["circuit_weights"][layer, i]), [i], n)
            for i in range(n):
                psi = apply(psi, CNOT, [i, (i + 1) % n], n)
        expected = p["output_weights"] @ np.array([expval_z(psi, [i], n) for i in range(n)])
        np.testing.assert_allclose(_output(model, x), expected, atol=1e-10)


def test_circuit_centric_amplitudes_are_padded_copies_and_the_output_is_z0_plus_bias():
    model = CircuitCentricClassifier(n_input_copies=2, n_layers=1)
    rows, p = _prepared(model, 3)  # 2 qubits per copy, padded with 1/4
    n = 4
    w = p["weights"].reshape(1, n, 3)
    for x in rows:
        v = np.r_[x, 0.25]
        v = v / np.linalg.norm(v)
        psi = np.kron(v, v).astype(complex)
        for i in range(n):
            psi = apply(psi, rot(*w[0, i]), [i], n)
        for i in range(n):
            psi = apply(psi, CNOT, [i, (i + 1) % n], n)
        got = _output(model, x)
        assert got == pytest.approx(expval_z(psi, [0], n) + float(p["b"]), abs=1e-10)


def test_tree_tensor_equals_a_dense_simulation_of_the_paper_circuit():
    model = TreeTensorClassifier()
    rows, p = _prepared(model, 5)  # ceil(log2 5) = 3 -> 4 qubits, 16 amplitudes
    n = 4
    for x in rows:
        psi = np.r_[x, np.full(11, 1 / 16)].astype(complex)
        psi /= np.linalg.norm(psi)
        w, count = p["weights"][0], 0
        for level in range(2):
            for q in range(0, n, 2**level):
                psi = apply(psi, ry(w[count]), [q], n)
                count += 1
            for i in range(0, n, 2 ** (level + 1)):
                psi = apply(psi, CNOT, [i + 2**level, i], n)
        psi = apply(psi, ry(w[count]), [0], n)
        got = _output(model, x)
        assert got == pytest.approx(expval_z(psi, [0], n) + float(p["bias"][0]), abs=1e-10)


def test_separable_model_is_the_mean_of_single_qubit_circuits():
    model = SeparableVariationalClassifier(encoding_layers=2)
    rows, p = _prepared(model, 3)
    for x in rows:
        values = []
        for i in range(3):
            psi = zero(1)
            for layer in range(2):
                psi = ry(x[i]) @ rot(*p["weights"][i, layer]) @ psi
            psi = rot(*p["weights"][i, 2]) @ psi
            values.append(expval_z(psi, [0], 1))
        assert _output(model, x) == pytest.approx(np.mean(values), abs=1e-10)


def test_metric_learner_fidelity_is_the_overlap_of_qaoa_embeddings():
    model = QuantumMetricLearner(n_layers=2, batch_size=4, max_steps=1, convergence_interval=None)
    model.fit(RNG.uniform(-1, 1, (8, 3)), np.tile([-1, 1], 4))  # builds the layer; the weights are set below
    n, w = 4, RNG.uniform(-np.pi, np.pi, size=(2, 8))
    with torch.no_grad():
        model.layer_.weights.copy_(torch.from_numpy(w))

    def embed(x):
        psi = zero(n)

        def features(psi):
            for i in range(3):
                psi = apply(psi, rx(x[i]), [i], n)
            return apply(psi, H, [3], n)

        for layer in range(2):
            psi = features(psi)
            for i in range(n):
                psi = apply(psi, rzz(w[layer, i]), [i, (i + 1) % n], n)
            for i in range(n):
                psi = apply(psi, ry(w[layer, n + i]), [i], n)
        return features(psi)

    x1, x2 = RNG.uniform(-1.5, 1.5, (2, 3))
    expected = abs(np.vdot(embed(x2), embed(x1))) ** 2
    got = float(model.fidelities(torch.from_numpy(x1[None]), torch.from_numpy(x2[None]))[0].detach())
    assert got == pytest.approx(expected, abs=1e-10)


def test_kitchen_sink_shot_is_the_inverse_cdf_outcome_of_one_shared_uniform():
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.0, 0.5], [0.0, 0.0, 0.0, 1.0]], dtype=torch.float64)
    # jax.random.choice: index = searchsorted(cumsum(p), total * (1 - u)); u = 0.75 -> threshold 0.25
    np.testing.assert_array_equal(shared_shot(probs, 0.75).numpy(), [[0, 1], [0, 0], [1, 1]])
    np.testing.assert_array_equal(shared_shot(probs, 0.0).numpy(), [[1, 1], [1, 1], [1, 1]])


# --- the convergence criterion


def _paper_stopping_step(history, convergence_interval):
    """model_utils.train's loop, transcribed: the step at which it breaks, or None."""
    loss_history = []
    for step, loss_val in enumerate(history):
        loss_history.append(loss_val)
        if step > 2 * convergence_interval:
            average1 = np.mean(loss_history[-convergence_interval:])
            average2 = np.mean(loss_history[-2 * convergence_interval : -convergence_interval])
            std1 = np.std(loss_history[-convergence_interval:])
            if np.abs(average2 - average1) <= std1 / np.sqrt(convergence_interval) / 2:
                return step
    return None


@pytest.mark.parametrize("interval", [10, 30])
def test_training_stops_at_the_step_the_papers_loop_stops(interval):
    steps = np.arange(1500)
    noise = np.random.default_rng(interval).normal(0, 0.02, len(steps))
    history = list(np.exp(-steps / 100) + noise)  # decays, then flat noise
    expected = _paper_stopping_step(history, interval)
    assert expected is not None and 2 * interval < expected < 1499
    replay = iter(history)
    weight = torch.zeros(1, requires_grad=True)
    result = train(lambda x: weight.sum() * 0 + next(replay), [weight], (torch.zeros(5, 1),), learning_rate=0.1,
                   batch_size=2, max_steps=1500, convergence_interval=interval, rng=np.random.default_rng(0))
    assert result.converged and result.steps == expected + 1
    assert not has_converged(history[: 2 * interval + 1], interval)  # never before step 2 * interval + 1


def test_training_warns_when_max_steps_pass_without_convergence_and_stops_on_nan():
    weight = torch.ones(1, requires_grad=True)
    with pytest.warns(ConvergenceWarning, match="has not converged after the maximum number of 5 steps"):
        result = train(lambda x: (weight * x).sum(), [weight], (torch.ones(4, 1),), learning_rate=0.1, batch_size=2,
                       max_steps=5, convergence_interval=200, rng=np.random.default_rng(0))
    assert result.steps == 5 and not result.converged
    values = iter([1.0, float("nan"), 0.5])
    result = train(lambda x: weight.sum() * 0 + next(values), [weight], (torch.ones(4, 1),), learning_rate=0.1,
                   batch_size=2, max_steps=3, convergence_interval=None, rng=np.random.default_rng(0))
    assert result.steps == 2 and math.isnan(result.loss_history[-1])


def test_batches_draw_the_same_rows_from_every_tensor_with_replacement_clamped_to_each_length():
    seen = []
    weight = torch.zeros(1, requires_grad=True)
    train(lambda a, b: seen.append((a.clone(), b.clone())) or weight.sum(), [weight],
          (torch.arange(10.0), torch.arange(4.0)), learning_rate=0.1, batch_size=6, max_steps=20, convergence_interval=None,
          rng=np.random.default_rng(3))
    a = torch.cat([s[0] for s in seen])
    b = torch.cat([s[1] for s in seen])
    assert torch.equal(b, a.clamp(max=3)) and len(set(a.tolist())) > 6


# --- training on linearly_separable_4d (short runs; each test accuracy is stated)


@pytest.fixture(scope="module")
def separable_4d():
    if not DATA.exists():
        pytest.skip(f"{DATA} is missing (the shared datasets)")
    with np.load(DATA) as d:
        return d["X_train"], d["y_train"], d["X_test"], d["y_test"]


SHORT_RUNS = [  # (model, test accuracy at least); learning rates raised and steps capped so each run takes seconds
    (DataReuploadingClassifier(n_layers=2, observable_type="full", learning_rate=0.05, max_steps=300, convergence_interval=None,
                               random_state=0), 0.85),
    (DressedQuantumCircuitClassifier(n_layers=1, learning_rate=0.05, max_steps=150, convergence_interval=None, random_state=0), 0.9),
    (SeparableVariationalClassifier(learning_rate=0.1, max_steps=150, convergence_interval=None, random_state=0), 0.9),
    (IQPVariationalClassifier(n_layers=2, learning_rate=0.05, max_steps=150, convergence_interval=None, random_state=0), 0.7),
    (QuantumKitchenSinks(n_episodes=50, random_state=0), 0.9),
    (QuantumMetricLearner(n_layers=1, learning_rate=0.05, max_steps=60, convergence_interval=None, random_state=0), 0.8),
]


@pytest.mark.parametrize(("model", "accuracy"), SHORT_RUNS, ids=[type(m).__name__ for m, _ in SHORT_RUNS])
def test_a_short_training_run_reaches_the_stated_accuracy(model, accuracy, separable_4d):
    X_train, y_train, X_test, y_test = separable_4d
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # QKS' unpenalised logistic regression stops at max_iter, as the paper's
        model = clone(model).fit(X_train, y_train)
    assert model.score(X_test, y_test) >= accuracy
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    assert set(model.predict(X_test)) <= {-1, 1}


@pytest.mark.parametrize("cls", [CircuitCentricClassifier, TreeTensorClassifier])
def test_the_papers_weak_models_stay_weak(cls, separable_4d):
    """Published at 0.54 and 0.49 on this dataset: a faithful model lowers its loss but stays near chance."""
    X_train, y_train, X_test, y_test = separable_4d
    model = cls(learning_rate=0.01, max_steps=100, convergence_interval=None, random_state=0).fit(X_train, y_train)
    assert model.loss_history_[-20:].mean() < model.loss_history_[:20].mean()
    assert 0.3 <= model.score(X_test, y_test) <= 0.75


# --- scikit-learn behaviour


def test_hyperparameters_are_the_papers_names_and_defaults():
    assert DataReuploadingClassifier().get_params() | {} == {
        "n_layers": 4, "observable_type": "single", "convergence_interval": 200, "max_steps": 10000, "learning_rate": 0.05,
        "batch_size": 32, "max_vmap": None, "scaling": 1.0, "random_state": 42, "backend": "torch"}
    assert CircuitCentricClassifier().get_params()["n_input_copies"] == 2
    assert DressedQuantumCircuitClassifier().get_params()["max_steps"] == 100000
    assert QuantumKitchenSinks().get_params()["n_qfeatures"] == "full"
    assert QuantumMetricLearner().get_params()["max_vmap"] == 4
    model = clone(IQPVariationalClassifier(repeats=2).set_params(n_layers=3))
    assert (model.repeats, model.n_layers) == (2, 3)


def test_labels_other_than_minus_one_and_one_are_refused_with_the_mapping():
    X = RNG.uniform(size=(6, 3))
    with pytest.raises(InputError, match=r"labels -1 and \+1.*np.where"):
        DataReuploadingClassifier(max_steps=1).fit(X, [0, 1, 0, 1, 0, 1])
    with pytest.raises(ConfigError, match="observable_type='most'"):
        DataReuploadingClassifier(observable_type="most", max_steps=1).fit(X, [-1, 1] * 3)
    with pytest.raises(InputError, match="at least 2 features"):
        IQPVariationalClassifier(max_steps=1).fit(X[:, :1], [-1, 1] * 3)
    with pytest.raises(ConfigError, match="n_qfeatures"):
        QuantumKitchenSinks(n_qfeatures="most").fit(X, [-1, 1] * 3)


def test_circuit_centric_with_odd_copies_cannot_tell_x_from_minus_x():
    """Why the model sits at chance on linearly_separable (labels flip with x -> -x): an odd number of copies
    maps -x to minus the same state, a global phase, so f(-x) = f(x) exactly."""
    model = CircuitCentricClassifier(n_input_copies=3, n_layers=2)
    rows, _ = _prepared(model, 4)
    x = torch.from_numpy(rows)
    with torch.no_grad():
        np.testing.assert_allclose(model._outputs(-x).numpy(), model._outputs(x).numpy(), atol=1e-12)
        assert float((model._outputs(x) - model._outputs(x.flip(1))).abs().max()) > 1e-3  # not a constant function
