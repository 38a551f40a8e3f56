"""Registration of the embedded backends by import string, with the torch backends' torch-free layouts.

None of them (nor torch) is imported until one is selected; :class:`TorchLayout` and
:class:`NoisyTorchLayout` give checking and describing a profile their options and capabilities
(the backends take both from here).
"""

from __future__ import annotations

from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.layout import BackendLayout
from hqnn_core.registry import BackendRegistry
from hqnn_plugins.torch_backend_memory import MAX_QUBITS
from hqnn_plugins.torch_backend_options import DensityMatrixOptions, StatevectorOptions

NOISY_MAX_QUBITS = 10  # a density matrix of 10 qubits is 16 MiB per binding in complex128


class TorchLayout(BackendLayout):
    """Options and capabilities of the embedded statevector simulator (:class:`hqnn_plugins.torch_backend.TorchBackend`)."""

    name = "torch"
    capabilities = BackendCapabilities(max_qubits=MAX_QUBITS, analytic=True, shots=True, backprop=True, adjoint=True,
                                       higher_order=True, state=True)
    Options = StatevectorOptions


class NoisyTorchLayout(BackendLayout):
    """Options and capabilities of the embedded density-matrix simulator (:class:`hqnn_plugins.noisy_torch_backend.NoisyTorchBackend`)."""

    name = "torch.noisy"
    capabilities = BackendCapabilities(max_qubits=NOISY_MAX_QUBITS, analytic=True, shots=True, backprop=True, noise=True,
                                       higher_order=True)
    Options = DensityMatrixOptions


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    registry.add("torch", "hqnn_plugins.torch_backend:TorchBackend", layout=TorchLayout)
    registry.add("torch.noisy", "hqnn_plugins.noisy_torch_backend:NoisyTorchBackend", layout=NoisyTorchLayout)
    registry.add_family("faulty", "hqnn_plugins.faulty_backend:FaultyBackend")
