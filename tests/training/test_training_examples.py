"""The example profiles and the plain-Python example reach their accuracy targets."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from training_helpers import EXAMPLES

from hqnn_core.config import load_profile
from hqnn_core.training import train
from hqnn_core.training.generative import prepare_born_machine
from hqnn_core.training.kernel_run import prepare_kernel
from hqnn_core.training.prepare import prepare

PROFILES = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


def test_the_examples_are_there():
    assert {"digits.yaml", "digits10.yaml", "mnist.yaml", "linearly_separable.yaml"} <= set(PROFILES)


@pytest.mark.parametrize("name", PROFILES)
def test_every_example_profile_validates(name):
    loaded = load_profile(EXAMPLES / name)
    if loaded.profile.model.kind == "born_machine":  # tests/training/test_born_machine_run.py trains it
        assert prepare_born_machine(loaded).machine.training_layer.backend.name == "torch"
        return
    if loaded.profile.model.kind == "kernel":  # tests/training/test_kernel_run.py trains it
        plan = prepare_kernel(loaded)
        assert plan.kernel.backend.name == "torch" and plan.dataset.n_classes == 2
        return
    prepared = prepare(loaded)
    assert prepared.layer.backend.name == "torch" and prepared.dataset.n_classes >= 2


def test_linearly_separable_with_reuploading_reaches_95_percent(tmp_path):
    record = train(EXAMPLES / "linearly_separable.yaml", out=tmp_path / "run", quiet=True).record
    assert record["model"]["hybrid"]["quantum"]["encoder"]["name"] == "reuploading"
    assert record["data"]["n_train"] == 240 and record["data"]["n_test"] == 60
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.95
    assert record["comparison"]["baseline_test_accuracy"] is not None


def test_ten_class_digits_on_8_qubits_reaches_85_percent_with_the_baseline_beside_it(tmp_path):
    record = train(EXAMPLES / "digits10.yaml", out=tmp_path / "run", quiet=True).record
    assert record["model"]["hybrid"]["quantum"]["n_qubits"] == 8 and len(record["data"]["labels"]) == 10
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.85
    assert record["comparison"]["baseline_test_accuracy"] >= 0.5  # reported side by side, and a real classifier


def test_mnist_cnn_profile_reaches_97_percent_ci_sized(tmp_path):
    """CI runs 600 of the 1,426 training images for 4 epochs; the full profile is measured in the report."""
    overrides = ["data.max_train=600", "train.batch_size=16", "train.epochs=4", "train.baseline=false"]
    record = train(load_profile(EXAMPLES / "mnist.yaml", overrides), out=tmp_path / "run", quiet=True).record
    assert record["data"]["labels"] == [3, 5] and record["data"]["n_test"] == 476
    assert record["model"]["hybrid"]["quantum"]["n_qubits"] >= 4
    assert "Conv2d" in record["model"]["hybrid"]["architecture"]
    assert record["hybrid"]["final"]["test_accuracy"] >= 0.97


def test_plain_python_example_prints_both_accuracies():
    env = {**os.environ, "HQNN_DISABLE_PLUGIN_AUTOLOAD": "1"}
    proc = subprocess.run([sys.executable, str(EXAMPLES / "digits_classifier.py")], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(":") for line in proc.stdout.strip().splitlines())
    assert float(lines["hybrid test accuracy"]) >= 0.98
    assert float(lines["baseline test accuracy"]) >= 0.9
