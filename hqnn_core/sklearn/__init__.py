"""scikit-learn estimators over hqnn: quantum kernels for ``SVC`` and a quantum-kernel SVC."""

from hqnn_core.sklearn.qsvc import QSVC, QuantumKernel

__all__ = ["QSVC", "QuantumKernel"]
