"""The quantum models of Bowles, Ahmed & Schuld 2024 (arXiv:2403.07059) by their names, as scikit-learn classifiers.

Each takes the hyperparameters of XanaduAI/qml-benchmarks under the same names and defaults, does
the same preprocessing, initialisation, loss and training loop, and runs its circuit on any hqnn
backend (``backend=``, the embedded ``torch`` simulator by default). Labels are -1 and +1.
The kernel models (:class:`IQPKernelClassifier`, :class:`ProjectedQuantumKernel`,
:class:`SeparableKernelClassifier`) are SVCs on :mod:`hqnn_core.kernels`.
``ConvolutionalNeuralNetwork`` is the paper's classical baseline for images, trained the same way.
"""

from hqnn_core.models.circuit_centric import CircuitCentricClassifier
from hqnn_core.models.convolutional_neural_network import ConvolutionalNeuralNetwork
from hqnn_core.models.data_reuploading import DataReuploadingClassifier
from hqnn_core.models.dressed_quantum_circuit import DressedQuantumCircuitClassifier
from hqnn_core.models.iqp_variational import IQPVariationalClassifier
from hqnn_core.models.kernel_classifiers import IQPKernelClassifier, ProjectedQuantumKernel, SeparableKernelClassifier
from hqnn_core.models.quantum_boltzmann_machine import QuantumBoltzmannMachine, QuantumBoltzmannMachineSeparable
from hqnn_core.models.quantum_kitchen_sinks import QuantumKitchenSinks
from hqnn_core.models.quantum_metric_learning import QuantumMetricLearner
from hqnn_core.models.quanvolutional_neural_network import QuanvolutionalNeuralNetwork
from hqnn_core.models.separable import SeparableVariationalClassifier
from hqnn_core.models.tree_tensor import TreeTensorClassifier
from hqnn_core.models.weinet import WeiNet

__all__ = [
    "CircuitCentricClassifier",
    "ConvolutionalNeuralNetwork",
    "DataReuploadingClassifier",
    "DressedQuantumCircuitClassifier",
    "IQPKernelClassifier",
    "IQPVariationalClassifier",
    "ProjectedQuantumKernel",
    "QuantumBoltzmannMachine",
    "QuantumBoltzmannMachineSeparable",
    "QuantumKitchenSinks",
    "QuantumMetricLearner",
    "QuanvolutionalNeuralNetwork",
    "SeparableKernelClassifier",
    "SeparableVariationalClassifier",
    "TreeTensorClassifier",
    "WeiNet",
]
