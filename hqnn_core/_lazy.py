"""Public names a package resolves on first use (PEP 562), so importing the package imports none of their modules.

``hqnn_core``, ``hqnn_core.interfaces`` and ``hqnn_core.training`` name what they export and where it
lives; ``hqnn --help`` and ``hqnn validate`` then never import torch through them (docs/architecture.md,
deviation 11).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, where: Mapping[str, str], namespace: dict[str, Any]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of ``package``: ``where`` maps each public name to its module."""

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
