"""Data files are checked while they are read: shapes, channels, finite values, labels, lengths, empty splits.

Each bad file gives one ConfigError that names the key, the file and the row, and never the file's content.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from hqnn_core.config import DataConfig
from hqnn_core.errors import ConfigError
from hqnn_core.training.data import load_dataset, read_idx


def _npz(path: Path, **arrays: np.ndarray) -> Path:
    np.savez(path, **arrays)
    return path


def _images(n: int, shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, *shape)), np.arange(n) % 2


def _write_idx(path: Path, array: np.ndarray) -> Path:
    """An IDX file (the MNIST / Fashion-MNIST format): 0x0000, dtype code, ndim, big-endian int32 dims, data."""
    code = {np.dtype(np.uint8): 0x08}[array.dtype]
    blob = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape) + array.tobytes()
    path.write_bytes(gzip.compress(blob) if path.suffix == ".gz" else blob)
    return path


def test_npz_channels_first_images_keep_their_channels(tmp_path):
    x, y = _images(24, (3, 8, 8))
    path = _npz(tmp_path / "rgb.npz", X_train=x[:16], y_train=y[:16], X_test=x[16:], y_test=y[16:])
    d = load_dataset(DataConfig(source="npz", path=str(path), standardize=False))
    assert d.image_shape == (3, 8, 8) and d.x_train.shape == (16, 192)
    np.testing.assert_allclose(d.x_train, x[:16].reshape(16, -1).astype(np.float32))


def test_npz_channels_last_images_are_moved_to_channels_first(tmp_path):
    x, y = _images(24, (8, 8, 3))  # Keras' CIFAR-10 layout
    path = _npz(tmp_path / "hwc.npz", X_train=x[:16], y_train=y[:16], X_test=x[16:], y_test=y[16:])
    d = load_dataset(DataConfig(source="npz", path=str(path), standardize=False))
    assert d.image_shape == (3, 8, 8)
    np.testing.assert_allclose(d.x_test, np.moveaxis(x[16:], -1, 1).reshape(8, -1).astype(np.float32))


def test_fashion_mnist_idx_files_load(tmp_path):
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(40, 28, 28), dtype=np.uint8)
    labels = np.repeat(np.arange(10, dtype=np.uint8), 4)  # Fashion-MNIST's 10 clothing classes
    images = _write_idx(tmp_path / "train-images-idx3-ubyte.gz", pixels)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    d = load_dataset(DataConfig(source="idx", path=str(images), classes=[0, 9], test_size=0.25, standardize=False))
    assert d.image_shape == (1, 28, 28) and d.labels == [0, 9]
    assert len(d.y_train) == 6 and len(d.y_test) == 2
    both = np.concatenate([d.x_train, d.x_test])
    want = np.concatenate([pixels[:4], pixels[36:]]).reshape(8, -1) / 255.0
    np.testing.assert_allclose(np.sort(both.sum(axis=1)), np.sort(want.sum(axis=1)), rtol=1e-5)


def test_idx_colour_images_load_with_their_channels(tmp_path):
    pixels = np.random.default_rng(2).integers(0, 256, size=(12, 3, 8, 8), dtype=np.uint8)
    images = _write_idx(tmp_path / "cifar-images-idx4-ubyte", pixels)
    _write_idx(tmp_path / "cifar-labels-idx1-ubyte", (np.arange(12) % 2).astype(np.uint8))
    d = load_dataset(DataConfig(source="idx", path=str(images), test_size=0.25, standardize=False))
    assert d.image_shape == (3, 8, 8) and d.x_train.shape == (9, 192)
    assert read_idx(images).shape == (12, 3, 8, 8)


def test_cnn_front_end_takes_every_channel(tmp_path):
    from hqnn_core.config import FrontEndConfig
    from hqnn_core.training.model import build_front_end

    front = build_front_end(FrontEndConfig(kind="cnn", channels=[4], hidden=[8]), 192, 2, (3, 8, 8), "<t>")
    assert front[1].in_channels == 3 and front(torch.zeros(5, 192)).shape == (5, 2)


def test_cifar10_sized_images_load_describe_and_run_through_a_cnn(tmp_path):
    """Keras' CIFAR-10 arrays: uint8 (N, 32, 32, 3), channels last; validate and loading agree on (3, 32, 32)."""
    from hqnn_core.config import FrontEndConfig
    from hqnn_core.training.data_summary import describe_data
    from hqnn_core.training.model import build_front_end

    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(30, 32, 32, 3), dtype=np.uint8)
    y = np.arange(30) % 10
    path = _npz(tmp_path / "cifar10.npz", X_train=x[:20], y_train=y[:20], X_test=x[20:], y_test=y[20:])
    cfg = DataConfig(source="npz", path=str(path), standardize=False)
    d = load_dataset(cfg)
    assert d.image_shape == describe_data(cfg).image_shape == (3, 32, 32) and d.x_train.shape == (20, 3072)
    assert d.x_train[7].reshape(3, 32, 32)[2, 5, 9] == pytest.approx(float(x[7, 5, 9, 2]))  # channel 2 of pixel (5, 9)
    front = build_front_end(FrontEndConfig(kind="cnn", channels=[8, 16], hidden=[32]), 3072, 4, d.image_shape, "<t>")
    assert front[1].in_channels == 3 and front(torch.as_tensor(d.x_train)).shape == (20, 4)


def test_nan_in_npz_names_file_array_and_row(tmp_path):
    x, y = _images(20, (4,))
    x[13, 2] = np.nan
    path = _npz(tmp_path / "nan.npz", X_train=x, y_train=y, X_test=x[:4] * 0, y_test=y[:4])
    with pytest.raises(ConfigError, match=rf"data\.path: {path}: X_train: row 13 \(0-based\) holds NaN or inf \(1 of 20 rows do\)"):
        load_dataset(DataConfig(source="npz", path=str(path)))


def test_inf_in_csv_names_line_and_column(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("# comment\n0.1,0.2,0\n0.3,inf,1\n0.5,0.6,1\n")
    with pytest.raises(ConfigError, match=rf"data\.path: {path}: line 3, column 2 is NaN or inf"):
        load_dataset(DataConfig(source="csv", path=str(path)))


def test_ragged_csv_names_the_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("0.1,0.2,0\n0.3,0.4,1\n0.5,1\n")
    with pytest.raises(ConfigError, match=r"line 3 has 2 columns where the first data line has 3"):
        load_dataset(DataConfig(source="csv", path=str(path)))


def test_non_integer_csv_label_names_the_line(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("0.1,0.2,0\n0.3,0.4,1.5\n")
    with pytest.raises(ConfigError, match=r"line 2, column 3 \(the label\) is not a whole number"):
        load_dataset(DataConfig(source="csv", path=str(path)))


@pytest.mark.parametrize(("source", "name"), [("csv", "passwd"), ("npz", "passwd"), ("idx", "passwd"), ("idx", "passwd.gz")])
def test_a_file_of_another_kind_is_described_not_quoted(tmp_path, source, name):
    path = tmp_path / name
    path.write_text("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\n")
    with pytest.raises(ConfigError) as info:
        load_dataset(DataConfig(source=source, path=str(path)))
    message = str(info.value)
    assert "root" not in message.replace(str(tmp_path), "") and "b'ro'" not in message and "726f6f74" not in message  # no text, bytes or hex
    want = {"csv": "line 1, column 1 is not a number", "npz": "not an npz archive", "idx": "not an IDX file", "idx.gz": "not gzip data"}
    assert want[source + (".gz" if name.endswith(".gz") else "")] in message


def test_npz_object_array_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (Path.touch, (marker,))

    x, y = _images(8, (2,))
    objects = np.empty(8, dtype=object)
    objects[:] = [Payload() for _ in range(8)]
    path = _npz(tmp_path / "obj.npz", X_train=x, y_train=objects, X_test=x, y_test=y)
    with pytest.raises(ConfigError, match=r"array y_train holds Python objects, which hqnn does not unpickle"):
        load_dataset(DataConfig(source="npz", path=str(path)))
    assert not marker.exists()


def test_npz_with_x_and_y_of_different_lengths(tmp_path):
    x, y = _images(10, (3,))
    path = _npz(tmp_path / "len.npz", X_train=x, y_train=y[:7], X_test=x, y_test=y)
    with pytest.raises(ConfigError, match=r"y_train \(for X_train\): 7 labels for 10 samples"):
        load_dataset(DataConfig(source="npz", path=str(path)))


@pytest.mark.parametrize(("labels", "message"), [
    (np.array(["cat", "dog"] * 5), r"labels are <U3 values; labels must be integer classes"),
    (np.array([0.0, 1.0] * 4 + [0.5, 1.0]), r"label at row 8 \(0-based\) is not a whole number"),
])
def test_npz_label_types(tmp_path, labels, message):
    x, y = _images(10, (3,))
    path = _npz(tmp_path / "labels.npz", X_train=x, y_train=labels, X_test=x, y_test=y)
    with pytest.raises(ConfigError, match=message):
        load_dataset(DataConfig(source="npz", path=str(path)))


def test_npz_empty_split_and_mismatched_features(tmp_path):
    x, y = _images(10, (3,))
    empty = _npz(tmp_path / "empty.npz", X_train=x, y_train=y, X_test=x[:0], y_test=y[:0])
    with pytest.raises(ConfigError, match=r"X_test: holds no samples"):
        load_dataset(DataConfig(source="npz", path=str(empty)))
    wide = _npz(tmp_path / "wide.npz", X_train=x, y_train=y, X_test=np.hstack([x, x]), y_test=y)
    with pytest.raises(ConfigError, match=r"X_train samples have shape \(3,\) but X_test samples \(6,\)"):
        load_dataset(DataConfig(source="npz", path=str(wide)))
    other_labels = _npz(tmp_path / "other.npz", X_train=x, y_train=y, X_test=x, y_test=np.full(10, 5))
    with pytest.raises(ConfigError, match=r"data\.classes: the test split holds no sample of classes \[0, 1\]"):
        load_dataset(DataConfig(source="npz", path=str(other_labels), classes=[0, 1]))


@pytest.mark.parametrize(("classes", "hint"), [(None, "data.classes is null, so every label in the data is kept"), ([0, 1, 2], "")])
def test_max_train_below_the_number_of_classes(classes, hint):
    k = 10 if classes is None else 3
    with pytest.raises(ConfigError, match=rf"data\.max_train: 2 samples cannot hold one of each of the {k} classes") as info:
        load_dataset(DataConfig(source="digits", classes=classes, max_train=2))
    assert hint in str(info.value) and f"set data.max_train to at least {k}" in str(info.value)


def test_max_train_one_below_the_pool_still_subsamples():
    d = load_dataset(DataConfig(source="iris", test_size=0.25, max_train=111))  # 112 in the pool: 1 left out, 3 classes
    assert len(d.y_train) == 111 and sorted(set(d.y_train.tolist())) == [0, 1, 2]
