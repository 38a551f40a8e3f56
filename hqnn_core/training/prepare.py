"""Turn a validated profile into everything a run needs (data, seeds, model) without running a circuit.

:func:`prepare_model` builds and checks the model for data of a given shape (a
:class:`~hqnn_core.training.data_summary.DataSummary`), which is all ``hqnn validate`` and
``hqnn estimate`` need; :func:`prepare` also loads and fits the data arrays for a run.

Every random source gets its own seed derived from ``train.seed`` by name, and components with a
``seed`` option (the backend's shot sampling, SPSA gradients, mitigators) get one unless the
profile sets it, so the same profile gives the same numbers.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hqnn_core.config import LoadedProfile, Profile
from hqnn_core.errors import CapabilityError, ConfigError, UnsupportedError
from hqnn_core.layer import QuantumLayer
from hqnn_core.training.budget import Usage, calibration_usage
from hqnn_core.training.budget import estimate_parts as budget_parts
from hqnn_core.training.data import Dataset, load_dataset
from hqnn_core.training.data_summary import DataSummary, summary_of
from hqnn_core.training.model import HybridModel, build_model, check_front_end
from hqnn_core.training.optimizers import OPTIONS, cobyla_evaluations
from hqnn_core.training.validate import check_components

SEED_TAGS = ("weights", "init", "baseline_init", "shuffle", "torch", "shots", "spsa", "gradient", "mitigation")


def derive_seed(seed: int, tag: str) -> int:
    """A 63-bit seed for one random source, from the run seed and the source's name."""
    state = np.random.SeedSequence([seed, zlib.crc32(tag.encode())]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def seeds_for(profile: Profile) -> dict[str, int]:
    return {"train": profile.train.seed, "data_split": profile.data.seed, **{t: derive_seed(profile.train.seed, t) for t in SEED_TAGS}}


@dataclass
class PreparedModel:
    """The checked model and the shape of the data it was built for: enough to validate and estimate a run."""

    loaded: LoadedProfile
    data: DataSummary
    seeds: dict[str, int]
    layer_kwargs: dict[str, Any]
    model: HybridModel
    injected_seeds: dict[str, int] = field(default_factory=dict)

    @property
    def layer(self) -> QuantumLayer:
        assert self.model.quantum is not None
        return self.model.quantum


@dataclass
class Prepared(PreparedModel):
    """Everything a run needs, built and checked, with nothing submitted or written: the model and the data arrays."""

    dataset: Dataset = field(kw_only=True)


def _seeded(spec: dict[str, Any], cls: type | None, seed: int, key: str, injected: dict[str, int]) -> dict[str, Any]:
    """Give a component with a ``seed`` option a derived seed unless the profile set one."""
    if cls is not None and "seed" in getattr(cls, "Options").model_fields and spec["options"].get("seed") is None:  # noqa: B009
        spec = {"name": spec["name"], "options": {**spec["options"], "seed": seed}}
        injected[key] = seed
    return spec


def layer_kwargs(profile: Profile, seeds: dict[str, int], backend: str | None = None, shots: Any = "profile",
                 backend_options: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, int]]:
    """QuantumLayer arguments from the profile, with derived seeds for every seedable component."""
    from hqnn_core.plugin_manager import get_plugins

    plugins = get_plugins()
    q, b = profile.model.quantum, profile.backend
    injected: dict[str, int] = {}
    name = backend or b.name
    options = dict(b.options if backend_options is None else backend_options)
    backend_cls = plugins.backends.get(name)
    if "seed" in backend_cls.Options.model_fields and options.get("seed") is None:
        options["seed"] = seeds["shots"]
        injected["backend.options.seed"] = seeds["shots"]
    gradient: Any = "best"
    if q.gradient.name != "best":
        gradient = _seeded(q.gradient.spec(), plugins.gradients.get(q.gradient.name), seeds["gradient"], "model.quantum.gradient.options.seed", injected)
    mitigation = [
        _seeded(m.spec(), plugins.mitigators.get(m.name), derive_seed(seeds["mitigation"], str(i)), f"mitigation[{i}].options.seed", injected)
        for i, m in enumerate(profile.mitigation)
    ]
    kwargs = {
        "n_qubits": q.n_qubits,
        "encoder": q.encoder.spec(),
        "ansatz": q.ansatz.spec(),
        "layers": q.layers,
        "backend": name,
        "gradient": gradient,
        "shots": b.shots if shots == "profile" else shots,
        "observables": q.observables,
        "mitigation": mitigation,
        "seed": seeds["weights"],
        "backend_options": options,
        "init": q.init,
        "init_std": q.init_std,
    }
    return kwargs, injected


def build_layer(kwargs: dict[str, Any], source: str) -> QuantumLayer:
    """The profile's quantum layer from :func:`layer_kwargs`, with errors naming the profile key."""
    try:
        return QuantumLayer(**kwargs)
    except UnsupportedError as e:
        raise ConfigError(f"{source}: model.quantum.gradient: {e}") from None
    except CapabilityError as e:
        raise ConfigError(f"{source}: backend: {e}") from None
    except ConfigError as e:
        raise ConfigError(f"{source}: model.quantum: {e}") from None


def _require_classifier(loaded: LoadedProfile) -> None:
    if loaded.profile.model.kind != "classifier":
        raise ConfigError(f"{loaded.source}: model.kind: {loaded.profile.model.kind} profiles are trained and estimated by "
                          "`hqnn train` and `hqnn estimate`; this command needs a classifier (model.kind: classifier).")


def _build(loaded: LoadedProfile, data: DataSummary, backend: str | None, shots: Any,
           backend_options: dict[str, Any] | None) -> tuple[dict[str, int], dict[str, Any], HybridModel, dict[str, int]]:
    """Seeds, layer arguments, the model and the injected seeds, the model checked against the data's shape."""
    profile = loaded.profile
    seeds = seeds_for(profile)
    kwargs, injected = layer_kwargs(profile, seeds, backend, shots, backend_options)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seeds["init"])
        layer = build_layer(kwargs, loaded.source)
        model = build_model(profile, data.n_features, data.n_classes, data.image_shape, layer, loaded.source, loaded.base_dir)
    check_front_end(model, torch.zeros(1, data.n_features), loaded.source)  # the front end's shapes, not its values
    return seeds, kwargs, model, injected


def prepare_model(loaded: LoadedProfile, data: DataSummary, backend: str | None = None, shots: Any = "profile",
                  backend_options: dict[str, Any] | None = None) -> PreparedModel:
    """Check components and build the model for ``data`` (see :func:`~hqnn_core.training.data_summary.describe_data`)."""
    _require_classifier(loaded)
    check_components(loaded)
    return PreparedModel(loaded, data, *_build(loaded, data, backend, shots, backend_options))


def prepare(loaded: LoadedProfile, backend: str | None = None, shots: Any = "profile", backend_options: dict[str, Any] | None = None) -> Prepared:
    """Check components, load the data and build the model: everything short of running a circuit."""
    _require_classifier(loaded)
    check_components(loaded)
    dataset = load_dataset(loaded.profile.data, loaded.base_dir, loaded.source)
    data = summary_of(dataset)
    return Prepared(loaded, data, *_build(loaded, data, backend, shots, backend_options), dataset=dataset)


def estimate_parts(prepared: PreparedModel, epochs: int | None = None) -> dict[str, Usage]:
    """Estimated usage of the hybrid model's run split into training, evaluation and calibration."""
    t, d = prepared.loaded.profile.train, prepared.data
    maxiter = 0
    if t.optimizer.name == "cobyla":  # every trainable parameter of the model is one COBYLA variable
        n_params = sum(p.numel() for p in prepared.model.parameters() if p.requires_grad)
        maxiter = cobyla_evaluations(n_params, OPTIONS["cobyla"](**t.optimizer.options).maxiter)  # type: ignore[attr-defined]
    inputs_need_grad = any(p.requires_grad for p in prepared.model.front.parameters())
    parts = budget_parts(
        prepared.layer, t.optimizer.name, d.n_train, d.n_test, t.batch_size, t.eval_batch_size,
        t.epochs if epochs is None else epochs, inputs_need_grad, maxiter,
    )
    parts["calibration"] = calibration_usage(prepared.layer)
    return parts


def estimate(prepared: PreparedModel, epochs: int | None = None) -> Usage:
    """Estimated jobs, circuits and shots of training the hybrid model for ``epochs`` (default: all) epochs."""
    parts = estimate_parts(prepared, epochs)
    return parts["training"] + parts["evaluation"] + parts["calibration"]
