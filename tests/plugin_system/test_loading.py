"""Plugins load from entry points one at a time: broken ones are isolated, strict mode makes them fatal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import hqnn_core
from hqnn_core import (
    DuplicateComponentError,
    IncompatiblePluginError,
    MissingExtraError,
    PluginError,
    PluginLoadError,
    PluginLoadWarning,
    QuantumLayer,
    UnknownComponentError,
)
from hqnn_core.plugin_manager import DEFAULT_PLUGINS, Plugins, get_plugins

REPO = Path(__file__).resolve().parents[2]


def test_builtins_register_through_the_same_hooks():
    plugins = Plugins(autoload=False)
    assert [p.name for p in plugins.plugins()] == sorted(DEFAULT_PLUGINS)
    assert plugins.encoders.names() == ["amplitude", "angle", "basis", "iqp", "reuploading"]
    assert plugins.ansatze.names() == ["basic_entangler", "hardware_efficient", "separable", "strongly_entangling"]
    assert plugins.gradients.names() == ["adjoint", "backprop", "finite_diff", "parameter_shift", "spsa"]
    assert plugins.backends.names() == ["faulty", "torch", "torch.noisy"]
    assert plugins.mitigators.names() == ["readout", "zne"]
    entry = plugins.encoders.entry("angle")
    assert (entry.plugin, entry.distribution) == ("hqnn_plugins.layouts.encoders", "hqnn")


def test_entry_point_plugin_is_loaded_and_attributed(fake_site, good_plugin):
    fake_site.add("hqnn-good", "good_plugin", good_plugin, entry_name="good")
    plugins = get_plugins()
    info = {p.name: p for p in plugins.plugins()}["good"]
    assert (info.distribution, info.version, info.status, info.hooks) == ("hqnn-good", "1.0", "ok", ["hqnn_register_encoders"])
    entry = plugins.encoders.entry("good.doubled")
    assert (entry.plugin, entry.distribution) == ("good", "hqnn-good")
    layer = QuantumLayer(1, encoder="good.doubled", ansatz="basic_entangler", seed=0).double()
    with torch.no_grad():
        layer.weights.zero_()
    assert layer(torch.tensor([[0.4]], dtype=torch.float64)).item() == pytest.approx(torch.cos(torch.tensor(0.8)).item())


def test_broken_plugin_is_isolated_and_reported(fake_site, good_plugin):
    fake_site.add("hqnn-good", "good_plugin", good_plugin, entry_name="good")
    fake_site.add("hqnn-broken", "broken_plugin", "import module_that_does_not_exist\n", entry_name="broken")
    with pytest.warns(PluginLoadWarning, match=r'Error importing plugin "broken" from hqnn-broken 1.0: ModuleNotFoundError'):
        plugins = get_plugins()
    info = {p.name: p for p in plugins.plugins()}
    assert info["broken"].status == "broken" and "module_that_does_not_exist" in info["broken"].error
    assert info["good"].status == "ok" and "good.doubled" in plugins.encoders


def test_strict_mode_makes_a_broken_plugin_fatal(fake_site, good_plugin, monkeypatch):
    fake_site.add("hqnn-broken", "broken_plugin", "raise RuntimeError('boom at import')\n", entry_name="broken")
    monkeypatch.setenv("HQNN_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match=r'Error importing plugin "broken" from hqnn-broken 1.0: RuntimeError: boom at import .*strict'):
        get_plugins()


def test_duplicate_names_raise_naming_both_distributions(fake_site, good_plugin):
    fake_site.add("hqnn-good", "good_plugin", good_plugin, entry_name="good")
    fake_site.add("hqnn-copycat", "copycat_plugin", good_plugin, entry_name="copycat", version="2.5")
    with pytest.raises(DuplicateComponentError) as info:
        get_plugins()
    message = str(info.value)
    assert "'good.doubled' is registered twice: by hqnn-copycat 2.5" in message or "by hqnn-good 1.0" in message
    assert "hqnn-good 1.0" in message and "hqnn-copycat 2.5" in message and "HQNN_DISABLE_PLUGINS" in message


def test_third_party_names_must_be_namespaced(fake_site, good_plugin):
    fake_site.add("hqnn-bare", "bare_plugin", good_plugin.replace('"good.doubled"', '"doubled"'), entry_name="bare")
    with pytest.raises(PluginError, match=r"registered encoder 'doubled' without a namespace; .* e\.g\. 'bare\.doubled'"):
        get_plugins()


def test_misspelled_hook_is_reported_with_the_fix(fake_site, good_plugin):
    typo = good_plugin.replace("def hqnn_register_encoders", "def hqnn_register_encoder")
    fake_site.add("hqnn-typo", "typo_plugin", typo, entry_name="typo")
    with pytest.raises(PluginError, match=r"plugin 'typo' from hqnn-typo implements an unknown hook.*Hook names start with `hqnn_`"):
        get_plugins()


def test_incompatible_plugin_is_skipped_or_fatal_in_strict_mode(fake_site, good_plugin, monkeypatch):
    fake_site.add("hqnn-future", "future_plugin", good_plugin, entry_name="future", requires=("hqnn>=9.0",))
    with pytest.warns(PluginLoadWarning, match=r"hqnn-future 1.0 requires hqnn>=9.0 but 0\.1\.0 is installed"):
        plugins = get_plugins()
    assert {p.name: p.status for p in plugins.plugins()}["future"] == "broken"
    hqnn_core.reset_plugins()
    monkeypatch.setenv("HQNN_STRICT_PLUGINS", "1")
    with pytest.raises(IncompatiblePluginError, match="requires hqnn>=9.0"):
        get_plugins()


def test_disable_and_load_only_switches(fake_site, good_plugin, monkeypatch):
    fake_site.add("hqnn-good", "good_plugin", good_plugin, entry_name="good")
    monkeypatch.setenv("HQNN_DISABLE_PLUGINS", "good")
    plugins = get_plugins()
    assert {p.name: p.status for p in plugins.plugins()}["good"] == "blocked"
    assert "good.doubled" not in plugins.encoders and "good_plugin" not in sys.modules
    hqnn_core.reset_plugins()
    monkeypatch.delenv("HQNN_DISABLE_PLUGINS")
    monkeypatch.setenv("HQNN_LOAD_PLUGINS", "someone_else")
    assert {p.name: p.status for p in get_plugins().plugins()}["good"] == "blocked"


LAZY_BACKEND = """
    from hqnn_core import hookimpl

    @hookimpl
    def hqnn_register_backends(registry):
        registry.add("fakevendor.sim", "fakevendor_sdk_adapter:SimBackend", extra="fakevendor", requires=("fakevendor_sdk",))
"""


def test_backends_register_lazily_and_name_the_extra(fake_site, good_plugin):
    fake_site.add("hqnn-fakevendor", "fakevendor_plugin", LAZY_BACKEND, entry_name="fakevendor")
    plugins = get_plugins()
    entry = plugins.backends.entry("fakevendor.sim")
    assert not entry.available and 'pip install "hqnn[fakevendor]"' in entry.reason
    with pytest.raises(MissingExtraError, match=r"Backend 'fakevendor.sim' needs fakevendor_sdk.*pip install \"hqnn\[fakevendor\]\""):
        hqnn_core.get_backend("fakevendor.sim")
    assert "fakevendor_sdk_adapter" not in sys.modules


def test_unknown_names_suggest_close_matches_and_vendor_extras():
    with pytest.raises(UnknownComponentError, match=r"Unknown backend 'troch'\. Did you mean 'torch'\?"):
        hqnn_core.get_backend("troch")
    with pytest.raises(UnknownComponentError, match=r'come from PennyLane: install it with pip install "hqnn\[pennylane\]"'):
        hqnn_core.get_backend("pennylane:default.qubit")
    with pytest.raises(UnknownComponentError, match=r"Installed encoders: amplitude, angle, basis, iqp, reuploading"):
        hqnn_core.get_encoder("angel")


def test_temporary_plugin_registers_for_a_block_only():
    from hqnn_core import Ansatz, hookimpl

    class Idle(Ansatz):
        """An ansatz that applies one RZ per wire."""

        name = "idle"

        def weights_per_layer(self, n_qubits):
            return n_qubits

        def add_layer(self, builder, wires, layer):
            for j, w in enumerate(wires):
                builder.add("RZ", [w], builder.weight(j))

    class Plugin:
        @hookimpl
        def hqnn_register_ansatze(self, registry):
            registry.add(Idle, name="tmp.idle")

    with hqnn_core.temporary_plugin(Plugin(), name="tmp"):
        assert get_plugins().ansatze.get("tmp.idle") is Idle
    assert "tmp.idle" not in get_plugins().ansatze


def test_real_third_party_package_installs_is_discovered_and_trains(tmp_path, monkeypatch):
    """pip-installs plugins/examples/hqnn-example-ansatz into a temporary target and trains with its components."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target),
         str(REPO / "plugins" / "examples" / "hqnn-example-ansatz")],
        check=True, capture_output=True, timeout=300,
    )
    monkeypatch.syspath_prepend(str(target))
    monkeypatch.setenv("HQNN_DISABLE_PLUGIN_AUTOLOAD", "0")
    import importlib

    importlib.invalidate_caches()
    hqnn_core.reset_plugins()
    try:
        plugins = {p["name"]: p for p in hqnn_core.list_plugins()}
        assert plugins["example"]["distribution"] == "hqnn-example-ansatz" and plugins["example"]["status"] == "ok"
        layer = QuantumLayer(2, encoder="example.dense_angle", ansatz="example.ladder", layers=2, seed=0)
        x = torch.rand(32, 4) * 3
        y = (x[:, 0] > 1.5).float()
        head = torch.nn.Linear(2, 1)
        opt = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=0.1)
        for _ in range(60):
            opt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(head(layer(x)).squeeze(1), y)
            loss.backward()
            opt.step()
        accuracy = ((head(layer(x)).squeeze(1) > 0).float() == y).float().mean().item()
        assert accuracy >= 0.9, accuracy
    finally:
        for name in [m for m in sys.modules if m.startswith("hqnn_example_ansatz")]:
            sys.modules.pop(name)
        importlib.invalidate_caches()
        hqnn_core.reset_plugins()


def test_no_vendor_sdk_is_imported_by_startup_or_listing():
    code = (
        "import sys, hqnn_core; from hqnn_core.plugin_manager import Plugins;"
        "p = Plugins(autoload=True); [e.available for e in p.backends.entries()];"
        "bad = [m for m in ('qiskit', 'qiskit_aer', 'pennylane', 'braket') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cli_help_works():
    result = subprocess.run([sys.executable, "-m", "hqnn_core", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Hybrid quantum-classical" in result.stdout
