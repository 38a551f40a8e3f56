"""Circuit diagrams and specs: what they show matches the circuit, and the step cost matches a real step."""

from __future__ import annotations

import pytest
import torch

from hqnn_core import QuantumLayer
from hqnn_core.circuit import CircuitBuilder, Observable


def _bell_like():
    b = CircuitBuilder(3)
    b.add("H", [0])
    b.add("RY", [1], b.input(0, coeff=2.0, offset=0.5))
    b.add("CNOT", [0, 2])
    b.add("RZZ", [1, 2], b.weight(0))
    b.add("Rot", [0], b.weight(1), b.weight(2), 0.25)
    return b.build([Observable.parse("Z0"), Observable.parse("0.5*X1Y2")])


def test_text_diagram_shows_gates_angles_wires_and_observables():
    text = _bell_like().draw(max_width=200)
    lines = text.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["0", "1", "2"]
    assert "H" in lines[0] and "╭●" in lines[0] and "Rot(w[1],w[2],0.25)" in lines[0]
    assert "RY(2·x[0]+0.5)" in lines[1] and "╭RZZ(w[0])" in lines[1]
    assert "╰X" in lines[2] and "╰RZZ(w[0])" in lines[2]
    assert "│" in lines[1]  # the CNOT from wire 0 to wire 2 crosses wire 1
    assert lines[0].endswith("⟨Z⟩") and lines[1].endswith("⟨O1⟩") and lines[2].endswith("⟨O1⟩")
    assert lines[3] == "O1 = 0.5*X1Y2"


@pytest.mark.parametrize("width", [40, 60, 80])
def test_text_diagram_wraps_to_the_width_it_is_given(width):
    layer = QuantumLayer(4, encoder="angle", ansatz="strongly_entangling", layers=3, seed=0)
    text = layer.draw(max_width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    # every op appears once, whatever the wrapping
    assert text.count("Rot(") == 12 and text.count("RY(x[") == 4
    assert text.count("●") == 12 and text.count("╭X") + text.count("╰X") == 12  # 4 CNOTs per layer, each drawn once


def test_figure_holds_the_text_diagram():
    fig = _bell_like().draw_figure()
    assert _bell_like().draw(max_width=160) in [t.get_text() for t in fig.texts]


def test_specs_count_the_circuit():
    specs = _bell_like().specs()
    assert specs["n_qubits"] == 3 and specs["n_ops"] == 5 and specs["depth"] == 3
    assert specs["gate_counts"] == {"CNOT": 1, "H": 1, "RY": 1, "RZZ": 1, "Rot": 1}
    assert specs["slots_by_source"] == {"input": 1, "weight": 3, "const": 1}
    assert specs["n_trainable_parameters"] == 3 and specs["n_two_qubit_gates"] == 2


@pytest.mark.parametrize(
    ("options", "inputs_need_grad"),
    [
        ({"gradient": "parameter_shift", "shots": 100}, False),
        ({"gradient": "parameter_shift", "mitigation": ["zne"], "backend": "torch.noisy"}, True),
        ({"gradient": "finite_diff"}, True),
        ({}, True),
        ({"gradient": "spsa"}, False),
    ],
)
def test_layer_specs_count_what_a_training_step_sends(options, inputs_need_grad):
    layer = QuantumLayer(3, encoder="angle", ansatz="strongly_entangling", layers=1, seed=0, **options)
    step = layer.specs(batch_size=8, inputs_need_grad=inputs_need_grad)["per_training_step"]
    assert layer.specs()["n_trainable_parameters"] == layer.weights.numel()
    layer(torch.rand(8, 3, requires_grad=inputs_need_grad)).sum().backward()
    accounting = layer.backend.accounting
    assert (step["circuits"], step["shots"], step["jobs"]) == (accounting.circuits, accounting.shots, accounting.jobs)
