"""The plugin's components pass hqnn's conformance suite (the contracts every encoder and ansatz keep)."""

from hqnn_example_ansatz.components import DenseAngleEncoder, LadderAnsatz

from hqnn_core.testing import parametrize_with_checks


@parametrize_with_checks([DenseAngleEncoder(), LadderAnsatz(), LadderAnsatz(rotation="RX")])
def test_conformance(component, check):
    check(component)
