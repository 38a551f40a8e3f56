"""hqnn: hybrid quantum-classical neural networks, written once and run on any vendor's backend.

The public names below are imported on first use (module ``__getattr__``, PEP 562): importing
``hqnn_core`` (and so starting ``hqnn --version`` or ``hqnn --help``) does not import torch.
"""

from __future__ import annotations

import typing as _typing

from hqnn_core._lazy import lazy_names as _lazy_names

__version__ = "0.1.0"

if _typing.TYPE_CHECKING:  # what static checkers and IDEs see; at run time __getattr__ imports these on first use
    from hqnn_core.circuit import Circuit, CircuitBuilder, Factor, Observable, Op, PauliTerm, Slot
    from hqnn_core.components import get_ansatz, get_backend, get_encoder, get_gradient, get_mitigator, get_optimizer
    from hqnn_core.errors import (
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
    from hqnn_core.hookspecs import hookimpl
    from hqnn_core.interfaces import (
        Accounting,
        Ansatz,
        Backend,
        BackendCapabilities,
        Encoder,
        GradientBatch,
        GradientEstimator,
        MitigationBatch,
        Mitigator,
        Optimizer,
    )
    from hqnn_core.layer import QuantumLayer, build_circuit
    from hqnn_core.plugin_manager import get_plugins, list_plugins, reset_plugins, temporary_plugin

_ERRORS = (
    "BackendError BudgetExceededError CapabilityError CheckpointError ConfigError DuplicateComponentError FallbackWarning HQNNError "
    "HQNNWarning IncompatiblePluginError InputError MissingExtraError PermanentBackendError PluginError PluginLoadError "
    "PluginLoadWarning TransientBackendError UnavailableBackendError UnknownComponentError UnsupportedError"
)
_INTERFACES = "Accounting Ansatz Backend BackendCapabilities Encoder GradientBatch GradientEstimator MitigationBatch Mitigator Optimizer"
#: public name -> the module that defines it
_LAZY: dict[str, str] = {
    **dict.fromkeys("Circuit CircuitBuilder Factor Observable Op PauliTerm Slot".split(), "hqnn_core.circuit"),
    **dict.fromkeys("get_ansatz get_backend get_encoder get_gradient get_mitigator get_optimizer".split(), "hqnn_core.components"),
    **dict.fromkeys(_ERRORS.split(), "hqnn_core.errors"),
    "hookimpl": "hqnn_core.hookspecs",
    **dict.fromkeys(_INTERFACES.split(), "hqnn_core.interfaces"),
    "QuantumLayer": "hqnn_core.layer",
    "build_circuit": "hqnn_core.layer",
    **dict.fromkeys("get_plugins list_plugins reset_plugins temporary_plugin".split(), "hqnn_core.plugin_manager"),
}


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, globals())


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
    "Optimizer",
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
    "get_optimizer",
    "get_plugins",
    "hookimpl",
    "list_plugins",
    "reset_plugins",
    "temporary_plugin",
]
