"""Issue 18 item 9: ``backend.options.seed`` reaches whichever backend of a retry/fallback chain serves a call.

A chain with no faults must draw exactly the shots its primary alone draws (so adding a retry or
fallback section changes no number), and a different seed must give different numbers under a chain.
"""

from __future__ import annotations

import pytest
import torch
from training_helpers import write_profile

from hqnn_core.components import get_backend
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.layer import QuantumLayer
from hqnn_core.training import train

pytestmark = pytest.mark.filterwarnings("ignore::hqnn_core.errors.FallbackWarning")

SHOTS = {"name": "torch", "shots": 64}
RETRY = {"attempts": 2, "backoff_s": 0, "jitter_s": 0}


def _weights(tmp_path, name, backend):
    profile = write_profile(tmp_path, f"{name}.yaml", backend=backend, train={"epochs": 1}, data={"max_train": 32, "max_test": 8})
    result = train(profile, out=tmp_path / name, quiet=True)
    return result, {k: v.clone() for k, v in result.model.state_dict().items()}


def _equal(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_chain_without_faults_trains_exactly_like_no_chain_and_the_seed_still_matters(tmp_path):
    _, plain = _weights(tmp_path, "plain", {**SHOTS, "options": {"seed": 123}})
    retry, with_retry = _weights(tmp_path, "retry", {**SHOTS, "options": {"seed": 123}, "retry": RETRY})
    _, with_fallback = _weights(tmp_path, "fallback", {**SHOTS, "options": {"seed": 123}, "fallback": ["torch"]})
    _, other_seed = _weights(tmp_path, "other", {**SHOTS, "options": {"seed": 456}, "retry": RETRY})
    assert isinstance(retry.model.quantum.backend, FallbackBackend)
    assert _equal(plain, with_retry) and _equal(plain, with_fallback)  # bit-identical: the chain adds no randomness
    assert not _equal(with_retry, other_seed)  # before the fix seeds 123 and 456 gave identical weights under a chain
    assert retry.record["backend"]["options"]["seed"] == 123  # run.json showed {} for a chain


def test_the_seed_reaches_the_fallback_that_serves():
    layer = QuantumLayer(n_qubits=2, backend="torch", shots=None)
    circuit, rows = layer.circuit, torch.rand(3, layer.circuit.n_slots, dtype=torch.float64)
    alone = get_backend("torch", seed=5).expectations(circuit, rows, shots=200)
    chain = FallbackBackend([get_backend("faulty:torch?rate=1&kinds=unavailable"), get_backend("torch", seed=5)])
    served = chain.expectations(circuit, rows, shots=200)
    assert chain.links[1].served == 1 and torch.equal(served, alone)  # the same draw the fallback gives on its own
    other = FallbackBackend([get_backend("faulty:torch?rate=1&kinds=unavailable"), get_backend("torch", seed=6)])
    assert not torch.equal(other.expectations(circuit, rows, shots=200), alone)
