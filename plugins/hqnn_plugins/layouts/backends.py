"""Registration of the embedded backends by import string: none is imported (nor torch) until one is selected."""

from __future__ import annotations

from hqnn_core.hookspecs import hookimpl
from hqnn_core.registry import BackendRegistry


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    registry.add("torch", "hqnn_plugins.torch_backend:TorchBackend")
    registry.add("torch.noisy", "hqnn_plugins.noisy_torch_backend:NoisyTorchBackend")
    registry.add_family("faulty", "hqnn_plugins.faulty_backend:FaultyBackend")
