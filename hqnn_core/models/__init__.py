"""The published quantum models of qml-benchmarks (Bowles, Ahmed, Schuld 2024) under their paper names.

Kernel models: :class:`IQPKernelClassifier`, :class:`ProjectedQuantumKernel`, :class:`SeparableKernelClassifier`
(scikit-learn estimators on :mod:`hqnn_core.kernels`).
"""

from hqnn_core.models.kernel_classifiers import IQPKernelClassifier, ProjectedQuantumKernel, SeparableKernelClassifier

__all__ = ["IQPKernelClassifier", "ProjectedQuantumKernel", "SeparableKernelClassifier"]
