"""Issue 18 item 7: the estimate a user approves is an upper bound within 10% of what the run spends.

Fixed here: the readout calibration job was missing from the estimate, and ``hqnn estimate`` ignored
``train.shots_per_step`` (6,416,000 shots estimated, 19,248 run). Still open (strict xfail, so the
fix shows): COBYLA (scipy stops before ``maxiter`` or overshoots it) and ZNE with a shift gradient
(folded circuits are differentiated per expanded circuit, more rows than the multiplier says).
"""

from __future__ import annotations

import pytest
from training_helpers import write_profile

from hqnn_core.config import load_profile
from hqnn_core.training import train
from hqnn_core.training.estimate import estimate_run, prepare_as_run

TINY = {"data": {"max_train": 16, "max_test": 8}}
CASES = {
    "adam-parameter_shift-readout-shots": {"backend": {"name": "torch.noisy", "shots": 50}, "mitigation": [{"name": "readout"}],
                                           "model": {"quantum": {"n_qubits": 4, "layers": 1, "gradient": "parameter_shift"}}},
    "adam-parameter_shift-none-shots_per_step": {"backend": {"name": "torch", "shots": 1000}, "train": {"epochs": 1, "shots_per_step": 20000},
                                                 "model": {"quantum": {"n_qubits": 4, "layers": 1, "gradient": "parameter_shift"}}},
    "spsa-none-none-shots": {"backend": {"name": "torch", "shots": 20}, "train": {"epochs": 1, "optimizer": "spsa"}},
    "adam-best-none-exact": {"backend": {"name": "torch"}},
    "cobyla-none-none-shots": pytest.param({"backend": {"name": "torch", "shots": 20},
                                            "train": {"epochs": 1, "optimizer": {"name": "cobyla", "options": {"maxiter": 5}}}},
                                           marks=pytest.mark.xfail(strict=True, reason="issue 18 item 7: COBYLA evaluations are not forecast")),
    "adam-parameter_shift-zne-shots": pytest.param({"backend": {"name": "torch.noisy", "shots": 50}, "mitigation": [{"name": "zne"}],
                                                    "model": {"quantum": {"n_qubits": 4, "layers": 1, "gradient": "parameter_shift"}}},
                                                   marks=pytest.mark.xfail(strict=True, reason="issue 18 item 7: folded-circuit gradients")),
}


@pytest.mark.parametrize("sections", list(CASES.values()), ids=list(CASES))
def test_the_estimate_is_an_upper_bound_within_ten_percent(tmp_path, sections):
    sections = {**TINY, "train": {"epochs": 1}, **sections}
    profile = write_profile(tmp_path, **sections)
    est = estimate_run(prepare_as_run(load_profile(profile))).total
    spent = train(profile, out=tmp_path / "run", quiet=True).record["ledger"]
    for key in ("jobs", "circuits", "shots"):
        actual, predicted = spent[key], getattr(est, key)
        assert actual <= predicted <= 1.1 * actual, (key, actual, predicted)
