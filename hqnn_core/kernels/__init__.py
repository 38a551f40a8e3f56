"""Quantum kernels over any feature map and backend: fidelity and projected kernels, kernel-target alignment.

A kernel is callable as ``kernel(X, Y=None) -> ndarray``, so ``sklearn.svm.SVC(kernel=kernel)``
works; ``kernel.gram(X, Y)`` returns the same matrix as a differentiable torch tensor, which
:func:`kernel_target_alignment` and :func:`fit_alignment` use to train a feature map's weights.
"""

from hqnn_core.kernels.alignment import fit_alignment, kernel_target_alignment
from hqnn_core.kernels.base import QuantumKernelBase, nearest_psd
from hqnn_core.kernels.circuits import compute_uncompute_circuit
from hqnn_core.kernels.fidelity import FidelityKernel
from hqnn_core.kernels.projected import ProjectedKernel

__all__ = [
    "FidelityKernel",
    "ProjectedKernel",
    "QuantumKernelBase",
    "compute_uncompute_circuit",
    "fit_alignment",
    "kernel_target_alignment",
    "nearest_psd",
]
