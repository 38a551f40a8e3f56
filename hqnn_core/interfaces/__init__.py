"""The abstract interfaces every component implements."""

from hqnn_core.interfaces.ansatz import Ansatz
from hqnn_core.interfaces.backend import Accounting, Backend, Task
from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.component import Component, NoOptions
from hqnn_core.interfaces.encoder import Encoder
from hqnn_core.interfaces.gradient import GradientBatch, GradientEstimator
from hqnn_core.interfaces.mitigator import MitigationBatch, Mitigator
from hqnn_core.interfaces.optimizer import Optimizer

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
