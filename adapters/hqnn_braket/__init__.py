"""hqnn adapter for Amazon Braket (registered through the ``hqnn`` entry point).

This module is the plugin: it imports only ``hqnn_core``. Backends are registered by import
string, so the Braket SDK is imported only when ``braket.local:<sv|dm>`` or
``braket.aws:<device arn>`` is selected. ``braket`` is a namespace package shared by the SDK, the
default simulator and the schemas; availability is checked on that top-level name (``find_spec`` of
a dotted name would import the parent), and a partial install still fails at selection with the
``pip install "hqnn[braket]"`` hint because the registry maps the import error to the extra.
"""

from __future__ import annotations

from hqnn_core.hookspecs import hookimpl
from hqnn_core.registry import BackendRegistry
from hqnn_core.versions import installed_versions

_REQUIRES = ("braket",)
_DISTRIBUTIONS = ("amazon-braket-sdk", "amazon-braket-default-simulator", "amazon-braket-schemas")


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    registry.add_family("braket.local", "hqnn_braket.backend:BraketLocalBackend", extra="braket", requires=_REQUIRES)
    registry.add_family("braket.aws", "hqnn_braket.backend:BraketAwsBackend", extra="braket", requires=_REQUIRES)


@hookimpl
def hqnn_environment_info() -> dict[str, str]:
    """Installed Braket SDK versions, read from package metadata (nothing is imported)."""
    return installed_versions(_DISTRIBUTIONS)
