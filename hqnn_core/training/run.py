"""A whole run: ``hqnn train`` (new or ``--resume``d) and ``hqnn eval``.

``train`` validates and prepares everything before it creates the run directory, so an invalid
profile or a run over budget writes nothing. It trains inside ``torch.random.fork_rng`` so the
caller's torch generator is untouched, and records the outcome (completed, stopped by a limit, or
failed) in ``run.json`` whatever happens.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from hqnn_core._optional import check_trackers
from hqnn_core.config import LoadedProfile, load_profile, validate_profile
from hqnn_core.errors import BudgetExceededError, CheckpointError, ConfigError
from hqnn_core.generative import BornMachine
from hqnn_core.training import distributed
from hqnn_core.training.budget import BudgetGuard, Usage, check_preflight
from hqnn_core.training.checkpoints import CheckpointManager, load_weights_only, sha256_bytes
from hqnn_core.training.estimate import cost_record, preflight_cost, spent_cost
from hqnn_core.training.generative import check_before_run, is_born_machine, prepare_born_machine, train_born_machine
from hqnn_core.training.kernel_run import train_kernel
from hqnn_core.training.ledger import Ledger, read_spent
from hqnn_core.training.messages import header_lines, interrupted_lines, resume_command
from hqnn_core.training.model import HybridModel, build_baseline, describe_model
from hqnn_core.training.paths import confined
from hqnn_core.training.plots import write_plots
from hqnn_core.training.prepare import Prepared, estimate, prepare
from hqnn_core.training.records import (
    CIRCUIT_TEXT,
    FORMAT,
    PROFILE_COPY,
    RUN_JSON,
    RunRecord,
    environment,
    save_circuit,
    save_profile,
    utc_now,
)
from hqnn_core.training.resilience import RunResilience, start_run_log, stop_run_log
from hqnn_core.training.rundir import LOCK_FILE, RunLock, clean_temporary, leftovers
from hqnn_core.training.shots import apply_shot_budget
from hqnn_core.training.spec import derive_seed, resolve
from hqnn_core.training.trainer import Display, Phase, Trainer, call_hook, confusion_matrix, evaluate
from hqnn_core.training.verdict import run_comparison

_log = logging.getLogger("hqnn.train")


@dataclass
class RunResult:
    """What ``train`` returns: the run directory, its record and the trained models."""

    run_dir: Path
    record: dict[str, Any]
    model: HybridModel | BornMachine
    baseline: HybridModel | None = None


def _new_run_dir(loaded: LoadedProfile, out: str | Path | None, held: contextlib.ExitStack) -> Path:
    """Create (or take the empty ``--out``) run directory and hold its lock in ``held``; a ConfigError names an unusable path."""
    key = "--out" if out is not None else f"{loaded.source}: output.runs_dir"
    try:
        path = _make_run_dir(loaded, out, held)
    except OSError as e:
        raise ConfigError(f"{key}: cannot create a run directory at {e.filename or out or loaded.profile.output.runs_dir}: "
                          f"{e.strerror or e}; choose a writable folder with --out or output.runs_dir.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: the run directory {path} is not writable; choose a writable folder with --out or output.runs_dir.")
    return path


def _make_run_dir(loaded: LoadedProfile, out: str | Path | None, held: contextlib.ExitStack) -> Path:
    if out is not None:
        path = Path(out)
        not_empty = ConfigError(f"--out {path}: the folder exists and is not empty; continue that run with --resume {path}, or pick a new folder.")
        if path.exists() and leftovers(path) is None and not (path / LOCK_FILE).exists():
            raise not_empty  # not a run directory: leave it untouched
        path.mkdir(parents=True, exist_ok=True)
        held.enter_context(RunLock(path))  # RunInUseError names a live writer of this folder
        if leftovers(path) is None:  # checked holding the lock: another process may have started a run here meanwhile
            raise not_empty
        clean_temporary(path)  # a run killed before its first record left only these: start afresh
        return path
    o = loaded.profile.output
    stem = Path(loaded.source).stem if loaded.source and not loaded.source.startswith("<") else "run"
    name = o.name or f"{stem}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    root = Path(o.runs_dir)
    for i in range(1000):
        path = root / (name if i == 0 else f"{name}-{i + 1}")
        try:
            path.mkdir(parents=True, exist_ok=False)
            held.enter_context(RunLock(path))
            return path
        except FileExistsError:
            if o.name:
                raise ConfigError(
                    f"{loaded.source}: output.name: run directory {path} exists; continue it with --resume {path}, or choose another name."
                ) from None
    raise ConfigError(f"{loaded.source}: output.runs_dir: could not create a new run directory under {root}.")


def _profile_section(loaded: LoadedProfile) -> dict[str, Any]:
    return {
        "source": loaded.source,
        "base_dir": str(loaded.base_dir),
        "sha256": loaded.file_sha256,
        "overrides": list(loaded.overrides),
        "config_hash": loaded.config_hash,
        "raw": loaded.raw,
        "resolved": loaded.resolved(),
    }


def _new_record(run_dir: Path, prepared: Prepared) -> RunRecord:
    loaded = prepared.loaded
    layer = prepared.layer
    data: dict[str, Any] = {
        "format": FORMAT,
        "status": "running",
        "created": utc_now(),
        "finished": None,
        "error": None,
        "description": loaded.profile.description,
        "profile": _profile_section(loaded),
        "environment": environment(),
        "seeds": {**prepared.seeds, "injected": prepared.injected_seeds},
        "data": prepared.dataset.info,
        "backend": layer.backend.describe(),
        "limits": loaded.profile.limits.model_dump(mode="json"),
        "estimate": estimate(prepared).as_dict(),
        "model": {"hybrid": describe_model(prepared.model)},
        "circuit": {"diagram": CIRCUIT_TEXT, "specs": layer.specs(batch_size=loaded.profile.train.batch_size,
                                                               inputs_need_grad=any(p.requires_grad for p in prepared.model.front.parameters()))},
        "hybrid": {"status": "pending", "epochs": []},
        "baseline": {"status": "pending", "epochs": []} if loaded.profile.train.baseline else None,
        "comparison": None,
        "resumed": [],
        "ledger": Usage().as_dict(),
        "sessions": [],
        "wall_time_s": 0.0,
        "plots": [],
    }
    return RunRecord(run_dir, data)


def load_run_profile(run_dir: str | Path, overrides: Sequence[str] = ()) -> tuple[RunRecord, LoadedProfile]:
    """A run's record and its profile (as it was run, with any new ``--set`` overrides on top)."""
    record = RunRecord.load(run_dir)
    p = record.data["profile"]
    loaded = validate_profile(p["raw"], p["source"], p["base_dir"], overrides, p["sha256"])
    return record, dataclasses.replace(loaded, overrides=list(p["overrides"]) + list(overrides))


def _claim_for_resume(run_dir: Path, held: contextlib.ExitStack) -> None:
    """Hold ``run_dir``'s lock (RunInUseError while a live run has it) and remove interrupted writes."""
    if run_dir.is_dir() and not (run_dir / RUN_JSON).exists() and leftovers(run_dir):
        raise CheckpointError(
            f"{run_dir} holds no run record: its run was stopped before the first record was written, so there is nothing to resume. "
            f"Start it again in the same folder with: hqnn train PROFILE --out {run_dir}"
        )
    if (run_dir / RUN_JSON).exists():
        held.enter_context(RunLock(run_dir))
        clean_temporary(run_dir)  # .run.json.*.tmp of a killed writer; safe: no other writer holds the lock


def train(
    profile: str | Path | LoadedProfile | None = None, overrides: Sequence[str] = (), out: str | Path | None = None,
    resume: str | Path | None = None, force: bool = False, quiet: bool = False, console: Console | None = None,
) -> RunResult:
    """Train a profile (or resume the run in ``resume``) and write its run directory.

    The run directory is locked while this runs (see :mod:`hqnn_core.training.rundir`).

    Raises:
        ConfigError: the profile is invalid (nothing is trained or written).
        BudgetExceededError: a limit would be crossed (before any submission past it; the run's last
            checkpoint is kept and ``--resume`` continues it).
        CheckpointError: ``resume`` has no usable checkpoint or was written for another profile.
        RunInUseError: another live process is writing that run directory.
    """
    with contextlib.ExitStack() as held:  # the run directory's lock, released however the run ends
        return _train(profile, overrides, out, resume, force, quiet, console, held)


def _train(profile: str | Path | LoadedProfile | None, overrides: Sequence[str], out: str | Path | None, resume: str | Path | None,
           force: bool, quiet: bool, console: Console | None, held: contextlib.ExitStack) -> RunResult:
    ctx = distributed.from_environment()  # torchrun / --nproc: this rank's place, else None
    display = Display(console, quiet or (ctx is not None and not ctx.is_main))
    if resume is not None:
        if ctx is None or ctx.is_main:
            _claim_for_resume(Path(resume), held)
        record, stored = load_run_profile(resume, overrides if profile is None else ())
        loaded = stored if profile is None else (profile if isinstance(profile, LoadedProfile) else load_profile(profile, overrides))
        if loaded.config_hash != stored.config_hash and not force:
            raise CheckpointError(
                f"{loaded.source} differs from the profile run {resume} was started with (config hash {loaded.config_hash[:12]} vs "
                f"{stored.config_hash[:12]}); only limits, output and description may change on resume. Pass --force to resume anyway."
            )
        run_dir = Path(resume)
        if loaded.profile.model.kind == "kernel":
            raise CheckpointError(f"{resume} is a kernel SVC run: it has no epochs to resume; train its profile again.")
    else:
        loaded = profile if isinstance(profile, LoadedProfile) else load_profile(_require(profile), overrides)
        record, run_dir = None, None
        if loaded.profile.model.kind == "kernel":  # an SVC on a quantum kernel: its own short path (kernel_run.py)
            kernel_dir, data, svc = train_kernel(loaded, lambda: _new_run_dir(loaded, out, held), display.note)
            return RunResult(kernel_dir, data, svc)
    if is_born_machine(loaded):
        if resume is not None or ctx is not None:
            raise ConfigError(f"{loaded.source}: model.kind: a born_machine run trains in one process and does not resume; "
                              "start it again (without --resume or --nproc).")
        return _train_born_machine(loaded, out, display, held)
    check_trackers(loaded.profile.output.log_to)  # a missing tracker SDK fails before anything is written
    # resolved once: under torchrun/--nproc each rank gets its own shot seeds and share of the limits (run.json's distributed section)
    spec = resolve(loaded) if ctx is None else resolve(loaded, rank=ctx.rank, world_size=ctx.world_size)
    limits = loaded.profile.limits
    used = Usage(**record.data.get("ledger", {})) if record else Usage()
    spent = read_spent(Path(resume)) if resume is not None else None  # the write-ahead ledger: counts what a crash kept from run.json
    if spent is not None:
        used = Usage(spent.jobs, spent.circuits, spent.shots)
    cost_used = spent_cost(record.data if record else None, spent.cost if spent is not None else None)
    guard = BudgetGuard(spec.limits.max_jobs, spec.limits.max_shots, "", used, max_cost=spec.limits.max_cost, cost_before=cost_used)
    prepared = prepare(loaded, spec=spec, guard=guard)  # the layer on its final backend stack: budget, fallback chain, retries
    shot_budget = apply_shot_budget(prepared)  # train.shots_per_step caps shots per circuit, before the estimate
    done = len((record.data.get("hybrid") or {}).get("epochs") or []) if record else 0
    if limits.preflight and (limits.max_jobs is not None or limits.max_shots is not None):
        remaining = max(0, loaded.profile.train.epochs - done)
        check_preflight(estimate(prepared, remaining), used, limits.max_jobs, limits.max_shots, loaded.source, remaining)
    preflight_cost(prepared, cost_used, max(0, loaded.profile.train.epochs - done))
    if record is None:
        if ctx is None or ctx.is_main:
            run_dir = _new_run_dir(loaded, out, held)
            record = _new_record(run_dir, prepared)
        if ctx is not None:  # rank 0 made the folder; the others learn where
            run_dir = Path(ctx.broadcast(str(run_dir) if ctx.is_main else None))
            record = record or _new_record(run_dir, prepared)
    else:
        if record.data.get("status") == "completed":
            display.note(f"{run_dir} is already complete; nothing to do.")
            return RunResult(Path(str(run_dir)), record.data, prepared.model)
        record.data["status"] = "running"
        record.data["error"] = None
        record.data["limits"] = limits.model_dump(mode="json")
        record.data["forced"] = bool(force and loaded.config_hash != stored.config_hash)
        record.data["profile"]["overrides"] = list(loaded.overrides)
    assert record is not None and run_dir is not None  # both set above, on every path
    record.data["run_dir"] = str(Path(run_dir).resolve())  # where trackers (output.log_to) find the run's files
    if ctx is not None:
        record = ctx.local_record(record)  # only rank 0 writes run.json
    session = {"started": utc_now(), "hqnn": record.data["environment"]["hqnn"]}
    record.data["sessions"].append(session)
    record.data["shot_budget"] = shot_budget
    record.save()
    if (ctx is None or ctx.is_main) and not (run_dir / PROFILE_COPY).exists():  # after run.json: a crash before it leaves only .tmp files
        save_profile(run_dir, loaded, loaded.profile.output.keep_raw_profile)
        save_circuit(run_dir, prepared.layer.draw(max_width=120))
    call_hook("hqnn_run_started", run=record.data)
    began = time.perf_counter()
    guard.open_journal(Ledger.for_run(run_dir, ctx.rank if ctx is not None else 0),
                       f" and continue with: hqnn train --resume {run_dir} --set limits.KEY=N")
    error: BaseException | None = None
    baseline_model = None
    resilience = RunResilience(prepared.layer.backend, record.data.get("resilience"), display)
    run_log = start_run_log(run_dir) if ctx is None or ctx.is_main else None
    for line in header_lines(prepared, run_dir, done):  # before epoch 1, on screen and in run.log
        display.note(line)
    try:
        with torch.random.fork_rng(devices=[]):
            distributed.attach_task_journals(prepared.layer.backend, run_dir, ctx)  # remote task ids persisted before waiting (R7)
            trainer = Trainer(prepared, record, run_dir, display, loaded.config_hash, guard, dist=ctx, resilience=resilience)
            seeds = prepared.seeds
            hybrid_checkpoints = CheckpointManager(confined(run_dir, "checkpoints/hybrid"), loaded.profile.train.keep_checkpoints)
            trainer.fit(Phase("hybrid", prepared.model, hybrid_checkpoints, seeds))
            calibration = prepared.layer.backend.calibration(prepared.layer.n_qubits)  # after fit: the layout is known
            if calibration is not None:
                record.data["calibration"] = calibration
            if ctx is not None:
                ctx.merge_into(record, prepared.layer.backend)
            if loaded.profile.train.baseline:
                torch.manual_seed(seeds["baseline_init"])
                d = prepared.dataset
                baseline_model = build_baseline(loaded.profile, d.n_features, d.n_classes, d.image_shape, prepared.layer, loaded.source, loaded.base_dir)
                record.data["model"]["baseline"] = describe_model(baseline_model)
                base_seeds = {**seeds, **{k: derive_seed(seeds[k], "baseline") for k in ("shuffle", "torch", "spsa")}}
                trainer.fit(Phase("baseline", baseline_model, CheckpointManager(confined(run_dir, "checkpoints/baseline"),
                                                                       loaded.profile.train.keep_checkpoints), base_seeds))
        record.data["comparison"] = run_comparison(record.data)
        if loaded.profile.output.plots:
            record.data["plots"] = write_plots(run_dir, record.data)
        record.data["status"] = "completed"
    except BudgetExceededError as e:
        error = e
        record.data["status"] = "stopped"
        record.data["error"] = {"type": type(e).__name__, "message": str(e)}
        record.phase("hybrid")["status"] = "stopped"
        record.phase("hybrid")["accounting"] = prepared.layer.backend.accounting.as_dict()  # spent up to the refused submission
        _log.warning("stopped by a limit: %s", e)
        raise
    except (KeyboardInterrupt, SystemExit) as e:  # Ctrl-C, or SIGTERM through the CLI's handler
        error = e
        record.data["status"] = "interrupted"
        record.data["error"] = {"type": type(e).__name__, "message": f"interrupted; continue with: {resume_command(run_dir)}"}
        display.alert(interrupted_lines(run_dir, display.position, record.data, e))
        raise
    except BaseException as e:
        error = e
        record.data["status"] = "failed"
        record.data["error"] = {"type": type(e).__name__, "message": str(e)}
        _log.error("run failed: %s: %s", type(e).__name__, e, exc_info=e)
        raise
    finally:
        guard.close()
        record.data["ledger"] = guard.spent().as_dict()
        record.data["cost"] = cost_record(guard, prepared)
        record.data["resilience"] = resilience.report()
        record.data["mitigation"] = [m.describe() for m in prepared.layer.mitigators]  # calibrations with timestamps
        if run_log is not None:
            stop_run_log(run_log)
        session["finished"] = utc_now()
        session["wall_time_s"] = round(time.perf_counter() - began, 3)
        record.data["wall_time_s"] = round(sum(s.get("wall_time_s", 0.0) for s in record.data["sessions"]), 3)
        record.data["finished"] = utc_now()
        _save_outcome(record, error)
        try:
            call_hook("hqnn_run_finished", run=record.data, error=error)
        except Exception:  # noqa: BLE001 - the hook must not raise; a buggy plugin cannot hide the run's own outcome
            pass
    return RunResult(run_dir, record.data, prepared.model, baseline_model)


def _train_born_machine(loaded: LoadedProfile, out: str | Path | None, display: Display, held: contextlib.ExitStack) -> RunResult:
    """``model.kind: born_machine``: checked and estimated before its run directory exists, then trained (training/generative.py)."""
    limits = loaded.profile.limits
    born = prepare_born_machine(loaded, BudgetGuard(limits.max_jobs, limits.max_shots, "", Usage(), max_cost=limits.max_cost))
    est = check_before_run(born)
    run_dir = _new_run_dir(loaded, out, held)
    run_log = start_run_log(run_dir)
    try:
        record = train_born_machine(born, est, run_dir, display.note)
    finally:
        stop_run_log(run_log)
    return RunResult(run_dir, record, born.machine)


def _save_outcome(record: RunRecord, error: BaseException | None) -> None:
    """Save the final record. When the disk refuses (full), still mark run.json failed, in place.

    The run's own error, if any, is what the caller sees; a record that cannot be written after a
    successful run is itself the failure.
    """
    try:
        record.save()
    except OSError as e:
        record.data["status"] = "failed"
        record.data["error"] = record.data.get("error") or {"type": type(e).__name__, "message": f"could not write the run record: {e}"}
        written = record.save_status_in_place("failed")
        _log.error("%s: could not write run.json (%s); %s", record.run_dir, e,
                     "its status was set to failed in place" if written else "it still shows its previous status")
        if error is None:
            raise


def _require(profile: str | Path | None) -> str | Path:
    if profile is None:
        raise ConfigError("give a profile to train (e.g. hqnn train examples/digits.yaml) or --resume RUN_DIR.")
    return profile


# -- evaluating a saved run --------------------------------------------------------------------
def trained_state(run_dir: Path, record: Any) -> tuple[dict[str, Any], float | None, str]:
    """The run's trained weights (``model.pt`` checked against its sha256, else the newest checkpoint)."""
    hybrid = record.data.get("hybrid") or {}
    weights = hybrid.get("weights")
    if weights:
        path = confined(run_dir, weights["file"], f"{run_dir / 'run.json'}: hybrid.weights.file")
        blob = path.read_bytes() if path.exists() else b""
        if sha256_bytes(blob) != weights["sha256"]:
            raise CheckpointError(f"{path} is missing or does not match the sha256 in run.json; the saved model is damaged.")
        return load_weights_only(blob, str(path)), hybrid["final"]["test_accuracy"], weights["file"]
    latest = CheckpointManager(confined(run_dir, "checkpoints/hybrid")).load_latest()
    if latest is None:
        raise CheckpointError(f"{run_dir} has no trained model yet (no model.pt and no checkpoint); train or resume it first.")
    full, entry = latest
    recorded = next((e["test_accuracy"] for e in hybrid.get("epochs", []) if e["epoch"] == entry["epoch"]), None)
    return full["model"], recorded, f"checkpoints/hybrid/{entry['file']}"


def evaluate_run(run_dir: str | Path, backend: str | None = None, shots: Any = "profile", backend_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rebuild a run's model, load its saved weights, and evaluate the test set (on another backend if asked)."""
    record, loaded = load_run_profile(run_dir)
    if loaded.profile.model.kind == "kernel":
        raise ConfigError(f"{run_dir} is a kernel SVC run: its test accuracy is in run.json (hybrid.final); hqnn eval rebuilds "
                          "trained networks only. Train the profile again with --set backend.name=... to score another backend.")
    run_dir = Path(run_dir)
    state, recorded, origin = trained_state(run_dir, record)
    if backend is not None and backend_options is None:
        backend_options = {} if backend != loaded.profile.backend.name else None
    prepared = prepare(loaded, backend=backend, shots=shots, backend_options=backend_options)
    if backend is None and shots == "profile":
        apply_shot_budget(prepared)  # evaluate with the shots per circuit the run trained with
    model = prepared.model
    model.load_state_dict(state)
    with torch.random.fork_rng(devices=[]):
        loss, acc, pred = evaluate(model, torch.from_numpy(prepared.dataset.x_test), torch.from_numpy(prepared.dataset.y_test),
                                   loaded.profile.train.eval_batch_size)
    files_then = (record.data.get("data") or {}).get("files") or {}
    return {
        "run_dir": str(run_dir),
        "weights": origin,
        "backend": prepared.layer.backend.describe(),
        "shots": prepared.layer.shots,
        "n_test": len(prepared.dataset.y_test),
        "test_loss": loss,
        "test_accuracy": acc,
        "recorded_test_accuracy": recorded,
        "matches_record": recorded is not None and acc == recorded,
        "confusion_matrix": confusion_matrix(torch.from_numpy(prepared.dataset.y_test), pred, prepared.dataset.n_classes),
        "data_changed": files_then != prepared.dataset.info.get("files", {}),
        "accounting": prepared.layer.backend.accounting.as_dict(),
    }
