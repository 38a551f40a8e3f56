"""The suite is itself tested: each deliberately broken component fails exactly the checks meant to catch it.

A check that could never fail would pass silently; these broken components (scikit-learn's
``_NotAnArray``-style estimators) prove that each check bites, with a message that says the fix.
A correct vendor-like backend next to them passes every check.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from hqnn_core import Ansatz, BackendCapabilities, MitigationBatch, Mitigator
from hqnn_core.circuit import GATES
from hqnn_core.errors import CapabilityError
from hqnn_core.testing import ConformanceSettings, check_component
from hqnn_core.testing.checks.common import Violation
from hqnn_core.testing.checks.optimizer import check_optimizer_resumes_exactly, check_optimizer_seed_reproducible
from hqnn_plugins.encoders import AngleEncoder
from hqnn_plugins.gradients import ParameterShift
from hqnn_plugins.optimizers import AdamOptimizer, SPSAOptimizer
from hqnn_plugins.torch_backend import TorchBackend

SETTINGS = ConformanceSettings(shots=4000)


class VendorLike(TorchBackend):
    """The torch simulator behind a vendor-like contract: float64 results without autograd."""

    name = "broken.vendor_like"
    capabilities = BackendCapabilities(max_qubits=8, backprop=False)

    def _run(self, tasks, shots, seed):
        return [r.detach().to(torch.float64) for r in super()._run(tasks, shots, seed)]


class Squeezes(VendorLike):
    """Squeezes a batch of one to a vector."""

    name = "broken.squeezes"

    def _run(self, tasks, shots, seed):
        return [r.squeeze(0) for r in super()._run(tasks, shots, seed)]


class Float32(VendorLike):
    """Returns float32 results although it does not declare backprop."""

    name = "broken.float32"

    def _run(self, tasks, shots, seed):
        return [r.float() for r in super()._run(tasks, shots, seed)]


class IgnoresSeed(VendorLike):
    """Samples from fresh entropy on every call, whatever seed it is given."""

    name = "broken.ignores_seed"

    def _run(self, tasks, shots, seed):
        return super()._run(tasks, shots, int(torch.randint(0, 2**31 - 1, (1,))))


class FalseBackprop(VendorLike):
    """Declares backprop but returns detached results."""

    name = "broken.false_backprop"
    capabilities = BackendCapabilities(max_qubits=8, backprop=True)


class JobPerRow(VendorLike):
    """Submits one vendor job per binding instead of one per call."""

    name = "broken.job_per_row"

    def _run(self, tasks, shots, seed):
        self._count_job(sum(int(v.shape[0]) for _, v in tasks) - 1)  # the torch backend counts the last one
        return super()._run(tasks, shots, seed)


class WrongRYSign(VendorLike):
    """Applies RY(-t) for RY(t)."""

    name = "broken.wrong_ry_sign"

    def _run(self, tasks, shots, seed):
        flipped = []
        for circuit, values in tasks:
            ry = [s for op in circuit.ops if op.name == "RY" for s in op.slots]
            values = values.clone()
            values[:, ry] = -values[:, ry]
            flipped.append((circuit, values))
        return super()._run(flipped, shots, seed)


class AcceptsTooManyQubits(VendorLike):
    """Declares two qubits but never checks the width."""

    name = "broken.too_many_qubits"
    capabilities = BackendCapabilities(max_qubits=2, backprop=False)

    def validate(self, circuit, shots):
        original = self.capabilities
        try:
            type(self).capabilities = BackendCapabilities(max_qubits=64, backprop=False)
            super().validate(circuit, shots)
        finally:
            type(self).capabilities = original


class LiesAtConfigTime(VendorLike):
    """Samples only once built, while capabilities_for (what ``hqnn validate`` reads) still says exact."""

    name = "broken.config_time"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.capabilities = replace(self.capabilities, analytic=False)


class AcceptsForeignGates(VendorLike):
    """Declares no CRX but runs it anyway (no gate check)."""

    name = "broken.foreign_gates"
    capabilities = BackendCapabilities(max_qubits=8, backprop=False, native_gates=frozenset(GATES) - {"CRX"})

    def validate(self, circuit, shots):
        if circuit.n_qubits > self.capabilities.max_qubits:
            raise CapabilityError("too many qubits")


class LeaksToken(VendorLike):
    """Keeps an API token in its options, which describe() then records."""

    name = "broken.leaks_token"

    class Options(TorchBackend.Options):
        token: str | None = None


class SkipsWeight(Ansatz):
    """Declares two angles per qubit but never reads the last one."""

    name = "broken.skips_weight"

    def weights_per_layer(self, n_qubits):
        return 2 * n_qubits

    def add_layer(self, builder, wires, layer):
        for j, w in enumerate(wires):
            builder.add("RY", [w], builder.weight(2 * j))
            if j < len(wires) - 1:
                builder.add("RZ", [w], builder.weight(2 * j + 1))
        for a, b in zip(wires, wires[1:]):
            builder.add("CNOT", [a, b])


class HiddenState(Ansatz):
    """Picks its rotation from a counter that changes on every call, so two builds differ."""

    name = "broken.hidden_state"
    calls = 0

    def weights_per_layer(self, n_qubits):
        return 2 * n_qubits

    def add_layer(self, builder, wires, layer):
        gate = ("RY", "RX", "RZ")[HiddenState.calls % 3]
        HiddenState.calls += 1
        for j, w in enumerate(wires):
            builder.add(gate, [w], builder.weight(2 * j))
            builder.add("RZ", [w], builder.weight(2 * j + 1))


class WrongShift(ParameterShift):
    """Two-term rule with shifts of pi/4 instead of pi/2 (coefficients left at 1/2)."""

    name = "broken.wrong_shift"

    def _plan(self, circuit, slot_values, trainable):
        shifts, coeffs = super()._plan(circuit, slot_values, trainable)
        return shifts.clamp(-math.pi / 4, math.pi / 4), coeffs


class TruncatesFeatures(AngleEncoder):
    """Silently drops features beyond n_qubits instead of refusing the wrong width."""

    name = "broken.truncates"

    def transform(self, x, n_qubits):
        return x[:, :n_qubits]


class DeclaresUnreadScales(AngleEncoder):
    """Declares a trainable scale per feature but never reads them, so they never train."""

    name = "broken.unread_scales"

    def weights_per_upload(self, n_qubits):
        return self.n_features(n_qubits)


class Rescales(Mitigator):
    """Multiplies every expectation by 1.1, noise or not."""

    name = "broken.rescales"

    def expand(self, circuit):
        return MitigationBatch([circuit])

    def combine(self, batch, results):
        return results[0] * 1.1


class UndercountsEvaluations(SPSAOptimizer):
    """SPSA that reports one loss evaluation per step although it makes two."""

    name = "broken.undercounts"

    def evaluations_per_step(self, n_params):
        return 1


class UnseededSPSA(SPSAOptimizer):
    """SPSA whose perturbations come from fresh entropy instead of build()'s seed."""

    name = "broken.unseeded"

    def build(self, params, lr, seed):
        return super().build(params, lr, int(np.random.default_rng().integers(2**31)))


class ForgetsStepCount(SPSAOptimizer):
    """SPSA whose checkpoint keeps the generator but not the step counter of its schedules."""

    name = "broken.forgets_step_count"

    def build(self, params, lr, seed):
        steps = super().build(params, lr, seed)
        steps.state_dict = lambda: {"k": 0, "rng": steps.rng.bit_generator.state}
        return steps


class ClimbsUphill(AdamOptimizer):
    """Adam that maximises the loss."""

    name = "broken.climbs"

    def build(self, params, lr, seed):
        return torch.optim.Adam(params, lr=lr, maximize=True)


def _failures(component) -> dict[str, str]:
    results = check_component(component, on_fail=None, settings=SETTINGS)
    assert results, "no checks ran"
    return {r.check: r.message for r in results if r.status == "failed"}


BROKEN = [
    (Squeezes(), {"check_backend_expectations_shape": "batch of 1 was squeezed"}),
    (Float32(), {"check_backend_expectations_shape": "dtype torch.float32, expected torch.float64",
                 # float32 rounding (~6e-8) over a 1e-4 finite-difference step: gradients no longer agree to 1e-5
                 "check_backend_in_quantum_layer": "differ from finite differences"}),
    (IgnoresSeed(), {"check_backend_seed_reproducible": "gave different samples"}),
    (FalseBackprop(), {"check_backend_backprop_claim_truthful": "declares backprop, but outputs of golden case"}),
    (JobPerRow(), {"check_backend_one_job_per_call": "8 jobs submitted, but jobs_for(8) = 1"}),
    (WrongRYSign(), {"check_backend_golden_analytic": "golden case 'ry_zx'",
                     "check_backend_golden_shots": "outside the bound",
                     "check_backend_matches_reference": "random layer",
                     "check_backend_in_quantum_layer": "QuantumLayer forward",
                     "check_backend_state_dict_portability": "a torch-trained layer loaded here",
                     "check_backend_probabilities_consistent": "the reference says",
                     "check_backend_samples_are_bits_of_the_measured_wires": "wire 0 reads 1 with frequency"}),
    (AcceptsTooManyQubits(), {"check_backend_rejects_unsupported_before_submit": "a circuit of 3 qubits (max_qubits = 2) reached submission"}),
    (LiesAtConfigTime(), {"check_backend_config_time_capabilities": "capabilities_for() declares analytic=True but the instance analytic=False"}),
    (AcceptsForeignGates(), {"check_backend_rejects_unsupported_before_submit": "gate 'CRX' (not in native_gates) reached submission"}),
    (LeaksToken(token="s3cr3t-t0ken-value"), {"check_backend_describe_provenance": "credential-like entry 'options.token'"}),
    (SkipsWeight(), {"check_ansatz_weight_count_matches_slots": "are declared but never read"}),
    (HiddenState(), {"check_ansatz_deterministic_build": "building 1 qubits x 2 layers twice gives different circuits"}),
    (WrongShift(), {"check_gradient_matches_golden": "the Jacobian differs from the closed form",
                    "check_gradient_matches_finite_difference": "differs from finite differences",
                    "check_gradient_shot_noise_within_bound": "k=5 standard errors"}),
    (TruncatesFeatures(), {"check_encoder_feature_count_error": "transform silently accepts 5 features"}),
    (DeclaresUnreadScales(), {"check_encoder_ops_in_neutral_gate_set": "are declared but never read"}),
    (Rescales(), {"check_mitigator_identity_when_noiseless": "mitigated values differ from the exact ones",
                  "check_mitigator_composes_with_gradient": "mitigated outputs differ from the unmitigated ones"}),
    (UndercountsEvaluations(), {"check_optimizer_counts_its_evaluations": "one step made 2 loss evaluation(s) but evaluations_per_step(3) says 1"}),
    (UnseededSPSA(), {"check_optimizer_seed_reproducible": "two runs with seed 1234 reached",
                      "check_optimizer_resumes_exactly": "but 3 steps, a checkpoint and 3 more reached"}),
    (ForgetsStepCount(), {"check_optimizer_resumes_exactly": "but 3 steps, a checkpoint and 3 more reached"}),
    (ClimbsUphill(), {"check_optimizer_step_decreases_small_loss": "one step took the loss from 1.06335 to 1.1"}),
]


@pytest.mark.parametrize("component, expected", BROKEN, ids=[type(c).__name__ for c, _ in BROKEN])
def test_exactly_the_intended_checks_fail_with_the_intended_message(component, expected):
    failures = _failures(component)
    assert set(failures) == set(expected), failures
    for name, fragment in expected.items():
        message = failures[name]
        assert fragment in message, message
        assert message.startswith(f"{type(component).__name__}(") and f"fails {name}:" in message and " Fix: " in message


def test_a_correct_vendor_like_backend_passes_every_check():
    results = check_component(VendorLike(), on_fail=None, settings=SETTINGS)
    statuses = {r.check: r.status for r in results}
    assert statuses.pop("check_registered_name_matches") == "skipped"  # not registered in this session
    assert set(statuses.values()) == {"passed"}, statuses
    assert {"check_backend_golden_analytic", "check_backend_golden_shots", "check_backend_seed_reproducible",
            "check_backend_matches_reference", "check_backend_in_quantum_layer", "check_backend_one_job_per_call"} <= set(statuses)


def test_the_rejection_check_never_lets_a_job_through():
    from hqnn_core.testing.checks.backend import check_backend_rejects_unsupported_before_submit
    from hqnn_core.testing.checks.common import Violation

    backend = AcceptsTooManyQubits()
    with pytest.raises(Violation, match="reached submission"):
        check_backend_rejects_unsupported_before_submit(backend, SETTINGS)
    assert backend.accounting.jobs == 0 and backend.accounting.calls == 0  # the spy stood in for the real _run


def test_the_encoder_weight_check_catches_product_slots_left_out_of_the_shifted_slots(monkeypatch):
    """A layer that marked slots trainable by their own source only (ignoring factors) never shifts Rot(w * x) for w."""
    from hqnn_core.layer import QuantumLayer
    from hqnn_core.testing.checks.common import Violation
    from hqnn_core.testing.checks.encoder import check_encoder_weight_gradients

    def own_source_only(self, inputs, weights):
        return ((self._slot_source == 0) & inputs) | ((self._slot_source == 1) & weights)

    encoder = AngleEncoder(trainable_scaling=True)
    check_encoder_weight_gradients(encoder, SETTINGS)  # passes as built
    monkeypatch.setattr(QuantumLayer, "trainable_slots", own_source_only)
    with pytest.raises(Violation, match="gradient='parameter_shift'.*differs from finite differences"):
        check_encoder_weight_gradients(encoder, SETTINGS)


def test_the_seed_checks_catch_fresh_entropy_every_time():
    """Two unseeded runs must not agree by chance: over 3 parameters x 2 steps SPSA's signs coincided 1 time in 64."""
    for check_fn in (check_optimizer_seed_reproducible, check_optimizer_resumes_exactly):
        caught = 0
        for _ in range(200):
            try:
                check_fn(UnseededSPSA(), SETTINGS)
            except Violation:
                caught += 1
        assert caught == 200, f"{check_fn.__name__} missed {200 - caught} of 200 unseeded runs"
