"""What a profile's data will be once prepared (classes, split sizes, features, image shape), found without preparing it.

``hqnn validate`` and ``hqnn estimate`` need the data's shape, not its values: files are read and
checked as for training (:func:`hqnn_core.training.data.read_files`), scikit-learn's bundled sets
are described by :data:`BUNDLED` (fixed data; ``tests/training/test_data_summary.py`` compares it
with scikit-learn's loaders), and the split sizes are counted by
:func:`~hqnn_core.training.data.plan_split`. So neither command imports scikit-learn, which
takes longer to import than the whole check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hqnn_core.config import DataConfig
from hqnn_core.training.data import Dataset, plan_split, read_files

ImageShape = tuple[int, int, int]


@dataclass(frozen=True)
class BundledSet:
    """One of scikit-learn's bundled data sets: features per sample, image shape, samples per label 0, 1, ..."""

    n_features: int
    image_shape: ImageShape | None
    counts: tuple[int, ...]


#: scikit-learn's bundled sets (``sklearn.datasets.load_<name>``), as shipped since scikit-learn 0.x
BUNDLED: dict[str, BundledSet] = {
    "digits": BundledSet(64, (1, 8, 8), (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)),
    "iris": BundledSet(4, None, (50, 50, 50)),
    "breast_cancer": BundledSet(30, None, (212, 357)),
    "wine": BundledSet(13, None, (59, 71, 48)),
}


@dataclass(frozen=True)
class DataSummary:
    """The prepared data's shape: what building the model and estimating a run need, without the arrays."""

    source: str
    labels: list[int]
    n_train: int
    n_test: int
    n_features: int
    image_shape: ImageShape | None = None
    files: dict[str, str] = field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        return len(self.labels)


def describe_data(cfg: DataConfig, base_dir: str | Path = ".", source: str = "<profile>") -> DataSummary:
    """Check the data a profile's ``data`` section names and say what :func:`~hqnn_core.training.data.load_dataset` will make of it.

    Raises the same ConfigError as loading it would (bad files, rows, labels, classes, limits, PCA size).
    """
    bundled = BUNDLED.get(cfg.source)
    if bundled is not None:  # labels 0..K-1, as scikit-learn's loaders give them
        y, y_test, raw_features, image_shape = np.repeat(np.arange(len(bundled.counts)), bundled.counts), None, bundled.n_features, bundled.image_shape
        files: dict[str, str] = {}
    else:
        raw = read_files(cfg, Path(base_dir), source)
        y, y_test, raw_features, image_shape, files = raw.y, raw.y_test, int(raw.x.shape[1]), raw.image_shape, raw.files
    plan = plan_split(cfg, y, y_test, raw_features, source)
    return DataSummary(cfg.source, plan.labels, plan.n_train, plan.n_test, plan.n_features, None if cfg.pca is not None else image_shape, files)



def summary_of(dataset: Dataset) -> DataSummary:
    """The summary of data already loaded."""
    return DataSummary(dataset.info["source"], dataset.labels, len(dataset.y_train), len(dataset.y_test), dataset.n_features, dataset.image_shape,
                       dataset.info["files"])


__all__ = ["BUNDLED", "BundledSet", "DataSummary", "describe_data", "summary_of"]
