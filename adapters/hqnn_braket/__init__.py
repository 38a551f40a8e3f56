"""hqnn adapter for Amazon Braket (registered through the ``hqnn`` entry point).

This module is the plugin: it imports only ``hqnn_core``. Backends are registered by import
string, so the Braket SDK is imported only when ``braket.local:<sv|dm>`` or
``braket.aws:<device arn>`` is selected. ``braket`` is a namespace package shared by the SDK, the
default simulator and the schemas; availability is checked on that top-level name (``find_spec`` of
a dotted name would import the parent), and a partial install still fails at selection with the
``pip install "hqnn[braket]"`` hint because the registry maps the import error to the extra.
"""

from __future__ import annotations

from importlib import metadata

from hqnn_core.hookspecs import hookimpl
from hqnn_core.registry import BackendRegistry

_REQUIRES = ("braket",)
_DISTRIBUTIONS = ("amazon-braket-sdk", "amazon-braket-default-simulator", "amazon-braket-schemas")


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    registry.add_family("braket.local", "hqnn_braket.backend:BraketLocalBackend", extra="braket", requires=_REQUIRES)
    registry.add_family("braket.aws", "hqnn_braket.backend:BraketAwsBackend", extra="braket", requires=_REQUIRES)


@hookimpl
def hqnn_environment_info() -> dict[str, str]:
    out = {}
    for dist in _DISTRIBUTIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
