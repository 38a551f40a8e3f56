"""Checks of a loaded profile against the plugin registries: every name and option, before anything is built.

These checks read the registries (the plugin manager), so they sit in the training layer, above the
config package, which only parses and validates the profile's own schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from hqnn_core.config import ComponentRef, LoadedProfile, options_error
from hqnn_core.config.messages import override_origin
from hqnn_core.errors import ConfigError, MissingExtraError, UnknownComponentError
from hqnn_core.interfaces import Backend
from hqnn_core.plugin_manager import get_plugins
from hqnn_core.training.optimizers import check_optimizer


def check_ref(kind: str, ref: ComponentRef, key: str, loaded: LoadedProfile, origin_key: str | None = None) -> Any:
    """The registered class for ``ref``, with its options validated; ``origin_key`` names the --set that may have set it."""
    try:
        cls = get_plugins().registry(kind).get(ref.name)
    except UnknownComponentError as e:
        raise ConfigError(f"{loaded.source}: {key}.name: {e}{override_origin(origin_key or key, loaded.overrides)}") from None
    except MissingExtraError as e:
        raise MissingExtraError(f"{loaded.source}: {key}.name: {e}") from None
    try:
        cls.Options(**ref.options)
    except ValidationError as e:
        raise options_error(f"{kind} {ref.name!r}", key, cls.Options, e, loaded) from None
    return cls


def check_components(loaded: LoadedProfile) -> dict[str, Any]:
    """Check every component and backend name and option against the registries (nothing is built).

    Returns the backend class. Raises ConfigError (or MissingExtraError naming the pip extra).
    """
    p, src = loaded.profile, loaded.source
    q = p.model.quantum
    check_ref("encoder", q.encoder, "model.quantum.encoder", loaded)
    check_ref("ansatz", q.ansatz, "model.quantum.ansatz", loaded)
    if q.gradient.name != "best":
        check_ref("gradient", q.gradient, "model.quantum.gradient", loaded)
    elif q.gradient.options:
        raise ConfigError(f"{src}: model.quantum.gradient.options: gradient 'best' takes no options; name an estimator to pass options.")
    for i, ref in enumerate(p.mitigation):
        check_ref("mitigator", ref, f"mitigation[{i}]", loaded)
    registry = get_plugins().backends
    origin = override_origin("backend.name", loaded.overrides)
    try:
        _, target = registry.resolve(p.backend.name)
        backend_cls = registry.get(p.backend.name)
    except UnknownComponentError as e:
        raise ConfigError(f"{src}: backend.name: {e}{origin}") from None
    except MissingExtraError as e:
        raise MissingExtraError(f"{src}: backend.name: {e}") from None
    try:
        backend_options = backend_cls.Options(**p.backend.options)
    except ValidationError as e:
        raise options_error(f"backend {p.backend.name!r}", "backend", backend_cls.Options, e, loaded) from None
    caps = backend_cls.capabilities_for(target, backend_options)  # what this target and these options will declare
    shots = p.backend.shots
    if shots is None and not caps.analytic:
        raise ConfigError(f"{src}: backend.shots: backend {p.backend.name!r} only samples; set backend.shots to a positive integer, e.g. 1000.")
    if shots is not None and not caps.shots:
        raise ConfigError(f"{src}: backend.shots: backend {p.backend.name!r} is exact only; set backend.shots: null.")
    if shots is not None and caps.max_shots is not None and shots > caps.max_shots:
        raise ConfigError(f"{src}: backend.shots: {shots} exceeds backend {p.backend.name!r}'s maximum of {caps.max_shots}; lower it.")
    check_fallback(loaded, backend_cls)
    check_optimizer(p.train.optimizer, loaded)
    if p.train.optimizer.name in {"adam", "sgd"} and q.gradient.name == "backprop" and shots is not None:
        raise ConfigError(f"{src}: model.quantum.gradient: backprop cannot differentiate sampled results (backend.shots={shots}); use 'best'.")
    return {"backend_class": backend_cls}


def check_fallback(loaded: LoadedProfile, primary_cls: type[Backend]) -> None:
    """Check every ``backend.fallback`` entry against the registry before anything is built.

    Raises ConfigError (unknown name, bad options, shots the backend cannot take, or a move from a
    local to a remote backend without ``backend.allow_cost_escalation``) or MissingExtraError.
    """
    b, src = loaded.profile.backend, loaded.source
    for i, ref in enumerate(b.fallback):
        key = f"backend.fallback[{i}]"
        caps = check_ref("backend", ref, key, loaded, origin_key="backend.fallback").capabilities
        if b.shots is None and not caps.analytic:
            raise ConfigError(f"{src}: {key}: backend {ref.name!r} only samples, but backend.shots is null; use an exact backend or set shots.")
        if b.shots is not None and not caps.shots:
            raise ConfigError(f"{src}: {key}: backend {ref.name!r} is exact only, but backend.shots={b.shots}; use a sampling backend.")
        if caps.remote and not primary_cls.capabilities.remote and not b.allow_cost_escalation:
            raise ConfigError(
                f"{src}: {key}: falling back from the local backend {b.name!r} to the remote (paid) backend {ref.name!r} "
                "would escalate cost; set backend.allow_cost_escalation: true if that is intended."
            )
