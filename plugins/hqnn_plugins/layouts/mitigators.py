"""Options of the built-in error mitigators (the torch halves are :mod:`hqnn_plugins.mitigators`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hqnn_core.hookspecs import hookimpl
from hqnn_core.interfaces.layout import MitigatorLayout
from hqnn_core.registry import ComponentRegistry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ReadoutLayout(MitigatorLayout):
    """Options of readout-confusion inversion (:class:`hqnn_plugins.mitigators.ReadoutMitigator`)."""

    name = "readout"

    class Options(_Strict):
        shots: int | None = Field(None, ge=1, description="calibration shots (default: the run's shots; exact if the backend is)")
        recalibrate_every: int | None = Field(None, ge=1, description="re-run the calibration after this many expand calls (null: once)")
        min_contrast: float = Field(0.1, gt=0, le=1, description="refuse calibrations with 1 - p01 - p10 below this (inversion would explode)")


class ZNELayout(MitigatorLayout):
    """Options of zero-noise extrapolation (:class:`hqnn_plugins.mitigators.ZNEMitigator`)."""

    name = "zne"

    class Options(_Strict):
        scale_factors: list[float] = Field([1.0, 3.0, 5.0], strict=False, description="noise scale factors (>= 1; odd integers fold exactly)")
        folding: Literal["global", "local"] = Field("global", description="global: U (U^dagger U)^k; local: fold each chosen gate")
        gates: list[str] | None = Field(None, description="local folding only: gate names to fold (default: every gate)")
        extrapolation: Literal["linear", "richardson", "exponential"] = "richardson"
        asymptote: float = Field(0.0, description="exponential only: the value at infinite noise (0 for Pauli terms under depolarizing)")

        @field_validator("scale_factors")
        @classmethod
        def _scales(cls, value: list[float]) -> list[float]:
            value = [float(v) for v in value]
            if len(set(value)) < 2 or len(set(value)) != len(value):
                raise ValueError(f"scale_factors {value} must hold at least two distinct values, e.g. [1, 3, 5]")
            if min(value) < 1:
                raise ValueError(f"scale_factors {value} must all be >= 1 (noise can only be amplified)")
            return value


@hookimpl
def hqnn_register_mitigators(registry: ComponentRegistry[MitigatorLayout]) -> None:
    registry.add("hqnn_plugins.mitigators:ReadoutMitigator", name="readout", layout=ReadoutLayout)
    registry.add("hqnn_plugins.mitigators:ZNEMitigator", name="zne", layout=ZNELayout)
