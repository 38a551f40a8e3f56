"""Fallback chains and retries from a profile (RELIABILITY.md R1, R2): recorded in run.json, run.log and the progress bar."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from rich.console import Console
from training_helpers import assert_same_weights, load_state, write_profile

from hqnn_core.errors import BudgetExceededError, ConfigError, PermanentBackendError
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.training import train

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")

#: 40 training samples in batches of 4 for 20 epochs: 200 optimiser steps, 220 backend calls with evaluation.
R1_RUN = {"data": {"max_train": 40, "max_test": 8}, "train": {"epochs": 20, "batch_size": 4, "checkpoint_every": 10},
          "output": {"plots": False}}
NO_WAIT = {"attempts": 6, "backoff_s": 0, "jitter_s": 0}


def _chain(result) -> FallbackBackend:
    chain = result.model.quantum.backend
    assert isinstance(chain, FallbackBackend)
    return chain


def test_r1_thirty_percent_transient_faults_end_bit_identical_and_every_fault_is_a_recorded_retry(tmp_path):
    clean = train(write_profile(tmp_path, "clean.yaml", **R1_RUN), out=tmp_path / "clean", quiet=True)
    faulty_name = "faulty:torch?rate=0.3&seed=7&kinds=throttle,timeout,lost"
    faulty = train(write_profile(tmp_path, "faulty.yaml", backend={"name": faulty_name, "retry": NO_WAIT}, **R1_RUN),
                   out=tmp_path / "faulty", quiet=True)
    assert len(faulty.record["hybrid"]["epochs"]) * 40 // 4 == 200  # 200 steps
    assert_same_weights(faulty.run_dir / "model.pt", clean.run_dir / "model.pt")
    last = "checkpoints/hybrid/epoch-0020.pt"
    a, b = load_state(faulty.run_dir / last)["optimizer"], load_state(clean.run_dir / last)["optimizer"]
    assert all(torch.equal(a["state"][k][n], b["state"][k][n]) for k in a["state"] for n in ("exp_avg", "exp_avg_sq"))
    assert [e["train_loss"] for e in faulty.record["hybrid"]["epochs"]] == [e["train_loss"] for e in clean.record["hybrid"]["epochs"]]

    injector = _chain(faulty).members()[0]  # the vendor backend (the run meters it through a wrapper)
    assert set(injector.injected) == {"throttle", "timeout", "lost"}
    assert 0.2 < injector.faults_injected / injector.calls < 0.4  # about 30% of all calls failed
    on_disk = json.loads((faulty.run_dir / "run.json").read_text())["resilience"]
    assert on_disk["retries"] == on_disk["faults_injected"] == injector.faults_injected  # every fault retried, nothing else
    assert on_disk["attempts"] == injector.calls and on_disk["switch_count"] == 0
    assert on_disk["backends"][0]["retry"]["waited"] == 0.0  # backoff_s: 0, jitter_s: 0: no sleeping in tests
    assert clean.record["resilience"]["retries"] == 0 and clean.record["resilience"]["chain"] == ["torch"]


@pytest.mark.parametrize(("primary", "calls_on_primary", "error"), [
    ("faulty:torch?rate=1&kinds=unavailable", 1, "UnavailableBackendError"),          # unavailable: no retry, straight on
    ("faulty:torch?rate=1&kinds=throttle&max_consecutive=1000", 3, "TransientBackendError"),  # transient: 3 attempts, then on
])
def test_r2_primary_always_failing_completes_on_the_fallback_and_the_breaker_stops_calls(tmp_path, primary, calls_on_primary, error):
    clean = train(write_profile(tmp_path, "clean.yaml", train={"epochs": 2}), out=tmp_path / "clean", quiet=True)
    profile = write_profile(tmp_path, "chain.yaml", train={"epochs": 2},
                            backend={"name": primary, "fallback": ["torch"], "retry": {"attempts": 3, "backoff_s": 0, "jitter_s": 0}})
    result = train(profile, out=tmp_path / "chain", quiet=True)
    assert result.record["status"] == "completed"
    assert_same_weights(result.run_dir / "model.pt", clean.run_dir / "model.pt")
    chain = _chain(result)
    failed, fallback = chain.members()  # the vendor backends behind the run's budget wrappers
    assert failed.calls == calls_on_primary and failed.inner.accounting.calls == 0  # breaker open after the first call
    assert fallback.accounting.calls == chain.accounting.calls == 2 * 4 + 2  # 4 steps and one evaluation per epoch
    res = json.loads((result.run_dir / "run.json").read_text())["resilience"]
    assert res["active"] == "torch" and res["switch_count"] == 1
    switch = res["switches"][0]
    assert (switch["from_backend"], switch["to_backend"], switch["error"]) == (primary, "torch", error)
    assert (switch["phase"], switch["epoch"], switch["step"]) == ("hybrid", 1, 1)
    assert res["backends"][0]["breaker"] == "open" and res["backends"][1]["served_calls"] == 10
    assert res["retries"] == calls_on_primary - 1
    log = (result.run_dir / "run.log").read_text()
    assert f"switched backend from {primary} to torch" in log
    assert log.count("hqnn.retry") == calls_on_primary - 1  # one line per retry


def test_permanent_errors_from_a_profile_never_fall_back(tmp_path):
    profile = write_profile(tmp_path, "p.yaml", backend={"name": "faulty:torch?rate=1&kinds=permanent", "fallback": ["torch"]})
    with pytest.raises(PermanentBackendError, match="injected fault: invalid request"):
        train(profile, out=tmp_path / "run", quiet=True)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "failed" and record["error"]["type"] == "PermanentBackendError"
    res = record["resilience"]
    assert res["attempts"] == 1 and res["faults_injected"] == 1 and res["switch_count"] == 0
    assert res["backends"][1]["served_calls"] == 0


def test_a_budget_stop_never_falls_back(tmp_path):
    profile = write_profile(tmp_path, "p.yaml", backend={"name": "torch", "fallback": ["faulty:torch?rate=0"]},
                            limits={"max_jobs": 3, "preflight": False})
    with pytest.raises(BudgetExceededError):
        train(profile, out=tmp_path / "run", quiet=True)
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "stopped" and record["ledger"]["jobs"] == 3
    res = record["resilience"]
    # the 4th call was refused inside its first attempt, before submitting: not retried, no switch, nothing on the fallback
    assert [b["served_calls"] for b in res["backends"]] == [3, 0] and res["switch_count"] == 0
    assert res["attempts"] == 4 and res["retries"] == 0 and res["backends"][0]["failed_calls"] == []


def test_progress_bar_shows_the_backend_serving_calls(tmp_path):
    console = Console(record=True, force_terminal=True, width=250)
    profile = write_profile(tmp_path, "p.yaml", train={"epochs": 1},
                            backend={"name": "faulty:torch?rate=1&kinds=unavailable", "fallback": ["torch"]})
    train(profile, out=tmp_path / "run", console=console)
    assert "on torch" in console.export_text()


def test_switch_reasons_are_redacted_in_run_json_and_run_log(tmp_path, monkeypatch):
    from hqnn_plugins import faulty_backend

    canary = "canary-secret-0123456789"
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", canary)
    monkeypatch.setitem(faulty_backend._MESSAGES, "unavailable", (faulty_backend.UnavailableBackendError, f"offline; key {canary}"))
    profile = write_profile(tmp_path, "p.yaml", train={"epochs": 1},
                            backend={"name": "faulty:torch?rate=1&kinds=unavailable", "fallback": ["torch"]})
    result = train(profile, out=tmp_path / "run", quiet=True)
    log, record = (result.run_dir / "run.log").read_text(), (result.run_dir / "run.json").read_text()
    assert "switched backend" in log and "offline; key ***" in log and "offline; key ***" in record
    assert canary not in log and canary not in record


def test_fallback_names_and_options_are_checked_before_anything_runs(tmp_path):
    from hqnn_core.config import load_profile
    from hqnn_core.training.prepare import prepare

    bad = write_profile(tmp_path, "a.yaml", backend={"name": "torch", "fallback": ["troch"]})
    with pytest.raises(ConfigError, match=r"backend.fallback\[0\].name: .*Did you mean 'torch'"):
        train(bad, out=tmp_path / "a", quiet=True)
    assert not (tmp_path / "a").exists()
    bad = write_profile(tmp_path, "b.yaml", backend={"name": "torch", "fallback": [{"name": "torch", "options": {"colour": 1}}]})
    with pytest.raises(ConfigError, match=r"backend.fallback\[0\].options.colour"):
        prepare(load_profile(bad))
    bad = write_profile(tmp_path, "c.yaml", backend={"name": "torch", "retry": {"attempts": 0}})
    with pytest.raises(ConfigError, match=r"backend.retry.attempts"):
        load_profile(bad)


def test_no_silent_cost_escalation_from_a_profile(tmp_path):
    from hqnn_core import temporary_plugin
    from hqnn_core.config import load_profile
    from hqnn_core.hookspecs import hookimpl
    from hqnn_core.training.prepare import prepare
    from hqnn_plugins.torch_backend import TorchBackend

    class PaidTorch(TorchBackend):
        """The torch simulator pretending to be a paid remote device."""

        name = "paid.sim"
        capabilities = dataclasses.replace(TorchBackend.capabilities, remote=True)

    class Plugin:
        @hookimpl
        def hqnn_register_backends(self, registry):
            registry.add(PaidTorch)

    with temporary_plugin(Plugin(), name="paid"):
        path = write_profile(tmp_path, "p.yaml", backend={"name": "torch", "fallback": ["paid.sim"]})
        with pytest.raises(ConfigError, match=r"backend.fallback\[0\]: .*remote \(paid\).*allow_cost_escalation: true"):
            prepare(load_profile(path))
        prepared = prepare(load_profile(path, ["backend.allow_cost_escalation=true"]))  # the layer is built on the chain
        assert [link.backend.name for link in prepared.layer.backend.links] == ["torch", "paid.sim"]  # built, as asked
