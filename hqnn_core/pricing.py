"""Cost arithmetic and the price registry, so that a run's cost can be estimated and capped.

``limits.max_cost`` needs a price for every backend a run may submit to. The core knows no vendor's
prices: each backend says what it bills as (:meth:`Backend.device_class
<hqnn_core.interfaces.Backend.device_class>`, e.g. ``braket:qpu:ionq:forte``, ``ibm:qpu``, or
``local`` for every local simulator) and the vendor's list price (:meth:`Backend.price
<hqnn_core.interfaces.Backend.price>`), from its adapter (``hqnn_braket.pricing``,
``hqnn_qiskit.pricing``, which name their sources). A price registered here with
:func:`register_price` (a negotiated rate, a new device, a test device) takes precedence over the
adapter's. The core keeps the arithmetic: :class:`Price`, exact decimal costs, and the limits the
guard in ``hqnn_core.training.budget`` applies before every job.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from hqnn_core.errors import ConfigError

if TYPE_CHECKING:
    from hqnn_core.interfaces import Backend

#: When the adapters' list prices were last read from the vendors' pages (shown by ``hqnn estimate``).
PRICES_CHECKED = "2026-08"


@dataclass(frozen=True)
class Price:
    """How one device class bills: per task (vendor job), per shot, and per (estimated) second."""

    device_class: str
    per_task: float = 0.0
    per_shot: float = 0.0
    per_second: float = 0.0
    min_seconds_per_task: float = 0.0
    seconds_per_task: float = 0.0
    seconds_per_shot: float = 0.0
    source: str = ""

    def cost(self, tasks: int, shots: int) -> float:
        """USD for ``tasks`` vendor jobs carrying ``shots`` shots in total (linear, so it sums over calls)."""
        seconds = tasks * max(self.min_seconds_per_task, self.seconds_per_task) + shots * self.seconds_per_shot
        return tasks * self.per_task + shots * self.per_shot + seconds * self.per_second

    def exact_cost(self, tasks: int, shots: int) -> Decimal:
        """:meth:`cost` in exact decimal arithmetic (from each price's shortest decimal form): sums of calls
        equal the cost of their totals, so a limit equal to an estimate is never crossed by rounding."""
        d = {k: Decimal(repr(float(getattr(self, k)))) for k in
             ("per_task", "per_shot", "per_second", "min_seconds_per_task", "seconds_per_task", "seconds_per_shot")}
        seconds = tasks * max(d["min_seconds_per_task"], d["seconds_per_task"]) + shots * d["seconds_per_shot"]
        return tasks * d["per_task"] + shots * d["per_shot"] + seconds * d["per_second"]

    @property
    def free(self) -> bool:
        return self.cost(1, 1) == 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


MICRO_USD = Decimal("0.000001")


def usd(value: float | Decimal | None) -> Decimal | None:
    """A USD amount (a limit from a profile, a figure from a run record) as an exact Decimal."""
    return None if value is None else Decimal(repr(float(value))) if isinstance(value, float) else Decimal(value)


def round_up_micro(value: Decimal) -> Decimal:
    """Rounded up to a micro-dollar: what estimates show, so a limit set to one still covers the exact cost."""
    return value.quantize(MICRO_USD, rounding=ROUND_CEILING)


#: Registered prices by device class: ``local`` (free) and what :func:`register_price` added.
PRICES: dict[str, Price] = {"local": Price("local")}
_DEFAULTS = dict(PRICES)


def register_price(price: Price) -> None:
    """Add or replace a device class's price (a negotiated rate, a new device, a test device)."""
    PRICES[price.device_class] = price


def reset_prices() -> None:
    """Back to no registered prices but ``local`` (tests)."""
    PRICES.clear()
    PRICES.update(_DEFAULTS)


def device_class(backend: Backend) -> str | None:
    """The price class of ``backend`` (:meth:`Backend.device_class <hqnn_core.interfaces.Backend.device_class>`).

    Wrappers are seen through (``faulty:`` prices as what it wraps; a fallback chain as its
    primary); local backends are ``local``; an unknown remote device gives None (unpriced).
    """
    return backend.device_class()


def price_of(backend: Backend) -> Price | None:
    """The :class:`Price` of a backend: a registered one for its device class, else its adapter's list price; None: unpriced."""
    cls = backend.device_class()
    if cls is None:
        return None
    return PRICES.get(cls) or backend.price()


def require_price(backend: Backend, where: str = "limits.max_cost") -> Price:
    """A backend's price, or a ConfigError naming the device and how to price it."""
    price = price_of(backend)
    if price is None:
        cls = device_class(backend)
        raise ConfigError(
            f"{where}: no price is known for backend {backend.full_name!r} (device class {cls or 'unknown'}); "
            f"registered classes: {', '.join(sorted(PRICES))}. Register one with hqnn_core.pricing.register_price(Price(...)) "
            "from a plugin, or remove limits.max_cost to run without a cost cap."
        )
    return price


__all__ = ["MICRO_USD", "PRICES", "PRICES_CHECKED", "Price", "device_class", "price_of", "register_price", "require_price",
           "reset_prices", "round_up_micro", "usd"]
