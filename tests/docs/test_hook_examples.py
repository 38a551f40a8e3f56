"""The example implementations in docs/plugins/hooks.md register, pass pluggy's validation and work.

Each example runs as its own plugin from a third-party distribution, so the registry applies its
full rules (namespaced names, base classes, docstrings) to what the page teaches.
"""

from __future__ import annotations

import dataclasses
import re

import click
import docsync
import pytest
import torch
from click.testing import CliRunner
from docs_pages import module_from, page

from hqnn_core import QuantumLayer, temporary_plugin
from hqnn_core.plugin_manager import REGISTRATION_HOOKS
from hqnn_plugins.torch_backend import TorchBackend

REGISTRY_OF = {hook: kind for kind, hook in REGISTRATION_HOOKS.items()}


def _examples() -> list[tuple[str, str]]:
    out = []
    for section in docsync.sections(page("plugins/hooks.md")):
        hook = docsync._heading_hook(section.title)
        if hook is None:
            continue
        blocks = re.findall(r"^```python\n(.*?)^```", "\n".join(section.lines) + "\n", re.S | re.M)
        out += [(hook, code) for code in blocks if "@hookimpl" in code]
    return out


EXAMPLES = _examples()
RUN = {"profile": {"source": "examples/digits.yaml"}, "backend": {"name": "torch"}, "status": "stopped", "wall_time_s": 1.5}


def test_every_hook_section_has_an_example():
    specs = docsync.hookspecs(__import__("hqnn_core.hookspecs", fromlist=["x"]))
    assert sorted(hook for hook, _ in EXAMPLES) == sorted(specs)


@pytest.mark.parametrize(("hook", "code"), EXAMPLES, ids=[hook for hook, _ in EXAMPLES])
def test_example_registers_and_runs(hook, code, capsys):
    module = module_from(code, f"docs_example_{hook}")
    implemented = [name for name, obj in vars(module).items() if name.startswith("hqnn_") and hasattr(obj, "hqnn_impl")]
    assert implemented == [hook], f"the example under {hook} implements {implemented}"
    with temporary_plugin(module, name="docs_example", distribution="hqnn-docs-example") as plugins:
        if hook in REGISTRY_OF:
            mine = [e for e in getattr(plugins, REGISTRY_OF[hook]).entries() if e.plugin == "docs_example"]
            assert mine and all("." in e.name for e in mine)
        elif hook == "hqnn_choose_gradient":
            layer = QuantumLayer(2)
            assert layer.gradient.name == "backprop"  # the example declines for backends other than acme.sim
            assert plugins.pm.hook.hqnn_choose_gradient(backend=layer.backend, circuit=layer.circuit, shots=None) == "backprop"
            adjoint_caps = dataclasses.replace(TorchBackend.capabilities, adjoint=True)
            acme = type("AcmeSim", (TorchBackend,), {"name": "acme.sim", "capabilities": adjoint_caps})()  # adjoint-capable, named acme.sim
            assert plugins.pm.hook.hqnn_choose_gradient(backend=acme, circuit=layer.circuit, shots=None) == "adjoint"
            assert plugins.pm.hook.hqnn_choose_gradient(backend=acme, circuit=layer.circuit, shots=100) == "parameter_shift"
        elif hook == "hqnn_register_commands":
            group = click.Group("hqnn")
            plugins.pm.hook.hqnn_register_commands(cli=group)
            result = CliRunner().invoke(group, ["acme-queue"])
            assert result.exit_code == 0 and "acme.qpu:alpha" in result.output
        elif hook == "hqnn_environment_info":
            assert plugins.environment_info() == {}  # acme-sdk is not installed
        elif hook == "hqnn_epoch_finished":
            plugins.pm.hook.hqnn_epoch_finished(run=RUN, epoch=2, metrics={"test_accuracy": 0.5, "shots_total": 100})
            assert capsys.readouterr().out == "epoch 2: test accuracy 0.500, 100 shots so far\n"
        elif hook == "hqnn_run_started":
            plugins.pm.hook.hqnn_run_started(run=RUN)
            assert capsys.readouterr().out == "run started: profile examples/digits.yaml on torch\n"
        else:
            assert hook == "hqnn_run_finished"
            plugins.pm.hook.hqnn_run_finished(run=RUN, error=RuntimeError("x"))
            assert capsys.readouterr().out == "run stopped (RuntimeError) after 1.5 s\n"


def test_registered_examples_build_working_layers():
    codes = dict(EXAMPLES)
    with temporary_plugin(module_from(codes["hqnn_register_encoders"], "enc"), name="enc", distribution="hqnn-docs-example"), \
         temporary_plugin(module_from(codes["hqnn_register_ansatze"], "ans"), name="ans", distribution="hqnn-docs-example"), \
         temporary_plugin(module_from(codes["hqnn_register_gradients"], "grad"), name="grad", distribution="hqnn-docs-example"):
        layer = QuantumLayer(3, encoder="acme.double_angle", ansatz="acme.ring", layers=2, gradient="acme.forward_diff", seed=0).double()
        exact = QuantumLayer(3, encoder="acme.double_angle", ansatz="acme.ring", layers=2, gradient="parameter_shift", seed=0).double()
        x = torch.rand(4, 3, dtype=torch.float64)
        for model in (layer, exact):
            model(x).sum().backward()
        # forward differences with h=0.01 agree with the exact parameter-shift gradient to O(h)
        assert torch.allclose(layer.weights.grad, exact.weights.grad, atol=0.05)
        assert not torch.allclose(layer.weights.grad, exact.weights.grad, atol=1e-6)
