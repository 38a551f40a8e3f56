"""The adapter built in docs/plugins/writing-a-backend-adapter.md passes the conformance suite and keeps one job per step."""

from __future__ import annotations

import pytest
import torch
from docs_pages import marked_block, module_from, page

from hqnn_core import QuantumLayer, hookimpl, temporary_plugin
from hqnn_core.testing import check_component


@pytest.fixture
def acme():
    module = module_from(marked_block(page("plugins/writing-a-backend-adapter.md"), "adapter-example"), "acme_backend")

    class Plugin:
        @hookimpl
        def hqnn_register_backends(self, registry):
            registry.add("acme.sim", module.AcmeSimulator)

    with temporary_plugin(Plugin(), name="acme", distribution="hqnn-acme"):
        yield module


def test_example_adapter_passes_every_conformance_check(acme):
    results = check_component(acme.AcmeSimulator(seed=3), on_fail=None)
    assert [(r.check, r.status, r.message) for r in results if r.status != "passed"] == []
    names = {r.check for r in results}
    assert {"check_backend_one_job_per_call", "check_backend_error_mapping", "check_registered_name_matches",
            "check_backend_golden_shots", "check_backend_describe_provenance"} <= names  # the guide's claims were checked


def test_example_adapter_sends_one_job_per_training_step(acme):
    layer = QuantumLayer(3, layers=2, backend="acme.sim", shots=1000, seed=0)
    assert layer.gradient.name == "parameter_shift"
    x = torch.rand(8, 3)
    layer(x).sum().backward()
    acc = layer.backend.accounting
    assert (acc.calls, acc.jobs) == (1, 1)
    weight_slots = sum(slot.source == "weight" for slot in layer.circuit.slots)  # x does not require grad: inputs are not shifted
    assert weight_slots == 12
    assert acc.circuits == 8 * (1 + 2 * weight_slots)  # every sample and both shifts of every weight slot, in one job
    assert acc.shots == acc.circuits * 1000


def test_example_adapter_classifies_vendor_errors(acme):
    from hqnn_core import PermanentBackendError, TransientBackendError

    backend = acme.AcmeSimulator()
    backend._client.run_batch = lambda *a, **k: (_ for _ in ()).throw(TimeoutError("read timed out"))
    layer = QuantumLayer(2, backend=backend)
    with pytest.raises(TransientBackendError, match="acme.sim: TimeoutError: read timed out; hqnn retries it"):
        layer(torch.zeros(1, 2))
    assert backend.accounting.jobs == 0
    assert isinstance(backend.map_error(KeyError("x")), PermanentBackendError)
