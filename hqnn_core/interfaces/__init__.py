"""The abstract interfaces every component implements.

The names below are imported on first use (module ``__getattr__``, PEP 562), so that importing a
torch-free part of this package (:mod:`~hqnn_core.interfaces.layout`, :mod:`~hqnn_core.interfaces.component`,
:mod:`~hqnn_core.interfaces.capabilities`) does not import torch through the others.
"""

from __future__ import annotations

import typing as _typing

from hqnn_core._lazy import lazy_names as _lazy_names

if _typing.TYPE_CHECKING:  # what static checkers see; at run time __getattr__ imports these on first use
    from hqnn_core.interfaces.ansatz import Ansatz
    from hqnn_core.interfaces.backend import Accounting, Backend, Task
    from hqnn_core.interfaces.capabilities import BackendCapabilities
    from hqnn_core.interfaces.component import Component, NoOptions
    from hqnn_core.interfaces.encoder import Encoder
    from hqnn_core.interfaces.gradient import GradientBatch, GradientEstimator
    from hqnn_core.interfaces.mitigator import MitigationBatch, Mitigator
    from hqnn_core.interfaces.optimizer import Optimizer

#: public name -> the submodule that defines it
_LAZY: dict[str, str] = {
    "Accounting": "hqnn_core.interfaces.backend",
    "Ansatz": "hqnn_core.interfaces.ansatz",
    "Backend": "hqnn_core.interfaces.backend",
    "BackendCapabilities": "hqnn_core.interfaces.capabilities",
    "Component": "hqnn_core.interfaces.component",
    "Encoder": "hqnn_core.interfaces.encoder",
    "GradientBatch": "hqnn_core.interfaces.gradient",
    "GradientEstimator": "hqnn_core.interfaces.gradient",
    "MitigationBatch": "hqnn_core.interfaces.mitigator",
    "Mitigator": "hqnn_core.interfaces.mitigator",
    "NoOptions": "hqnn_core.interfaces.component",
    "Optimizer": "hqnn_core.interfaces.optimizer",
    "Task": "hqnn_core.interfaces.backend",
}


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, globals())


__all__ = [
    "Accounting",
    "Ansatz",
    "Backend",
    "BackendCapabilities",
    "Component",
    "Encoder",
    "GradientBatch",
    "GradientEstimator",
    "MitigationBatch",
    "Mitigator",
    "NoOptions",
    "Optimizer",
    "Task",
]
