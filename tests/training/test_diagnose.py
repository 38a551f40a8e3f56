"""Barren-plateau diagnostics against the literature's predictions (McClean et al. 2018; Cerezo et al. 2021)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from hqnn_core.circuit import Observable
from hqnn_core.components import get_ansatz
from hqnn_core.diagnostics import ansatz_circuit, cost_observable, gradient_variance, parse_depth, weight_gradients, write_report
from hqnn_core.errors import ConfigError

QUBITS = (2, 4, 6, 8)


@pytest.fixture(scope="module")
def report():
    return gradient_variance("hardware_efficient", QUBITS, depths=(1, "n"), costs=("local", "global"), samples=60, seed=0)


def _fit(report, cost, depth):
    return next(f for f in report.fits if f.cost == cost and f.depth == depth)


def test_deep_random_circuit_with_global_cost_has_a_barren_plateau(report):
    # a deep random circuit approaches a 2-design: Var[dC/dθ] ~ 2^-n, i.e. slope -ln 2 = -0.69 per qubit
    fit = _fit(report, "global", "n")
    for slope in (fit.slope_first, fit.slope_last, fit.slope_mean):
        assert -1.0 < slope < -0.5
    points = [p for p in report.points if p.cost == "global" and p.depth == "n"]
    assert points[-1].var_first < points[0].var_first / 20  # 2 -> 8 qubits: more than an order of magnitude


def test_shallow_circuit_with_local_cost_has_none(report):
    # one layer, Z on wire 1: its light cone is two qubits whatever n, so the variance does not decay
    fit = _fit(report, "local", "1")
    assert abs(fit.slope_first) < 0.1
    assert fit.slope_first > _fit(report, "global", "n").slope_first + 0.5


def test_gradients_match_parameter_shift_on_one_sample():
    # backprop through the torch backend against the exact two-term shift rule, computed independently
    ansatz = get_ansatz("hardware_efficient")
    circuit = ansatz_circuit(ansatz, 3, 2, cost_observable("global", 3))
    grad = weight_gradients(circuit, 12, 1, torch.Generator().manual_seed(5))
    weights = torch.rand(1, 12, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * (2 * math.pi)
    from hqnn_core.components import get_backend

    backend = get_backend("torch")
    for k in range(12):
        plus, minus = weights.clone(), weights.clone()
        plus[0, k] += math.pi / 2
        minus[0, k] -= math.pi / 2
        shift = 0.5 * float(backend.expectations(circuit, plus)[0, 0] - backend.expectations(circuit, minus)[0, 0])
        assert float(grad[0, k]) == pytest.approx(shift, abs=1e-10)


def test_costs_and_depths_parse():
    assert str(cost_observable("local", 4)) == "Z1" and str(cost_observable("global", 3)) == "Z0Z1Z2"
    assert cost_observable("Z0 Z2", 3) == Observable.parse("Z0Z2")
    assert (parse_depth("n", 6), parse_depth("2n", 3), parse_depth("4", 9)) == (6, 6, 4)
    with pytest.raises(ConfigError, match="outside 2 qubits"):
        cost_observable("Z5", 2)
    with pytest.raises(ConfigError, match="multiple of the qubit count"):
        parse_depth("deep", 3)
    with pytest.raises(ConfigError, match="at least 2"):
        gradient_variance(samples=1)


def test_report_files(report, tmp_path):
    files = write_report(report, tmp_path / "diag")
    data = json.loads((tmp_path / "diag" / "diagnose.json").read_text())
    assert len(data["points"]) == 16 and {(f["cost"], f["depth"]) for f in data["fits"]} == {("local", "1"), ("local", "n"), ("global", "1"), ("global", "n")}
    assert Path(files["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
