"""The run spec (issue 14 items 1 and 2): a profile resolved once, and a backend stack built once from it."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from training_helpers import write_profile

from hqnn_core.config import load_profile
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.execution.metered import MeteredBackend
from hqnn_core.training import spec as spec_module
from hqnn_core.training import train
from hqnn_core.training.budget import BudgetGuard
from hqnn_core.training.prepare import prepare
from hqnn_core.training.resilience import build_backend
from hqnn_core.training.spec import derive_seed, resolve, seeds_for

CHAIN = {"name": "torch", "shots": 50, "fallback": ["torch", {"name": "torch.noisy", "options": {"seed": 11}}]}


def test_a_run_spec_is_frozen_and_resolving_twice_gives_equal_specs(tmp_path):
    loaded = load_profile(write_profile(tmp_path, backend=CHAIN))
    first, second = resolve(loaded), resolve(loaded)
    assert first == second and first is not second
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.shots = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        first.backend.options["seed"] = 1  # type: ignore[index]
    assert first.shots == 50 and [m.key for m in first.backends] == ["backend", "backend.fallback[0]", "backend.fallback[1]"]


def test_every_member_of_a_chain_gets_its_seed_from_the_spec(tmp_path):
    loaded = load_profile(write_profile(tmp_path, backend=CHAIN))
    shots_seed = seeds_for(loaded.profile)["shots"]
    spec = resolve(loaded)
    assert [m.options["seed"] for m in spec.backends] == [shots_seed, shots_seed, 11]  # the profile's own seed is kept
    assert dict(spec.injected_seeds) == {"backend.options.seed": shots_seed, "backend.fallback[0].options.seed": shots_seed}
    chain = build_backend(spec)
    assert isinstance(chain, FallbackBackend)
    assert [link.backend.options.seed for link in chain.links] == [shots_seed, shots_seed, 11]
    ranked = resolve(loaded, rank=1, world_size=2)  # a data-parallel rank: every member samples its own noise
    assert [m.options["seed"] for m in ranked.backends] == [derive_seed(shots_seed, "rank1"), derive_seed(shots_seed, "rank1"),
                                                            derive_seed(11, "rank1")]


def test_the_budget_guard_wraps_each_vendor_backend_inside_the_chain(tmp_path):
    spec = resolve(load_profile(write_profile(tmp_path, backend=CHAIN, limits={"max_jobs": 7})))
    guard = BudgetGuard(spec.limits.max_jobs, spec.limits.max_shots)
    chain = build_backend(spec, guard)
    assert isinstance(chain, FallbackBackend) and all(isinstance(link.backend, MeteredBackend) for link in chain.links)
    assert [type(m).__name__ for m in chain.members()] == ["TorchBackend", "TorchBackend", "NoisyTorchBackend"]
    assert guard.max_jobs == 7


def _train_two_steps(tmp_path, name, backend):
    path = write_profile(tmp_path, f"{name}.yaml", backend=backend, data={"max_train": 32, "max_test": 20}, train={"epochs": 1, "batch_size": 16})
    result = train(path, out=tmp_path / name, quiet=True)
    return result.record["hybrid"], result.model.state_dict()


def test_a_chain_without_faults_gives_the_numbers_of_no_chain_in_shots_mode(tmp_path):
    """Two optimiser steps (32 samples, batch 16) with 100 shots per circuit: same seed, bit-identical losses and weights."""
    alone, weights_alone = _train_two_steps(tmp_path, "alone", {"name": "torch", "shots": 100})
    chained, weights_chained = _train_two_steps(tmp_path, "chained", {"name": "torch", "shots": 100, "fallback": ["torch"]})
    assert alone["epochs"][0]["circuits_total"] == chained["epochs"][0]["circuits_total"] == 2 * 16 * 17 + 20
    for key in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
        assert alone["final"][key] == chained["final"][key], key
    assert list(weights_alone) == list(weights_chained)
    for key in weights_alone:
        assert torch.equal(weights_alone[key], weights_chained[key]), key


def test_hqnn_train_resolves_the_profile_once(tmp_path, monkeypatch):
    calls = []
    check = spec_module.check_components
    monkeypatch.setattr(spec_module, "check_components", lambda loaded: calls.append(loaded.source) or check(loaded))
    path = write_profile(tmp_path, backend={"name": "torch", "shots": 20, "fallback": ["torch"]}, train={"epochs": 1, "batch_size": 32},
                         limits={"max_jobs": 100})
    train(path, out=tmp_path / "run", quiet=True)
    assert calls == [str(path)]  # one registry check for the whole run: prepare, estimate, budget and record read the spec


def test_the_executor_alone_owns_the_shots(tmp_path):
    prepared = prepare(load_profile(write_profile(tmp_path, backend={"name": "torch", "shots": 100})))
    layer = prepared.layer
    with pytest.raises(AttributeError):
        layer.shots = 5  # type: ignore[misc]
    layer.executor.set_shots(7)
    assert layer.shots == layer.executor.shots == 7
