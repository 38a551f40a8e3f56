"""``describe_model`` tells ``hqnn validate`` the model and usage without building it (no torch); the oracle is the built model.

For the example profiles and many encoder / ansatz / gradient / shots / optimizer / front end / head
combinations, the description must equal what the built model reports (:func:`built_description`
over ``model_as_run`` and ``training.prepare.estimate``): qubits, components, gradient (``best``
resolved), backend, shots (after ``train.shots_per_step``), parameter count, the circuit itself,
and the jobs, circuits and shots of the whole run. Profiles it cannot describe give ``None``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from hqnn_core.config import load_profile
from hqnn_core.training.data_summary import describe_data
from hqnn_core.training.describe import built_description, describe_model
from hqnn_core.training.estimate import model_as_run
from hqnn_core.training.prepare import estimate

REPO = Path(__file__).resolve().parents[2]
DIGITS = yaml.safe_load((REPO / "examples" / "digits.yaml").read_text())


def _both(path: Path):
    loaded = load_profile(str(path), ())
    described = describe_model(loaded, describe_data(loaded.profile.data, loaded.base_dir, loaded.source))
    prepared = model_as_run(loaded)
    return described, built_description(prepared, estimate(prepared))


@pytest.mark.parametrize("example", ["digits", "linearly_separable", "digits10"])
def test_example_profiles_are_described_as_built(example):
    described, built = _both(REPO / "examples" / f"{example}.yaml")
    assert described is not None
    assert described == built


def test_digits_example_numbers():
    described, _ = _both(REPO / "examples" / "digits.yaml")
    assert described is not None
    assert (described.gradient, described.parameters, described.usage.jobs, described.usage.circuits, described.usage.shots) == (
        "backprop", 26, 270, 5400, 0)


def _update(data: dict, key: str, value: object) -> None:
    *path, last = key.split(".")
    for part in path:
        data = data.setdefault(part, {})
    data[last] = value


COMBOS: dict[str, dict[str, object]] = {
    "parameter-shift, shots": {"model.quantum.gradient": "parameter_shift", "backend.shots": 100},
    "best with shots picks parameter-shift": {"backend.shots": 50, "train.epochs": 2},
    "adjoint": {"model.quantum.gradient": "adjoint"},
    "finite differences, forward, sgd": {"model.quantum.gradient": {"name": "finite_diff", "options": {"method": "forward"}},
                                         "train.optimizer": "sgd"},
    "spsa gradient, 3 directions": {"model.quantum.gradient": {"name": "spsa", "options": {"samples": 3}}, "backend.shots": 64},
    "cobyla, small maxiter": {"train.optimizer": {"name": "cobyla", "options": {"maxiter": 3}}, "backend.shots": 20, "train.epochs": 2},
    "cobyla with a shot budget": {"train.optimizer": "cobyla", "backend.shots": 100, "train.shots_per_step": 1000, "train.eval_batch_size": 64},
    "spsa optimizer": {"train.optimizer": "spsa", "backend.shots": 32},
    "shot budget per step": {"model.quantum.gradient": "parameter_shift", "backend.shots": 1000, "train.shots_per_step": 20000},
    "shot budget, spsa optimizer": {"train.optimizer": "spsa", "backend.shots": 1000, "train.shots_per_step": 3000},
    "amplitude on 2 qubits, strongly entangling": {"model.quantum.n_qubits": 2, "model.quantum.encoder": "amplitude",
                                                   "model.quantum.ansatz": "strongly_entangling", "model.quantum.gradient": "parameter_shift",
                                                   "backend.shots": 10},
    "iqp, basic entangler, mlp front end": {"model.quantum.encoder": {"name": "iqp", "options": {"repeats": 2}},
                                            "model.quantum.ansatz": "basic_entangler", "model.front_end": {"kind": "mlp", "hidden": [8]},
                                            "data.pca": 6, "model.quantum.gradient": "parameter_shift"},
    "reuploading with trainable scaling, separable, identity init off": {
        "model.quantum.encoder": {"name": "reuploading", "options": {"trainable_scaling": True}}, "model.quantum.ansatz": "separable",
        "model.quantum.layers": 3, "model.quantum.gradient": "parameter_shift", "backend.shots": 100},
    "identity blocks, observables, head with hidden layer": {"model.quantum.init": "identity_blocks", "model.quantum.observables": ["Z0", "0.5*X0X1"],
                                                             "model.head": {"kind": "linear", "hidden": [5]}},
    "head none: one observable per class": {"model.quantum.observables": ["Z0", "Z1"], "model.head": {"kind": "none"}},
    "noisy backend, best gradient": {"backend.name": "torch.noisy", "backend.options": {"depolarizing": 0.01}, "model.quantum.n_qubits": 4},
    "cnn on the digit images, eval batches": {"data.pca": None, "data.classes": [0, 1, 2], "model.front_end": {"kind": "cnn", "channels": [2],
                                              "hidden": [6]}, "train.eval_batch_size": 7, "train.batch_size": 40},
}


@pytest.mark.parametrize("combo", sorted(COMBOS))
def test_combinations_are_described_as_built(combo, tmp_path):
    data = copy.deepcopy(DIGITS)
    for key, value in COMBOS[combo].items():
        _update(data, key, value)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    described, built = _both(path)
    assert described is not None
    assert described == built


UNDESCRIBED: dict[str, dict[str, object]] = {
    "mitigation": {"mitigation": ["zne"], "model.quantum.gradient": "parameter_shift"},
    "a fallback chain": {"backend.fallback": ["torch.noisy"]},
    "a backend without a layout": {"backend.name": "faulty:torch"},
    "front end none with the wrong width": {"data.pca": 5},
}


@pytest.mark.parametrize("case", sorted(UNDESCRIBED))
def test_what_it_cannot_tell_is_left_to_the_build(case, tmp_path):
    data = copy.deepcopy(DIGITS)
    for key, value in UNDESCRIBED[case].items():
        _update(data, key, value)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    loaded = load_profile(str(path), ())
    assert describe_model(loaded, describe_data(loaded.profile.data, loaded.base_dir, loaded.source)) is None
