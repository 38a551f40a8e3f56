"""Gradient-estimator checks: golden Jacobians, finite differences, expand/combine shapes, ``supports()``, shot noise."""

from __future__ import annotations

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.errors import UnsupportedError
from hqnn_core.interfaces import Backend, GradientEstimator
from hqnn_core.testing.checks.common import ConformanceSettings, Violation, check, expect, max_error
from hqnn_core.testing.checks.reference import (
    builtin_classes,
    detached_backend,
    every_gate_circuit,
    fd_jacobian,
    golden,
    layer_case,
    reference_backend,
)
from hqnn_core.testing.stats import K_SIGMA, shot_tolerance

ATOL = 1e-6
#: Two-term and four-term rules, several slots per row, and a weighted sum of terms: enough for the noise bound.
SHOT_CASES = ("ry_zx", "crx_four_term", "weighted_sum", "ry_rz_chain", "rot")
_FIX_RULE = "use each gate's own shift rule (GATES[name].shift_rule: two-term ±pi/2 with 1/2, four-term for controlled rotations)."


def estimate(gradient: GradientEstimator, backend: Backend, circuit: Circuit, values: torch.Tensor,
             trainable: torch.Tensor | None = None, shots: int | None = None, seed: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(values [N, K], jacobian [N, K, S])`` as the executor would get them (autograd for through-backend estimators)."""
    if trainable is None:
        trainable = torch.ones(circuit.n_slots, dtype=torch.bool)
    if gradient.through_backend:
        out = backend.expectations(circuit, values, shots=shots, seed=seed)
        rows = [torch.autograd.functional.jacobian(lambda v: backend.expectations(circuit, v.unsqueeze(0))[0], row) for row in values]
        jac = torch.stack(rows) if rows else values.new_zeros(0, out.shape[1], circuit.n_slots)
        return out.detach(), jac * trainable.to(jac)
    batch = gradient.expand(circuit, values, trainable)
    results = backend.expectations(circuit, batch.slot_values, shots=shots, seed=seed)
    return gradient.combine(batch, results)


def _usable_on_reference(gradient: GradientEstimator) -> bool:
    circuit, _ = every_gate_circuit()
    return not gradient.through_backend or gradient.supports(reference_backend(), circuit, None)


def _fd_cases() -> list[tuple[str, Circuit, torch.Tensor]]:
    circuit, values = every_gate_circuit()
    cases = [("every_gate", circuit, values)]
    classes = {**dict(builtin_classes("encoder")), **dict(builtin_classes("ansatz"))}
    for e, a in (("angle", "strongly_entangling"), ("iqp", "hardware_efficient"), ("amplitude", "basic_entangler")):
        if e in classes and a in classes:
            case = layer_case(3, classes[e](), classes[a](), layers=2, batch=2, seed=5)
            cases.append((case.label, case.circuit, case.slot_values))
    return cases


@check("gradient", applies=_usable_on_reference)
def check_gradient_matches_golden(gradient: GradientEstimator, settings: ConformanceSettings) -> None:
    """Values and Jacobians equal the closed forms of every golden circuit (torch backend, analytic, float64)."""
    reference = reference_backend()
    for case in golden(with_slots=True):
        values, jac = estimate(gradient, reference, case.circuit, case.slot_values)
        err, where = max_error(values, case.values)
        expect(err <= ATOL, f"on golden case {case.name!r} the values returned with the Jacobian differ from the closed form by "
               f"{err:.3g} at {where}.", "return the unshifted rows' results as values in combine().")
        expect(tuple(jac.shape) == tuple(case.jacobian.shape), f"on golden case {case.name!r} the Jacobian has shape "
               f"{tuple(jac.shape)}, expected {tuple(case.jacobian.shape)} = [N, K, n_slots].", "return [N, K, n_slots] from combine().")
        err, where = max_error(jac, case.jacobian)
        expect(err <= ATOL, f"on golden case {case.name!r} the Jacobian differs from the closed form by {err:.3g} at {where} "
               f"(got {jac[where[:2]].tolist()}, exact {case.jacobian[where[:2]].tolist()}).", _FIX_RULE)


@check("gradient", applies=_usable_on_reference)
def check_gradient_matches_finite_difference(gradient: GradientEstimator, settings: ConformanceSettings) -> None:
    """Jacobians equal central finite differences on random built-in layers and a circuit with every parametrised gate."""
    reference = reference_backend()
    for label, circuit, values in _fd_cases():
        _, jac = estimate(gradient, reference, circuit, values)
        fd = fd_jacobian(lambda v, c=circuit: reference.expectations(c, v), values)  # type: ignore[misc]  # mypy cannot type default-bound lambdas
        err, where = max_error(jac, fd)
        expect(err <= ATOL, f"on circuit {label!r} the Jacobian differs from finite differences by {err:.3g} at {where}.", _FIX_RULE)


@check("gradient", applies=lambda g: not g.through_backend)
def check_gradient_expand_combine_shapes(gradient: GradientEstimator, settings: ConformanceSettings) -> None:
    """``expand`` gives ``[M, n_slots]`` rows without touching its input; ``combine`` gives ``[N, K]`` and ``[N, K, S]``.

    Batches of one are not squeezed, and Jacobian columns of slots that are not trainable are zero.
    """
    reference = reference_backend()
    circuit, all_values = every_gate_circuit()
    s = circuit.n_slots
    masks = {"all": torch.ones(s, dtype=torch.bool), "none": torch.zeros(s, dtype=torch.bool),
             "first two": torch.arange(s) < 2}
    for n in (1, 2):
        values = all_values[:n].clone()
        for label, mask in masks.items():
            before = values.clone()
            batch = gradient.expand(circuit, values, mask)
            rows = batch.slot_values
            expect(torch.equal(values, before), "expand() modified the slot values it was given.", "work on a copy (torch.cat, clone).")
            expect(isinstance(rows, torch.Tensor) and rows.ndim == 2 and rows.shape[1] == s,
                   f"expand() with {n} row(s), trainable={label}, gave rows of shape {tuple(getattr(rows, 'shape', ()))}, "
                   f"expected [M, {s}].", "return GradientBatch(slot_values=[M, n_slots]).")
            expect(rows.dtype == values.dtype, f"expand() changed the dtype {values.dtype} to {rows.dtype}.", "keep the input dtype.")
            out, jac = gradient.combine(batch, reference.expectations(circuit, rows))
            k = len(circuit.observables)
            expect(tuple(out.shape) == (n, k) and tuple(jac.shape) == (n, k, s),
                   f"combine() with {n} row(s), trainable={label}, gave values {tuple(out.shape)} and Jacobian {tuple(jac.shape)}, "
                   f"expected ({n}, {k}) and ({n}, {k}, {s}).", "return [N, K] values and an [N, K, n_slots] Jacobian; never squeeze N=1.")
            err, where = max_error(out, reference.expectations(circuit, values))
            expect(err <= ATOL, f"combine() values differ from the unshifted expectations by {err:.3g} at {where}.",
                   "return the results of the original rows as values.")
            frozen = jac[..., ~mask]
            expect(bool((frozen == 0).all()), f"with trainable={label} the Jacobian has non-zero columns for frozen slots.",
                   "leave the columns of slots outside `trainable` at zero (and do not evaluate shifts for them).")
            expect(bool(torch.isfinite(jac).all()), "the Jacobian contains NaN or inf.", "check divisions in combine().")


def _configs() -> list[tuple[str, Backend, int | None]]:
    ref, det = reference_backend(), detached_backend()
    return [("the torch backend (backprop), analytic", ref, None), ("the torch backend (backprop), shots=1000", ref, 1000),
            ("a float64 simulator without backprop, analytic", det, None), ("a float64 simulator without backprop, shots=1000", det, 1000)]


@check("gradient")
def check_gradient_supports_is_truthful(gradient: GradientEstimator, settings: ConformanceSettings) -> None:
    """Where ``supports()`` says yes the estimator works there; where it says no, it gives a reason.

    A through-backend estimator (backprop, adjoint) that claims support must get outputs with an
    autograd graph. A circuit that no configuration supports must make ``expand`` raise
    ``UnsupportedError`` so nothing can use it silently.
    """
    cases = [(c.name, c.circuit, c.slot_values[:2]) for c in golden(with_slots=True)[:3]]
    circuit, values = every_gate_circuit()
    cases.append(("every_gate", circuit, values))
    for label, circuit, values in cases:
        supported_anywhere = False
        for where, backend, shots in _configs():
            ok = gradient.supports(backend, circuit, shots)
            expect(isinstance(ok, bool), f"supports() returned {ok!r}, not a bool.", "return True or False.")
            if not ok:
                reason = gradient.unsupported_reason(backend, circuit, shots)
                expect(isinstance(reason, str) and reason.strip(), f"supports() is False on {where} but unsupported_reason() is empty.",
                       "say why and which gradient to use instead.")
                continue
            supported_anywhere = True
            if gradient.through_backend:
                out = backend.expectations(circuit, values.clone().requires_grad_(True), shots=shots, seed=settings.seed)
                expect(out.requires_grad, f"supports() is True on {where} for circuit {label!r}, but that backend's outputs carry "
                       "no autograd graph, so differentiating through it gives no gradient.",
                       "return False from supports() unless backend.capabilities declares the differentiation and shots is None.")
            else:
                out, jac = estimate(gradient, backend, circuit, values, shots=shots, seed=settings.seed)
                expect(bool(torch.isfinite(jac).all()) and bool(torch.isfinite(out).all()),
                       f"supports() is True on {where} for circuit {label!r} but the estimate is not finite.",
                       "return False from supports() where the estimator cannot work.")
        if not supported_anywhere and not gradient.through_backend:
            try:
                gradient.expand(circuit, values, torch.ones(circuit.n_slots, dtype=torch.bool))
            except UnsupportedError:
                pass
            else:
                raise Violation(f"supports() is False everywhere for circuit {label!r}, yet expand() accepts it.",
                                "raise UnsupportedError in expand() for circuits the estimator cannot differentiate.")


@check("gradient", applies=lambda g: not g.through_backend)
def check_gradient_shot_noise_within_bound(gradient: GradientEstimator, settings: ConformanceSettings) -> None:
    """With shots, values and Jacobians fall within k=5 propagated standard errors of the closed forms.

    Each row's standard error comes from ``stats.shot_tolerance`` (k=1); it is propagated through
    ``combine`` linearly (rows independent, observables of a row added in the worst case).
    """
    reference, shots = reference_backend(), settings.shots
    for case in [c for c in golden(with_slots=True) if c.name in SHOT_CASES]:
        trainable = torch.ones(case.circuit.n_slots, dtype=torch.bool)
        batch = gradient.expand(case.circuit, case.slot_values, trainable)
        exact_rows = reference.expectations(case.circuit, batch.slot_values)
        sampled = reference.expectations(case.circuit, batch.slot_values, shots=shots, seed=settings.seed)
        std = shot_tolerance(exact_rows, case.circuit.observables, shots, k=1.0)
        est_values, est_jac = gradient.combine(batch, sampled)
        for what, index, got, exact in (("values", 0, est_values, case.values), ("Jacobian", 1, est_jac, case.jacobian)):
            try:
                lin = torch.autograd.functional.jacobian(lambda r, i=index, b=batch: gradient.combine(b, r)[i], exact_rows)
            except RuntimeError as e:
                raise Violation(f"combine() is not differentiable in torch ({e}), so its noise cannot be bounded.",
                                "write combine() with torch operations.") from None
            per_row = (lin.abs() * std).sum(dim=-1)  # [..., M]
            bound = K_SIGMA * torch.sqrt((per_row**2).sum(dim=-1)) + 1e-9
            excess = (got - exact).abs() - bound
            if bool((excess > 0).any()):
                where = tuple(int(i) for i in (excess > 0).nonzero()[0])
                raise Violation(
                    f"with {shots} shots the {what} of golden case {case.name!r} is {got[where].item():.5f} at {where}, "
                    f"{(got - exact).abs()[where].item():.3g} from the exact {exact[where].item():.5f}; the bound is "
                    f"{bound[where].item():.3g} (k={K_SIGMA:g} standard errors).",
                    "remove the estimator's bias (exact shift rules, or an unbiased estimate) so only shot noise remains.")
