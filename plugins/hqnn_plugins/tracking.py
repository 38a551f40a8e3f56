"""Experiment tracking as a plugin: TensorBoard and MLflow, selected by ``output.log_to`` or ``hqnn train --log-to``.

Built on the lifecycle hooks any plugin can implement. At ``hqnn_run_started`` each selected
tracker opens (TensorBoard: event files in ``<run dir>/tensorboard``; MLflow: a run in
``output.mlflow_experiment`` at ``output.mlflow_tracking_uri``) and records the resolved profile as
parameters and the circuit specs; every ``hqnn_epoch_finished`` logs the epoch's metrics as
``<model>/<metric>`` at step = epoch; ``hqnn_run_finished`` logs the final numbers, uploads the run
record, metrics, profile and plots as artifacts (MLflow) and closes. The SDKs are imported only
when selected; a missing one is a :class:`~hqnn_core.errors.MissingExtraError` naming the extra.
The run directory stays the record of truth: a tracker that fails mid-run warns, it never stops
training.
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hqnn_core._optional import check_trackers
from hqnn_core.errors import HQNNWarning
from hqnn_core.hookspecs import hookimpl

TENSORBOARD_DIR = "tensorboard"
_ARTIFACTS = ("run.json", "metrics.csv", "profile.yaml", "profile.yml", "profile.toml")
_open: dict[int, list[Any]] = {}  # id(run record) -> its trackers, for the duration of a run


class TrackingWarning(HQNNWarning):
    """A tracker failed to log; the run continues and its directory keeps everything."""


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "epoch"}


def _flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """Nested profile -> ``{"train.lr": "0.1", ...}`` (MLflow parameters are flat strings)."""
    if isinstance(data, Mapping):
        out: dict[str, str] = {}
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): json.dumps(data) if not isinstance(data, str) else data}


def running_phase(run: Mapping[str, Any]) -> str:
    """The model being trained (``hybrid`` or ``baseline``): the phase whose status is ``running``."""
    return next((name for name in ("baseline", "hybrid") if (run.get(name) or {}).get("status") == "running"), "hybrid")


class TensorBoardTracker:
    """Scalars per model and epoch, the profile and circuit specs as text, in ``<run dir>/tensorboard``."""

    def __init__(self, run: Mapping[str, Any], run_dir: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / TENSORBOARD_DIR))
        profile = (run.get("profile") or {}).get("resolved") or {}
        self.writer.add_text("profile", "```\n" + json.dumps(profile, indent=2) + "\n```", 0)
        self.writer.add_text("circuit_specs", "```\n" + json.dumps((run.get("circuit") or {}).get("specs"), indent=2) + "\n```", 0)

    def epoch(self, phase: str, epoch: int, metrics: Mapping[str, Any]) -> None:
        for key, value in _numbers(metrics).items():
            self.writer.add_scalar(f"{phase}/{key}", value, epoch)
        self.writer.flush()

    def finish(self, run: Mapping[str, Any], error: BaseException | None) -> None:
        for key, value in (run.get("comparison") or {}).items():
            if isinstance(value, (int, float)) and value is not None:
                self.writer.add_scalar(f"comparison/{key}", float(value), 0)
        self.writer.add_text("status", str(run.get("status")), 0)
        self.writer.close()


class MlflowTracker:
    """An MLflow run: the profile as parameters, metrics per epoch, circuit specs and the run's files as artifacts."""

    def __init__(self, run: Mapping[str, Any], run_dir: Path, uri: str | None, experiment: str) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=uri)
        self.run_dir = run_dir
        found = self.client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found is not None else self.client.create_experiment(experiment)
        tags = {"hqnn.run_dir": str(run_dir), "hqnn.config_hash": str((run.get("profile") or {}).get("config_hash")),
                "hqnn.backend": str((run.get("backend") or {}).get("name"))}
        self.run_id = self.client.create_run(experiment_id, run_name=run_dir.name, tags=tags).info.run_id
        self._params((run.get("profile") or {}).get("resolved") or {})
        if (run.get("circuit") or {}).get("specs") is not None:
            self.client.log_dict(self.run_id, dict(run["circuit"]["specs"]), "circuit_specs.json")

    def _params(self, profile: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        params = [Param(k, v[:6000]) for k, v in _flatten(profile).items()]
        for i in range(0, len(params), 100):  # MLflow takes at most 100 parameters per batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def _metrics(self, values: Mapping[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(self.run_id, metrics=[Metric(k, v, now, step) for k, v in values.items()])

    def epoch(self, phase: str, epoch: int, metrics: Mapping[str, Any]) -> None:
        self._metrics({f"{phase}/{k}": v for k, v in _numbers(metrics).items()}, epoch)

    def finish(self, run: Mapping[str, Any], error: BaseException | None) -> None:
        comparison = {f"comparison/{k}": float(v) for k, v in (run.get("comparison") or {}).items() if isinstance(v, (int, float))}
        if comparison:
            self._metrics(comparison, 0)
        for name in _ARTIFACTS:
            if (self.run_dir / name).is_file():
                self.client.log_artifact(self.run_id, str(self.run_dir / name))
        for plot in run.get("plots") or []:
            path = self.run_dir / str(plot)
            if path.is_file():
                self.client.log_artifact(self.run_id, str(path), "plots")
        status = {"completed": "FINISHED", "interrupted": "KILLED"}.get(str(run.get("status")), "FAILED")
        self.client.set_terminated(self.run_id, status)


def _output(run: Mapping[str, Any]) -> Mapping[str, Any]:
    return ((run.get("profile") or {}).get("resolved") or {}).get("output") or {}


def _each(run: Mapping[str, Any], action: str, *args: Any) -> None:
    for tracker in _open.get(id(run), []):
        try:
            getattr(tracker, action)(*args)
        except Exception as e:  # noqa: BLE001 - tracking must not stop or fail a run; the run directory has everything
            warnings.warn(f"{type(tracker).__name__}.{action} failed: {type(e).__name__}: {e}", TrackingWarning, stacklevel=2)


@hookimpl
def hqnn_run_started(run: Mapping[str, Any]) -> None:
    output = _output(run)
    selected = list(output.get("log_to") or [])
    if not selected:
        return
    check_trackers(selected, "output.log_to")
    run_dir = Path(str(run.get("run_dir") or "."))
    trackers: list[Any] = []
    for name in selected:
        try:
            if name == "tensorboard":
                trackers.append(TensorBoardTracker(run, run_dir))
            else:
                experiment = str(output.get("mlflow_experiment") or "hqnn")
                trackers.append(MlflowTracker(run, run_dir, output.get("mlflow_tracking_uri"), experiment))
        except Exception as e:  # noqa: BLE001 - e.g. an unreachable tracking server: warn, train anyway
            warnings.warn(f"{name} tracking could not start: {type(e).__name__}: {e}; the run goes on without it", TrackingWarning, stacklevel=2)
    _open[id(run)] = trackers


@hookimpl
def hqnn_epoch_finished(run: Mapping[str, Any], epoch: int, metrics: Mapping[str, float]) -> None:
    _each(run, "epoch", running_phase(run), epoch, metrics)


@hookimpl
def hqnn_run_finished(run: Mapping[str, Any], error: BaseException | None) -> None:
    _each(run, "finish", run, error)
    _open.pop(id(run), None)
