"""Initialisation strategies, identity blocks, layer-wise training and state fidelity, against analytic values."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from training_helpers import write_profile

from hqnn_core import QuantumLayer
from hqnn_core.cli import cli
from hqnn_core.config import load_profile
from hqnn_core.diagnostics import gradient_variance
from hqnn_core.errors import ConfigError
from hqnn_core.training import prepare, train
from hqnn_core.training.layerwise import LayerwiseSchedule
from hqnn_core.training.monitor import EpochMonitor, state_fidelity


@pytest.mark.parametrize("ansatz", ["hardware_efficient", "strongly_entangling", {"name": "hardware_efficient", "options": {"entangler": "CZ"}}])
def test_identity_blocks_start_as_the_identity(ansatz):
    # angle encoding RY(x) then an identity ansatz: <Z_i> = cos(x_i) exactly
    layer = QuantumLayer(n_qubits=3, ansatz=ansatz, layers=4, init="identity_blocks", seed=1)
    x = torch.tensor([[0.3, 1.1, -2.0], [2.5, 0.0, 0.7]], dtype=torch.float64)
    assert torch.allclose(layer(x).double(), torch.cos(x), atol=1e-6)
    with torch.no_grad():
        layer.weights[1] += 0.4  # the pair no longer cancels
    assert not torch.allclose(layer(x).double(), torch.cos(x), atol=1e-3)


def test_strategies_draw_what_they_say():
    normal = QuantumLayer(n_qubits=4, layers=50, init="normal", init_std=0.05, seed=0).weights.detach()
    assert float(normal.std()) == pytest.approx(0.05, rel=0.1) and abs(float(normal.mean())) < 0.01
    assert float(QuantumLayer(n_qubits=2, layers=2, init="zeros").weights.detach().abs().max()) == 0.0
    uniform = QuantumLayer(n_qubits=4, layers=50, seed=0).weights.detach()
    assert 0 <= float(uniform.min()) and float(uniform.max()) < 2 * torch.pi and float(uniform.mean()) == pytest.approx(torch.pi, rel=0.1)
    blocks = QuantumLayer(n_qubits=2, layers=4, init="identity_blocks", seed=0).weights.detach()
    assert torch.equal(blocks[0], blocks[1]) and torch.equal(blocks[2], blocks[3]) and not torch.equal(blocks[0], blocks[2])


def test_bad_strategies_are_refused_naming_the_fix():
    with pytest.raises(ConfigError, match="even number of layers.*layers: 4"):
        QuantumLayer(n_qubits=2, layers=3, init="identity_blocks")
    with pytest.raises(ConfigError, match="re-upload"):
        QuantumLayer(n_qubits=2, layers=2, encoder="reuploading", init="identity_blocks")
    with pytest.raises(ConfigError, match="choose one of uniform, normal, zeros, identity_blocks"):
        QuantumLayer(n_qubits=2, init="xavier")
    with pytest.raises(ConfigError, match="--input random"):
        gradient_variance(qubits=(2, 4), inits=("identity_blocks",))


def _fit(report, init, cost):
    return next(f for f in report.fits if f.init == init and f.cost == cost)


def _strategies(qubits):
    """Uniform init with the global cost, against identity blocks and small angles with the local cost (depth n, random inputs)."""
    common = {"depths": ("n",), "samples": 20, "seed": 0, "inputs": "random"}
    plateau = gradient_variance("hardware_efficient", qubits, costs=("global",), inits=("uniform",), **common)
    remedies = gradient_variance("hardware_efficient", qubits, costs=("local",), inits=("identity_blocks", "normal"), **common)
    plateau.fits += remedies.fits
    plateau.points += remedies.points
    return plateau


def test_identity_blocks_with_a_local_cost_escape_the_plateau_of_uniform_global():
    report = _strategies((2, 4, 6, 8))
    uniform_global = _fit(report, "uniform", "global").slope_first
    assert -1.0 < uniform_global < -0.5  # a 2-design: -ln 2 per qubit
    assert abs(_fit(report, "identity_blocks", "local").slope_first) < 0.15  # no decay: the first layer acts alone at the identity
    assert _fit(report, "normal", "local").slope_first > uniform_global + 0.4


@pytest.mark.slow
def test_strategies_on_2_to_12_qubits():
    report = _strategies((2, 4, 6, 8, 10, 12))
    assert -0.9 < _fit(report, "uniform", "global").slope_first < -0.55
    assert abs(_fit(report, "identity_blocks", "local").slope_first) < 0.1
    points = [p for p in report.points if p.init == "uniform" and p.cost == "global"]
    assert points[-1].var_first < points[0].var_first / 500  # 2 -> 12 qubits: Var ~ 2^-n


def test_diagnose_compares_strategies_side_by_side(tmp_path):
    result = CliRunner(env={"COLUMNS": "220"}).invoke(cli, ["diagnose", "--qubits", "2,4,6", "--layers", "2", "--samples", "10", "--cost", "local",
                                                            "--init", "uniform,identity_blocks,zeros", "--input", "random", "--json", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "diagnose.json").read_text())
    assert data["init"] == ["uniform", "identity_blocks", "zeros"] and data["inputs"] == "random"
    assert [f["init"] for f in data["fits"]] == ["uniform", "identity_blocks", "zeros"]
    assert len(data["points"]) == 9


def test_schedule_grows_and_freezes():
    layer = QuantumLayer(n_qubits=2, layers=5)
    grow = LayerwiseSchedule(layer, epochs_per_stage=2, start_layers=1, add_layers=2)
    assert [grow.trainable(e) for e in range(1, 9)] == [[0], [0], [1, 2], [1, 2], [3, 4], [3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]
    keep = LayerwiseSchedule(layer, epochs_per_stage=1, start_layers=2, add_layers=2, freeze_earlier=False)
    assert [keep.trainable(e) for e in range(1, 4)] == [[0, 1], [0, 1, 2, 3], [0, 1, 2, 3, 4]]


def test_layerwise_training_holds_frozen_and_ungrown_layers(tmp_path):
    path = write_profile(tmp_path, model={"quantum": {"n_qubits": 4, "layers": 3}}, data={"max_train": 32, "max_test": 16},
                         train={"epochs": 2, "checkpoint_every": 1, "layerwise": {"epochs_per_stage": 1}})
    run = train(path, out=tmp_path / "run", quiet=True)
    initial = QuantumLayer(n_qubits=4, layers=3, seed=run.record["seeds"]["weights"]).weights.detach()
    after_1 = torch.load(sorted((run.run_dir / "checkpoints" / "hybrid").glob("*.pt"))[0], weights_only=True)["model"]["middle.weights"]
    final = torch.load(run.run_dir / "model.pt", weights_only=True)["middle.weights"]
    assert [e["trainable_layers"] for e in run.record["hybrid"]["epochs"]] == [[0], [1]]
    assert not torch.equal(after_1[0], initial[0]) and torch.equal(after_1[1:], initial[1:])  # epoch 1 trains layer 0 only
    assert torch.equal(final[0], after_1[0]) and not torch.equal(final[1], initial[1])  # epoch 2: layer 0 frozen (despite Adam's momentum)
    assert torch.equal(final[2], initial[2])  # never grown


def test_layerwise_start_must_fit_the_ansatz(tmp_path):
    with pytest.raises(ConfigError, match="start_layers"):
        train(write_profile(tmp_path, train={"layerwise": {"epochs_per_stage": 1, "start_layers": 2}}), out=tmp_path / "run", quiet=True)


@pytest.mark.parametrize("p", [0.0, 0.02, 0.1])
def test_state_fidelity_matches_the_depolarized_bloch_vector(p):
    # one qubit, RY(x) RY(w0) RZ(w1), each followed by depolarizing p: the Bloch vector shrinks by (1 - 4p/3) per gate
    layer = QuantumLayer(n_qubits=1, layers=1, backend="torch.noisy", backend_options={"depolarizing": p}, seed=0)
    x = torch.tensor([[0.4], [1.9], [-2.2]])
    gates = len(layer.circuit.ops)
    assert gates == 3
    assert state_fidelity(layer, torch.nn.Identity(), x) == pytest.approx((1 + (1 - 4 * p / 3) ** gates) / 2, abs=1e-9)


def test_state_fidelity_is_none_without_a_density_matrix():
    assert state_fidelity(QuantumLayer(n_qubits=2), torch.nn.Identity(), torch.zeros(2, 2)) is None


def test_noisy_runs_record_state_fidelity(tmp_path):
    run = train(write_profile(tmp_path, backend={"name": "torch.noisy", "options": {"depolarizing": 0.02}}, train={"epochs": 1}),
                out=tmp_path / "run", quiet=True)
    fidelity = run.record["hybrid"]["epochs"][0]["state_fidelity"]
    assert 0.5 < fidelity < 0.99
    assert "state_fidelity" in (run.run_dir / "metrics.csv").read_text().splitlines()[0]


def _numpy_kish(logits: np.ndarray, labels: np.ndarray) -> float:
    """Kish's ESS of the per-sample cross-entropy gradients at the logits, in numpy."""
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = e / e.sum(axis=1, keepdims=True)
    w = np.linalg.norm(probs - np.eye(logits.shape[1])[labels], axis=1)
    return float(w.sum() ** 2 / (w**2).sum())


def test_effective_sample_size_is_kish_of_the_gradient_weights():
    monitor = EpochMonitor(torch.nn.Linear(2, 3))
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3], [-3.0, 4.0, 0.0], [1.0, 1.0, 1.0], [5.0, -5.0, 0.0]], dtype=torch.float64)
    labels = torch.tensor([0, 2, 1, 1, 2])
    monitor.after_backward(logits[:2], labels[:2])  # two steps of one epoch
    monitor.after_backward(logits[2:], labels[2:])
    assert monitor.metrics()["effective_sample_size"] == pytest.approx(_numpy_kish(logits.numpy(), labels.numpy()), rel=1e-12)
    monitor.start()
    monitor.after_backward(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1]))  # every sample pulls equally: ESS = N
    assert monitor.metrics()["effective_sample_size"] == pytest.approx(4.0)
    monitor.start()
    monitor.after_backward(torch.tensor([[0.0, 0.0], [50.0, -50.0], [50.0, -50.0]]), torch.tensor([0, 0, 0]))  # one sample left to learn
    assert monitor.metrics()["effective_sample_size"] == pytest.approx(1.0)
    monitor.start()
    assert monitor.metrics()["effective_sample_size"] is None  # no gradient step (SPSA, COBYLA)


def test_runs_record_the_effective_sample_size(tmp_path):
    # one full-batch step with a negligible learning rate: the epoch's weights are the final model's on the training set
    run = train(write_profile(tmp_path, train={"epochs": 1, "batch_size": 64, "lr": 1e-9}), out=tmp_path / "run", quiet=True)
    prepared = prepare(load_profile(run.run_dir / "profile.yaml"))
    prepared.model.load_state_dict(torch.load(run.run_dir / "model.pt", weights_only=True))
    with torch.no_grad():
        logits = prepared.model(torch.from_numpy(prepared.dataset.x_train)).double().numpy()
    expected = _numpy_kish(logits, prepared.dataset.y_train)
    recorded = run.record["hybrid"]["epochs"][0]["effective_sample_size"]
    assert len(logits) == 64 and 1 < expected < 64
    assert recorded == pytest.approx(expected, rel=1e-5)
    rows = list(csv.DictReader((run.run_dir / "metrics.csv").read_text().splitlines()))
    assert float(rows[0]["effective_sample_size"]) == pytest.approx(recorded)
