"""``hqnn compare``: one trained digits model on several backends, against independent expectations."""

from __future__ import annotations

import json

import pytest
import torch
from training_helpers import write_profile

import hqnn_core
from hqnn_core.errors import ConfigError, UnknownComponentError
from hqnn_core.training import train
from hqnn_core.training.compare import BackendSpec, compare_run, load_specs_file, parse_backend_spec

READOUT = "torch.noisy?readout_error=0.05"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A small digits 0-vs-1 model trained exactly on torch (4 epochs, 40 test samples)."""
    folder = tmp_path_factory.mktemp("compare")
    return train(write_profile(folder), out=folder / "run", quiet=True)


def _exact_quantum_outputs(run) -> torch.Tensor:
    """The trained quantum layer's exact outputs on the test set, computed without compare's code."""
    from hqnn_core.config import load_profile
    from hqnn_core.training import prepare

    prepared = prepare(load_profile(run.run_dir / "profile.yaml"))
    prepared.model.load_state_dict(torch.load(run.run_dir / "model.pt", weights_only=True))
    with torch.no_grad():
        return prepared.model.middle(prepared.model.front(torch.from_numpy(prepared.dataset.x_test)))


def test_parse_backend_spec_reads_typed_options_and_reserved_keys():
    spec = parse_backend_spec("torch.noisy?readout_error=0.05&depolarizing=0.01&shots=2000&mitigation=readout+zne&label=noisy")
    assert spec == BackendSpec("torch.noisy", {"readout_error": 0.05, "depolarizing": 0.01}, 2000, ["readout", "zne"], "noisy")
    assert parse_backend_spec("torch?shots=none").shots is None
    with pytest.raises(ConfigError, match="shots must be a positive integer or 'none'"):
        parse_backend_spec("torch?shots=-3")
    with pytest.raises(ConfigError, match="NAME\\?key=value"):
        parse_backend_spec("torch?novalue")


def test_specs_file(tmp_path):
    path = tmp_path / "backends.yaml"
    path.write_text("- torch\n- {name: torch.noisy, options: {readout_error: 0.05}, shots: 100, mitigation: [readout]}\n")
    assert load_specs_file(path) == [BackendSpec("torch"), BackendSpec("torch.noisy", {"readout_error": 0.05}, 100, ["readout"])]
    path.write_text("- {name: torch, backend_options: {}}\n")
    with pytest.raises(ConfigError, match="keys name, options, shots, mitigation, label"):
        load_specs_file(path)


def test_compare_table_on_three_backends(small_run, tmp_path):
    specs = [parse_backend_spec(s) for s in ("torch", "torch?shots=2000", READOUT)]
    report = compare_run(small_run.run_dir, specs, mitigation=["readout"], out=tmp_path / "cmp")
    rows = {r["label"]: r for r in report["rows"]}
    recorded = small_run.record["hybrid"]["final"]["test_accuracy"]
    assert report["recorded_test_accuracy"] == recorded
    # the exact reference and the exact torch row reproduce the recorded accuracy, with no output error
    for label in ("exact (torch)", "torch"):
        assert rows[label]["test_accuracy"] == recorded and rows[label]["output_error"] == 0.0 and rows[label]["logit_error"] == 0.0
    # a symmetric readout flip p scales every <Z> by (1 - 2p) exactly: error = 2p * mean|exact output|
    exact = _exact_quantum_outputs(small_run)
    noisy = rows[READOUT]
    assert noisy["output_error"] == pytest.approx(0.1 * float(exact.abs().mean()), rel=1e-5)  # float32 data
    assert noisy["output_error"] > 0.01 and noisy["logit_error"] > 0.0
    # sampling alone: the error is shot noise, |N(0, se)| has mean se * sqrt(2/pi)
    sampled = rows["torch (2000 shots)"]
    assert 0.3 * sampled["shot_noise"] < sampled["output_error"] < 2.0 * sampled["shot_noise"]
    # readout mitigation (exact calibration) removes the readout error
    assert rows[f"{READOUT} + readout"]["output_error"] < 1e-6
    assert rows[f"{READOUT} + readout"]["test_accuracy"] == recorded
    saved = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert [r["label"] for r in saved["rows"]] == [r["label"] for r in report["rows"]] and len(saved["rows"]) == 7
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_backend_is_checked_before_anything_runs(small_run):
    with pytest.raises(UnknownComponentError, match="Unknown backend 'torch.noisyy'. Did you mean 'torch.noisy'"):
        compare_run(small_run.run_dir, [BackendSpec("torch"), BackendSpec("torch.noisyy")])
    with pytest.raises(ConfigError, match="readout_eror"):
        compare_run(small_run.run_dir, [BackendSpec("torch"), parse_backend_spec("torch.noisy?readout_eror=0.1")])
    assert not (small_run.run_dir / "compare").exists()  # nothing was evaluated or written


@pytest.mark.vendor
def test_compare_on_a_vendor_noisy_device(small_run, tmp_path):
    pytest.importorskip("qiskit_aer")
    import hqnn_qiskit

    with hqnn_core.temporary_plugin(hqnn_qiskit, name="qiskit", distribution="hqnn"):
        report = compare_run(small_run.run_dir, [BackendSpec("torch"), parse_backend_spec("qiskit.fake:manila?shots=4000")],
                             out=tmp_path / "cmp")
    exact, device = report["rows"][1], report["rows"][2]
    assert exact["test_accuracy"] == small_run.record["hybrid"]["final"]["test_accuracy"]
    # a device snapshot's noise adds error beyond 4000-shot sampling (whose mean |error| is about 0.8 * shot noise)
    assert device["output_error"] > 1.5 * device["shot_noise"]
    assert device["jobs"] >= 1 and device["shots_used"] == 4000 * 40
