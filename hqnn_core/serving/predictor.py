"""Serving a trained run, with a classical model to fall back on (``hqnn predict``).

Each batch goes to the quantum model unless its path is down: every backend of the chain
unavailable (``unavailable``), every breaker open (``breaker_open``, nothing is submitted), the
serving budget spent (``budget``), or, on labelled rows, its windowed accuracy more than
``serving.degradation_margin`` below the classical model's (``degraded``). Then the batch is served
by the classical model (the run's baseline by default). Every switch is warned (``FallbackWarning``),
counted and recorded with its reason; while classical, the quantum path is probed every
``serving.probe_every`` batches and serving switches back (``recovered``) when it answers (and, on
labelled rows, is no longer degraded). A spent budget is never probed again.
"""

from __future__ import annotations

import logging
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from hqnn_core.config import LoadedProfile, ServingConfig
from hqnn_core.errors import (
    BudgetExceededError,
    CheckpointError,
    ConfigError,
    FallbackWarning,
    TransientBackendError,
    UnavailableBackendError,
)
from hqnn_core.execution.fallback import FallbackBackend
from hqnn_core.serving.inputs import Rows
from hqnn_core.training.budget import BudgetGuard
from hqnn_core.training.checkpoints import load_weights_only, sha256_bytes
from hqnn_core.training.data import Preprocessing
from hqnn_core.training.model import HybridModel, build_baseline
from hqnn_core.training.prepare import prepare
from hqnn_core.training.records import RunRecord
from hqnn_core.training.run import load_run_profile, trained_state
from hqnn_core.training.shots import apply_shot_budget

logger = logging.getLogger("hqnn.serving")
QUANTUM, CLASSICAL = "quantum", "classical"


@dataclass
class Classical:
    """The fallback model and the preprocessing its inputs need (another run's baseline has its own)."""

    model: nn.Module
    preprocessing: Preprocessing | None  # None: takes the served run's model inputs
    name: str


@dataclass
class ServingSwitch:
    """One move between the quantum and the classical model, for the prediction record."""

    batch: int
    row: int
    to: str
    reason: str
    detail: str = ""
    quantum_accuracy: float | None = None
    classical_accuracy: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Served:
    """Predictions (raw labels) for a block of rows, which model served each row and why."""

    predictions: np.ndarray
    served_by: list[str]
    reasons: list[str]
    labels: np.ndarray | None = None
    switches: list[ServingSwitch] = field(default_factory=list)


def load_baseline(run_dir: Path, record: RunRecord, loaded: LoadedProfile, n_features: int, n_classes: int,
                  image_shape: tuple[int, ...] | None, layer: nn.Module) -> HybridModel:
    """A run's trained classical baseline (``baseline.pt``, checked against its sha256)."""
    weights = (record.data.get("baseline") or {}).get("weights")
    if not weights:
        raise ConfigError(
            f"{run_dir}: serving.fallback: the run has no trained baseline (train.baseline was false or it did not finish); "
            "retrain with train.baseline: true, give another run's directory, or set serving.fallback: none."
        )
    path = run_dir / weights["file"]
    blob = path.read_bytes() if path.exists() else b""
    if sha256_bytes(blob) != weights["sha256"]:
        raise CheckpointError(f"{path} is missing or does not match the sha256 in run.json; the saved baseline is damaged.")
    with torch.random.fork_rng(devices=[]):
        model = build_baseline(loaded.profile, n_features, n_classes, image_shape, layer, loaded.source)  # type: ignore[arg-type]
    model.load_state_dict(load_weights_only(blob, str(path)))
    return model.eval()


def _classical_from(run_dir: Path, record: RunRecord, loaded: LoadedProfile, prepared: Any) -> Classical | None:
    choice = loaded.profile.serving.fallback
    if choice == "none":
        return None
    d = prepared.dataset
    if choice == "baseline":
        return Classical(load_baseline(run_dir, record, loaded, d.n_features, d.n_classes, d.image_shape, prepared.layer), None, "baseline")
    other = Path(choice) if Path(choice).is_absolute() else loaded.base_dir / choice
    if not (other / "run.json").is_file():
        raise ConfigError(f"{loaded.source}: serving.fallback: {choice!r} is neither baseline, none nor a run directory (no {other}/run.json).")
    other_record, other_loaded = load_run_profile(other)
    other_prepared = prepare(other_loaded)
    od = other_prepared.dataset
    if od.labels != d.labels:
        raise ConfigError(f"{loaded.source}: serving.fallback: run {other} classifies {od.labels}, this run {d.labels}; use a run with the same classes.")
    model = load_baseline(other, other_record, other_loaded, od.n_features, od.n_classes, od.image_shape, other_prepared.layer)
    return Classical(model, od.preprocessing, f"baseline of {other}")


class Predictor:
    """Serves a trained hybrid model, falling back to a classical model as ``serving`` says (see module docs)."""

    def __init__(self, model: HybridModel, preprocessing: Preprocessing, config: ServingConfig, classical: Classical | None = None,
                 batch_size: int = 256, guard: BudgetGuard | None = None) -> None:
        self.model = model.eval()
        self.preprocessing = preprocessing
        self.config = config
        self.classical = classical
        self.batch_size = batch_size
        self.guard = guard
        self.mode = QUANTUM
        self.reason = ""
        self.switches: list[ServingSwitch] = []
        self.rows_served = {QUANTUM: 0, CLASSICAL: 0}
        self.rows_by_reason: dict[str, int] = {}
        self.batches: list[dict[str, Any]] = []
        self._quantum_window: deque[bool] = deque(maxlen=config.window)
        self._classical_window: deque[bool] = deque(maxlen=config.window)
        self._since_switch = 0
        self._row = 0

    @classmethod
    def from_run(cls, run_dir: str | Path, overrides: Sequence[str] = (), classical: nn.Module | None = None) -> Predictor:
        """Rebuild a run's model with its trained weights, its backend chain and its ``serving`` settings.

        ``overrides`` are ``--set`` strings applied on top of the run's profile (e.g. another
        ``backend.name`` or ``serving.window``); ``classical`` replaces the profile's fallback
        model with any module taking this run's model inputs.
        """
        run_dir = Path(run_dir)
        record, loaded = load_run_profile(run_dir, overrides)
        state, _, _ = trained_state(run_dir, record)
        s = loaded.profile.serving
        guard = None
        if s.max_jobs is not None or s.max_shots is not None or s.max_cost is not None:
            guard = BudgetGuard(s.max_jobs, s.max_shots, " and serve again with --set serving.KEY=N", max_cost=s.max_cost)
        prepared = prepare(loaded, guard=guard)  # the run's backend chain, every submission through the guard
        apply_shot_budget(prepared)
        prepared.model.load_state_dict(state)
        fallback = Classical(classical.eval(), None, type(classical).__name__) if classical is not None else _classical_from(run_dir, record, loaded, prepared)
        assert prepared.dataset.preprocessing is not None
        batch = s.batch_size or loaded.profile.train.eval_batch_size
        return cls(prepared.model, prepared.dataset.preprocessing, s, fallback, batch, guard)

    def close(self) -> None:
        """Stop the budget guard (the predictor keeps working, unguarded)."""
        if self.guard is not None:
            self.guard.close()

    # -- serving ------------------------------------------------------------------------------
    def predict(self, x_raw: np.ndarray, y_raw: np.ndarray | None = None) -> Served:
        """Class labels for raw feature rows; labelled rows also feed the accuracy monitor."""
        x = torch.from_numpy(self.preprocessing.transform(x_raw))
        xc = x if self.classical is None or self.classical.preprocessing is None else torch.from_numpy(self.classical.preprocessing.transform(x_raw))
        y = None if y_raw is None else torch.from_numpy(self.preprocessing.class_indices(y_raw, "labels"))
        first_switch = len(self.switches)
        preds, served, reasons = [], [], []
        for start in range(0, len(x), self.batch_size):
            s = slice(start, start + self.batch_size)
            p, who, why = self._serve(x[s], xc[s], None if y is None else y[s])
            preds.append(p)
            served += [who] * len(p)
            reasons += [why] * len(p)
        index = torch.cat(preds).numpy()
        labels = np.asarray(self.preprocessing.labels)[index]
        return Served(labels, served, reasons, None if y_raw is None else np.asarray(y_raw), self.switches[first_switch:])

    def predict_rows(self, rows: Rows) -> Served:
        return self.predict(rows.x, rows.y)

    @torch.no_grad()
    def _serve(self, x: torch.Tensor, xc: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, str, str]:
        batch = len(self.batches)
        quantum, failure = None, None
        if self._should_try_quantum():
            quantum, failure = self._try_quantum(x)
        classical = self.classical.model(xc) if self.classical is not None else None
        if y is not None:
            if quantum is not None:
                self._quantum_window.extend((quantum.argmax(1) == y).tolist())
            if classical is not None:
                self._classical_window.extend((classical.argmax(1) == y).tolist())
        if failure is not None:
            if classical is None:
                raise failure[1]
            if self.mode == QUANTUM:
                self._switch(batch, CLASSICAL, failure[0], str(failure[1]))
            else:
                self.reason = failure[0]
        elif quantum is not None and classical is not None:
            degraded = self._degraded()
            if degraded and self.mode == QUANTUM:
                self._switch(batch, CLASSICAL, "degraded", "windowed accuracy on labelled rows below the classical model's by more than the margin")
            elif degraded and self.mode == CLASSICAL:
                self.reason = "degraded"
            elif not degraded and self.mode == CLASSICAL:
                self._switch(batch, QUANTUM, "recovered", f"was {self.reason}")
        if self.mode == CLASSICAL:
            self._since_switch += 1
        q_acc, c_acc = self._window_accuracy(self._quantum_window), self._window_accuracy(self._classical_window)
        out = quantum if self.mode == QUANTUM else classical
        assert out is not None
        who, why = self.mode, (self.reason if self.mode == CLASSICAL else "")
        self.rows_served[who] += len(x)
        if why:
            self.rows_by_reason[why] = self.rows_by_reason.get(why, 0) + len(x)
        self.batches.append({"batch": batch, "first_row": self._row, "rows": len(x), "served_by": who, "reason": why,
                             "quantum_ran": quantum is not None, "quantum_accuracy": q_acc, "classical_accuracy": c_acc})
        self._row += len(x)
        return out.argmax(1), who, why

    def _should_try_quantum(self) -> bool:
        if self.mode == QUANTUM:
            return True
        if self.reason == "budget":
            return False  # a spent budget does not come back within this session
        return self._since_switch % self.config.probe_every == 0

    def _try_quantum(self, x: torch.Tensor) -> tuple[torch.Tensor | None, tuple[str, BaseException] | None]:
        backend = self.model.quantum.backend if self.model.quantum is not None else None
        if isinstance(backend, FallbackBackend) and not any(link.breaker.allow() for link in backend.links):
            names = ", ".join(link.backend.full_name for link in backend.links)
            return None, ("breaker_open", UnavailableBackendError(f"the circuit breaker of every backend of the chain is open ({names})"))
        try:
            return self.model(x), None
        except BudgetExceededError as e:
            return None, ("budget", e)
        except (UnavailableBackendError, TransientBackendError) as e:
            return None, ("unavailable", e)

    def _degraded(self) -> bool:
        margin, n = self.config.degradation_margin, self.config.window
        if margin is None or len(self._quantum_window) < n or len(self._classical_window) < n:
            return False
        q, c = self._window_accuracy(self._quantum_window), self._window_accuracy(self._classical_window)
        assert q is not None and c is not None
        return q < c - margin

    @staticmethod
    def _window_accuracy(window: deque[bool]) -> float | None:
        return sum(window) / len(window) if window else None

    def _switch(self, batch: int, to: str, reason: str, detail: str) -> None:
        event = ServingSwitch(batch, self._row, to, reason, detail, self._window_accuracy(self._quantum_window),
                              self._window_accuracy(self._classical_window))
        self.switches.append(event)
        self.mode, self.reason, self._since_switch = to, (reason if to == CLASSICAL else ""), 0
        name = self.classical.name if to == CLASSICAL and self.classical is not None else "the quantum model"
        message = f"serving switched to {name} at row {self._row} (batch {batch}): {reason}: {detail}"
        logger.warning(message)
        warnings.warn(message, FallbackWarning, stacklevel=5)

    def report(self) -> dict[str, Any]:
        """Rows per model and per reason, every switch, and the monitor's state per batch (the prediction record)."""
        return {
            "mode": self.mode,
            "reason": self.reason,
            "rows": dict(self.rows_served),
            "rows_by_reason": dict(self.rows_by_reason),
            "switch_count": len(self.switches),
            "switches": [s.as_dict() for s in self.switches],
            "classical_model": self.classical.name if self.classical is not None else None,
            "serving": self.config.model_dump(mode="json"),
            "budget_spent": self.guard.spent().as_dict() if self.guard is not None else None,
            "batches": list(self.batches),
        }
