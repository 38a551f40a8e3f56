"""Shot-aware training: finite-difference step from the shot count, shot noise per output, shot budget per step."""

from __future__ import annotations

import csv
import json
import math

import pytest
import torch
from training_helpers import write_profile

from hqnn_core.circuit import CircuitBuilder, Observable
from hqnn_core.components import get_backend, get_gradient, get_optimizer
from hqnn_core.config import load_profile
from hqnn_core.errors import ConfigError
from hqnn_core.layer import QuantumLayer
from hqnn_core.training import prepare, train
from hqnn_core.training.shots import apply_shot_budget, circuits_per_step, standard_error
from hqnn_plugins.gradients import auto_step


def _ry_circuit() -> object:
    b = CircuitBuilder(1)
    b.add("RY", [0], b.weight(0))
    return b.build()  # <Z> = cos(theta), d<Z>/dtheta = -sin(theta), |f'''| <= 1


def _fd_mse(h: object, shots: int, theta: float, reps: int) -> float:
    """Mean squared error of the finite-difference derivative over ``reps`` independent sampled estimates."""
    circuit = _ry_circuit()
    g = get_gradient({"name": "finite_diff", "options": {"h": h}})
    g.use_shots(shots)
    rows = torch.full((reps, 1), theta, dtype=torch.float64)
    batch = g.expand(circuit, rows, torch.tensor([True]))
    results = get_backend("torch").expectations(circuit, batch.slot_values, shots=shots, seed=7)
    _, jac = g.combine(batch, results)
    return float(((jac[:, 0, 0] + math.sin(theta)) ** 2).mean())


def test_auto_step_follows_the_derived_formula():
    # central: h = (9/S)^(1/6) = 3^(1/3) S^(-1/6); forward: (8/S)^(1/4); exact: a fixed small step
    assert auto_step(1000) == pytest.approx(3 ** (1 / 3) * 1000 ** (-1 / 6), rel=1e-12)
    assert auto_step(64 * 1000) / auto_step(1000) == pytest.approx(0.5, rel=1e-12)  # h ~ S^(-1/6)
    assert auto_step(1000, "forward") == pytest.approx((8 / 1000) ** 0.25, rel=1e-12)
    assert auto_step(1) == pytest.approx(9 ** (1 / 6)) and auto_step(1, "forward") == pytest.approx(math.pi / 2)  # capped
    assert auto_step(None) == 1e-3


def test_auto_step_beats_fixed_steps_under_shot_noise():
    # At theta = pi/2 the third derivative is largest (1), so truncation bites as hard as it can.
    shots, theta, reps = 400, math.pi / 2, 4000
    mse = {h: _fd_mse(h, shots, theta, reps) for h in (0.02, 0.1, 0.25, "auto", 1.0, 1.5)}
    # theory at h* = 0.531: bias^2 (1 - sin h / h)^2 = 0.0022 + noise 2 cos^2 h / (4 S h^2) = 0.0033
    assert mse["auto"] == pytest.approx(0.0055, rel=0.25)
    assert mse["auto"] < mse[0.02] / 50 and mse["auto"] < mse[0.1] / 10  # small fixed steps drown in shot noise
    assert mse["auto"] < mse[1.5] / 10  # a large step is biased
    assert mse["auto"] <= 1.2 * min(mse.values())


def test_layer_tells_finite_diff_its_shots():
    layer = QuantumLayer(2, gradient={"name": "finite_diff", "options": {"h": "auto"}}, shots=729, seed=0)
    assert layer.gradient.step == pytest.approx((9 / 729) ** (1 / 6))
    exact = QuantumLayer(2, gradient={"name": "finite_diff", "options": {"h": "auto"}}, seed=0)
    assert exact.gradient.step == 1e-3
    with pytest.raises(ConfigError, match="positive step in radians or 'auto'"):
        get_gradient({"name": "finite_diff", "options": {"h": -0.1}})


def test_standard_error_matches_the_spread_of_sampled_outputs():
    b = CircuitBuilder(2)
    b.add("RY", [0], b.weight(0))
    b.add("RX", [1], b.weight(1))
    b.add("CNOT", [0, 1])
    obs = [Observable.parse("Z0"), Observable.parse("0.5*Z0Z1"), Observable.parse("X0 + 0.5*Z1")]
    circuit = b.build(obs)
    shots, reps = 256, 3000
    rows = torch.tensor([[0.7, 2.1]], dtype=torch.float64).repeat(reps, 1)
    exact = get_backend("torch").expectations(circuit, rows[:1])
    sampled = get_backend("torch").expectations(circuit, rows, shots=shots, seed=3)
    predicted = standard_error(exact, obs, shots)[0]
    observed = sampled.std(dim=0)
    # single terms: the plug-in formula is the true standard error (std of 3000 draws is within ~3% of it)
    assert observed[0] == pytest.approx(float(predicted[0]), rel=0.06)
    assert observed[1] == pytest.approx(float(predicted[1]), rel=0.06)
    assert float(predicted[1]) == pytest.approx(math.sqrt((0.25 - float(exact[0, 1]) ** 2) / shots), rel=1e-9)
    # several terms: sum|c|/sqrt(S) bounds it
    assert float(observed[2]) <= float(predicted[2]) and float(predicted[2]) == pytest.approx(1.5 / 16)
    assert torch.equal(standard_error(exact, obs, None), torch.zeros_like(exact))


def _budget_profile(tmp_path, **train_opts):
    return write_profile(tmp_path, backend={"name": "torch", "shots": 1000},
                         model={"quantum": {"n_qubits": 4, "layers": 1, "gradient": "parameter_shift"}},
                         train={"epochs": 1, "batch_size": 8, **train_opts})


def test_shot_budget_caps_the_shots_of_one_step(tmp_path):
    prepared = prepare(load_profile(_budget_profile(tmp_path, shots_per_step=20_000)))
    layer = prepared.layer
    n_params = sum(p.numel() for p in prepared.model.parameters() if p.requires_grad)
    circuits = circuits_per_step(layer, get_optimizer("adam"), 8, len(prepared.dataset.y_train), False, n_params)
    assert circuits == 8 * (1 + 2 * 8)  # 8 samples x (1 + two shifts for each of the 8 weights)
    info = apply_shot_budget(prepared)
    assert info["shots_per_circuit"] == 20_000 // circuits == layer.shots == layer.executor.shots
    # one real optimiser step on the backend: its shots stay within the budget
    before = layer.backend.accounting.shots
    x = torch.from_numpy(prepared.dataset.x_train[:8])
    y = torch.from_numpy(prepared.dataset.y_train[:8])
    torch.nn.functional.cross_entropy(prepared.model(x), y).backward()
    spent = layer.backend.accounting.shots - before
    assert 20_000 - circuits < spent <= 20_000


def test_shot_budget_never_raises_shots_above_backend_shots(tmp_path):
    prepared = prepare(load_profile(_budget_profile(tmp_path, shots_per_step=10**9)))
    assert apply_shot_budget(prepared)["shots_per_circuit"] == 1000


def test_shot_budget_errors_before_anything_runs(tmp_path):
    with pytest.raises(ConfigError, match=r"train.shots_per_step: 50 shots cannot cover one step, which runs 136 circuits.*at least 136"):
        apply_shot_budget(prepare(load_profile(_budget_profile(tmp_path, shots_per_step=50))))
    exact = write_profile(tmp_path, name="exact.yaml", train={"shots_per_step": 100})
    with pytest.raises(ConfigError, match="train.shots_per_step .* backend.shots is null"):
        load_profile(exact)


def test_run_record_has_gradient_norms_and_shot_noise(tmp_path):
    # full-batch steps: epoch 1's gradient norms are those at the initial weights, recomputable independently
    path = write_profile(tmp_path, backend={"name": "torch", "shots": 500}, train={"epochs": 2, "batch_size": 64, "shots_per_step": 10**7},
                         model={"quantum": {"n_qubits": 4, "layers": 1, "gradient": "parameter_shift"}})
    fresh = prepare(load_profile(path))
    x, y = torch.from_numpy(fresh.dataset.x_train), torch.from_numpy(fresh.dataset.y_train)
    torch.nn.functional.cross_entropy(fresh.model(x), y).backward()
    q_norm = float(fresh.layer.weights.grad.norm())
    c_norm = math.sqrt(sum(float(p.grad.pow(2).sum()) for n, p in fresh.model.named_parameters() if not n.startswith("quantum")))

    result = train(path, out=tmp_path / "run", quiet=True)
    rows = list(csv.DictReader((result.run_dir / "metrics.csv").read_text().splitlines()))
    first = rows[0]
    # parameter-shift on 500 shots: the gradient estimate is noisy, so compare within a few standard errors
    assert float(first["grad_norm_quantum"]) == pytest.approx(q_norm, rel=0.35)
    assert float(first["grad_norm_classical"]) == pytest.approx(c_norm, rel=0.35)
    # mean shot noise: sqrt((1 - <Z>^2)/500) averaged; at most 1/sqrt(500), and well above 0
    noise = [float(r["shot_noise"]) for r in rows]
    assert all(0.2 / math.sqrt(500) < v <= 1 / math.sqrt(500) for v in noise)
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["hybrid"]["epochs"][1]["shot_noise"] == pytest.approx(noise[1])
    assert run["shot_budget"]["shots_per_circuit"] == 500


def test_exact_runs_record_zero_shot_noise_and_exact_gradient_norms(tmp_path):
    path = write_profile(tmp_path, train={"epochs": 1, "batch_size": 64})
    fresh = prepare(load_profile(path))
    x, y = torch.from_numpy(fresh.dataset.x_train), torch.from_numpy(fresh.dataset.y_train)
    torch.nn.functional.cross_entropy(fresh.model(x), y).backward()
    result = train(path, out=tmp_path / "run", quiet=True)
    epoch = result.record["hybrid"]["epochs"][0]
    assert epoch["shot_noise"] == 0.0
    assert epoch["grad_norm_quantum"] == pytest.approx(float(fresh.layer.weights.grad.norm()), rel=1e-6)  # only the sample order differs
