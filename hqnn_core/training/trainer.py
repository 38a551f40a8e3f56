"""The training loop of one model: torch or gradient-free optimisers, epoch-boundary checkpoints, exact resume.

A checkpoint holds every piece of state a random source has (torch and numpy generator states, the
backend's accounting that drives its shot seeds, component generators), so resuming from it gives
exactly the numbers an uninterrupted run would have produced.
"""

from __future__ import annotations

import io
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Column
from rich.text import Text
from torch import nn

from hqnn_core.components import get_optimizer
from hqnn_core.errors import CheckpointError, InputError
from hqnn_core.interfaces.optimizer import WholeSetEpochs
from hqnn_core.plugin_manager import get_plugins
from hqnn_core.training.budget import BudgetGuard
from hqnn_core.training.checkpoints import CheckpointManager, atomic_write, kill_point, sha256_bytes
from hqnn_core.training.distributed import DistContext, restore_accounting
from hqnn_core.training.layerwise import schedule_for
from hqnn_core.training.model import HybridModel
from hqnn_core.training.monitor import EpochMonitor, state_fidelity
from hqnn_core.training.prepare import Prepared
from hqnn_core.training.records import RunRecord, utc_now
from hqnn_core.training.resilience import RunResilience
from hqnn_core.training.verdict import correct_string

_log = logging.getLogger("hqnn.train")


def _batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, accuracy and predictions on ``(x, y)`` (eval mode, no gradients)."""
    was_training = model.training
    model.eval()
    total, preds = 0.0, []
    for s in _batches(len(y), batch_size):
        logits = model(x[s])
        total += float(nn.functional.cross_entropy(logits, y[s], reduction="sum"))
        preds.append(logits.argmax(dim=1))
    model.train(was_training)
    pred = torch.cat(preds)
    return total / len(y), float((pred == y).double().mean()), pred


def confusion_matrix(y: torch.Tensor, pred: torch.Tensor, n_classes: int) -> list[list[int]]:
    m = torch.zeros(n_classes, n_classes, dtype=torch.long)
    m.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    return m.tolist()


# -- one model's training loop -----------------------------------------------------------------
def _component_generators(model: HybridModel) -> dict[str, torch.Generator]:
    """torch Generators held by the layer's gradient, mitigators and backend (e.g. SPSA's directions)."""
    layer = model.quantum
    if layer is None:
        return {}
    owners: dict[str, Any] = {"gradient": layer.gradient, "backend": layer.backend}
    owners.update({f"mitigation{i}": m for i, m in enumerate(layer.mitigators)})
    return {f"{name}.{attr}": value for name, obj in owners.items() for attr, value in vars(obj).items() if isinstance(value, torch.Generator)}


def _check_finite(model: nn.Module, loss: float, phase: str, epoch: int) -> None:
    if not math.isfinite(loss):
        raise InputError(f"{phase} training loss became {loss} in epoch {epoch}; lower train.lr or standardise the data. No checkpoint was written.")
    for name, p in model.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise InputError(f"parameter {name!r} of the {phase} model became NaN/inf in epoch {epoch}; lower train.lr. No checkpoint was written.")


class _OneLine(TextColumn):
    """A text column that is cut with "…" instead of wrapping when the terminal is too narrow."""

    def render(self, task: Task) -> Text:
        return Text.assemble(super().render(task), no_wrap=True, overflow="ellipsis")


class Display:
    """A rich progress bar on a terminal; one line per epoch otherwise; nothing when quiet.

    Every line it shows (header, notes, epochs, the interruption note) is also a record of the
    ``hqnn.train`` logger, which the run's ``run.log`` handler writes, quiet or not.
    """

    def __init__(self, console: Console | None, quiet: bool) -> None:
        self.console = console or Console(stderr=True)
        self.quiet = quiet
        self.live = not quiet and self.console.is_terminal
        self.progress: Progress | None = None
        self.task: Any = None
        self.backend = "-"  # the backend serving calls now (the run's RunResilience says, through serving())
        #: where training is (phase, epoch, epochs, step, steps), kept by the Trainer for the interruption note
        self.position: dict[str, Any] = {}

    def at(self, **position: Any) -> None:
        """Where training is now (phase, epoch, epochs, step, steps): the interruption note says it."""
        self.position.update(position)

    def serving(self, backend: str) -> None:
        """The backend that served the last call, shown in the progress bar."""
        self.backend = backend

    def start(self, phase: str, epochs: int, first: int, total_batches: int) -> None:
        if not self.live:
            return
        # On a narrow terminal (80 columns) only the metrics give way, ending in "…"; counter and clocks stay whole.
        self.progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False, table_column=Column(no_wrap=True)),
            BarColumn(bar_width=10, table_column=Column(no_wrap=True)),
            MofNCompleteColumn(table_column=Column(no_wrap=True)), TimeElapsedColumn(table_column=Column(no_wrap=True)),
            TimeRemainingColumn(table_column=Column(no_wrap=True)),
            _OneLine("loss {task.fields[loss]} acc {task.fields[acc]} jobs {task.fields[jobs]} shots {task.fields[shots]} on {task.fields[backend]}",
                     markup=False, table_column=Column(no_wrap=False)),  # the one column that may shrink
            console=self.console, transient=False,
        )
        self.progress.start()
        self.task = self.progress.add_task(f"{phase} epoch {first}/{epochs}", total=total_batches, loss="-", acc="-", jobs=0, shots=0,
                                          backend=self.backend)

    def batch(self, phase: str, epoch: int, epochs: int, done: int, loss: float, acc: float, usage: dict[str, Any]) -> None:
        if self.progress is not None:
            self.progress.update(
                self.task, completed=done, description=f"{phase} epoch {epoch}/{epochs}", loss=f"{loss:.4f}", acc=f"{acc:.3f}",
                jobs=usage.get("jobs", 0), shots=usage.get("shots", 0), backend=self.backend,
            )

    def epoch(self, phase: str, metrics: dict[str, Any], epochs: int) -> None:
        line = (
            f"{phase} epoch {metrics['epoch']}/{epochs}: loss {metrics['train_loss']:.4f} acc {metrics['train_accuracy']:.3f} | "
            f"test loss {metrics['test_loss']:.4f} acc {metrics['test_accuracy']:.3f} | jobs {metrics['jobs_total']} shots {metrics['shots_total']}"
        )
        _log.info("%s", line)
        if self.quiet:
            return
        if self.progress is not None:
            self.progress.console.print(line, highlight=False, soft_wrap=True, markup=False)
        else:
            self.console.print(line, highlight=False, soft_wrap=True, markup=False)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None

    def note(self, text: str) -> None:
        _log.info("%s", text)
        if not self.quiet:
            self.console.print(text, highlight=False, soft_wrap=True, markup=False)

    def alert(self, lines: Sequence[str]) -> None:
        """Lines the user must see even with --quiet (where an interrupted run stands and how to continue it)."""
        for line in lines:
            _log.warning("%s", line)
            self.console.print(line, highlight=False, soft_wrap=True, markup=False)


@dataclass
class Phase:
    name: str
    model: HybridModel
    checkpoints: CheckpointManager
    seeds: dict[str, int]


class Trainer:
    """Trains one model of a run with the profile's optimiser, checkpointing at epoch boundaries.

    ``dist`` is this rank's :class:`~hqnn_core.training.distributed.DistContext` under torchrun/--nproc;
    ``resilience`` tells the fallback chain where the run is and reports what it did.
    """

    def __init__(self, prepared: Prepared, record: RunRecord, run_dir: Path, display: Display, config_hash: str,
                 guard: BudgetGuard | None = None, *, dist: DistContext | None = None, resilience: RunResilience | None = None) -> None:
        self.prepared, self.record, self.run_dir, self.display, self.config_hash = prepared, record, run_dir, display, config_hash
        self.guard, self.dist, self.resilience = guard, dist, resilience
        d = prepared.dataset
        self.x_train, self.y_train = torch.from_numpy(d.x_train), torch.from_numpy(d.y_train)
        self.x_test, self.y_test = torch.from_numpy(d.x_test), torch.from_numpy(d.y_test)

    def _usage(self, model: HybridModel) -> dict[str, Any]:
        layer = model.quantum
        if layer is None:
            return {"jobs": 0, "circuits": 0, "shots": 0}
        acc = layer.backend.accounting
        return {"jobs": acc.jobs, "circuits": acc.circuits, "shots": acc.shots}

    def fit(self, phase: Phase) -> dict[str, Any]:
        """Train ``phase.model`` to ``train.epochs``, resuming from its newest valid checkpoint if any."""
        t = self.prepared.loaded.profile.train
        model, name = phase.model, phase.name
        params = [p for p in model.parameters() if p.requires_grad]
        component = get_optimizer(t.optimizer.spec())  # the registered optimiser; its seed keeps the historical "spsa" tag
        optimizer: Any = component.build(params, t.lr, phase.seeds["spsa"])
        whole_set = component.stepping == "whole_set"
        shuffle = torch.Generator().manual_seed(phase.seeds["shuffle"])
        torch.manual_seed(phase.seeds["torch"])
        generators = _component_generators(model)
        history: list[dict[str, Any]] = []
        start, elapsed = 0, 0.0
        phase.checkpoints.clean_temporary()
        loaded = phase.checkpoints.load_latest()
        if loaded is not None:
            state, entry = loaded
            self._check_compatible(state, phase.checkpoints.directory / entry["file"])
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            shuffle.set_state(state["rng"]["shuffle"])
            torch.set_rng_state(state["rng"]["torch"])
            for key, gen_state in state["rng"]["components"].items():
                if key in generators:
                    generators[key].set_state(gen_state)
            if model.quantum is not None and state.get("accounting"):
                model.quantum.backend.accounting.restore(state["accounting"])
                if state.get("accounting_ranks"):  # written by a data-parallel run: this rank's share, or the total on one process
                    restore_accounting(state, model.quantum.backend, self.dist)
            start, elapsed, history = int(state["epoch"]), float(state["elapsed"]), list(state["history"])
            done = self.record.phase(name)
            if start >= t.epochs and done.get("status") == "completed" and done.get("final"):
                return dict(done["final"])  # finished in an earlier session; its weights are in the checkpoint just loaded
            self.record.phase(name)["epochs"] = history[:]
            self.record.data.setdefault("resumed", []).append({"at": utc_now(), "model": name, "from_epoch": start, "checkpoint": entry["file"]})
            self.display.note(f"{name}: resuming after epoch {start} from {entry['file']}")
        phase_record = self.record.phase(name)
        phase_record["status"] = "running"
        self.record.save()
        n, batches = len(self.y_train), _batches(len(self.y_train), t.batch_size)
        steps_per_epoch = 1 if whole_set else len(batches)
        pred = None
        self._forward = model if self.dist is None else self.dist.wrap(model)  # DDP all-reduces gradients across ranks
        self._monitor = EpochMonitor(model)  # gradient norms and shot noise per epoch
        self._layerwise = schedule_for(t.layerwise, model.quantum)  # train.layerwise: which ansatz layers train when
        try:
            self.display.start(name, t.epochs, start + 1, steps_per_epoch)
            for epoch in range(start + 1, t.epochs + 1):
                self.display.at(phase=name, epoch=epoch, epochs=t.epochs, step=0, steps=steps_per_epoch)
                began, usage_before = time.perf_counter(), self._usage(model)
                model.train()
                self._monitor.start()
                stage = self._layerwise.begin_epoch(epoch) if self._layerwise is not None else {}
                perm = torch.randperm(n, generator=shuffle)
                if whole_set:
                    train_loss, train_acc = self._whole_set_epoch(model, optimizer)
                    self._hold_frozen_layers()
                    self.display.batch(name, epoch, t.epochs, 1, train_loss, train_acc, self._usage(model))
                else:
                    train_loss, train_acc = self._batch_epoch(model, optimizer, component.gradient_free(), perm, batches, epoch, steps_per_epoch, name,
                                                             t.epochs)
                test_loss, test_acc, pred = evaluate(model, self.x_test, self.y_test, t.eval_batch_size)
                _check_finite(model, train_loss, name, epoch)
                epoch_time = time.perf_counter() - began
                elapsed += epoch_time
                metrics = {
                    "epoch": epoch, "train_loss": train_loss, "train_accuracy": train_acc, "test_loss": test_loss, "test_accuracy": test_acc,
                    **usage_columns(usage_before, self._usage(model)),
                    "wall_time_epoch_s": round(epoch_time, 3), "wall_time_total_s": round(elapsed, 3), **self._monitor.metrics(),
                    "state_fidelity": state_fidelity(model.quantum, model.front, self.x_train), **stage,
                }
                history.append(metrics)
                if epoch % t.checkpoint_every == 0 or epoch == t.epochs:
                    state = self._state(model, optimizer, shuffle, generators, epoch, elapsed, history, name)
                    if self.dist is not None and model.quantum is not None:  # collective; then rank 0 alone writes
                        state["accounting_ranks"] = self.dist.checkpoint_accounting(model.quantum.backend)
                    if self.dist is None or self.dist.is_main:
                        entry = phase.checkpoints.save(state, epoch)
                        metrics["checkpoint"] = {"file": f"checkpoints/{name}/{entry['file']}", "sha256": entry["sha256"]}
                if self.guard is not None:
                    self.record.data["ledger"] = self.guard.spent().as_dict()
                if self.resilience is not None:
                    self.record.data["resilience"] = self.resilience.report()
                self.record.add_epoch(name, metrics)
                self.display.epoch(name, metrics, t.epochs)
                call_hook("hqnn_epoch_finished", run=self.record.data, epoch=epoch, metrics=metrics)  # crash tests: hqnn_plugins.crash_points
        finally:
            self.display.stop()
            self._monitor.close()
        if pred is None:  # resumed a finished phase: recompute the final predictions
            _, _, pred = evaluate(model, self.x_test, self.y_test, t.eval_batch_size)
        return self._finish(phase, history, pred, elapsed)

    def _batch_epoch(self, model: HybridModel, optimizer: Any, gradient_free: bool, perm: torch.Tensor, batches: Sequence[slice],
                     epoch: int, steps: int, name: str, epochs: int) -> tuple[float, float]:
        total_loss, correct, seen = 0.0, 0.0, 0.0  # sums (all-reduced as floats under data parallelism)
        for i, s in enumerate(batches):
            self.display.at(step=i + 1)
            kill_point("step", (epoch - 1) * steps + i + 1)
            if self.resilience is not None and model.quantum is not None:
                self.resilience.at(name, epoch, (epoch - 1) * steps + i + 1)
            idx = perm[s]
            if self.dist is not None:  # this rank's shard of the global batch; the step is the distributed module's
                loss, hits, seen_here = self.dist.train_step(self._forward, optimizer, self.x_train, self.y_train, idx)
                self._hold_frozen_layers()
                total_loss, correct, seen = total_loss + loss, correct + hits, seen + seen_here
                self.display.batch(name, epoch, epochs, i + 1, total_loss / max(seen, 1), correct / max(seen, 1), self._usage(model))
                continue
            xb, yb = self.x_train[idx], self.y_train[idx]
            if gradient_free:  # the optimiser evaluates the batch loss itself (SPSA: twice), no gradients
                with torch.no_grad():
                    results = optimizer.step(lambda xb=xb, yb=yb: _batch_loss(model, xb, yb))
                self._hold_frozen_layers()
                loss = sum(r[0] for r in results) / len(results)
                hits = sum(r[1] for r in results) / len(results)
            else:
                optimizer.zero_grad()
                logits = model(xb)
                loss_t = nn.functional.cross_entropy(logits, yb)
                loss_t.backward()
                self._monitor.after_backward(logits, yb)
                optimizer.step()
                self._hold_frozen_layers()
                loss, hits = float(loss_t.detach()), int((logits.detach().argmax(dim=1) == yb).sum())
            total_loss += loss * len(yb)
            correct += hits
            seen += len(yb)
            self.display.batch(name, epoch, epochs, i + 1, total_loss / seen, correct / seen, self._usage(model))
        if self.dist is not None:  # the epoch's metrics over every rank's shards
            total_loss, correct, seen = self.dist.all_sum(total_loss, correct, seen)
        return total_loss / seen, correct / seen

    def _hold_frozen_layers(self) -> None:
        if self._layerwise is not None:
            self._layerwise.after_step()

    def _whole_set_epoch(self, model: HybridModel, optimizer: WholeSetEpochs) -> tuple[float, float]:
        batch = self.prepared.loaded.profile.train.eval_batch_size

        def full_loss() -> tuple[float, float]:
            loss, acc, _ = evaluate(model, self.x_train, self.y_train, batch)
            return loss, acc

        loss, acc = optimizer.run_epoch(full_loss)
        return float(loss), float(acc)

    def _check_compatible(self, state: dict[str, Any], path: Path) -> None:
        if state.get("config_hash") != self.config_hash and not self.record.data.get("forced"):
            raise CheckpointError(
                f"checkpoint {path} was written for a different configuration (config hash {str(state.get('config_hash'))[:12]}, "
                f"profile now {self.config_hash[:12]}); resume with the run's own profile, or pass --force to load it anyway."
            )

    def _state(self, model: HybridModel, optimizer: Any, shuffle: torch.Generator, generators: dict[str, torch.Generator], epoch: int,
               elapsed: float, history: list[dict[str, Any]], name: str) -> dict[str, Any]:
        return {
            "format": 1,
            "phase": name,
            "epoch": epoch,
            "config_hash": self.config_hash,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state(), "shuffle": shuffle.get_state(), "components": {k: g.get_state() for k, g in generators.items()}},
            "data_position": {"epoch": epoch, "batch": 0},
            "accounting": model.quantum.backend.accounting.as_dict() if model.quantum is not None else None,
            "history": [dict(h) for h in history],
            "elapsed": elapsed,
            "versions": {"hqnn": self.record.data["environment"]["hqnn"], "torch": str(torch.__version__)},
        }

    def _finish(self, phase: Phase, history: list[dict[str, Any]], pred: torch.Tensor, elapsed: float) -> dict[str, Any]:
        model, name = phase.model, phase.name
        last = history[-1]
        buffer = _state_bytes(model)
        weights = self.run_dir / f"{'model' if name == 'hybrid' else name}.pt"
        if self.dist is None or self.dist.is_main:  # one writer under torchrun/--nproc
            atomic_write(weights, buffer, mode=0o600)
        final = {
            "epochs": len(history),
            "train_loss": last["train_loss"],
            "train_accuracy": last["train_accuracy"],
            "test_loss": last["test_loss"],
            "test_accuracy": last["test_accuracy"],
            "confusion_matrix": confusion_matrix(self.y_test, pred, self.prepared.dataset.n_classes),
            "test_correct": correct_string(self.y_test, pred),  # per test sample, for the paired test against the baseline
        }
        phase_record = self.record.phase(name)
        phase_record.update(
            status="completed", final=final, wall_time_s=round(elapsed, 3), weights={"file": weights.name, "sha256": sha256_bytes(buffer)},
        )
        if model.quantum is not None:
            phase_record["accounting"] = model.quantum.backend.accounting.as_dict()
        self.record.save()
        return final


def usage_columns(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``jobs_epoch``/``jobs_total`` (and circuits, shots): this epoch's usage and the model's running total."""
    return {**{f"{k}_epoch": after[k] - before[k] for k in after}, **{f"{k}_total": v for k, v in after.items()}}


def _state_bytes(model: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getvalue()


def _batch_loss(model: nn.Module, xb: torch.Tensor, yb: torch.Tensor) -> tuple[float, int]:
    logits = model(xb)
    return float(nn.functional.cross_entropy(logits, yb)), int((logits.argmax(dim=1) == yb).sum())


def call_hook(name: str, **kwargs: Any) -> None:
    getattr(get_plugins().pm.hook, name)(**kwargs)
