"""Registries hold import strings with torch-free layouts: checking a profile's components needs no torch.

The oracle for each layout is the component it describes: the same options model, and for
gradients the rows that ``expand`` actually makes. Third-party plugins that register classes
directly keep working (tests/plugin_system/test_loading.py); a layout that does not fit is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hqnn_core.circuit import CircuitBuilder
from hqnn_core.errors import PluginError
from hqnn_core.interfaces import Encoder
from hqnn_core.interfaces.layout import EncoderLayout
from hqnn_core.plugin_manager import Plugins
from hqnn_core.registry import ComponentRegistry
from hqnn_plugins.layouts.backends import TorchLayout
from hqnn_plugins.torch_backend import TorchBackend

REPO = Path(__file__).resolve().parents[2]
KINDS = ("encoders", "ansatze", "gradients", "mitigators", "optimizers")


def test_building_the_registries_and_reading_every_builtin_options_import_no_torch():
    code = (
        "import sys\nfrom hqnn_core.plugin_manager import Plugins\np = Plugins(autoload=False)\n"
        f"for kind in {KINDS!r}:\n    reg = getattr(p, kind)\n    [reg.options(n)() for n in reg.names()]\n"
        "p.backends.options('torch')(); p.backends.layout('torch').capabilities\n"
        "print('LOADED', sorted(m for m in ('torch', 'numpy', 'sklearn', 'scipy') if m in sys.modules))\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins"), str(REPO / "adapters")])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert result.stdout.strip() == "LOADED []", result.stderr


@pytest.mark.parametrize("kind", KINDS)
def test_every_builtin_layout_is_the_torch_free_base_of_its_component(kind):
    registry = getattr(Plugins(autoload=False), kind)
    for name in registry.names():
        layout, component = registry.layout(name), registry.get(name)
        assert registry.entry(name).layout is layout
        assert issubclass(component, layout) and component.name == layout.name == name
        assert component.Options is layout.Options
        assert "torch" not in layout.__module__ and layout.__module__.startswith("hqnn_plugins.layouts.")


def test_the_torch_backends_take_options_and_capabilities_from_their_layouts():
    registry = Plugins(autoload=False).backends
    for name in ("torch", "torch.noisy"):
        layout, backend = registry.layout(name), registry.get(name)
        assert layout.name == backend.name == name
        assert backend.capabilities is layout.capabilities and backend.Options is layout.Options
    assert registry.layout("torch") is TorchLayout and TorchBackend.capabilities.adjoint


def _circuit():
    b = CircuitBuilder(3)
    b.add("RY", [0], b.input(0))
    b.add("CRX", [0, 1], b.weight(0))  # four-term rule: 4 shifted rows; each other slot 2
    b.add("RZ", [2], b.input(1).times(b.weight(1)))  # an input scaled by a weight
    b.add("Rot", [1], b.weight(2), b.weight(3), b.weight(4))
    b.add("CNOT", [1, 2])
    return b.build()


@pytest.mark.parametrize("name, options", [("parameter_shift", {}), ("finite_diff", {}), ("finite_diff", {"method": "forward"}),
                                           ("spsa", {"samples": 3, "seed": 1}), ("spsa", {"seed": 2})])
def test_rows_per_sample_are_the_rows_expand_makes(name, options):
    plugins = Plugins(autoload=False)
    layout, gradient = plugins.gradients.layout(name)(**options), plugins.gradients.get(name)(**options)
    circuit = _circuit()
    for mask in ([True] * circuit.n_slots, [s.source == "weight" for s in circuit.slots], [False, True, False, False, True, False]):
        rows = gradient.expand(circuit, torch.zeros(5, circuit.n_slots, dtype=torch.float64), torch.tensor(mask)).slot_values.shape[0]
        assert 5 * layout.rows_per_sample(circuit, mask) == rows, mask
    assert layout.rows_per_sample(circuit, [True] * circuit.n_slots) == {"parameter_shift": 1 + 2 * 5 + 4, "finite_diff": 1 + 2 * 6,
                                                                          "spsa": 1 + 2 * options.get("samples", 1)}[name] - (
        6 if options.get("method") == "forward" else 0)


class _Layout(EncoderLayout):
    """A third party's layout."""

    name = "acme.enc"

    def n_features(self, n_qubits: int) -> int:
        return n_qubits

    def add_ops(self, builder: CircuitBuilder, wires: list[int]) -> None:
        for i, w in enumerate(wires):
            builder.add("RX", [w], builder.input(i))


class _Encoder(_Layout, Encoder):
    """A third party's encoder."""


def test_layouts_are_checked_and_optional():
    registry: ComponentRegistry[Encoder] = ComponentRegistry("encoder", "hqnn_core.interfaces.encoder:Encoder", EncoderLayout)
    registry.add(f"{__name__}:_Encoder", name="acme.enc", layout=_Layout)
    registry.add(_Encoder, name="acme.direct")  # a class, no layout: the class is its own layout
    registry.add(f"{__name__}:_Encoder", name="acme.late", layout=f"{__name__}:_Missing")
    assert registry.layout("acme.enc") is _Layout and registry.get("acme.enc") is _Encoder
    assert registry.layout("acme.direct") is _Encoder and registry.options("acme.direct") is _Encoder.Options
    with pytest.raises(PluginError, match=r"its layout '.*:_Missing' failed to load"):
        registry.options("acme.late")
    with pytest.raises(TypeError, match="does not subclass hqnn_core.interfaces.layout.EncoderLayout"):
        registry.add("x:Y", name="acme.bad", layout=int)
    with pytest.raises(TypeError, match=r"is named 'acme.enc'; set its class attribute name"):
        registry.add("x:Y", name="acme.other", layout=_Layout)
