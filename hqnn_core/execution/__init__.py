"""Running circuits: the executor that composes mitigation, gradients and the backend call."""

from hqnn_core.execution.executor import Executor

__all__ = ["Executor"]
