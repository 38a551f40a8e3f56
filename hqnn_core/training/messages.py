"""What ``hqnn train`` tells the user about a run: the header before epoch 1 and the note when it is interrupted.

Both go to the terminal and to the run's ``run.log`` (through :class:`~hqnn_core.training.trainer.Display`).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hqnn_core.training.prepare import Prepared


def resume_command(run_dir: Path | str) -> str:
    """The exact command that continues the run in ``run_dir`` (quoted for a POSIX shell)."""
    return f"hqnn train --resume {shlex.quote(str(run_dir))}"


def header_lines(prepared: Prepared, run_dir: Path, done_epochs: int = 0) -> list[str]:
    """Profile, backend and gradient, model, data sizes and run directory: what is about to run, in four lines."""
    loaded, layer, d = prepared.loaded, prepared.layer, prepared.dataset
    p = loaded.profile
    shots = "exact" if layer.shots is None else f"{layer.shots} shots"
    params = sum(x.numel() for x in prepared.model.parameters())
    where = f"run directory {run_dir}" + (f" (resuming after epoch {done_epochs})" if done_epochs else "")
    return [
        f"hqnn train {loaded.source} (config hash {loaded.config_hash[:12]}): {p.train.epochs} epochs, optimizer {p.train.optimizer.name}, "
        f"batch {p.train.batch_size}",
        f"  backend {layer.backend.full_name} ({shots}), gradient {layer.gradient.name}; {layer.n_qubits} qubits, {layer.encoder.name} encoder, "
        f"{layer.ansatz.name} x{layer.layers}; {params} parameters",
        f"  data {p.data.source}: {d.info['n_train']} train / {d.info['n_test']} test, {d.n_features} features, {d.n_classes} classes",
        f"  {where}",
    ]


def interrupted_lines(run_dir: Path, position: dict[str, Any], record: dict[str, Any], error: BaseException) -> list[str]:
    """Where the run stopped, what is saved, and the command that continues it."""
    code = error.code if isinstance(error, SystemExit) else None
    why = "interrupted (Ctrl-C)" if isinstance(error, KeyboardInterrupt) else ("stopped (SIGTERM)" if code == 143 else f"stopped (exit {code})")
    if position:
        step = f", step {position['step']}/{position['steps']}" if position.get("step") else ""
        at = f" during {position['phase']} epoch {position['epoch']}/{position['epochs']}{step}"
    else:
        at = " before training started"
    saved = "no epoch is saved yet; resuming starts from epoch 1"
    phase = (record.get(position.get("phase", "hybrid")) or {}) if position else {}
    checkpoints = [e for e in phase.get("epochs", []) if e.get("checkpoint")]
    if checkpoints:
        last = checkpoints[-1]
        saved = f"saved up to epoch {last['epoch']} ({last['checkpoint']['file']}); resuming continues after it"
    return [f"{why}{at}; {saved}.", f"run directory: {run_dir}", f"continue with: {resume_command(run_dir)}"]


__all__ = ["header_lines", "interrupted_lines", "resume_command"]
