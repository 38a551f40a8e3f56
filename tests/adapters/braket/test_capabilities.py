"""What ``hqnn validate`` reads before building a Braket backend (``capabilities_for``) is what the instance declares."""

from __future__ import annotations

import pytest

pytest.importorskip("braket.devices")

from hqnn_core import get_backend  # noqa: E402
from hqnn_core.components import backend_capabilities  # noqa: E402

pytestmark = pytest.mark.vendor


@pytest.mark.parametrize(("name", "options", "max_qubits"), [
    ("braket.local:sv", {}, 26),
    ("braket.local:sv", {"engine": "sdk", "emulate_limits": True}, 26),
    ("braket.local:dm", {"depolarizing": 0.01}, 13),
    ("braket.local:dm", {"readout_error": 0.02, "emulate_limits": True}, 13),
])
def test_config_time_capabilities_equal_the_instance(name, options, max_qubits):
    declared = backend_capabilities(name, options)
    assert declared == get_backend(name, **options).capabilities and declared.max_qubits == max_qubits
    assert declared.noise == bool(options.get("depolarizing") or options.get("readout_error"))
    assert declared.deterministic_shots == (options.get("engine") != "sdk")
    assert declared.max_shots == (200000 if options.get("engine") == "sdk" and options.get("emulate_limits") else None)
