"""The common base of every pluggable component: a registered name and validated options."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hqnn_core.errors import ConfigError


class NoOptions(BaseModel):
    """Options model for components that take none."""

    model_config = ConfigDict(extra="forbid")


def describe_validation_error(owner: str, error: ValidationError) -> str:
    """Turn pydantic's report into ``owner.key: problem`` lines that name each bad key."""
    lines = []
    for e in error.errors():
        path = ".".join(str(p) for p in e["loc"])
        lines.append(f"{owner}.{path}: {e['msg']} (got {e.get('input')!r})")
    return "; ".join(lines)


class Component:
    """A component class has a ``name``, a one-line docstring and a nested pydantic ``Options``.

    Instances are built from keyword options, validated strictly: an unknown option or a wrong type
    raises :class:`ConfigError` naming the component and the key.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = "component"
    Options: ClassVar[type[BaseModel]] = NoOptions
    options: Any  # an instance of the subclass's own Options model (Any, so subclasses read their fields typed)

    def __init__(self, **options: Any) -> None:
        try:
            self.options = self.Options(**options)
        except ValidationError as e:
            allowed = ", ".join(self.Options.model_fields) or "none"
            raise ConfigError(
                f"Invalid options for {self.kind} {self.name!r}: {describe_validation_error(self.name, e)}. "
                f"Allowed options: {allowed}."
            ) from None

    def config(self) -> dict[str, Any]:
        """The ``{"name": ..., "options": {...}}`` form that rebuilds this component."""
        return {"name": self.name, "options": self.options.model_dump(mode="json")}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.model_dump().items())
        return f"{type(self).__name__}({opts})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.options == other.options

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.options.model_dump(mode="json").items(), key=str))))
