"""Config-driven training: ``hqnn train PROFILE`` from Python.

The training loop's names (``train``, ``evaluate_run``, ``RunResult``, ``evaluate``) are imported on
first use (module ``__getattr__``, PEP 562), as in :mod:`hqnn_core`: ``hqnn validate`` and ``hqnn
estimate`` import the model and the data but not the trainer, nor SciPy through the run's verdict.
The other names are lazy too, so that importing a torch-free submodule (``data_summary``) imports
no torch. ``prepare`` names both a submodule and its function: the package keeps the function
(:class:`_Package`), as it did when it imported it eagerly.

Example:
    >>> from hqnn_core.training import train
    >>> result = train("examples/digits.yaml")  # doctest: +SKIP
    >>> result.record["hybrid"]["final"]["test_accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

import sys as _sys
import types as _types
import typing as _typing

from hqnn_core._lazy import lazy_names as _lazy_names

if _typing.TYPE_CHECKING:  # what static checkers see; at run time __getattr__ imports these on first use
    from hqnn_core.training.checkpoints import CheckpointManager, CheckpointWarning
    from hqnn_core.training.data import Dataset, load_dataset
    from hqnn_core.training.model import HybridModel, build_baseline, build_model
    from hqnn_core.training.prepare import Prepared, prepare
    from hqnn_core.training.run import RunResult, evaluate_run, train
    from hqnn_core.training.trainer import evaluate

#: public name -> the submodule that defines it (importing a submodule, e.g. the torch-free
#: ``data_summary`` that ``hqnn validate`` uses, then imports no torch through this package)
_LAZY: dict[str, str] = {
    "CheckpointManager": "hqnn_core.training.checkpoints",
    "CheckpointWarning": "hqnn_core.training.checkpoints",
    "Dataset": "hqnn_core.training.data",
    "load_dataset": "hqnn_core.training.data",
    "HybridModel": "hqnn_core.training.model",
    "build_baseline": "hqnn_core.training.model",
    "build_model": "hqnn_core.training.model",
    "Prepared": "hqnn_core.training.prepare",
    "prepare": "hqnn_core.training.prepare",
    "RunResult": "hqnn_core.training.run",
    "evaluate_run": "hqnn_core.training.run",
    "train": "hqnn_core.training.run",
    "evaluate": "hqnn_core.training.trainer",
}


class _Package(_types.ModuleType):
    """This package's module type: importing the submodule ``prepare`` binds the package's ``prepare`` to its function."""

    def __setattr__(self, name: str, value: object) -> None:
        if name == "prepare" and isinstance(value, _types.ModuleType):
            value = value.prepare  # the import system binds a submodule to its package; this name is the function
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, globals())


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
