"""A third-party optimiser registered through ``hqnn_register_optimizers`` trains from a profile like a built-in one.

Its declared cost (``evaluations_per_step``) drives the run's estimate, its seed reproduces the run, and the
data-parallel and backprop checks read its ``stepping``, not its name.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pydantic import BaseModel, ConfigDict, Field
from training_helpers import write_profile

from hqnn_core import Optimizer, hookimpl, temporary_plugin
from hqnn_core.config import load_profile
from hqnn_core.errors import ConfigError
from hqnn_core.interfaces.optimizer import assign_parameters, flat_parameters
from hqnn_core.testing import check_component
from hqnn_core.training import train
from hqnn_core.training.spec import resolve
from hqnn_core.training.validate import check_components


class RandomSearch(Optimizer):
    """Tries a few seeded random moves of every parameter per step and keeps the best point (no gradient)."""

    name = "acme.random_search"
    stepping = "loss"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        candidates: int = Field(3, ge=1)

    def build(self, params, lr, seed):
        return RandomSearchSteps(params, lr, self.options.candidates, seed)

    def evaluations_per_step(self, n_params):
        return 1 + self.options.candidates


class RandomSearchSteps:
    def __init__(self, params, radius, candidates, seed):
        self.params, self.radius, self.candidates = list(params), radius, candidates
        self.rng = np.random.default_rng(seed)

    def step(self, loss_fn):
        start = flat_parameters(self.params)
        first = best = loss_fn()
        best_point = start
        for _ in range(self.candidates):
            trial = start + self.radius * torch.from_numpy(self.rng.standard_normal(start.numel())).to(start.dtype)
            assign_parameters(self.params, trial)
            result = loss_fn()
            if result[0] < best[0]:
                best, best_point = result, trial
        assign_parameters(self.params, best_point)
        return [first]

    def state_dict(self):
        return {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, state):
        self.rng.bit_generator.state = state["rng"]


class AcmePlugin:
    @hookimpl
    def hqnn_register_optimizers(self, registry):
        registry.add(RandomSearch)


@pytest.fixture
def acme():
    with temporary_plugin(AcmePlugin(), name="acme", distribution="hqnn-acme") as plugins:
        yield plugins


def test_plugin_optimizer_trains_from_a_profile_and_spends_what_it_declares(tmp_path, acme):
    assert "acme.random_search" in acme.optimizers.names()
    profile = write_profile(tmp_path, train={"optimizer": {"name": "acme.random_search", "options": {"candidates": 3}}, "lr": 0.3, "epochs": 3})
    record = train(profile, out=tmp_path / "run", quiet=True).record
    epochs = record["hybrid"]["epochs"]
    assert epochs[-1]["train_loss"] < 0.9 * epochs[0]["train_loss"]
    # 64 samples in batches of 16: 4 steps x (1 + 3) evaluations, no gradient circuits, + 1 test pass of 40, per epoch
    assert record["hybrid"]["accounting"]["jobs"] == 3 * (4 * 4 + 1)
    assert record["hybrid"]["accounting"]["circuits"] == 3 * (64 * 4 + 40)
    assert record["estimate"]["jobs"] == record["hybrid"]["accounting"]["jobs"]
    again = train(profile, out=tmp_path / "again", quiet=True).record  # seeded: the same numbers
    assert [e["train_loss"] for e in again["hybrid"]["epochs"]] == [e["train_loss"] for e in epochs]


def test_plugin_optimizer_passes_the_conformance_suite(acme):
    results = check_component(RandomSearch(), on_fail=None)
    assert {r.status for r in results} == {"passed"}, [r.message for r in results if r.status != "passed"]
    assert len(results) == 9


def test_checks_read_the_stepping_not_the_name(tmp_path, acme):
    with pytest.raises(ConfigError, match="'acme.random_search' is gradient-free and cannot be data-parallel"):
        resolve(load_profile(write_profile(tmp_path, "acme.yaml", train={"optimizer": "acme.random_search"})), rank=0, world_size=2)
    assert resolve(load_profile(write_profile(tmp_path, "adam.yaml", train={"optimizer": "adam"})), rank=0, world_size=2).world_size == 2
    # backprop cannot differentiate shots, but a gradient-free optimiser never asks it to
    shots_backprop = {"backend": {"name": "torch", "shots": 100}, "model": {"quantum": {"n_qubits": 4, "layers": 1, "gradient": "backprop"}}}
    check_components(load_profile(write_profile(tmp_path, "free.yaml", train={"optimizer": "acme.random_search"}, **shots_backprop)))
    with pytest.raises(ConfigError, match="backprop cannot differentiate sampled results"):
        check_components(load_profile(write_profile(tmp_path, "adam.yaml", **shots_backprop)))
    with pytest.raises(ConfigError, match="Unknown optimizer 'acme.random_serch'. Did you mean 'acme.random_search'"):
        check_components(load_profile(write_profile(tmp_path, "typo.yaml", train={"optimizer": "acme.random_serch"})))
