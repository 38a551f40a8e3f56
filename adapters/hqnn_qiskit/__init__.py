"""hqnn adapter for Qiskit and Qiskit Aer (registered through the ``hqnn`` entry point).

This module is the plugin: it imports only ``hqnn_core``, so listing backends never imports a
vendor SDK. The backends themselves live in :mod:`hqnn_qiskit.backend`, loaded when selected:

* ``qiskit.aer``: Qiskit Aer, exact (EstimatorV2) or sampled (SamplerV2), optional Aer noise;
* ``qiskit.fake:<device>``: a noisy emulation of an IBM device snapshot from
  ``qiskit_ibm_runtime.fake_provider`` (e.g. ``qiskit.fake:manila``);
* ``qiskit.ibm:<backend>``: a real IBM Quantum QPU through qiskit-ibm-runtime's V2 primitives.
"""

from __future__ import annotations

from hqnn_core.hookspecs import hookimpl
from hqnn_core.registry import BackendRegistry, ConverterRegistry
from hqnn_core.versions import installed_versions

EXTRA = "qiskit"
AER_REQUIRES = ("qiskit", "qiskit_aer")
DEVICE_REQUIRES = ("qiskit", "qiskit_aer", "qiskit_ibm_runtime")
DISTRIBUTIONS = ("qiskit", "qiskit-aer", "qiskit-ibm-runtime")


@hookimpl
def hqnn_register_backends(registry: BackendRegistry) -> None:
    registry.add("qiskit.aer", "hqnn_qiskit.backend:AerBackend", extra=EXTRA, requires=AER_REQUIRES)
    registry.add_family("qiskit.fake", "hqnn_qiskit.backend:FakeDeviceBackend", extra=EXTRA, requires=DEVICE_REQUIRES)
    registry.add_family("qiskit.ibm", "hqnn_qiskit.backend:IBMBackend", extra=EXTRA, requires=DEVICE_REQUIRES)


@hookimpl
def hqnn_register_converters(registry: ConverterRegistry) -> None:
    registry.add("qiskit", "hqnn_qiskit.convert:QiskitConverter", extra=EXTRA, requires=("qiskit",))
    registry.add("qasm3", "hqnn_qiskit.convert:Qasm3Converter", extra=EXTRA, requires=("qiskit", "qiskit_qasm3_import"))


@hookimpl
def hqnn_environment_info() -> dict[str, str]:
    """Installed Qiskit SDK versions, read from package metadata (nothing is imported)."""
    return installed_versions(DISTRIBUTIONS)
