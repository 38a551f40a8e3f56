"""scikit-learn estimators over hqnn: quantum neural networks, quantum kernels for ``SVC`` and a quantum-kernel SVC."""

from hqnn_core.sklearn.qnn import QNNClassifier, QNNRegressor
from hqnn_core.sklearn.qsvc import QSVC, QuantumKernel

__all__ = ["QNNClassifier", "QNNRegressor", "QSVC", "QuantumKernel"]
