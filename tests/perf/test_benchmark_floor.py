"""The benchmark's reference simulator and fused floor compute what their docstrings say (numbers, no timing)."""

from __future__ import annotations

import math

import torch

from benchmarks import plain_torch
from benchmarks.measure import Timing, floors, round_ratios
from benchmarks.workloads import Workload


def test_reference_matches_the_analytic_expectation_of_one_qubit():
    # RY(x) then RY(a) RZ(b) on |0>: <Z> = cos(x + a); the RZ phase does not change it
    w = Workload("t", 1, 1, 3)
    x = torch.tensor([[0.1], [1.2], [2.9]], dtype=torch.float64)
    weights = torch.tensor([[0.7, -0.4]], dtype=torch.float64)
    got = plain_torch.z_expectations(plain_torch.final_state(w, x, weights))
    assert torch.allclose(got[:, 0], torch.cos(x[:, 0] + 0.7), atol=1e-14)


def test_reference_cnot_ring_on_two_qubits_matches_the_closed_form():
    # RY(x0), RY(x1); one layer of zero rotations; CNOT(0, 1): <Z0> = cos x0, <Z1> = cos x0 cos x1
    w = Workload("t", 2, 1, 1)
    x = torch.tensor([[0.3, 1.1]], dtype=torch.float64)
    got = plain_torch.z_expectations(plain_torch.final_state(w, x, torch.zeros(1, 4, dtype=torch.float64)))
    assert torch.allclose(got[0], torch.tensor([math.cos(0.3), math.cos(0.3) * math.cos(1.1)], dtype=torch.float64), atol=1e-14)


def test_fused_floor_moves_6L_plus_6_state_sizes_at_the_copy_rate():
    w = Workload("W3", 12, 6, 128)
    fl = floors(w, copy_gbps=10.0, gflops=100.0)
    state = 128 * 2**12 * 8
    assert math.isclose(fl["memory_s"], 42 * state / 10e9)
    assert math.isclose(fl["compute_s"], 3 * 12 * 7 * 14 * 128 * 2**12 / 100e9)
    assert fl["floor_s"] == max(fl["memory_s"], fl["compute_s"])


def test_round_ratios_pair_the_same_rounds():
    peer, base = Timing(by_round={0: 6.0, 1: 9.0, 3: 4.0}), Timing(by_round={0: 2.0, 1: 3.0, 2: 1.0})
    assert round_ratios(peer, base) == [3.0, 3.0]
