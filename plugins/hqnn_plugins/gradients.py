"""Built-in gradient estimators: backprop, parameter-shift, finite differences and SPSA.

Their options and row counts are in :mod:`hqnn_plugins.layouts.gradients` (torch-free); this module
adds the torch parts that build and combine the rows.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from hqnn_core.circuit import Circuit
from hqnn_core.interfaces.gradient import GradientBatch, GradientEstimator
from hqnn_plugins.layouts.gradients import (
    SHIFT_RULES,
    AdjointLayout,
    BackpropLayout,
    FiniteDifferenceLayout,
    ParameterShiftLayout,
    SPSALayout,
    shift_plan,
)

if TYPE_CHECKING:
    from hqnn_core.interfaces import Backend


class _ShiftedRows(GradientEstimator):
    """Shared expand/combine for estimators that evaluate shifted copies of every row."""

    def _plan(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (shifts [R, n_slots], coefficients [R, n_slots]); row r adds shifts[r] to every sample."""
        raise NotImplementedError

    def expand(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> GradientBatch:
        shifts, coeffs = self._plan(circuit, slot_values, trainable)
        shifted = (slot_values.unsqueeze(0) + shifts.to(slot_values).unsqueeze(1)).reshape(shifts.shape[0] * slot_values.shape[0], slot_values.shape[1])
        rows = torch.cat([slot_values, shifted], dim=0)
        return GradientBatch(rows, {"n": slot_values.shape[0], "coeffs": coeffs, "n_slots": slot_values.shape[1]})

    def combine(self, batch: GradientBatch, results: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, coeffs = batch.context["n"], batch.context["coeffs"]
        values = results[:n]
        shifted = results[n:].reshape(coeffs.shape[0], n, results.shape[1])
        jac = torch.einsum("rnk,rs->nks", shifted, coeffs.to(shifted))
        return values, jac


class ParameterShift(ParameterShiftLayout, _ShiftedRows):
    """Exact analytic gradients from shifted circuits, with each gate's own shift rule (two- or four-term)."""

    def _plan(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        plan = shift_plan(circuit, trainable.nonzero().flatten().tolist())
        shifts = torch.zeros(len(plan), circuit.n_slots, dtype=torch.float64)
        coeffs = torch.zeros(len(plan), circuit.n_slots, dtype=torch.float64)
        for r, (s, shift, c) in enumerate(plan):
            shifts[r, s] = shift
            coeffs[r, s] = c
        return shifts, coeffs


#: Step that ``h: auto`` uses without shots: truncation error about h^2/6 ~ 2e-7, far above float64 round-off.
EXACT_AUTO_STEP = 1e-3


def auto_step(shots: int | None, method: str = "central") -> float:
    """The finite-difference step with the smallest mean squared error of the derivative at ``shots``.

    Every built-in gate angle enters an expectation as ``f(t) = a + b cos t + c sin t``, so the
    derivatives of ``f`` are bounded by 1, and one shot of a Pauli observable has variance at most 1.
    Central differences have bias ``h^2/6`` and noise ``1/(h sqrt(2S))``: the MSE
    ``h^4/36 + 1/(2 S h^2)`` is smallest at ``h = (9/S)^(1/6) = 3^(1/3) S^(-1/6)``. Forward
    differences (bias ``h/2``, noise ``sqrt(2/S)/h``) give ``h = (8/S)^(1/4)``. Capped at pi/2;
    ``EXACT_AUTO_STEP`` when there is no shot noise (``shots`` None).
    """
    if shots is None:
        return EXACT_AUTO_STEP
    h = (9.0 / shots) ** (1 / 6) if method == "central" else (8.0 / shots) ** (1 / 4)
    return min(h, math.pi / 2)


class FiniteDifference(FiniteDifferenceLayout, _ShiftedRows):
    """Central (or forward) finite differences of every trainable slot; approximate, any backend.

    ``h: auto`` picks the step from the shot count (:func:`auto_step`): a small fixed step is drowned
    by shot noise (error ``~ 1/(h sqrt(S))``), a large one by truncation (``~ h^2``).
    """

    shots: int | None = None

    def use_shots(self, shots: int | None) -> None:
        """Record the shots per circuit this estimator will see (the executor calls this) for ``h: auto``."""
        self.shots = shots

    @property
    def step(self) -> float:
        """The step in radians: the fixed ``h``, or what ``h: auto`` chooses for :attr:`shots`."""
        h = self.options.h
        return auto_step(self.shots, self.options.method) if h == "auto" else float(h)

    def _plan(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.step
        slots = trainable.nonzero().flatten().tolist()
        steps = ((h, 1 / (2 * h)), (-h, -1 / (2 * h))) if self.options.method == "central" else ((h, 1 / h),)
        shifts = torch.zeros(len(slots) * len(steps), circuit.n_slots, dtype=torch.float64)
        coeffs = torch.zeros_like(shifts)
        for r, (s, (step, c)) in enumerate((s, st) for s in slots for st in steps):
            shifts[r, s], coeffs[r, s] = step, c
        return shifts, coeffs

    def combine(self, batch: GradientBatch, results: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        values, jac = super().combine(batch, results)
        if self.options.method == "forward":  # f(x+h)/h - f(x)/h: subtract the base term per slot
            jac = jac - values.unsqueeze(-1) * batch.context["coeffs"].sum(0).to(values)
        return values, jac


class SPSA(SPSALayout, _ShiftedRows):
    """Simultaneous-perturbation gradient estimate: 2 evaluations per sample whatever the slot count (Spall 1992)."""

    def __init__(self, **options: object) -> None:
        super().__init__(**options)
        self._generator = torch.Generator()
        if self.options.seed is not None:
            self._generator.manual_seed(self.options.seed)
        else:
            self._generator.seed()

    def _plan(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c, k = self.options.c, self.options.samples
        mask = trainable.to(torch.float64)
        deltas = (torch.randint(0, 2, (k, circuit.n_slots), generator=self._generator, dtype=torch.float64) * 2 - 1) * mask
        shifts = torch.cat([c * deltas, -c * deltas])
        coeffs = torch.cat([deltas / (2 * c * k), -deltas / (2 * c * k)])
        return shifts, coeffs


class Backprop(BackpropLayout, GradientEstimator):
    """Differentiate through the backend's own autograd graph (exact; analytic torch backends only)."""

    def unsupported_reason(self, backend: Backend, circuit: Circuit, shots: int | None) -> str:
        if shots is not None:
            return "backprop cannot differentiate sampled (shot-based) results; use gradient='parameter_shift' or 'spsa'"
        return f"backend {backend.name!r} does not declare backprop; use gradient='parameter_shift' (or 'best')"

    def expand(self, circuit: Circuit, slot_values: torch.Tensor, trainable: torch.Tensor) -> GradientBatch:
        raise NotImplementedError("backprop differentiates through the backend; the executor never expands it")

    def combine(self, batch: GradientBatch, results: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError("backprop differentiates through the backend; the executor never combines it")


class Adjoint(AdjointLayout, Backprop):
    """Adjoint differentiation inside the backend: exact, one forward and one backward sweep (Jones & Gacon 2020)."""

    def unsupported_reason(self, backend: Backend, circuit: Circuit, shots: int | None) -> str:
        if shots is not None:
            return "adjoint differentiation needs exact results (shots: null); use gradient='parameter_shift' or 'spsa' with shots"
        return f"backend {backend.name!r} does not declare adjoint differentiation; use gradient='best'"


__all__ = ["SHIFT_RULES", "SPSA", "Adjoint", "Backprop", "FiniteDifference", "ParameterShift", "auto_step"]
