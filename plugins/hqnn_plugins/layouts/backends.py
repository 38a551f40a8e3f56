"""Registration of the embedded backends by import string, with the torch backend's torch-free layout.

None of them (nor torch) is imported until one is selected; :class:`TorchLayout` gives checking
and describing a profile the ``torch`` backend's options and capabilities without it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.layout import BackendLayout
from hqnn_core.registry import BackendRegistry

TORCH_MAX_QUBITS = 30  # int32 basis-state indices; the memory check sets the practical limit below this


class TorchLayout(BackendLayout):
    """Options and capabilities of the embedded statevector simulator (:class:`hqnn_plugins.torch_backend.TorchBackend`)."""

    name = "torch"
    capabilities = BackendCapabilities(max_qubits=TORCH_MAX_QUBITS, analytic=True, shots=True, backprop=True, adjoint=True,
                                       higher_order=True, state=True)

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid", strict=True)
        precision: Literal["auto", "complex64", "complex128"] = Field(
            "auto", description="auto: complex128 for float64 inputs, complex64 otherwise"
        )
        seed: int | None = Field(None, description="base seed for shot sampling")
        diff_method: Literal["auto", "backprop", "adjoint", "autograd"] = Field(
            "auto",
            description="how gradients flow when slot values require grad (every mode gives exact higher-order derivatives): "
            "a reverse sweep over stored step states "
            "(backprop), one that keeps only the final state and undoes steps (adjoint: least memory), torch autograd "
            "through every step (autograd: slower), or backprop while it fits "
            "in memory, else adjoint (auto)",
        )


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    registry.add("torch", "hqnn_plugins.torch_backend:TorchBackend", layout=TorchLayout)
    registry.add("torch.noisy", "hqnn_plugins.noisy_torch_backend:NoisyTorchBackend")
    registry.add_family("faulty", "hqnn_plugins.faulty_backend:FaultyBackend")
