"""Turn user-facing component specs (a name, or ``{"name": ..., "options": {...}}``) into instances."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from hqnn_core.errors import ConfigError
from hqnn_core.interfaces import Ansatz, Backend, BackendCapabilities, Component, Encoder, GradientEstimator, Mitigator
from hqnn_core.interfaces.component import describe_validation_error
from hqnn_core.plugin_manager import get_plugins

C = TypeVar("C", bound=Component)

ComponentSpec = str | Mapping[str, Any] | Component


def _split(kind: str, spec: ComponentSpec) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, Mapping):
        extra = set(spec) - {"name", "options"}
        if "name" not in spec or extra:
            raise ConfigError(
                f"the {kind} spec must be a name or {{'name': ..., 'options': {{...}}}}; got keys {sorted(spec)}. "
                f"Write e.g. {{'name': 'angle', 'options': {{'rotation': 'Y'}}}}."
            )
        options = spec.get("options") or {}
        if not isinstance(options, Mapping):
            raise ConfigError(f"{kind} options must be a mapping, got {type(options).__name__}.")
        return str(spec["name"]), dict(options)
    raise ConfigError(f"a {kind} must be given by name, as {{'name': ..., 'options': ...}}, or as an instance; got {type(spec).__name__}.")


def build(kind: str, spec: ComponentSpec, base: type[C]) -> C:
    """An instance of the ``kind`` component named by ``spec`` (instances pass through)."""
    if isinstance(spec, base):
        return spec
    name, options = _split(kind, spec)
    cls = get_plugins().registry(kind).get(name)
    return cls(**options)


def get_encoder(spec: ComponentSpec) -> Encoder:
    return build("encoder", spec, Encoder)


def get_ansatz(spec: ComponentSpec) -> Ansatz:
    return build("ansatz", spec, Ansatz)


def get_gradient(spec: ComponentSpec) -> GradientEstimator:
    return build("gradient", spec, GradientEstimator)


def get_mitigator(spec: ComponentSpec) -> Mitigator:
    return build("mitigator", spec, Mitigator)


def get_backend(spec: ComponentSpec, **options: Any) -> Backend:
    """A backend instance from ``"torch"``, ``"pennylane:default.qubit"`` or ``{"name":..., "options":...}``.

    Raises:
        UnknownComponentError: no such backend (with a did-you-mean and, for vendor names, the extra).
        MissingExtraError: the backend's vendor SDK is not installed; names the pip extra.
    """
    if isinstance(spec, Backend):
        return spec
    name, spec_options = _split("backend", spec)
    registry = get_plugins().backends
    entry, target = registry.resolve(name)
    cls = registry.get(name)
    return cls(target=target, **{**spec_options, **options})


def backend_capabilities(name: str, options: Mapping[str, Any] | None = None) -> BackendCapabilities:
    """What backend ``name`` built with ``options`` will declare, without building it (:meth:`Backend.capabilities_for`).

    Raises UnknownComponentError or MissingExtraError like :func:`get_backend`, and ConfigError for invalid options.
    """
    registry = get_plugins().backends
    _, target = registry.resolve(name)
    cls = registry.get(name)
    try:
        validated = cls.Options(**dict(options or {}))
    except ValidationError as e:
        raise ConfigError(f"Invalid options for backend {name!r}: {describe_validation_error(name, e)}.") from None
    return cls.capabilities_for(target, validated)
