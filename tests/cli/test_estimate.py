"""``hqnn estimate``: the prediction equals what a real run spends, multipliers and prices included."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from training_helpers import write_profile  # noqa: E402

import hqnn_core  # noqa: E402
from hqnn_core.cli import cli  # noqa: E402
from hqnn_core.hookspecs import hookimpl  # noqa: E402
from hqnn_core.interfaces import MitigationBatch, Mitigator  # noqa: E402
from hqnn_core.pricing import Price  # noqa: E402
from hqnn_core.training import train  # noqa: E402
from hqnn_plugins.torch_backend import TorchBackend  # noqa: E402


class Triple(Mitigator):
    """Runs every circuit three times and averages; calibrates once on 4 rows (a stand-in with known multipliers)."""

    name = "estimate-test.triple"

    def calibrate(self, backend, circuit, shots):
        backend.run_batch([(circuit, torch.zeros(4, circuit.n_slots, dtype=torch.float64))], shots=shots)

    def calibration_batches(self, circuit, shots):
        return [4]

    def expand(self, circuit):
        return MitigationBatch([circuit, circuit, circuit])

    def combine(self, batch, results):
        return sum(results) / 3


class Forte(TorchBackend):
    """The torch simulator priced as a Braket IonQ Forte task (its price comes from the backend, as an adapter's does)."""

    name = "forte"
    price_class = "braket:qpu:ionq:forte"

    def price(self):
        return Price(self.price_class, per_task=0.30, per_shot=0.08)


@pytest.fixture(autouse=True)
def plugin():
    def register_backends(registry):
        registry.add_family("forte", Forte)

    def register_mitigators(registry):
        registry.add(Triple)

    mod = types.SimpleNamespace(hqnn_register_backends=hookimpl(register_backends), hqnn_register_mitigators=hookimpl(register_mitigators))
    with hqnn_core.temporary_plugin(mod, name="estimate-test"):
        yield


def _estimate(profile: Path, *args: str) -> dict:
    result = CliRunner().invoke(cli, ["estimate", str(profile), "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _spent(record: dict) -> dict:
    acc = record["hybrid"]["accounting"]
    return {k: acc[k] for k in ("jobs", "circuits", "shots")}


@pytest.mark.parametrize("sections", [
    # parameter-shift with shots: 1 + 2 * 8 weight slots = 17 circuits per sample; mitigation triples them; calibration adds 4
    {"backend": {"name": "torch", "shots": 20}, "mitigation": ["estimate-test.triple"], "train": {"epochs": 2}},
    # SPSA: two forward passes per step, no gradient circuits
    {"backend": {"name": "torch", "shots": 20}, "train": {"epochs": 2, "optimizer": "spsa"}},
    # finite differences on exact expectations: the rows come from the estimator's own expand
    {"backend": "torch", "model": {"quantum": {"n_qubits": 4, "layers": 1, "gradient": "finite_diff"}}, "train": {"epochs": 1}},
])
def test_prediction_equals_the_accounting_of_a_real_run(tmp_path, sections):
    profile = write_profile(tmp_path, **sections)
    predicted = _estimate(profile)
    run = train(profile, out=tmp_path / "run", quiet=True)
    total = predicted["total"]
    assert {k: total[k] for k in ("jobs", "circuits", "shots")} == _spent(run.record)
    assert total["circuits"] > 0 and total["cost_usd"] == 0.0 and predicted["device_class"] == "local"


def test_multipliers_are_reported_and_match_the_hand_count(tmp_path):
    profile = write_profile(tmp_path, backend={"name": "torch", "shots": 20}, mitigation=["estimate-test.triple"], train={"epochs": 2})
    est = _estimate(profile)
    m = est["multipliers"]
    assert m["circuits_per_training_sample"] == 17 and m["mitigation_circuits_per_circuit"] == 3 and m["gradient"] == "parameter_shift"
    # 64 training samples x 17 x 3 per epoch, 40 test samples x 3 per epoch, 4 calibration rows once
    assert est["parts"]["training"]["circuits"] == 2 * 64 * 17 * 3
    assert est["parts"]["evaluation"]["circuits"] == 2 * 40 * 3
    assert est["parts"]["calibration"] == {"jobs": 1, "circuits": 4, "shots": 80, "cost_usd": 0.0}
    assert est["parts"]["baseline"]["jobs"] == 0


def test_cost_uses_the_price_table(tmp_path):
    profile = write_profile(tmp_path, backend={"name": "forte:qpu", "shots": 10}, train={"epochs": 1}, limits={"max_cost": 1000})
    est = _estimate(profile)
    jobs, shots = est["total"]["jobs"], est["total"]["shots"]
    assert (jobs, shots) == (5, 10 * (64 * 17 + 40))
    assert est["total"]["cost_usd"] == pytest.approx(jobs * 0.30 + shots * 0.08)  # 903.90 USD
    assert est["device_class"] == "braket:qpu:ionq:forte" and est["limits"]["max_cost"] == 1000


def test_table_shows_parts_costs_and_limits(tmp_path):
    profile = write_profile(tmp_path, backend={"name": "forte:qpu", "shots": 10}, train={"epochs": 1}, limits={"max_cost": 1000, "max_jobs": 9})
    result = CliRunner().invoke(cli, ["estimate", str(profile), "--set", "train.epochs=2"], catch_exceptions=False, terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = {line.split()[1]: line for line in result.output.splitlines() if line.startswith("│")}
    assert "10" in lines["total"] and "$1,807.8000" in lines["total"]  # 2 epochs of 903.90 USD
    assert "$1,000" in lines["limits"] and "9" in lines["limits"]
    assert "braket:qpu:ionq:forte" in result.output


def test_a_bad_profile_is_a_config_error(tmp_path):
    profile = write_profile(tmp_path, backend={"name": "torch", "shots": "1e3"})
    result = CliRunner().invoke(cli, ["estimate", str(profile)])
    assert isinstance(result.exception, hqnn_core.ConfigError) and "backend.shots" in str(result.exception)
