"""``model.kind: born_machine`` through ``hqnn validate``, ``estimate`` and ``train``.

A Born machine run has the classifier run's shape: it is validated and estimated before its run
directory exists, spends under the same budget guard and limits (jobs, shots, USD), runs on the
profile's backend chain, and writes ``run.json`` with the same sections. What differs is what it
learns: the bit-string distribution of the training data (``data.source: bars_and_stripes``, or
any data source whose features are binarised by sign), with one full-batch Adam step on the MMD
per epoch. Its metrics are the MMD, the total-variation distance and the KL divergence to the data
distribution, and its baseline is the product of Bernoullis (:mod:`hqnn_core.generative.baseline`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.table import Table

from hqnn_core.config import LoadedProfile
from hqnn_core.errors import BudgetExceededError, CapabilityError, ConfigError, UnsupportedError
from hqnn_core.generative import BornMachine, ProductBernoulli, bars_and_stripes, divergences, empirical_distribution
from hqnn_core.pricing import PRICES_CHECKED, device_class, price_of, require_price, round_up_micro
from hqnn_core.training.budget import BudgetGuard, Usage, check_cost_preflight, check_preflight
from hqnn_core.training.data import load_dataset
from hqnn_core.training.estimate import RunEstimate
from hqnn_core.training.ledger import Ledger
from hqnn_core.training.prepare import layer_kwargs, seeds_for
from hqnn_core.training.records import CIRCUIT_TEXT, FORMAT, RunRecord, environment, save_circuit, save_profile, utc_now
from hqnn_core.training.resilience import RunResilience, retry_policy
from hqnn_core.training.validate import check_components

_log = logging.getLogger("hqnn.train")

KIND = "born_machine"
#: TVD differences below this are reported as equal (both models are scored on exact distributions, so no test applies).
TVD_TOLERANCE = 0.01


def is_born_machine(loaded: LoadedProfile) -> bool:
    return loaded.profile.model.kind == KIND


@dataclass
class BornRun:
    """Everything a Born machine run needs, built and checked, with nothing submitted or written."""

    loaded: LoadedProfile
    machine: BornMachine
    train_bits: np.ndarray
    test_bits: np.ndarray | None
    data_info: dict[str, Any]
    seeds: dict[str, int]
    injected_seeds: dict[str, int]


def load_bits(loaded: LoadedProfile) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """Training (and test) bit-strings: the generated bars-and-stripes set, or the data section's features binarised by sign."""
    d, src = loaded.profile.data, loaded.source
    if d.source == "bars_and_stripes":
        assert d.pattern_shape is not None  # the schema requires it with this source
        rows, cols = d.pattern_shape
        bits = bars_and_stripes(rows, cols)
        return bits, None, {"source": d.source, "pattern_shape": [rows, cols], "n_train": len(bits), "n_bits": rows * cols,
                            "binarised": "generated"}
    data = load_dataset(d, loaded.base_dir, src)
    info = {**data.info, "n_bits": data.n_features, "binarised": "feature > 0 after the data section's preprocessing"}
    return (data.x_train > 0).astype(np.uint8), (data.x_test > 0).astype(np.uint8), info


def prepare_born_machine(loaded: LoadedProfile) -> BornRun:
    """Check components, load the bits and build the Born machine: everything short of running a circuit."""
    check_components(loaded)
    p, src = loaded.profile, loaded.source
    if p.train.optimizer.name != "adam":
        raise ConfigError(f"{src}: train.optimizer: a born_machine trains with adam (full-batch steps on the MMD); "
                          f"remove train.optimizer or set it to adam, got {p.train.optimizer.name!r}.")
    if p.mitigation:
        raise ConfigError(f"{src}: mitigation: mitigators correct expectations; a born_machine reads outcome frequencies. Remove mitigation.")
    train_bits, test_bits, info = load_bits(loaded)
    q = p.model.quantum
    if q.n_qubits != train_bits.shape[1]:
        raise ConfigError(f"{src}: model.quantum.n_qubits is {q.n_qubits} but the data has {train_bits.shape[1]} bits per sample "
                          f"(one qubit each); set model.quantum.n_qubits: {train_bits.shape[1]}.")
    seeds = seeds_for(p)
    kwargs, injected = layer_kwargs(p, seeds)
    b = p.backend
    try:
        machine = BornMachine(
            q.n_qubits, layers=q.layers, ansatz=kwargs["ansatz"], backend={"name": b.name, "options": kwargs["backend_options"]},
            shots=b.shots, gradient=kwargs["gradient"], bandwidths=p.model.born_machine.bandwidths, steps=p.train.epochs,
            learning_rate=p.train.lr, seed=seeds["weights"], init=q.init,
            fallback=[ref.spec() for ref in b.fallback], retry=retry_policy(b.retry) if b.fallback else None,
        )
    except UnsupportedError as e:
        raise ConfigError(f"{src}: model.quantum.gradient: {e}") from None
    except CapabilityError as e:
        raise ConfigError(f"{src}: backend: {e}") from None
    except ConfigError as e:
        raise ConfigError(f"{src}: model: {e}") from None
    machine.set_data(train_bits)
    return BornRun(loaded, machine, train_bits, test_bits, info, seeds, injected)


def estimate_born_machine(run: BornRun, steps: int | None = None) -> RunEstimate:
    """Jobs, circuits and shots of ``steps`` training steps (default: train.epochs) and the final evaluation."""
    p, layer = run.loaded.profile, run.machine.training_layer
    steps = p.train.epochs if steps is None else steps
    per_step = layer.specs(batch_size=1)["per_training_step"]
    final = run.machine.final_layer()
    final_circuits = 1 if final.circuit.measurement.kind == "state" else final.executor.circuits_per_call(final.circuit, 1)
    parts = {
        "training": Usage(per_step["jobs"], per_step["circuits"], per_step["shots"]).times(steps),
        "evaluation": Usage(final.backend.jobs_for(final_circuits) if final_circuits else 0, final_circuits, final_circuits * (final.shots or 0)),
        "calibration": Usage(),
        "baseline": Usage(),
    }
    multipliers = {"epochs": steps, "optimizer": "adam", "gradient": layer.gradient.name,
                   "circuits_per_training_sample": per_step["circuits"], "mitigation_circuits_per_circuit": 1, "shots_per_circuit": layer.shots}
    return RunEstimate(parts, multipliers, layer.backend.full_name, device_class(layer.backend), price_of(layer.backend),
                       p.limits.model_dump(mode="json"))


def validate_lines(run: BornRun) -> list[str]:
    """What ``hqnn validate`` prints for a Born machine profile."""
    p, m, layer = run.loaded.profile, run.machine, run.machine.training_layer
    usage = estimate_born_machine(run).total
    return [
        f"  data: {p.data.source}, {run.data_info['n_train']} training strings of {m.n_bits} bits",
        f"  model: born_machine on {m.n_bits} qubits ({layer.ansatz.name} x{layer.layers}, gradient {layer.gradient.name}); "
        f"{layer.weights.numel()} parameters; MMD bandwidths {list(m.bandwidths)}",
        f"  backend: {layer.backend.full_name}, shots {layer.shots}; optimizer adam, {p.train.epochs} steps",
        f"  estimated usage: {usage.jobs} jobs, {usage.circuits} circuits, {usage.shots} shots; limits: jobs {p.limits.max_jobs}, "
        f"shots {p.limits.max_shots}",
    ]


def compare_generative(hybrid: dict[str, float], baseline: dict[str, float]) -> dict[str, Any]:
    """The verdict on the Born machine against its baseline by total-variation distance to the same data (lower is better)."""
    diff = hybrid["tvd"] - baseline["tvd"]
    verdict = "equal within tolerance" if abs(diff) < TVD_TOLERANCE else "better" if diff < 0 else "worse"
    relation = {"better": "better than", "worse": "worse than"}.get(verdict, "equal (within 0.01 TVD) to")
    summary = (f"born machine {relation} the classical baseline: TVD {hybrid['tvd']:.3f} vs {baseline['tvd']:.3f}, "
               f"KL {hybrid['kl']:.3f} vs {baseline['kl']:.3f} to the training distribution")
    return {"verdict": verdict, "metric": "tvd", "tolerance": TVD_TOLERANCE, "hybrid_tvd": hybrid["tvd"], "baseline_tvd": baseline["tvd"],
            "hybrid_kl": hybrid["kl"], "baseline_kl": baseline["kl"], "tvd_difference": diff, "summary": summary}


def _scores(distribution: np.ndarray, train_bits: np.ndarray, test_bits: np.ndarray | None) -> dict[str, float]:
    n_bits = train_bits.shape[1]
    out = divergences(empirical_distribution(train_bits, n_bits), distribution)
    if test_bits is not None and len(test_bits):
        out.update({f"test_{k}": v for k, v in divergences(empirical_distribution(test_bits, n_bits), distribution).items()})
    return out


def _new_record(run_dir: Path, run: BornRun, est: RunEstimate) -> RunRecord:
    loaded, layer = run.loaded, run.machine.training_layer
    return RunRecord(run_dir, {
        "format": FORMAT, "kind": KIND, "status": "running", "created": utc_now(), "finished": None, "error": None,
        "description": loaded.profile.description,
        "profile": {"source": loaded.source, "base_dir": str(loaded.base_dir), "sha256": loaded.file_sha256, "overrides": list(loaded.overrides),
                    "config_hash": loaded.config_hash, "raw": loaded.raw, "resolved": loaded.resolved()},
        "environment": environment(), "seeds": {**run.seeds, "injected": run.injected_seeds}, "data": run.data_info,
        "backend": layer.backend.describe(), "limits": loaded.profile.limits.model_dump(mode="json"), "estimate": est.as_dict(),
        "model": {"hybrid": {"kind": KIND, **layer.describe(), "parameters": layer.weights.numel(), "bandwidths": list(run.machine.bandwidths)}},
        "circuit": {"diagram": CIRCUIT_TEXT, "specs": layer.specs(batch_size=1)},
        "hybrid": {"status": "pending", "epochs": []},
        "baseline": {"status": "pending", "epochs": []} if loaded.profile.train.baseline else None,
        "comparison": None, "resumed": [], "ledger": Usage().as_dict(), "sessions": [], "wall_time_s": 0.0, "plots": [],
    })


def _preflight(run: BornRun, est: RunEstimate) -> None:
    limits, src = run.loaded.profile.limits, run.loaded.source
    if not limits.preflight:
        return
    if limits.max_jobs is not None or limits.max_shots is not None:
        check_preflight(est.total, Usage(), limits.max_jobs, limits.max_shots, src, run.loaded.profile.train.epochs)
    if limits.max_cost is not None:
        total = est.total
        price = require_price(run.machine.training_layer.backend)
        check_cost_preflight(price.exact_cost(total.jobs, total.shots), Decimal(0), limits.max_cost, src,
                             run.loaded.profile.train.epochs, f"{est.backend} ({est.device_class})")


def check_before_run(run: BornRun) -> RunEstimate:
    """The estimate, checked against the limits, before the run directory is made (BudgetExceededError otherwise)."""
    est = estimate_born_machine(run)
    _preflight(run, est)
    return est


def train_born_machine(run: BornRun, est: RunEstimate, run_dir: Path, note: Any) -> dict[str, Any]:
    """Train ``run`` in ``run_dir`` (already created and locked) and return its record; ``note`` prints a line."""
    loaded, machine = run.loaded, run.machine
    layer, t, limits = machine.training_layer, loaded.profile.train, loaded.profile.limits
    record = _new_record(run_dir, run, est)
    record.data["run_dir"] = str(run_dir.resolve())
    session = {"started": utc_now(), "hqnn": record.data["environment"]["hqnn"]}
    record.data["sessions"].append(session)
    record.save()
    save_profile(run_dir, loaded, loaded.profile.output.keep_raw_profile)
    save_circuit(run_dir, layer.draw(max_width=120))
    guard = BudgetGuard(layer.backend, limits.max_jobs, limits.max_shots, "", Usage(), max_cost=limits.max_cost,
                        journal=Ledger.for_run(run_dir, 0)).install()
    resilience = RunResilience(layer.backend)
    began = time.perf_counter()
    hybrid = record.phase("hybrid")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(run.seeds["torch"])
            hybrid["status"] = "running"
            for epoch in range(1, t.epochs + 1):
                resilience.at("hybrid", epoch, 1)
                row = machine.step()
                spent = guard.spent()
                hybrid["epochs"].append({"epoch": epoch, "train_loss": row["mmd"], "tvd": row["tvd"], "jobs_total": spent.jobs,
                                         "circuits_total": spent.circuits, "shots_total": spent.shots,
                                         "wall_time_total_s": round(time.perf_counter() - began, 3)})
                if epoch % t.checkpoint_every == 0 or epoch == t.epochs:
                    note(f"born_machine step {epoch}/{t.epochs}: mmd {row['mmd']:.5f} tvd {row['tvd']:.4f} | jobs {spent.jobs} shots {spent.shots}")
                    record.save()
            distribution = machine.final_distribution()
            final = {"mmd": machine.mmd_of(distribution), **_scores(distribution, run.train_bits, run.test_bits)}
        hybrid.update(status="completed", final=final, accounting=layer.backend.accounting.as_dict(),
                      weights=machine.training_layer.weights.detach().reshape(-1).tolist(), wall_time_s=round(time.perf_counter() - began, 3))
        if t.baseline:
            baseline = ProductBernoulli(machine.n_bits).fit(run.train_bits)
            record.data["model"]["baseline"] = {"kind": "product_bernoulli", "parameters": int(machine.n_bits or 0)}
            record.data["baseline"] = {"status": "completed", "epochs": [],
                                       "final": _scores(baseline.probabilities(), run.train_bits, run.test_bits)}
            record.data["comparison"] = compare_generative(final, record.data["baseline"]["final"])
        record.data["status"] = "completed"
    except BudgetExceededError as e:
        record.data.update(status="stopped", error={"type": type(e).__name__, "message": str(e)})
        hybrid.update(status="stopped", accounting=layer.backend.accounting.as_dict())
        raise
    except BaseException as e:
        record.data.update(status="failed", error={"type": type(e).__name__, "message": str(e)})
        _log.error("run failed: %s: %s", type(e).__name__, e, exc_info=e)
        raise
    finally:
        guard.uninstall()
        record.data["ledger"] = guard.spent().as_dict()
        price = price_of(layer.backend)
        record.data["cost"] = {"spent_usd": float(round_up_micro(guard.cost())), "spent_usd_exact": str(guard.cost()),
                               "max_cost_usd": None if guard.max_cost is None else float(guard.max_cost), "device_class": device_class(layer.backend),
                               "price": price.as_dict() if price else None, "prices_checked": PRICES_CHECKED}
        record.data["resilience"] = resilience.report()
        session["finished"] = utc_now()
        session["wall_time_s"] = record.data["wall_time_s"] = round(time.perf_counter() - began, 3)
        record.data["finished"] = utc_now()
        record.save()
    return record.data


def summary_table(record: dict[str, Any]) -> Table:
    """What ``hqnn train`` prints at the end of a Born machine run: each model's distances to the data, and the verdict."""
    table = Table("model", "TVD", "KL", "test TVD", "parameters", "jobs", "shots", "wall time (s)")
    for name in ("hybrid", "baseline"):
        phase = record.get(name) or {}
        final = phase.get("final")
        if not final:
            continue
        acc = phase.get("accounting") or {}
        test_tvd = f"{final['test_tvd']:.4f}" if "test_tvd" in final else "-"
        table.add_row(name, f"{final['tvd']:.4f}", f"{final['kl']:.4f}", test_tvd, str((record.get("model") or {}).get(name, {}).get("parameters", "")),
                      str(acc.get("jobs", "-")), str(acc.get("shots", "-")), f"{phase.get('wall_time_s', 0):.1f}")
    table.caption = (record.get("comparison") or {}).get("summary")
    return table
