"""Datasets for profiles: scikit-learn's bundled sets, NPZ/CSV files (qml-benchmarks layout) and IDX images (MNIST).

Preparation order: select classes -> seeded stratified split (unless the source is pre-split) ->
optional stratified subsampling -> StandardScaler -> PCA -> min-max scaling to an angle range.
Every transform is fitted on the training split only. Image sources keep their (C, H, W) shape so
that a CNN front end can use it ((H, W) images have one channel; channels-last arrays are moved to
channels-first, see :mod:`hqnn_core.training.data_checks`); pixels are divided by their maximum
(16 for digits, 255 for IDX). Every file is checked (finite numbers, integer labels, matching
lengths and shapes, no empty split) while it is read, so ``hqnn validate`` reports a bad file and row.

Reading and checking need numpy only; :func:`plan_split` finds the classes and split sizes by
counting labels. scikit-learn (about 1.5 s to import, through SciPy) is imported only by the steps
that split and fit, so ``hqnn validate`` and ``hqnn estimate`` (:mod:`hqnn_core.training.data_summary`)
never load it.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hqnn_core.config import DataConfig, resolve_path
from hqnn_core.errors import ConfigError, InputError
from hqnn_core.training.data_checks import check_features, check_labels, csv_problem, image_layout

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
    image_shape: tuple[int, int, int] | None = None
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
    image_shape: tuple[int, int, int] | None = None
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
    except (OSError, EOFError) as e:  # the reason, never the bytes (gzip's message quotes the file's first two)
        reason = "not gzip data" if isinstance(e, gzip.BadGzipFile) else "truncated" if isinstance(e, EOFError) else e.strerror or type(e).__name__
        raise ConfigError(f"{path}: cannot read IDX file ({reason}); is it a (gzipped) IDX file?") from None
    if len(blob) < 4 or blob[0] != 0 or blob[1] != 0 or blob[2] not in _IDX_DTYPES:
        raise ConfigError(f"{path}: not an IDX file (its first 4 bytes are not an IDX magic number); MNIST files start with 0x00000803 or 0x00000801.")
    ndim = blob[3]
    dims = tuple(int(d) for d in np.frombuffer(blob[4 : 4 + 4 * ndim], dtype=">i4"))
    data = np.frombuffer(blob[4 + 4 * ndim :], dtype=_IDX_DTYPES[blob[2]])
    if data.size != int(np.prod(dims)):
        raise ConfigError(f"{path}: IDX header says {dims} ({int(np.prod(dims))} values) but the file holds {data.size}; the file is truncated.")
    return data.reshape(dims)


BUNDLED_SOURCES = ("digits", "iris", "breast_cancer", "wine")


def _load_raw(cfg: DataConfig, base_dir: Path, source: str) -> _Raw:
    if cfg.source in BUNDLED_SOURCES:
        from sklearn import datasets  # scikit-learn only where its bundled data is loaded (see the module docstring)

        bunch = getattr(datasets, f"load_{cfg.source}")()
        x = np.asarray(bunch.data, dtype=np.float64)
        if cfg.source == "digits":
            return _Raw(x / 16.0, np.asarray(bunch.target), image_shape=(1, 8, 8), divisor=16.0)
        return _Raw(x, np.asarray(bunch.target))
    return read_files(cfg, base_dir, source)


def read_files(cfg: DataConfig, base_dir: Path, source: str) -> _Raw:
    """The raw arrays of an npz, csv or idx source, every file checked (numpy only)."""
    assert cfg.path is not None
    path = _file(cfg.path, "data.path", base_dir, source)
    files = {str(path): _sha256(path)}
    if cfg.source == "npz":
        return _read_npz(path, f"{source}: data.path: {path}", files)
    if cfg.source == "csv":
        train = _read_csv(path, source, "data.path")
        if cfg.test_path:
            test_file = _file(cfg.test_path, "data.test_path", base_dir, source)
            files[str(test_file)] = _sha256(test_file)
            test = _read_csv(test_file, source, "data.test_path")
            if test.shape[1] != train.shape[1]:
                raise ConfigError(f"{source}: data.test_path has {test.shape[1]} columns but data.path has {train.shape[1]}; use matching files.")
            return _Raw(train[:, :-1], train[:, -1].astype(np.int64), test[:, :-1], test[:, -1].astype(np.int64), files=files)
        return _Raw(train[:, :-1], train[:, -1].astype(np.int64), files=files)
    images = read_idx(path)
    labels_value = cfg.labels_path or re.sub(r"images-idx\d", "labels-idx1", str(path))
    labels_file = _file(labels_value, "data.labels_path", base_dir, source)
    files[str(labels_file)] = _sha256(labels_file)
    if images.ndim not in (3, 4):
        raise ConfigError(f"{source}: data.path: IDX file {path} holds an array of shape {images.shape}; need (N, H, W) or (N, C, H, W) images.")
    labels = check_labels(read_idx(labels_file), len(images), f"{source}: data.labels_path: IDX file {labels_file}")
    check_features(images, f"{source}: data.path: IDX file {path}")
    image, x = _images(images, f"{source}: data.path: IDX file {path}")
    return _Raw(x / 255.0, labels, image_shape=image, files=files, divisor=255.0)


_NPZ_KEYS = ("X_train", "y_train", "X_test", "y_test")


def _images(x: np.ndarray, where: str) -> tuple[tuple[int, int, int] | None, np.ndarray]:
    """``(C, H, W)`` of image samples (None for flat features) and the samples flattened, channels first."""
    image, channels_last = image_layout(x.shape[1:], where)
    if channels_last:
        x = np.moveaxis(x, -1, 1)
    return image, x.reshape(len(x), -1).astype(np.float64)


def _read_npz(path: Path, where: str, files: dict[str, str]) -> _Raw:
    """The four arrays of a qml-benchmarks npz, checked; object arrays are refused, never unpickled."""
    not_npz = f"{where}: not an npz archive; point data.path at a file written by numpy.savez with arrays {', '.join(_NPZ_KEYS)}."
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        raise ConfigError(not_npz) from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise ConfigError(not_npz)
    arrays: dict[str, np.ndarray] = {}
    with npz:
        missing = set(_NPZ_KEYS) - set(npz.files)
        if missing:
            raise ConfigError(f"{where}: lacks arrays {sorted(missing)}; an npz needs X_train, y_train, X_test, y_test.")
        for key in _NPZ_KEYS:
            try:
                arrays[key] = np.asarray(npz[key])
            except ValueError:  # an object array: numpy refuses to unpickle it with allow_pickle=False
                raise ConfigError(
                    f"{where}: array {key} holds Python objects, which hqnn does not unpickle; save it as a numeric array "
                    f"(np.savez(..., {key}=np.asarray(values, dtype=float)))."
                ) from None
            except (OSError, EOFError, zipfile.BadZipFile):
                raise ConfigError(f"{where}: array {key} cannot be read; the npz is damaged, write it again with numpy.savez.") from None
    x_train, x_test = arrays["X_train"], arrays["X_test"]
    for key in ("X_train", "X_test"):
        check_features(arrays[key], f"{where}: {key}")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ConfigError(
            f"{where}: X_train samples have shape {x_train.shape[1:]} but X_test samples {x_test.shape[1:]}; both splits need the same features."
        )
    y_train = check_labels(arrays["y_train"], len(x_train), f"{where}: y_train (for X_train)")
    y_test = check_labels(arrays["y_test"], len(x_test), f"{where}: y_test (for X_test)")
    image, flat_train = _images(x_train, f"{where}: X_train")
    _, flat_test = _images(x_test, f"{where}: X_test")
    return _Raw(flat_train, y_train, flat_test, y_test, image, files)


def _read_csv(path: Path, source: str, key: str) -> np.ndarray:
    """Rows of finite numbers with an integer label last; a problem is reported by line and column, never quoted."""
    where = f"{source}: {key}: {path}"
    fix = "the csv must hold numbers only, no header: the features, then the integer label as the last column"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "input contained no data": reported below
            data = np.loadtxt(path, delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError:
        raise ConfigError(f"{where}: {csv_problem(path)}; {fix}.") from None
    if data.shape[0] == 0:
        raise ConfigError(f"{where}: holds no rows; {fix}.")
    if data.shape[1] < 2:
        raise ConfigError(f"{where}: has {data.shape[1]} column; {fix}.")
    labels = data[:, -1]
    if not np.isfinite(data).all() or not np.all(labels == np.round(labels)):
        raise ConfigError(f"{where}: {csv_problem(path, labels_last=True)}; {fix}.")
    return data


def _select(x: np.ndarray, y: np.ndarray, labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    mask = np.isin(y, labels)
    index = {label: i for i, label in enumerate(labels)}
    return x[mask], np.array([index[int(v)] for v in y[mask]], dtype=np.int64)


def _subsample(x: np.ndarray, y: np.ndarray, limit: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` samples, stratified where scikit-learn can (each class twice, a class per sample kept and dropped)."""
    if limit is None or limit >= len(y):
        return x, y
    counts = np.bincount(y)
    classes = int((counts > 0).sum())
    stratify = y if counts[counts > 0].min() >= 2 and min(limit, len(y) - limit) >= classes else None
    from sklearn.model_selection import train_test_split  # see the module docstring

    keep, _, y_keep, _ = train_test_split(x, y, train_size=limit, stratify=stratify, random_state=seed)
    return keep, y_keep


def _check_limits(cfg: DataConfig, labels: list[int], source: str) -> None:
    """``max_train``/``max_test`` must leave room for one sample of every class."""
    kept = " (data.classes is null, so every label in the data is kept)" if cfg.classes is None else ""
    for key, limit in (("max_train", cfg.max_train), ("max_test", cfg.max_test)):
        if limit is not None and limit < len(labels):
            raise ConfigError(
                f"{source}: data.{key}: {limit} samples cannot hold one of each of the {len(labels)} classes {labels}{kept}; "
                f"set data.{key} to at least {len(labels)}, or keep fewer classes with data.classes."
            )


def _check_not_empty(n_train: int, n_test: int, labels: list[int], source: str) -> None:
    for split, n in (("training", n_train), ("test", n_test)):
        if n == 0:
            raise ConfigError(f"{source}: data.classes: the {split} split holds no sample of classes {labels}; choose classes the file has in both splits.")


@dataclass(frozen=True)
class SplitPlan:
    """The classes a profile keeps and the sizes of its splits, found by counting labels (no split is made)."""

    labels: list[int]
    n_train: int
    n_test: int
    n_features: int


def plan_split(cfg: DataConfig, y: np.ndarray, y_test: np.ndarray | None, raw_features: int, source: str = "<profile>") -> SplitPlan:
    """Check the classes, limits and PCA size against the labels and say what :func:`load_dataset` will produce.

    Sizes follow scikit-learn's ``train_test_split``: ``ceil(test_size * n)`` test samples, then
    ``max_train``/``max_test`` samples when those are smaller. ``y_test`` is None for sources
    without a split of their own.
    """
    present = sorted({int(v) for v in np.concatenate([y, y_test if y_test is not None else y[:0]])})
    labels = list(cfg.classes) if cfg.classes is not None else present
    unknown = [c for c in labels if c not in present]
    if unknown:
        raise ConfigError(f"{source}: data.classes: labels {unknown} are not in the data; labels present: {present}.")
    if len(labels) < 2:
        raise ConfigError(f"{source}: data: the data holds only label {labels}; a classifier needs at least two classes.")
    _check_limits(cfg, labels, source)
    if y_test is not None:
        n_train, n_test = int(np.isin(y, labels).sum()), int(np.isin(y_test, labels).sum())
        _check_not_empty(n_train, n_test, labels, source)
    else:
        counts = [int((y == label).sum()) for label in labels]
        if min(counts) < 2:
            raise ConfigError(f"{source}: data: class {labels[counts.index(min(counts))]} has {min(counts)} samples; each class needs 2 to be split.")
        n = sum(counts)
        n_test = math.ceil(cfg.test_size * n)
        n_train = n - n_test
        if min(n_train, n_test) < len(labels):
            raise ConfigError(
                f"{source}: data.test_size: {cfg.test_size} of {n} samples makes a {n_train} / {n_test} train/test split, which cannot "
                f"hold one sample of each of the {len(labels)} classes in both splits; choose a test_size between {len(labels) / n:.3g} "
                f"and {1 - len(labels) / n:.3g}."
            )
    n_train = min(n_train, cfg.max_train or n_train)
    n_test = min(n_test, cfg.max_test or n_test)
    if cfg.pca is not None and cfg.pca > min(n_train, raw_features):
        most = min(n_train, raw_features)
        raise ConfigError(f"{source}: data.pca: {cfg.pca} components from {raw_features} features and {n_train} samples; use at most {most}.")
    return SplitPlan(labels, n_train, n_test, raw_features if cfg.pca is None else cfg.pca)


def load_dataset(cfg: DataConfig, base_dir: str | Path = ".", source: str = "<profile>") -> Dataset:
    """Load and prepare the data a profile's ``data`` section describes (deterministic for a given seed)."""
    from sklearn.decomposition import PCA  # scikit-learn where data is split and fitted, never to read or check it
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    raw = _load_raw(cfg, Path(base_dir), source)
    plan = plan_split(cfg, raw.y, raw.y_test, int(raw.x.shape[1]), source)
    labels = plan.labels
    x, y = _select(raw.x, raw.y, labels)
    if raw.x_test is not None and raw.y_test is not None:
        x_train, y_train = x, y
        x_test, y_test = _select(raw.x_test, raw.y_test, labels)
    else:
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=cfg.test_size, stratify=y, random_state=cfg.seed)
    x_train, y_train = _subsample(x_train, y_train, cfg.max_train, cfg.seed)
    x_test, y_test = _subsample(x_test, y_test, cfg.max_test, cfg.seed + 1)
    assert (len(y_train), len(y_test)) == (plan.n_train, plan.n_test), "plan_split disagrees with the split made"
    image_shape = raw.image_shape
    preprocessing = Preprocessing(int(x.shape[1]), labels, raw.divisor)
    if cfg.standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
        preprocessing.steps.append(scaler)
    if cfg.pca is not None:
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
