"""The plugin module named by the ``hqnn`` entry point: it only registers components."""

from hqnn_core import hookimpl
from hqnn_example_ansatz.components import DenseAngleEncoder, LadderAnsatz
from hqnn_example_ansatz.optimizers import Rotosolve


@hookimpl
def hqnn_register_encoders(registry):
    registry.add(DenseAngleEncoder)


@hookimpl
def hqnn_register_ansatze(registry):
    registry.add(LadderAnsatz)


@hookimpl
def hqnn_register_optimizers(registry):
    registry.add(Rotosolve)
