"""``hqnn estimate``: the jobs, circuits, shots and cost of a whole run, predicted before it starts.

The prediction is built from the same pieces the run uses (the gradient estimator's expansion, each
mitigator's ``circuits_per_circuit`` and ``calibration_batches``, the backend's ``jobs_for``), so on
a backend without faults it equals the run's accounting exactly. Cost comes from
:mod:`hqnn_core.pricing`; retries and fallbacks are not forecast (the budget guard still checks
every one of them before it is sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from rich.table import Table
from rich.text import Text

from hqnn_core.components import get_optimizer
from hqnn_core.config import LoadedProfile
from hqnn_core.pricing import PRICES_CHECKED, Price, device_class, price_of, require_price, round_up_micro, usd
from hqnn_core.training.budget import (
    BudgetGuard,
    Usage,
    _circuits_factor,
    _rows_per_training_forward,
    check_cost_preflight,
)
from hqnn_core.training.data_summary import describe_data
from hqnn_core.training.prepare import Prepared, PreparedModel, estimate_parts, prepare, prepare_model
from hqnn_core.training.shots import apply_shot_budget

PARTS = ("training", "evaluation", "calibration", "baseline")
_P = TypeVar("_P", bound=PreparedModel)


@dataclass
class RunEstimate:
    """A run's predicted usage by part, the multipliers behind it, and its cost at list prices."""

    parts: dict[str, Usage]
    multipliers: dict[str, Any]
    backend: str
    device_class: str | None
    price: Price | None
    limits: dict[str, Any]

    @property
    def total(self) -> Usage:
        out = Usage()
        for usage in self.parts.values():
            out = out + usage
        return out

    def cost_of(self, usage: Usage) -> float | None:
        """USD rounded *up* to a micro-dollar, so ``limits.max_cost`` set to it covers the exact cost."""
        return None if self.price is None else float(round_up_micro(self.price.exact_cost(usage.jobs, usage.shots)))

    @property
    def cost(self) -> float | None:
        """Estimated USD of the whole run, or None when the device has no known price."""
        return self.cost_of(self.total)

    def as_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "device_class": self.device_class,
            "price": self.price.as_dict() if self.price else None,
            "multipliers": dict(self.multipliers),
            "parts": {k: {**u.as_dict(), "cost_usd": self.cost_of(u)} for k, u in self.parts.items()},
            "total": {**self.total.as_dict(), "cost_usd": self.cost},
            "limits": dict(self.limits),
        }


def prepare_as_run(loaded: LoadedProfile) -> Prepared:
    """:func:`prepare` (backend chain included) with the shot budget ``hqnn train`` applies, so an estimate sees the run's shots per circuit."""
    return _as_run(prepare(loaded))


def model_as_run(loaded: LoadedProfile) -> PreparedModel:
    """As :func:`prepare_as_run`, for the data's shape only (no data arrays, no scikit-learn): what validating and estimating need."""
    return _as_run(prepare_model(loaded, describe_data(loaded.profile.data, loaded.base_dir, loaded.source)))


def _as_run(prepared: _P) -> _P:
    apply_shot_budget(prepared)  # train.shots_per_step lowers the shots per circuit: without it the estimate was ~300x too high
    return prepared


def estimate_run(prepared: PreparedModel, epochs: int | None = None) -> RunEstimate:
    """Predict the whole run (``epochs`` epochs, default all): training, evaluation, calibration, baseline."""
    profile = prepared.loaded.profile
    layer = prepared.layer
    parts = estimate_parts(prepared, epochs)
    parts["baseline"] = Usage()  # the classical baseline runs no circuits
    optimizer = get_optimizer(profile.train.optimizer.spec())
    inputs_need_grad = any(p.requires_grad for p in prepared.model.front.parameters())
    if not optimizer.gradient_free():
        per_sample: Any = _rows_per_training_forward(layer, 1, inputs_need_grad)
    elif optimizer.stepping == "loss":  # each step evaluates its mini-batch this many times
        per_sample = optimizer.evaluations_per_step(sum(p.numel() for p in prepared.model.parameters() if p.requires_grad))
    else:
        per_sample = "full passes"
    multipliers = {
        "epochs": profile.train.epochs if epochs is None else epochs,
        "optimizer": optimizer.name,
        "gradient": layer.gradient.name,
        "circuits_per_training_sample": per_sample,
        "mitigation_circuits_per_circuit": _circuits_factor(layer),
        "shots_per_circuit": layer.shots,
    }
    limits = profile.limits.model_dump(mode="json")
    return RunEstimate(parts, multipliers, layer.backend.full_name, device_class(layer.backend), price_of(layer.backend), limits)


def spent_cost(record: dict[str, Any] | None, spent: Decimal | None = None) -> Decimal:
    """USD the run spent in earlier sessions: ``spent`` (its ledger's total, :mod:`hqnn_core.training.ledger`), else the run record's figure."""
    return spent if spent is not None else usd(((record or {}).get("cost") or {}).get("spent_usd") or 0.0) or Decimal(0)


def preflight_cost(prepared: PreparedModel, used: Decimal, remaining_epochs: int) -> None:
    """Before anything is submitted: check ``limits.max_cost`` can be priced and fits, ``used`` USD already spent.

    With a cost limit every backend of the run (each member of a fallback chain) must have a price
    (ConfigError otherwise), and with ``limits.preflight`` the estimate of the remaining epochs
    must fit under the limit (BudgetExceededError otherwise).
    """
    limits = prepared.loaded.profile.limits
    if limits.max_cost is None:
        return
    for leaf in prepared.layer.backend.members():
        require_price(leaf)
    if limits.preflight:
        est = estimate_run(prepared, remaining_epochs)
        price = require_price(prepared.layer.backend)
        total = est.total
        check_cost_preflight(price.exact_cost(total.jobs, total.shots), used, limits.max_cost, prepared.loaded.source, remaining_epochs,
                             f"{est.backend} ({est.device_class})")


def cost_record(guard: BudgetGuard, prepared: PreparedModel) -> dict[str, Any]:
    """The run record's ``cost`` section: spent so far and the price it was computed with."""
    backend = prepared.layer.backend
    price = price_of(backend)
    return {
        "spent_usd": float(round_up_micro(guard.cost())),
        "spent_usd_exact": str(guard.cost()),
        "max_cost_usd": None if guard.max_cost is None else float(guard.max_cost),
        "device_class": device_class(backend),
        "price": price.as_dict() if price else None,
        "prices_checked": PRICES_CHECKED,
    }


def _money(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.4f}"


def render(est: RunEstimate, source: str) -> Table:
    """The estimate as a rich table: one row per part, the total, and the limits beside it."""
    m = est.multipliers
    title = (
        f"{source}: {est.backend} ({est.device_class or 'unknown device class'}); {m['epochs']} epochs, optimizer {m['optimizer']}, "
        f"gradient {m['gradient']} ({m['circuits_per_training_sample']} circuits/sample), "
        f"mitigation x{m['mitigation_circuits_per_circuit']}, shots {m['shots_per_circuit']}"
    )
    table = Table("part", "jobs", "circuits", "shots", "cost (USD)", title=Text(title), title_justify="left")  # Text: a path is not markup
    for name in PARTS:
        u = est.parts.get(name, Usage())
        table.add_row(name, f"{u.jobs:,}", f"{u.circuits:,}", f"{u.shots:,}", _money(est.cost_of(u)))
    t = est.total
    table.add_row("total", f"{t.jobs:,}", f"{t.circuits:,}", f"{t.shots:,}", _money(est.cost), style="bold")
    lim = est.limits
    table.add_row(
        "limits", str(lim.get("max_jobs") or "-"), "-", str(lim.get("max_shots") or "-"),
        "-" if lim.get("max_cost") is None else f"${lim['max_cost']:,}",
    )
    return table


__all__ = ["RunEstimate", "cost_record", "estimate_run", "model_as_run", "preflight_cost", "prepare_as_run", "render", "spent_cost"]
