"""Options, shift rules and row counts of the built-in gradient estimators (torch halves: :mod:`hqnn_plugins.gradients`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces.capabilities import BackendCapabilities
from hqnn_core.interfaces.layout import GradientLayout
from hqnn_core.registry import ComponentRegistry

if TYPE_CHECKING:
    from hqnn_core.circuit import Circuit
    from hqnn_core.interfaces import Backend


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# Four-term rule for controlled rotations (Anselmetti et al. 2021; PennyLane's CRX grad_recipe).
_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
SHIFT_RULES: dict[str, tuple[tuple[float, float], ...]] = {
    # (coefficient, shift) pairs: d f / d theta = sum c * f(theta + s)
    "two_term": ((0.5, math.pi / 2), (-0.5, -math.pi / 2)),
    "four_term": ((_C_PLUS, math.pi / 2), (-_C_PLUS, -math.pi / 2), (-_C_MINUS, 3 * math.pi / 2), (_C_MINUS, -3 * math.pi / 2)),
}


def shift_plan(circuit: Circuit, trainable: Iterable[int]) -> list[tuple[int, float, float]]:
    """(slot, shift, coefficient) for every evaluation the parameter-shift rule needs for the ``trainable`` slot indices."""
    rule_of = {}
    for op in circuit.ops:
        for s in op.slots:
            rule_of[s] = op.spec.shift_rule
    plan: list[tuple[int, float, float]] = []
    for s in trainable:
        rule = rule_of.get(s)
        if rule is None:
            continue  # a slot no gate reads has zero gradient
        plan.extend((s, shift, c) for c, shift in SHIFT_RULES[rule])
    return plan


def _indices(trainable: Sequence[bool]) -> list[int]:
    return [i for i, t in enumerate(trainable) if t]


class ParameterShiftLayout(GradientLayout):
    """One row per sample plus one per shifted evaluation (:class:`hqnn_plugins.gradients.ParameterShift`)."""

    name = "parameter_shift"
    higher_order = True  # shifts of shifts: exact second derivatives

    def rows_per_sample(self, circuit: Circuit, trainable: Sequence[bool]) -> int | None:
        return 1 + len(shift_plan(circuit, _indices(trainable)))


class FiniteDifferenceLayout(GradientLayout):
    """One row per sample plus one or two per trainable slot (:class:`hqnn_plugins.gradients.FiniteDifference`)."""

    name = "finite_diff"
    higher_order = True  # differences of differences

    class Options(_Strict):
        h: float | Literal["auto"] = Field(1e-3, description="step in radians, or 'auto' to choose it from the shot count")
        method: str = Field("central", pattern="^(central|forward)$")

        @field_validator("h")
        @classmethod
        def _positive(cls, value: float | str) -> float | str:
            if value != "auto" and not value > 0:  # type: ignore[operator]
                raise ValueError(f"h must be a positive step in radians or 'auto', got {value}")
            return value

    def rows_per_sample(self, circuit: Circuit, trainable: Sequence[bool]) -> int | None:
        return 1 + len(_indices(trainable)) * (2 if self.options.method == "central" else 1)


class SPSALayout(GradientLayout):
    """One row per sample plus two per random direction (:class:`hqnn_plugins.gradients.SPSA`)."""

    name = "spsa"

    class Options(_Strict):
        samples: int = Field(1, ge=1, description="random directions averaged per step")
        c: float = Field(0.1, gt=0, description="perturbation size in radians")
        seed: int | None = None

    def rows_per_sample(self, circuit: Circuit, trainable: Sequence[bool]) -> int | None:
        return 1 + 2 * self.options.samples


class BackpropLayout(GradientLayout):
    """Through the backend's own autograd: analytic backends that declare backprop (:class:`hqnn_plugins.gradients.Backprop`)."""

    name = "backprop"
    through_backend = True
    higher_order = True  # as far as the backend's own autograd goes (every order on torch and torch.noisy)

    def supported_by(self, capabilities: BackendCapabilities, shots: int | None) -> bool:
        return bool(capabilities.backprop) and shots is None

    def rows_per_sample(self, circuit: Circuit, trainable: Sequence[bool]) -> int | None:
        return 1


class AdjointLayout(BackpropLayout):
    """Adjoint sweeps inside backends that declare them (:class:`hqnn_plugins.gradients.Adjoint`)."""

    name = "adjoint"

    def supported_by(self, capabilities: BackendCapabilities, shots: int | None) -> bool:
        return bool(capabilities.adjoint) and shots is None


LAYOUTS: dict[str, type[GradientLayout]] = {
    "Adjoint": AdjointLayout, "Backprop": BackpropLayout, "ParameterShift": ParameterShiftLayout, "FiniteDifference": FiniteDifferenceLayout,
    "SPSA": SPSALayout,
}


def best_gradient(capabilities: BackendCapabilities, shots: int | None) -> str:
    """What ``gradient: best`` picks by default: backprop on an exact backend that declares it, else parameter-shift."""
    return "backprop" if capabilities.backprop and shots is None else "parameter_shift"


@hookimpl
def hqnn_register_gradients(registry: ComponentRegistry[GradientLayout]) -> None:
    for torch_class, layout in LAYOUTS.items():
        registry.add(f"hqnn_plugins.gradients:{torch_class}", name=layout.name, layout=layout)


@hookimpl(trylast=True)
def hqnn_choose_gradient(backend: Backend, circuit: Circuit, shots: int | None) -> str:
    return best_gradient(backend.capabilities, shots)
