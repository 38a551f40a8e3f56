"""hqnn adapter for PennyLane devices (registered through the ``hqnn`` entry point).

This plugin module imports only ``hqnn_core``: PennyLane itself is imported when a
``pennylane:<device>`` backend is first selected, so ``import hqnn_core`` and ``hqnn --help``
work without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hqnn_core.hookspecs import hookimpl
from hqnn_core.versions import installed_versions

if TYPE_CHECKING:
    from hqnn_core.circuit import Circuit
    from hqnn_core.interfaces import Backend
    from hqnn_core.registry import BackendRegistry, ConverterRegistry

#: Distributions whose versions go into run records when installed.
DISTRIBUTIONS = ("pennylane", "pennylane_lightning", "amazon-braket-pennylane-plugin")


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    """Register the ``pennylane:<device>`` family by import string (availability via find_spec)."""
    registry.add_family("pennylane", "hqnn_pennylane.backend:PennyLaneBackend", extra="pennylane", requires=("pennylane",))


@hookimpl
def hqnn_register_converters(registry: ConverterRegistry) -> None:
    """Register the QNode/tape converter (``hqnn_core.convert.from_pennylane``), imported only when used."""
    registry.add("pennylane", "hqnn_pennylane.convert:PennyLaneConverter", extra="pennylane", requires=("pennylane",))


@hookimpl
def hqnn_environment_info() -> dict[str, str]:
    """Versions of the installed PennyLane distributions, read without importing them."""
    return installed_versions(DISTRIBUTIONS)


@hookimpl
def hqnn_choose_gradient(backend: Backend, circuit: Circuit, shots: int | None) -> str | None:
    """Pick ``adjoint`` for PennyLane devices that differentiate by adjoint but not by backprop (lightning.qubit).

    Exact results only; everything else falls through to the built-in choice (backprop or parameter-shift).
    """
    caps = backend.capabilities
    if backend.name == "pennylane" and shots is None and caps.adjoint and not caps.backprop:
        return "adjoint"
    return None
