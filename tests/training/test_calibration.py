"""Calibration impact: snapshots in run.json, per-qubit deltas in ``hqnn compare``, and the noise-sensitivity table.

The sensitivity table is checked against an analytic derivative (symmetric readout error scales every
``<Z_i>`` by ``1 - 2q``) and against finite differences of independently built layers.
"""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from click.testing import CliRunner
from training_helpers import write_profile

from hqnn_core.cli import cli
from hqnn_core.config import load_profile
from hqnn_core.errors import ConfigError
from hqnn_core.training import prepare, train
from hqnn_core.training.calibration import calibration_deltas
from hqnn_core.training.compare import compare_run, parse_backend_spec

NOISE = {"depolarizing": 0.02, "amplitude_damping": 0.01, "readout_error": 0.03}
PAIRS = [[0.01, 0.05], [0.03, 0.03], [0.02, 0.02], [0.0, 0.1]]


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory):
    """A small digits model trained on torch.noisy with readout error 0.02 (2 epochs, 40 test samples)."""
    folder = tmp_path_factory.mktemp("calibration")
    return train(write_profile(folder, backend={"name": "torch.noisy", "options": {"readout_error": 0.02}}, train={"epochs": 2}),
                 out=folder / "run", quiet=True)


def _outputs(run, **options) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantum outputs and logits of the trained model on torch.noisy with ``options``, in float64, without compare's code."""
    prepared = prepare(load_profile(run.run_dir / "profile.yaml"), backend="torch.noisy", shots=None, backend_options=options)
    model = prepared.model
    model.load_state_dict(torch.load(run.run_dir / "model.pt", weights_only=True))
    model.double().eval()
    with torch.no_grad():
        quantum = model.middle(model.front(torch.from_numpy(prepared.dataset.x_test).double()))
        return quantum, model.head(quantum)


def test_the_run_records_its_calibration(noisy_run):
    snapshot = json.loads((noisy_run.run_dir / "run.json").read_text())["calibration"]
    assert [q["wire"] for q in snapshot["qubits"]] == [0, 1, 2, 3]
    assert all(q["readout_error"] == 0.02 and q["depolarizing"] == 0.0 for q in snapshot["qubits"])


def test_calibration_deltas_per_qubit_next_to_the_output_error(noisy_run, tmp_path):
    spec = parse_backend_spec("torch.noisy?depolarizing=0.02")
    spec.options["readout_error"] = PAIRS
    report = compare_run(noisy_run.run_dir, [parse_backend_spec("torch"), spec], out=tmp_path)
    exact, noisy = report["rows"][0], report["rows"][2]
    assert report["rows"][1]["calibration"] is None and "calibration_deltas" not in report["rows"][1]  # exact torch: no calibration
    assert report["calibration_reference"]["label"].startswith("recorded in run.json")
    deltas = {(d["wire"], d["parameter"]): d["delta"] for d in noisy["calibration_deltas"]}
    for wire, (p01, p10) in enumerate(PAIRS):
        assert deltas[wire, "prob_meas1_prep0"] == pytest.approx(p01 - 0.02, abs=1e-12)
        assert deltas[wire, "prob_meas0_prep1"] == pytest.approx(p10 - 0.02, abs=1e-12)
        assert deltas[wire, "depolarizing"] == pytest.approx(0.02, abs=1e-12)
    quantum, _ = _outputs(noisy_run, depolarizing=0.02, readout_error=PAIRS)
    reference, _ = _outputs(noisy_run)  # torch.noisy without noise: the exact outputs
    assert noisy["output_error_per_observable"] == pytest.approx((quantum - reference).abs().mean(dim=0).tolist(), abs=1e-5)
    assert exact["output_error_per_observable"] == [0.0] * 4


def test_noise_sensitivity_matches_the_analytic_derivative_and_finite_differences(noisy_run, tmp_path):
    spec = parse_backend_spec("torch.noisy?" + "&".join(f"{k}={v}" for k, v in NOISE.items()))
    report = compare_run(noisy_run.run_dir, [spec], out=tmp_path, sensitivity=True, sensitivity_step=0.05)
    rows = {r["parameter"]: r for r in report["sensitivity"][spec.title()]}
    assert list(rows) == ["depolarizing", "two_qubit_depolarizing", "amplitude_damping", "readout_error"]
    # readout q on Z_i: <Z_i> = (1 - 2q) <Z_i>_{q=0}, so d<Z_i>/dq = -2 <Z_i>_{q=0}
    at_zero, _ = _outputs(noisy_run, **{**NOISE, "readout_error": 0.0})
    assert rows["readout_error"]["d_output_per_observable"] == pytest.approx((-2 * at_zero.mean(dim=0)).tolist(), abs=1e-7)
    assert rows["readout_error"]["d_output_mean_abs"] == pytest.approx(float((2 * at_zero).abs().mean()), abs=1e-7)
    h = 1e-5
    for name in ("depolarizing", "amplitude_damping", "two_qubit_depolarizing"):
        base = NOISE.get(name, 0.0)
        up, _ = _outputs(noisy_run, **{**NOISE, name: base + h})
        down, _ = _outputs(noisy_run, **{**NOISE, name: base - h}) if base else _outputs(noisy_run, **NOISE)
        fd = (up - down) / (2 * h if base else h)
        row = rows[name]
        assert row["baseline"] == base
        assert row["d_output_per_observable"] == pytest.approx(fd.mean(dim=0).tolist(), rel=1e-3, abs=2e-4), name
        assert row["d_output_mean_abs"] > 0.05, name  # every channel moves the outputs
    y = torch.from_numpy(prepare(load_profile(noisy_run.run_dir / "profile.yaml")).dataset.y_test)
    _, base_logits = _outputs(noisy_run, **NOISE)
    for name, row in rows.items():  # the accuracy change at param + 0.05, recomputed
        _, logits = _outputs(noisy_run, **{**NOISE, name: NOISE.get(name, 0.0) + 0.05})
        expected = float((logits.argmax(1) == y).double().mean() - (base_logits.argmax(1) == y).double().mean())
        assert row["delta_accuracy"] == pytest.approx(expected, abs=1e-12), name


def test_calibration_deltas_pair_wires_and_skip_missing_values():
    a = {"qubits": [{"wire": 0, "physical": 3, "T1": 1e-4, "readout_error": 0.02}, {"wire": 1, "physical": 4, "T1": None}]}
    b = {"qubits": [{"wire": 0, "physical": 0, "T1": 5e-5, "readout_error": 0.05}, {"wire": 1, "physical": 1, "T1": 2e-4}]}
    rows = calibration_deltas(a, b)
    assert [(r["wire"], r["parameter"], r["physical_reference"], r["physical"]) for r in rows] == [(0, "T1", 3, 0), (0, "readout_error", 3, 0)]
    assert rows[0]["delta"] == pytest.approx(-5e-5) and rows[0]["relative"] == pytest.approx(-0.5)
    assert rows[1]["delta"] == pytest.approx(0.03)


def test_compare_cli_prints_the_sensitivity_table(noisy_run, tmp_path):
    result = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["compare", str(noisy_run.run_dir), "--backends", "torch.noisy?readout_error=0.05",
                                                            "--sensitivity", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "noise sensitivity" in result.output and "amplitude_damping" in result.output
    assert "calibration against recorded in run.json" in result.output and "+0.03" in result.output


def test_calibration_from_another_run(noisy_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(noisy_run.run_dir, other)
    record = json.loads((other / "run.json").read_text())
    for q in record["calibration"]["qubits"]:  # as if the other run had met a worse readout
        q["readout_error"] = q["prob_meas1_prep0"] = q["prob_meas0_prep1"] = 0.05
    (other / "run.json").write_text(json.dumps(record))
    report = compare_run(noisy_run.run_dir, [parse_backend_spec("torch.noisy?readout_error=0.03")], out=tmp_path / "cmp", calibration_from=other)
    assert report["calibration_reference"]["label"] == f"recorded in {other} (torch.noisy)"
    deltas = [d["delta"] for d in report["rows"][1]["calibration_deltas"] if d["parameter"] == "readout_error"]
    assert deltas == pytest.approx([-0.02] * 4)
    del record["calibration"]
    (other / "run.json").write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="--calibration-from .* recorded no calibration"):
        compare_run(noisy_run.run_dir, [parse_backend_spec("torch")], out=tmp_path / "cmp", calibration_from=other)
