"""IBM Quantum's list price, for ``limits.max_cost`` (the arithmetic is :mod:`hqnn_core.pricing`).

IBM bills QPU seconds, not shots: ``ibm:qpu`` is USD 96 per minute of quantum usage
(Pay-As-You-Go, https://www.ibm.com/quantum/pricing, read 2026-08). The seconds of a job are
*estimated* as 2 s per job plus 250 microseconds per shot (the default repetition delay); measure
your workload (``job.usage()``) and register a corrected price with
:func:`hqnn_core.pricing.register_price` if it differs.
"""

from __future__ import annotations

from hqnn_core.pricing import Price

SOURCE = "https://www.ibm.com/quantum/pricing"

#: Every IBM QPU bills the same per second.
IBM_QPU = Price("ibm:qpu", per_second=96 / 60, seconds_per_task=2.0, seconds_per_shot=250e-6, source=SOURCE)
