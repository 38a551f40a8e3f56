"""Data loaders against the facts documented with the shared datasets (counts, shapes, pixel mean)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from training_helpers import DATASETS

from hqnn_core.config import DataConfig
from hqnn_core.errors import ConfigError
from hqnn_core.training.data import load_dataset, read_idx

MNIST = DATASETS / "mnist"
LINSEP = DATASETS / "qml_benchmarks" / "linearly_separable"


def test_idx_reader_matches_the_published_mnist_facts():
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # datasets/mnist/README.md
    assert images.mean() == pytest.approx(33.79, abs=0.01)


def test_idx_source_selects_classes_and_splits_the_pool():
    cfg = DataConfig(source="idx", path=str(MNIST / "t10k-images-idx3-ubyte.gz"), classes=[3, 5], test_size=0.25, standardize=False)
    d = load_dataset(cfg)
    assert d.labels == [3, 5] and d.image_shape == (1, 28, 28)
    assert len(d.y_train) + len(d.y_test) == 1010 + 892
    assert d.info["test_counts"] == [253, 223]  # stratified: 25% of each class (rounded by scikit-learn)
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0  # pixels / 255


def test_truncated_idx_is_a_clear_error(tmp_path):
    blob = gzip.decompress((MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes())[:500]
    (tmp_path / "labels.idx").write_bytes(blob)
    with pytest.raises(ConfigError, match="truncated"):
        read_idx(tmp_path / "labels.idx")


def test_npz_keeps_its_split_and_maps_minus_one_plus_one_labels():
    d = load_dataset(DataConfig(source="npz", path=str(LINSEP / "linearly_separable_4d.npz"), standardize=False))
    assert d.labels == [-1, 1]
    assert d.info["train_counts"] == [113, 127] and d.info["test_counts"] == [27, 33]  # datasets/README.md table
    raw = np.load(LINSEP / "linearly_separable_4d.npz")
    np.testing.assert_allclose(d.x_test, raw["X_test"].astype(np.float32))
    # the generator's rule: y = -1 iff sum(x) > 0
    assert np.array_equal(d.y_test == 0, raw["X_test"].sum(axis=1) > 0)


def test_csv_pair_equals_the_npz():
    csv = load_dataset(DataConfig(source="csv", path=str(LINSEP / "linearly_separable_4d_train.csv"),
                                  test_path=str(LINSEP / "linearly_separable_4d_test.csv"), standardize=False))
    npz = load_dataset(DataConfig(source="npz", path=str(LINSEP / "linearly_separable_4d.npz"), standardize=False))
    np.testing.assert_array_equal(csv.x_train, npz.x_train)
    np.testing.assert_array_equal(csv.y_test, npz.y_test)


def test_npz_images_keep_their_shape():
    d = load_dataset(DataConfig(source="npz", path=str(DATASETS / "qml_benchmarks" / "bars_and_stripes" / "bars_and_stripes_4_x_4_0.5noise.npz")))
    assert d.image_shape == (1, 4, 4) and d.x_train.shape == (500, 16)


def test_split_is_seeded_stratified_and_transforms_fit_on_train_only():
    cfg = dict(source="digits", classes=[0, 1, 2], test_size=0.3, pca=5, angle_range=[0.0, 3.0])
    a, b = load_dataset(DataConfig(**cfg, seed=7)), load_dataset(DataConfig(**cfg, seed=7))
    c = load_dataset(DataConfig(**cfg, seed=8))
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)
    assert a.x_train.shape[1] == 5 and a.image_shape is None  # PCA drops the image shape
    assert a.x_train.min() == pytest.approx(0.0, abs=1e-6) and a.x_train.max() == pytest.approx(3.0, abs=1e-5)
    assert a.x_test.min() >= 0.0 and a.x_test.max() <= 3.0  # clipped to the angle range
    counts = np.array(a.info["train_counts"]) / len(a.y_train)
    np.testing.assert_allclose(counts, [178 / 537, 182 / 537, 177 / 537], atol=0.01)  # class shares kept


def test_standardize_and_subsampling():
    d = load_dataset(DataConfig(source="breast_cancer", standardize=True, max_train=100, max_test=50, seed=1))
    assert len(d.y_train) == 100 and len(d.y_test) == 50
    np.testing.assert_allclose(d.x_train.mean(axis=0), 0, atol=1e-5)  # the scaler is fitted on the (subsampled) training set
    np.testing.assert_allclose(d.x_train.std(axis=0), 1, atol=1e-4)


def test_unknown_class_and_too_many_components():
    with pytest.raises(ConfigError, match=r"data\.classes: labels \[7\] are not in the data; labels present: \[0, 1, 2\]"):
        load_dataset(DataConfig(source="iris", classes=[0, 7]))
    with pytest.raises(ConfigError, match=r"data\.pca: 20 components from 13 features"):
        load_dataset(DataConfig(source="wine", pca=20))
