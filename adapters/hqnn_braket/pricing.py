"""Amazon Braket's list prices and device classes, for ``limits.max_cost`` (the arithmetic is :mod:`hqnn_core.pricing`).

=============================  ==========  ============  ====================================
device class                   per task    per shot      per billed second
=============================  ==========  ============  ====================================
``braket:qpu:ionq:forte``      0.30        0.08          -
``braket:qpu:ionq:aria``       0.30        0.03          -
``braket:qpu:iqm:garnet``      0.30        0.00145       -
``braket:qpu:iqm:emerald``     0.30        0.0016        -
``braket:qpu:rigetti:ankaa``   0.30        0.0009        -
``braket:qpu:quera:aquila``    0.30        0.01          -
``braket:qpu:aqt:ibex``        0.30        0.0235        -
``braket:simulator:sv1``       -           -             0.075/60 (min. 3 s per task)
``braket:simulator:dm1``       -           -             0.075/60 (min. 3 s per task)
``braket:simulator:tn1``       -           -             0.275/60 (min. 3 s per task)
=============================  ==========  ============  ====================================

Source: Amazon Braket pricing, https://aws.amazon.com/braket/pricing/ ("Quantum computers (on
demand)" per-task and per-shot prices; "Simulators" per-minute prices, billed per millisecond with
a 3-second minimum per task), USD, on-demand, before credits, discounts and taxes; S3 storage and
other AWS services excluded. Read 2026-08 from a stored copy of the page. Simulator seconds are
estimated at the billing minimum (3 s per task), a lower bound. Prices change: check the source,
and override a class with :func:`hqnn_core.pricing.register_price`.
"""

from __future__ import annotations

import re

from hqnn_core.pricing import Price

SOURCE = "https://aws.amazon.com/braket/pricing/"


def _qpu(provider: str, family: str, per_shot: float) -> Price:
    return Price(f"braket:qpu:{provider}:{family}", per_task=0.30, per_shot=per_shot, source=SOURCE)


def _simulator(name: str, per_minute: float) -> Price:
    return Price(f"braket:simulator:{name}", per_second=per_minute / 60, min_seconds_per_task=3.0, source=SOURCE)


#: Braket's list prices by device class.
PRICES: dict[str, Price] = {p.device_class: p for p in (
    _qpu("ionq", "forte", 0.08),
    _qpu("ionq", "aria", 0.03),
    _qpu("iqm", "garnet", 0.00145),
    _qpu("iqm", "emerald", 0.0016),
    _qpu("rigetti", "ankaa", 0.0009),
    _qpu("quera", "aquila", 0.01),
    _qpu("aqt", "ibex", 0.0235),
    _simulator("sv1", 0.075),
    _simulator("dm1", 0.075),
    _simulator("tn1", 0.275),
)}

_ARN = re.compile(r"^arn:aws:braket:[^:]*:[^:]*:device/(qpu|quantum-simulator)/([^/]+)/([^/?]+)")


def device_class(arn: str) -> str | None:
    """``arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1`` -> ``braket:qpu:ionq:forte``; None if not a device ARN."""
    m = _ARN.match(arn)
    if not m:
        return None
    kind, provider, device = m.group(1), m.group(2).lower(), m.group(3).lower()
    if kind == "quantum-simulator":
        return f"braket:simulator:{device}"
    family = re.split(r"[-_ ]", device)[0]
    return f"braket:qpu:{provider}:{family}"


def is_simulator(arn: str) -> bool:
    """Whether a device ARN names a managed simulator (exact results, no hardware noise) rather than a QPU."""
    return ":device/quantum-simulator/" in arn
