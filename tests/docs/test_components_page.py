"""The published models on docs/components.md build with the circuits the page describes."""

from __future__ import annotations

from docs_pages import marked_block, module_from, page


def test_published_models_example_builds_the_described_circuits():
    models = module_from(marked_block(page("components.md"), "published-models"), "published_models")
    reuploading, dressed, circuit_centric = models.reuploading, models.dressed, models.circuit_centric
    assert reuploading.n_qubits == 2 and reuploading.n_features == 5 and tuple(reuploading.encoder_weights.shape) == (4, 5)
    assert [op.wires for op in reuploading.circuit.ops if op.name == "CZ"] == [(0, 1)] * 2  # brick on 2 wires, none in the last layer
    assert [op.name for op in dressed.circuit.ops][:2] == ["H", "H"]
    assert circuit_centric.n_features == 5 and circuit_centric.encoder.n_encoded(6) == 14 and len(circuit_centric.circuit.observables) == 1
