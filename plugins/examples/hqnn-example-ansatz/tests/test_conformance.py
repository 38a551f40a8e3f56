"""The plugin's components pass hqnn's conformance suite (the contracts every encoder, ansatz and optimiser keep)."""

from hqnn_example_ansatz.components import DenseAngleEncoder, LadderAnsatz
from hqnn_example_ansatz.optimizers import Rotosolve

from hqnn_core.testing import parametrize_with_checks


@parametrize_with_checks([DenseAngleEncoder(), LadderAnsatz(), LadderAnsatz(rotation="RX"), Rotosolve(), Rotosolve(sweeps=2, keep_if_lower=False)])
def test_conformance(component, check):
    check(component)
