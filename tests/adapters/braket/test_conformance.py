"""The hqnn conformance suite run against the Braket local simulators (STYLE.md §3.7).

The ``engine="sdk"`` path passes the same suite too (about 45 s here, so it is not run in CI;
run it with ``hqnn conformance --backend braket.local:sv --backend-option engine=sdk``); its
values, gradients, shots and program sets are covered by test_golden.py and test_shots.py.
"""

from __future__ import annotations

import pytest

pytest.importorskip("braket.devices")

from hqnn_braket.backend import BraketLocalBackend  # noqa: E402
from hqnn_core.testing import parametrize_with_checks  # noqa: E402

pytestmark = pytest.mark.vendor


@parametrize_with_checks([BraketLocalBackend("sv", seed=0), BraketLocalBackend("dm", seed=0, depolarizing=0.01, readout_error=0.02)])
def test_conformance(component, check):
    check(component)
