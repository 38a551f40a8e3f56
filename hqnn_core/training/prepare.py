"""Turn a validated profile into everything a run needs (data, seeds, model) without running a circuit.

:func:`prepare_model` builds and checks the model for data of a given shape (a
:class:`~hqnn_core.training.data_summary.DataSummary`), which is all ``hqnn validate`` and
``hqnn estimate`` need; :func:`prepare` also loads and fits the data arrays for a run.

The profile is resolved once into a :class:`~hqnn_core.training.spec.RunSpec` (names checked, seeds
derived: every component with a ``seed`` option gets one unless the profile sets it, so the same
profile gives the same numbers); the layer is built once, on the backend stack the spec describes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from hqnn_core.components import get_optimizer
from hqnn_core.config import LoadedProfile
from hqnn_core.errors import CapabilityError, ConfigError, UnsupportedError
from hqnn_core.interfaces import Backend
from hqnn_core.layer import QuantumLayer
from hqnn_core.training.budget import BudgetGuard, Usage, calibration_usage
from hqnn_core.training.budget import estimate_parts as budget_parts
from hqnn_core.training.data import Dataset, load_dataset
from hqnn_core.training.data_summary import DataSummary, summary_of
from hqnn_core.training.model import HybridModel, build_model, check_front_end
from hqnn_core.training.resilience import build_backend
from hqnn_core.training.spec import RunSpec, resolve

__all__ = ["Prepared", "PreparedModel", "build_layer", "estimate", "estimate_parts", "prepare", "prepare_model"]


@dataclass
class PreparedModel:
    """The checked model and the shape of the data it was built for: enough to validate and estimate a run."""

    loaded: LoadedProfile
    data: DataSummary
    spec: RunSpec
    model: HybridModel
    #: the run's budget guard, wrapped around every vendor backend of the layer (None: nothing is metered)
    guard: BudgetGuard | None = None

    @property
    def layer(self) -> QuantumLayer:
        assert self.model.quantum is not None
        return self.model.quantum

    @property
    def seeds(self) -> dict[str, int]:
        return dict(self.spec.seeds)

    @property
    def injected_seeds(self) -> dict[str, int]:
        return dict(self.spec.injected_seeds)


@dataclass
class Prepared(PreparedModel):
    """Everything a run needs, built and checked, with nothing submitted or written: the model and the data arrays."""

    dataset: Dataset = field(kw_only=True)


def build_layer(spec: RunSpec, backend: Backend, source: str, **changes: Any) -> QuantumLayer:
    """The spec's quantum layer on ``backend`` (the assembled stack), with errors naming the profile key.

    ``changes`` replace layer arguments (``hqnn compare`` evaluates with its own mitigation).
    """
    chained = bool(spec.fallback)
    try:
        return QuantumLayer(**{**spec.layer_kwargs(), "backend": backend, **changes})
    except UnsupportedError as e:
        if chained:
            raise ConfigError(f"{source}: model.quantum.gradient: {str(e).rstrip('.')} (a call may run on any backend of backend.fallback); "
                              "use gradient 'best' or 'parameter_shift'.") from None
        raise ConfigError(f"{source}: model.quantum.gradient: {e}") from None
    except CapabilityError as e:
        primary = backend.members()[0].full_name
        key = "backend.fallback" if chained and f"{primary!r}" not in str(e) else "backend"
        raise ConfigError(f"{source}: {key}: {e}") from None
    except ConfigError as e:
        raise ConfigError(f"{source}: model.quantum: {e}") from None


def _require_classifier(loaded: LoadedProfile) -> None:
    if loaded.profile.model.kind != "classifier":
        raise ConfigError(f"{loaded.source}: model.kind: {loaded.profile.model.kind} profiles are trained and estimated by "
                          "`hqnn train` and `hqnn estimate`; this command needs a classifier (model.kind: classifier).")


def _build(loaded: LoadedProfile, data: DataSummary, spec: RunSpec, guard: BudgetGuard | None) -> HybridModel:
    """The model on the spec's backend stack, checked against the data's shape."""
    profile = loaded.profile
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(spec.seeds["init"])
        layer = build_layer(spec, build_backend(spec, guard), loaded.source)
        model = build_model(profile, data.n_features, data.n_classes, data.image_shape, layer, loaded.source, loaded.base_dir)
    check_front_end(model, torch.zeros(1, data.n_features), loaded.source)  # the front end's shapes, not its values
    return model


def prepare_model(loaded: LoadedProfile, data: DataSummary, backend: str | None = None, shots: Any = "profile",
                  backend_options: dict[str, Any] | None = None, *, spec: RunSpec | None = None, guard: BudgetGuard | None = None) -> PreparedModel:
    """Build the model of ``spec`` for ``data`` (the data's shape, see :func:`~hqnn_core.training.data_summary.describe_data`).

    Without a ``spec``, ``loaded`` is resolved (:func:`~hqnn_core.training.spec.resolve`, with ``backend``,
    ``shots`` and ``backend_options`` in place of the profile's when given).
    """
    _require_classifier(loaded)
    spec = spec or resolve(loaded, backend, shots, backend_options)
    return PreparedModel(loaded, data, spec, _build(loaded, data, spec, guard), guard)


def prepare(loaded: LoadedProfile, backend: str | None = None, shots: Any = "profile", backend_options: dict[str, Any] | None = None, *,
            spec: RunSpec | None = None, guard: BudgetGuard | None = None) -> Prepared:
    """Load the data and build the model of ``spec``: everything short of running a circuit.

    Without a ``spec``, ``loaded`` is resolved as in :func:`prepare_model`. With a ``guard`` every
    submission of the layer's backend stack is metered by it (the run's limits and ledger).
    """
    _require_classifier(loaded)
    spec = spec or resolve(loaded, backend, shots, backend_options)
    dataset = load_dataset(loaded.profile.data, loaded.base_dir, loaded.source)
    data = summary_of(dataset)
    return Prepared(loaded, data, spec, _build(loaded, data, spec, guard), guard, dataset=dataset)


def estimate_parts(prepared: PreparedModel, epochs: int | None = None) -> dict[str, Usage]:
    """Estimated usage of the hybrid model's run split into training, evaluation and calibration."""
    t, d = prepared.loaded.profile.train, prepared.data
    n_params = sum(p.numel() for p in prepared.model.parameters() if p.requires_grad)  # what a gradient-free optimiser searches over
    inputs_need_grad = any(p.requires_grad for p in prepared.model.front.parameters())
    parts = budget_parts(
        prepared.layer, get_optimizer(t.optimizer.spec()), d.n_train, d.n_test, t.batch_size, t.eval_batch_size,
        t.epochs if epochs is None else epochs, inputs_need_grad, n_params,
    )
    parts["calibration"] = calibration_usage(prepared.layer)
    return parts


def estimate(prepared: PreparedModel, epochs: int | None = None) -> Usage:
    """Estimated jobs, circuits and shots of training the hybrid model for ``epochs`` (default: all) epochs."""
    parts = estimate_parts(prepared, epochs)
    return parts["training"] + parts["evaluation"] + parts["calibration"]
