"""Braket's list prices and device classes come from the adapter (hqnn_braket.pricing), not the core."""

from __future__ import annotations

import pytest

from hqnn_braket import pricing

pytestmark = pytest.mark.vendor


def test_braket_arns_map_to_their_price_class():
    assert pricing.device_class("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1") == "braket:qpu:ionq:forte"
    assert pricing.device_class("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1") == "braket:qpu:ionq:forte"
    assert pricing.device_class("arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet") == "braket:qpu:iqm:garnet"
    assert pricing.device_class("arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3") == "braket:qpu:rigetti:ankaa"
    assert pricing.device_class("arn:aws:braket:::device/quantum-simulator/amazon/sv1") == "braket:simulator:sv1"
    assert pricing.device_class("not-an-arn") is None
    for cls in ("braket:qpu:ionq:forte", "braket:qpu:iqm:garnet", "braket:qpu:rigetti:ankaa", "braket:qpu:quera:aquila", "braket:simulator:sv1"):
        assert cls in pricing.PRICES


def test_list_prices_give_the_hand_computed_costs():
    # 10 Forte tasks of 100 shots: 10 * 0.30 + 1000 * 0.08 = 83.00 USD
    assert pricing.PRICES["braket:qpu:ionq:forte"].cost(10, 1000) == pytest.approx(83.0)
    # Rigetti Ankaa: 2 tasks, 2000 shots: 0.60 + 2000 * 0.0009 = 2.40 USD
    assert pricing.PRICES["braket:qpu:rigetti:ankaa"].cost(2, 2000) == pytest.approx(2.4)
    # SV1 bills 0.075 USD/min with a 3 s minimum per task: 4 tasks = 12 s = 0.015 USD, whatever the shots
    assert pricing.PRICES["braket:simulator:sv1"].cost(4, 0) == pytest.approx(0.015)
    assert pricing.PRICES["braket:simulator:tn1"].cost(1, 0) == pytest.approx(3 * 0.275 / 60)
