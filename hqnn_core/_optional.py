"""The one place that knows which pip extra brings which vendor SDK."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from hqnn_core.errors import MissingExtraError

#: Backend-name prefixes of the vendor families hqnn ships adapters for, and their pip extras.
KNOWN_FAMILIES: dict[str, tuple[str, str]] = {
    "qiskit": ("qiskit", "the Qiskit SDK (qiskit, qiskit-aer)"),
    "pennylane": ("pennylane", "PennyLane"),
    "braket": ("braket", "the Amazon Braket SDK (amazon-braket-sdk)"),
}


def missing_modules(modules: Iterable[str]) -> list[str]:
    """Top-level modules among ``modules`` that cannot be found (checked without importing them)."""
    missing = []
    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                missing.append(module)
        except (ImportError, ValueError):
            missing.append(module)
    return missing


def install_hint(extra: str) -> str:
    return f'pip install "hqnn[{extra}]"'


def family_of(name: str) -> str | None:
    """The known vendor family a backend name belongs to (``qiskit.aer`` -> ``qiskit``), if any."""
    head = name.split(":", 1)[0].split(".", 1)[0].lower()
    return head if head in KNOWN_FAMILIES else None


#: Experiment trackers (``output.log_to``): the module each needs and the pip extra that brings it.
TRACKERS: dict[str, tuple[str, str]] = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow")}


def check_trackers(names: Iterable[str], key: str = "output.log_to") -> None:
    """Raise MissingExtraError naming the extra for the first selected tracker whose SDK is not installed."""
    for name in names:
        module, extra = TRACKERS[name]
        if missing_modules([module]):
            raise MissingExtraError(f"{key}: {name} logging needs the {module} package; install it with: {install_hint(extra)}")
