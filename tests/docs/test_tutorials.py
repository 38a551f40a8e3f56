"""Every tutorial in docs/tutorials runs as a script and reaches the number its page reports.

Each runs in a subprocess, as a reader would run it, and prints ``label: value`` lines; the
assertions here are the tutorials' headline numbers (the scripts assert them too, so a reader
running one sees the same failure).
"""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest
import torch

import hqnn_core

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "docs" / "tutorials"


def run_tutorial(script: str, *args: str, autoload: bool = False) -> dict[str, str]:
    """Run ``docs/tutorials/<script>`` and return its ``label: value`` lines."""
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "0" if autoload else "1"}
    proc = subprocess.run([sys.executable, str(TUTORIALS / script), *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr[-4000:]}"
    return {k.strip(): v.strip() for k, v in (line.rsplit(":", 1) for line in proc.stdout.splitlines() if ":" in line)}


def test_every_tutorial_script_has_a_page_and_a_test():
    scripts = {p.name for p in TUTORIALS.glob("*.py")}
    pages = "".join(p.read_text() for p in TUTORIALS.glob("*.md"))
    tested = Path(__file__).read_text()
    for script in scripts:
        assert f"{{literalinclude}} {script}" in pages, f"{script} is not included in any tutorial page"
        assert f'"{script}"' in tested, f"{script} is not run by {Path(__file__).name}"


def test_digits_tutorial_reaches_90_percent():
    out = run_tutorial("digits_classifier.py")
    assert out["train/test samples"] == "540/180"
    assert float(out["hybrid test accuracy"]) >= 0.90
    assert float(out["classical test accuracy"]) >= 0.90  # the baseline is a real classifier, reported beside it


@pytest.mark.vendor
def test_three_vendors_tutorial_trains_the_same_model_on_each():
    for module in ("qiskit_aer", "pennylane", "braket.default_simulator"):
        pytest.importorskip(module)
    out = run_tutorial("three_vendors.py", autoload=True)
    accuracies = {name: float(out[name].split()[-1]) for name in ("torch", "qiskit.aer", "pennylane:default.qubit", "braket.local:sv")}
    assert all(acc >= 0.9 for acc in accuracies.values()), accuracies
    assert len(set(accuracies.values())) == 1, f"the same model on exact simulators should classify identically: {accuracies}"
    assert float(out["largest difference from the torch backend"]) < 1e-4


@pytest.mark.vendor
def test_three_vendors_page_states_each_backends_gradient_and_jobs():
    """The page's table is what the script's layers do: gradient chosen and jobs for one step of 16."""
    for module in ("qiskit_aer", "pennylane", "braket.default_simulator"):
        pytest.importorskip(module)
    sys.path.insert(0, str(TUTORIALS))
    try:
        from digits_classifier import hybrid_model
    finally:
        sys.path.remove(str(TUTORIALS))
    import hqnn_braket
    import hqnn_pennylane
    import hqnn_qiskit

    page = (TUTORIALS / "three-vendors.md").read_text()
    expected = {"torch": ("backprop", 1), "qiskit.aer": ("parameter_shift", 1),
                "pennylane:default.qubit": ("backprop", 1), "braket.local:sv": ("parameter_shift", 1)}
    with ExitStack() as stack:  # the suite runs without entry-point autoload
        for name, plugin in (("qiskit", hqnn_qiskit), ("pennylane", hqnn_pennylane), ("braket", hqnn_braket)):
            stack.enter_context(hqnn_core.temporary_plugin(plugin, name=name, distribution="hqnn"))
        _check_vendor_rows(page, expected, hybrid_model)


def _check_vendor_rows(page, expected, hybrid_model):
    for backend, (gradient, jobs) in expected.items():
        model = hybrid_model(backend=backend, classes=2)
        layer = model[2]
        model(torch.rand(16, 64)).sum().backward()
        assert (layer.gradient.name, layer.backend.accounting.jobs) == (gradient, jobs), backend
        row = next(line for line in page.splitlines() if line.startswith(f"| `{backend}` |"))
        assert gradient.replace("_", "-") in row and (f"{jobs} tasks" in row if jobs > 1 else "one " in row), row


def test_digits_page_describes_how_the_example_profile_differs():
    import yaml

    profile = yaml.safe_load((ROOT / "examples" / "digits.yaml").read_text())
    page = (TUTORIALS / "digits.md").read_text()
    assert profile["data"]["classes"] == [0, 1] and "digits 0 and 1 only" in page
    assert profile["model"]["quantum"]["ansatz"] == "hardware_efficient" and "`hardware_efficient` ansatz" in page
    assert profile["model"]["front_end"]["kind"] == "none" and "PCA to 4 features" in page
    assert "The same model as a profile" not in page


@pytest.mark.vendor
def test_bring_your_circuit_tutorial_trains_a_qiskit_circuit_and_a_qnode_on_four_backends():
    for module in ("qiskit_aer", "pennylane", "braket.default_simulator"):
        pytest.importorskip(module)
    out = run_tutorial("bring_your_circuit.py", autoload=True)
    for kind in ("qiskit", "pennylane"):
        for backend in ("torch", "qiskit.aer", "pennylane:default.qubit", "braket.local:sv"):
            assert float(out[f"{kind} circuit on {backend}"].split()[-1]) >= 0.85
        assert float(out[f"{kind} circuit, largest difference from the torch backend"]) < 1e-4


def test_mnist_cnn_tutorial_reaches_95_percent():
    out = run_tutorial("mnist_cnn.py")
    assert out["train/test images"] == "600/400"
    assert float(out["hybrid test accuracy"]) >= 0.95


@pytest.mark.slow
def test_transfer_learning_tutorial_one_epoch_on_a_pretrained_backbone_matches_ten_from_scratch():
    out = run_tutorial("transfer_learning.py")
    assert out["3-vs-5 train/test images"] == "300/391"
    assert float(out["pretrained CNN, ten-digit accuracy on held-out images"]) >= 0.85  # the backbone learnt digits (0.94 measured)
    transfer, scratch = float(out["pretrained + quantum head, 1 epoch"]), float(out["from scratch + quantum head, 10 epochs"])
    assert transfer >= scratch  # the done-when of issue 17; measured 0.990 vs 0.969, 8 of the 391 test images
    assert transfer >= 0.97 and float(out["pretrained + classical head, 1 epoch"]) >= 0.95


def test_ansatz_plugin_tutorial_passes_conformance_and_trains():
    out = run_tutorial("ansatz_plugin.py")
    passed, total = (int(n) for n in out["conformance checks passed"].split(" of "))
    assert passed >= 10 and total - passed <= 2  # the rest are skipped, none failed (the script asserts it)
    assert out["checks the broken ansatz fails"] == "check_ansatz_weight_count_matches_slots"
    assert float(out["test accuracy with tutorial.ring"]) >= 0.95


def test_hardware_gap_tutorial_mitigation_removes_most_of_the_noise_error():
    out = run_tutorial("hardware_gap.py")
    error = {label: float(out[label].rsplit("output error", 1)[1]) for label in ("exact (torch)", "noisy", "noisy-readout", "noisy-readout-zne")}
    assert error["exact (torch)"] == 0.0
    assert error["noisy"] > 0.1  # 8% readout flips and 2% depolarizing move the outputs (0.207 when measured)
    assert error["noisy-readout-zne"] < error["noisy-readout"] < error["noisy"]
    assert float(out["output error removed by mitigation"]) >= 0.5  # 0.75 when measured
