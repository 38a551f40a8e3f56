"""The quantum models of Bowles, Ahmed & Schuld 2024 (arXiv:2403.07059) by their names, as scikit-learn classifiers.

Each takes the hyperparameters of XanaduAI/qml-benchmarks under the same names and defaults, does
the same preprocessing, initialisation, loss and training loop, and runs its circuit on any hqnn
backend (``backend=``, the embedded ``torch`` simulator by default). Labels are -1 and +1.
"""

from hqnn_core.models.circuit_centric import CircuitCentricClassifier
from hqnn_core.models.data_reuploading import DataReuploadingClassifier
from hqnn_core.models.dressed_quantum_circuit import DressedQuantumCircuitClassifier
from hqnn_core.models.iqp_variational import IQPVariationalClassifier

__all__ = [
    "CircuitCentricClassifier",
    "DataReuploadingClassifier",
    "DressedQuantumCircuitClassifier",
    "IQPVariationalClassifier",
]
