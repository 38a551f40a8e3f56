"""Mitigator checks: identity without noise, shapes, composition with gradients, and (if declared) less error.

A mitigator that wants ``check_mitigator_reduces_error_on_noisy_reference`` declares
``conformance_noisy_reference()`` returning a noisy :class:`~hqnn_core.interfaces.Backend` whose
errors it is designed to reduce (e.g. a backend with readout or depolarising noise).
"""

from __future__ import annotations

import torch

from hqnn_core.components import get_gradient
from hqnn_core.execution import Executor
from hqnn_core.interfaces import Mitigator
from hqnn_core.layer import QuantumLayer
from hqnn_core.testing.checks.common import ConformanceSettings, check, expect, max_error
from hqnn_core.testing.checks.reference import golden, random_layer_cases, reference_backend

ATOL = 1e-6


def _mitigated(mitigator: Mitigator, backend, circuit, rows, shots=None):
    return Executor(backend, get_gradient("parameter_shift"), [mitigator], shots).run_rows(circuit, rows)


@check("mitigator")
def check_mitigator_identity_when_noiseless(mitigator: Mitigator, settings: ConformanceSettings) -> None:
    """On a noiseless exact backend mitigation changes nothing (to 1e-6) on every golden circuit."""
    reference = reference_backend()
    for case in golden():
        out = _mitigated(mitigator, reference, case.circuit, case.slot_values)
        err, where = max_error(out, case.values)
        expect(err <= ATOL, f"on the noiseless golden case {case.name!r} mitigated values differ from the exact ones by "
               f"{err:.3g} at {where}.", "make the mitigation an identity when there is no noise (e.g. extrapolate, do not rescale).")


@check("mitigator")
def check_mitigator_preserves_shapes(mitigator: Mitigator, settings: ConformanceSettings) -> None:
    """``[N, K]`` in, ``[N, K]`` out, float64, batches of one not squeezed."""
    reference = reference_backend()
    case = golden()[-1]
    for n in (1, 3):
        out = _mitigated(mitigator, reference, case.circuit, case.slot_values[:n])
        expect(tuple(out.shape) == (n, case.values.shape[1]), f"{n} row(s) gave mitigated shape {tuple(out.shape)}, "
               f"expected ({n}, {case.values.shape[1]}).", "return one [N, K] tensor from combine(); never squeeze N=1.")
        expect(out.dtype == torch.float64, f"mitigated values are {out.dtype}, expected float64.", "keep the backend's dtype.")


@check("mitigator")
def check_mitigator_composes_with_gradient(mitigator: Mitigator, settings: ConformanceSettings) -> None:
    """Inside a ``QuantumLayer`` with parameter-shift, outputs and gradients equal the unmitigated ones without noise."""
    results = []
    for mitigation in ([mitigator], []):
        layer = QuantumLayer(2, ansatz="basic_entangler", layers=2, backend=reference_backend(), gradient="parameter_shift",
                             mitigation=mitigation, seed=settings.seed).double()
        x = torch.rand(3, 2, generator=torch.Generator().manual_seed(settings.seed), dtype=torch.float64).requires_grad_(True)
        out = layer(x)
        (out * torch.tensor([1.0, -0.5], dtype=torch.float64)).sum().backward()
        assert layer.weights.grad is not None and x.grad is not None  # both require grad and reach the loss
        results.append((out.detach(), layer.weights.grad.clone(), x.grad.clone()))
    for label, a, b in zip(("outputs", "weight gradients", "input gradients"), results[0], results[1]):
        err, where = max_error(a, b)
        expect(err <= ATOL, f"with parameter-shift gradients the mitigated {label} differ from the unmitigated ones by {err:.3g} "
               f"at {where} on a noiseless backend.", "combine() must map each expanded result the same way for every row.")


def _has_noisy_reference(mitigator: Mitigator) -> bool:
    return callable(getattr(mitigator, "conformance_noisy_reference", None))


@check("mitigator", applies=_has_noisy_reference)
def check_mitigator_reduces_error_on_noisy_reference(mitigator: Mitigator, settings: ConformanceSettings) -> None:
    """On the noisy backend the mitigator declares, the mean error to the exact values goes down."""
    noisy = mitigator.conformance_noisy_reference()  # type: ignore[attr-defined]
    shots = settings.shots if not noisy.capabilities.analytic else None
    raw_errors, mitigated_errors = [], []
    reference = reference_backend()
    for case in random_layer_cases(2, settings.seed, layers=1, batch=2)[:4]:
        exact = reference.expectations(case.circuit, case.slot_values)
        raw = noisy.expectations(case.circuit, case.slot_values, shots=shots, seed=settings.seed)
        mitigated = _mitigated(mitigator, noisy, case.circuit, case.slot_values, shots)
        raw_errors.append((raw - exact).abs().mean())
        mitigated_errors.append((mitigated - exact).abs().mean())
    raw_error, mitigated_error = float(torch.stack(raw_errors).mean()), float(torch.stack(mitigated_errors).mean())
    expect(mitigated_error < raw_error, f"on its declared noisy reference the mean error is {mitigated_error:.4g} mitigated versus "
           f"{raw_error:.4g} raw.", "check the noise model the mitigator assumes against the one the reference applies.")
