"""List prices per vendor and device class, so that a run's cost can be estimated and capped.

``limits.max_cost`` needs a price for every backend a run may submit to. Local simulators are free;
remote devices are priced from the vendors' public list prices below (USD, on-demand, before
credits, discounts and taxes; S3 storage and other AWS services excluded). Prices change: check
the sources before relying on a number, and override a class with :func:`register_price`.

=============================  ==========  ============  ====================================  =========
device class                   per task    per shot      per billed second                     source
=============================  ==========  ============  ====================================  =========
``local``                      0           0             0                                     -
``braket:qpu:ionq:forte``      0.30        0.08          -                                     [B]
``braket:qpu:ionq:aria``       0.30        0.03          -                                     [B]
``braket:qpu:iqm:garnet``      0.30        0.00145       -                                     [B]
``braket:qpu:iqm:emerald``     0.30        0.0016        -                                     [B]
``braket:qpu:rigetti:ankaa``   0.30        0.0009        -                                     [B]
``braket:qpu:quera:aquila``    0.30        0.01          -                                     [B]
``braket:qpu:aqt:ibex``        0.30        0.0235        -                                     [B]
``braket:simulator:sv1``       -           -             0.075/60 (min. 3 s per task)          [B]
``braket:simulator:dm1``       -           -             0.075/60 (min. 3 s per task)          [B]
``braket:simulator:tn1``       -           -             0.275/60 (min. 3 s per task)          [B]
``ibm:qpu``                    -           -             96/60 (pay-as-you-go, QPU seconds)    [I]
=============================  ==========  ============  ====================================  =========

[B] Amazon Braket pricing, https://aws.amazon.com/braket/pricing/ ("Quantum computers (on demand)"
    per-task and per-shot prices; "Simulators" per-minute prices, billed per millisecond with a
    3-second minimum per task). Read 2026-08 from a stored copy of the page.
[I] IBM Quantum Platform plans, https://www.ibm.com/quantum/pricing (Pay-As-You-Go: USD 96 per
    minute of quantum usage). Read 2026-08. IBM bills QPU seconds, not shots: the seconds of a job
    are *estimated* here as 2 s per job plus 250 microseconds per shot (the default repetition
    delay); measure your workload (``job.usage()``) and register a corrected price if it differs.

Simulator seconds are likewise estimated at the billing minimum (3 s per task), a lower bound;
an estimate is a forecast, the guard in ``hqnn_core.training.budget`` applies it before every job.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Any

from hqnn_core.errors import ConfigError

if TYPE_CHECKING:
    from hqnn_core.interfaces import Backend

PRICES_CHECKED = "2026-08"
BRAKET_SOURCE = "https://aws.amazon.com/braket/pricing/"
IBM_SOURCE = "https://www.ibm.com/quantum/pricing"


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


def _braket_qpu(provider: str, family: str, per_shot: float) -> Price:
    return Price(f"braket:qpu:{provider}:{family}", per_task=0.30, per_shot=per_shot, source=BRAKET_SOURCE)


def _braket_sim(name: str, per_minute: float) -> Price:
    return Price(f"braket:simulator:{name}", per_second=per_minute / 60, min_seconds_per_task=3.0, source=BRAKET_SOURCE)


_TABLE = [
    Price("local"),
    _braket_qpu("ionq", "forte", 0.08),
    _braket_qpu("ionq", "aria", 0.03),
    _braket_qpu("iqm", "garnet", 0.00145),
    _braket_qpu("iqm", "emerald", 0.0016),
    _braket_qpu("rigetti", "ankaa", 0.0009),
    _braket_qpu("quera", "aquila", 0.01),
    _braket_qpu("aqt", "ibex", 0.0235),
    _braket_sim("sv1", 0.075),
    _braket_sim("dm1", 0.075),
    _braket_sim("tn1", 0.275),
    Price("ibm:qpu", per_second=96 / 60, seconds_per_task=2.0, seconds_per_shot=250e-6, source=IBM_SOURCE),
]
PRICES: dict[str, Price] = {p.device_class: p for p in _TABLE}
_DEFAULTS = dict(PRICES)


def register_price(price: Price) -> None:
    """Add or replace a device class's price (a negotiated rate, a new device, a test device)."""
    PRICES[price.device_class] = price


def reset_prices() -> None:
    """Back to the published table (tests)."""
    PRICES.clear()
    PRICES.update(_DEFAULTS)


_ARN = re.compile(r"^arn:aws:braket:[^:]*:[^:]*:device/(qpu|quantum-simulator)/([^/]+)/([^/?]+)")


def braket_device_class(arn: str) -> str | None:
    """``arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1`` -> ``braket:qpu:ionq:forte``; None if unknown."""
    m = _ARN.match(arn)
    if not m:
        return None
    kind, provider, device = m.group(1), m.group(2).lower(), m.group(3).lower()
    if kind == "quantum-simulator":
        return f"braket:simulator:{device}"
    family = re.split(r"[-_ ]", device)[0]
    return f"braket:qpu:{provider}:{family}"


def device_class(backend: Backend) -> str | None:
    """The price class of ``backend``: its ``price_class`` attribute if it has one, else inferred.

    Wrappers are seen through (``faulty:`` prices as what it wraps; a fallback chain as its
    primary). Local backends are ``local``; ``braket.aws`` is classed from its device ARN and
    ``qiskit.ibm`` as ``ibm:qpu``. An unknown remote device gives None (unpriced).
    """
    explicit = getattr(backend, "price_class", None)
    if isinstance(explicit, str):
        return explicit
    inner = getattr(backend, "inner", None)
    if inner is not None:
        return device_class(inner)
    members = backend.members()
    if members != [backend]:  # a fallback chain prices as its primary
        return device_class(members[0])
    if not backend.capabilities.remote:
        return "local"
    if backend.name == "braket.aws" and backend.target:
        return braket_device_class(backend.target)
    if backend.name == "qiskit.ibm":
        return "ibm:qpu"
    return None


def price_of(backend: Backend) -> Price | None:
    """The :class:`Price` of a backend, or None when its device class has no price."""
    cls = device_class(backend)
    return PRICES.get(cls) if cls is not None else None


def require_price(backend: Backend, where: str = "limits.max_cost") -> Price:
    """A backend's price, or a ConfigError naming the device and how to price it."""
    price = price_of(backend)
    if price is None:
        cls = device_class(backend)
        raise ConfigError(
            f"{where}: no price is known for backend {backend.full_name!r} (device class {cls or 'unknown'}); "
            f"known classes: {', '.join(sorted(PRICES))}. Register one with hqnn_core.pricing.register_price(Price(...)) "
            "from a plugin, or remove limits.max_cost to run without a cost cap."
        )
    return price


__all__ = ["MICRO_USD", "PRICES", "PRICES_CHECKED", "Price", "braket_device_class", "device_class", "price_of", "register_price", "require_price",
           "reset_prices", "round_up_micro", "usd"]
