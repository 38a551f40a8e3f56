"""Config-driven training: ``hqnn train PROFILE`` from Python.

Example:
    >>> from hqnn_core.training import train
    >>> result = train("examples/digits.yaml")  # doctest: +SKIP
    >>> result.record["hybrid"]["final"]["test_accuracy"]  # doctest: +SKIP
"""

from hqnn_core.training.checkpoints import CheckpointManager, CheckpointWarning
from hqnn_core.training.data import Dataset, load_dataset
from hqnn_core.training.model import HybridModel, build_baseline, build_model
from hqnn_core.training.prepare import Prepared, prepare
from hqnn_core.training.run import RunResult, evaluate_run, train
from hqnn_core.training.trainer import evaluate

__all__ = [
    "CheckpointManager",
    "CheckpointWarning",
    "Dataset",
    "HybridModel",
    "Prepared",
    "RunResult",
    "build_baseline",
    "build_model",
    "evaluate",
    "evaluate_run",
    "load_dataset",
    "prepare",
    "train",
]
