"""Experiment tracking (output.log_to / --log-to): read back with TensorBoard's and MLflow's own readers (docs/tracking.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from training_helpers import write_profile

from hqnn_core.errors import ConfigError, MissingExtraError

pytest.importorskip("tensorboard", reason="the tracking tests need the tensorboard extra")
pytest.importorskip("mlflow", reason="the tracking tests need the mlflow extra")


@pytest.fixture(scope="module", autouse=True)
def file_store_allowed():
    """MLflow 3 refuses a file: store unless asked (it is in maintenance mode); 2.x ignores the variable."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        yield


@pytest.fixture(scope="module")
def tracked(tmp_path_factory, file_store_allowed):
    from hqnn_core.training import train

    folder = tmp_path_factory.mktemp("tracked")
    uri = (folder / "mlruns").as_uri()
    profile = write_profile(folder, train={"epochs": 2, "baseline": True},
                            output={"log_to": ["tensorboard", "mlflow"], "mlflow_tracking_uri": uri, "mlflow_experiment": "tests", "plots": False})
    result = train(profile, out=folder / "run", quiet=True)
    return result, uri


def _epochs(record, model, key):
    return [(e["epoch"], e[key]) for e in record[model]["epochs"]]


@pytest.mark.slow  # the fixture trains and imports both SDKs (~20 s on 2 shared cores)
def test_tensorboard_event_files_hold_the_run_metrics(tracked):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result, _ = tracked
    events = EventAccumulator(str(result.run_dir / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    for model in ("hybrid", "baseline"):
        for key in ("train_loss", "test_accuracy", "shots_total"):
            got = [(e.step, e.value) for e in events.Scalars(f"{model}/{key}")]
            want = _epochs(result.record, model, key)
            assert [s for s, _ in got] == [s for s, _ in want] == [1, 2]
            assert [v for _, v in got] == pytest.approx([v for _, v in want], rel=1e-6)
    comparison = events.Scalars("comparison/accuracy_difference")
    assert comparison[0].value == pytest.approx(result.record["comparison"]["accuracy_difference"], abs=1e-6)
    assert {"profile/text_summary", "circuit_specs/text_summary"} <= set(events.Tags()["tensors"])


@pytest.mark.slow
def test_mlflow_file_store_holds_metrics_parameters_specs_and_artifacts(tracked):
    from mlflow.tracking import MlflowClient

    result, uri = tracked
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tests")
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    for model in ("hybrid", "baseline"):
        history = sorted((m.step, m.value) for m in client.get_metric_history(run.info.run_id, f"{model}/test_accuracy"))
        want = _epochs(result.record, model, "test_accuracy")
        assert [s for s, _ in history] == [1, 2] and [v for _, v in history] == pytest.approx([v for _, v in want])
    assert run.data.params["train.lr"] == "0.05" and run.data.params["data.source"] == "digits"
    assert run.data.params["model.quantum.n_qubits"] == "4"
    assert run.data.tags["hqnn.config_hash"] == result.record["profile"]["config_hash"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"run.json", "metrics.csv", "profile.yaml", "circuit_specs.json"} <= artifacts
    local = client.download_artifacts(run.info.run_id, "circuit_specs.json", str(result.run_dir.parent))
    specs = json.loads(Path(local).read_text())
    assert specs == result.record["circuit"]["specs"] and specs["n_qubits"] == 4 and specs["per_training_step"]["batch_size"] == 16


def test_log_to_on_the_command_line_sets_output_log_to(tmp_path):
    from hqnn_core.cli import cli

    profile = write_profile(tmp_path, train={"epochs": 1})
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", str(profile), "--out", str(out), "-q", "--log-to", "tensorboard"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    record = json.loads((out / "run.json").read_text())
    assert record["profile"]["resolved"]["output"]["log_to"] == ["tensorboard"]
    assert any(p.name.startswith("events.out.tfevents") for p in (out / "tensorboard").iterdir())


def test_an_unknown_tracker_is_a_config_error(tmp_path):
    from hqnn_core.training import train

    profile = write_profile(tmp_path, train={"epochs": 1})
    with pytest.raises(ConfigError, match="output.log_to"):
        train(profile, overrides=["output.log_to=[wandb]"], out=tmp_path / "run", quiet=True)


def test_a_missing_tracker_sdk_names_the_extra_before_anything_is_written(tmp_path, monkeypatch):
    import hqnn_core._optional as optional
    from hqnn_core.training import train

    monkeypatch.setattr(optional, "missing_modules", lambda modules: [m for m in modules if m == "mlflow"])
    profile = write_profile(tmp_path, train={"epochs": 1})
    with pytest.raises(MissingExtraError, match=r'output.log_to: mlflow logging needs the mlflow package; install it with: pip install "hqnn\[mlflow\]"'):
        train(profile, overrides=["output.log_to=[tensorboard, mlflow]"], out=tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


def test_counting_the_circuit_specs_leaves_the_spsa_gradient_stream_alone(tmp_path):
    import torch

    from hqnn_core.config import load_profile
    from hqnn_core.training.prepare import prepare

    profile = write_profile(tmp_path, model={"quantum": {"n_qubits": 4, "layers": 1, "gradient": {"name": "spsa", "options": {"seed": 5}}}})
    prepared = prepare(load_profile(profile))
    before = prepared.layer.gradient._generator.get_state()
    specs = prepared.layer.specs(16, inputs_need_grad=False)
    assert torch.equal(prepared.layer.gradient._generator.get_state(), before)
    # the specs counted SPSA's circuits without running them: the value and two perturbed evaluations per row of 16
    assert specs["per_training_step"]["batch_size"] == 16 and specs["per_training_step"]["circuits"] == 16 * 3


def test_a_tracker_that_cannot_start_warns_and_the_run_completes(tmp_path):
    from hqnn_core.training import train
    from hqnn_plugins.tracking import TrackingWarning

    profile = write_profile(tmp_path, train={"epochs": 1}, output={"log_to": ["mlflow"], "mlflow_tracking_uri": "nosuchscheme://nowhere"})
    with pytest.warns(TrackingWarning, match="mlflow tracking could not start"):
        result = train(profile, out=tmp_path / "run", quiet=True)
    assert result.record["status"] == "completed" and len(result.record["hybrid"]["epochs"]) == 1
