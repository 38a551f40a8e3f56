"""``describe_data`` says what ``load_dataset`` will make of a profile's data (classes, split sizes, features,
image shape) without scikit-learn, and raises the same errors; the oracle is ``load_dataset`` itself.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn import datasets
from training_helpers import write_profile

from hqnn_core.config import DataConfig, load_profile
from hqnn_core.errors import ConfigError
from hqnn_core.training.data import BUNDLED_SOURCES, load_dataset
from hqnn_core.training.data_summary import BUNDLED, describe_data
from hqnn_core.training.estimate import estimate_run, model_as_run, prepare_as_run


def test_every_bundled_source_is_described():
    assert sorted(BUNDLED) == sorted(BUNDLED_SOURCES)


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_facts_match_scikit_learns_loaders(name):
    bunch = getattr(datasets, f"load_{name}")()
    facts = BUNDLED[name]
    assert facts.n_features == bunch.data.shape[1]
    assert facts.counts == tuple(np.bincount(bunch.target).tolist())
    image = getattr(bunch, "images", None)
    assert facts.image_shape == (None if image is None else (1, *image.shape[1:]))


def _files(folder: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    x, y = rng.random((40, 3, 6, 6)), np.arange(40) % 3
    np.savez(folder / "rgb.npz", X_train=x[:30], y_train=y[:30], X_test=x[30:], y_test=y[30:])
    rows = np.column_stack([rng.random((31, 5)), np.arange(31) % 2])
    np.savetxt(folder / "train.csv", rows, delimiter=",")
    np.savetxt(folder / "test.csv", rows[:9], delimiter=",")
    return {"npz": folder / "rgb.npz", "train": folder / "train.csv", "test": folder / "test.csv"}


CASES = {
    "digits 0/1, pca 4 (examples/digits.yaml)": (dict(source="digits", classes=[0, 1], pca=4), (270, 90, 4, None)),
    "digits, every class, images kept": (dict(source="digits"), (1347, 450, 64, (1, 8, 8))),
    "iris, capped": (dict(source="iris", max_train=10, max_test=7), (10, 7, 4, None)),
    "wine, test_size 0.33": (dict(source="wine", test_size=0.33), (119, 59, 13, None)),
    "breast_cancer, odd test_size": (dict(source="breast_cancer", test_size=0.1, classes=[1, 0]), (512, 57, 30, None)),
    "npz images, pre-split, two classes, capped test": (dict(source="npz", path="rgb.npz", classes=[2, 0], max_test=5), (20, 5, 108, (3, 6, 6))),
    "csv, no split of its own": (dict(source="csv", path="train.csv", test_size=0.3, pca=2), (21, 10, 2, None)),
    "csv with a test file": (dict(source="csv", path="train.csv", test_path="test.csv"), (31, 9, 5, None)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_summary_equals_what_loading_makes(case, tmp_path):
    _files(tmp_path)
    options, (n_train, n_test, n_features, image_shape) = CASES[case]
    cfg = DataConfig(**options)
    summary, dataset = describe_data(cfg, tmp_path, "p.yaml"), load_dataset(cfg, tmp_path, "p.yaml")
    assert (summary.n_train, summary.n_test, summary.n_features, summary.image_shape) == (n_train, n_test, n_features, image_shape)
    assert (len(dataset.y_train), len(dataset.y_test), dataset.n_features, dataset.image_shape) == (n_train, n_test, n_features, image_shape)
    assert summary.labels == dataset.labels and summary.files == dataset.info["files"]


BAD = {
    "a class the data lacks": (dict(source="iris", classes=[0, 7]), "data.classes: labels [7] are not in the data"),
    "max_train below the classes": (dict(source="wine", max_train=2), "data.max_train: 2 samples cannot hold one of each of the 3 classes"),
    "more components than samples": (dict(source="iris", classes=[0, 1], max_train=3, pca=4), "data.pca: 4 components from 4 features and 3 samples"),
    "a test split too small for every class": (dict(source="wine", test_size=0.01),
                                               "data.test_size: 0.01 of 178 samples makes a 176 / 2 train/test split"),
    "a NaN in a file": (dict(source="csv", path="nan.csv"), "line 3, column 1 is NaN or inf"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_summary_and_loading_raise_the_same_error(case, tmp_path):
    (tmp_path / "nan.csv").write_text("0.1,0.2,0\n0.3,0.4,1\nnan,0.5,0\n0.6,0.7,1\n")
    options, message = BAD[case]
    cfg = DataConfig(**options)
    with pytest.raises(ConfigError, match="^p.yaml: ") as described:
        describe_data(cfg, tmp_path, "p.yaml")
    with pytest.raises(ConfigError) as loaded:
        load_dataset(cfg, tmp_path, "p.yaml")
    assert str(described.value) == str(loaded.value)
    assert message in str(described.value)


THREE_QUBITS = {"quantum": {"n_qubits": 3, "layers": 1, "gradient": "parameter_shift"}}
ESTIMATED = {
    "exact, adam": {"model": THREE_QUBITS},
    "shots_per_step, readout + zne": {"backend": {"name": "torch.noisy", "shots": 1000}, "mitigation": [{"name": "readout"}, {"name": "zne"}],
                                      "train": {"shots_per_step": 20000, "optimizer": "adam"}, "model": THREE_QUBITS},
    "cobyla (counts the model's parameters)": {"train": {"optimizer": {"name": "cobyla", "options": {"maxiter": 5}}},
                                               "model": {"quantum": {"n_qubits": 3, "layers": 1}}},
}


@pytest.mark.parametrize("case", sorted(ESTIMATED))
def test_an_estimate_from_the_summary_equals_one_from_the_loaded_data(case, tmp_path):
    """``hqnn estimate`` and ``hqnn validate`` build from the summary; ``hqnn train`` from the arrays: same numbers."""
    profile = load_profile(write_profile(tmp_path, **{"data": {"max_train": 16, "max_test": 8, "pca": 3}, **ESTIMATED[case]}))
    from_summary, from_data = estimate_run(model_as_run(profile)), estimate_run(prepare_as_run(profile))
    assert from_summary.as_dict() == from_data.as_dict()
    assert from_summary.total.jobs > 0 and from_summary.total.circuits > 0
