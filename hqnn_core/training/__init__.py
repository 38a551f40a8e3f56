"""Config-driven training: ``hqnn train PROFILE`` from Python.

The training loop's names (``train``, ``evaluate_run``, ``RunResult``, ``evaluate``) are imported on
first use (module ``__getattr__``, PEP 562), as in :mod:`hqnn_core`: ``hqnn validate`` and ``hqnn
estimate`` import the model and the data but not the trainer, nor SciPy through the run's verdict.
(``prepare`` stays eager: a submodule of the same name would shadow a lazy function.)

Example:
    >>> from hqnn_core.training import train
    >>> result = train("examples/digits.yaml")  # doctest: +SKIP
    >>> result.record["hybrid"]["final"]["test_accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import importlib as _importlib
import typing as _typing

from hqnn_core.training.checkpoints import CheckpointManager, CheckpointWarning
from hqnn_core.training.data import Dataset, load_dataset
from hqnn_core.training.model import HybridModel, build_baseline, build_model
from hqnn_core.training.prepare import Prepared, prepare

if _typing.TYPE_CHECKING:  # what static checkers see; at run time __getattr__ imports these on first use
    from hqnn_core.training.run import RunResult, evaluate_run, train
    from hqnn_core.training.trainer import evaluate

#: public name -> the submodule that defines it
_LAZY: dict[str, str] = {
    "RunResult": "hqnn_core.training.run",
    "evaluate_run": "hqnn_core.training.run",
    "train": "hqnn_core.training.run",
    "evaluate": "hqnn_core.training.trainer",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hqnn_core.training' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


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
