"""The mitigator written in docs/mitigation.md passes the conformance suite and removes readout bias."""

from __future__ import annotations

import pytest
import torch
from docs_pages import marked_block, module_from, page

from hqnn_core import QuantumLayer, temporary_plugin
from hqnn_core.testing import check_component


@pytest.fixture
def mitigation():
    module = module_from(marked_block(page("mitigation.md"), "mitigator-example"), "acme_mitigation")
    with temporary_plugin(module, name="acme", distribution="hqnn-acme"):
        yield module


def test_example_mitigator_passes_every_conformance_check(mitigation):
    results = check_component(mitigation.SymmetricReadout(), on_fail=None)
    assert [(r.check, r.status, r.message) for r in results if r.status != "passed"] == []
    assert {"check_mitigator_identity_when_noiseless", "check_mitigator_composes_with_gradient"} <= {r.check for r in results}


def test_example_mitigator_divides_by_the_calibrated_factors(mitigation):
    mitigator = mitigation.SymmetricReadout()
    mitigator.factors = torch.tensor([0.9, 0.8], dtype=torch.float64)  # as if calibrated on a noisy device
    circuit = QuantumLayer(2, observables=["Z0", "Z0Z1", "0.5*X1"]).circuit
    batch = mitigator.expand(circuit)
    out = mitigator.combine(batch, [torch.tensor([[0.45, 0.36, 0.2]], dtype=torch.float64)])
    assert torch.allclose(out, torch.tensor([[0.5, 0.5, 0.25]], dtype=torch.float64))


@pytest.mark.vendor
@pytest.mark.shots
def test_example_mitigator_removes_most_readout_error_on_qiskit_aer(mitigation):
    pytest.importorskip("qiskit_aer")
    import hqnn_qiskit

    noisy = {"name": "qiskit.aer", "options": {"readout_error": 0.08, "seed": 3}}
    x = torch.rand(8, 3, generator=torch.Generator().manual_seed(0)) * 3
    with temporary_plugin(hqnn_qiskit, name="qiskit", distribution="hqnn"), torch.no_grad():
        exact = QuantumLayer(3, layers=2, seed=0)(x).double()
        raw = QuantumLayer(3, layers=2, seed=0, backend=noisy, shots=20000)(x).double()
        layer = QuantumLayer(3, layers=2, seed=0, backend=noisy, shots=20000, mitigation=["acme.symmetric_readout"])
        mitigated = layer(x).double()
    raw_error, mitigated_error = (raw - exact).abs().mean().item(), (mitigated - exact).abs().mean().item()
    # readout flips of 8% shrink each <Z> by 0.84: a bias of about 0.06 on these outputs, mostly removed
    assert raw_error > 0.03
    assert mitigated_error < 0.25 * raw_error
    assert layer.backend.accounting.jobs == 2  # one calibration job, then one job for the forward pass
