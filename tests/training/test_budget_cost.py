"""limits.max_cost (RELIABILITY.md R13): list prices, a refused pre-flight, and a guard in front of every submission, retries included."""

from __future__ import annotations

import json
import types

import pytest
import torch
from training_helpers import write_profile

import hqnn_core
from hqnn_core import BackendCapabilities, BudgetExceededError, ConfigError, QuantumLayer
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.retry import RetryPolicy
from hqnn_core.hookspecs import hookimpl
from hqnn_core.pricing import PRICES, Price, device_class, price_of, register_price, reset_prices
from hqnn_core.training import train
from hqnn_core.training.budget import BudgetGuard
from hqnn_plugins.torch_backend import TorchBackend

FORTE = 0.30, 0.08  # Braket IonQ Forte list price: USD per task, per shot


class PricedTorch(TorchBackend):
    """The torch simulator billed like an IonQ Forte task (at the price the fixture registers): a fake paid device that records every submission."""

    name = "priced"
    price_class = "braket:qpu:ionq:forte"
    submissions: list[int] = []

    def _run(self, tasks, shots, seed):
        type(self).submissions.append(sum(int(v.shape[0]) for _, v in tasks))
        return super()._run(tasks, shots, seed)


class MysteryRemote(TorchBackend):
    """A remote device hqnn has no price for."""

    name = "mystery"
    capabilities = BackendCapabilities(max_qubits=8, remote=True)


@pytest.fixture
def priced():
    PricedTorch.submissions = []
    register_price(Price("braket:qpu:ionq:forte", per_task=FORTE[0], per_shot=FORTE[1]))  # the core knows no vendor's prices
    plugin = types.SimpleNamespace(hqnn_register_backends=hookimpl(lambda registry: (registry.add_family("priced", PricedTorch),
                                                                                    registry.add_family("mystery", MysteryRemote))))
    with hqnn_core.temporary_plugin(plugin, name="priced-test"):
        yield PricedTorch.submissions
    reset_prices()


# -- the price registry (vendor list prices: tests/adapters/*/test_pricing.py) ------------------------
def test_the_core_prices_only_local_backends_and_registered_classes():
    reset_prices()
    assert set(PRICES) == {"local"} and PRICES["local"].cost(10**6, 10**9) == 0.0 and PRICES["local"].free
    # 10 tasks of 100 shots at 0.30 + 0.08: 10 * 0.30 + 1000 * 0.08 = 83.00 USD; per-second billing with a 3 s minimum:
    assert Price("x", per_task=0.30, per_shot=0.08).cost(10, 1000) == pytest.approx(83.0)
    assert Price("y", per_second=0.075 / 60, min_seconds_per_task=3.0).cost(4, 0) == pytest.approx(0.015)


def test_device_classes_see_through_wrappers(priced):
    from hqnn_core import get_backend

    assert device_class(get_backend("torch")) == "local"
    assert device_class(get_backend("faulty:torch")) == "local"
    assert device_class(get_backend("faulty:priced:forte?rate=0.5")) == "braket:qpu:ionq:forte"
    assert price_of(get_backend("mystery:qpu")) is None
    register_price(Price("custom:qpu", per_task=1.0))
    assert PRICES["custom:qpu"].cost(3, 10**6) == 3.0


# -- pre-flight ----------------------------------------------------------------------------------------
def _priced_profile(tmp_path, **limits):
    return write_profile(tmp_path, backend={"name": "priced:forte", "shots": 10}, train={"epochs": 1}, limits=limits)


# One epoch: 4 steps of 16 samples x (1 + 2 * 8 parameter shifts) circuits, then 40 test circuits; 5 jobs.
JOBS, SHOTS = 5, 10 * (64 * 17 + 40)
EPOCH_COST = JOBS * FORTE[0] + SHOTS * FORTE[1]  # 903.90 USD
STEP_COST = FORTE[0] + 10 * 16 * 17 * FORTE[1]  # 217.90 USD


def test_estimate_over_max_cost_submits_nothing_and_writes_nothing(tmp_path, priced):
    budget = round(EPOCH_COST / 1.5, 2)
    with pytest.raises(BudgetExceededError, match=r"limits\.max_cost: the remaining 1 epoch\(s\) on priced:forte \(braket:qpu:ionq:forte\) are "
                       r"estimated at 903\.90 USD .* over limits\.max_cost=602\.6 USD\. Nothing was submitted.*hqnn estimate"):
        train(_priced_profile(tmp_path, max_cost=budget), out=tmp_path / "out", quiet=True)
    assert priced == [] and not (tmp_path / "out").exists()


def test_run_stops_before_the_submission_that_would_cross_max_cost(tmp_path, priced):
    with pytest.raises(BudgetExceededError, match=r"limits\.max_cost=500 USD would be crossed: 435\.8000 USD spent so far .* costs about 217\.9000"):
        train(_priced_profile(tmp_path, max_cost=500, preflight=False), out=tmp_path / "run", quiet=True)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert priced == [16 * 17, 16 * 17]  # two steps went out, the third never did
    assert record["status"] == "stopped" and record["ledger"] == {"jobs": 2, "circuits": 2 * 272, "shots": 2 * 2720}
    assert record["cost"]["spent_usd"] == pytest.approx(2 * STEP_COST) and record["cost"]["spent_usd"] <= 500
    assert record["cost"]["device_class"] == "braket:qpu:ionq:forte" and record["cost"]["price"]["per_shot"] == FORTE[1]


def test_an_unpriced_remote_device_with_max_cost_is_a_config_error_before_any_call(tmp_path, priced):
    profile = write_profile(tmp_path, backend={"name": "mystery:qpu", "shots": 10}, train={"epochs": 1}, limits={"max_cost": 5})
    with pytest.raises(ConfigError, match=r"no price is known for backend 'mystery:qpu'.*register_price.*remove limits\.max_cost"):
        train(profile, out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_cost_limit_is_kept_across_resume(tmp_path, priced):
    run_dir = tmp_path / "run"
    with pytest.raises(BudgetExceededError):
        train(_priced_profile(tmp_path, max_cost=500, preflight=False), out=run_dir, quiet=True)
    # a resume with a higher limit starts from the 435.80 USD already spent, so 700 allows exactly one more step
    with pytest.raises(BudgetExceededError, match=r"max_cost=700 USD would be crossed: 653\.7000 USD spent so far"):
        train(resume=run_dir, overrides=["limits.max_cost=700"], quiet=True)
    assert json.loads((run_dir / "run.json").read_text())["cost"]["spent_usd"] == pytest.approx(3 * STEP_COST)


# -- retries are checked one submission at a time ------------------------------------------------------
def test_retries_that_would_cross_max_cost_stop_before_the_crossing_submission(priced):
    """Lost responses are billed and retried; the guard refuses the retry that would cross the limit, and never falls back."""
    from hqnn_core import get_backend

    faulty = get_backend("faulty:priced:forte?rate=0.5&seed=3&kinds=lost")
    spare = get_backend("torch")
    chain = FallbackBackend([faulty, spare], RetryPolicy(max_attempts=5, initial_wait=0.0, jitter=0.0), sleep=lambda s: None)
    layer = QuantumLayer(2, backend=chain, shots=10, seed=0)
    per_call = FORTE[0] + 10 * FORTE[1]  # 1 row of 10 shots: 1.10 USD per submission, answered or lost
    budget = 10 * per_call  # 8 forward passes need 8.80 USD without faults: the estimate fits
    guard = BudgetGuard(layer.backend, None, None, max_cost=budget).install()
    done = 0
    with pytest.raises(BudgetExceededError, match=r"limits\.max_cost=11 USD would be crossed"), torch.no_grad():
        for _ in range(8):
            layer(torch.zeros(1, 2))
            done += 1
    assert faulty.faults_injected > 0 and done < 8  # retries inflated the spend past the forecast
    assert len(priced) == 10 == guard.ledger.jobs  # every billed submission, lost ones included, and not one more
    assert guard.cost() == pytest.approx(budget) and guard.cost() <= budget + 1e-9
    assert spare.accounting.calls == 0  # a budget error never falls back to another backend
    assert "BudgetExceededError" not in chain.links[0].retrier.stats.errors  # nor is it retried
    guard.uninstall()
    assert "run_batch" not in faulty.__dict__


def test_the_guard_sits_on_every_member_of_a_chain(priced):
    from hqnn_core import get_backend

    chain = FallbackBackend([get_backend("faulty:priced:forte?rate=1&kinds=unavailable"), get_backend("priced:forte")], RetryPolicy(initial_wait=0, jitter=0),
                            sleep=lambda s: None)
    layer = QuantumLayer(2, backend=chain, shots=10, seed=0)
    guard = BudgetGuard(layer.backend, max_jobs=2, max_shots=None).install()
    with torch.no_grad(), pytest.warns(hqnn_core.FallbackWarning):
        layer(torch.zeros(1, 2))
        layer(torch.zeros(1, 2))
    with torch.no_grad(), pytest.raises(BudgetExceededError, match=r"max_jobs=2 would be crossed: 2 used"):
        layer(torch.zeros(1, 2))
    assert guard.spent().jobs == 2 == len(priced)
    guard.uninstall()



# -- exact money (issue 18 item 8) ---------------------------------------------------------------------
def test_max_cost_equal_to_the_estimate_lets_the_whole_run_finish(tmp_path, priced):
    """Before: the estimate was rounded to the nearest micro-dollar (down, here) and spend summed in floats, so a
    limit set to the estimate refused the run's last submission."""
    from decimal import Decimal

    from hqnn_core.config import load_profile
    from hqnn_core.training.estimate import estimate_run
    from hqnn_core.training.prepare import prepare

    register_price(Price("braket:qpu:ionq:forte", per_task=0.1, per_shot=3.3e-7))  # 5 jobs, 11,280 shots: 0.5037224 USD exactly
    est = estimate_run(prepare(load_profile(_priced_profile(tmp_path))))
    assert est.cost == 0.503723  # rounded up to a micro-dollar, never down
    result = train(_priced_profile(tmp_path, max_cost=est.cost), out=tmp_path / "run", quiet=True)
    assert result.record["status"] == "completed" and len(priced) == JOBS
    assert Decimal(result.record["cost"]["spent_usd_exact"]) == Decimal("0.5037224") <= Decimal(repr(est.cost))


def test_the_guard_sums_money_exactly(priced):
    from decimal import Decimal

    register_price(Price("braket:qpu:ionq:forte", per_task=0.1))
    layer = QuantumLayer(2, backend="priced:forte", shots=10, seed=0)
    guard = BudgetGuard(layer.backend, None, None, max_cost=1.0).install()
    with torch.no_grad():
        for _ in range(10):  # ten 0.1 USD tasks: 0.1 summed in floats ten times is 0.9999999999999999
            layer(torch.zeros(1, 2))
        assert guard.cost() == Decimal("1.0")
        with pytest.raises(BudgetExceededError, match=r"limits\.max_cost=1 USD would be crossed: 1\.0000 USD spent"):
            layer(torch.zeros(1, 2))
    guard.uninstall()
