"""The plugin is discovered through its entry point and its components train in hqnn."""

import torch
from hqnn_example_ansatz.components import DenseAngleEncoder, LadderAnsatz

import hqnn_core


def test_plugin_is_listed_with_its_distribution():
    plugins = {p["name"]: p for p in hqnn_core.list_plugins()}
    assert plugins["example"]["distribution"] == "hqnn-example-ansatz"
    assert plugins["example"]["status"] == "ok"


def test_components_resolve_by_name():
    assert hqnn_core.get_plugins().ansatze.get("example.ladder") is LadderAnsatz
    assert hqnn_core.get_plugins().encoders.get("example.dense_angle") is DenseAngleEncoder


def test_layer_built_by_names_trains():
    torch.manual_seed(0)
    layer = hqnn_core.QuantumLayer(2, encoder="example.dense_angle", ansatz="example.ladder", layers=2, seed=0)
    x = torch.rand(16, 4) * 3
    target = torch.cos(x[:, :2])  # a smooth function of the inputs the layer can fit
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = torch.mean((layer(x) - target) ** 2)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
