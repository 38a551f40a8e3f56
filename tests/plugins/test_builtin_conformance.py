"""Every built-in component passes the conformance suite (scikit-learn's ``test_common.py``).

Expected failures are listed with the reason; they are strict, so a fix makes the test fail
until the entry is removed.
"""

from __future__ import annotations

from hqnn_core.testing import ConformanceSettings, checks_for, parametrize_with_checks
from hqnn_plugins.ansatze import BasicEntanglerAnsatz, HardwareEfficientAnsatz, SeparableAnsatz, StronglyEntanglingAnsatz
from hqnn_plugins.encoders import AmplitudeEncoder, AngleEncoder, BasisEncoder, IQPEncoder, ReuploadingEncoder
from hqnn_plugins.gradients import SPSA, Adjoint, Backprop, FiniteDifference, ParameterShift
from hqnn_plugins.optimizers import AdamOptimizer, COBYLAOptimizer, SGDOptimizer, SPSAOptimizer
from hqnn_plugins.torch_backend import TorchBackend

ENCODERS = [AngleEncoder(), AngleEncoder(rotation="X", scale=0.5), AmplitudeEncoder(), AmplitudeEncoder(n_features=3, pad_with=0.5),
            BasisEncoder(), IQPEncoder(repeats=2), ReuploadingEncoder(), AngleEncoder(hadamard=True),
            AngleEncoder(features_per_qubit=3, n_features=5), ReuploadingEncoder(features_per_qubit=3, trainable_scaling=True),
            ReuploadingEncoder(rotation="X", trainable_scaling=True), AmplitudeEncoder(copies=2, pad_with=0.25)]
ANSATZE = [HardwareEfficientAnsatz(), HardwareEfficientAnsatz(rotations=("RX",), entangler="CZ"), StronglyEntanglingAnsatz(),
           BasicEntanglerAnsatz(rotation="RY"), SeparableAnsatz(),
           HardwareEfficientAnsatz(rotations=("Rot",), entangler="CZ", pattern="brick", final_entangler=False),
           HardwareEfficientAnsatz(pattern="double_odd"), HardwareEfficientAnsatz(pattern="none")]
GRADIENTS = [ParameterShift(), FiniteDifference(), SPSA(seed=0), Backprop(), Adjoint()]
BACKENDS = [TorchBackend(), TorchBackend(seed=7), TorchBackend(precision="complex128")]
OPTIMIZERS = [AdamOptimizer(), SGDOptimizer(momentum=0.9, nesterov=True), SPSAOptimizer(), COBYLAOptimizer(maxiter=20)]

#: SPSA perturbs every slot at once along a random ±1 direction: one estimate of slot i carries the
#: other slots' derivatives (sum_j d_i d_j g_j), unbiased only on average over directions, and its
#: finite step c = 0.1 adds O(c^2) error. It cannot meet the exact 1e-6 or the shot-noise bound by design.
SPSA_IS_BIASED = (
    "SPSA's single-direction estimate is biased by the other slots' derivatives (unbiased only on average over "
    "directions) and by its finite step; it is a descent direction, not a Jacobian"
)

def expected_failures(component):
    if isinstance(component, SPSA):
        return {"check_gradient_matches_golden": SPSA_IS_BIASED, "check_gradient_matches_finite_difference": SPSA_IS_BIASED,
                "check_gradient_shot_noise_within_bound": SPSA_IS_BIASED}
    return {}


@parametrize_with_checks(ENCODERS + ANSATZE + GRADIENTS + BACKENDS + OPTIMIZERS, expected_failed_checks=expected_failures,
                         settings=ConformanceSettings(shots=4000))
def test_builtin_conformance(component, check):
    check(component)


def test_every_builtin_class_is_covered():
    from hqnn_core.testing.checks.reference import builtin_classes

    covered = {type(c) for c in ENCODERS + ANSATZE + GRADIENTS + BACKENDS + OPTIMIZERS}
    for kind in ("encoder", "ansatz", "gradient", "optimizer"):
        missing = {cls.__name__ for _, cls in builtin_classes(kind)} - {cls.__name__ for cls in covered}
        assert not missing, f"built-in {kind}s without conformance coverage: {missing}"
    assert TorchBackend in covered


def test_torch_backend_gets_every_value_check():
    names = {check.name for _, check in checks_for(TorchBackend())}
    assert {"check_backend_golden_analytic", "check_backend_golden_shots", "check_backend_seed_reproducible",
            "check_backend_backprop_claim_truthful", "check_backend_matches_reference"} <= names
