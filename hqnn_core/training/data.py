"""Datasets for profiles: scikit-learn's bundled sets, NPZ/CSV files (qml-benchmarks layout) and IDX images (MNIST).

Preparation order: select classes -> seeded stratified split (unless the source is pre-split) ->
optional stratified subsampling -> StandardScaler -> PCA -> min-max scaling to an angle range.
Every transform is fitted on the training split only. Image sources keep their (H, W) shape so
that a CNN front end can use it; pixels are divided by their maximum (16 for digits, 255 for IDX).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from hqnn_core.config import DataConfig, resolve_path
from hqnn_core.errors import ConfigError, InputError

_IDX_DTYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class Preprocessing:
    """The transforms fitted on the training split, to prepare new rows exactly like the training data.

    ``divisor`` is the pixel scale the source divides by (16 for digits, 255 for IDX); ``steps`` are
    the fitted scikit-learn transforms in order. Used by serving and drift monitoring.
    """

    raw_features: int
    labels: list[int]
    divisor: float = 1.0
    steps: list[Any] = field(default_factory=list)

    def transform(self, x_raw: np.ndarray) -> np.ndarray:
        """Raw feature rows (as the data source stores them) -> the model's float32 inputs."""
        x = np.asarray(x_raw, dtype=np.float64).reshape(len(x_raw), -1) / self.divisor
        for step in self.steps:
            x = step.transform(x)
        return x.astype(np.float32)

    def class_indices(self, y_raw: np.ndarray, where: str) -> np.ndarray:
        """Raw labels -> class indices 0..K-1; a label the run was not trained on is an InputError."""
        index = {label: i for i, label in enumerate(self.labels)}
        unknown = sorted({int(v) for v in np.asarray(y_raw).ravel()} - set(index))
        if unknown:
            raise InputError(f"{where}: labels {unknown} are not among the run's classes {self.labels}; remove those rows or their labels.")
        return np.array([index[int(v)] for v in np.asarray(y_raw).ravel()], dtype=np.int64)


@dataclass
class Dataset:
    """Prepared arrays (float32 features, int64 class indices 0..K-1) and what they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labels: list[int]
    image_shape: tuple[int, int] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    preprocessing: Preprocessing | None = None

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.labels)


@dataclass
class _Raw:
    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    image_shape: tuple[int, int] | None = None
    files: dict[str, str] = field(default_factory=dict)
    divisor: float = 1.0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _file(value: str, key: str, base_dir: Path, source: str) -> Path:
    path = resolve_path(value, base_dir, key, source)
    if not path.is_file():
        raise ConfigError(f"{source}: {key}: file {str(path)!r} does not exist; fix the path (relative paths start at the profile's folder).")
    return path


def read_idx(path: Path) -> np.ndarray:
    """An IDX array (``.gz`` or plain): magic 0x0000TTNN, NN int32 big-endian dims, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            blob = fh.read()
    except (OSError, EOFError) as e:
        raise ConfigError(f"{path}: cannot read IDX file ({e}); is it a (gzipped) IDX file?") from None
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _IDX_DTYPES:
        raise ConfigError(f"{path}: not an IDX file (bad magic number {blob[:4].hex()}); MNIST files start with 0x00000803 or 0x00000801.")
    ndim = blob[3]
    dims = tuple(int(d) for d in np.frombuffer(blob[4 : 4 + 4 * ndim], dtype=">i4"))
    data = np.frombuffer(blob[4 + 4 * ndim :], dtype=_IDX_DTYPES[blob[2]])
    if data.size != int(np.prod(dims)):
        raise ConfigError(f"{path}: IDX header says {dims} ({int(np.prod(dims))} values) but the file holds {data.size}; the file is truncated.")
    return data.reshape(dims)


def _load_raw(cfg: DataConfig, base_dir: Path, source: str) -> _Raw:
    if cfg.source in {"digits", "iris", "breast_cancer", "wine"}:
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{cfg.source}")()
        x = np.asarray(bunch.data, dtype=np.float64)
        if cfg.source == "digits":
            return _Raw(x / 16.0, np.asarray(bunch.target), image_shape=(8, 8), divisor=16.0)
        return _Raw(x, np.asarray(bunch.target))
    assert cfg.path is not None
    path = _file(cfg.path, "data.path", base_dir, source)
    files = {str(path): _sha256(path)}
    if cfg.source == "npz":
        with np.load(path, allow_pickle=False) as npz:
            missing = {"X_train", "y_train", "X_test", "y_test"} - set(npz.files)
            if missing:
                raise ConfigError(f"{source}: data.path: {path} lacks arrays {sorted(missing)}; an npz needs X_train, y_train, X_test, y_test.")
            arrays = {k: np.asarray(npz[k]) for k in ("X_train", "y_train", "X_test", "y_test")}
        shape = arrays["X_train"].shape[1:]
        image = (int(shape[-2]), int(shape[-1])) if len(shape) >= 2 else None
        flat = {k: arrays[k].reshape(len(arrays[k]), -1).astype(np.float64) for k in ("X_train", "X_test")}
        return _Raw(flat["X_train"], arrays["y_train"], flat["X_test"], arrays["y_test"], image, files)
    if cfg.source == "csv":
        train = _read_csv(path, source, "data.path")
        if cfg.test_path:
            test_file = _file(cfg.test_path, "data.test_path", base_dir, source)
            files[str(test_file)] = _sha256(test_file)
            test = _read_csv(test_file, source, "data.test_path")
            if test.shape[1] != train.shape[1]:
                raise ConfigError(f"{source}: data.test_path has {test.shape[1]} columns but data.path has {train.shape[1]}; use matching files.")
            return _Raw(train[:, :-1], _labels(train[:, -1], source), test[:, :-1], _labels(test[:, -1], source), files=files)
        return _Raw(train[:, :-1], _labels(train[:, -1], source), files=files)
    images = read_idx(path)
    labels_value = cfg.labels_path or str(path).replace("images-idx3", "labels-idx1")
    labels_file = _file(labels_value, "data.labels_path", base_dir, source)
    files[str(labels_file)] = _sha256(labels_file)
    labels = read_idx(labels_file)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ConfigError(
            f"{source}: data: IDX images {images.shape} and labels {labels.shape} do not match; need (N, H, W) images and N labels."
        )
    return _Raw(images.reshape(len(images), -1).astype(np.float64) / 255.0, labels, image_shape=images.shape[1:], files=files, divisor=255.0)


def _read_csv(path: Path, source: str, key: str) -> np.ndarray:
    try:
        data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as e:
        raise ConfigError(f"{source}: {key}: cannot read {path} as numbers ({e}); the csv must have no header, features then the label.") from None
    if data.shape[1] < 2:
        raise ConfigError(f"{source}: {key}: {path} has {data.shape[1]} column; need features then the label as the last column.")
    return data


def _labels(values: np.ndarray, source: str) -> np.ndarray:
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        raise ConfigError(f"{source}: data: the csv's last column holds non-integer labels; the label must be an integer class.")
    return values.astype(np.int64)


def _select(x: np.ndarray, y: np.ndarray, labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    mask = np.isin(y, labels)
    index = {label: i for i, label in enumerate(labels)}
    return x[mask], np.array([index[int(v)] for v in y[mask]], dtype=np.int64)


def _subsample(x: np.ndarray, y: np.ndarray, limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if limit is None or limit >= len(y):
        return x, y
    keep, _, y_keep, _ = train_test_split(x, y, train_size=limit, stratify=y, random_state=seed)
    return keep, y_keep


def load_dataset(cfg: DataConfig, base_dir: str | Path = ".", source: str = "<profile>") -> Dataset:
    """Load and prepare the data a profile's ``data`` section describes (deterministic for a given seed)."""
    raw = _load_raw(cfg, Path(base_dir), source)
    present = sorted({int(v) for v in np.concatenate([raw.y, raw.y_test if raw.y_test is not None else raw.y[:0]])})
    labels = list(cfg.classes) if cfg.classes is not None else present
    unknown = [c for c in labels if c not in present]
    if unknown:
        raise ConfigError(f"{source}: data.classes: labels {unknown} are not in the data; labels present: {present}.")
    if len(labels) < 2:
        raise ConfigError(f"{source}: data: the data holds only label {labels}; a classifier needs at least two classes.")
    x, y = _select(raw.x, raw.y, labels)
    if raw.x_test is not None and raw.y_test is not None:
        x_train, y_train = x, y
        x_test, y_test = _select(raw.x_test, raw.y_test, labels)
    else:
        counts = np.bincount(y, minlength=len(labels))
        if counts.min() < 2:
            raise ConfigError(f"{source}: data: class {labels[int(counts.argmin())]} has {counts.min()} samples; each class needs 2 to be split.")
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=cfg.test_size, stratify=y, random_state=cfg.seed)
    x_train, y_train = _subsample(x_train, y_train, cfg.max_train, cfg.seed)
    x_test, y_test = _subsample(x_test, y_test, cfg.max_test, cfg.seed + 1)
    image_shape = raw.image_shape
    preprocessing = Preprocessing(int(x.shape[1]), labels, raw.divisor)
    if cfg.standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
        preprocessing.steps.append(scaler)
    if cfg.pca is not None:
        if cfg.pca > min(x_train.shape):
            raise ConfigError(f"{source}: data.pca: {cfg.pca} components from {x_train.shape[1]} features and {len(x_train)} samples; use at most {min(x_train.shape)}.")
        pca = PCA(n_components=cfg.pca, random_state=cfg.seed).fit(x_train)
        x_train, x_test = pca.transform(x_train), pca.transform(x_test)
        preprocessing.steps.append(pca)
        image_shape = None
    if cfg.angle_range is not None:
        low, high = cfg.angle_range
        minmax = MinMaxScaler(feature_range=(low, high), clip=True).fit(x_train)
        x_train, x_test = minmax.transform(x_train), minmax.transform(x_test)
        preprocessing.steps.append(minmax)
    info = {
        "source": cfg.source,
        "files": raw.files,
        "labels": labels,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "n_features": int(x_train.shape[1]),
        "train_counts": np.bincount(y_train, minlength=len(labels)).tolist(),
        "test_counts": np.bincount(y_test, minlength=len(labels)).tolist(),
        "image_shape": list(image_shape) if image_shape else None,
    }
    return Dataset(
        x_train.astype(np.float32), y_train.astype(np.int64), x_test.astype(np.float32), y_test.astype(np.int64), labels, image_shape, info, preprocessing
    )
