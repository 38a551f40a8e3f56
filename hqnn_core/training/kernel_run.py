"""``model.kind: kernel``: an SVC on a quantum kernel, run by ``hqnn train`` like a classifier.

The feature map is ``model.quantum``'s encoder on ``n_qubits``; ``model.kernel`` picks the kernel
(fidelity or projected) and the SVC's ``C``. The run has the classifier's pieces: the data section,
derived seeds, the fallback chain and retries of ``backend``, the limits (checked before the first
Gram matrix from the estimate, and before every submission by the budget guard), the ledger, a
``run.json`` whose ``hybrid`` phase is the kernel SVC, and with ``train.baseline`` a classical RBF
SVC with the same ``C`` and the verdict. A kernel SVC has no epochs: its usage is two Gram
matrices, ``K(train, train)`` and ``K(test, train)``, each one backend call (:func:`kernel_usage`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import hinge_loss
from sklearn.svm import SVC

from hqnn_core.components import get_backend
from hqnn_core.config import KernelConfig, LoadedProfile
from hqnn_core.errors import BudgetExceededError, CapabilityError, ConfigError
from hqnn_core.interfaces import Backend
from hqnn_core.kernels import FidelityKernel, ProjectedKernel, QuantumKernelBase
from hqnn_core.pricing import PRICES_CHECKED, device_class, price_of, require_price, round_up_micro
from hqnn_core.training.budget import BudgetGuard, Usage, check_cost_preflight, check_preflight
from hqnn_core.training.data import Dataset, load_dataset
from hqnn_core.training.estimate import RunEstimate
from hqnn_core.training.ledger import Ledger
from hqnn_core.training.prepare import layer_kwargs, seeds_for
from hqnn_core.training.records import FORMAT, RunRecord, environment, save_profile, utc_now
from hqnn_core.training.resilience import build_chain, wants_chain
from hqnn_core.training.validate import check_components
from hqnn_core.training.verdict import correct_string, run_comparison


@dataclass
class KernelPlan:
    """A kernel run, built and checked, with nothing submitted or written."""

    loaded: LoadedProfile
    dataset: Dataset
    seeds: dict[str, int]
    injected_seeds: dict[str, int]
    kernel: QuantumKernelBase
    options: KernelConfig


def _backend(loaded: LoadedProfile, kwargs: dict[str, Any], seeds: dict[str, int], injected: dict[str, int]) -> Backend:
    """The profile's backend, wrapped in its fallback chain and retry policy when the profile asks for one."""
    primary = get_backend(kwargs["backend"], **kwargs["backend_options"])
    return build_chain(loaded, primary, seeds, injected) if wants_chain(loaded.profile.backend) else primary


def prepare_kernel(loaded: LoadedProfile) -> KernelPlan:
    """Check the components, load the data and build the kernel on the backend chain: everything short of running a circuit."""
    check_components(loaded)
    profile, src = loaded.profile, loaded.source
    if profile.mitigation:
        raise ConfigError(f"{src}: mitigation: kind: kernel does not run error mitigation yet; remove the mitigation section.")
    dataset = load_dataset(profile.data, loaded.base_dir, src)
    seeds = seeds_for(profile)
    kwargs, injected = layer_kwargs(profile, seeds)
    cfg = profile.model.kernel or KernelConfig()  # set by validation for kind: kernel
    try:
        backend = _backend(loaded, kwargs, seeds, injected)
        common: dict[str, Any] = {"encoder": kwargs["encoder"], "n_qubits": kwargs["n_qubits"], "backend": backend, "shots": kwargs["shots"],
                                  "psd": cfg.psd}
        kernel: QuantumKernelBase = (FidelityKernel(**common, method=cfg.method) if cfg.type == "fidelity"
                                     else ProjectedKernel(**common, gamma=cfg.gamma))
    except (ConfigError, CapabilityError) as e:
        raise ConfigError(f"{src}: model.kernel: {e}") from None
    if kernel.n_features != dataset.n_features:
        raise ConfigError(f"{src}: model.quantum.n_qubits: the {kernel.feature_map.encoder.name} feature map on {kernel.n_qubits} qubits takes "
                          f"{kernel.n_features} features, but the data has {dataset.n_features}; set n_qubits to match or reduce the data "
                          "(data.pca).")
    return KernelPlan(loaded, dataset, seeds, injected, kernel, cfg)


def kernel_usage(plan: KernelPlan) -> dict[str, Usage]:
    """Jobs, circuits and shots of the two Gram matrices (``training``: ``K(train, train)``, ``evaluation``: ``K(test, train)``).

    From :meth:`~hqnn_core.kernels.QuantumKernelBase.cost`, as ``backend.accounting`` counts them:
    compute-uncompute runs one circuit per pair (``n(n-1)/2`` for the symmetric training matrix, whose
    diagonal is 1, and ``n_test · n``); statevector overlaps and the projected kernel one per point
    (``n``, then ``n_test + n``). Statevectors of a local simulator are counted but submit no vendor job.
    """
    kernel, n, m = plan.kernel, len(plan.dataset.y_train), len(plan.dataset.y_test)
    costs = {"training": kernel.cost(n), "evaluation": kernel.cost(m, n)}
    return {part: Usage(c["jobs"], c["circuits"], c["shots"]) for part, c in costs.items()}


def estimate_kernel_run(plan: KernelPlan) -> RunEstimate:
    """``hqnn estimate`` of a kernel run: the Gram matrices; the classical baseline runs no circuits."""
    parts = {**kernel_usage(plan), "calibration": Usage(), "baseline": Usage()}
    k = plan.kernel
    per_sample: Any = "n_train - 1 pairs" if isinstance(k, FidelityKernel) and k.method == "compute_uncompute" else 1
    multipliers = {"epochs": 1, "optimizer": "svc", "gradient": "none", "circuits_per_training_sample": per_sample,
                   "mitigation_circuits_per_circuit": 1, "shots_per_circuit": k.shots}
    limits = plan.loaded.profile.limits.model_dump(mode="json")
    return RunEstimate(parts, multipliers, k.backend.full_name, device_class(k.backend), price_of(k.backend), limits)


def describe_kernel(plan: KernelPlan) -> dict[str, Any]:
    k, cfg = plan.kernel, plan.options
    out: dict[str, Any] = {"kind": "kernel", "type": cfg.type, "C": cfg.C, "encoder": k.feature_map.encoder.name, "n_qubits": k.n_qubits,
                           "n_features": k.n_features, "shots": k.shots, "psd": cfg.psd}
    out.update({"method": k.method} if isinstance(k, FidelityKernel) else {"gamma": cfg.gamma})
    return out


def validate_lines(loaded: LoadedProfile) -> list[str]:
    """``hqnn validate``'s summary of a kernel profile (after building it: data, feature map, backend, estimate)."""
    plan = prepare_kernel(loaded)
    d, k, p, usage = plan.dataset, plan.kernel, loaded.profile, estimate_kernel_run(plan).total
    cfg = plan.options
    method = f", method {k.method}" if isinstance(k, FidelityKernel) else f", gamma {cfg.gamma}"
    return [
        f"  data: {p.data.source}, {d.info['n_train']} train / {d.info['n_test']} test, {d.n_features} features, classes {d.labels}",
        f"  model: {cfg.type} kernel SVC (C={cfg.C}{method}) on {k.n_qubits} qubits ({k.feature_map.encoder.name} feature map)",
        f"  backend: {k.backend.full_name}, shots {k.shots}; baseline {'RBF SVC' if p.train.baseline else 'none'}",
        f"  estimated usage: {usage.jobs} jobs, {usage.circuits} circuits, {usage.shots} shots; limits: jobs {p.limits.max_jobs}, "
        f"shots {p.limits.max_shots}",
        f"  config hash {loaded.config_hash[:16]}",
    ]


def _preflight(plan: KernelPlan, est: RunEstimate) -> None:
    limits, src = plan.loaded.profile.limits, plan.loaded.source
    if limits.preflight and (limits.max_jobs is not None or limits.max_shots is not None):
        check_preflight(est.total, Usage(), limits.max_jobs, limits.max_shots, src, 1)
    if limits.max_cost is not None:
        for leaf in plan.kernel.backend.members():
            require_price(leaf)
        if limits.preflight:
            total = est.total
            check_cost_preflight(require_price(plan.kernel.backend).exact_cost(total.jobs, total.shots), Decimal(0), limits.max_cost, src, 1,
                                 f"{est.backend} ({est.device_class})")


def _scores(svc: SVC, K_train: np.ndarray, K_test: np.ndarray, d: Dataset, seconds: float) -> dict[str, Any]:
    """The phase's ``final`` metrics: accuracies, the hinge loss of the decision function, per-sample outcomes."""
    pred = svc.predict(K_test)
    labels = np.arange(d.n_classes)
    return {
        "train_accuracy": float(np.mean(svc.predict(K_train) == d.y_train)),
        "test_accuracy": float(np.mean(pred == d.y_test)),
        "test_loss": float(hinge_loss(d.y_test, svc.decision_function(K_test), labels=labels)),
        "test_correct": correct_string(d.y_test, pred),
        "support_vectors": int(svc.support_.size),
        "fit_seconds": round(seconds, 3),
    }


def _new_record(run_dir: Path, plan: KernelPlan, est: RunEstimate) -> RunRecord:
    loaded = plan.loaded
    data: dict[str, Any] = {
        "format": FORMAT, "status": "running", "created": utc_now(), "finished": None, "error": None,
        "description": loaded.profile.description,
        "profile": {"source": loaded.source, "base_dir": str(loaded.base_dir), "sha256": loaded.file_sha256, "overrides": list(loaded.overrides),
                    "config_hash": loaded.config_hash, "raw": loaded.raw, "resolved": loaded.resolved()},
        "environment": environment(),
        "seeds": {**plan.seeds, "injected": plan.injected_seeds},
        "data": plan.dataset.info,
        "backend": plan.kernel.backend.describe(),
        "limits": loaded.profile.limits.model_dump(mode="json"),
        "estimate": est.as_dict(),
        "model": {"hybrid": describe_kernel(plan)},
        "hybrid": {"status": "pending", "epochs": []},
        "baseline": {"status": "pending", "epochs": []} if loaded.profile.train.baseline else None,
        "comparison": None, "resumed": [], "ledger": Usage().as_dict(), "sessions": [], "wall_time_s": 0.0, "plots": [],
    }
    return RunRecord(run_dir, data)


def train_kernel(loaded: LoadedProfile, new_run_dir: Callable[[], Path], note: Callable[[str], None]) -> tuple[Path, dict[str, Any], SVC]:
    """Fit the profile's kernel SVC (and the RBF baseline); returns the run directory, its record and the fitted SVC.

    ``new_run_dir`` creates (and locks) the run directory once everything is checked; ``note`` prints a line.
    Raises BudgetExceededError before any submission that would cross a limit (the record says "stopped").
    """
    plan = prepare_kernel(loaded)
    est = estimate_kernel_run(plan)
    _preflight(plan, est)
    run_dir = new_run_dir()
    record = _new_record(run_dir, plan, est)
    session: dict[str, Any] = {"started": utc_now(), "hqnn": record.data["environment"]["hqnn"]}
    record.data["sessions"].append(session)
    record.save()
    save_profile(run_dir, loaded, loaded.profile.output.keep_raw_profile)
    limits, kernel, d, C = loaded.profile.limits, plan.kernel, plan.dataset, plan.options.C
    guard = BudgetGuard(kernel.backend, limits.max_jobs, limits.max_shots, " and run again", max_cost=limits.max_cost,
                        journal=Ledger.for_run(run_dir)).install()
    note(f"hqnn train {loaded.source} (config hash {loaded.config_hash[:12]}): {plan.options.type} kernel SVC, C={C}, "
         f"{kernel.n_qubits} qubits ({kernel.feature_map.encoder.name}), backend {kernel.backend.full_name}; "
         f"{len(d.y_train)} train / {len(d.y_test)} test; estimated {est.total.jobs} jobs, {est.total.circuits} circuits")
    began = time.perf_counter()
    svc = SVC(kernel="precomputed", C=C)
    error: BaseException | None = None
    try:
        K_train = kernel(d.x_train)
        K_test = kernel(d.x_test, d.x_train)
        svc.fit(K_train, d.y_train)
        seconds = time.perf_counter() - began
        record.data["hybrid"] = {"status": "completed", "epochs": [], "wall_time_s": round(seconds, 3),
                                 "accounting": kernel.backend.accounting.as_dict(), "final": _scores(svc, K_train, K_test, d, seconds)}
        note(f"  kernel SVC: test accuracy {record.data['hybrid']['final']['test_accuracy']:.4f}")
        if loaded.profile.train.baseline:
            start = time.perf_counter()
            baseline = SVC(kernel="rbf", C=C, gamma="scale").fit(d.x_train, d.y_train)
            record.data["model"]["baseline"] = {"kind": "svc", "kernel": "rbf", "C": C, "gamma": "scale"}
            seconds = time.perf_counter() - start
            pred = baseline.predict(d.x_test)
            record.data["baseline"] = {"status": "completed", "epochs": [], "wall_time_s": round(seconds, 3), "final": {
                "train_accuracy": float(baseline.score(d.x_train, d.y_train)), "test_accuracy": float(np.mean(pred == d.y_test)),
                "test_loss": float(hinge_loss(d.y_test, baseline.decision_function(d.x_test), labels=np.arange(d.n_classes))),
                "test_correct": correct_string(d.y_test, pred), "support_vectors": int(baseline.support_.size), "fit_seconds": round(seconds, 3)},
                "accounting": {"jobs": 0, "circuits": 0, "shots": 0}}
        record.data["comparison"] = run_comparison(record.data)
        record.data["status"] = "completed"
    except BudgetExceededError as e:
        error = e
        record.data["status"] = "stopped"
        record.data["hybrid"]["status"] = "stopped"
        raise
    except BaseException as e:
        error = e
        record.data["status"] = "failed"
        raise
    finally:
        guard.uninstall()
        if error is not None:
            record.data["error"] = {"type": type(error).__name__, "message": str(error)}
        record.data["ledger"] = guard.spent().as_dict()
        price = price_of(kernel.backend)
        record.data["cost"] = {"spent_usd": float(round_up_micro(guard.cost())), "spent_usd_exact": str(guard.cost()),
                               "max_cost_usd": None if guard.max_cost is None else float(guard.max_cost),
                               "device_class": device_class(kernel.backend), "price": price.as_dict() if price else None,
                               "prices_checked": PRICES_CHECKED}
        session["finished"] = utc_now()
        session["wall_time_s"] = record.data["wall_time_s"] = round(time.perf_counter() - began, 3)
        record.data["finished"] = utc_now()
        record.save()
    return run_dir, record.data, svc


__all__ = ["KernelPlan", "estimate_kernel_run", "kernel_usage", "prepare_kernel", "train_kernel", "validate_lines"]
