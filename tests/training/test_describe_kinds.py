"""``describe_kernel`` tells ``hqnn validate`` a kernel run without building it (no torch, no scikit-learn).

The oracle is the built kernel: :func:`hqnn_core.training.kernel_run.validate_lines` builds the
feature map on the backend stack and counts the Gram matrices' rows with ``kernel.cost``. Where the
description covers a profile its lines must be those; where it cannot tell, it gives ``None``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hqnn_core.config import load_profile
from hqnn_core.errors import ConfigError
from hqnn_core.training.data_summary import describe_data
from hqnn_core.training.describe_kinds import describe_born_machine, describe_kernel
from hqnn_core.training.kernel_run import validate_lines
from hqnn_core.training.spec import resolve

KERNEL = str(Path(__file__).resolve().parents[2] / "examples" / "kernel.yaml")


def _described(overrides: tuple[str, ...]) -> list[str] | None:
    loaded = load_profile(KERNEL, overrides)
    return describe_kernel(loaded, resolve(loaded), describe_data(loaded.profile.data, loaded.base_dir, loaded.source))


@pytest.mark.parametrize("overrides", [
    (),
    ("model.kernel.method=state",),
    ("model.kernel.type=projected", "model.kernel.gamma=0.5"),
    ("train.baseline=false", "limits.max_jobs=null"),
    ("model.quantum.encoder={name: angle}",),
    ("model.quantum.encoder={name: iqp, options: {repeats: 2}}", "model.kernel.C=1.0"),
])
def test_described_as_built(overrides):
    described = _described(overrides)
    assert described is not None
    assert described == validate_lines(load_profile(KERNEL, overrides))


@pytest.mark.vendor
@pytest.mark.parametrize(("backend", "sdk", "adapter"), [("pennylane:default.qubit", "pennylane", "pennylane"),
                                                         ("qiskit.aer", "qiskit_aer", "qiskit"), ("braket.local:sv", "braket", "braket")])
def test_vendor_backends_are_described_as_built_or_left_to_the_build(backend, sdk, adapter):
    import hqnn_core

    pytest.importorskip(sdk)
    with hqnn_core.temporary_plugin(pytest.importorskip(f"hqnn_{adapter}"), name=adapter, distribution="hqnn"):
        overrides = (f"backend.name={backend}",)
        described = _described(overrides)
        assert described is None or described == validate_lines(load_profile(KERNEL, overrides))
        described, built = _born(overrides)
        assert described is None or described == built


@pytest.mark.parametrize("overrides", [
    ("backend.shots=1000",),                     # compute-uncompute estimates
    ("model.kernel.method=compute_uncompute",),
    ("mitigation=[{name: readout}]", "backend.name=torch.noisy"),
    ("backend.fallback=['torch']",),
])
def test_what_only_the_build_can_tell_is_left_to_it(overrides):
    assert _described(overrides) is None


def test_a_profile_the_build_rejects_is_not_described():
    overrides = ("model.quantum.n_qubits=3",)  # angle on 3 qubits reads 3 features; the data has 4
    assert _described(overrides) is None
    with pytest.raises(ConfigError, match="takes 3 features, but the data has 4"):
        validate_lines(load_profile(KERNEL, overrides))


BORN = str(Path(__file__).resolve().parents[2] / "examples" / "born_machine.yaml")
LINEARLY_SEPARABLE = "${HQNN_DATASETS}/qml_benchmarks/linearly_separable/linearly_separable_4d.npz"


def _born(overrides: tuple[str, ...]) -> tuple[list[str] | None, list[str]]:
    """(described lines, lines of the built machine)."""
    from hqnn_core.training.generative import prepare_born_machine
    from hqnn_core.training.generative import validate_lines as built_lines

    loaded = load_profile(BORN, overrides)
    p = loaded.profile
    data = None if p.data.source == "bars_and_stripes" else describe_data(p.data, loaded.base_dir, loaded.source)
    described = describe_born_machine(loaded, resolve(loaded, with_fallback=bool(p.backend.fallback)), data)
    return described, built_lines(prepare_born_machine(loaded))


@pytest.mark.parametrize("overrides", [
    (),
    ("model.quantum.layers=2", "train.epochs=7", "limits.max_jobs=50"),
    ("model.quantum.ansatz=hardware_efficient", "model.born_machine.bandwidths=[1, 2]"),
    ("model.quantum.ansatz=basic_entangler", "model.quantum.init=identity_blocks", "model.quantum.layers=4"),
    ("model.quantum.gradient=backprop",),
    ("data.pattern_shape=[2, 3]", "model.quantum.n_qubits=6"),
    ("data.source=npz", f"data.path={LINEARLY_SEPARABLE}", "data.pattern_shape=null", "model.quantum.n_qubits=4"),
])
def test_born_machines_are_described_as_built(overrides):
    described, built = _born(overrides)
    assert described is not None
    assert described == built


@pytest.mark.parametrize("overrides", [
    ("backend.shots=500",),                          # sampled training
    ("model.quantum.gradient=parameter_shift",),     # the probs route
    ("backend.fallback=['torch']",),
])
def test_born_machines_only_the_build_can_tell_are_left_to_it(overrides):
    described, built = _born(overrides)
    assert described is None and built


def test_a_born_machine_the_build_rejects_is_not_described():
    loaded = load_profile(BORN, ("model.quantum.n_qubits=8",))
    assert describe_born_machine(loaded, resolve(loaded, with_fallback=False), None) is None


@pytest.mark.parametrize(("ansatz", "layers", "mirrored"), [("strongly_entangling", 3, False), ("basic_entangler", 4, True),
                                                            ("hardware_efficient", 2, False)])
def test_the_described_born_circuit_is_the_built_one(ansatz, layers, mirrored):
    from hqnn_core.circuit_assembly import build_ansatz_circuit
    from hqnn_core.generative import BornMachine
    from hqnn_core.plugin_manager import get_plugins

    built = BornMachine(4, layers=layers, ansatz=ansatz, init="identity_blocks" if mirrored else "uniform").training_layer.circuit
    described = build_ansatz_circuit(4, get_plugins().ansatze.layout(ansatz)(), layers, mirrored)
    assert (described.ops, described.slots) == (built.ops, built.slots)
