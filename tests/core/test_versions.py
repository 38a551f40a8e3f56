"""``hqnn_core.versions.installed_versions``: the one reader of SDK versions that every adapter reports."""

from __future__ import annotations

import importlib.metadata as md

import pytest

import hqnn_braket
import hqnn_pennylane
import hqnn_qiskit
from hqnn_core.versions import installed_versions


def test_installed_distributions_report_their_metadata_version_in_the_order_given():
    got = installed_versions(["pyyaml", "numpy", "pluggy"])
    assert list(got) == ["pyyaml", "numpy", "pluggy"]
    assert got == {"pyyaml": md.version("pyyaml"), "numpy": md.version("numpy"), "pluggy": md.version("pluggy")}


def test_missing_distributions_are_left_out():
    assert installed_versions(["hqnn-no-such-distribution", "numpy"]) == {"numpy": md.version("numpy")}
    assert installed_versions([]) == {}


@pytest.mark.parametrize(("adapter", "distributions"), [
    (hqnn_qiskit, hqnn_qiskit.DISTRIBUTIONS),
    (hqnn_pennylane, hqnn_pennylane.DISTRIBUTIONS),
    (hqnn_braket, ("amazon-braket-sdk", "amazon-braket-default-simulator", "amazon-braket-schemas")),
], ids=["qiskit", "pennylane", "braket"])
def test_every_adapter_reports_exactly_its_installed_sdk_distributions(adapter, distributions):
    expected = {}
    for name in distributions:  # an independent reading, name by name
        try:
            expected[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    assert adapter.hqnn_environment_info() == expected
