"""hqnn: hybrid quantum-classical neural networks, written once and run on any vendor's backend."""

__version__ = "0.1.0"

from hqnn_core.circuit import Circuit, CircuitBuilder, Factor, Observable, Op, PauliTerm, Slot  # noqa: E402
from hqnn_core.components import get_ansatz, get_backend, get_encoder, get_gradient, get_mitigator  # noqa: E402
from hqnn_core.errors import (  # noqa: E402
    BackendError,
    BudgetExceededError,
    CapabilityError,
    CheckpointError,
    ConfigError,
    DuplicateComponentError,
    FallbackWarning,
    HQNNError,
    HQNNWarning,
    IncompatiblePluginError,
    InputError,
    MissingExtraError,
    PermanentBackendError,
    PluginError,
    PluginLoadError,
    PluginLoadWarning,
    TransientBackendError,
    UnavailableBackendError,
    UnknownComponentError,
    UnsupportedError,
)
from hqnn_core.hookspecs import hookimpl  # noqa: E402
from hqnn_core.interfaces import (  # noqa: E402
    Accounting,
    Ansatz,
    Backend,
    BackendCapabilities,
    Encoder,
    GradientBatch,
    GradientEstimator,
    MitigationBatch,
    Mitigator,
)
from hqnn_core.layer import QuantumLayer, build_circuit  # noqa: E402
from hqnn_core.plugin_manager import get_plugins, reset_plugins, temporary_plugin  # noqa: E402


def list_plugins() -> list[dict[str, object]]:
    """Every plugin hqnn knows, with distribution, version, hooks and status (ok, broken, blocked)."""
    return [p.as_dict() for p in get_plugins().plugins()]


__all__ = [
    "Accounting",
    "Ansatz",
    "Backend",
    "BackendCapabilities",
    "BackendError",
    "BudgetExceededError",
    "CapabilityError",
    "CheckpointError",
    "Circuit",
    "CircuitBuilder",
    "ConfigError",
    "DuplicateComponentError",
    "Encoder",
    "Factor",
    "FallbackWarning",
    "GradientBatch",
    "GradientEstimator",
    "HQNNError",
    "HQNNWarning",
    "IncompatiblePluginError",
    "InputError",
    "MissingExtraError",
    "MitigationBatch",
    "Mitigator",
    "Observable",
    "Op",
    "PauliTerm",
    "PermanentBackendError",
    "PluginError",
    "PluginLoadError",
    "PluginLoadWarning",
    "QuantumLayer",
    "Slot",
    "TransientBackendError",
    "UnavailableBackendError",
    "UnknownComponentError",
    "UnsupportedError",
    "__version__",
    "build_circuit",
    "get_ansatz",
    "get_backend",
    "get_encoder",
    "get_gradient",
    "get_mitigator",
    "get_plugins",
    "hookimpl",
    "list_plugins",
    "reset_plugins",
    "temporary_plugin",
]
